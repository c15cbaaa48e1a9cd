"""`opsdeck stats --by month` over years of history (bench/history.py: 100k incidents over
two years, their clocks, escalations, messages and calls, and 1M audit events):
`stats.compute` (what the command and the statistics screen call) against a plain SQL
GROUP BY of the same counts by month (incidents opened, closed, false alarms, duplicates;
clocks by rule; escalations by rule; messages by state; calls), both on the same file,
each the best of RUNS taken in turns (the first run of either pays for a cold page cache).
The figure's extra work over the baseline is what the counts cannot say: the medians and
90th percentiles of five durations per month and in total, each clock judged at `now`,
and the months cut in the center's zone."""

from __future__ import annotations

import time
from datetime import UTC, timedelta
from typing import Any

from opsdeck.backend import stats
from opsdeck.backend.schema import open_store

from .board_live import PG_URL, _libpq, _pg_schema
from .figure import Figure
from .harness import Run, thousands
from .history import fill_history, history_store
from .raw import raw_connect, sqlite_time

TARGET_RATIO = 3.0
TARGET_S = 2.0
RUNS = 3
RAW_MONTHS = (
    "SELECT substr(reported_at, 1, 7), count(*), sum(closed_at IS NOT NULL), sum(close_kind = 'false_alarm'),"
    " sum(close_kind = 'duplicate') FROM incidents WHERE reported_at >= ? AND reported_at < ? GROUP BY 1"
)
# The same counts of what hangs off the period's incidents, by month and by what they count.
RAW_JOINED = tuple(
    f"SELECT substr(i.reported_at, 1, 7){by}, count(*) FROM {table} t JOIN incidents i"
    f" ON i.id = t.incident_id WHERE i.reported_at >= ? AND i.reported_at < ? GROUP BY 1{by and ', 2'}"
    for table, by in (
        ("incident_deadlines", ", t.rule"),
        ("escalations", ", t.rule"),
        ("outbox", ", t.state"),
        ("service_calls", ""),
    )
)


def by_month(run: Run) -> Figure:
    filled = history_store(run)
    since, until = filled.now - timedelta(days=800), filled.now
    store = open_store(filled.url, clock=lambda: filled.now)
    conn = raw_connect(filled.path)
    times: list[float] = []
    raw_times: list[float] = []
    try:
        for _ in range(RUNS):
            started = time.perf_counter()
            with store.read() as session:
                found = stats.compute(session, since, until, filled.now, "month", UTC)
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            period = (sqlite_time(since), sqlite_time(until))
            months = conn.execute(RAW_MONTHS, period).fetchall()
            joined = [conn.execute(sql, period).fetchall() for sql in RAW_JOINED]
            raw_times.append(time.perf_counter() - started)
    finally:
        conn.close()
        store.dispose()
    seconds, raw_s = min(times), min(raw_times)
    same_counts(found, months, joined)
    opened = sum(g["opened"] for g in found["groups"])
    return Figure(
        name=f"stats --by month over {thousands(filled.count)} incidents",
        value=seconds,
        unit="s",
        baseline=raw_s,
        baseline_label=(
            "plain sqlite3 GROUP BY month: incidents (opened, closed, false alarms, duplicates), clocks by rule,"
            " escalations by rule, messages by state, calls"
        ),
        target=f"<= {TARGET_RATIO:g}x the baseline and < {TARGET_S:g} s",
        target_met=seconds <= TARGET_RATIO * raw_s and seconds < TARGET_S,
        note=(
            f"{len(found['groups'])} months, {opened:,} incidents over two years, {filled.audit_events:,} audit"
            f" events; best of {RUNS} each, taken in turns; every figure counted and judged by the database a"
            " month at a time, durations read stored (covering index) and ranked through a histogram per month"
            " and bucket (window functions only over the buckets holding the wanted ranks), a few rows per month"
            " back to Python"
        ),
    )


PG_SHARE = 5  # the PostgreSQL figure's history: a fifth of the SQLite one (the fill is the slow part)
# The same baseline on PostgreSQL: the month of the UTC time, %s parameters.
_PG_MONTH = "to_char(i.reported_at AT TIME ZONE 'UTC', 'YYYY-MM')"
RAW_MONTHS_PG = (
    RAW_MONTHS.replace("substr(reported_at, 1, 7)", _PG_MONTH.replace("i.", ""))
    .replace("sum(closed_at IS NOT NULL)", "count(closed_at)")
    .replace("sum(close_kind = 'false_alarm')", "count(*) FILTER (WHERE close_kind = 'false_alarm')")
    .replace("sum(close_kind = 'duplicate')", "count(*) FILTER (WHERE close_kind = 'duplicate')")
    .replace("?", "%s")
)
RAW_JOINED_PG = tuple(sql.replace("substr(i.reported_at, 1, 7)", _PG_MONTH).replace("?", "%s") for sql in RAW_JOINED)


