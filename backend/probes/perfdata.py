"""Monitoring Plugins performance data: `'label'=value[UOM];[warn];[crit];[min];[max]`.

Items are separated by spaces; a label with spaces is quoted, and `''` inside the
quotes is one quote. `U` is a value the plugin could not measure. Thresholds are
ranges (`10`, `10:`, `~:10`, `10:20`, `@10:20`) kept as written. An item that does
not fit is skipped: the result it came with still counts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from .model import PerfDatum

_NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_VALUE = re.compile(rf"(?P<number>{_NUMBER})(?P<uom>[A-Za-z%°µ/]*)")
_RANGE = re.compile(rf"@?(?:~|{_NUMBER})?(?::(?:{_NUMBER})?)?")
_SPACE = frozenset(" \t\n\r\f\v")


def parse_perfdata(text: str) -> tuple[PerfDatum, ...]:
    """Every well-formed item of `text`, in order; malformed ones are left out."""
    data = (_datum(label, fields) for label, fields in _items(text))
    return tuple(datum for datum in data if datum is not None)


def _items(text: str) -> Iterator[tuple[str, str]]:
    """(label, text after `=`) for each item that has both; bad items are passed over."""
    i, end = 0, len(text)
    while i < end:
        if text[i] in _SPACE:
            i += 1
            continue
        if text[i] == "'":
            label, i = _quoted_label(text, i)
            if label is None:
                return  # an unclosed quote swallows the rest
            if text.startswith("=", i):
                stop = _next_space(text, i)
                yield label, text[i + 1 : stop]
                i = stop
            else:
                i = _next_space(text, i)
            continue
        stop = _next_space(text, i)
        label, eq, fields = text[i:stop].partition("=")
        if eq:
            yield label, fields
        i = stop


def _quoted_label(text: str, start: int) -> tuple[str | None, int]:
    """The label inside the quotes opening at `start`, and the index after the closing quote."""
    parts: list[str] = []
    i = start + 1
    while True:
        close = text.find("'", i)
        if close < 0:
            return None, len(text)
        parts.append(text[i:close])
        if text.startswith("'", close + 1):  # '' is an escaped quote
            parts.append("'")
            i = close + 2
            continue
        return "".join(parts), close + 1


def _next_space(text: str, i: int) -> int:
    while i < len(text) and text[i] not in _SPACE:
        i += 1
    return i


def _datum(label: str, text: str) -> PerfDatum | None:
    fields = text.split(";")
    if not label.strip() or len(fields) > 5:
        return None
    fields += [""] * (5 - len(fields))
    measured = _value(fields[0])
    warn, crit = fields[1], fields[2]
    if measured is None or not _RANGE.fullmatch(warn) or not _RANGE.fullmatch(crit):
        return None
    try:
        low, high = _bound(fields[3]), _bound(fields[4])
    except ValueError:
        return None
    value, uom = measured
    return PerfDatum(label, value, uom, warn, crit, low, high)


def _value(text: str) -> tuple[float | None, str] | None:
    if text == "U":
        return None, ""
    match = _VALUE.fullmatch(text)
    if match is None:
        return None
    value = float(match["number"])
    return (value, match["uom"]) if math.isfinite(value) else None


def _bound(text: str) -> float | None:
    """min or max: a number, or None when empty or `U`; ValueError when malformed."""
    if text in ("", "U"):
        return None
    value = float(text) if re.fullmatch(_NUMBER, text) else math.nan
    if not math.isfinite(value):
        raise ValueError(text)
    return value
