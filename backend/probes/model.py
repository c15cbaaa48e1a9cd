"""What a probe file says, once parsed: results in the plan's four states.

Every parser returns `ParsedResult`s or raises `FormatError`; the ingest stores the
first and quarantines the file on the second. Text is kept exactly as received
(escape sequences included): it is neutralized where it is shown, not here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

OK = "OK"
WARNING = "WARNING"
CRITICAL = "CRITICAL"
UNKNOWN = "UNKNOWN"
STATES: tuple[str, ...] = (OK, WARNING, CRITICAL, UNKNOWN)


class FormatError(ValueError):
    """The whole file is bad input: it goes to quarantine. The message says what and where (line N)."""


@dataclass(frozen=True)
class PerfDatum:
    """One Monitoring Plugins performance datum: `'label'=value[UOM];warn;crit;min;max`.

    `value` is None for `U` (the plugin could not measure it); `warn`/`crit` are the
    range texts as written (`10`, `~:95`, `@10:20`), "" when absent.
    """

    label: str
    value: float | None
    uom: str
    warn: str
    crit: str
    min: float | None
    max: float | None


@dataclass(frozen=True)
class ParsedResult:
    probe: str
    state: str  # OK | WARNING | CRITICAL | UNKNOWN
    output: str  # summary line, then long output lines joined with "\n" (as received)
    at: datetime | None  # aware UTC: when the check ran, if the file says
    perfdata: tuple[PerfDatum, ...] = ()
    result_id: str | None = None  # JSON Lines `id`
    last_success: datetime | None = None  # readiness probes (docs/plan.md#readiness)
    kind: str = ""  # "nagios" | "plugin" | "prometheus" | "health" | "jsonl"


def state_from_code(code: float) -> str:
    """0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (plugin exit codes); anything else UNKNOWN."""
    if isinstance(code, bool):
        return UNKNOWN
    if isinstance(code, int):
        return STATES[code] if 0 <= code <= 3 else UNKNOWN
    if math.isfinite(code) and code.is_integer() and 0 <= code <= 3:
        return STATES[int(code)]
    return UNKNOWN


# Status words as health checks and JSON producers write them, lower-cased.
_WORDS: dict[str, str] = {
    "ok": OK,
    "pass": OK,
    "up": OK,
    "warning": WARNING,
    "warn": WARNING,
    "critical": CRITICAL,
    "fail": CRITICAL,
    "down": CRITICAL,
    "unknown": UNKNOWN,
}


def state_from_word(word: str) -> str | None:
    """`pass`/`warn`/`fail`, `ok`/`up`/`down` and the four state names, in any case; None if not one."""
    return _WORDS.get(word.strip().lower())
