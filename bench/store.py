"""The write path: actions through the unit of work on a real SQLite file, against raw
sqlite3 writing the same incident rows with the same durability work per action
(WAL, synchronous=NORMAL, `BEGIN IMMEDIATE` ... `COMMIT` around each row)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from .figure import Figure
from .harness import Run
from .raw import count_changes, insert_sql, one_transaction, raw_connect, stored_rows, table_counts, table_ddl

LOGIN = "servers"  # an operator on duty in the demo roster
# Untimed actions first: SQLAlchemy compiles and caches each statement on first use, and
# the first commits grow the WAL file; steady state is what an operator's shift sees.
WARMUP = 20
RAW_LABEL_OPEN = "raw sqlite3 INSERT of the same row, 1 txn each"
RAW_LABEL_ACK = "raw sqlite3 UPDATE of the same columns, 1 txn each"


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
        baseline_label=RAW_LABEL_OPEN,
        note=f"{len(opened.ids):,} opens; each wrote {_per_action(opened)}",
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
        baseline_label=RAW_LABEL_ACK,
        note=f"{len(acked.ids):,} acks; each wrote {_per_action(acked)} and updated incident, audit head, counter",
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
    _raw_inserts(run)  # the baseline copies the rows as opened, so it must read them before the acks
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


# -- raw sqlite3 baseline ----------------------------------------------------------------


def _raw_inserts(run: Run) -> Timed:
    return run.once("store.raw_inserts", lambda: _time_raw_inserts(run))


def _time_raw_inserts(run: Run) -> Timed:
    """Insert exactly the rows opsdeck wrote (as stored) into a table of the same shape."""
    opened = _service_opens(run)
    source = sqlite3.connect(opened.path)
    try:
        ddl = table_ddl(source, "incidents")
        columns, rows = stored_rows(source, "incidents", "id <= ?", (opened.ids[-1],))
    finally:
        source.close()
    path = run.path("raw-writes.db")
    conn = raw_connect(path)
    try:
        for sql in ddl:
            conn.execute(sql)
        insert = insert_sql("incidents", columns)
        warm, timed = rows[: len(opened.warmup_ids)], rows[len(opened.warmup_ids) :]
        for row in warm:
            one_transaction(conn, insert, row)
        tick = run.progress.stage("baseline: raw sqlite3 inserts", len(timed))
        seconds = _raw_loop(conn, insert, timed, tick)
    finally:
        conn.close()
    return Timed(path, opened.warmup_ids, opened.ids, seconds, {"incidents": len(timed)})


def _raw_updates(run: Run) -> Timed:
    return run.once("store.raw_updates", lambda: _time_raw_updates(run))


def _time_raw_updates(run: Run) -> Timed:
    """Set the columns Service.ack set, to the values it stored, guarded by version."""
    acked = _service_acks(run)
    raw = _raw_inserts(run)
    source = sqlite3.connect(acked.path)
    try:
        _, rows = stored_rows(
            source,
            "incidents",
            "id >= ?",
            (acked.ids[0],),
            "status, acknowledged_at, version, updated_at, updated_by, id",
        )
    finally:
        source.close()
    update = (
        "UPDATE incidents SET status = ?, acknowledged_at = ?, version = ?, updated_at = ?, updated_by = ?"
        " WHERE id = ? AND version = ? - 1"
    )
    params = [(*row, row[2]) for row in rows]
    conn = raw_connect(raw.path)
    try:
        tick = run.progress.stage("baseline: raw sqlite3 updates", len(params))
        seconds = _raw_loop(conn, update, params, tick)
    finally:
        conn.close()
    return Timed(raw.path, acked.warmup_ids, acked.ids, seconds, {})


def _raw_loop(
    conn: sqlite3.Connection, sql: str, rows: Sequence[tuple[Any, ...]], tick: Callable[[int], None]
) -> float:
    started = time.perf_counter()
    for index, row in enumerate(rows):
        one_transaction(conn, sql, row)
        tick(index + 1)
    return time.perf_counter() - started
