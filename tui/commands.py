"""What each CLI command does: validate, call the service layer, print text or JSON.

No Textual here: only `dashboard()` imports the UI, when a command draws.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from opsdeck.backend.access import refuse_unless_writer
from opsdeck.backend.errors import InvalidInput, StoreUnavailable
from opsdeck.backend.i18n import _
from opsdeck.tui import (
    check_command,
    metrics_command,
    receive_commands,
    registry,
    schedule_commands,
    stats_commands,
    template_commands,
    warning_commands,
)
from opsdeck.tui.audit_commands import audit_anchor, audit_export, audit_show, audit_verify
from opsdeck.tui.calls_commands import calls_add, calls_done, calls_list
from opsdeck.tui.cli_context import Context
from opsdeck.tui.db_commands import (
    db_allow_as,
    db_backup,
    db_check,
    db_roles,
    db_status,
    db_upgrade,
    init_system,
    policy_apply,
    policy_show,
    show_config,
)
from opsdeck.tui.directory_commands import directory_import, directory_list, roster_duty
from opsdeck.tui.incident_commands import (
    _action,
    _close,
    _outage,
    _step,
    _v,
    incident_attest,
    incident_deadlines,
    incident_list,
    incident_open,
    incident_show,
)
from opsdeck.tui.notify_commands import channels_apply, channels_list, notify_list, notify_retry, notify_test
from opsdeck.tui.probe_commands import probe_list, probe_show, probe_silence
from opsdeck.tui.report_commands import report_edit, report_file, report_show
from opsdeck.tui.runtime_commands import escalate, ingest, worker
from opsdeck.tui.view_commands import _log_beside_the_dashboard, board_cmd, dashboard, demo, handover, serve, wall


def run(args: argparse.Namespace) -> int:
    if args.command is None:
        return _no_command(args)
    ctx = Context(args)
    try:
        key = (args.command, getattr(args, "action", None))
        handler = HANDLERS[key]
        if args.command not in ("worker", "ingest", "wall", "serve", "receive"):  # those set up their own logging
            _log_beside_the_dashboard()
        ctx.may_create = registry.writes(*key) is not registry.Writes.NO  # a read never creates a store
        if registry.writes(*key) is not registry.Writes.NO:
            words = " ".join(w for w in key if w)
            refuse_unless_writer(f"opsdeck {words}", ctx.login, read_only=ctx.read_only, db_url=ctx.config.db)
        return handler(ctx)
    finally:
        ctx.close()


def _no_command(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InvalidInput(
            "no_terminal",
            _("no command given and no terminal to draw the board on"),
            _("give a command (opsdeck --help), or run opsdeck in a terminal"),
        )
    ctx = Context(args)
    try:
        return dashboard(ctx, demo=bool(args.demo))
    finally:
        ctx.close()


# -- output helpers -------------------------------------------------------------------


# The fixed vocabulary of human output: the English key as it is, or its Chinese label.
# Looked up when printed (the language is chosen after this module is imported).


# -- incident commands ----------------------------------------------------------------


# -- directory, audit, policy, db ------------------------------------------------------


HANDLERS: dict[tuple[str, str | None], Callable[[Context], int]] = {
    ("incident", "open"): incident_open,
    ("incident", "list"): incident_list,
    ("incident", "show"): incident_show,
    ("incident", "ack"): _action(lambda: _("acknowledged"), lambda c: c.service.ack(c.args.id, expected_version=_v(c))),
    ("incident", "classify"): _action(
        lambda: _("classified"),
        lambda c: c.service.classify(
            c.args.id, category=c.args.category, level=c.args.level, reason=c.args.reason, expected_version=_v(c)
        ),
    ),
    ("incident", "level"): _action(
        lambda: _("level changed"),
        lambda c: c.service.set_level(c.args.id, level=c.args.level, reason=c.args.reason, expected_version=_v(c)),
    ),
    ("incident", "assign"): _action(
        lambda: _("assigned"), lambda c: c.service.assign(c.args.id, c.args.login, expected_version=_v(c))
    ),
    ("incident", "note"): _action(
        lambda: _("note added"), lambda c: c.service.note(c.args.id, c.args.text, expected_version=_v(c))
    ),
    ("incident", "step"): _action(lambda: _("step recorded"), _step),
    ("incident", "cause"): _action(
        lambda: _("cause located"), lambda c: c.service.cause(c.args.id, note=c.args.note, expected_version=_v(c))
    ),
    ("incident", "resolve"): _action(
        lambda: _("resolved"),
        lambda c: c.service.resolve(c.args.id, resolution=c.args.resolution, zone=c.zone, expected_version=_v(c)),
    ),
    ("incident", "close"): _action(lambda: _("closed"), _close),
    ("incident", "reopen"): _action(
        lambda: _("reopened"), lambda c: c.service.reopen(c.args.id, reason=c.args.reason, expected_version=_v(c))
    ),
    ("incident", "outage"): _action(lambda: _("outage start set"), _outage),
    ("incident", "deadlines"): incident_deadlines,
    ("incident", "attest"): incident_attest,
    ("incident", "regrade"): _action(
        lambda: _("re-grade answered"),
        lambda c: c.service.regrade(c.args.id, confirm=c.args.confirm, reason=c.args.reason, expected_version=_v(c)),
    ),
    ("escalate", None): escalate,
    ("worker", None): worker,
    ("ingest", None): ingest,
    ("handover", None): handover,
    ("notify", "list"): notify_list,
    ("notify", "retry"): notify_retry,
    ("notify", "test"): notify_test,
    ("channels", "apply"): channels_apply,
    ("channels", "list"): channels_list,
    ("probe", "list"): probe_list,
    ("probe", "show"): probe_show,
    ("probe", "silence"): probe_silence,
    ("roster", "import"): directory_import,
    ("contacts", "import"): directory_import,
    ("systems", "import"): directory_import,
    ("roster", "list"): directory_list,
    ("contacts", "list"): directory_list,
    ("systems", "list"): directory_list,
    ("roster", "duty"): roster_duty,
    ("audit", "show"): audit_show,
    ("audit", "verify"): audit_verify,
    ("audit", "export"): audit_export,
    ("audit", "anchor"): audit_anchor,
    ("board", None): board_cmd,
    ("wall", None): wall,
    ("serve", None): serve,
    ("calls", "add"): calls_add,
    ("calls", "list"): calls_list,
    ("calls", "done"): calls_done,
    ("report", "show"): report_show,
    ("report", "edit"): report_edit,
    ("report", "file"): report_file,
    ("policy", "apply"): policy_apply,
    ("policy", "show"): policy_show,
    ("db", "backup"): db_backup,
    ("db", "upgrade"): db_upgrade,
    ("db", "status"): db_status,
    ("db", "allow-as"): db_allow_as,
    ("db", "roles"): db_roles,
    ("db", "check"): db_check,
    ("init", None): init_system,
    ("demo", None): demo,
    ("config", None): show_config,
    **receive_commands.HANDLERS,
    **schedule_commands.HANDLERS,
    **template_commands.HANDLERS,
    **check_command.HANDLERS,
    **metrics_command.HANDLERS,
    **warning_commands.HANDLERS,
    **stats_commands.HANDLERS,
}

__all__ = ["HANDLERS", "StoreUnavailable", "run"]
