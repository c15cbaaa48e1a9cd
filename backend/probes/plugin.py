"""Monitoring Plugins output: `NAME.out` (the plugin's stdout) and `NAME.rc` (its exit code).

The output follows the plugin guidelines:

    SUMMARY | PERFDATA
    LONG OUTPUT LINE
    LONG OUTPUT LINE | PERFDATA
    PERFDATA

The first `|` in the long output starts performance data that runs to the end.
The exit code decides the state; without one, the summary's status word does
(`DISK CRITICAL - ...`, `OK: ...`, `HTTP WARNING:`), else UNKNOWN.
"""

from __future__ import annotations

import re

from .model import UNKNOWN, ParsedResult, PerfDatum, state_from_code
from .perfdata import parse_perfdata
from .text import lines_of

# Up to three upper-case service words, then the status word and a separator or the end.
_STATUS_WORD = re.compile(
    r"[ \t]*(?:[A-Z0-9_][A-Z0-9_./\-]*[ \t]+){0,3}?(OK|WARNING|CRITICAL|UNKNOWN)[ \t]*(?:[:\-|.,]|$)"
)
_EXIT_CODE = re.compile(r"[-+]?[0-9]{1,18}")
_TRAILING = " \t"


def parse_plugin(stem: str, out_text: str, rc_text: str | None) -> ParsedResult:
    """The result named `stem`. Never raises: any text is some plugin's output."""
    output, perfdata = split_output(out_text)
    if rc_text is not None:
        state = state_from_rc(rc_text)
    else:
        state = status_word(output.partition("\n")[0]) or UNKNOWN
    return ParsedResult(probe=stem, state=state, output=output, at=None, perfdata=perfdata, kind="plugin")


def state_from_rc(rc_text: str) -> str:
    """0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; any other code, or no number at all, UNKNOWN."""
    code = rc_text.strip(" \t\r\n")
    return state_from_code(int(code)) if _EXIT_CODE.fullmatch(code) else UNKNOWN


def status_word(summary: str) -> str | None:
    """The state a summary line names in the guidelines' `SERVICE STATUS: text` form, if any."""
    match = _STATUS_WORD.match(summary)
    return match.group(1) if match else None


def split_output(text: str) -> tuple[str, tuple[PerfDatum, ...]]:
    """(summary and long output joined with "\\n", performance data) from plugin output."""
    lines = lines_of(text)
    while lines and not lines[-1].strip(_TRAILING):
        lines.pop()
    if not lines:
        return "", ()
    summary, _, perf = lines[0].partition("|")
    kept = [summary.rstrip(_TRAILING)]
    perf_texts = [perf]
    for index, line in enumerate(lines[1:], start=1):
        text_part, bar, perf = line.partition("|")
        if bar:
            if text_part.strip(_TRAILING):
                kept.append(text_part.rstrip(_TRAILING))
            perf_texts.append(perf)
            perf_texts.extend(lines[index + 1 :])
            break
        kept.append(line)
    return "\n".join(kept), parse_perfdata(" ".join(perf_texts))
