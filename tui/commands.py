"""What each CLI command does: validate, call the service layer, print text or JSON.

No Textual here: only `dashboard()` imports the UI, when a command draws.
"""

from __future__ import annotations

import argparse
import codecs
import getpass
import json
import os
import shlex
import shutil
import sys
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from opsdeck.backend import config as config_mod
from opsdeck.backend import queries, words
from opsdeck.backend.access import refuse_unless_writer
from opsdeck.backend.audit import verify
from opsdeck.backend.board_text import render_board
from opsdeck.backend.cells import cell_len, fit
from opsdeck.backend.domain import Category, Level, parse_enum
from opsdeck.backend.errors import DomainError, InvalidInput, StoreUnavailable
from opsdeck.backend.i18n import _, choose, pick, set_language
from opsdeck.backend.progress import Progress
from opsdeck.backend.sanitize import clean
from opsdeck.backend.schema import current_revision, head_revision, open_store, sqlite_backup, upgrade_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.backend.timeutil import (
    TimeFormatError,
    format_age,
    format_countdown,
    format_local,
    parse_time,
    rfc3339,
)
from opsdeck.tui import registry


class Context:
    """What every command needs: validated config, the login, and (lazily) the store."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        db_flag = getattr(args, "db", None)
        if db_flag:
            config_mod.refuse_password_flag(db_flag)
        self.config = config_mod.load({"db": db_flag})
        self.zone = self.config.zone()
        # Before any screen is imported: binding descriptions are evaluated with their class.
        # JSON output, errors included, stays English: scripts read it.
        set_language("en" if wants_json(args) else choose(self.config.language, os.environ))
        self.login = self._login()
        self.read_only = bool(getattr(args, "read_only", False))
        self._store: Store | None = None

    def _login(self) -> str:
        as_login = getattr(self.args, "as_login", None)
        if not as_login:
            return getpass.getuser()
        if not self.config.allow_as:
            raise DomainError(
                "as_disabled",
                _("--as is off on this host"),
                _("set allow_as = true in the config or OPSDECK_ALLOW_AS=1 (tests and demos only)"),
            )
        return as_login

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.config.db, on_backup=_tell_backup)
        return self._store

    @property
    def service(self) -> Service:
        return Service(self.store, self.login, read_only=self.read_only)

    def time(self, text: str | None, what: str) -> datetime | None:
        if text is None:
            return None
        try:
            return parse_time(text, self.store.clock(), self.zone)
        except TimeFormatError as error:
            raise InvalidInput("bad_time", f"{what}: {error}", _("see the examples above")) from None

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


def wants_json(args: argparse.Namespace) -> bool:
    """The command prints JSON (`--json`, `report show --format json`): scripts read it,
    errors included, so it stays English."""
    return bool(getattr(args, "json", False)) or getattr(args, "format", None) == "json"


def _tell_backup(path: Path) -> None:
    told = _("upgraded the store's schema; the old store was saved as {path}").format(path=path)
    print(f"opsdeck: {told}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if args.command is None:
        return _no_command(args)
    ctx = Context(args)
    try:
        key = (args.command, getattr(args, "action", None))
        handler = HANDLERS[key]
        if args.command not in ("worker", "ingest", "wall", "serve"):  # those set up their own logging
            _log_beside_the_dashboard()
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


def dashboard(ctx: Context, *, demo: bool) -> int:
    """The full-screen board; `--demo` on a fresh store with a living spool."""
    from opsdeck.backend.worker import make_lease
    from opsdeck.tui.app import Background, BoardContext, build_app

    background: list[Any] = []
    spool = _spool(ctx)
    if demo:
        from opsdeck.backend.demo import DEMO_LEAD, open_demo_store, temporary_store_url
        from opsdeck.backend.demo_pager import DemoPager
        from opsdeck.backend.demo_probes import DemoProbes
        from opsdeck.backend.ingest import SpoolSettings

        url = temporary_store_url()
        folder = Path(url.removeprefix("sqlite:///")).parent
        ctx._store = open_demo_store(url)
        spool = SpoolSettings(folder / "spool")
        ctx.login = DEMO_LEAD  # the demo's group lead: a store of its own, never the user's
        pager = DemoPager()  # the demo's notifications are delivered here, on 127.0.0.1
        Service(ctx.store, DEMO_LEAD).apply_channels(pager.channels_file(folder))
        background.append(Background("opsdeck-demo-pager", pager.run))
        background.append(Background("opsdeck-demo-probes", DemoProbes(spool.path).run))
    store = ctx.store
    with store.read() as session:
        actor = ctx.service.actor(session)
    if actor.can_write and not ctx.read_only:
        lease = make_lease(store, "escalate")
        if lease.try_acquire():  # nobody else runs a worker: this board brings its own
            lease.release()
            background.append(Background("opsdeck-worker", _embedded_worker(store, spool)))
    from opsdeck.tui import keymap

    context = BoardContext(
        store=store,
        login=ctx.login,
        permission=actor.permission.value,
        read_only=ctx.read_only or not actor.can_write,
        zone=ctx.zone,
        clock=store.clock,
        where=_("demo {where}").format(where=store.describe()) if demo else store.describe(),
        background=background,
        keymap=keymap.load(Path(ctx.config.keymap)),  # refused whole before anything starts
        theme=ctx.config.theme,
        ascii=ctx.config.ascii,
    )
    app = build_app(context)  # a bad theme is refused before any thread starts
    _log_to_file()
    for item in background:
        item.start()
    app.run()
    return 0


def _log_to_file() -> None:
    """The screen is the terminal: log lines go to a file, never to stderr (Textual draws there)."""
    import logging

    root = logging.getLogger("opsdeck")
    root.handlers[:] = [_log_file_handler()]
    root.setLevel(logging.INFO)
    root.propagate = False


def _log_beside_the_dashboard() -> None:
    """A one-shot command's log lines (a refusal's access-log line) go to the dashboard's
    log file: the user already reads the refusal as the error, not twice on stderr."""
    import logging

    logger = logging.getLogger("opsdeck")
    if not logger.handlers:
        logger.addHandler(_log_file_handler())


def _log_file_handler() -> Any:
    """The log file in the user's log folder; with no writable folder, nowhere (a command
    does not fail for want of its log)."""
    import logging

    import platformdirs

    folder = Path(platformdirs.user_log_dir("opsdeck"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(folder / "opsdeck.log", encoding="utf-8", delay=True)
    except OSError:
        return logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    return handler


def _embedded_worker(store: Any, spool: Any) -> Any:
    from opsdeck.backend.worker import DUTIES, standard_worker

    def run(stop: Any) -> None:
        standard_worker(store, duties=DUTIES, spool=spool, stop=stop).run()

    return run


# -- output helpers -------------------------------------------------------------------


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def emit_json_array(items: Iterable[Any]) -> None:
    """Stream a big list without holding it: `[`, items, `]`."""
    out = sys.stdout
    out.write("[")
    first = True
    for item in items:
        out.write("\n  " if first else ",\n  ")
        out.write(json.dumps(item, ensure_ascii=False))
        first = False
    out.write("\n]\n" if not first else "]\n")


def _width() -> int:
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def _ljust(text: str, width: int) -> str:
    """Pad to `width` terminal cells (a Chinese character takes two), never crop."""
    return text + " " * max(0, width - cell_len(text))


# The fixed vocabulary of human output: the English key as it is, or its Chinese label.
# Looked up when printed (the language is chosen after this module is imported).


def _directory(kind: str) -> str:
    labels = {"roster": _("roster"), "contacts": _("contacts"), "systems": _("systems")}
    return labels.get(kind, kind)


def _print_board(ctx: Context, title: str = "") -> None:
    with ctx.store.read() as session:
        sys.stdout.write(render_board(session, ctx.store.clock(), ctx.zone, width=_width(), title=title))


def _incident_out(ctx: Context, incident_id: int, summary: str) -> int:
    with ctx.store.read() as session:
        data = queries.get_incident(session, incident_id)
    if ctx.args.json:
        emit_json(data)
    else:
        print(
            _("#{id} {summary} (version {version}, {status})").format(
                id=incident_id, summary=summary, version=data["version"], status=words.status(data["status"])
            )
        )
    return 0


# -- incident commands ----------------------------------------------------------------


def incident_open(ctx: Context) -> int:
    a = ctx.args
    incident = ctx.service.open(
        a.title,
        description=a.description,
        system=a.system,
        category=a.category,
        level=a.level,
        reason=a.reason,
        outage_start=ctx.time(a.outage_start, "--outage-start"),
    )
    assert incident.id is not None
    if a.json:
        with ctx.store.read() as session:
            emit_json(queries.get_incident(session, incident.id))
    else:
        print(incident.id)
    return 0


def incident_list(ctx: Context) -> int:
    a = ctx.args
    if a.status not in queries.STATUS_FILTERS:
        raise InvalidInput(
            "bad_status",
            _("{status!r} is not a status filter").format(status=a.status),
            _("use one of {choices}").format(choices=", ".join(queries.STATUS_FILTERS)),
        )
    try:
        level = Level.parse(a.level).value if a.level else None
        category = parse_enum(Category, a.category, "category").value if a.category else None
    except ValueError as error:
        raise InvalidInput("bad_filter", str(error), _("fix the filter")) from None
    filt = queries.IncidentFilter(
        status=a.status,
        level=level,
        category=category,
        system=a.system,
        owner=a.owner,
        since=ctx.time(a.since, "--since"),
        until=ctx.time(a.until, "--until"),
        grep=a.grep,
    )
    with ctx.store.read() as session:
        rows = queries.iter_incidents(session, filt)
        if a.json:
            emit_json_array(rows)
        else:
            _print_incident_table(rows, ctx)
    return 0


def _print_incident_table(rows: Iterable[dict[str, Any]], ctx: Context) -> None:
    width = _width()
    title_width = max(10, width - (6 + 4 + 17 + 10 + 13 + 17 + 6))
    print(
        f"{fit(_('ID'), 6)} {fit(_('LVL'), 4)} {fit(_('CATEGORY'), 17)} {fit(_('TITLE'), title_width)} "
        f"{fit(_('OWNER'), 10)} {fit(_('STATUS'), 13)} {_('REPORTED')}"
    )
    count = 0
    for row in rows:
        count += 1
        reported = datetime.fromisoformat(row["reported_at"].replace("Z", "+00:00"))
        print(
            f"{fit(str(row['id']), 6)} {fit(row['level'] or '-', 4)} {fit(words.category(row['category']), 17)} "
            f"{fit(clean(row['title']), title_width)} {fit(clean(row['owner'] or '-'), 10)} "
            f"{fit(words.status(row['status']), 13)} {reported.astimezone(ctx.zone).strftime('%m-%d %H:%M')}"
        )
    if count == 0:
        print(_("(no incidents match)"))


def incident_show(ctx: Context) -> int:
    with ctx.store.read() as session:
        data = queries.incident_detail(session, ctx.args.id)
        data["deadlines"] = queries.incident_deadlines(session, ctx.args.id, ctx.store.clock())
        data["next_deadline"] = queries.next_deadline(data["deadlines"])
        data["obligations"] = queries.obligations(session, ctx.args.id)
    if ctx.args.json:
        emit_json(data)
        return 0
    z = ctx.zone
    shown = {"status": words.status(data["status"]), "category": words.category(data["category"])}
    print(f"#{data['id']} {clean(data['title'])}")
    for key in ("status", "category", "level", "owner", "reporter", "system", "version"):
        value = shown.get(key, data[key])
        print(f"  {_ljust(words.incident_field(key), 18)} {clean(str(value if value is not None else '-'))}")
    for key in queries.TIMESTAMPS:
        if data[key]:
            at = format_local(datetime.fromisoformat(data[key].replace("Z", "+00:00")), z)
            print(f"  {_ljust(words.incident_field(key), 18)} {at}")
    if data["description"]:
        print("\n" + clean(data["description"], one_line=False))
    if data["resolution"]:
        print("\n" + _("resolution: {text}").format(text=clean(data["resolution"], one_line=False)))
    if data["playbook"]:
        print("\n" + _("playbook:"))
        for step in data["playbook"]:
            mark = {"done": "[x]", "skipped": "[-]"}.get(step["state"], "[ ]")
            title = clean(pick(step["title"], step["title_zh"]))
            print(f"  {mark} {step['key']}: {title}{_step_by(step)}")
    if data["deadlines"]:
        print("\n" + _("deadlines:"))
        _print_deadlines(data["deadlines"])
    if data["obligations"]:
        print("\n" + _("obligations (level III and above):"))
        for item in data["obligations"]:
            done = item["attested"][-1] if item["attested"] else None
            mark = "[x]" if done else "[ ]"
            print(f"  {mark} {item['key']}: {pick(item['en'], item['zh'])}{_attested(done)}")
    if data["notes"]:
        print("\n" + _("notes:"))
        for note in data["notes"]:
            print(f"  {note['at']} {note['author']}: {clean(note['text'])}")
    return 0


def _step_by(step: dict[str, Any]) -> str:
    """`  (done by lead: why)` after a ticked or skipped playbook step."""
    if not step["by"]:
        return ""
    state = {"done": _("done"), "skipped": _("skipped")}.get(step["state"], step["state"])
    if step["reason"]:
        text = _("({state} by {by}: {reason})").format(state=state, by=step["by"], reason=clean(step["reason"]))
    else:
        text = _("({state} by {by})").format(state=state, by=step["by"])
    return "  " + text


def _attested(done: dict[str, Any] | None) -> str:
    """`  (lead via phone at TIME: who or note)` after an attested obligation."""
    if done is None:
        return ""
    detail = done["who"] or done["note"]
    if detail:
        text = _("({by} via {via} at {at}: {detail})").format(
            by=done["by"], via=done["via"], at=done["at"], detail=clean(detail)
        )
    else:
        text = _("({by} via {via} at {at})").format(by=done["by"], via=done["via"], at=done["at"])
    return "  " + text


STATE_MARK = {"pending": "  ", "warning": "! ", "breached": "!!", "met": "ok", "met_late": "ok"}


def _print_deadlines(items: list[dict[str, Any]]) -> None:
    """The newest clock of each rule, and older ones only if they were late."""
    newest = {d["key"]: d for d in sorted(items, key=lambda d: d["clock_start"])}
    shown = [d for d in items if newest[d["key"]] is d or d["state"] in ("breached", "met_late")]
    for d in shown:
        if d["state"] in ("met", "met_late"):
            when = _("met") if d["state"] == "met" else _("met {age} late").format(age=format_age(d["late_s"] or 0))
        else:
            left = format_countdown(d["remaining_s"]).strip()
            when = (_("立即 / at once ") if d["immediate"] else "") + (
                _("overdue {time}").format(time=left.lstrip("-"))
                if d["state"] == "breached"
                else _("in {time}").format(time=left)
            )
        level = (
            _(" (level {level} due)").format(level=d["next_level"])
            if d["next_level"] and d["state"] == "breached"
            else ""
        )
        targets = ", ".join(t["to"] for t in d["escalated_to"])
        escalated = _("; escalated to {targets}").format(targets=targets) if d["escalated_to"] else ""
        state = fit(words.clock_state(d["state"]), 9)
        print(f"  {STATE_MARK[d['state']]} {fit(d['key'], 20)} {state} {when}{level}{escalated}")


def incident_deadlines(ctx: Context) -> int:
    with ctx.store.read() as session:
        items = queries.incident_deadlines(session, ctx.args.id, ctx.store.clock())
    if ctx.args.json:
        emit_json(items)
    elif items:
        _print_deadlines(items)
    else:
        print(_("#{id} has no clocks running").format(id=ctx.args.id))
    return 0


def incident_attest(ctx: Context) -> int:
    a = ctx.args
    ctx.service.attest(a.id, a.obligation, via=a.via, note=a.note, who=a.who)
    return _incident_out(ctx, a.id, _("{obligation} attested").format(obligation=a.obligation))


def escalate(ctx: Context) -> int:
    from opsdeck.backend import escalation
    from opsdeck.backend.store import worker_actor

    done = escalation.sweep(ctx.store, worker_actor())
    if ctx.args.json:
        emit_json([item.to_json() for item in done])
    else:
        for item in done:
            targets = ", ".join(t["to"] for t in item.targets)
            print(
                _("#{id} {rule}: escalated to {targets}").format(id=item.incident_id, rule=item.rule, targets=targets)
                + (_("; level raised to {level}").format(level=item.regraded_to) if item.regraded_to else "")
            )
        if not done:
            print(_("nothing to escalate"))
    return 0


def worker(ctx: Context) -> int:
    import logging
    import signal
    import threading

    from opsdeck.backend.worker import standard_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    duties = tuple(d.strip() for d in ctx.args.duties.split(",") if d.strip())
    if ctx.args.interval <= 0:
        raise InvalidInput("bad_interval", _("--interval must be positive"), _("give seconds, like 1 or 0.5"))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_unused: stop.set())
    spool = _spool(ctx) if "ingest" in duties else None
    standard_worker(
        ctx.store,
        duties=duties,
        interval=ctx.args.interval,
        spool=spool,
        stop=stop,
        sender=_sender(ctx),
        retention=_retention(ctx),
    ).run()
    return 0


def _retention(ctx: Context) -> Any:
    from opsdeck.backend.maintenance import Retention
    from opsdeck.backend.timeutil import parse_duration

    return Retention(done=parse_duration(ctx.config.keep_done), results=parse_duration(ctx.config.keep_results))


def _sender(ctx: Context) -> Any:
    from opsdeck.backend.notify import SenderSettings
    from opsdeck.backend.timeutil import parse_duration

    return SenderSettings(dead_after=parse_duration(ctx.config.notify_dead_after))


def _spool(ctx: Context) -> Any:
    from opsdeck.backend.ingest import SpoolSettings

    path = getattr(ctx.args, "spool", None) or ctx.config.spool
    encoding = getattr(ctx.args, "encoding", None) or ctx.config.spool_encoding
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InvalidInput(
            "bad_encoding", _("unknown encoding {encoding!r}").format(encoding=encoding), _("use e.g. utf-8 or gb18030")
        ) from None
    return SpoolSettings(Path(path).expanduser(), encoding=encoding)


def ingest(ctx: Context) -> int:
    from opsdeck.backend.ingest import Ingester

    if not ctx.args.once:
        ctx.args.duties, ctx.args.interval = "ingest", 1.0
        return worker(ctx)
    report = Ingester(ctx.store, _spool(ctx)).scan()
    if ctx.args.json:
        emit_json(report.to_json())
    else:
        print(
            _(
                "{ingested} ingested ({results} results), {duplicates} duplicates, "
                "{quarantined} quarantined, {stale} stale, {waiting} waiting"
            ).format(
                ingested=report.ingested,
                results=report.results,
                duplicates=report.duplicates,
                quarantined=report.quarantined,
                stale=report.stale,
                waiting=report.waiting,
            )
        )
    return 0


def notify_list(ctx: Context) -> int:
    from opsdeck.backend.notify import scrub

    states = ("pending", "sending", "sent", "failed", "dead")
    if ctx.args.state and ctx.args.state not in states:
        raise InvalidInput(
            "bad_state",
            _("{state!r} is not a state").format(state=ctx.args.state),
            _("use one of {choices}").format(choices=", ".join(states)),
        )
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


def notify_retry(ctx: Context) -> int:
    ctx.service.retry_message(ctx.args.id)
    print(_("notification #{id} will be sent again now").format(id=ctx.args.id))
    return 0


def notify_test(ctx: Context) -> int:
    import httpx

    from opsdeck.backend import notify_plan
    from opsdeck.backend.notify import DeliveryError, send

    with ctx.store.read() as session:
        channel = notify_plan.load(session).channel(ctx.args.channel)
    if channel is None:
        raise InvalidInput(
            "no_channel", _("no channel {name!r}").format(name=ctx.args.channel), _("see `opsdeck channels list`")
        )
    body = {
        "idempotency_key": f"test-{ctx.store.clock().timestamp():.0f}",
        "event": "test",
        "recipient": {"kind": "test", "id": ctx.login, "name": ctx.login},
        "incident": {},
    }
    try:
        with httpx.Client(timeout=10) as client:
            send(client, channel, body, body["idempotency_key"], 10)
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


def channels_apply(ctx: Context) -> int:
    return _applied(ctx, _routing_version, ctx.service.apply_channels(Path(ctx.args.file)))


def _routing_version(version: int) -> str:
    return _("routing version {version}").format(version=version)


def _policy_version(version: int) -> str:
    return _("policy version {version}").format(version=version)


def _applied(ctx: Context, what: Callable[[int], str], result: tuple[int, bool]) -> int:
    version, changed = result
    if ctx.args.json:
        emit_json({"version": version, "changed": changed})
    else:
        print(what(version) + ("" if changed else _(" (unchanged: the file matches it)")))
    return 0


def channels_list(ctx: Context) -> int:
    from opsdeck.backend import notify_plan

    with ctx.store.read() as session:
        config = notify_plan.load(session)
    data = {
        "version": config.version,
        "channels": [{"name": c.name, "kind": c.kind, "url": c.shown} for c in config.channels],
        "routes": [{"event": r.event, "min_level": r.min_level, "to": list(r.to)} for r in config.routes],
    }
    if ctx.args.json:
        emit_json(data)
        return 0
    for c in data["channels"]:
        print(f"{_ljust(_('channel'), 7)} {fit(c['name'], 16)} {fit(c['kind'], 8)} {c['url']}")
    for r in data["routes"]:
        levels = _("level {level}+").format(level=r["min_level"]) if r["min_level"] else ""
        print(f"{_ljust(_('route'), 7)} {fit(r['event'], 24)} {_ljust(levels, 10)} {', '.join(r['to'])}")
    return 0


def handover(ctx: Context) -> int:
    from opsdeck.backend.handover import handover as build
    from opsdeck.backend.timeutil import parse_duration

    try:
        since = parse_duration(ctx.args.since)
    except TimeFormatError as error:
        raise InvalidInput("bad_duration", f"--since: {error}", _("e.g. --since 8h or 12h")) from None
    now = ctx.store.clock()
    with ctx.store.read() as session:
        data = build(session, now, since)
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
    return 0


def probe_list(ctx: Context) -> int:
    from opsdeck.backend.ingest import spool_summary

    now = ctx.store.clock()
    with ctx.store.read() as session:
        rows = queries.probes(session, now)
    if ctx.args.json:
        emit_json(rows)
        return 0
    for row in rows:
        state = (
            _("SILENCED")
            if row["silenced_until"]
            else words.probe_state(row["state"]) + (_(" (stale)") if row["stale"] else "")
        )
        age = format_age(row["age_s"]) if row["age_s"] is not None else "-"
        output = clean(row["output"]).split("  ")[0]
        print(f"{fit(state, 16)} {fit(clean(row['name']), 28)} {fit(age, 7)} {fit(output, max(10, _width() - 55))}")
    if not rows:
        print(_("(no probes yet: results written into the spool create them)"))
    summary = spool_summary(ctx.store)
    if summary["quarantined"]:
        count = summary["quarantined"]
        print("\n" + _("{count} file(s) in quarantine: see quarantine/*.reason in the spool").format(count=count))
    return 0


def probe_show(ctx: Context) -> int:
    with ctx.store.read() as session:
        results = queries.probe_results(session, ctx.args.name)
        [row] = queries.probes(session, ctx.store.clock(), [ctx.args.name])
    row["recent"] = results
    if ctx.args.json:
        emit_json(row)
        return 0
    labels = {  # "name " with a space: a probe's (名称); "name" is a person's (姓名). Padded alike.
        "name": _("name "),
        "system": _("system"),
        "state": _("state"),
        "stale": _("stale"),
        "silenced_until": _("silenced_until"),
        "last_result_at": _("last_result_at"),
        "interval_s": _("interval_s"),
        "incident_id": _("incident_id"),
    }
    for key, label in labels.items():
        value = words.probe_state(row[key]) if key == "state" else row[key]
        print(f"  {_ljust(label, 16)} {clean(str(value))}")
    print(f"\n{clean(row['output'], one_line=False)}\n\n{_('recent results:')}")
    for r in results:
        print(f"  {r['at']} {fit(words.probe_state(r['state']), 9)} {clean(r['output'])[:80]}")
    return 0


def probe_silence(ctx: Context) -> int:
    from opsdeck.backend.timeutil import parse_duration

    a = ctx.args
    try:
        duration = parse_duration(a.duration) if a.duration.strip() != "0" else timedelta(0)
    except TimeFormatError as error:
        raise InvalidInput("bad_duration", f"--for: {error}", _("give e.g. 2h, 30m, 1d, or 0 to lift it")) from None
    names = ctx.service.silence(probe=a.name, system=a.system, duration=duration, reason=a.reason)
    if a.json:
        emit_json({"probes": names, "for_s": duration.total_seconds()})
    else:
        shown = ", ".join(names)
        if duration:
            print(_("{names}: silenced for {duration}").format(names=shown, duration=a.duration))
        else:
            print(_("{names}: no longer silenced").format(names=shown))
    return 0


def _action(summary: Callable[[], str], call: Callable[[Context], Any]) -> Callable[[Context], int]:
    """`summary` is looked up when the command runs, in the language chosen by then."""

    def handler(ctx: Context) -> int:
        result = call(ctx)
        incident_id = getattr(result, "id", None) or ctx.args.id
        said = summary() if incident_id == ctx.args.id else _("reopened as #{id}").format(id=incident_id)
        return _incident_out(ctx, incident_id, said)

    return handler


def _v(ctx: Context) -> int | None:
    return ctx.args.if_version  # type: ignore[no-any-return]


def _close(ctx: Context) -> Any:
    a = ctx.args
    if a.false_alarm and not a.reason:
        raise InvalidInput("missing_reason", _("--false-alarm needs --reason"), _("say why it was a false alarm"))
    if a.reason and not a.false_alarm:
        raise InvalidInput(
            "stray_reason", _("--reason goes with --false-alarm"), _("add --false-alarm or drop --reason")
        )
    return ctx.service.close(
        a.id,
        false_alarm_reason=a.reason if a.false_alarm else None,
        duplicate_of=a.duplicate_of,
        zone=ctx.zone,
        expected_version=_v(ctx),
    )


def _step(ctx: Context) -> Any:
    a = ctx.args
    if a.skip and not a.reason:
        raise InvalidInput("missing_reason", _("--skip needs --reason"), _("say why the step is skipped"))
    ctx.service.step(a.id, a.key, skip=a.skip, reason=a.reason)
    return None


def _outage(ctx: Context) -> Any:
    started = ctx.time(ctx.args.started, "--started")
    assert started is not None
    return ctx.service.outage(ctx.args.id, started=started, reason=ctx.args.reason, expected_version=_v(ctx))


# -- directory, audit, policy, db ------------------------------------------------------


def directory_import(ctx: Context) -> int:
    kind = ctx.args.command
    progress = Progress(_("importing {what}").format(what=_directory(kind)))
    result = ctx.service.import_records(kind, Path(ctx.args.file), progress)
    progress.done()
    if ctx.args.json:
        emit_json({"kind": kind, **result.counts(), "added_keys": result.added, "updated_keys": result.updated})
    else:
        c = result.counts()
        print(
            _("{what}: {added} added, {updated} updated, {unchanged} unchanged").format(
                what=_directory(kind), added=c["added"], updated=c["updated"], unchanged=c["unchanged"]
            )
        )
    return 0


def directory_list(ctx: Context) -> int:
    kind = ctx.args.command
    with ctx.store.read() as session:
        rows = {"roster": queries.roster, "contacts": queries.contacts, "systems": queries.systems}[kind](session)
    if ctx.args.json:
        emit_json(rows)
        return 0
    if not rows:
        print(_("(no {what} yet: opsdeck {kind} import FILE)").format(what=_directory(kind), kind=kind))
    for row in rows:
        if kind == "roster":
            duty = _("ON DUTY") if row["on_duty"] else _("off")
            open_count = _("{count} open").format(count=row["open_incidents"])
            print(
                f"{fit(row['login'], 12)} {fit(clean(row['name']), 28)} {fit(words.permission(row['permission']), 9)} "
                f"{fit(','.join(row['duties']) or '-', 16)} {fit(duty, 8)} {open_count}  {row['phone']}"
            )
        elif kind == "contacts":
            print(f"{fit(row['key'], 16)} {fit(row['kind'], 24)} {fit(clean(row['name']), 36)} {row['phone']}")
        else:
            contract = _("contract") if row["maintenance_contract"] else _("no contract")
            print(
                f"{fit(row['name'], 16)} {fit(row['duty_area'] or '-', 10)} {fit(row['parent'] or '-', 14)} "
                f"{fit(row['vendor_contact'] or '-', 14)} {contract}"
            )
    return 0


def roster_duty(ctx: Context) -> int:
    member = ctx.service.roster_duty(ctx.args.login, ctx.args.state == "on")
    if ctx.args.json:
        emit_json({"login": member.login, "on_duty": member.on_duty})
    else:
        said = _("{login} is on duty") if member.on_duty else _("{login} is off duty")
        print(said.format(login=member.login))
    return 0


def audit_show(ctx: Context) -> int:
    target = ctx.args.id
    incident_id = None if target == "system" else int(str(target).lstrip("#"))
    with ctx.store.read() as session:
        if incident_id is not None:
            queries.get_incident(session, incident_id)  # 4 if there is no such incident
        events = queries.audit_trail(session, incident_id)
    if ctx.args.json:
        emit_json(events)
        return 0
    for e in events:
        at = format_local(datetime.fromisoformat(e["at"].replace("Z", "+00:00")), ctx.zone)
        details = clean(json.dumps(e["details"], ensure_ascii=False))
        print(f"{e['seq']:>4} {at} {fit(e['actor'], 16)} {fit(e['action'], 14)} {details}")
    return 0


def audit_export(ctx: Context) -> int:
    from opsdeck.backend.audit import export_trail

    with ctx.store.read() as session:
        evidence = export_trail(session, ctx.args.id)
    text = json.dumps(evidence, ensure_ascii=False, indent=2) + "\n"
    if ctx.args.output:
        _write_new(Path(ctx.args.output), text)
        if evidence["verified"]:
            state = _("chain intact")
        else:
            state = _("CHAIN BROKEN: {problems}").format(problems="; ".join(evidence["problems"]))
        print(
            _("#{id}: {count} events written to {path} ({state})").format(
                id=ctx.args.id, count=len(evidence["events"]), path=ctx.args.output, state=state
            )
        )
    else:
        sys.stdout.write(text)
    return 0 if evidence["verified"] else 1


def _write_new(path: Path, text: str) -> None:
    """Write a file the user named, refusing to overwrite one: evidence is never replaced."""
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise InvalidInput(
            "file_exists",
            _("{path} already exists").format(path=path),
            _("name a new file; evidence is never overwritten"),
        ) from None
    except OSError as error:
        raise InvalidInput(
            "unwritable",
            _("cannot write {path}: {reason}").format(path=path, reason=error.strerror),
            _("name a writable path"),
        ) from None


def audit_anchor(ctx: Context) -> int:
    from opsdeck.backend.audit import anchor

    with ctx.store.read() as session:
        token = anchor(session)
    if ctx.args.json:
        emit_json({"anchor": token})
    else:
        print(token)
    return 0


def wall(ctx: Context) -> int:
    """The wall: a viewer whatever the login, no embedded worker, no prompts."""
    from opsdeck.screens.wall import build_wall_app
    from opsdeck.tui import keymap
    from opsdeck.tui.app import BoardContext

    served = bool(os.environ.get("TEXTUAL_DRIVER"))  # textual-serve runs us without a tty
    if not served and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InvalidInput("no_terminal", _("no terminal to draw the wall on"), _("run opsdeck wall in a terminal"))
    if ctx.args.page_seconds < 2:
        raise InvalidInput("bad_page_seconds", _("--page-seconds must be at least 2"), _("give e.g. --page-seconds 10"))
    store = ctx.store
    context = BoardContext(
        store=store,
        login=ctx.login,
        permission="viewer",
        read_only=True,
        zone=ctx.zone,
        clock=store.clock,
        where=store.describe(),
        keymap=keymap.load(Path(ctx.config.keymap)),
        theme=ctx.config.theme,
        ascii=ctx.config.ascii,
    )
    app = build_wall_app(context, bell=ctx.config.bell and not ctx.args.no_bell, page_seconds=ctx.args.page_seconds)
    _log_to_file()
    app.run()
    return 0


def serve(ctx: Context) -> int:
    """`opsdeck wall` in a browser: textual-serve starts one wall per browser session."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise InvalidInput(
            "no_textual_serve", _("textual-serve is not installed"), "pip install 'opsdeck[serve]'"
        ) from None
    a = ctx.args
    command = [sys.executable, "-m", "opsdeck.tui.cli", "--db", ctx.config.db, "wall", "--no-bell"]
    if not (1 <= a.port <= 65535):
        raise InvalidInput(
            "bad_port", _("--port {port} is not a port").format(port=a.port), _("give 1-65535, e.g. --port 8000")
        )
    server = Server(shlex.join(command), host=a.host, port=a.port, title="opsdeck wall", public_url=a.public_url)
    told = _("the wall at {url} (ctrl+c stops)").format(url=server.public_url)
    print(f"opsdeck: {told}", file=sys.stderr, flush=True)
    server.serve()
    return 0


