"""`opsdeck templates show|apply|preview`: the messages notifications are written in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsdeck.backend import messages, notify_plan, templates
from opsdeck.backend.errors import InvalidInput, NotFound
from opsdeck.backend.i18n import N_, SUPPORTED, _
from opsdeck.backend.models import Incident
from opsdeck.cli.argtypes import incident_id
from opsdeck.cli.output import applied, emit_json
from opsdeck.cli.registry import MEMBER, arg, command

if TYPE_CHECKING:
    from opsdeck.cli.context import Context


@command("templates", "show", N_("the templates in effect, as a file `templates apply` takes"))
def templates_show(ctx: Context) -> int:
    with ctx.store.read() as session:
        found = templates.load(session)
    if ctx.args.json:
        emit_json({"version": found.version, **found.document})
        return 0
    print(templates.to_toml(found.document, found.version), end="")
    return 0


@command(
    "templates",
    "apply",
    N_("check FILE (TOML) and store it as a new templates version (leads)"),
    writes=MEMBER,
    example=("templates.toml",),
    args=(arg("file"),),
)
def templates_apply(ctx: Context) -> int:
    result: tuple[int, bool] = ctx.service.apply_templates(Path(ctx.args.file))
    return int(applied(ctx, _templates_version, result))


def _templates_version(version: int) -> str:
    return str(_("templates version {version}").format(version=version))


@command(
    "templates",
    "preview",
    N_("print an event's message as a channel would send it: title, blank line, body"),
    example=("new_incident", "--channel", "sms"),
    args=(
        arg("event", help=N_("new_incident, level_iii, escalation, escalation:RULE, resolved, test...")),
        arg(
            "--channel",
            required=True,
            metavar="NAME|FORMAT",
            help=N_("a channel's name, or a format (dingtalk, sms...)"),
        ),
        arg("--incident", type=incident_id, metavar="N", help=N_("render this incident (default: a sample)")),
        arg("--lang", choices=list(SUPPORTED), help=N_("the language (default: the center's)")),
    ),
)
def templates_preview(ctx: Context) -> int:
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
