"""`application/health+json` documents (draft-inadarei-api-health-check), one per `.json` file.

    {"status": "pass", "serviceId": "portal", "output": "...",
     "checks": {"postgres:responseTime": [{"status": "warn", "observedValue": 250,
                                           "observedUnit": "ms", "time": "..."}]}}

The document is one result, named by `serviceId`, else the file stem; its output
lists the checks that did not pass. Each check entry is a result too, named
`NAME/KEY`, or `NAME/KEY/componentId` (`NAME/KEY/componentId@node` when the entry
names its node; else `NAME/KEY/N`, from 1) when a key has several entries; a numeric `observedValue` is its performance datum.
"""

from __future__ import annotations

import json
import math

from .jsonvalues import load_json, name_of, state_of, text_of, time_of
from .model import OK, FormatError, ParsedResult, PerfDatum


def parse_health(stem: str, text: str) -> list[ParsedResult]:
    document = load_json(text)
    if not isinstance(document, dict) or "status" not in document:
        raise FormatError("not an application/health+json document: expected one JSON object with a status")
    name = name_of(document.get("serviceId"), "serviceId") or stem
    state = state_of(document["status"], "status")
    checks = [check for key, entries in _checks(document).items() for check in _entries(name, key, entries)]
    _refuse_twice(checks)
    summary = text_of(document.get("output"), "output") or text_of(document.get("description"), "description")
    main = ParsedResult(
        probe=name,
        state=state,
        output="\n".join([summary or f"health {document['status']}", *_not_passing(name, checks)]),
        at=time_of(document.get("time"), "time"),
        kind="health",
    )
    return [main, *checks]


def _not_passing(name: str, checks: list[ParsedResult]) -> list[str]:
    """One line for each check that did not pass, for the document's long output."""
    lines = []
    for check in checks:
        if check.state != OK:
            detail = f" - {check.output}" if check.output else ""
            lines.append(f"{check.probe.removeprefix(name + '/')}: {check.state}{detail}")
    return lines


def _refuse_twice(checks: list[ParsedResult]) -> None:
    seen: set[str] = set()
    for check in checks:
        if check.probe in seen:
            raise FormatError(f"checks: {check.probe!r} is given twice: give each entry its own componentId or node")
        seen.add(check.probe)


def _checks(document: dict[str, object]) -> dict[str, object]:
    checks = document.get("checks")
    if checks is None:
        return {}
    if not isinstance(checks, dict):
        raise FormatError("checks: must be an object of lists of check results")
    return checks


def _entries(name: str, key: str, entries: object) -> list[ParsedResult]:
    if isinstance(entries, dict):  # a lone entry not wrapped in a list
        entries = [entries]
    if not isinstance(entries, list):
        raise FormatError(f"checks[{key!r}]: must be a list of check results")
    several = len(entries) > 1
    return [_entry(name, key, index, entry, several) for index, entry in enumerate(entries)]


def _entry(name: str, key: str, index: int, entry: object, several: bool) -> ParsedResult:
    where = f"checks[{key!r}][{index}]"
    if not isinstance(entry, dict):
        raise FormatError(f"{where}: must be an object")
    probe = f"{name}/{key}"
    if several:  # told apart by componentId and node (the draft's own example), else position
        component = name_of(entry.get("componentId"), f"{where}.componentId")
        node = entry.get("node")
        if component and node is not None and not isinstance(node, bool) and isinstance(node, (str, int)):
            component += f"@{node}"
        probe += "/" + (component or str(index + 1))
    observed, unit = entry.get("observedValue"), text_of(entry.get("observedUnit"), f"{where}.observedUnit")
    output = text_of(entry.get("output"), f"{where}.output")
    if not output and observed is not None:
        shown = observed if isinstance(observed, str) else json.dumps(observed, ensure_ascii=False)
        output = f"observed {shown}{' ' + unit if unit else ''}"
    return ParsedResult(
        probe=probe,
        state=state_of(entry.get("status", "unknown"), f"{where}.status"),
        output=output,
        at=time_of(entry.get("time"), f"{where}.time"),
        perfdata=_perfdata(key, observed, unit),
        kind="health",
    )


def _perfdata(key: str, observed: object, unit: str) -> tuple[PerfDatum, ...]:
    if isinstance(observed, bool) or not isinstance(observed, int | float):
        return ()
    try:
        value = float(observed)
    except OverflowError:
        return ()
    return (PerfDatum(key, value, unit, "", "", None, None),) if math.isfinite(value) else ()
