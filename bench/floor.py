"""The floor under an action: the statements opsdeck itself sent for it, its reads too,
replayed by plain sqlite3 on a copy of the store as it was before them, each action in
its own `BEGIN IMMEDIATE` ... `COMMIT` as it ran.

The same-rows baseline (bench/same_rows.py) is what SQLite must do for the rows an
action leaves. This is what it does for the statements opsdeck chose to send: the rest
of an action's time is Python, and the write figures' notes say how much of it the
target allows (`bound`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

from opsdeck.backend.schema import sqlite_backup

from .harness import Run
from .raw import raw_connect

ACTIONS = {True: 200, False: 500}  # opens, then as many acks, by run.quick
_TRANSACTION_CONTROL = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"}


@dataclass(frozen=True)
class Sent:
    """One statement as it reached the driver."""

    sql: str
    params: Any
    many: bool


@dataclass(frozen=True)
class Floor:
    actions: int
    statements: float  # an action's, BEGIN and COMMIT not counted
    seconds: float  # the whole replay
    commit_seconds: float  # of which its COMMITs

    @property
    def ms(self) -> float:
        return self.seconds / self.actions * 1000

    @property
    def commit_ms(self) -> float:
        return self.commit_seconds / self.actions * 1000


def floors(run: Run) -> dict[str, Floor]:
    """{"open": ..., "ack": ...}, measured once per run."""
    return run.once("floor", lambda: _measure(run))


def _measure(run: Run) -> dict[str, Floor]:
    from .store import _open, _title, warmed_up

    count = ACTIONS[run.quick]
    path, before = run.path("floor-writes.db"), run.path("floor-before.db")
    store, service = warmed_up(path)
    try:
        sqlite_backup(path, before)
        run.progress.stage(f"recording the statements of {count} opens and {count} acks")
        recorder = Recorder(store.engine)
        try:
            ids: list[int] = []
            for index in range(count):
                recorder.next()
                ids.append(_open(service, _title(index)))
            for incident_id in ids:
                recorder.next()
                service.ack(incident_id)
        finally:
            recorder.close()
    finally:
        store.dispose()
    conn = raw_connect(before)
    try:
        conn.execute("PRAGMA foreign_keys = ON")  # as the store's connections
        run.progress.stage("replaying them on plain sqlite3")
        return {"open": replay(conn, recorder.actions[:count]), "ack": replay(conn, recorder.actions[count:])}
    finally:
        conn.close()


class Recorder:
    """The statements an engine sends to its driver, from any thread, grouped by action:
    `next` before each."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.actions: list[list[Sent]] = []
        event.listen(engine, "before_cursor_execute", self._sent)

    def next(self) -> None:
        self.actions.append([])

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._sent)

    def _sent(self, _conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, many: bool) -> None:
        if sql.strip().upper() not in _TRANSACTION_CONTROL:  # a read's BEGIN: the replay has its own
            self.actions[-1].append(Sent(sql, params, many))


def replay(conn: sqlite3.Connection, actions: Sequence[Sequence[Sent]]) -> Floor:
    """Each action's statements in a transaction of its own, their rows fetched as the
    store fetches them; the store's connection sends the same `BEGIN IMMEDIATE`."""
    commits = 0.0
    started = time.perf_counter()
    for action in actions:
        conn.execute("BEGIN IMMEDIATE")
        for statement in action:
            if statement.many:
                conn.executemany(statement.sql, statement.params).fetchall()
            else:
                conn.execute(statement.sql, statement.params).fetchall()
        committing = time.perf_counter()
        conn.execute("COMMIT")
        commits += time.perf_counter() - committing
    seconds = time.perf_counter() - started
    statements = sum(len(action) for action in actions) / len(actions)
    return Floor(len(actions), statements, seconds, commits)
