"""Stores filled fast for benchmarks: realistic incidents, bulk-inserted.

This is setup, not a measured thing: rows go straight into the tables through
SQLAlchemy Core in one transaction (no audit chain, feed or outbox), so a 100k store
takes seconds instead of the ~10 minutes the service layer would need.

`fill_store` writes two years of a center's history: mostly closed, a few open, some
Chinese text. `fill_open_store` writes open incidents with their clocks: a few are
opened through the service layer, and their stored rows (incident, clocks,
attestations) are copied, every time shifted alike, so each copy is what the service
layer would have stored had the same things happened at another moment.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from importlib.resources import as_file, files
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlmodel import SQLModel

from opsdeck.backend import clocks
from opsdeck.backend.deadlines import Facts
from opsdeck.backend.domain import CLASSIFIED_CATEGORIES, Status
from opsdeck.backend.models import Incident, IncidentDeadline, System
from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.backend.timeutil import rfc3339

from .harness import Run, Tick

# Fixed, so every run lists the same bytes and runs stay comparable.
BASE_TIME = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
HISTORY = timedelta(days=730)
SEED = 20261128
CHUNK = 5000
LOGINS = ("lead", "web", "dns", "servers", "telecom")
TITLES = (
    "Disk latency alarms on db-cluster node {n}",
    "Core switch {n} lost an uplink",
    "Portal returns HTTP 500 on login",
    "门户网站首页访问缓慢 ({n})",
    "Backup job {n} failed overnight",
    "DNS resolver {n} not answering",
    "机房空调告警 {n} 号机柜",
    "Certificate expires in 7 days on host {n}",
)
SENTENCES = (
    "Reported by the monitoring wall.",
    "Users in the east building cannot reach the service.",
    "Vendor engineer is on the way.",
    "值班人员已电话通知系统负责人。",
    "Failover did not trigger automatically; switched by hand.",
)
STATUS_WEIGHTS = ((Status.CLOSED, 90), (Status.RESOLVED, 4), (Status.ACKNOWLEDGED, 4), (Status.REPORTED, 2))
LEVEL_WEIGHTS = (("IV", 60), ("III", 25), ("II", 12), ("I", 3))


def fill_store(path: Path, count: int, tick: Tick) -> None:
    """A store at `path` holding `count` incidents (schema and default policy as usual)."""
    store = open_store(f"sqlite:///{path}")
    try:
        with store.engine.begin() as conn:
            rows = incident_rows(count)
            done = 0
            while chunk := list(islice(rows, CHUNK)):
                conn.execute(insert(Incident.__table__), chunk)
                done += len(chunk)
                tick(done)
    finally:
        store.dispose()


def incident_rows(count: int) -> Iterator[dict[str, Any]]:
    """`count` incidents, oldest first, spread evenly over HISTORY up to BASE_TIME."""
    rng = random.Random(SEED)
    step = HISTORY / max(count, 1)
    for index in range(count):
        reported = BASE_TIME - HISTORY + step * index + timedelta(microseconds=rng.randrange(1_000_000))
        yield _incident(rng, reported)


def _incident(rng: random.Random, reported: datetime) -> dict[str, Any]:
    status = _weighted(rng, STATUS_WEIGHTS)
    reporter = rng.choice(LOGINS)
    classified = status is not Status.REPORTED
    row: dict[str, Any] = {
        "version": 1,
        "title": rng.choice(TITLES).format(n=rng.randrange(1, 40)),
        "description": " ".join(rng.sample(SENTENCES, rng.randrange(0, 3))),
        "system_id": None,
        "category": rng.choice(CLASSIFIED_CATEGORIES).value if classified else "unclassified",
        "level": _weighted(rng, LEVEL_WEIGHTS) if classified else None,
        "status": status.value,
        "owner": rng.choice(LOGINS) if classified else None,
        "reporter": reporter,
        "reported_at": reported,
        "outage_started_at": reported - timedelta(minutes=rng.randrange(0, 30)),
        "policy_version": 1,
        "updated_at": reported,
        "updated_by": reporter,
        **dict.fromkeys(
            ("acknowledged_at", "classified_at", "cause_located_at", "resolved_at", "record_filed_at", "closed_at")
        ),
        **dict.fromkeys(("resolution", "record", "close_kind", "close_reason", "duplicate_of", "reopened_from")),
        "next_due_at": None,
    }
    _advance(rng, row, status)
    return row


def _advance(rng: random.Random, row: dict[str, Any], status: Status) -> None:
    """Walk the incident through the plan's steps up to `status`, one version each."""
    at: datetime = row["reported_at"]
    steps: list[str] = []
    if status is Status.REPORTED:
        row["next_due_at"] = at + timedelta(minutes=15)
        return
    steps += ["acknowledged_at", "classified_at"]
    if status in (Status.RESOLVED, Status.CLOSED):
        steps += ["cause_located_at", "resolved_at"]
        row["resolution"] = "Restarted the service and confirmed with users."
    if status is Status.CLOSED:
        steps += ["record_filed_at", "closed_at"]
        row["record"] = row["resolution"]
        row["close_kind"] = "resolved"
    else:
        row["next_due_at"] = at + timedelta(hours=2)
    for step in steps:
        at += timedelta(minutes=rng.randrange(1, 90), seconds=rng.randrange(60))
        row[step] = at
    row["version"] = 1 + len(steps)
    row["updated_at"], row["updated_by"] = at, row["owner"]


