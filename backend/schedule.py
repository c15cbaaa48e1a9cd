"""The duty schedule (排班): who is on duty for each duty at any moment, past or future
(docs/plan.md#duty-schedule).

A duty's coverage at a moment, in order:

1. **rotations**: members in turn, hand-offs at a wall-clock time of the center's zone,
   optionally only some weekdays, hours or holidays. Where several layers cover a
   moment, the highest layer wins; rotations on that layer share the duty.
2. **shifts** (imported from a 排班表 or a calendar) replace the rotations where they lie.
3. **swaps** trade two members wherever either is scheduled in their range.
4. **overrides** replace everyone in their range; **takes** (`roster duty on`, `T`)
   join whoever is on until they are ended.

Rows are never rewritten: an edit retires a row and adds one. A moment is read under
the schedule in force then (`as_of = min(at, now)`), so a later edit never changes who
was on duty in the past, and replay shows the schedule of its own day.

This module reads; `schedule_edit.py` writes. Nothing here needs Textual or a clock.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from .domain import Duty
from .i18n import _
from .models import ScheduleHoliday, ScheduleRotation, ScheduleSlot
from .timeutil import TimeFormatError, parse_time, rfc3339

LEAD_DUTY = "lead"
DUTIES: tuple[str, ...] = (*(d.value for d in Duty), LEAD_DUTY)
# A take by a member who holds no duty: on duty ("whoever is on duty"), for no duty area.
NO_AREA = "*"
SLOT_KINDS = ("override", "take", "swap", "shift")
HOLIDAY_MODES = ("any", "only", "skip")
SCAN = timedelta(days=35)  # how far `from`/`until` are looked for, each way
NEVER = datetime.max.replace(tzinfo=UTC)
EPOCH = datetime.min.replace(tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Rotation:
    id: int
    name: str
    duty: str
    layer: int
    members: tuple[str, ...]
    shift: timedelta  # wall-clock: a 1-day shift hands off at the same local time every day
    handoff: datetime  # naive, local to `zone`: the first hand-off
    zone: tzinfo
    days: frozenset[int] = frozenset()  # ISO weekdays; empty: all
    hours: tuple[time, time] | None = None  # covered each day from .. to (to <= from: past midnight)
    holidays: str = "any"  # "only" covers holidays alone, "skip" never covers them
    recorded_at: datetime = EPOCH
    retired_at: datetime | None = None

    def utc(self, local: datetime) -> datetime:
        """A wall-clock time in the rotation's zone as UTC (a time skipped by DST reads
        with the offset before the change; a repeated one is its first occurrence)."""
        return local.replace(tzinfo=self.zone, fold=0).astimezone(UTC)

    def boundary(self, k: int) -> datetime:
        cache = self._cache()
        found = cache.get(k)
        if found is None:
            found = cache[k] = self.utc(self.handoff + k * self.shift)
        return found

    def _cache(self) -> dict[Any, datetime]:
        """Hand-offs and windows computed once per rotation (zone arithmetic is the cost)."""
        try:
            return self.__dict__["_memo"]  # type: ignore[no-any-return]
        except KeyError:
            memo: dict[Any, datetime] = {}
            object.__setattr__(self, "_memo", memo)
            return memo

    @property
    def restricted(self) -> bool:
        return bool(self.days) or self.hours is not None or self.holidays != "any"

    def shift_at(self, at: datetime) -> tuple[int, datetime, datetime] | None:
        """The shift covering `at`: the largest k with boundary(k) <= at. Boundaries are
        wall-clock times, so a DST change lengthens or shortens one shift; no moment is
        in two shifts or in none."""
        if at < self.boundary(0):
            return None
        local = at.astimezone(self.zone).replace(tzinfo=None)
        guess = (local - self.handoff) // self.shift
        best = max((k for k in range(max(0, guess - 3), guess + 4) if self.boundary(k) <= at), default=0)
        end = min(self.boundary(j) for j in range(best + 1, best + 4))
        return best, self.boundary(best), end

    def member_at(self, k: int) -> str:
        return self.members[k % len(self.members)]

    def day_window(self, day: date) -> tuple[datetime, datetime]:
        cache = self._cache()
        found = cache.get(day)
        if found is None:
            start, end = self.hours or (time(0), time(0))
            until_day = day + DAY if end <= start else day
            found = cache[day] = self.utc(datetime.combine(day, start))
            cache[(day, "end")] = self.utc(datetime.combine(until_day, end))
        return found, cache[(day, "end")]

    def day_ok(self, day: date, holidays: frozenset[date]) -> bool:
        if self.days and day.isoweekday() not in self.days:
            return False
        if self.holidays == "any":
            return True
        return (day in holidays) == (self.holidays == "only")

    def covers(self, at: datetime, holidays: frozenset[date]) -> bool:
        if not self.restricted:
            return True
        today = at.astimezone(self.zone).date()
        for day in (today - DAY, today, today + DAY):
            start, end = self.day_window(day)
            if start <= at < end and self.day_ok(day, holidays):
                return True
        return False

    def points(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every moment in [start, end) at which this rotation's member or coverage may change."""
        first = self.shift_at(start)
        k = first[0] if first else 0
        while True:
            moment = self.boundary(k)
            if moment >= end:
                break
            if moment >= start:
                yield moment
            k += 1
        if self.restricted:
            day = start.astimezone(self.zone).date() - DAY
            last = end.astimezone(self.zone).date() + DAY
            while day <= last:
                for moment in self.day_window(day):
                    if start <= moment < end:
                        yield moment
                day += DAY


