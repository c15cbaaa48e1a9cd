"""Times: stored in UTC, aware, everywhere; parsed from RFC 3339 or relative input.

The clock is injected (`Clock`) so rules can be tested at every boundary.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .i18n import _

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimeFormatError(ValueError):
    """A time the user typed that is neither RFC 3339 nor relative."""


_RELATIVE = re.compile(r"^\s*([+-])\s*(\d+)\s*([smhdw])\s*$")
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


def parse_time(text: str, now: datetime, tz: tzinfo = UTC) -> datetime:
    """RFC 3339 (`2026-11-28T03:10:00Z`, `...+08:00`), or relative to now (`-15m`).

    A time without an offset is read in the center's time zone `tz`.
    """
    rel = _RELATIVE.match(text)
    if rel:
        delta = parse_duration(rel.group(2) + rel.group(3))
        try:
            return now - delta if rel.group(1) == "-" else now + delta
        except OverflowError:
            raise TimeFormatError(
                _("{text!r} reaches outside the calendar: give a nearer time").format(text=text)
            ) from None
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise TimeFormatError(
            _("{text!r} is not a time: use RFC 3339 like 2026-11-28T03:10:00Z or a relative time like -15m").format(
                text=text
            )
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: opsdeck stores aware UTC times only")
    return value.astimezone(UTC)


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