def _weighted(rng: random.Random, weights: tuple[tuple[Any, int], ...]) -> Any:
    values, counts = zip(*weights, strict=True)
    return rng.choices(values, weights=counts)[0]


# -- open incidents with their clocks ---------------------------------------------------

OPEN_NOW = BASE_TIME  # the moment the open store is judged at
DUE_EVERY = 100  # every 100th incident has a breached clock at OPEN_NOW: 1 %
# A due incident's clock broke at most this long ago, well inside the gap to its next
# clock (10 minutes or more in every template), so each due incident owes one escalation.
MAX_LATE_S = 60
# A quiet store: no clock of it falls due for this long after its fill, so a board watched
# inside it sees only countdowns change (no breach toasts, flashes or re-ranked rows). Below
# the 9 minutes in which no due incident's next clock can fall due (see MAX_LATE_S).
QUIET = timedelta(minutes=8)
CHILD_TABLES = ("incident_deadlines", "attestations")
DEMO_RECORDS = (("roster", SEED_ACTOR), ("contacts", "lead"), ("systems", "lead"))
OPERATOR = "servers"  # an operator on duty in the demo roster


@dataclass
class _Clock:
    """The store's clock while the templates are written: time moves only when told."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)


def _reported(service: Service, clock: _Clock) -> int:
    """Just reported: classify and supervisor clocks running."""
    return _id(service.open("门户网站首页访问缓慢", description="Reported by the monitoring wall."))


def _classified_iii(service: Service, clock: _Clock) -> int:
    """Level III with its obligations: leadership told, departments not yet."""
    incident_id = _id(service.open("Payment run down", system="benefits-app", category="software_fault", level="III"))
    clock.advance(5)
    service.attest(incident_id, "leadership_informed", via="phone", note="told the deputy director")
    return incident_id


def _acknowledged_iv(service: Service, clock: _Clock) -> int:
    """Acknowledged, then classified: the acknowledgement lease renewed by the update."""
    incident_id = _id(service.open("Core switch 3 lost an uplink", system="core-network"))
    clock.advance(5)
    service.ack(incident_id)
    clock.advance(10)
    service.classify(incident_id, category="network_fault", level="IV")
    return incident_id


def _resolved(service: Service, clock: _Clock) -> int:
    """Resolved, the post-incident record owed within a day."""
    incident_id = _id(
        service.open("Disk latency on db-cluster node 4", system="db-cluster", category="server_fault", level="IV")
    )
    clock.advance(20)
    service.cause(incident_id, note="a failing disk in the array")
    clock.advance(25)
    service.resolve(incident_id, resolution="Replaced the disk; latency back to normal.")
    return incident_id


Scenario = Callable[[Service, _Clock], int]
SCENARIOS: tuple[tuple[Scenario, int], ...] = (
    (_reported, 20),
    (_classified_iii, 15),
    (_acknowledged_iv, 45),
    (_resolved, 20),
)


@dataclass(frozen=True)
class Template:
    """One incident as the service layer stored it: its rows and its facts."""

    incident: dict[str, Any]
    children: dict[str, list[dict[str, Any]]]  # CHILD_TABLES name -> rows
    system: str | None
    facts: Facts

    @property
    def window(self) -> timedelta:
        """From its last write to its next clock falling due: where `now` can be."""
        last_write = max(
            v
            for k, v in self.incident.items()
            if isinstance(v, datetime) and not k.endswith(("due_at", "warn_at"))  # clocks ahead, not writes
        )
        return self.incident["next_due_at"] - last_write  # type: ignore[no-any-return]


@dataclass(frozen=True)
class OpenStore:
    """A store of open incidents, each a shifted copy of a template."""

    path: Path
    now: datetime
    templates: tuple[Template, ...]
    copies: tuple[tuple[int, timedelta], ...]  # incident id - 1 -> (template index, shift)
    due_ids: frozenset[int]  # incidents whose next_due_at has passed at `now`
    breached: int  # clocks owed an escalation at `now`: what one sweep records
    quiet_until: datetime | None = None  # a quiet store: no clock falls due before this

    def still_quiet(self) -> str:
        """For a figure's note: whether the real clock is still inside the quiet stretch."""
        if self.quiet_until is None:
            return "clocks fall due around the real now (not a quiet fill)"
        left = (self.quiet_until - datetime.now(UTC)).total_seconds()
        if left >= 0:
            return f"no clock fell due while it was watched (a quiet fill: none due for {QUIET.seconds // 60} min)"
        return f"the watching outlasted the quiet fill by {-left:.0f} s: clocks fell due in that stretch"

    @property
    def count(self) -> int:
        return len(self.copies)

    def facts(self) -> list[Facts]:
        """Every incident's facts, as `clocks.facts_of` would read them."""
        return [shift_facts(self.templates[index].facts, delta) for index, delta in self.copies]


