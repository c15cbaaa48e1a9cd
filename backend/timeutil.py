"""Times: stored in UTC, aware, everywhere; parsed with one grammar for every field a
person types, CLI and forms alike (`parse_time`, `parse_period`).

The clock is injected (`Clock`) so rules can be tested at every boundary.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .i18n import _

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimeFormatError(ValueError):
    """A time the user typed that is neither RFC 3339 nor relative."""


_RELATIVE = re.compile(r"^\s*([+-])\s*((?:\d+\s*[smhdw]\s*)+)$")
_PART = re.compile(r"(\d+)\s*([smhdw])")
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_MONTH = re.compile(r"^\s*(\d{4})-(\d{2})\s*$")
_WEEK = re.compile(r"^\s*(\d{4})-[Ww](\d{1,2})\s*$")
_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
GRAMMAR = "2026-11-28T09:40:00+08:00, 2026-11-28 09:40, 09:40, -90m, -1h30m, +2h"
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `2h`, `1d`, `1w` (a sign is allowed and ignored here)."""
    match = re.fullmatch(r"\s*[+-]?\s*(\d+)\s*([smhdw])\s*", text)
    if not match:
        raise TimeFormatError(
            _("{text!r} is not a duration: write a number and a unit, like 30m, 2h or 1d").format(text=text)
        )
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise TimeFormatError(
            _("{text!r} is too long a duration: give at most a few years").format(text=text)
        ) from None


def parse_time(text: str, now: datetime, tz: tzinfo = UTC, *, toward: str = "past") -> datetime:
    """One time a person typed, in the grammar every field shares:

    - RFC 3339 (`2026-11-28T09:40:00Z`, `...+08:00`), or a date and time without an
      offset (`2026-11-28 09:40`), read in the center's time zone `tz`;
    - a time of day (`09:40`): the most recent such moment for a field about the past
      (`toward="past"`: an outage start, a call from the paper log), the next one for a
      field about the future (`toward="future"`: an override's start);
    - relative to now: `-90m`, `-1h30m`, `+2h`, `-1d`;
    - a period (`2026-11`, `2026-11-28`, `2026-W48`): its start (`parse_period`).
    """
    rel = _RELATIVE.match(text)
    if rel:
        delta = sum((parse_duration(n + unit) for n, unit in _PART.findall(rel.group(2))), timedelta())
        try:
            return now - delta if rel.group(1) == "-" else now + delta
        except OverflowError:
            raise TimeFormatError(
                _("{text!r} reaches outside the calendar: give a nearer time").format(text=text)
            ) from None
    clock = _CLOCK.match(text)
    if clock:
        return _time_of_day(text, clock, now, tz, toward)
    if _MONTH.match(text) or _WEEK.match(text) or _DATE.match(text):
        return parse_period(text, tz)[0]
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise TimeFormatError(
            _("{text!r} is not a time: write one like {examples}").format(text=text, examples=GRAMMAR)
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-23:59 is past the calendar's end in UTC
        raise TimeFormatError(
            _("{text!r} reaches outside the calendar: give a nearer time").format(text=text)
        ) from None


def _time_of_day(text: str, clock: re.Match[str], now: datetime, tz: tzinfo, toward: str) -> datetime:
    hour, minute, second = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise TimeFormatError(_("{text!r} is not a time of day: write HH:MM, like 09:40").format(text=text))
    local = now.astimezone(tz)
    for days in (0, -1, 1):  # today's, else yesterday's or tomorrow's
        day = local.date() + timedelta(days=days)
        candidate = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz).astimezone(UTC)
        if (toward == "past" and days <= 0 and candidate <= now) or (
            toward == "future" and days >= 0 and candidate > now
        ):
            return candidate
    raise AssertionError("a time of day is within a day of now")  # pragma: no cover


def parse_period(text: str, tz: tzinfo = UTC) -> tuple[datetime, datetime]:
    """`2026-11` (a month), `2026-11-28` (a day) or `2026-W48` (an ISO week), in the
    center's zone: `(start, end)`, half-open (the end belongs to the next period)."""
    month, week, day = _MONTH.match(text), _WEEK.match(text), _DATE.match(text)
    if not (month or week or day):
        raise TimeFormatError(
            _("{text!r} is not a period: write a month (2026-11), a day (2026-11-28) or a week (2026-W48)").format(
                text=text
            )
        )
    try:
        if month:
            year, number = int(month.group(1)), int(month.group(2))
            if not 1 <= number <= 12:
                raise ValueError
            start = date(year, number, 1)
            end = date(year + number // 12, number % 12 + 1, 1)
        elif week:
            start = date.fromisocalendar(int(week.group(1)), int(week.group(2)), 1)
            end = start + timedelta(days=7)
        else:
            assert day is not None
            start = date(int(day.group(1)), int(day.group(2)), int(day.group(3)))
            end = start + timedelta(days=1)
        return _midnight(start, tz), _midnight(end, tz)
    except (ValueError, OverflowError):
        raise TimeFormatError(
            _(
                "{text!r} is not on the calendar: write a month (2026-11), a day (2026-11-28) or a week (2026-W48)"
            ).format(text=text)
        ) from None


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: opsdeck stores aware UTC times only")
    return value.astimezone(UTC)


@overload
def rfc3339(value: datetime) -> str: ...
@overload
def rfc3339(value: None) -> None: ...
@overload
def rfc3339(value: datetime | None) -> str | None: ...
def rfc3339(value: datetime | None) -> str | None:
    """UTC with a `Z`, whole seconds unless there is a fraction."""
    if value is None:
        return None
    value = as_utc(value)
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def load_zone(name: str | None) -> tzinfo:
    """The center's time zone; None means the machine's local zone."""
    if not name:
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeFormatError(
            _("unknown time zone {name!r}: use an IANA name like Asia/Shanghai or UTC").format(name=name)
        ) from None


def format_local(value: datetime | None, tz: tzinfo) -> str:
    if value is None:
        return "-"
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def format_age(seconds: float) -> str:
    """Compact age: 45s, 12m, 3h05m, 2d04h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def format_duration(seconds: float | None) -> str:
    """A duration a statistic reports: 4m07s under an hour, 1h05m above, `-` for none."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


COUNTDOWN_WIDTH = 9


def format_countdown(seconds: float) -> str:
    """Always COUNTDOWN_WIDTH cells, right-aligned: mm:ss under an hour (it ticks each
    second), h:mm under 100 hours and then days (they change once a minute, so a board
    of far deadlines sends almost nothing to the terminal); a leading `-` when overdue."""
    sign = "-" if seconds < 0 else ""
    seconds = abs(int(seconds))
    if seconds < 3600:
        text = f"{seconds // 60:02d}:{seconds % 60:02d}"
    elif seconds < 100 * 3600:
        hours, rest = divmod(seconds, 3600)
        text = f"{hours}h{rest // 60:02d}m"
    else:
        days = min(seconds // 86400, 9999)
        text = f"{days}d{(seconds % 86400) // 3600:02d}h"
    return (sign + text).rjust(COUNTDOWN_WIDTH)
