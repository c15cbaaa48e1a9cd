"""Prometheus text exposition files (`*.prom`, as node_exporter's textfile collector reads them).

Three metrics are results:

- `probe_success` (blackbox exporter): 1 OK, 0 CRITICAL, named by its `instance`
  label, else the file stem; `probe_duration_seconds` and `probe_http_status_code`
  with the same `instance` go into the output text;
- `opsdeck_probe_status{probe="NAME"}`: 0-3, for local checks;
- `opsdeck_last_success_timestamp_seconds{probe="NAME"}`: a readiness probe, whose
  state the ingest decides from the age (docs/plan.md#readiness).

Other metrics are allowed and ignored. The file is rejected whole where
node_exporter would reject it (a bad line, a duplicate series, a repeated or late
TYPE/HELP line, a client-side timestamp), and where a state is not a state (NaN,
out of range, no probe label, a probe given twice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .model import CRITICAL, OK, UNKNOWN, FormatError, ParsedResult, state_from_code
from .timefields import from_unix

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.samples import Sample

SUCCESS = "probe_success"
STATUS = "opsdeck_probe_status"
LAST_SUCCESS = "opsdeck_last_success_timestamp_seconds"
_DETAILS = {"probe_duration_seconds": "took {} s", "probe_http_status_code": "HTTP {}"}
_SUFFIXES = ("", "_total", "_sum", "_count", "_bucket", "_created")


@dataclass(frozen=True)
class _Line:
    number: int
    sample: Sample


def parse_prometheus(stem: str, text: str) -> list[ParsedResult]:
    lines = _sample_lines(text)
    details = _details(lines)
    results: dict[str, tuple[int, ParsedResult]] = {}
    for line in lines:
        result = _result(stem, line, details)
        if result is None:
            continue
        if result.probe in results:
            first = results[result.probe][0]
            raise FormatError(f"line {line.number}: probe {result.probe!r} is given twice (first on line {first})")
        results[result.probe] = (line.number, result)
    if not results:
        raise FormatError(
            f"no probe metric in the file: write {SUCCESS}, {STATUS}{{probe=...}} or {LAST_SUCCESS}{{probe=...}}"
        )
    return [result for _, result in results.values()]


def _sample_lines(text: str) -> list[_Line]:
    """Every sample with its line number, after the checks node_exporter makes."""
    samples: list[_Line] = []
    series: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    comments: dict[tuple[str, str], int] = {}
    names: set[str] = set()
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        families = _parse_line(line, number)
        if line.startswith("#"):
            _check_comment(line, number, comments, names)
            continue
        if len(families) != 1 or len(families[0].samples) != 1:
            raise FormatError(f"line {number}: not one sample: {line[:80]!r}")
        sample = families[0].samples[0]
        _check_sample(sample, number, series)
        names.add(sample.name)
        samples.append(_Line(number, sample))
    return samples


def _parse_line(line: str, number: int) -> list[Metric]:
    # Lines are parsed one at a time so that an error can name its line; the parser
    # keeps no state across lines that could change whether a line is valid.
    # Imported here: the board and the CLI load this module with the ingest (~20 ms).
    from prometheus_client.parser import text_string_to_metric_families

    try:
        return list(text_string_to_metric_families(line))
    except Exception as error:  # the parser raises ValueError, and worse on odd input
        reason = str(error) or "invalid line"
        raise FormatError(f"line {number}: not Prometheus text format ({reason}): {line[:80]!r}") from None


def _check_comment(line: str, number: int, comments: dict[tuple[str, str], int], names: set[str]) -> None:
    parts = line.split(None, 3)
    if len(parts) < 3 or parts[1] not in ("TYPE", "HELP"):
        return
    kind, name = parts[1], parts[2]
    if (kind, name) in comments:
        first = comments[kind, name]
        raise FormatError(f"line {number}: second {kind} line for {name} (first on line {first})")
    if kind == "TYPE" and any(name + suffix in names for suffix in _SUFFIXES):
        raise FormatError(f"line {number}: TYPE line for {name} comes after its samples")
    comments[kind, name] = number


def _check_sample(sample: Sample, number: int, series: dict[tuple[str, tuple[tuple[str, str], ...]], int]) -> None:
    if sample.timestamp is not None:
        raise FormatError(
            f"line {number}: {sample.name} has a client-side timestamp, which node_exporter's "
            "textfile collector refuses: write the value without a timestamp"
        )
    key = (sample.name, tuple(sorted(sample.labels.items())))
    if key in series:
        raise FormatError(
            f"line {number}: duplicate series {sample.name}{_labels(sample)} (first on line {series[key]})"
        )
    series[key] = number


def _details(lines: list[_Line]) -> dict[str | None, dict[str, str]]:
    """Blackbox details (duration, HTTP status) by `instance` label."""
    found: dict[str | None, dict[str, str]] = {}
    for line in lines:
        template = _DETAILS.get(line.sample.name)
        if template is not None:
            instance = line.sample.labels.get("instance")
            found.setdefault(instance, {})[line.sample.name] = template.format(_show(line.sample.value))
    return found


def _result(stem: str, line: _Line, details: dict[str | None, dict[str, str]]) -> ParsedResult | None:
    sample = line.sample
    if sample.name == SUCCESS:
        return _success(stem, line, details)
    if sample.name == STATUS:
        if not _is_state(sample.value):
            raise FormatError(f"line {line.number}: {STATUS} is {_show(sample.value)}: a state is 0, 1, 2 or 3")
        return _named(line, state_from_code(sample.value))
    if sample.name == LAST_SUCCESS:
        try:
            last = from_unix(sample.value)
        except ValueError:
            raise FormatError(
                f"line {line.number}: {LAST_SUCCESS} is {_show(sample.value)}: give unix seconds of the last good run"
            ) from None
        return _named(line, UNKNOWN, last_success=last)
    return None


def _success(stem: str, line: _Line, details: dict[str | None, dict[str, str]]) -> ParsedResult:
    value, instance = line.sample.value, line.sample.labels.get("instance")
    if value not in (0, 1):  # NaN is not in it either
        raise FormatError(f"line {line.number}: {SUCCESS} is {_show(value)}: it must be 1 (success) or 0 (failure)")
    found = details.get(instance, {})
    words = ["probe succeeded" if value == 1 else "probe failed", *(found[n] for n in _DETAILS if n in found)]
    return ParsedResult(
        probe=instance or stem,
        state=OK if value == 1 else CRITICAL,
        output="; ".join(words),
        at=None,
        kind="prometheus",
    )


def _named(line: _Line, state: str, last_success: datetime | None = None) -> ParsedResult:
    """A result named by the `probe` label; its output is empty (a gauge carries no text)."""
    probe = line.sample.labels.get("probe")
    if not probe:
        name = line.sample.name
        raise FormatError(f'line {line.number}: {name} has no probe label: write {name}{{probe="NAME"}}')
    return ParsedResult(
        probe=probe,
        state=state,
        output="",
        at=None,
        last_success=last_success,
        kind="prometheus",
    )


def _is_state(value: float) -> bool:
    if isinstance(value, int):  # the parser gives ints for integer text, of any size
        return 0 <= value <= 3
    return math.isfinite(value) and value.is_integer() and 0 <= value <= 3


def _show(value: float) -> str:
    if isinstance(value, int):
        text = str(value)
        return text if len(text) <= 20 else text[:17] + "..."
    return "NaN" if math.isnan(value) else f"{value:g}"


def _labels(sample: Sample) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items())) + "}"