def board_cmd(ctx: Context) -> int:
    """The board as text; `--at` replays it from the audit trail (backend/replay.py)."""
    from opsdeck.backend.board_text import render_replay
    from opsdeck.backend.replay import board_at

    now = ctx.store.clock()
    if ctx.args.at is None and not ctx.args.json:
        _print_board(ctx)
        return 0
    at = ctx.time(ctx.args.at, "--at") if ctx.args.at else now
    assert at is not None
    with ctx.store.read() as session:
        rows = board_at(session, at, now=now)
    if ctx.args.json:
        emit_json({"at": rfc3339(at), "incidents": rows})
    else:
        sys.stdout.write(render_replay(rows, at, ctx.zone, width=_width()))
    return 0


def calls_add(ctx: Context) -> int:
    a = ctx.args
    call = ctx.service.add_call(
        a.id, caller=a.caller, contact=a.contact, need=a.need, callback=a.callback, at=ctx.time(a.at, "--at")
    )
    if a.json:
        emit_json({"id": call.id, "incident_id": a.id, "callback": call.callback})
    else:
        said = _("call {call} logged on #{id}: a call-back is owed") if a.callback else _("call {call} logged on #{id}")
        print(said.format(call=call.id, id=a.id))
    return 0


def calls_list(ctx: Context) -> int:
    from opsdeck.backend.calls import calls

    a = ctx.args
    if a.unmask:
        ctx.service.unmask_calls(a.id)  # refused for viewers; audited for members
    with ctx.store.read() as session:
        if a.id is not None:
            queries.get_incident(session, a.id)  # 4 if there is no such incident
        rows = calls(session, a.id, owed=a.owed, unmask=a.unmask)
    if a.json:
        emit_json(rows)
        return 0
    if not rows:
        print(_("no call-backs owed") if a.owed else _("no calls logged"))
        return 0
    for r in rows:
        at = format_local(datetime.fromisoformat(r["at"].replace("Z", "+00:00")), ctx.zone)
        if r["called_back_at"]:
            state = _("called back by {login}").format(login=r["called_back_by"])
        elif r["callback"]:
            state = _("CALL BACK") if r["incident_status"] in ("resolved", "closed") else _("call back (still down)")
        else:
            state = "-"
        print(
            f"{r['id']:>5} #{r['incident_id']:<5} {at} {fit(r['caller'], 18)} {fit(r['contact'], 18)} "
            f"{fit(state, 22)} {clean(r['need'])[:60]}"
        )
    return 0


