"""Which clock ranks an incident: the one the board's row names and counts down, the
one `next_deadline` reports, the order of the board, the wall, the text board and the
replay (docs/plan.md#which-clock-ranks-an-incident).

The plan's reporting clocks (classify, leadership_report, departments_notified,
supervisor, vendor, regrade: someone outside the room is owed something) rank above
opsdeck's housekeeping (ack_lease, record). The rule, in one place:

1. An incident with a reporting clock in warning or breached ranks by its earliest
   reporting clock, above every incident without one (a leadership report due in 2:53
   outranks an ack lease 45 minutes overdue).
2. Otherwise it ranks by its earliest clock not met (breached ones first, as before).
3. Then the most severe level, then the lowest id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from .i18n import _, current

HOUSEKEEPING = frozenset({"ack_lease", "record"})
# Clocks due at the same moment (a level sets leadership_report and departments_notified
# together): the plan's order decides which one the row names.
_PLAN_ORDER = ("classify", "leadership_report", "departments_notified", "supervisor", "vendor", "regrade", "record")
LEVEL_RANK = {"I": 4, "II": 3, "III": 2, "IV": 1}
T = TypeVar("T")


def reports(rule: str) -> bool:
    """A reporting clock: every clock but opsdeck's housekeeping."""
    return rule not in HOUSEKEEPING


@dataclass(frozen=True, slots=True)
class Clock:
    """One running clock as the board draws it."""

    rule: str
    due_at: datetime
    warn_at: datetime | None = None
    next_level: str | None = None

    def pressing(self, now: datetime) -> bool:
        """In warning or breached at `now`."""
        return now >= (self.warn_at or self.due_at)


def ranking_clock(
    clocks: Iterable[T],
    *,
    rule: Callable[[Any], str],
    due: Callable[[Any], Any],
    pressing: Callable[[Any], bool],
) -> tuple[T | None, bool]:
    """The clock that ranks an incident among its running `clocks`, and whether it is a
    pressing reporting clock (rule 1 of the module docstring)."""
    running = list(clocks)
    reporting = [c for c in running if reports(rule(c))]

    def first(c: Any) -> tuple[Any, int, str]:
        name = rule(c)
        return due(c), _PLAN_ORDER.index(name) if name in _PLAN_ORDER else len(_PLAN_ORDER), name

    if any(pressing(c) for c in reporting):
        return min(reporting, key=first), True
    return (min(running, key=first) if running else None), False


def clock_of(clocks: Sequence[Clock], now: datetime) -> tuple[Clock | None, bool]:
    return ranking_clock(clocks, rule=lambda c: c.rule, due=lambda c: c.due_at, pressing=lambda c: c.pressing(now))


def order_key(pressing: bool, due: Any, level: str | None, incident_id: int) -> tuple[bool, bool, Any, int, int]:
    """The board's default order: pressing reporting clocks first, then by due time (none
    last), then the most severe, then the lowest id."""
    return (not pressing, due is None, due if due is not None else 0, -LEVEL_RANK.get(level or "", 0), incident_id)


def clock_label(rule: str | None, *, short: bool = False) -> str:
    """The clock's name as the board's DUE cell shows it after the countdown, in the
    chosen language; `short` for 80 columns (six cells at most)."""
    if not rule:
        return ""
    return _names(current(), short).get(rule, rule)


@cache
def _names(language: str, short: bool) -> dict[str, str]:
    # Once per language: a board asks for a name per visible row every second.
    return _short_names() if short else _long_names()


def _long_names() -> dict[str, str]:  # built when asked: after the language is chosen
    return {
        "classify": _("classify"),
        "leadership_report": _("leadership"),
        "departments_notified": _("departments"),
        "supervisor": _("supervisor"),
        "vendor": _("vendor"),
        "regrade": _("re-grade"),
        "record": _("record"),
        "ack_lease": _("ack lease"),
    }


def _short_names() -> dict[str, str]:
    return {
        "classify": _("class"),
        "leadership_report": _("lead."),
        "departments_notified": _("depts"),
        "supervisor": _("superv"),
        "vendor": _("vendor"),
        "regrade": _("regr."),
        "record": _("rec."),
        "ack_lease": _("lease"),
    }


def help_lines() -> list[str]:
    """The order and the clocks' names, as `?` shows them."""
    names = _long_names()
    short = _short_names()
    return [
        _("1. a reporting clock in warning or breached (it ranks the row): classify, leadership,"),
        _("   departments, supervisor, vendor, re-grade"),
        _("2. then the earliest clock not met, breached first (ack lease and record are housekeeping)"),
        _("3. then the most severe level, then the lowest id"),
        _("The DUE cell names the clock that ranks the row; at 80 columns:"),
        "   " + "  ".join(f"{short[key]}={names[key]}" for key in names if short[key] != names[key]),
    ]
