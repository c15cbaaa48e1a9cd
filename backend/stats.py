"""The figures an ops center reports upward (`opsdeck stats`, docs/stats.md).

An incident belongs to a period when it was reported in it (half-open: `since <= reported_at
< until`). Durations subtract stored timestamps, never "now". Clock compliance reads each
stored clock's state the way `deadlines.state` does (waived, superseded, breached frozen at
the close), at the moment the figures are read.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import and_, case, extract, func, literal, select
from sqlmodel import Session, col

from . import deadlines
from .domain import STATS_GROUPINGS, Level
from .models import Escalation, Incident, IncidentDeadline, OutboxMessage, RosterMember, ServiceCall, System

GROUPINGS = STATS_GROUPINGS
RECORD_WITHIN = timedelta(days=1)  # a record filed within a day of the resolution
NOTIFICATION_STATES = ("sent", "failed", "dead", "pending")  # pending: not yet tried, or being sent
DURATIONS = (
    ("time_to_ack", "acknowledged_at"),
    ("time_to_classify", "classified_at"),
    ("time_to_cause", "cause_located_at"),
    ("time_to_resolve", "resolved_at"),
)
CLOCK_COLUMNS = ("met", "met_late", "breached", "waived", "open", "superseded")
NONE_KEY = "-"  # no level yet, no system named


@dataclass(frozen=True)
class _Row:
    id: int
    category: str
    level: str | None
    system: str | None
    owner: str | None
    duty: str | None  # the owner's first duty in the roster
    month: str  # 2026-11, in the center's zone
    week: str  # 2026-W48 (ISO week), in the center's zone
    reported_at: datetime
    seconds: dict[str, float | None]  # each duration figure (and "outage"), None without the fact
    closed: bool
    close_kind: str | None
    reopened: bool
    record_filed: bool
    record_after_s: float | None  # filed this long after the (latest) resolution


def duration(values: Iterable[float]) -> dict[str, float | int | None]:
    """`{"median_s", "p90_s", "max_s", "n"}`: the median (mean of the two middle values when
    n is even), the 90th percentile by nearest rank (the ceil(0.9 n)-th smallest), the max."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return {"median_s": None, "p90_s": None, "max_s": None, "n": 0}
    return {
        "median_s": float(statistics.median(ordered)),
        "p90_s": float(ordered[math.ceil(0.9 * n) - 1]),
        "max_s": float(ordered[-1]),
        "n": n,
    }


def clock_outcome(clock: Any, now: datetime) -> tuple[str, bool]:
    """`(column, superseded)`: met, met_late, breached, waived or open (pending/warning), and
    whether a re-grade (or another change) replaced the clock. A clock replaced while it was
    still running is counted only as superseded: its column is `replaced`."""
    state = deadlines.state(clock, now).state
    superseded_at = getattr(clock, "superseded_at", None)
    replaced = superseded_at is not None and superseded_at <= now
    if state in ("pending", "warning"):
        return "open", replaced
    if state == "superseded":
        return "replaced", True
    return state, replaced


def compute(
    session: Session, since: datetime, until: datetime, now: datetime, by: str | None, zone: tzinfo = UTC
) -> dict[str, Any]:
    """The figures for incidents reported in [since, until), grouped `by` (None: one group `all`)."""
    rows = _incidents(session, since, until, zone)
    ids = [r.id for r in rows]
    related = _related(session, ids)
    key_of = {r.id: _key(r, by) for r in rows}
    groups: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        groups[key_of[row.id]].append(row)
    # Each clock judged and counted once by the database, per group, then summed for the total.
    judged = _judged(session, since, until, now, by, key_of)
    group_clocks: dict[str, list[_Judged]] = defaultdict(list)
    for clock in judged:
        group_clocks[clock.key].append(clock)
    from . import availability

    return {
        "since": since,
        "until": until,
        "by": by,
        "availability": availability.by_system(session, since, until, now),
        "groups": [_figures(key, groups[key], group_clocks[key], related, now) for key in sorted(groups)]
        if by
        else [_figures("all", rows, judged, related, now)],
        "total": _figures("total", rows, judged, related, now),
    }


