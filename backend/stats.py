"""The figures an ops center reports upward (`opsdeck stats`, docs/stats.md).

An incident belongs to a period when it was reported in it (half-open: `since <= reported_at
< until`). Durations subtract stored timestamps, never "now". Clock compliance reads each
stored clock's state the way `deadlines.state` does (waived, superseded, breached frozen at
the close), at the moment the figures are read.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypedDict

from sqlmodel import Session

from . import deadlines
from . import stats_queries as q
from .domain import STATS_GROUPINGS

if TYPE_CHECKING:
    from .availability import SystemAvailability

GROUPINGS = STATS_GROUPINGS
NOTIFICATION_STATES = ("sent", "failed", "dead", "pending")  # pending: not yet tried, or being sent
DURATIONS = q.DURATIONS
ClockColumn = Literal["met", "met_late", "breached", "waived", "open", "superseded"]
CLOCK_COLUMNS: tuple[ClockColumn, ...] = ("met", "met_late", "breached", "waived", "open", "superseded")
NONE_KEY = q.NONE_KEY
COUNTS = ("opened", "closed", "false_alarms", "duplicates", "reopened")
Figure = q.Figure


class Duration(TypedDict):
    """One timed figure of a group, in seconds (None without an incident that has it)."""

    median_s: float | None
    p90_s: float | None
    max_s: float | None
    n: int


class RuleCompliance(TypedDict):
    """One deadline rule's clocks of a group, by outcome (`CLOCK_COLUMNS`)."""

    met: int
    met_late: int
    breached: int
    waived: int
    open: int
    superseded: int
    on_time_share: float | None  # met of met, met late and breached


class CallCounts(TypedDict):
    logged: int
    callbacks_owed: int


class Figures(TypedDict):
    """One group's figures (or the total's: `key` "total"), as `stats --json` prints them."""

    key: str
    opened: int
    closed: int
    false_alarms: int
    duplicates: int
    reopened: int
    time_to_ack: Duration
    time_to_classify: Duration
    time_to_cause: Duration
    time_to_resolve: Duration
    outage: Duration
    past_level_bound: int
    records_filed: int
    records_within_a_day: int
    clocks: dict[str, RuleCompliance]  # by rule
    escalations: dict[str, int]  # by rule
    notifications: dict[str, int]  # by NOTIFICATION_STATES
    calls: CallCounts


class Stats(TypedDict):
    """`compute`: the period, its grouping, availability by system, the groups and the total."""

    since: datetime
    until: datetime
    by: str | None
    availability: dict[str, SystemAvailability]
    groups: list[Figures]
    total: Figures


class StatsJson(TypedDict):
    """`Stats` as `stats --json` prints it and `csv_rows` reads it: the period in RFC 3339."""

    since: str
    until: str
    by: str | None
    availability: dict[str, SystemAvailability]
    groups: list[Figures]
    total: Figures


def clock_outcome(clock: Any, now: datetime) -> tuple[str, bool]:
    """`(column, superseded)`: met, met_late, breached, waived or open (pending/warning), and
    whether a re-grade (or another change) replaced the clock. A clock replaced while it was
    still running is counted only as superseded: its column is `replaced`. The figures judge
    clocks in SQL (`stats_queries.judged`); a test holds the two to the same answers."""
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
) -> Stats:
    """The figures for incidents reported in [since, until), grouped `by` (None: one group `all`).
    Every figure is counted by the database per group (backend/stats_queries.py); Python
    only adds the groups up for the total and averages the two middle values of a median."""
    q.room_to_count(session)
    where = q.scope(session, since, until, by, zone)
    counts = q.counts(session, where)
    ranked, whole = q.durations(session, where)
    keys = sorted(counts) if by else ["all"]
    groups = {key: _Group(counts.get(key, {})) for key in keys}
    for key, rule, column, replaced, n in q.judged(session, where, now):
        groups[key].clocks.append(_Judged(rule, column, replaced, n))
    for key, rule, n in q.escalations(session, where):
        groups[key].escalations[rule] = groups[key].escalations.get(rule, 0) + int(n)
    for key, state, n in q.notifications(session, where):
        shown = state if state in NOTIFICATION_STATES else "pending"  # sending: being tried now
        groups[key].notifications[shown] += int(n)
    for key, (logged, owed) in q.calls(session, where).items():
        groups[key].calls = (logged, owed)
    total = _Group.sum(groups.values())
    from . import availability

    return {
        "since": since,
        "until": until,
        "by": by,
        "availability": availability.by_system(session, since, until, now),
        "groups": [groups[key].figures(key, ranked.get(key)) for key in keys],
        "total": total.figures("total", whole),
    }


class _Judged(NamedTuple):
    rule: str
    column: str  # clock_outcome's
    replaced: bool
    n: int  # clocks judged so


