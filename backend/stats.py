"""The figures an ops center reports upward (`opsdeck stats`, docs/stats.md).

An incident belongs to a period when it was reported in it (half-open: `since <= reported_at
< until`). Durations subtract stored timestamps, never "now". Clock compliance reads each
stored clock's state the way `deadlines.state` does (waived, superseded, breached frozen at
the close), at the moment the figures are read.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple

from sqlmodel import Session

from . import deadlines
from . import stats_queries as q
from .domain import STATS_GROUPINGS

GROUPINGS = STATS_GROUPINGS
NOTIFICATION_STATES = ("sent", "failed", "dead", "pending")  # pending: not yet tried, or being sent
DURATIONS = q.DURATIONS
CLOCK_COLUMNS = ("met", "met_late", "breached", "waived", "open", "superseded")
NONE_KEY = q.NONE_KEY
COUNTS = ("opened", "closed", "false_alarms", "duplicates", "reopened")


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
) -> dict[str, Any]:
    """The figures for incidents reported in [since, until), grouped `by` (None: one group `all`).
    Every figure is counted by the database per group (backend/stats_queries.py); Python
    only adds the groups up for the total and averages the two middle values of a median."""
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

    def figures(self, key: str, ranked: dict[str, q.Ranked] | None) -> dict[str, Any]:
        figures: dict[str, Any] = {"key": key, **{name: self.counts[name] for name in COUNTS}}
        for figure in q.FIGURES:
            figures[figure] = _duration(ranked.get(figure) if ranked else None)
        for name in ("past_level_bound", "records_filed", "records_within_a_day"):
            figures[name] = self.counts[name]
        figures["clocks"] = _compliance(self.clocks)
        figures["escalations"] = dict(sorted(self.escalations.items()))
        figures["notifications"] = dict(self.notifications)
        figures["calls"] = {"logged": self.calls[0], "callbacks_owed": self.calls[1]}
        return figures


def _duration(ranked: q.Ranked | None) -> dict[str, float | int | None]:
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