def _key(row: _Row, by: str | None) -> str:
    if by is None:
        return "all"
    value = getattr(row, by)
    return str(value) if value else NONE_KEY


def _seconds(session: Session, later: Any, earlier: Any) -> Any:
    """`later - earlier` in seconds, computed by the database (no datetimes come back)."""
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _incidents(session: Session, since: datetime, until: datetime, zone: tzinfo) -> list[_Row]:
    i = Incident.__table__  # type: ignore[attr-defined]
    spans = [_seconds(session, i.c[name], i.c.reported_at) for _figure, name in DURATIONS]
    spans.append(_seconds(session, i.c.resolved_at, func.coalesce(i.c.outage_started_at, i.c.reported_at)))
    query = (
        select(
            i.c.id,
            i.c.category,
            i.c.level,
            col(System.name),
            i.c.reported_at,
            i.c.closed_at.is_not(None),
            i.c.close_kind,
            i.c.reopened_at.is_not(None),
            i.c.owner,
            i.c.record_filed_at.is_not(None),
            _seconds(session, i.c.record_filed_at, i.c.resolved_at),
            *spans,
        )
        .select_from(i)
        .outerjoin(System, col(System.id) == i.c.system_id)
        .where(i.c.reported_at >= since, i.c.reported_at < until)
        .order_by(i.c.id)
    )
    found = session.execute(query).all()
    successors = {
        r[0]
        for r in session.execute(
            select(col(Incident.reopened_from)).where(
                col(Incident.reopened_from).is_not(None),
                col(Incident.reopened_from).in_([f[0] for f in found] or [-1]),
            )
        )
    }
    duties = {
        login: (d[0] if d else None)
        for login, d in session.execute(select(col(RosterMember.login), col(RosterMember.duties)))
    }
    figures = [figure for figure, _name in DURATIONS] + ["outage"]
    out = []
    for r in found:
        local = r[4].astimezone(zone)
        year, week, _day = local.isocalendar()
        out.append(
            _Row(
                id=r[0],
                category=r[1],
                level=r[2],
                system=r[3],
                owner=r[8],
                duty=duties.get(r[8]) if r[8] else None,
                month=f"{local.year:04d}-{local.month:02d}",
                week=f"{year:04d}-W{week:02d}",
                reported_at=r[4],
                seconds={figure: _rounded(r[11 + n]) for n, figure in enumerate(figures)},
                closed=bool(r[5]),
                close_kind=r[6],
                reopened=bool(r[7]) or r[0] in successors,
                record_filed=bool(r[9]),
                record_after_s=_rounded(r[10]),
            )
        )
    return out


def _rounded(value: Any) -> float | None:
    """Seconds to the millisecond: the database's arithmetic (julianday) is not exact."""
    return None if value is None else round(float(value), 3)


# Groupings the database can key the clocks by itself; the others (the owner's duty, month
# and week in the center's zone) are keyed per incident, in Python, from `key_of`.
_SQL_KEYS = {"category": "category", "level": "level", "owner": "owner"}


