"""The statistics screen's series (screens/stats.py): incidents per day by level and the
median time to classify per day, for a period in the center's zone. Counted and ranked by
the database per day (the day of the reported time in the zone, cut at the zone's
midnights as `stats --by week` cuts weeks: backend/stats_queries.py); a few rows per day
come back, never the incidents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import func, literal_column, select
from sqlmodel import Session

from . import stats_queries as q
from .models import Incident, table_of

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
    index = {day.isoformat(): n for n, day in enumerate(days)}
    where = q.scope(session, since, until, "day", zone)
    counts = {level: [0] * len(days) for level in LEVELS}
    level_of = table_of(Incident).c.level
    query = (
        select(where.key.label(q.GROUP), level_of, func.count())
        .select_from(where.incidents())
        .where(where.period)
        .group_by(literal_column(q.GROUP), level_of)
    )
    for day, level, n in session.execute(query):
        counts[level if level in LEVELS else "-"][index[day]] += int(n)
    medians: list[float | None] = [None] * len(days)
    for day, middle in q.middles_by_group(session, where, q.span("time_to_classify")).items():
        # The two middle waits in minutes, averaged (one and the same when n is odd), each
        # to the millisecond as `stats` gives it.
        low, high = (round(float(value), 3) / 60 for value in middle)
        medians[index[day]] = (low + high) / 2
    return Series(days, {level: tuple(v) for level, v in counts.items()}, tuple(medians))