def open_incidents(run: Run) -> OpenStore:
    """This run's store of open incidents, filled once; figures that write copy it first."""
    count = run.sizes.open_incidents

    def fill() -> OpenStore:
        tick = run.progress.stage(f"filling a store with {count:,} open incidents and their clocks", count)
        return fill_open_store(run.path("open.db"), count, run.path("templates.db"), tick)

    return run.once("fill.open_incidents", fill)


def live_incidents(run: Run, count: int) -> OpenStore:
    """`count` open incidents judged at the real now of the fill, filled once per count: for
    the board on the real clock, whose top rows then tick every second as an operator's do
    (the 1 % breached a moment before the fill count up, the rest count down)."""

    def fill() -> OpenStore:
        tick = run.progress.stage(f"filling a store with {count:,} open incidents due around now", count)
        now = datetime.now(UTC).replace(microsecond=0)  # whole seconds: see _shift
        return fill_open_store(run.path(f"live-{count}.db"), count, run.path(f"live-templates-{count}.db"), tick, now)

    return run.once(f"fill.live_incidents.{count}", fill)


def quiet_incidents(run: Run, count: int, name: str) -> OpenStore:
    """Like `live_incidents`, filled afresh for one figure (`name`), but with no clock falling
    due for `QUIET` after the fill: the 1 % breached a moment before it count up, the rest
    count down from QUIET and more. A board watched while clocks fall due does the work of
    a breach storm (at 100k, about 50 a second here), which is not the figure's question."""
    tick = run.progress.stage(f"filling a quiet store with {count:,} open incidents for {name}", count)
    now = datetime.now(UTC).replace(microsecond=0)
    path, scratch = run.path(f"quiet-{name}-{count}.db"), run.path(f"quiet-templates-{name}-{count}.db")
    return fill_open_store(path, count, scratch, tick, now, quiet=QUIET)