def _judged(
    session: Session, since: datetime, until: datetime, now: datetime, by: str | None, key_of: dict[int, str]
) -> list[_Judged]:
    """Every clock of the period's incidents judged by the database at `now`, the way
    `clock_outcome` (and `deadlines.state`) judges one, and counted per group, rule and
    outcome: no clock row comes back to Python (the figures' main cost at 10k incidents)."""
    d = IncidentDeadline.__table__  # type: ignore[attr-defined]
    i = Incident.__table__  # type: ignore[attr-defined]
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
    if by is None:
        key: Any = literal("all")
    elif by == "system":
        key = col(System.name)
    elif by in _SQL_KEYS:
        key = i.c[_SQL_KEYS[by]]
    else:
        key = i.c.id  # mapped to its group below
    query = (
        select(key.label("key"), d.c.rule, column, flag, func.count())
        .select_from(d)
        .join(i, i.c.id == d.c.incident_id)
        .outerjoin(System, col(System.id) == i.c.system_id)
        .where(i.c.reported_at >= since, i.c.reported_at < until)
        .group_by(key, d.c.rule, column, flag)
    )
    found: list[_Judged] = []
    for group, rule, outcome, was_replaced, n in session.execute(query):
        if by is not None and by not in _SQL_KEYS and by != "system":
            group = key_of[group]
        elif by is not None:
            group = str(group) if group else NONE_KEY
        found.append(_Judged(group, rule, outcome, bool(was_replaced), int(n)))
    return found


@dataclass(frozen=True)
class _Related:
    """Per incident, counted by the database (GROUP BY), not by reading the rows."""

    escalations: dict[int, dict[str, int]]  # rule -> escalations fired
    notifications: dict[int, dict[str, int]]  # outbox state -> messages
    calls: dict[int, tuple[int, int]]  # (calls logged, call-backs still owed)


def _related(session: Session, incident_ids: list[int]) -> _Related:
    escalations: dict[int, dict[str, int]] = defaultdict(dict)
    notifications: dict[int, dict[str, int]] = defaultdict(dict)
    calls: dict[int, tuple[int, int]] = {}
    owed = and_(col(ServiceCall.callback).is_(True), col(ServiceCall.called_back_at).is_(None))
    for start in range(0, len(incident_ids), 500):  # bounded IN lists
        chunk = incident_ids[start : start + 500]
        for incident_id, rule, n in session.execute(
            select(col(Escalation.incident_id), col(Escalation.rule), func.count())
            .where(col(Escalation.incident_id).in_(chunk))
            .group_by(col(Escalation.incident_id), col(Escalation.rule))
        ):
            escalations[incident_id][rule] = int(n)
        for incident_id, state, n in session.execute(
            select(col(OutboxMessage.incident_id), col(OutboxMessage.state), func.count())
            .where(col(OutboxMessage.incident_id).in_(chunk))
            .group_by(col(OutboxMessage.incident_id), col(OutboxMessage.state))
        ):
            shown = state if state in NOTIFICATION_STATES else "pending"  # sending: being tried now
            notifications[incident_id][shown] = notifications[incident_id].get(shown, 0) + int(n)
        for incident_id, logged, owing in session.execute(
            select(
                col(ServiceCall.incident_id),
                func.count(),
                func.count().filter(owed),
            )
            .where(col(ServiceCall.incident_id).in_(chunk))
            .group_by(col(ServiceCall.incident_id))
        ):
            calls[incident_id] = (int(logged), int(owing))
    return _Related(escalations, notifications, calls)


def _past_bound(row: _Row) -> bool:
    """Resolved after an outage longer than the bound of the level it has now."""
    outage = row.seconds["outage"]
    if outage is None or not row.level:
        return False
    bound = Level(row.level).outage_bound_hours
    return bound is not None and outage > bound * 3600


def _figures(key: str, rows: list[_Row], clocks: list[_Judged], related: _Related, now: datetime) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "key": key,
        "opened": len(rows),
        "closed": sum(r.closed for r in rows),
        "false_alarms": sum(r.close_kind == "false_alarm" for r in rows),
        "duplicates": sum(r.close_kind == "duplicate" for r in rows),
        "reopened": sum(r.reopened for r in rows),
    }
    for figure in (*(f for f, _name in DURATIONS), "outage"):
        figures[figure] = duration(v for r in rows if (v := r.seconds[figure]) is not None)
    figures["past_level_bound"] = sum(_past_bound(r) for r in rows)
    filed = [r for r in rows if r.record_filed]
    figures["records_filed"] = len(filed)
    figures["records_within_a_day"] = sum(
        1 for r in filed if r.record_after_s is not None and r.record_after_s <= RECORD_WITHIN.total_seconds()
    )
    figures["clocks"] = _compliance(clocks)
    escalated: dict[str, int] = defaultdict(int)
    notified = dict.fromkeys(NOTIFICATION_STATES, 0)
    logged = owed = 0
    for r in rows:
        for rule, n in related.escalations.get(r.id, {}).items():
            escalated[rule] += n
        for state, n in related.notifications.get(r.id, {}).items():
            notified[state] += n
        calls = related.calls.get(r.id, (0, 0))
        logged, owed = logged + calls[0], owed + calls[1]
    figures["escalations"] = dict(sorted(escalated.items()))
    figures["notifications"] = notified
    figures["calls"] = {"logged": logged, "callbacks_owed": owed}
    return figures


