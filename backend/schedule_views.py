"""What is read off the schedule (`backend/schedule.py`) for people: the board's roster
panel and the wall (who is on each duty, the gaps ahead), coverage ahead by the policy's
`[schedule]` limits (gaps and overloads), and the schedule screen's week grid."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TypedDict

from sqlmodel import Session

from .policy import SchedulePolicy, policy_of
from .schedule import DAY, DUTIES, Schedule, load
from .timeutil import rfc3339

# -- the board's roster panel and the wall ---------------------------------------------


@dataclass(frozen=True)
class DutyLine:
    """One duty on the roster panel: who now, who next and when."""

    duty: str
    now: tuple[str, ...]
    next_at: datetime | None
    next: tuple[str, ...]


def duty_lines(session: Session, now: datetime) -> tuple[tuple[DutyLine, ...], datetime | None]:
    """Per duty, on duty now and the next hand-off (within SCAN), and the first moment
    any of it changes; nothing when no rotation or shift is in force (takes alone are
    the roster's ON/off)."""
    sched = load(session, now)
    view = sched.view(now)
    planned = any(view.rotations.values()) or any(
        s.kind == "shift" for slots in view.bounded.values() for s in slots if s.ends_at and s.ends_at > now
    )
    if not planned:
        return (), None
    lines = []
    for duty in DUTIES:
        upcoming = sched.next_handoff(duty, now)
        lines.append(
            DutyLine(
                duty,
                tuple(sched.logins(duty, now)),
                upcoming[0] if upcoming else None,
                tuple(upcoming[1]) if upcoming else (),
            )
        )
    changes = [line.next_at for line in lines if line.next_at is not None]
    return tuple(lines), min(changes, default=None)


def gaps_ahead(session: Session, now: datetime) -> tuple[tuple[str, datetime, datetime], ...]:
    """(duty, from, until) per range nobody covers from now over the policy's
    `ahead_days`, adjacent ranges of a duty joined: the roster panel's gap lines.
    Nothing when no rotation or shift is planned."""
    from .clocks import load_policy

    sched = load(session, now)
    if not planned(sched, now):
        return ()
    end = now + timedelta(days=policy_of(load_policy(session).document).ahead_days)
    out: list[tuple[str, datetime, datetime]] = []
    for duty, left, right in sched.gaps(now, end):
        if out and out[-1][0] == duty and out[-1][2] == left:
            out[-1] = (duty, out[-1][1], right)
        else:
            out.append((duty, left, right))
    return tuple(sorted(out, key=lambda gap: (gap[1], DUTIES.index(gap[0]))))


# -- coverage ahead: gaps and overloads ------------------------------------------------


# What `schedule gaps --json` and the handover's `coverage` print ("from" is a keyword,
# hence the functional form).
Gap = TypedDict("Gap", {"duty": str, "from": str, "until": str, "hours": float})
Overload = TypedDict("Overload", {"login": str, "kind": str, "from": str, "until": str, "hours": float})


class Coverage(TypedDict):
    gaps: list[Gap]  # a duty nobody covers
    overloads: list[Overload]  # kind: week_hours (too many planned) or rest (too little between)


CoverageAhead = TypedDict(
    "CoverageAhead",
    {"from": str, "until": str, "planned": bool, "gaps": list[Gap], "overloads": list[Overload]},
)


def planned(sched: Schedule, now: datetime) -> bool:
    """A schedule is planned when a rotation or a shift to come is in force; takes alone
    are the old on/off flag, and then nothing is called a gap."""
    view = sched.view(now)
    return any(view.rotations.values()) or any(
        s.kind == "shift" and s.ends_at is not None and s.ends_at > now
        for slots in view.bounded.values()
        for s in slots
    )


def coverage(sched: Schedule, start: datetime, end: datetime, policy: SchedulePolicy, zone: tzinfo) -> Coverage:
    """Gaps (a duty nobody covers) and overloads (more planned hours in a week, or less
    rest between planned shifts, than the policy allows) within [start, end)."""
    gaps: list[Gap] = [
        {"duty": duty, "from": rfc3339(a), "until": rfc3339(b), "hours": round((b - a).total_seconds() / 3600, 2)}
        for duty, a, b in sched.gaps(start, end)
    ]
    # Weeks are whole: overloads look at the full weeks [start, end) touches.
    first = datetime.combine(start.astimezone(zone).date(), time(0)).replace(tzinfo=zone)
    first -= timedelta(days=first.weekday())
    span_start = first.astimezone(UTC)
    last = datetime.combine(end.astimezone(zone).date(), time(0)).replace(tzinfo=zone)
    span_end = (last + timedelta(days=7 - last.weekday())).astimezone(UTC)
    worked: dict[str, list[tuple[datetime, datetime]]] = {}
    for duty in DUTIES:
        for a, b, covered in sched.segments(duty, span_start, span_end, takes=False):
            for login, _source in covered:
                worked.setdefault(login, []).append((a, b))
    overloads: list[Overload] = []
    for login in sorted(worked):
        shifts = _merged(worked[login])
        week = first
        while week.astimezone(UTC) < end:
            w0, w1 = week.astimezone(UTC), (week + timedelta(days=7)).astimezone(UTC)
            hours = sum(max(0.0, (min(b, w1) - max(a, w0)).total_seconds()) for a, b in shifts) / 3600
            if hours > policy.max_hours_week:
                overloads.append(
                    {
                        "login": login,
                        "kind": "week_hours",
                        "from": rfc3339(w0),
                        "until": rfc3339(w1),
                        "hours": round(hours, 2),
                    }
                )
            week = (week + timedelta(days=7)).replace(tzinfo=zone)
        for (_a, b), (c, _d) in itertools.pairwise(shifts):
            rest = (c - b).total_seconds() / 3600
            if rest < policy.min_rest_hours and c >= start:
                overloads.append(
                    {"login": login, "kind": "rest", "from": rfc3339(b), "until": rfc3339(c), "hours": round(rest, 2)}
                )
    return {"gaps": gaps, "overloads": overloads}


def _merged(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def coverage_ahead(session: Session, now: datetime, zone: tzinfo, days: int | None = None) -> CoverageAhead:
    """Gaps and overloads from now over the policy's `ahead_days` (or `days`): what the
    handover and `schedule gaps` show. Empty lists when nothing is planned."""
    from .clocks import load_policy

    policy = policy_of(load_policy(session).document)
    ahead = days or policy.ahead_days
    sched = load(session, now)
    end = now + timedelta(days=ahead)
    found: Coverage = coverage(sched, now, end, policy, zone) if planned(sched, now) else {"gaps": [], "overloads": []}
    return {"from": rfc3339(now), "until": rfc3339(end), "planned": planned(sched, now), **found}


# -- the week grid (the schedule screen) -----------------------------------------------


@dataclass(frozen=True)
class GridCell:
    """One duty on one day: who covers which part of it (logins empty: a gap)."""

    duty: str
    day: date
    parts: tuple[tuple[datetime, datetime, tuple[str, ...]], ...]


def week_grid(session: Session, now: datetime, monday: date, zone: tzinfo) -> tuple[tuple[GridCell, ...], ...]:
    """Duties down, the seven days from `monday` across (days in `zone`)."""
    sched = load(session, now)
    days = [monday + timedelta(days=i) for i in range(7)]
    bounds = [datetime.combine(d, time(0)).replace(tzinfo=zone).astimezone(UTC) for d in (*days, days[-1] + DAY)]
    rows = []
    for duty in DUTIES:
        segments = sched.segments(duty, bounds[0], bounds[-1])
        cells = []
        for index, day in enumerate(days):
            left, right = bounds[index], bounds[index + 1]
            parts = tuple(
                (max(a, left), min(b, right), tuple(login for login, _source in covered))
                for a, b, covered in segments
                if a < right and b > left
            )
            cells.append(GridCell(duty, day, parts))
        rows.append(tuple(cells))
    return tuple(rows)