def fill_open_store(
    path: Path,
    count: int,
    scratch: Path,
    tick: Tick,
    now: datetime = OPEN_NOW,
    url: str | None = None,
    quiet: timedelta | None = None,
) -> OpenStore:
    """`count` open incidents with their clocks at `path`, judged at `now` (whole seconds);
    the templates are opened in `scratch`. A store for an app on the real clock is filled
    at the real now, so its countdowns tick as an operator's would. With `url` (an empty
    PostgreSQL schema) the incidents go there instead, and `path` only names the run. With
    `quiet`, no incident that is not due at `now` falls due before `now + quiet`."""
    templates = open_templates(scratch)
    rng = random.Random(SEED)
    weights = [weight for _, weight in SCENARIOS]
    copies = []
    for index in range(count):
        which = rng.choices(range(len(templates)), weights=weights)[0]
        copies.append((which, _shift(templates[which], index % DUE_EVERY == 0, rng, now, quiet or timedelta())))
    # The demo's events dated before `now`: a store dates every later write (the sweep's
    # too) no earlier than its newest event.
    store = open_store(url or f"sqlite:///{path}", clock=lambda: now - timedelta(days=2))
    try:
        _import_demo(store)
        breached = _insert_copies(store, templates, copies, tick, now)
    finally:
        store.dispose()
    due = frozenset(i + 1 for i in range(count) if i % DUE_EVERY == 0)
    quiet_until = now + quiet if quiet is not None else None
    return OpenStore(path, now, templates, tuple(copies), due, breached, quiet_until)


def open_templates(path: Path) -> tuple[Template, ...]:
    """One incident per scenario, opened through the service layer, each in a store of its
    own (left in the filled store, their long-broken clocks would be due too). A store
    dates a write no earlier than its newest event, so each scenario starts on a clean
    timeline: the demo records a day before, the scenario from OPEN_NOW - 1 day."""
    found = []
    for number, (scenario, _) in enumerate(SCENARIOS):
        clock = _Clock(OPEN_NOW - timedelta(days=2))
        store = open_store(f"sqlite:///{path.with_name(f'{path.stem}-{number}{path.suffix}')}", clock=clock)
        try:
            _import_demo(store)
            clock.now = OPEN_NOW - timedelta(days=1)
            found.append(_template(store, scenario(Service(store, OPERATOR), clock)))
        finally:
            store.dispose()
    return tuple(found)


def _template(store: Store, incident_id: int) -> Template:
    with store.read() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        facts = clocks.facts_of(session, incident)
        system = session.get(System, incident.system_id) if incident.system_id else None
        conn = session.connection()
        table = Incident.__table__
        row = dict(conn.execute(select(table).where(table.c.id == incident_id)).one()._mapping)
        children = {}
        for name in CHILD_TABLES:
            child = SQLModel.metadata.tables[name]
            found = conn.execute(select(child).where(child.c.incident_id == incident_id).order_by(child.c.id))
            children[name] = [dict(r._mapping) for r in found]
    return Template(row, children, system.name if system else None, facts)


def _import_demo(store: Store) -> None:
    """The demo roster, contacts and systems: who escalations go to, what incidents are about."""
    for kind, actor in DEMO_RECORDS:
        with as_file(files("opsdeck.fixtures").joinpath("demo", f"{kind}.toml")) as source:
            Service(store, actor).import_records(kind, Path(source))


