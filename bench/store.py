"""The write path: actions through the unit of work on a real SQLite file, against raw
sqlite3 writing every row each action wrote (bench/same_rows.py) with the same
durability work per action (WAL, synchronous=NORMAL, `BEGIN IMMEDIATE` ... `COMMIT`
around each action)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from opsdeck.backend.schema import SEED_ACTOR, open_store, sqlite_backup
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from . import same_rows
from .figure import Figure
from .floor import floors
from .harness import Run
from .raw import count_changes, raw_connect, table_counts
from .write_profile import profiles

LOGIN = "servers"  # an operator on duty in the demo roster
# Untimed actions first: SQLAlchemy compiles and caches each statement on first use, and
# the first commits grow the WAL file; steady state is what an operator's shift sees.
WARMUP = 20
RAW_COPY = "raw-writes.db"  # the store as it was before the timed opens, for the baseline


@dataclass(frozen=True)
class Timed:
    """A timed batch of actions on one SQLite file."""

    path: Path
    warmup_ids: list[int]  # acted on first, untimed
    ids: list[int]  # the timed ones
    seconds: float
    new_rows: dict[str, int]  # rows added per table during the timed batch

    @property
    def rate(self) -> float:
        return len(self.ids) / self.seconds


def open_rate(run: Run) -> Figure:
    """Service.open: a new incident, its audit event, feed entry and outbox rows."""
    opened = _service_opens(run)
    raw = _raw_inserts(run)
    return Figure(
        name="write actions/s through the unit of work (open)",
        value=opened.rate,
        unit="actions/s",
        baseline=raw.rate,
        baseline_label=raw.label("open"),
        target=">= 25% of the baseline",
        target_met=opened.rate >= 0.25 * raw.rate,
        note=(
            f"{len(opened.ids):,} opens; each wrote {_per_action(opened)}; {profiles(run)['open'].note()}; "
            f"{_bound(run, 'open', opened.rate, raw.rate)}"
        ),
    )


def ack_rate(run: Run) -> Figure:
    """Service.ack: the update path (load, version guard, audit, feed)."""
    acked = _service_acks(run)
    raw = _raw_updates(run)
    return Figure(
        name="write actions/s through the unit of work (ack)",
        value=acked.rate,
        unit="actions/s",
        baseline=raw.rate,
        baseline_label=raw.label("ack"),
        target=">= 25% of the baseline",
        target_met=acked.rate >= 0.25 * raw.rate,
        note=(
            f"{len(acked.ids):,} acks; each wrote {_per_action(acked)} and updated incident, audit head, counter; "
            f"{profiles(run)['ack'].note()}; {_bound(run, 'ack', acked.rate, raw.rate)}"
        ),
    )


ORM = "SQLAlchemy and SQLModel"


def _bound(run: Run, kind: str, rate: float, raw_rate: float) -> str:
    """What bounds the figure: the time the target allows an action, against the floor
    under it (its own statements replayed raw: bench/floor.py), and what that leaves its
    Python; of that, the ORM's share of the profile applied to the timed action."""
    action_ms, allowed_ms = 1000 / rate, 1000 / (0.25 * raw_rate)
    floor = floors(run)[kind]
    python_ms = max(0.0, action_ms - floor.ms)
    orm_ms = profiles(run)[kind].layers[ORM] * action_ms
    room = allowed_ms - floor.ms
    verdict = (
        f"to meet it, its Python must fall to {room:.2f} ms ({room / python_ms - 1:+.0%})"
        if room < python_ms
        else "the Python is within what the target leaves"
    )
    return (
        f"bound: the target allows {allowed_ms:.2f} ms an {kind}; it takes {action_ms:.2f} ms; its own "
        f"{floor.statements:g} statements an {kind} (reads too) replayed by plain sqlite3 take {floor.ms:.2f} ms, "
        f"COMMIT {floor.commit_ms:.2f} ms of it; the rest, {python_ms:.2f} ms, is Python "
        f"({ORM}'s own code about {orm_ms:.2f} ms under the profiler); {verdict}"
    )


# -- through opsdeck ---------------------------------------------------------------------


def _service_opens(run: Run) -> Timed:
    return run.once("store.service_opens", lambda: _time_service_opens(run))


def _time_service_opens(run: Run) -> Timed:
    path = run.path("writes.db")
    store = open_store(f"sqlite:///{path}")
    try:
        _import_roster(store)
        service = Service(store, LOGIN)
        warmup_ids = [_open(service, f"warm-up {index}") for index in range(WARMUP)]
        sqlite_backup(path, run.path(RAW_COPY))
        tick = run.progress.stage("opening incidents through Service.open", run.sizes.write_actions)
        ids: list[int] = []

        def act(index: int) -> None:
            ids.append(_open(service, _title(index)))

        seconds, new_rows = _timed(store, run.sizes.write_actions, act, tick)
        return Timed(path, warmup_ids, ids, seconds, new_rows)
    finally:
        store.dispose()


