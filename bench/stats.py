"""`opsdeck stats --by month` over the big open store: `stats.compute` (what the command
and the statistics screen call) against a plain SQL GROUP BY of the same counts (incidents
by month, opened and closed, and clocks by rule), both on the same file."""

from __future__ import annotations

import time
from datetime import UTC, timedelta

from opsdeck.backend import stats
from opsdeck.backend.schema import open_store

from .figure import Figure
from .fill import open_incidents
from .harness import Run, thousands
from .raw import raw_connect, sqlite_time

TARGET_RATIO = 3.0
TARGET_S = 2.0
RAW_MONTHS = (
    "SELECT substr(reported_at, 1, 7), count(*), sum(closed_at IS NOT NULL) FROM incidents"
    " WHERE reported_at >= ? AND reported_at < ? GROUP BY 1"
)
RAW_CLOCKS = (
    "SELECT substr(i.reported_at, 1, 7), d.rule, count(*) FROM incident_deadlines d JOIN incidents i"
    " ON i.id = d.incident_id WHERE i.reported_at >= ? AND i.reported_at < ? GROUP BY 1, 2"
)


def by_month(run: Run) -> Figure:
    filled = open_incidents(run)
    since, until = filled.now - timedelta(days=400), filled.now + timedelta(days=1)
    store = open_store(f"sqlite:///{filled.path}", clock=lambda: filled.now)
    try:
        started = time.perf_counter()
        with store.read() as session:
            found = stats.compute(session, since, until, filled.now, "month", UTC)
        seconds = time.perf_counter() - started
    finally:
        store.dispose()
    conn = raw_connect(filled.path)
    try:
        started = time.perf_counter()
        months = conn.execute(RAW_MONTHS, (sqlite_time(since), sqlite_time(until))).fetchall()
        conn.execute(RAW_CLOCKS, (sqlite_time(since), sqlite_time(until))).fetchall()
        raw_s = time.perf_counter() - started
    finally:
        conn.close()
    opened = sum(g["opened"] for g in found["groups"])
    assert opened == sum(n for _month, n, _closed in months), "stats and the raw GROUP BY disagree"
    return Figure(
        name=f"stats --by month over {thousands(filled.count)} incidents",
        value=seconds,
        unit="s",
        baseline=raw_s,
        baseline_label="plain sqlite3 GROUP BY: incidents by month (opened, closed), clocks by rule",
        target=f"<= {TARGET_RATIO:g}x the baseline and < {TARGET_S:g} s",
        target_met=seconds <= TARGET_RATIO * raw_s and seconds < TARGET_S,
        note=(
            f"{len(found['groups'])} month(s), {opened:,} incidents; durations and clock states read one row per"
            " incident and per clock (medians and states are judged in Python), escalations, notifications and"
            " calls counted by GROUP BY; the filled store has no audit events"
        ),
    )
