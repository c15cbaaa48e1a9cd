"""Nagios checkresult spool files (`cXXXXXX`, read once `cXXXXXX.ok` exists).

What Nagios core reads, and so what we read: lines of `key=value`; `#` lines are
comments (`### Nagios Service Check Result ###`, `# Time: ...`); an empty line ends
a result. `file_time` may stand anywhere (Nagios core and NSCA write it in a header
block, NRDP not at all). A result is a service result when it has
`service_description`, else a host result: section titles are not trusted, NSCA
writes them the wrong way round. In `output`, `\\n` is a newline and `\\\\` a backslash.
Times are `seconds.microseconds`, the microseconds not zero-padded (`%lu.%lu`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .model import CRITICAL, UNKNOWN, FormatError, ParsedResult, state_from_code
from .plugin import split_output
from .text import lines_of
from .timefields import from_unix

_RESULT_KEYS = frozenset({"host_name", "service_description", "return_code", "output"})
_ESCAPE = re.compile(r"\\([\\n])")
_TIME = re.compile(r"([0-9]{1,12})(?:\.([0-9]{0,6}))?")
_CODE = re.compile(r"[-+]?[0-9]{1,18}")


@dataclass
class _Block:
    """One blank-line-separated block: each key's value and the line it was on."""

    values: dict[str, tuple[str, int]] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        entry = self.values.get(key)
        return entry[0] if entry else None

    def line(self, key: str) -> int:
        return self.values[key][1]


def parse_nagios(text: str) -> tuple[datetime | None, list[ParsedResult]]:
    """(file_time, results). A result's age is judged from file_time, as Nagios does,
    else from its own `at` (finish_time, else start_time)."""
    file_time: datetime | None = None
    results: list[ParsedResult] = []
    for block in _blocks(text):
        if "file_time" in block.values and file_time is None:
            file_time = _time(block, "file_time")
        if _RESULT_KEYS & block.values.keys():
            results.append(_result(block))
    if not results:
        raise FormatError("no check result in the file: expected a block of host_name=, output= and return_code= lines")
    return file_time, results


def _blocks(text: str) -> list[_Block]:
    blocks = [_Block()]
    for number, line in enumerate(lines_of(text), start=1):
        if not line:
            blocks.append(_Block())
        elif not line.startswith("#"):
            key, eq, value = line.partition("=")
            if eq:  # Nagios skips a line without `=`
                blocks[-1].values[key] = (value, number)
    return [block for block in blocks if block.values]


def _result(block: _Block) -> ParsedResult:
    host = block.get("host_name")
    if not host:
        first = min(line for _, line in block.values.values())
        raise FormatError(f"line {first}: check result without host_name")
    service = block.get("service_description")
    output, perfdata = split_output(_unescape(block.get("output") or ""))
    return ParsedResult(
        probe=f"{host}/{service}" if service else host,
        state=_state(block),
        output=output,
        at=_time(block, "finish_time") or _time(block, "start_time"),
        perfdata=perfdata,
        kind="nagios",
    )


def _state(block: _Block) -> str:
    """return_code 0-3, for host and service results alike; no code at all is UNKNOWN.

    As Nagios core 4 judges it: a timed-out active check is CRITICAL, one that did
    not exit properly is UNKNOWN, whatever its return code. A passive result
    (`check_type=1`) keeps its return code: Nagios applies the timeout state to active
    checks only, and NRDP writes `early_timeout=1` on every result it submits.
    """
    passive = (block.get("check_type") or "").strip() == "1"
    if not passive and (block.get("early_timeout") or "").strip() == "1":
        return CRITICAL
    if (block.get("exited_ok") or "").strip() == "0":
        return UNKNOWN
    code = block.get("return_code")
    if code is None:
        return UNKNOWN
    if not _CODE.fullmatch(code.strip()):
        raise FormatError(f"line {block.line('return_code')}: return_code {code!r} is not a number")
    return state_from_code(int(code.strip()))


def _time(block: _Block, key: str) -> datetime | None:
    """`1795834800` or `1795834800.981200` (seconds.microseconds); 0 means not given."""
    text = block.get(key)
    if text is None:
        return None
    match = _TIME.fullmatch(text.strip())
    try:
        if match is None:
            raise ValueError(text)
        seconds, micros = int(match[1]), int(match[2] or 0)
        return from_unix(seconds) + timedelta(microseconds=micros) if seconds else None
    except (ValueError, OverflowError):
        raise FormatError(f"line {block.line(key)}: {key} {text!r} is not a unix time") from None


def _unescape(output: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m[1] == "n" else "\\", output)
