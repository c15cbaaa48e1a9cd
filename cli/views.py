"""What draws or prints the board: `wall`, `serve`, `board`, `handover`, `demo` (the full-screen board: cli/dashboard.py)."""

from __future__ import annotations

import os
import shlex
import socket
import sys
from datetime import timedelta

from opsdeck.backend.board_text import render_board, render_replay
from opsdeck.backend.cells import fit
from opsdeck.backend.demo import open_demo_store
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.handover import handover as build
from opsdeck.backend.handover_lines import open_warning_lines
from opsdeck.backend.i18n import N_, _, pick
from opsdeck.backend.replay import board_at
from opsdeck.backend.sanitize import clean
from opsdeck.backend.timeutil import (
    TimeFormatError,
    format_countdown,
    format_local,
    parse_duration,
    rfc3339,
)
from opsdeck.cli.argtypes import seconds
from opsdeck.cli.context import Context
from opsdeck.cli.logfile import log_to_file
from opsdeck.cli.output import emit_json, term_width
from opsdeck.cli.registry import arg, command


def _print_board(ctx: Context, title: str = "") -> None:
    with ctx.store.read() as session:
        sys.stdout.write(render_board(session, ctx.store.clock(), ctx.zone, width=term_width(), title=title))


@command(
    "wall",
    json=False,
    draws=True,
    logs=True,
    args=(
        arg("--no-bell", action="store_true", help=N_("flash only; never ring the terminal bell")),
        arg(
            "--page-seconds",
            type=seconds(2, 86400),
            default=10.0,
            metavar="S",
            help=N_("turn pages every S s (default 10)"),
        ),
    ),
)
def wall(ctx: Context) -> int:
    """The wall: a viewer whatever the login, no embedded worker, no prompts."""
    # Textual only for a command that draws
    from opsdeck.tui.app import build_app

    served = bool(os.environ.get("TEXTUAL_DRIVER"))  # textual-serve runs us without a tty
    if not served and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InvalidInput("no_terminal", _("no terminal to draw the wall on"), _("run opsdeck wall in a terminal"))
    if ctx.args.page_seconds < 2:
        raise InvalidInput("bad_page_seconds", _("--page-seconds must be at least 2"), _("give e.g. --page-seconds 10"))
    app = build_app(
        ctx.config,
        ctx.store,
        ctx.login,
        wall=True,
        bell=ctx.config.bell and not ctx.args.no_bell,
        page_seconds=ctx.args.page_seconds,
    )
    log_to_file()
    app.run()
    return 0


@command(
    "serve",
    json=False,
    draws=True,
    logs=True,
    args=(
        arg("--host", default="127.0.0.1", help=N_("the address to listen on (default 127.0.0.1: this host only)")),
        arg("--port", type=int, default=8000, help=N_("the port (default 8000)")),
        arg("--public-url", metavar="URL", help=N_("the URL browsers use, when behind a reverse proxy")),
    ),
)
def serve(ctx: Context) -> int:
    """`opsdeck wall` in a browser: textual-serve starts one wall per browser session."""
    try:
        # an optional extra (serve), and it draws
        from textual_serve.server import Server
    except ImportError:
        raise InvalidInput(
            "no_textual_serve", _("textual-serve is not installed"), "pip install 'opsdeck[serve]'"
        ) from None
    a = ctx.args
    command = [sys.executable, "-m", "opsdeck.cli", "--db", ctx.config.db, "wall", "--no-bell"]
    if not (1 <= a.port <= 65535):
        raise InvalidInput(
            "bad_port", _("--port {port} is not a port").format(port=a.port), _("give 1-65535, e.g. --port 8000")
        )
    _listenable(a.host, a.port)
    server = Server(shlex.join(command), host=a.host, port=a.port, title="opsdeck wall", public_url=a.public_url)
    told = _("the wall at {url} (ctrl+c stops)").format(url=server.public_url)
    print(f"opsdeck: {told}", file=sys.stderr, flush=True)
    server.serve()
    return 0


def _listenable(host: str, port: int) -> None:
    """A host the server can listen on, refused here with the fix (not an internal error
    from deep in the server when the name does not resolve or the address is not ours)."""

    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError, OSError) as error:
        raise InvalidInput(
            "bad_host",
            _("--host {host}: not an address to listen on ({error})").format(host=clean(host)[:100], error=error),
            _("give an address of this host, e.g. --host 127.0.0.1 (this host only) or --host 0.0.0.0 (all)"),
        ) from None
    family, kind, proto, _canon, address = found[0]
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(address)
        except OSError as error:
            raise InvalidInput(
                "cannot_listen",
                _("cannot listen on {host}:{port} ({error})").format(
                    host=clean(host)[:100], port=port, error=error.strerror
                ),
                _("give an address of this host and a free port (ports below 1024 need root)"),
            ) from None


