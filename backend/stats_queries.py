"""The queries behind `opsdeck stats` (backend/stats.py): every figure is counted, ranked
and judged by the database per group, so no incident, clock or message row comes back to
Python, only a few rows per group (docs/stats.md).

A group's key is an SQL expression over `incidents`: a column (category, level, owner,
the system's name), the owner's duty from the roster (a CASE over the few members), or
the month or ISO week in the center's zone (a CASE over the period's boundaries as UTC
instants, nested as a binary search; a boundary is the zone's midnight, so a day, month
or week cut in the zone is cut right whatever its offset).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from .domain import Level
from .models import (
    Escalation,
    Incident,
    IncidentDeadline,
    OutboxMessage,
    RosterMember,
    ServiceCall,
    System,
    table_of,
)

NONE_KEY = "-"  # no level yet, no system named
GROUP = "grp"  # the key's label in every query
RECORD_WITHIN_S = 86400  # a record filed within a day of the resolution
# The figures timed per incident: four from the report to a fact, and the outage.
Figure = Literal["time_to_ack", "time_to_classify", "time_to_cause", "time_to_resolve", "outage"]
DURATIONS: tuple[tuple[Figure, str], ...] = (
    ("time_to_ack", "acknowledged_at"),
    ("time_to_classify", "classified_at"),
    ("time_to_cause", "cause_located_at"),
    ("time_to_resolve", "resolved_at"),
)
FIGURES: tuple[Figure, ...] = (*(figure for figure, _name in DURATIONS), "outage")

_i = table_of(Incident)


def _named(value: Any) -> Any:
    """A key column, `-` where it is empty."""
    return func.coalesce(func.nullif(value, ""), NONE_KEY)


@dataclass(frozen=True)
class Scope:
    """The period's incidents, each with its group's key: what every query starts from."""

    key: Any  # an SQL expression over incidents (and systems, when `by` is system)
    since: datetime
    until: datetime
    with_system: bool
    # By month, week or day: each group's key with the span of reported times it covers.
    ranges: tuple[tuple[str, datetime, datetime], ...] | None = None
    one_group: str | None = None  # a part of a scope by month, week or day: its one key

    def incidents(self) -> FromClause:
        if self.with_system:
            return _i.outerjoin(System, col(System.id) == _i.c.system_id)
        return _i

    @property
    def period(self) -> ColumnElement[bool]:
        return and_(_i.c.reported_at >= self.since, _i.c.reported_at < self.until)

    def parts(self, session: Session) -> list[Scope]:
        """The scope as the queries run it. On SQLite by month, week or day, one scope per
        group (its key a constant, its period the group's span): SQLite sorts to group, and
        sorting a group's rows alone costs a fraction of sorting them all by group (judging
        the clocks of two years a third, a duration's histogram and the escalations more than
        half). PostgreSQL hashes its groups, where a query per group only adds round trips
        (bench: 20k incidents by month 2.9x the plain GROUP BY in one query, 3.6x in parts).
        Otherwise the scope itself."""
        if self.ranges is None or session.get_bind().dialect.name == "postgresql":
            return [self]
        return [Scope(literal(key), start, end, False, one_group=key) for key, start, end in self.ranges]

    def keyed(self, session: Session) -> Any:
        """The period's incidents as `(id, grp)`, each key worked out once per incident rather
        than once per clock or message joined to it (MATERIALIZED keeps the database from
        folding it back into the join; SQLite knows the word from 3.35)."""
        found = (
            select(_i.c.id.label("id"), self.key.label(GROUP))
            .select_from(self.incidents())
            .where(self.period)
            .cte("period_incidents")
        )
        if session.get_bind().dialect.name == "postgresql" or sqlite3.sqlite_version_info >= (3, 35):
            found = found.prefix_with("MATERIALIZED")
        return found


# PostgreSQL's memory for one sort or hash of this transaction's reads (its default: 4MB).
WORK_MEM = "32MB"


def room_to_count(session: Session) -> None:
    """PostgreSQL: room for this transaction's counts to be hashed in memory. The planner
    cannot tell how few groups a judged outcome (a CASE) makes, guesses one a row, and at
    the default 4MB sorts the period's every clock row on disk to group them instead
    (116 ms of a 20k-incident year's 370 ms; hashed: 52 ms). `SET LOCAL` ends with the
    transaction; any role may set it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT set_config('work_mem', :mem, true)"), {"mem": WORK_MEM})


def scope(session: Session, since: datetime, until: datetime, by: str | None, zone: tzinfo) -> Scope:
    if by is None:
        return Scope(literal("all"), since, until, False)
    if by == "system":
        return Scope(_named(col(System.name)), since, until, True)
    if by in ("category", "level", "owner"):
        return Scope(_named(_i.c[by]), since, until, False)
    if by == "duty":
        return Scope(_duty_key(session), since, until, False)
    if by in ("month", "week", "day"):  # day: the statistics screen's series (stats_series.py)
        key, ranges = _period_key(session, since, until, by, zone)
        return Scope(key, since, until, False, ranges)
    raise ValueError(f"unknown grouping {by!r}")


def _duty_key(session: Session) -> Any:
    """The owner's first duty in the roster (`-`: no owner, not in the roster, no duty)."""
    duties = {
        login: d[0]
        for login, d in session.execute(select(col(RosterMember.login), col(RosterMember.duties)))
        if d and d[0]
    }
    if not duties:
        return literal(NONE_KEY)
    return case(duties, value=_i.c.owner, else_=literal(NONE_KEY))


def _period_key(
    session: Session, since: datetime, until: datetime, by: str, zone: tzinfo
) -> tuple[Any, tuple[tuple[str, datetime, datetime], ...]]:
    """The month (`2026-11`), ISO week (`2026-W48`) or day of the reported time in `zone`,
    over the boundaries between the period's first and last incident; and each key's span
    of the period (`[start, end)`)."""
    first, last = session.execute(
        select(func.min(_i.c.reported_at), func.max(_i.c.reported_at)).where(
            _i.c.reported_at >= since, _i.c.reported_at < until
        )
    ).one()
    if first is None:
        return literal(NONE_KEY), ()  # no incident: no group either
    edges = _edges(first.astimezone(zone).date(), last.astimezone(zone).date(), by, zone)
    ends = [start for start, _key in edges[1:]] + [until]
    ranges = tuple((key, max(start, since), end) for (start, key), end in zip(edges, ends, strict=True))
    return _search(_i.c.reported_at, edges), ranges


def _edges(first: date, last: date, by: str, zone: tzinfo) -> list[tuple[datetime, str]]:
    """`(start, key)` of every month, ISO week or day (`2026-11-28`) from `first`'s to
    `last`'s, starts at the zone's midnight (as an aware time: compared as the instant it is)."""
    found = []
    if by == "day":
        return [
            (datetime.combine(first + timedelta(days=n), time(0), zone), (first + timedelta(days=n)).isoformat())
            for n in range((last - first).days + 1)
        ]
    if by == "month":
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            found.append((datetime.combine(date(year, month, 1), time(0), zone), f"{year:04d}-{month:02d}"))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found
    day = first - timedelta(days=first.weekday())  # the Monday of first's ISO week
    while day <= last:
        year, week, _weekday = day.isocalendar()
        found.append((datetime.combine(day, time(0), zone), f"{year:04d}-W{week:02d}"))
        day += timedelta(days=7)
    return found


def _search(column: Any, edges: Sequence[tuple[datetime, str]]) -> Any:
    """The key of the last edge at or before `column`, as nested CASEs: log2(edges) tests a row."""
    if len(edges) == 1:
        return literal(edges[0][1])
    middle = len(edges) // 2
    return case((column < edges[middle][0], _search(column, edges[:middle])), else_=_search(column, edges[middle:]))


# -- counts -----------------------------------------------------------------------------


def counts(session: Session, where: Scope) -> dict[str, dict[str, int]]:
    """Per group: opened, closed, false alarms, duplicates, reopened, past the level's bound,
    records filed and filed within a day."""
    successor = aliased(Incident)
    reopened = _i.c.reopened_at.is_not(None) | exists().where(col(successor.reopened_from) == _i.c.id)
    bounds = {level.value: level.outage_bound_hours * 3600 for level in Level if level.outage_bound_hours}
    outage = func.round(_i.c.outage_s, 3)
    filed_after = func.round(_i.c.record_after_s, 3)
    names = (
        *("opened", "closed", "false_alarms", "duplicates", "reopened"),
        *("past_level_bound", "records_filed", "records_within_a_day"),
    )
    found: dict[str, dict[str, int]] = {}
    for part in where.parts(session):
        query = (
            select(
                part.key.label(GROUP),
                func.count(),
                func.count(_i.c.closed_at),
                _sum(_i.c.close_kind == "false_alarm"),
                _sum(_i.c.close_kind == "duplicate"),
                _sum(reopened),
                _sum(outage > case(bounds, value=_i.c.level)),
                func.count(_i.c.record_filed_at),
                _sum(and_(_i.c.record_filed_at.is_not(None), filed_after <= RECORD_WITHIN_S)),
            )
            .select_from(part.incidents())
            .where(part.period)
            .group_by(literal_column(GROUP))
        )
        for row in session.execute(query):
            found[row[0]] = dict(zip(names, (int(n or 0) for n in row[1:]), strict=True))
    return found


def _sum(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


# -- durations: median, p90, max, n -----------------------------------------------------
#
# Each incident stores its durations in seconds (backend/migrations/incident_spans.py: the
# database computes them from the timestamps as they are written), and an index holds them
# beside the reported time, so the period's values are read without the table.
# An order statistic needs the values in order, and ranking every value (window functions
# over all rows, per group and again for the total) costs SQLite more than all the counts
# together. So each figure is ranked in two steps: a histogram (GROUP BY group and bucket:
# counts, minima and maxima; the total's histogram is the groups' summed), which says in
# which bucket the wanted rank lies and at which rank inside it; then only the rows of those
# buckets are ranked (row_number over the group's bucket, and over the bucket for the
# total), found by their values (a bucket's rows are exactly those between its least and
# greatest value), and only the picks come back. Buckets widen with the durations (a second
# under a minute, 30 seconds under an hour, 5 minutes under a day, then hours), so a bucket
# holds a small share of any spread of durations; the method is plain SQL, the same on
# SQLite and PostgreSQL. A bucket only has to keep the order: a longer duration is never in
# an earlier bucket (CAST truncates on SQLite and rounds on PostgreSQL; both keep it).

# (below, first bucket, seconds a bucket): each band's buckets follow the one before's.
BANDS = ((60, 0, 1), (3600, 60, 30), (86400, 180, 300), (None, 468, 3600))


@dataclass(frozen=True)
class Ranked:
    """One figure of one group, as the database picked it: the raw differences in seconds
    (None without n), the k-th smallest of the group's values that have the fact."""

    n: int
    low_middle: Any  # the floor((n+1)/2)-th smallest: the median when n is odd
    high_middle: Any  # the floor((n+2)/2)-th smallest
    p90: Any  # the ceil(0.9 n)-th smallest: (9n + 9) div 10
    max: Any


def wanted_ranks(n: int) -> tuple[int, int, int]:
    return (n + 1) // 2, (n + 2) // 2, (9 * n + 9) // 10


def span(figure: str) -> Any:
    """The stored duration of `figure` (time_to_ack, ..., outage) in seconds."""
    return _i.c[f"{figure}_s"]


def durations(session: Session, where: Scope) -> tuple[dict[str, dict[str, Ranked]], dict[str, Ranked]]:
    """Per group, and in total, each figure's order statistics (docs/stats.md)."""
    groups: dict[str, dict[str, Ranked]] = {}
    total: dict[str, Ranked] = {}
    for figure in FIGURES:
        for key, ranked in ranked_by_group(session, where, span(figure)).items():
            if key is None:
                total[figure] = ranked
            else:
                groups.setdefault(key, {})[figure] = ranked
    return groups, total


def ranked_by_group(session: Session, where: Scope, v: Any) -> dict[str | None, Ranked]:
    """The order statistics of the stored duration `v` per group of `where`, and in total
    (key None)."""
    bucket = _bucket(v).label("b")
    histogram = _Histogram()
    for part in where.parts(session):
        query = (
            select(part.key.label(GROUP), bucket, func.count(), func.min(v), func.max(v))
            .select_from(part.incidents())
            .where(part.period, v.is_not(None))
            .group_by(literal_column(GROUP), literal_column("b"))
        )
        for key, b, n, low, top in session.execute(query):
            histogram.add(key, int(b), int(n), low, top)
    picks = _picks(session, where, v, histogram)
    return {key: histogram.ranked(key, picks) for key in (*histogram.groups(), None)}


def middles_by_group(session: Session, where: Scope, v: Any) -> dict[str, tuple[Any, Any]]:
    """The two middle values (the floor((n+1)/2)-th and floor((n+2)/2)-th smallest) of the
    stored duration `v` per group: ranked directly, for groups of a few hundred values
    (a day's incidents) where a histogram would cost more than it saves."""
    keyed = (
        select(where.key.label(GROUP), v.label("v"))
        .select_from(where.incidents())
        .where(where.period, v.is_not(None))
        .subquery()
    )
    g, value = keyed.c[GROUP], keyed.c.v
    values = select(
        g,
        value,
        func.row_number().over(partition_by=g, order_by=value).label("rank"),
        func.count().over(partition_by=g).label("n"),
    ).subquery()
    rank, n = values.c["rank"], values.c.n
    # rank is floor((n+1)/2) or floor((n+2)/2) exactly when 2 rank is n, n+1 or n+2.
    query = select(values.c[GROUP], values.c.v, rank, n).where((2 * rank).between(n, n + 2))
    found: dict[str, dict[int, Any]] = {}
    for key, value, at, count in session.execute(query):
        found.setdefault(key, {})[int(at)] = (int(count), value)
    middles = {}
    for key, ranks in found.items():
        count = next(iter(ranks.values()))[0]
        middles[key] = (ranks[(count + 1) // 2][1], ranks[(count + 2) // 2][1])
    return middles


def _bucket(v: Any) -> Any:
    """The bucket of a duration `v` in seconds (BANDS), an integer."""
    whens: list[tuple[Any, Any]] = [
        (v < below, literal_column(str(first)) + cast(v / width, Integer))
        for below, first, width in BANDS
        if below is not None
    ]
    _below, first, width = BANDS[-1]
    return case(*whens, else_=literal_column(str(first)) + cast(v / width, Integer))


class _Histogram:
    """Counts and maxima per group and bucket; None is the total (every group summed), which
    also keeps each bucket's least and greatest value."""

    def __init__(self) -> None:
        self.counts: dict[str | None, dict[int, int]] = {None: {}}
        self.tops: dict[str | None, Any] = {}
        self.ranges: dict[int, tuple[Any, Any]] = {}

    def add(self, key: str, b: int, n: int, low: Any, top: Any) -> None:
        self.counts.setdefault(key, {})[b] = n
        self.counts[None][b] = self.counts[None].get(b, 0) + n
        for k in (key, None):
            if k not in self.tops or top > self.tops[k]:
                self.tops[k] = top
        least, greatest = self.ranges.get(b, (low, top))
        self.ranges[b] = (min(least, low), max(greatest, top))

    def groups(self) -> list[str]:
        return [key for key in self.counts if key is not None]

    def targets(self, key: str | None) -> list[tuple[int, int]]:
        """`(bucket, rank inside it)` of each wanted rank of the group (or the total)."""
        buckets = self.counts[key]
        n = sum(buckets.values())
        found = []
        for rank in wanted_ranks(n) if n else ():
            below = 0
            for b in sorted(buckets):
                if below + buckets[b] >= rank:
                    found.append((b, rank - below))
                    break
                below += buckets[b]
        return found

    def ranked(self, key: str | None, picks: dict[tuple[str | None, int, int], Any]) -> Ranked:
        n = sum(self.counts[key].values())
        if not n:
            return Ranked(0, None, None, None, None)
        low, high, p90 = (picks[(key, b, r)] for b, r in self.targets(key))
        return Ranked(n, low, high, p90, self.tops[key])


def _picks(session: Session, where: Scope, v: Any, histogram: _Histogram) -> dict[tuple[str | None, int, int], Any]:
    """The values at the wanted `(bucket, rank)` of each group and of the total: only the rows
    of those buckets are read and ranked."""
    wanted = {key: histogram.targets(key) for key in (*histogram.groups(), None)}
    buckets = sorted({b for targets in wanted.values() for b, _rank in targets})
    if not buckets:
        return {}
    inside = (
        select(where.key.label(GROUP), _bucket(v).label("b"), v.label("v"))
        .select_from(where.incidents())
        .where(where.period, v.is_not(None), _bucket(v).in_(buckets))
        .subquery()
    )
    g, b, value = inside.c[GROUP], inside.c.b, inside.c.v
    ranked = select(
        g,
        b,
        value,
        func.row_number().over(partition_by=(g, b), order_by=value).label("rank_in_group"),
        func.row_number().over(partition_by=b, order_by=value).label("rank_in_all"),
    ).subquery()
    # The wanted (group, bucket, rank) as one IN over a VALUES list: one lookup a row, where
    # one condition per group and rank would each be tested on every row of the buckets.
    chosen = {(key, b, rank) for key, targets in wanted.items() for b, rank in targets}
    in_group = sorted((key, b, rank) for key, b, rank in chosen if key is not None)
    in_all = sorted((b, rank) for key, b, rank in chosen if key is None)
    query = select(ranked.c[GROUP], ranked.c.b, ranked.c.v, ranked.c.rank_in_group, ranked.c.rank_in_all).where(
        or_(
            tuple_(ranked.c[GROUP], ranked.c.b, ranked.c.rank_in_group).in_(in_group),
            tuple_(ranked.c.b, ranked.c.rank_in_all).in_(in_all),
        )
    )
    found: dict[tuple[str | None, int, int], Any] = {}
    for key, at, picked, rank_in_group, rank_in_all in session.execute(query):
        for pick in ((key, int(at), int(rank_in_group)), (None, int(at), int(rank_in_all))):
            if pick in chosen:
                found[pick] = picked
    return found


# -- clocks, escalations, messages, calls ----------------------------------------------


def _joined_counts(
    session: Session, part: Scope, table: Any, incident_id: Any, columns: list[Any], group_by: list[Any]
) -> list[tuple[Any, ...]]:
    """`(group, *columns)` rows over `table`'s rows of the part's incidents, grouped by the
    group and `group_by`."""
    if part.one_group is not None:  # no key to compute or sort by: it is this part's
        query = (
            select(*columns).select_from(_i.join(table, incident_id == _i.c.id)).where(part.period).group_by(*group_by)
        )
        return [(part.one_group, *row) for row in session.execute(query)]
    k = part.keyed(session)
    query = (
        select(k.c[GROUP], *columns).select_from(k.join(table, incident_id == k.c.id)).group_by(k.c[GROUP], *group_by)
    )
    return [tuple(row) for row in session.execute(query)]


def judged(session: Session, where: Scope, now: datetime) -> list[tuple[str, str, str, bool, int]]:
    """`(group, rule, column, replaced, n)`: every clock of the period's incidents judged by
    the database at `now` the way `stats.clock_outcome` (and `deadlines.state`) judges one."""
    d = table_of(IncidentDeadline)
    met = and_(d.c.met_at.is_not(None), d.c.met_at <= now)
    waived = and_(d.c.waived_at.is_not(None), d.c.waived_at <= now)
    replaced = and_(d.c.superseded_at.is_not(None), d.c.superseded_at <= now)
    column = case(
        (and_(met, d.c.met_at <= d.c.due_at), "met"),
        (met, "met_late"),
        (waived, "waived"),
        (and_(replaced, d.c.superseded_at > d.c.due_at), "breached"),  # replaced overdue: one breach
        (replaced, "replaced"),  # replaced while running: counted only as superseded
        (d.c.due_at < now, "breached"),
        else_="open",
    ).label("outcome")
    flag = case((replaced, 1), else_=0).label("replaced")
    found = []
    for part in where.parts(session):
        rows = _joined_counts(
            session,
            part,
            d,
            d.c.incident_id,
            [d.c.rule, column, flag, func.count()],
            [d.c.rule, literal_column("outcome"), literal_column("replaced")],
        )
        found += [(g, rule, outcome, bool(was), int(n)) for g, rule, outcome, was, n in rows]
    return found


def per_group(session: Session, where: Scope, table: Any, incident_id: Any, *what: Any) -> list[Any]:
    """`(group, *what, count)` rows: `table`'s rows of the period's incidents, counted by
    group and `what`."""
    found: list[Any] = []
    for part in where.parts(session):
        found += _joined_counts(session, part, table, incident_id, [*what, func.count()], list(what))
    return found


def escalations(session: Session, where: Scope) -> list[Any]:
    return per_group(session, where, table_of(Escalation), col(Escalation.incident_id), col(Escalation.rule))


def notifications(session: Session, where: Scope) -> list[Any]:
    outbox = table_of(OutboxMessage)
    return per_group(session, where, outbox, col(OutboxMessage.incident_id), col(OutboxMessage.state))


def calls(session: Session, where: Scope) -> dict[str, tuple[int, int]]:
    """Per group: (calls logged, call-backs still owed)."""
    owed = and_(col(ServiceCall.callback).is_(True), col(ServiceCall.called_back_at).is_(None))
    found: dict[str, tuple[int, int]] = {}
    calls = table_of(ServiceCall)
    for part in where.parts(session):
        rows = _joined_counts(session, part, calls, calls.c.incident_id, [func.count(), _sum(owed)], [])
        found |= {g: (int(logged), int(owing or 0)) for g, logged, owing in rows if logged}  # no GROUP BY: one row
    return found