class _Judged(NamedTuple):
    key: str  # the group
    rule: str
    column: str  # clock_outcome's
    replaced: bool
    n: int  # clocks judged so


def _compliance(clocks: list[_Judged]) -> dict[str, dict[str, Any]]:
    per_rule: dict[str, dict[str, Any]] = {}
    for clock in clocks:
        counts = per_rule.setdefault(clock.rule, dict.fromkeys(CLOCK_COLUMNS, 0))
        if clock.column != "replaced":
            counts[clock.column] += clock.n
        counts["superseded"] += clock.n if clock.replaced else 0
    for counts in per_rule.values():
        decided = counts["met"] + counts["met_late"] + counts["breached"]
        counts["on_time_share"] = round(counts["met"] / decided, 4) if decided else None
    return dict(sorted(per_rule.items()))


def csv_rows(found: dict[str, Any]) -> list[list[str]]:
    """The figures as spreadsheet rows: a header, then one row per group and the total.
    Times ISO 8601 (UTC), durations in minutes (two decimals), shares as fractions."""
    groups = [*found["groups"], found["total"]] if found["by"] else [found["total"]]
    rules = sorted({rule for g in groups for rule in g["clocks"]})
    header = ["since", "until", found["by"] or "group", "opened", "closed", "false_alarms", "duplicates", "reopened"]
    for figure in (*(f for f, _name in DURATIONS), "outage"):
        header += [f"{figure}_median_min", f"{figure}_p90_min", f"{figure}_max_min", f"{figure}_n"]
    for rule in rules:
        header += [f"{rule}_{column}" for column in (*CLOCK_COLUMNS, "on_time_share")]
    escalated = sorted({rule for g in groups for rule in g["escalations"]})
    header += ["past_level_bound", "records_filed", "records_within_a_day", "calls_logged", "callbacks_owed"]
    header += [f"notifications_{state}" for state in NOTIFICATION_STATES]
    header += [f"escalations_{rule}" for rule in escalated]
    rows = [header]
    for g in groups:
        row = [found["since"], found["until"], g["key"]]
        row += [str(g[k]) for k in ("opened", "closed", "false_alarms", "duplicates", "reopened")]
        for figure in (*(f for f, _name in DURATIONS), "outage"):
            d = g[figure]
            row += [_minutes(d["median_s"]), _minutes(d["p90_s"]), _minutes(d["max_s"]), str(d["n"])]
        for rule in rules:
            counts = g["clocks"].get(rule)
            if counts is None:
                row += ["0"] * len(CLOCK_COLUMNS) + [""]
                continue
            share = counts["on_time_share"]
            row += [str(counts[c]) for c in CLOCK_COLUMNS] + ["" if share is None else str(share)]
        row += [str(g[k]) for k in ("past_level_bound", "records_filed", "records_within_a_day")]
        row += [str(g["calls"]["logged"]), str(g["calls"]["callbacks_owed"])]
        row += [str(g["notifications"][state]) for state in NOTIFICATION_STATES]
        row += [str(g["escalations"].get(rule, 0)) for rule in escalated]
        rows.append(row)
    return rows


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.2f}"