def _service_acks(run: Run) -> Timed:
    return run.once("store.service_acks", lambda: _time_service_acks(run))


def _time_service_acks(run: Run) -> Timed:
    opened = _service_opens(run)
    _opened_rows(run)  # the baseline copies the rows as opened, so it must read them before the acks
    store = open_store(f"sqlite:///{opened.path}")
    try:
        service = Service(store, LOGIN)
        for incident_id in opened.warmup_ids:
            service.ack(incident_id)
        tick = run.progress.stage("acknowledging them through Service.ack", len(opened.ids))
        seconds, new_rows = _timed(store, len(opened.ids), lambda index: service.ack(opened.ids[index]), tick)
        return Timed(opened.path, opened.warmup_ids, opened.ids, seconds, new_rows)
    finally:
        store.dispose()


def _timed(
    store: Store, count: int, act: Callable[[int], Any], tick: Callable[[int], None]
) -> tuple[float, dict[str, int]]:
    assert store.path is not None
    before = table_counts(store.path)
    started = time.perf_counter()
    for index in range(count):
        act(index)
        tick(index + 1)
    seconds = time.perf_counter() - started
    return seconds, count_changes(before, table_counts(store.path))


def _import_roster(store: Store) -> None:
    """The demo roster, so LOGIN is an operator who may write."""
    with as_file(files("opsdeck.fixtures").joinpath("demo", "roster.toml")) as roster:
        Service(store, SEED_ACTOR).import_records("roster", Path(roster))


def warmed_up(path: Path) -> tuple[Store, Service]:
    """A store at `path` with the demo roster, and LOGIN's service after WARMUP opens and
    acks (compiled statements cached, the WAL grown): the write profile's and the floor's."""
    store = open_store(f"sqlite:///{path}")
    _import_roster(store)
    service = Service(store, LOGIN)
    for index in range(WARMUP):
        service.ack(_open(service, f"warm-up {index}"))
    return store, service


def _open(service: Service, title: str) -> int:
    incident = service.open(title=title)
    assert incident.id is not None
    return int(incident.id)


def _title(index: int) -> str:
    return f"Benchmark incident {index}: disk latency alarms on db-cluster node {index % 7}"


def _per_action(timed: Timed) -> str:
    count = len(timed.ids)
    parts = [f"{name} {rows / count:g}" for name, rows in sorted(timed.new_rows.items())]
    total = sum(timed.new_rows.values()) / count
    return f"{total:g} new rows ({', '.join(parts)})"


# -- raw sqlite3 baseline: the same rows ------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """The same rows written by raw sqlite3, one transaction per action."""

    actions: int
    seconds: float
    inserts: int
    updates: int

    @property
    def rate(self) -> float:
        return self.actions / self.seconds

    def label(self, verb: str) -> str:
        return (
            f"raw sqlite3 writing the same rows as each {verb} ({self.inserts / self.actions:g} INSERTs, "
            f"{self.updates / self.actions:g} UPDATEs), 1 txn each"
        )


def _opened_rows(run: Run) -> dict[int, same_rows.Rows]:
    """Every row each timed open left, read before the acks change them."""

    def read() -> dict[int, same_rows.Rows]:
        opened = _service_opens(run)
        source = sqlite3.connect(opened.path)
        try:
            return same_rows.snapshot(source, opened.ids)
        finally:
            source.close()

    return run.once("store.opened_rows", read)


def _raw_inserts(run: Run) -> Raw:
    return run.once("store.raw_inserts", lambda: _time_raw(run, "opens", {}, _opened_rows(run)))


def _raw_updates(run: Run) -> Raw:
    def time_it() -> Raw:
        before = _opened_rows(run)
        _raw_inserts(run)  # the copy must hold the opened rows first
        acked = _service_acks(run)
        source = sqlite3.connect(acked.path)
        try:
            after = same_rows.snapshot(source, acked.ids)
        finally:
            source.close()
        return _time_raw(run, "acks", before, after)

    return run.once("store.raw_updates", time_it)


def _time_raw(run: Run, what: str, before: dict[int, same_rows.Rows], after: dict[int, same_rows.Rows]) -> Raw:
    actions = [same_rows.statements(before.get(incident_id, {}), rows) for incident_id, rows in after.items()]
    inserts, updates = same_rows.count_rows(actions)
    conn = raw_connect(run.path(RAW_COPY))
    try:
        conn.execute("PRAGMA foreign_keys = ON")  # as the store's connections
        tick = run.progress.stage(f"baseline: raw sqlite3, the same rows as the {what}", len(actions))
        started = time.perf_counter()
        same_rows.replay(conn, actions, tick)
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    return Raw(len(actions), seconds, inserts, updates)
