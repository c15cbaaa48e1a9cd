"""Notifications: `notify list|retry|test`, `channels apply|list`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsdeck.backend import notify_plan, queries, templates, words
from opsdeck.backend.cells import fit
from opsdeck.backend.errors import InvalidInput, StoreUnavailable
from opsdeck.backend.i18n import N_, _
from opsdeck.backend.sanitize import clean
from opsdeck.cli.argtypes import incident_id
from opsdeck.cli.context import Context
from opsdeck.cli.output import applied, emit_json, ljust, routing_version
from opsdeck.cli.registry import MEMBER, arg, command


def _message_state(text: str) -> str:
    states = ("pending", "sending", "sent", "failed", "dead")
    if text not in states:
        raise InvalidInput(
            "bad_state",
            _("{state!r} is not a state").format(state=text),
            _("use one of {choices}").format(choices=", ".join(states)),
        )
    return text


@command(
    "notify",
    "list",
    N_("messages with their state, attempts and last error (secrets redacted)"),
    args=(arg("--state", metavar="S", type=_message_state, help=N_("pending, sending, sent, failed or dead")),),
)
def notify_list(ctx: Context) -> int:
    # the sender's module loads httpx; only this command uses it
    from opsdeck.backend.notify import scrub

    with ctx.store.read() as session:
        rows = queries.outbox(session, ctx.args.state)
    for row in rows:
        row["last_error"] = scrub(row["last_error"]) if row["last_error"] else None
    if ctx.args.json:
        emit_json(rows)
        return 0
    for row in rows:
        print(
            f"{row['id']:>5} {fit(words.message_state(row['state']), 8)} {row['attempts']:>2}x {fit(row['event'], 26)} "
            f"{fit(row['recipient'], 16)} {clean(row['last_error'] or '')[:60]}"
        )
    if not rows:
        print(_("(no messages)"))
    return 0


@command(
    "notify",
    "retry",
    N_("send a failed or dead message again now"),
    writes=MEMBER,
    example=("1",),
    args=(arg("id", type=incident_id),),
)
def notify_retry(ctx: Context) -> int:
    ctx.service.retry_message(ctx.args.id)
    print(_("notification #{id} will be sent again now").format(id=ctx.args.id))
    return 0


@command(
    "notify",
    "test",
    N_("send a test message to a channel now"),
    writes=MEMBER,
    example=("ops-webhook",),
    args=(arg("channel"),),
)
def notify_test(ctx: Context) -> int:
    # httpx takes ~0.6 s to import: only `notify test` sends
    import httpx

    # loads httpx, as above
    from opsdeck.backend.notify import DeliveryError, send

    with ctx.store.read() as session:
        channel = notify_plan.load(session).channel(ctx.args.channel)
        words = templates.load(session)
    if channel is None:
        raise InvalidInput(
            "no_channel", _("no channel {name!r}").format(name=ctx.args.channel), _("see `opsdeck channels list`")
        )
    now = ctx.store.clock()
    body = {
        "idempotency_key": f"test-{now.timestamp():.0f}",
        "event": "test",
        "recipient": {"kind": "test", "id": ctx.login, "name": ctx.login},
        "incident": {},
        "test": {"channel": channel.name, "sent_by": ctx.login, "at": now.isoformat()},
    }
    text = words.message("test", channel.format, body, None, ctx.login)
    try:
        with httpx.Client(timeout=10) as client:
            send(client, channel, body, str(body["idempotency_key"]), 10, text)
    except DeliveryError as error:
        raise StoreUnavailable(
            "channel_failed",
            f"{ctx.args.channel}: {error}",
            _("check the URL (opsdeck channels list) and that the service is reachable"),
        ) from None
    if ctx.args.json:
        emit_json({"channel": channel.name, "ok": True})
    else:
        print(_("sent a test message to {name} ({url})").format(name=channel.name, url=channel.shown))
    return 0


@command(
    "channels",
    "apply",
    N_("validate FILE (TOML) and store it as a new routing version (leads)"),
    writes=MEMBER,
    example=("channels.toml",),
    args=(arg("file"),),
)
def channels_apply(ctx: Context) -> int:
    return applied(ctx, routing_version, ctx.service.apply_channels(Path(ctx.args.file)))


@command("channels", "list", N_("channels (URLs redacted) and routes"))
def channels_list(ctx: Context) -> int:
    with ctx.store.read() as session:
        config = notify_plan.load(session)
    data: dict[str, Any] = {
        "version": config.version,
        "channels": [{"name": c.name, "kind": c.kind, "format": c.format, "url": c.shown} for c in config.channels],
        "routes": [{"event": r.event, "min_level": r.min_level, "to": list(r.to)} for r in config.routes],
    }
    if ctx.args.json:
        emit_json(data)
        return 0
    for c in data["channels"]:
        print(f"{ljust(_('channel'), 7)} {fit(c['name'], 16)} {fit(c['kind'], 8)} {fit(c['format'], 9)} {c['url']}")
    for r in data["routes"]:
        levels = _("level {level}+").format(level=r["min_level"]) if r["min_level"] else ""
        print(f"{ljust(_('route'), 7)} {fit(r['event'], 24)} {ljust(levels, 10)} {', '.join(r['to'])}")
    return 0
