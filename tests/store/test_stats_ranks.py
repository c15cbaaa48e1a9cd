"""`opsdeck stats` picks medians and 90th percentiles in the database (window functions, on
SQLite and PostgreSQL alike); here they are held to the definition in docs/stats.md,
worked out in Python from the stored rows, on groups of several sizes, odd and even, with
incidents lacking the fact. Times are whole milliseconds: SQLite's julianday arithmetic is
exact to well under one, so the figures to the millisecond are exact."""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from opsdeck.backend import stats
from opsdeck.backend.models import Incident, System
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock

START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # after the demo records (T0)
SYSTEMS = ("db-cluster", "benefits-app", "core-network", None)


def reference(values: list[float]) -> dict[str, float | int | None]:
    """docs/stats.md: the median (mean of the two middle values when n is even), the
    nearest-rank 90th percentile (the ceil(0.9 n)-th smallest), the max; to the millisecond."""
    ordered = sorted(round(v, 3) for v in values)
    n = len(ordered)
    if not n:
        return {"median_s": None, "p90_s": None, "max_s": None, "n": 0}
    return {
        "median_s": float(statistics.median(ordered)),
        "p90_s": ordered[math.ceil(0.9 * n) - 1],
        "max_s": ordered[-1],
        "n": n,
    }


def history(store: Store, clock: FakeClock) -> None:
    """31 incidents over two weeks across four systems (groups of different sizes), most
    acknowledged after a random wait, some never."""
    rng = random.Random(23)
    servers = Service(store, "servers")
    for n in range(31):
        clock.now = START + timedelta(hours=11 * n, milliseconds=rng.randrange(1000))
        system = SYSTEMS[min(3, int(rng.random() * 4.5))]
        incident = servers.open(f"incident {n}", system=system)
        if rng.random() < 0.85:
            clock.now += timedelta(seconds=rng.randrange(1, 4000), milliseconds=rng.randrange(1000))
            servers.ack(incident.id)


def test_medians_and_percentiles_match_the_definition_per_group_and_in_total(seeded: Store, clock: FakeClock) -> None:
    history(seeded, clock)
    zone = ZoneInfo("Asia/Shanghai")
    with seeded.read() as session:
        rows = session.execute(
            select(Incident.reported_at, Incident.acknowledged_at, System.name).outerjoin(
                System, System.id == Incident.system_id
            )
        ).all()
        by_system = stats.compute(session, START, START + timedelta(days=30), clock.now, "system")
        by_week = stats.compute(session, START, START + timedelta(days=30), clock.now, "week", zone)
    waits: dict[str, list[float]] = defaultdict(list)
    weeks: dict[str, list[float]] = defaultdict(list)
    opened: dict[str, int] = defaultdict(int)
    for reported, acknowledged, system in rows:
        year, week, _day = reported.astimezone(zone).isocalendar()
        opened[f"{year:04d}-W{week:02d}"] += 1
        if acknowledged is not None:
            waits[system or "-"].append((acknowledged - reported).total_seconds())
            weeks[f"{year:04d}-W{week:02d}"].append((acknowledged - reported).total_seconds())
    assert {g["key"]: g["time_to_ack"] for g in by_system["groups"]} == {k: reference(v) for k, v in waits.items()}
    assert by_system["total"]["time_to_ack"] == reference([v for vs in waits.values() for v in vs])
    assert {g["key"]: g["opened"] for g in by_week["groups"]} == opened
    assert {g["key"]: g["time_to_ack"] for g in by_week["groups"]} == {k: reference(weeks.get(k, [])) for k in opened}
    sizes = sorted(g["time_to_ack"]["n"] for g in by_system["groups"])
    assert len(set(n % 2 for n in sizes)) == 2, sizes  # odd and even groups both tried


def test_a_closed_incident_reopened_as_a_new_one_counts_as_reopened(seeded: Store, clock: FakeClock) -> None:
    servers, lead = Service(seeded, "servers"), Service(seeded, "lead")
    clock.now = START
    first = servers.open("Switch down", category="network_fault", level="IV").id
    clock.now += timedelta(minutes=30)
    lead.close(first, false_alarm_reason="a test alarm")
    clock.now += timedelta(minutes=30)
    second = lead.reopen(first, reason="it was real").id
    with seeded.read() as session:
        found = stats.compute(session, START, START + timedelta(days=1), clock.now, None)["total"]
    assert second != first
    assert (found["opened"], found["reopened"], found["closed"], found["false_alarms"]) == (2, 1, 1, 1)