def calls_done(ctx: Context) -> int:
    call = ctx.service.called_back(ctx.args.call, note=ctx.args.note)
    if ctx.args.json:
        emit_json({"id": call.id, "incident_id": call.incident_id, "called_back_by": call.called_back_by})
    else:
        print(_("call {call} (#{id}): called back").format(call=call.id, id=call.incident_id))
    return 0


def report_show(ctx: Context) -> int:
    from opsdeck.backend import record
    from opsdeck.backend.models import Incident
    from opsdeck.backend.timeutil import rfc3339

    with ctx.store.read() as session:
        draft = record.draft(session, ctx.args.id, ctx.store.clock())
        incident = session.get(Incident, ctx.args.id)
        assert incident is not None
        filed = incident.record if incident.record_filed_at and incident.record else None
        filed_at = incident.record_filed_at
    if ctx.args.json or ctx.args.format == "json":
        out = record.as_json(draft)
        out["filed"] = (
            None if filed is None else {"at": rfc3339(filed_at), "sha256": record.record_hash(filed), "text": filed}
        )
        emit_json(out)
        return 0
    print(clean(filed if filed is not None else record.markdown(draft, ctx.zone), one_line=False))
    return 0


def report_file(ctx: Context) -> int:
    a = ctx.args
    kept: Path | None = None
    if a.source == "-":
        text = sys.stdin.read()
    elif a.source:
        text = _read_record(Path(a.source))
    else:
        text, kept = _edit_draft(ctx)
    try:
        ctx.service.close(a.id, record=text, zone=ctx.zone, expected_version=a.if_version)
    except Exception:
        if kept is not None:
            told = _("nothing filed; your edited record is kept at {path}").format(path=kept)
            print(f"opsdeck: {told}", file=sys.stderr)
        raise
    if kept is not None:
        kept.unlink(missing_ok=True)
    return _incident_out(ctx, a.id, _("record filed, closed"))