@command(
    "board",
    args=(arg("--at", metavar="TIME", help=N_("replay the board at TIME (08:30, -2h, 2026-11-28T08:30:00+08:00)")),),
)
def board_cmd(ctx: Context) -> int:
    """The board as text; `--at` replays it from the audit trail (backend/replay.py)."""

    now = ctx.store.clock()
    if ctx.args.at is None and not ctx.args.json:
        _print_board(ctx)
        return 0
    at = ctx.time(ctx.args.at, "--at") if ctx.args.at else now
    assert at is not None
    from opsdeck.backend import schedule  # who was on duty then, under the schedule in force then
    from opsdeck.backend.warning_trail import warnings_at  # the warnings (预警) open then

    with ctx.store.read() as session:
        rows = board_at(session, at, now=now)
        on_duty = [entry.to_json() for entry in schedule.load(session, now).who(at)]
        warned = warnings_at(session, at, ctx.zone)
    if ctx.args.json:
        emit_json({"at": rfc3339(at), "incidents": rows, "on_duty": on_duty, "warnings": warned})
    else:
        sys.stdout.write(render_replay(rows, at, ctx.zone, width=term_width()))
        for line, _style in open_warning_lines(warned):
            print(line)
        named = [f"{e['duty']}: {clean(e['login'])}" for e in on_duty if e["login"]]
        print("\n" + _("On duty then: {who}").format(who=", ".join(named) or _("nobody")))
    return 0


def _shift_length(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except TimeFormatError as error:
        raise InvalidInput("bad_duration", f"--since: {error}", _("e.g. --since 8h or 12h")) from None


@command(
    "handover",
    args=(
        arg("--since", default="8h", type=_shift_length, metavar="DURATION", help=N_("breaches since (default 8h)")),
    ),
)
def handover(ctx: Context) -> int:
    since = ctx.args.since
    now = ctx.store.clock()
    with ctx.store.read() as session:
        data = build(session, now, since, ctx.zone)
    if ctx.args.json:
        emit_json(data)
        return 0
    print(
        _("Handover at {now}, since {since}").format(
            now=format_local(now, ctx.zone), since=format_local(now - since, ctx.zone)
        )
        + "\n"
    )
    print(_("Open incidents ({count}), most urgent first:").format(count=len(data["open_incidents"])))
    for item in data["open_incidents"]:
        due = item["next_deadline"]
        when = f"{format_countdown(due['remaining_s']).strip()} {pick(due['key'], due['name_zh'])}" if due else "-"
        print(
            f"  #{item['id']:<5} {fit(item['level'] or '--', 4)} {fit(when, 26)} {fit(clean(item['title']), 40)} "
            f"{item['owner'] or '-'}"
        )
    print("\n" + _("Breaches escalated since ({count}):").format(count=len(data["breaches_since"])))
    for b in data["breaches_since"]:
        to = ", ".join(b["to"]) or _("nobody (met late)")
        escalated = _("escalated {at} to {to}").format(at=b["escalated_at"], to=to)
        print(f"  #{b['incident_id']:<5} {fit(b['rule'], 22)} {escalated}")
    print("\n" + _("Unattested obligations ({count}):").format(count=len(data["unattested_obligations"])))
    for u in data["unattested_obligations"]:
        print(f"  #{u['incident_id']:<5} {', '.join(u['missing'])}")
    stale = ", ".join(clean(n) for n in data["stale_probes"]) or _("none")
    print("\n" + _("Stale probes: {names}").format(names=stale))
    silenced = ", ".join(
        _("{name} until {until}").format(name=clean(p["name"]), until=p["until"]) for p in data["silenced_probes"]
    )
    print(_("Silenced probes: {names}").format(names=silenced or _("none")))
    from opsdeck.cli.schedule import print_coverage  # the duty schedule's gaps ahead

    print_coverage(ctx, data["coverage"])
    from opsdeck.cli.warning import print_open_warnings  # warnings (预警) still open

    print_open_warnings(ctx, data)
    return 0


@command("demo", json=False)  # seeds a fresh temporary store of its own
def demo(ctx: Context) -> int:
    db_flag = getattr(ctx.args, "db", None)
    ctx._store = open_demo_store(db_flag)
    where = ctx.store.describe()
    _print_board(ctx, title=_("demo {where}").format(where=where))
    print(
        _(
            "\nThis demo store stays at {where}; try:\n"
            "  opsdeck --db {quoted} --as lead incident list\n"
            "  (--as works there: the demo store is yours alone)"
        ).format(where=where, quoted=shlex.quote(where))
    )
    return 0