@dataclass(frozen=True)
class Slot:
    id: int
    kind: str
    duty: str
    login: str
    other: str | None
    starts_at: datetime
    ends_at: datetime | None
    source: str = ""
    note: str = ""
    recorded_at: datetime = EPOCH
    retired_at: datetime | None = None

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at and (self.ends_at is None or at < self.ends_at)


# One member on one duty as `schedule who --json` and `board --at --json` print it.
OnDutyJson = TypedDict(
    "OnDutyJson", {"duty": str, "login": str | None, "from": str | None, "until": str | None, "source": str}
)


@dataclass(frozen=True)
class OnDuty:
    """One member on one duty at a moment (login None: nobody covers it)."""

    duty: str
    login: str | None
    source: str  # the rotation's name, "override", "swap" or "shift"; "gap" for nobody
    since: datetime | None = None
    until: datetime | None = None

    def to_json(self) -> OnDutyJson:
        return {
            "duty": self.duty,
            "login": self.login,
            "from": rfc3339(self.since),
            "until": rfc3339(self.until),
            "source": self.source,
        }


@dataclass
class _View:
    """The rows in force at one version of the schedule, indexed by duty."""

    rotations: dict[str, list[Rotation]] = field(default_factory=dict)
    bounded: dict[str, list[Slot]] = field(default_factory=dict)  # sorted by starts_at
    starts: dict[str, list[datetime]] = field(default_factory=dict)
    longest: dict[str, timedelta] = field(default_factory=dict)
    open_ended: dict[str, list[Slot]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()


def _live(row: Any, as_of: datetime) -> bool:
    return bool(row.recorded_at <= as_of and (row.retired_at is None or row.retired_at > as_of))


class Schedule:
    """The whole schedule, every version of it, in memory: `cover` and `who` answer any
    moment without another query."""

    def __init__(
        self,
        rotations: Iterable[Rotation],
        slots: Iterable[Slot],
        holidays: Iterable[tuple[date, datetime, datetime | None]] = (),
        *,
        now: datetime,
    ) -> None:
        self.rotations = list(rotations)
        self.slots = list(slots)
        self.holiday_rows = list(holidays)
        self.now = now
        rows: list[Rotation | Slot] = [*self.rotations, *self.slots]
        changes = {r.recorded_at for r in rows} | {r.retired_at for r in rows if r.retired_at is not None}
        changes |= {h[1] for h in self.holiday_rows} | {h[2] for h in self.holiday_rows if h[2] is not None}
        self._versions = sorted(changes)
        self._views: dict[int, _View] = {}

    # -- versions ------------------------------------------------------------------------

    def view(self, at: datetime) -> _View:
        """The schedule in force for moment `at`: as it stood then, or now for the future."""
        as_of = min(at, self.now)
        index = bisect.bisect_right(self._versions, as_of)
        found = self._views.get(index)
        if found is None:
            found = self._views[index] = self._build(as_of)
        return found

    def _build(self, as_of: datetime) -> _View:
        view = _View()
        for rotation in sorted(self.rotations, key=lambda r: (-r.layer, r.name, r.id)):
            if _live(rotation, as_of):
                view.rotations.setdefault(rotation.duty, []).append(rotation)
        for slot in sorted(self.slots, key=lambda s: (s.starts_at, s.id)):
            if not _live(slot, as_of):
                continue
            if slot.ends_at is None:
                view.open_ended.setdefault(slot.duty, []).append(slot)
                continue
            view.bounded.setdefault(slot.duty, []).append(slot)
            view.starts.setdefault(slot.duty, []).append(slot.starts_at)
            view.longest[slot.duty] = max(view.longest.get(slot.duty, timedelta(0)), slot.ends_at - slot.starts_at)
        view.holidays = frozenset(
            day
            for day, recorded, retired in self.holiday_rows
            if recorded <= as_of and (retired is None or retired > as_of)
        )
        return view

    # -- one moment ----------------------------------------------------------------------

    def slots_at(self, view: _View, duty: str, at: datetime) -> list[Slot]:
        found = [s for s in view.open_ended.get(duty, ()) if s.covers(at)]
        starts = view.starts.get(duty)
        if starts:
            slots = view.bounded[duty]
            index = bisect.bisect_right(starts, at) - 1
            earliest = at - view.longest[duty]
            while index >= 0 and starts[index] >= earliest:
                if slots[index].covers(at):
                    found.append(slots[index])
                index -= 1
        return sorted(found, key=lambda s: (s.starts_at, s.id))

    def cover(self, duty: str, at: datetime, *, takes: bool = True) -> list[tuple[str, str]]:
        """(login, source) for each member on `duty` at `at`, in a stable order; without
        `takes`, only what was planned (for overloads: a shift taken by hand is not)."""
        view = self.view(at)
        chosen: list[tuple[str, str]] = []
        layer: int | None = None
        for rotation in view.rotations.get(duty, ()):
            if layer is not None and rotation.layer < layer:
                break
            shift = rotation.shift_at(at)
            if shift is None or not rotation.covers(at, view.holidays):
                continue
            layer = rotation.layer
            chosen.append((rotation.member_at(shift[0]), rotation.name))
        slots = self.slots_at(view, duty, at)
        shifts = [(s.login, "shift") for s in slots if s.kind == "shift"]
        if shifts:
            chosen = shifts
        for swap in (s for s in slots if s.kind == "swap"):
            trade = {swap.login: swap.other, swap.other: swap.login}
            chosen = [(trade[login], "swap") if login in trade else (login, src) for login, src in chosen]  # type: ignore[misc]
        overrides = [(s.login, "override") for s in slots if s.kind == "override"]
        if overrides:
            chosen = overrides
        if takes:
            chosen += [(s.login, "override") for s in slots if s.kind == "take"]
        seen: set[str] = set()
        unique = []
        for login, source in chosen:
            if login not in seen:
                seen.add(login)
                unique.append((login, source))
        return unique

    def logins(self, duty: str, at: datetime) -> list[str]:
        return [login for login, _source in self.cover(duty, at)]

    # -- ranges --------------------------------------------------------------------------

    def points(self, duty: str, start: datetime, end: datetime) -> list[datetime]:
        """Every moment in [start, end) at which `duty`'s coverage may change, sorted."""
        found: set[datetime] = set()
        for version in self._versions:
            if start <= version < end and version <= self.now:
                found.add(version)
        for rotation in self.rotations:
            if rotation.duty == duty:
                found.update(rotation.points(start, end))
        for slot in self.slots:
            if slot.duty == duty:
                for moment in (slot.starts_at, slot.ends_at):
                    if moment is not None and start <= moment < end:
                        found.add(moment)
        return sorted(found)

    def segments(
        self, duty: str, start: datetime, end: datetime, *, takes: bool = True
    ) -> list[tuple[datetime, datetime, list[tuple[str, str]]]]:
        """[start, end) cut where coverage changes: (from, until, [(login, source)]), merged."""
        cuts = [start, *(p for p in self.points(duty, start, end) if p > start), end]
        out: list[tuple[datetime, datetime, list[tuple[str, str]]]] = []
        for left, right in itertools.pairwise(cuts):
            covered = self.cover(duty, left, takes=takes)
            if out and out[-1][2] == covered and out[-1][1] == left:
                out[-1] = (out[-1][0], right, covered)
            else:
                out.append((left, right, covered))
        return out

    def who(self, at: datetime, duties: Iterable[str] = DUTIES) -> list[OnDuty]:
        """Per duty, everyone on duty at `at` with since when and until when (None: not
        within SCAN); a duty nobody covers gives one entry with login None."""
        out: list[OnDuty] = []
        for duty in duties:
            covered = self.cover(duty, at)
            before = self.points(duty, at - SCAN, at)
            after = [p for p in self.points(duty, at, at + SCAN) if p > at]
            if not covered:
                since = self._edge(duty, reversed(before), at, lambda c: not c)
                until = self._edge(duty, after, at, lambda c: not c, forward=True)
                out.append(OnDuty(duty, None, "gap", since, until))
                continue
            for login, source in covered:
                on = _has(login)
                since = self._edge(duty, reversed(before), at, on)
                until = self._edge(duty, after, at, on, forward=True)
                out.append(OnDuty(duty, login, source, since, until))
        return out

    def _edge(
        self, duty: str, moments: Iterable[datetime], at: datetime, holds: Any, *, forward: bool = False
    ) -> datetime | None:
        """Walk change points away from `at` while `holds(cover)`; the moment it stops."""
        edge = at
        for moment in moments:
            if forward:
                if not holds(self.cover(duty, moment)):
                    return moment
            else:
                if not holds(self.cover(duty, moment)):
                    return edge
                edge = moment
        if not forward and not holds(self.cover(duty, at - SCAN)):
            return edge
        return None

    def next_handoff(self, duty: str, at: datetime) -> tuple[datetime, list[str]] | None:
        """The next moment within SCAN at which `duty`'s members change, and who then."""
        now = self.logins(duty, at)
        for moment in self.points(duty, at, at + SCAN):
            if moment > at:
                then = self.logins(duty, moment)
                if then != now:
                    return moment, then
        return None

    def gaps(
        self, start: datetime, end: datetime, duties: Iterable[str] = DUTIES
    ) -> list[tuple[str, datetime, datetime]]:
        """(duty, from, until): the ranges within [start, end) nobody covers."""
        return [
            (duty, left, right)
            for duty in duties
            for left, right, covered in self.segments(duty, start, end)
            if not covered
        ]


def _has(login: str) -> Any:
    return lambda covered: any(name == login for name, _source in covered)


# -- loading --------------------------------------------------------------------------


def parse_hours(text: str) -> tuple[time, time] | None:
    """`09:00-18:00` (past midnight when the end is not after the start); "" for all day."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise ValueError(_("{text!r} is not a range of hours: write e.g. 09:00-18:00").format(text=text))
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(_("{text!r} is not a range of hours: write e.g. 09:00-18:00").format(text=text))
    return time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)


def rotation_of(row: ScheduleRotation) -> Rotation:
    return Rotation(
        id=int(row.id or 0),
        name=row.name,
        duty=row.duty,
        layer=row.layer,
        members=tuple(row.members),
        shift=timedelta(minutes=row.shift_minutes),
        handoff=datetime.fromisoformat(row.handoff),
        zone=ZoneInfo(row.zone),
        days=frozenset(row.days),
        hours=parse_hours(row.hours),
        holidays=row.holidays,
        recorded_at=row.recorded_at,
        retired_at=row.retired_at,
    )


def slot_of(row: ScheduleSlot) -> Slot:
    return Slot(
        id=int(row.id or 0),
        kind=row.kind,
        duty=row.duty,
        login=row.login,
        other=row.other,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        source=row.source,
        note=row.note,
        recorded_at=row.recorded_at,
        retired_at=row.retired_at,
    )


def load(session: Session, now: datetime) -> Schedule:
    """Every version of the schedule, read in three queries."""
    return Schedule(*load_rows(session), now=now)


ScheduleRows = tuple[tuple[Rotation, ...], tuple[Slot, ...], tuple[tuple[date, datetime, datetime | None], ...]]


def load_rows(session: Session) -> ScheduleRows:
    """The schedule's rows as plain values: its rotations, slots and holidays."""
    rotations = tuple(rotation_of(r) for r in session.execute(select(ScheduleRotation)).scalars())
    slots = tuple(slot_of(s) for s in session.execute(select(ScheduleSlot)).scalars())
    holidays = tuple(
        (date.fromisoformat(h.day), h.recorded_at, h.retired_at)
        for h in session.execute(select(ScheduleHoliday)).scalars()
    )
    return rotations, slots, holidays


def on_duty(session: Session, duty: str, at: datetime, now: datetime) -> list[str]:
    """The logins on `duty` at `at` (what escalation and notifications read)."""
    return load(session, now).logins(duty, at)


# -- the time grammar of schedule fields -----------------------------------------------

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_DAY = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*$")


def parse_when(text: str, now: datetime, tz: tzinfo, *, after: datetime | None = None) -> datetime:
    """A moment as the CLI's time grammar writes it; future-pointing: a bare clock time
    `09:40` is the next one (today's if still ahead, else tomorrow's), a bare date is its
    local midnight; else RFC 3339, `2026-12-05 20:00` (local), or relative (`+2h`, `-1d`).
    A clock time is the next one after `after` when given (a range's end after its
    start); relative times always count from now."""
    clock = _CLOCK.match(text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise TimeFormatError(_("{text!r} is not a clock time: use HH:MM from 00:00 to 23:59").format(text=text))
        since = after or now
        day = since.astimezone(tz).date()
        candidate = datetime.combine(day, time(hour, minute)).replace(tzinfo=tz).astimezone(UTC)
        if candidate <= since:
            candidate = datetime.combine(day + DAY, time(hour, minute)).replace(tzinfo=tz).astimezone(UTC)
        return candidate
    bare = _DAY.match(text)
    if bare:
        try:
            day = date.fromisoformat(bare.group(1))
        except ValueError:
            raise TimeFormatError(_("{text!r} is not a date: use YYYY-MM-DD").format(text=text)) from None
        return datetime.combine(day, time(0)).replace(tzinfo=tz).astimezone(UTC)
    return parse_time(text, now, tz)