def _read_record(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(
            "no_file", _("{path} does not exist").format(path=path), _("give the path of the record's text")
        ) from None
    except UnicodeDecodeError as error:
        raise InvalidInput(
            "not_utf8",
            _("{path} is not UTF-8 (byte {byte})").format(path=path, byte=error.start),
            _("save the record as UTF-8 and file it again"),
        ) from None
    except OSError as error:
        raise InvalidInput(
            "unreadable",
            _("cannot read {path}: {reason}").format(path=path, reason=error.strerror),
            _("check the path"),
        ) from None


def _edit_draft(ctx: Context) -> tuple[str, Path]:
    """The draft in the user's editor; what they save is what is filed."""
    import os
    import subprocess
    import tempfile

    from opsdeck.backend import record

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor or not sys.stdin.isatty():
        raise InvalidInput(
            "no_editor",
            _("no record text given, and no editor to write one in"),
            _("give --from FILE (or --from - for standard input), or set EDITOR and run it in a terminal"),
        )
    with ctx.store.read() as session:
        draft = record.markdown(record.draft(session, ctx.args.id, ctx.store.clock()), ctx.zone)
    handle, name = tempfile.mkstemp(prefix=f"opsdeck-record-{ctx.args.id}-", suffix=".md")
    path = Path(name)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(draft)
    status = subprocess.call([*shlex.split(editor), str(path)])
    if status != 0:
        raise InvalidInput(
            "editor_failed",
            _("the editor exited with {status}: nothing filed").format(status=status),
            _("your text is kept at {path}").format(path=path),
        )
    return _read_record(path), path


def _verify_anchor(ctx: Context, token: str) -> int:
    from opsdeck.backend.audit import check_anchor

    with ctx.store.read() as session:
        problems = check_anchor(session, token)
    if ctx.args.json:
        emit_json({"ok": not problems, "anchor": token, "problems": problems})
    elif not problems:
        print(_("ok: every chain holds the history the anchor fixed"))
    for problem in problems if not ctx.args.json else []:
        print(_("BROKEN {problem}").format(problem=problem))
    if problems:
        said = _(
            "{problem} — the history changed after the anchor was taken: restore the store "
            "from a backup older than the change and find out who had write access to the database"
        ).format(problem=problems[0])
        print(f"opsdeck: error: {said}", file=sys.stderr)
        return 1
    return 0


def audit_verify(ctx: Context) -> int:
    if ctx.args.anchor:
        return _verify_anchor(ctx, ctx.args.anchor)
    with ctx.store.read() as session:
        chains, events, problems = verify(session)
    if ctx.args.json:
        emit_json(
            {
                "ok": not problems,
                "chains": chains,
                "events": events,
                "problems": [p.__dict__ for p in problems],
            }
        )
    elif problems:
        for p in problems:
            print(_("BROKEN {problem}").format(problem=p.message))
    else:
        print(_("ok: {chains} chains, {events} events, every link intact").format(chains=chains, events=events))
    if problems:
        said = _(
            "{problem} — restore the store from a backup and find out who had write access to the database"
        ).format(problem=problems[0].message)
        print(f"opsdeck: error: {said}", file=sys.stderr)
        return 1
    return 0


def policy_apply(ctx: Context) -> int:
    return _applied(ctx, _policy_version, ctx.service.apply_policy(Path(ctx.args.file)))


def policy_show(ctx: Context) -> int:
    with ctx.store.read() as session:
        policy = Service._policy(session)
    if ctx.args.json:
        emit_json({"version": policy.version, **policy.document})
        return 0
    print(_policy_version(policy.version))
    for category, body in policy.document["playbooks"].items():
        print("\n" + _("{category}:").format(category=words.category(category)))
        for step in body["steps"]:
            when = f"  [{step['when']}]" if step.get("when") else ""
            print(f"  {step['key']}: {pick(step['en'], step.get('zh', ''))}{when}")
    return 0


def db_backup(ctx: Context) -> int:
    path = ctx.store.path
    if path is None:
        raise InvalidInput(
            "not_sqlite",
            _("db backup copies SQLite stores"),
            _("for PostgreSQL use pg_dump (it takes a consistent snapshot too)"),
        )
    progress = Progress(_("backing up"))
    sqlite_backup(path, Path(ctx.args.dest), progress)
    progress.done()
    if ctx.args.json:
        emit_json({"source": str(path), "backup": ctx.args.dest})
    else:
        print(_("backed up {path} to {dest}").format(path=path, dest=ctx.args.dest))
    return 0


def db_upgrade(ctx: Context) -> int:
    before, after = upgrade_store(ctx.config.db)
    if ctx.args.json:
        emit_json({"from": before, "to": after})
    else:
        if before != after:
            print(_("schema {before} -> {after}").format(before=before or _("(empty)"), after=after))
        else:
            print(_("schema {version}: up to date").format(version=after))
    return 0


def init_system(ctx: Context) -> int:
    from opsdeck.backend.setup import init_system as setup

    done = setup(Path(ctx.args.dir), ctx.args.group, config_mod.site_config_path())
    data = {
        "db": done.db_url,
        "spool": str(done.spool),
        "group": done.group,
        "site_config": str(done.site_config),
        "done": done.done,
    }
    if ctx.args.json:
        emit_json(data)
        return 0
    for line in done.done or [_("everything was in place already")]:
        print(f"  {line}")
    print(
        _(
            "\nEvery login in group {group} now uses {db}.\n"
            "Next: add the operators to the group (usermod -aG {group} LOGIN; they log in again),\n"
            "import the roster (opsdeck roster import roster.toml), and run one worker\n"
            "(opsdeck worker, e.g. as a systemd service of a member of {group})."
        ).format(group=done.group, db=done.db_url)
    )
    return 0


def db_status(ctx: Context) -> int:
    revision = current_revision(ctx.store)
    data = {
        "db": ctx.store.describe(),
        "dialect": ctx.store.dialect,
        "schema": revision,
        "program_schema": head_revision(),
    }
    if ctx.args.json:
        emit_json(data)
    else:
        labels = {
            "db": _("db"),
            "dialect": _("dialect"),
            "schema": _("schema"),
            "program_schema": _("program_schema"),
        }
        for key, value in data.items():
            print(f"{_ljust(labels[key], 15)} {value}")
    return 0


def demo(ctx: Context) -> int:
    from opsdeck.backend.demo import open_demo_store

    db_flag = getattr(ctx.args, "db", None)
    ctx._store = open_demo_store(db_flag)
    where = ctx.store.describe()
    _print_board(ctx, title=_("demo {where}").format(where=where))
    print(
        _(
            "\nThis demo store stays at {where}; try:\n"
            "  opsdeck --db {quoted} --as lead incident list\n"
            "  (--as needs OPSDECK_ALLOW_AS=1: demo logins are not yours)"
        ).format(where=where, quoted=shlex.quote(where))
    )
    return 0


def show_config(ctx: Context) -> int:
    c = ctx.config
    data = {
        "db": config_mod.parse_url(c.db).render_as_string(hide_password=True),
        "timezone": c.timezone,
        "allow_as": c.allow_as,
        "language": c.language,
        "theme": c.theme,
        "keymap": c.keymap,
        "bell": c.bell,
        "ascii": c.ascii,
        "files": list(c.sources),
        "site_config": str(config_mod.site_config_path()),
        "user_config": str(config_mod.user_config_path()),
        "login": ctx.login,
    }
    if ctx.args.json:
        emit_json(data)
    else:
        for key, value in data.items():
            print(f"{key:<12} {value}")
    return 0


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
    ("incident", "note"): _action(lambda: _("note added"), lambda c: c.service.note(c.args.id, c.args.text)),
    ("incident", "step"): _action(lambda: _("step recorded"), _step),
    ("incident", "cause"): _action(
        lambda: _("cause located"), lambda c: c.service.cause(c.args.id, note=c.args.note, expected_version=_v(c))
    ),
    ("incident", "resolve"): _action(
        lambda: _("resolved"),
        lambda c: c.service.resolve(c.args.id, resolution=c.args.resolution, expected_version=_v(c)),
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
    ("report", "file"): report_file,
    ("policy", "apply"): policy_apply,
    ("policy", "show"): policy_show,
    ("db", "backup"): db_backup,
    ("db", "upgrade"): db_upgrade,
    ("db", "status"): db_status,
    ("init", None): init_system,
    ("demo", None): demo,
    ("config", None): show_config,
}

__all__ = ["HANDLERS", "StoreUnavailable", "run"]
