"""argparse types for numbers a user types: bounded, finite, named in the refusal.

`int` and `float` alone let through 10**30 (which no store column holds), `nan` and
`inf` (which make a loop spin or never wake): these refuse them with exit 2 and a line
that says what was wanted.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from opsdeck.backend.i18n import _, lookup

MAX_ID = 2**63 - 1  # the store's integers


def whole_number(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high` (the store's integers, a port);
    `what` is marked with N_() and looked up when a value is refused."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                _("{text!r} is not {what} (a whole number from {low} to {high})").format(
                    text=text, what=lookup(what), low=low, high=high
                )
            )
        return value

    return parse


def seconds(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: seconds, a finite number in [low, high] (no nan, no inf)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not low <= value <= high:  # also false for nan
            raise argparse.ArgumentTypeError(
                _("{text!r} is not a number of seconds from {low:g} to {high:g}").format(text=text, low=low, high=high)
            )
        return value

    return parse


def _positive_id(text: str, prefixes: str, limit: int, refused: str) -> int:
    try:
        value = int(text.lstrip(prefixes))
    except ValueError:
        value = 0
    if not 0 < value <= limit:
        raise argparse.ArgumentTypeError(refused.format(text=text)) from None
    return value


def incident_id(text: str) -> int:
    """`12` or `#12`."""
    return _positive_id(text, "#", MAX_ID, _("{text!r} is not an incident id (a positive whole number)"))


def warning_id(text: str) -> int:
    """`3`, `W3` or `w3` (the warnings table's ids are 32-bit)."""
    return _positive_id(
        text, "Ww#", 2**31 - 1, _("{text!r} is not a warning id (W and a positive whole number, or the number)")
    )


def incident_or_system(text: str) -> str:
    return text if text == "system" else trail_id(text)


def trail_id(text: str) -> str:
    """An incident's id (`12`, `#12`), or a warning's (`W3`): whose chain."""
    if text[:1] in ("W", "w"):
        return f"W{warning_id(text)}"
    return str(incident_id(text))


def version(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0 or value > MAX_ID:
        raise argparse.ArgumentTypeError(
            _("{text!r} is not a version (a whole number, as incident show prints it)").format(text=text)
        ) from None
    return value
