"""A burst of opens in one unit of work, as the alert receiver (a POST's alerts) and the
ingest (a chunk of spool files) write them: each incident still gets its own audit
event, chain and outbox rows, in one transaction. Against raw sqlite3 writing the same
rows (bench/same_rows.py) in one transaction too."""

from __future__ import annotations

import gc
import sqlite3
import time

from opsdeck.backend.actions.incidents import IncidentActions
from opsdeck.backend.schema import open_store, sqlite_backup

from . import same_rows
from .figure import Figure
from .harness import Run
from .raw import raw_connect
from .store import LOGIN, ORM, WARMUP, _import_roster, _title
from .write_profile import Profile, profile_burst

BURST = 1000
PROFILED_BURST = 200
TARGET = 0.25


def open_burst_rate(run: Run) -> Figure:
    opened, seconds, raw_seconds, profile = run.once("burst.opens", lambda: _measure(run))
    rate, raw_rate = opened / seconds, opened / raw_seconds
    return Figure(
        name=f"a burst of {BURST:,} opens in one unit of work",
        value=rate,
        unit="opens/s",
        baseline=raw_rate,
        baseline_label=f"raw sqlite3 writing the same rows as the {BURST:,} opens, in one transaction",
        target=f">= {TARGET:.0%} of the baseline",
        target_met=rate >= TARGET * raw_rate,
        note=(
            f"IncidentActions.open_in {BURST:,} times in one store.write, as the receiver and the ingest open "
            f"incidents: {seconds * 1000:.0f} ms, {seconds / opened * 1000:.2f} ms an open "
            f"(raw: {raw_seconds * 1000:.0f} ms); one transaction saves only the per-transaction work (lock, "
            f"time, feed counter, commit); {PROFILED_BURST} opens in one unit of work under the profiler, "
            f"{profile.note()}; bound: {_bound(profile, seconds / opened, raw_seconds / opened)}"
        ),
    )


def _bound(profile: Profile, open_s: float, raw_s: float) -> str:
    allowed_ms, open_ms = raw_s / TARGET * 1000, open_s * 1000
    return (
        f"the target allows {allowed_ms:.2f} ms an open; it takes {open_ms:.2f} ms, of which {ORM}'s own code "
        f"about {profile.layers[ORM] * open_ms:.2f} ms"
    )


def _measure(run: Run) -> tuple[int, float, float, Profile]:
    path = run.path("burst.db")
    store = open_store(f"sqlite:///{path}")
    try:
        _import_roster(store)
        with store.write(LOGIN) as uow:  # untimed: statements compiled, the WAL grown
            for index in range(WARMUP):
                IncidentActions.open_in(uow, f"warm-up {index}")
        copy = run.path("burst-raw.db")
        sqlite_backup(path, copy)
        run.progress.stage(f"opening {BURST:,} incidents in one unit of work")
        # What is alive before the burst is frozen, as `opsdeck worker` (the ingest, the
        # receiver) freezes its heap once started (cli/runtime.py): else the collector's
        # full passes walk what the bench's earlier figures left, and the burst measured
        # after them ran at two thirds of its rate alone.
        gc.freeze()
        try:
            started = time.perf_counter()
            with store.write(LOGIN) as uow:
                uow.defer_events()  # as the receiver's and the ingest's writes do
                ids = [IncidentActions.open_in(uow, _title(index)).id for index in range(BURST)]
            seconds = time.perf_counter() - started
        finally:
            gc.unfreeze()
        run.progress.stage(f"profiling {PROFILED_BURST} opens in one unit of work")
        profile = profile_burst(store, PROFILED_BURST)
    finally:
        store.dispose()
    source = sqlite3.connect(path)
    try:
        rows = same_rows.snapshot(source, [int(i) for i in ids if i is not None])
    finally:
        source.close()
    statements = [s for incident_rows in rows.values() for s in same_rows.statements({}, incident_rows)]
    conn = raw_connect(copy)
    try:
        conn.execute("PRAGMA foreign_keys = ON")  # as the store's connections
        run.progress.stage(f"baseline: raw sqlite3, the same rows as the {BURST:,} opens in one transaction")
        started = time.perf_counter()
        same_rows.replay(conn, [statements], lambda _done: None)
        raw_seconds = time.perf_counter() - started
    finally:
        conn.close()
    return len(ids), seconds, raw_seconds, profile
