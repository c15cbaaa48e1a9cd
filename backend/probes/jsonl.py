"""JSON Lines (`*.jsonl`): one result per line.

    {"probe": "vuln-notices", "status": "warn", "output": "...", "time": "2026-11-28T01:00:00Z", "id": "cnvd-1"}
    {"host": "web01", "check": "os-audit", "state": 0}
    {"probe": "spare-server-test", "last_success": "2026-11-21T09:30:00+08:00"}

Named by `probe`, else `host/check` when both are given, else whichever of them is
given, else the file stem. The state is `status` (a word or 0-3), else `state`
(0-3). A line with `last_success` (RFC 3339 or unix seconds) is a readiness probe:
its state is UNKNOWN here and any status on it is not read, since the ingest judges
it by the age of the last success (docs/plan.md#readiness).
"""

from __future__ import annotations

from .jsonvalues import load_json, name_of, state_of, text_of, time_of
from .model import UNKNOWN, FormatError, ParsedResult
from .text import lines_of


def parse_jsonl(stem: str, text: str) -> list[ParsedResult]:
    """Every non-blank line's result; the first bad line raises FormatError for the file."""
    return [parse_jsonl_line(stem, line, number) for number, line in enumerate(lines_of(text), start=1) if line.strip()]


def parse_jsonl_line(stem: str, line: str, line_no: int) -> ParsedResult:
    where = f"line {line_no}"
    record = load_json(line, line_no)
    if not isinstance(record, dict):
        raise FormatError(f"{where}: a result must be a JSON object")
    last_success = time_of(record.get("last_success"), f"{where}: last_success")
    return ParsedResult(
        probe=_name(stem, record, where),
        state=UNKNOWN if last_success else _state(record, where),
        output=text_of(record.get("output"), f"{where}: output"),
        at=time_of(record.get("time"), f"{where}: time"),
        result_id=_result_id(record.get("id"), where),
        last_success=last_success,
        kind="jsonl",
    )


def _name(stem: str, record: dict[str, object], where: str) -> str:
    probe = name_of(record.get("probe"), f"{where}: probe")
    host = name_of(record.get("host"), f"{where}: host")
    check = name_of(record.get("check"), f"{where}: check")
    if probe:
        return probe
    if host and check:
        return f"{host}/{check}"
    return host or check or stem


def _state(record: dict[str, object], where: str) -> str:
    for key in ("status", "state"):
        if record.get(key) is not None:
            return state_of(record[key], f"{where}: {key}")
    raise FormatError(f"{where}: no status: give status (a word or 0-3), state (0-3) or last_success")


def _result_id(value: object, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FormatError(f"{where}: id must be text or an integer")
    return str(value)