def by_month_pg(run: Run) -> Figure | None:
    """The same figure on PostgreSQL (OPSDECK_BENCH_PG, as bench/board_live.py), over a fifth
    of the history in a schema of its own; None, with the reason, without a server."""
    try:
        import psycopg

        with psycopg.connect(_libpq(PG_URL), connect_timeout=3):
            pass
    except Exception as error:  # any reason the server is not there is reported, not raised
        run.progress.stage(f"PostgreSQL not measured: {PG_URL} is not reachable ({error}); set OPSDECK_BENCH_PG")
        return None
    count = max(1, run.sizes.history_incidents // PG_SHARE)
    with _pg_schema() as url:
        tick = run.progress.stage(f"filling a PostgreSQL schema with {count:,} incidents over two years", count)
        filled = fill_history(run.path("history-pg"), url, count, tick)
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # as a server's autovacuum would have by now
        since, until = filled.now - timedelta(days=800), filled.now
        store = open_store(url, clock=lambda: filled.now)
        conn = psycopg.connect(_libpq(url))
        times: list[float] = []
        raw_times: list[float] = []
        try:
            for _ in range(RUNS):
                started = time.perf_counter()
                with store.read() as session:
                    found = stats.compute(session, since, until, filled.now, "month", UTC)
                times.append(time.perf_counter() - started)
                started = time.perf_counter()
                months = conn.execute(RAW_MONTHS_PG, (since, until)).fetchall()
                joined = [conn.execute(sql, (since, until)).fetchall() for sql in RAW_JOINED_PG]
                raw_times.append(time.perf_counter() - started)
                conn.rollback()
        finally:
            conn.close()
            store.dispose()
    seconds, raw_s = min(times), min(raw_times)
    same_counts(found, [tuple(row) for row in months], [[tuple(row) for row in rows] for rows in joined])
    return Figure(
        name=f"stats --by month over {thousands(count)} incidents, PostgreSQL",
        value=seconds,
        unit="s",
        baseline=raw_s,
        baseline_label="plain psycopg GROUP BY month: the same counts as the SQLite figure's baseline",
        target=f"<= {TARGET_RATIO:g}x the baseline",
        target_met=seconds <= TARGET_RATIO * raw_s,
        note=(
            f"{len(found['groups'])} months, {count:,} incidents over two years, {filled.audit_events:,} audit events"
            f" (a {PG_SHARE}th of the SQLite figure's history: the fill is the slow part); best of {RUNS} each,"
            " taken in turns, after VACUUM ANALYZE"
        ),
    )


def same_counts(found: dict[str, Any], months: list[Any], joined: list[list[Any]]) -> None:
    """The baseline counts what `stats` counts, month by month: incidents opened, closed,
    false alarms and duplicates; clocks by rule (every clock is in one column or replaced
    while running); escalations by rule; messages by state; calls."""
    groups = {g["key"]: g for g in found["groups"]}
    clocks, escalated, messages, calls = joined
    for month, opened, closed, false_alarms, duplicates in months:
        g = groups[month]
        assert (g["opened"], g["closed"], g["false_alarms"], g["duplicates"]) == (
            opened,
            closed,
            false_alarms,
            duplicates,
        ), f"{month}: stats and the raw GROUP BY disagree"
    for month, rule, n in clocks:
        counts = groups[month]["clocks"][rule]
        assert (
            sum(counts[c] for c in stats.CLOCK_COLUMNS if c != "superseded")
            <= n
            <= sum(counts[c] for c in stats.CLOCK_COLUMNS)
        ), f"{month} {rule}: stats and the raw GROUP BY disagree"
    for month, rule, n in escalated:
        assert groups[month]["escalations"][rule] == n, f"{month} {rule}: escalations disagree"
    for month in groups:
        shown = sum(groups[month]["notifications"].values())
        assert shown == sum(n for m, _state, n in messages if m == month), f"{month}: messages disagree"
    for month, n in calls:
        assert groups[month]["calls"]["logged"] == n, f"{month}: calls disagree"
