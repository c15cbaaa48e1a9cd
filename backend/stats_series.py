"""The statistics screen's series (screens/stats.py): incidents per day by level and the
median time to classify per day, for a period in the center's zone. Counted by the
database per day and level where it can (GROUP BY on the reported time's UTC day is
wrong for a zone ahead of UTC, so the day is taken in Python from the few columns read).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlmodel import Session, col

from .models import Incident

LEVELS = ("I", "II", "III", "IV", "-")  # "-": not classified (yet)


@dataclass(frozen=True)
class Series:
    days: tuple[date, ...]
    by_level: dict[str, tuple[int, ...]]  # level -> incidents reported each day
    classify_median_min: tuple[float | None, ...]  # minutes from report to classification, per day


def daily(session: Session, since: datetime, until: datetime, zone: tzinfo) -> Series:
    first = since.astimezone(zone).date()
    last = (until - timedelta(microseconds=1)).astimezone(zone).date()
    days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
    index = {day: n for n, day in enumerate(days)}
    counts = {level: [0] * len(days) for level in LEVELS}
    waits: dict[int, list[float]] = defaultdict(list)
    rows = session.execute(
        select(col(Incident.reported_at), col(Incident.level), col(Incident.classified_at)).where(
            col(Incident.reported_at) >= since, col(Incident.reported_at) < until
        )
    )
    for reported_at, level, classified_at in rows:
        n = index.get(reported_at.astimezone(zone).date())
        if n is None:
            continue
        counts[level if level in LEVELS else "-"][n] += 1
        if classified_at is not None:
            waits[n].append((classified_at - reported_at).total_seconds() / 60)
    medians = tuple(float(statistics.median(waits[n])) if waits.get(n) else None for n in range(len(days)))
    return Series(days, {level: tuple(v) for level, v in counts.items()}, medians)
