"""Which spool a command works on. Apart from cli/runtime.py so that the board, which
watches the spool too, does not import the worker's commands (and the notification
templates they load) to learn it."""

from __future__ import annotations

import codecs
import grp
from pathlib import Path

from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import _
from opsdeck.backend.spool_files import SpoolSettings
from opsdeck.cli.context import Context


def spool_settings(ctx: Context) -> SpoolSettings:
    """The spool a command reads: --spool and --encoding if given, else the config's,
    checked before anything is read (an unknown encoding or group is the operator's to fix)."""
    path = getattr(ctx.args, "spool", None) or ctx.config.spool
    encoding = getattr(ctx.args, "encoding", None) or ctx.config.spool_encoding
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InvalidInput(
            "bad_encoding", _("unknown encoding {encoding!r}").format(encoding=encoding), _("use e.g. utf-8 or gb18030")
        ) from None
    group = ctx.config.spool_group
    if group:
        try:
            grp.getgrnam(group)
        except KeyError:
            raise InvalidInput(
                "bad_spool_group",
                _("spool_group: there is no group {group!r} on this host").format(group=group),
                _("set spool_group to the group `opsdeck init --system` used (e.g. opsdeck), or remove it"),
            ) from None
    return SpoolSettings(Path(path).expanduser(), encoding=encoding, group=group)
