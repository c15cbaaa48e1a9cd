"""Times written in probe files: unix seconds or RFC 3339, always returned aware in UTC.

Each function raises ValueError with a plain reason; the parsers add where it was.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

# The latest instant a datetime can hold (9999-12-31T23:59:59Z).
_MAX_UNIX = 253402300799.0
_UNIX_TEXT = re.compile(r"[0-9]+(?:\.[0-9]*)?")


def from_unix(seconds: float) -> datetime:
    if isinstance(seconds, bool) or not _in_range(seconds):
        raise ValueError(f"{seconds!r} is not a unix time (seconds since 1970, not milliseconds)")
    return datetime.fromtimestamp(seconds, UTC)


def _in_range(seconds: float) -> bool:
    try:
        return math.isfinite(seconds) and 0 <= seconds <= _MAX_UNIX
    except OverflowError:  # an int too large for a float
        return False


def from_unix_text(text: str) -> datetime:
    """`1795834800` or `1795834800.25` (plain digits: no sign, exponent or words)."""
    if not _UNIX_TEXT.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not a unix time")
    return from_unix(float(text))


def from_rfc3339(text: str) -> datetime:
    """`2026-11-28T03:00:00Z` or with an offset; a time without an offset is refused, not guessed."""
    candidate = text.strip()
    if candidate[-1:] in ("Z", "z"):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset: write Z or +08:00")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the calendar") from None


def from_json_value(value: object) -> datetime:
    """A JSON time: RFC 3339 text, or unix seconds as a number or as digits in a string."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, int | float):
        return from_unix(value)
    if isinstance(value, str):
        return from_unix_text(value) if _UNIX_TEXT.fullmatch(value.strip()) else from_rfc3339(value)
    raise ValueError(f"{value!r} is not a time: give RFC 3339 text or unix seconds")
