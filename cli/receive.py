"""`opsdeck receive` and `opsdeck sources ...`: the alert receiver and its sources."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from opsdeck.backend.alerts import sources
from opsdeck.backend.alerts.server import DEFAULT_LISTEN, Receiver, ReceiveSettings
from opsdeck.backend.cells import fit
from opsdeck.backend.config import parse_listen
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import N_, _
from opsdeck.cli.argtypes import whole_number
from opsdeck.cli.output import emit_json
from opsdeck.cli.registry import MEMBER, SYSTEM, arg, command

if TYPE_CHECKING:
    from opsdeck.cli.context import Context


@command(
    "receive",
    writes=SYSTEM,
    json=False,
    logs=True,
    args=(
        arg(
            "--listen",
            metavar="HOST:PORT",
            help=N_("where to listen (default: config [receive] listen, else 127.0.0.1:9181)"),
        ),
    ),
)
def receive(ctx: Context) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    settings = receive_settings(ctx, ctx.args.listen)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_unused: stop.set())
    try:
        receiver = Receiver(ctx.store, settings)
    except OSError as error:
        host, port = settings.listen
        raise InvalidInput(
            "cannot_listen",
            _("cannot listen on {host}:{port}: {error}").format(host=host, port=port, error=error.strerror),
            _("pick a free port with --listen HOST:PORT (or [receive] listen in the config)"),
        ) from None
    receiver.serve(stop)
    return 0


def receive_settings(ctx: Context, listen: str | None) -> Any:
    """The receiver's settings from the flag and the config; None when neither asks for one
    (the worker then runs no receiver)."""

    text = listen or ctx.config.receive_listen
    try:
        address = parse_listen(text) if text else DEFAULT_LISTEN
    except ValueError:
        raise InvalidInput(
            "bad_listen", _("{value!r} is not HOST:PORT").format(value=text), _("give e.g. --listen 127.0.0.1:9181")
        ) from None

    return ReceiveSettings(
        listen=address,
        max_bytes=ctx.config.receive_max_bytes,
        rate=ctx.config.receive_rate,
        quarantine=Path(ctx.config.spool).expanduser() / "quarantine",
    )


@command(
    "sources",
    "add",
    N_("add a source; prints its URL path and its token, once (leads)"),
    writes=MEMBER,
    example=("zabbix", "--kind", "json"),
    args=(
        arg("name"),
        arg("--kind", required=True, metavar="KIND", help=N_("alertmanager, events (PagerDuty-shaped) or json")),
        arg(
            "--critical-after",
            type=whole_number(1, 1000, N_("a count of firings")),
            metavar="N",
            help=N_("firings in a row that open an incident (default 1; json: the policy's critical_after)"),
        ),
        arg(
            "--alertmanager-url",
            metavar="URL",
            help=N_("Alertmanager's base URL: `probe silence` also silences there (alertmanager sources)"),
        ),
    ),
)
def sources_add(ctx: Context) -> int:
    a = ctx.args
    created = sources.add(
        ctx.store, ctx.login, a.name, a.kind, critical_after=a.critical_after, alertmanager_url=a.alertmanager_url
    )
    return _created(ctx, created, _("source {name} ({kind}) added").format(name=created.name, kind=created.kind))


@command("sources", "list", N_("every source with its URL path and counters: accepted, rejected by HTTP code"))
def sources_list(ctx: Context) -> int:
    rows = sources.listing(ctx.store)
    if ctx.args.json:
        emit_json(rows)
        return 0
    if not rows:
        print(_("(no sources: add one with `opsdeck sources add NAME --kind alertmanager`)"))
        return 0
    print(f"{fit(_('name'), 16)} {fit(_('kind'), 12)} {fit(_('accepted'), 9)} {fit(_('rejected'), 24)} {_('URL path')}")
    for row in rows:
        rejected = " ".join(f"{code}:{n}" for code, n in row["rejected"].items()) or "-"
        print(
            f"{fit(row['name'], 16)} {fit(row['kind'], 12)} {row['accepted']:>9} {fit(rejected, 24)} {row['url_path']}"
        )
    return 0


def _created(ctx: Context, created: Any, said: str) -> int:
    if ctx.args.json:
        emit_json(created.to_json())
        return 0
    listen = ctx.config.receive_listen or "127.0.0.1:9181"
    print(said)
    print(_("URL path: {path}   (e.g. http://{listen}{path})").format(path=created.url_path, listen=listen))
    print(_("token:    {token}").format(token=created.token))
    how = (
        _("put it in the events' routing_key (routing_key in Alertmanager's pagerduty_configs)")
        if created.kind == "events"
        else _("send it as Authorization: Bearer TOKEN (Alertmanager: http_config.authorization.credentials)")
    )
    print(how)
    print(_("It is shown only now: keep it in the sender's configuration."))
    return 0


@command(
    "sources",
    "rotate",
    N_("a new token for a source; the old one stops working (leads)"),
    writes=MEMBER,
    example=("zabbix",),
    args=(arg("name"),),
)
def sources_rotate(ctx: Context) -> int:
    created = sources.rotate(ctx.store, ctx.login, ctx.args.name)
    return _created(ctx, created, _("source {name}: new token; the old one no longer works").format(name=created.name))


@command(
    "sources",
    "remove",
    N_("remove a source; its requests are refused from now on (leads)"),
    writes=MEMBER,
    example=("zabbix",),
    args=(arg("name"),),
)
def sources_remove(ctx: Context) -> int:
    sources.remove(ctx.store, ctx.login, ctx.args.name)
    if ctx.args.json:
        emit_json({"name": ctx.args.name, "removed": True})
    else:
        print(_("source {name} removed").format(name=ctx.args.name))
    return 0


class Mirrored(TypedDict):
    """A silence mirrored in Alertmanager, as `probe silence --json` prints it."""

    probe: str
    url: str
    silence_id: str | None  # created (or expired, when lifting)
    error: str | None  # why it could not be: the silence here stands


def mirror_silence(ctx: Context, names: list[str], duration: timedelta | None, reason: str) -> list[Mirrored]:
    """`probe silence` on an alert group of an Alertmanager source with `alertmanager_url`
    also silences (or, lifting, expires) there; a failure there is a warning, the
    silence here stands."""
    # talks to Alertmanager over httpx; only this command does
    from opsdeck.backend.alerts.silences import sync

    until = ctx.store.clock() + duration if duration else None
    done = sync(ctx.store, ctx.login, names, until, reason)
    for item in done:
        if item.error:
            print(
                "opsdeck: "
                + _("warning: not mirrored in Alertmanager at {url}: {error}").format(url=item.url, error=item.error)
                + " — "
                + _("check the source's alertmanager_url and that Alertmanager is up; the silence here stands"),
                file=sys.stderr,
            )
        elif not ctx.args.json:
            what = _("silenced in Alertmanager too") if until else _("silence expired in Alertmanager too")
            print(_("{name}: {what} ({id})").format(name=item.probe, what=what, id=item.silence_id))
    return [{"probe": d.probe, "url": d.url, "silence_id": d.silence_id, "error": d.error} for d in done]