def _shift(template: Template, due: bool, rng: random.Random, now: datetime, quiet: timedelta) -> timedelta:
    """Whole seconds, so clock keys keep their format: a due incident's next clock broke a
    moment ago; any other's falls due after now + quiet and within the template's window
    from now (so its writes stay in the past)."""
    if due:
        target = now - timedelta(seconds=rng.randint(1, MAX_LATE_S))
    else:
        window_s, quiet_s = int(template.window.total_seconds()), int(quiet.total_seconds())
        if window_s <= quiet_s:
            raise ValueError(f"bench: a template's window ({template.window}) is not longer than QUIET ({quiet})")
        target = now + timedelta(seconds=rng.randint(quiet_s + 1, window_s))
    next_due: datetime = template.incident["next_due_at"]
    return target - next_due


def _insert_copies(
    store: Store, templates: tuple[Template, ...], copies: list[tuple[int, timedelta]], tick: Tick, now: datetime
) -> int:
    """Insert the copies in chunks; returns the clocks owed an escalation at `now`."""
    system_ids = _system_ids(store)
    breached = 0
    with store.engine.begin() as conn:
        for start in range(0, len(copies), CHUNK):
            incidents: list[dict[str, Any]] = []
            children: dict[str, list[dict[str, Any]]] = {name: [] for name in CHILD_TABLES}
            for offset, (which, delta) in enumerate(copies[start : start + CHUNK]):
                incident, rows = _copy(templates[which], start + offset + 1, delta, system_ids)
                incidents.append(incident)
                for name in CHILD_TABLES:
                    children[name].extend(rows[name])
                if incident["next_due_at"] <= now:
                    breached += sum(1 for row in rows["incident_deadlines"] if _owed_at(row, now))
            conn.execute(insert(Incident.__table__), incidents)
            for name, child_rows in children.items():
                if child_rows:
                    conn.execute(insert(SQLModel.metadata.tables[name]), child_rows)
            tick(start + len(incidents))
        if store.dialect == "postgresql":  # ids were given: move the sequence past them
            conn.execute(text("SELECT setval(pg_get_serial_sequence('incidents', 'id'), max(id)) FROM incidents"))
    return breached


def _copy(
    template: Template, incident_id: int, delta: timedelta, system_ids: dict[str, int]
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    incident = _shifted(template.incident, delta) | {"id": incident_id}
    incident["system_id"] = system_ids[template.system] if template.system else None
    children = {
        name: [_child(name, row, incident_id, delta) for row in rows] for name, rows in template.children.items()
    }
    return incident, children


def _system_ids(store: Store) -> dict[str, int]:
    with store.read() as session:
        return {name: system_id for name, system_id in session.execute(select(System.name, System.id)).all()}


def _child(table: str, row: dict[str, Any], incident_id: int, delta: timedelta) -> dict[str, Any]:
    copy = _shifted(row, delta) | {"incident_id": incident_id}
    del copy["id"]
    if table == "incident_deadlines":
        # The key names the clock by its start (`...Z`, or `...Z@12h` for a re-grade):
        # the sweep re-derives it and must find the same clock.
        _, at, bound = row["clock_key"].partition("@")
        copy["clock_key"] = (rfc3339(copy["clock_start"]) or "") + at + bound
    return copy


def _shifted(row: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    return {k: v + delta if isinstance(v, datetime) else v for k, v in row.items()}


def _owed_at(row: dict[str, Any], now: datetime) -> bool:
    due: datetime = row["due_at"]
    # The cheap test first: building the model object costs ~100 us a clock.
    return now > due and clocks.owed(IncidentDeadline(**row))


def shift_facts(facts: Facts, delta: timedelta) -> Facts:
    """The same facts, every time in them moved by `delta`."""
    changes: dict[str, Any] = {
        f.name: getattr(facts, f.name) + delta for f in fields(facts) if isinstance(getattr(facts, f.name), datetime)
    }
    changes["attested"] = {key: tuple(t + delta for t in times) for key, times in facts.attested.items()}
    return replace(facts, **changes)


def _id(incident: Incident) -> int:
    assert incident.id is not None
    return int(incident.id)