class _Group:
    """One group's counts as the database gave them."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = dict.fromkeys((*COUNTS, "past_level_bound", "records_filed", "records_within_a_day"), 0)
        self.counts.update(counts)
        self.clocks: list[_Judged] = []
        self.escalations: dict[str, int] = {}
        self.notifications = dict.fromkeys(NOTIFICATION_STATES, 0)
        self.calls = (0, 0)

    @classmethod
    def sum(cls, groups: Any) -> _Group:
        total = cls({})
        for group in groups:
            for name, n in group.counts.items():
                total.counts[name] += n
            total.clocks += group.clocks
            for rule, n in group.escalations.items():
                total.escalations[rule] = total.escalations.get(rule, 0) + n
            for state, n in group.notifications.items():
                total.notifications[state] += n
            total.calls = (total.calls[0] + group.calls[0], total.calls[1] + group.calls[1])
        return total

    def figures(self, key: str, ranked: dict[str, q.Ranked] | None) -> Figures:
        def timed(figure: Figure) -> Duration:
            return _duration(ranked.get(figure) if ranked else None)

        counts = self.counts
        return {
            "key": key,
            "opened": counts["opened"],
            "closed": counts["closed"],
            "false_alarms": counts["false_alarms"],
            "duplicates": counts["duplicates"],
            "reopened": counts["reopened"],
            "time_to_ack": timed("time_to_ack"),
            "time_to_classify": timed("time_to_classify"),
            "time_to_cause": timed("time_to_cause"),
            "time_to_resolve": timed("time_to_resolve"),
            "outage": timed("outage"),
            "past_level_bound": counts["past_level_bound"],
            "records_filed": counts["records_filed"],
            "records_within_a_day": counts["records_within_a_day"],
            "clocks": _compliance(self.clocks),
            "escalations": dict(sorted(self.escalations.items())),
            "notifications": dict(self.notifications),
            "calls": {"logged": self.calls[0], "callbacks_owed": self.calls[1]},
        }


def _duration(ranked: q.Ranked | None) -> Duration:
    """`{"median_s", "p90_s", "max_s", "n"}`: the median (mean of the two middle values when
    n is even), the 90th percentile by nearest rank (the ceil(0.9 n)-th smallest), the max;
    each value in seconds to the millisecond (rounding keeps the order, so the database's
    picks are the picks among the rounded values)."""
    if ranked is None or not ranked.n:
        return {"median_s": None, "p90_s": None, "max_s": None, "n": 0}
    middle = [_rounded(ranked.low_middle), _rounded(ranked.high_middle)]
    return {
        "median_s": float(statistics.median(middle)),
        "p90_s": _rounded(ranked.p90),
        "max_s": _rounded(ranked.max),
        "n": ranked.n,
    }


def _rounded(value: Any) -> float:
    """Seconds to the millisecond: the database's arithmetic (julianday) is not exact."""
    return round(float(value), 3)


def _compliance(clocks: list[_Judged]) -> dict[str, RuleCompliance]:
    per_rule: dict[str, dict[str, int]] = {}
    for clock in clocks:
        counts = per_rule.setdefault(clock.rule, dict.fromkeys(CLOCK_COLUMNS, 0))
        if clock.column != "replaced":
            counts[clock.column] += clock.n
        counts["superseded"] += clock.n if clock.replaced else 0
    out: dict[str, RuleCompliance] = {}
    for rule, counts in sorted(per_rule.items()):
        decided = counts["met"] + counts["met_late"] + counts["breached"]
        out[rule] = {
            "met": counts["met"],
            "met_late": counts["met_late"],
            "breached": counts["breached"],
            "waived": counts["waived"],
            "open": counts["open"],
            "superseded": counts["superseded"],
            "on_time_share": round(counts["met"] / decided, 4) if decided else None,
        }
    return out


def csv_rows(found: StatsJson) -> list[list[str]]:
    """The figures as spreadsheet rows: a header, then one row per group and the total.
    Times ISO 8601 (UTC), durations in minutes (two decimals), shares as fractions."""
    groups = [*found["groups"], found["total"]] if found["by"] else [found["total"]]
    rules = sorted({rule for g in groups for rule in g["clocks"]})
    header = ["since", "until", found["by"] or "group", "opened", "closed", "false_alarms", "duplicates", "reopened"]
    for figure in q.FIGURES:
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
        row += [str(g["opened"]), str(g["closed"]), str(g["false_alarms"]), str(g["duplicates"]), str(g["reopened"])]
        for figure in q.FIGURES:
            d = g[figure]
            row += [_minutes(d["median_s"]), _minutes(d["p90_s"]), _minutes(d["max_s"]), str(d["n"])]
        for rule in rules:
            counts = g["clocks"].get(rule)
            if counts is None:
                row += ["0"] * len(CLOCK_COLUMNS) + [""]
                continue
            share = counts["on_time_share"]
            row += [str(counts[c]) for c in CLOCK_COLUMNS] + ["" if share is None else str(share)]
        row += [str(g["past_level_bound"]), str(g["records_filed"]), str(g["records_within_a_day"])]
        row += [str(g["calls"]["logged"]), str(g["calls"]["callbacks_owed"])]
        row += [str(g["notifications"][state]) for state in NOTIFICATION_STATES]
        row += [str(g["escalations"].get(rule, 0)) for rule in escalated]
        rows.append(row)
    return rows


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.2f}"
