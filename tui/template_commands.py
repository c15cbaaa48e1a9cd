"""`opsdeck templates show|apply|preview`: the messages notifications are written in.

Declared here in one block (arguments and handlers); `cli.build_parser` and
`commands.HANDLERS` take them from this module. Importing it stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsdeck.backend.errors import InvalidInput, NotFound
from opsdeck.backend.i18n import SUPPORTED, _

if TYPE_CHECKING:
    from opsdeck.tui.cli_context import Context


def add_parsers(b: Any, top: Any) -> None:
    """The commands' arguments (`b` is cli._Builder, `top` the subcommands)."""
    group = b.group(top, "templates", _("the messages notifications are written in"))
    b.leaf(group, "show", _("the templates in effect, as a file `templates apply` takes"))
    b.leaf(group, "apply", _("check FILE (TOML) and store it as a new templates version (leads)")).add_argument("file")
    p = b.leaf(group, "preview", _("print an event's message as a channel would send it: title, blank line, body"))
    p.add_argument("event", help=_("new_incident, level_iii, escalation, escalation:RULE, resolved, test..."))
    p.add_argument(
        "--channel", required=True, metavar="NAME|FORMAT", help=_("a channel's name, or a format (dingtalk, sms...)")
    )
    from opsdeck.tui.argtypes import incident_id as _incident_id

    p.add_argument("--incident", type=_incident_id, metavar="N", help=_("render this incident (default: a sample)"))
    p.add_argument("--lang", choices=list(SUPPORTED), help=_("the language (default: the center's)"))


def templates_show(ctx: Context) -> int:
    from opsdeck.backend import templates
    from opsdeck.tui.cli_context import emit_json

    with ctx.store.read() as session:
        found = templates.load(session)
    if ctx.args.json:
        emit_json({"version": found.version, **found.document})
        return 0
    print(templates.to_toml(found.document, found.version), end="")
    return 0


def templates_apply(ctx: Context) -> int:
    from opsdeck.tui.cli_context import _applied

    result: tuple[int, bool] = ctx.service.apply_templates(Path(ctx.args.file))
    return int(_applied(ctx, _templates_version, result))


def _templates_version(version: int) -> str:
    return str(_("templates version {version}").format(version=version))


def templates_preview(ctx: Context) -> int:
    from opsdeck.backend import messages, notify_plan, templates
    from opsdeck.backend.models import Incident
    from opsdeck.tui.cli_context import emit_json

    a = ctx.args
    if not templates.known_event(a.event):
        raise InvalidInput(
            "bad_event",
            _("{event!r} is not an event").format(event=a.event),
            _("use {events} or escalation:RULE").format(events=", ".join(templates.EVENTS)),
        )
    with ctx.store.read() as session:
        found = templates.load(session)
        channel = notify_plan.load(session).channel(a.channel)
        if channel is None and a.channel not in messages.FORMATS:
            raise InvalidInput(
                "no_channel",
                _("no channel or format {name!r}").format(name=a.channel),
                _("give a name from `opsdeck channels list` or one of {formats}").format(
                    formats=", ".join(messages.FORMATS)
                ),
            )
        fmt = channel.format if channel is not None else a.channel
        payload: dict[str, Any] = dict(templates.SAMPLE)
        if a.incident is not None:
            incident = session.get(Incident, a.incident)
            if incident is None:
                raise NotFound(
                    "no_incident",
                    _("no incident #{id}").format(id=a.incident),
                    _("see `opsdeck incident list`"),
                )
            shown = notify_plan.incident_payload(session, incident)
            payload = {**payload, "incident": shown, "deadline": shown["next_due"] or {}}
    payload["test"] = {**payload["test"], "channel": a.channel, "sent_by": ctx.login}
    message = found.message(a.event, fmt, {**payload, "event": a.event}, a.lang, "")
    if a.json:
        emit_json({"event": a.event, "format": fmt, "title": message.title, "body": message.body})
        return 0
    print(f"{message.title}\n\n{message.body}")
    return 0


HANDLERS: dict[tuple[str, str | None], Callable[[Context], int]] = {
    ("templates", "show"): templates_show,
    ("templates", "apply"): templates_apply,
    ("templates", "preview"): templates_preview,
}

__all__ = ["HANDLERS", "add_parsers"]
