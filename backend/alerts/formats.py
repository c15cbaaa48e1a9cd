"""What the senders post, read as each sender writes it, into `AlertEvent`s.

- `alertmanager`: Alertmanager's webhook (`version` "4"; Grafana's webhook contact
  point posts the same shape with extras and `version` "1"). One event per alert,
  keyed by its fingerprint (computed from the labels when an old sender sends none).
- `events`: the PagerDuty Events API v2 body (`routing_key`, `event_action`,
  `dedup_key`, `payload`). A trigger without `dedup_key` gets one derived from the
  body, so a retried identical trigger is one alert, not two.
- `json`: one object or an array in the spool's JSON Lines shape.

Every refusal is a `BadPayload` whose message names the field and the fix; nothing is
stored from a refused body. Text is kept as received (it is sanitized where shown),
except probe names, which are identifiers: their control characters become spaces.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..audit import canonical_json
from ..probes import FormatError
from ..probes.jsonl import parse_jsonl_line
from ..sanitize import clean

KINDS = ("alertmanager", "events", "json")
MAX_LABELS = 128
MAX_LABEL_VALUE = 4096
MAX_TEXT = 20_000
MAX_KEY = 255
PROBE_NAME_LIMIT = 200
ACTIONS = ("trigger", "acknowledge", "resolve")
PD_SEVERITIES = ("critical", "error", "warning", "info")
# Severity words of the usual senders (Prometheus rules, PagerDuty, Zabbix, Icinga).
_SEVERITY = {
    "critical": "CRITICAL",
    "error": "CRITICAL",
    "page": "CRITICAL",
    "high": "CRITICAL",
    "disaster": "CRITICAL",
    "major": "CRITICAL",
    "warning": "WARNING",
    "warn": "WARNING",
    "average": "WARNING",
    "minor": "WARNING",
    "info": "OK",
    "information": "OK",
    "informational": "OK",
    "low": "OK",
    "none": "OK",
}


class BadPayload(ValueError):
    """The body is not what the sender's format says: 400, naming what is wrong."""


@dataclass(frozen=True)
class AlertEvent:
    """One alert's news, as the intake applies it."""

    key: str  # the alert within its source: fingerprint, dedup_key, probe name
    firing: bool
    state: str  # OK WARNING CRITICAL UNKNOWN (OK when resolved; info is OK with its text)
    name: str  # what a person reads first: alertname, summary
    output: str
    labels: dict[str, str]
    group_key: str  # the sender's grouping: Alertmanager's groupKey, the dedup_key
    group_name: str  # the group as a readable name (group label values)
    starts_at: datetime | None = None
    at: datetime | None = None  # json: the result's own time
    action: str = ""  # events: trigger | acknowledge | resolve
    info: bool = False  # severity info: OK, with its text as a note
    result_id: str | None = None  # json: the line's id
    last_success: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def decode(body: bytes) -> Any:
    """The body as JSON; BadPayload for anything else (bad UTF-8, syntax, nesting too deep)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadPayload(f"the body is not UTF-8 (byte {error.start}): send JSON in UTF-8") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise BadPayload("the JSON is nested too deeply: send the sender's own flat format") from None
    except json.JSONDecodeError as error:
        raise BadPayload(f"not JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except ValueError:  # an integer past Python's limit on digits (4300)
        raise BadPayload("not JSON opsdeck reads: a number in it has thousands of digits") from None


# -- Alertmanager and Grafana ---------------------------------------------------------------


def alertmanager(document: Any, group_by: Any = None) -> list[AlertEvent]:
    """Alertmanager's webhook body (version 4; Grafana's version 1): one event per alert.

    `group_by(labels) -> tuple[str, ...] | None` is the mapping's grouping, if any."""
    if not isinstance(document, dict):
        raise BadPayload("the body must be a JSON object with an `alerts` list (Alertmanager's webhook, version 4)")
    version = document.get("version")
    if version is not None and version not in ("4", "1"):
        raise BadPayload(f"version {str(version)[:20]!r} is not Alertmanager's webhook version 4 (or Grafana's 1)")
    alerts = document.get("alerts")
    if not isinstance(alerts, list):
        raise BadPayload("`alerts` must be a list: is the sender Alertmanager's webhook_configs?")
    group_labels = _labels(document.get("groupLabels", {}), "groupLabels")
    group_key = _text(document.get("groupKey", ""), "groupKey", MAX_TEXT) or canonical_json(group_labels)
    truncated = document.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise BadPayload("truncatedAlerts must be a whole number")
    events = []
    for index, raw in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(raw, dict):
            raise BadPayload(f"{where} must be an object")
        labels = _labels(raw.get("labels", {}), f"{where}.labels")
        annotations = _labels(raw.get("annotations", {}), f"{where}.annotations", limit=MAX_TEXT)
        status = raw.get("status")
        if status not in ("firing", "resolved"):
            raise BadPayload(f"{where}.status must be firing or resolved, not {str(status)[:20]!r}")
        starts_at = _time(raw.get("startsAt"), f"{where}.startsAt", required=True)
        ends_at = _time(raw.get("endsAt"), f"{where}.endsAt", required=False)
        fingerprint = _text(raw.get("fingerprint", ""), f"{where}.fingerprint", 64) or _fingerprint(labels)
        state, info = _severity(labels.get("severity", "")) if status == "firing" else ("OK", False)
        name = labels.get("alertname", "") or fingerprint
        summary = annotations.get("summary") or annotations.get("description") or annotations.get("message") or ""
        output = f"{name}: {summary}" if summary else _labels_text(labels)
        if status == "resolved":
            output = f"resolved: {output}"
        if truncated:  # max_alerts cut the group: those alerts never reach us; say so
            output += f" [Alertmanager left out {truncated} more alert(s) of the group: max_alerts]"
        grouping = group_by(labels) if group_by else None
        if grouping is not None:
            key, shown = canonical_json(dict(zip(*grouping, strict=True))), ",".join(grouping[1])
        else:
            key, shown = group_key, ",".join(group_labels[k] for k in sorted(group_labels))
        events.append(
            AlertEvent(
                key=fingerprint,
                firing=status == "firing",
                state=state,
                name=name,
                output=output[:MAX_TEXT],
                labels=labels,
                group_key=key,
                group_name=shown or "all",
                starts_at=starts_at,
                info=info,
                extra={"ends_at": ends_at, "generator_url": str(raw.get("generatorURL", ""))[:2000]},
            )
        )
    return events


def _fingerprint(labels: dict[str, str]) -> str:
    """What Alertmanager's fingerprint stands for (the label set), for senders without one."""
    return hashlib.sha256(canonical_json(labels).encode()).hexdigest()[:16]


# -- PagerDuty Events API v2 -----------------------------------------------------------------


@dataclass(frozen=True)
class EventsBody:
    routing_key: str
    event: AlertEvent


def events(document: Any, group_by: Any = None) -> EventsBody:
    """One PagerDuty Events API v2 event. Errors read like PagerDuty's own."""
    if not isinstance(document, dict):
        raise BadPayload("Event object is invalid: the body must be a JSON object")
    routing_key = document.get("routing_key")
    if not isinstance(routing_key, str) or not routing_key:
        raise BadPayload("'routing_key' is missing or blank")
    action = document.get("event_action")
    if action not in ACTIONS:
        raise BadPayload(f"'event_action' is invalid (must be one of: {', '.join(ACTIONS)})")
    dedup_key = document.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or not dedup_key or len(dedup_key) > MAX_KEY):
        raise BadPayload(f"'dedup_key' must be text of 1 to {MAX_KEY} characters")
    payload = document.get("payload")
    if action == "trigger":
        if not isinstance(payload, dict):
            raise BadPayload("'payload' is missing: a trigger needs payload.summary, payload.source, payload.severity")
        summary = _required(payload, "summary", 1024)
        source = _required(payload, "source", 1024)
        severity = payload.get("severity")
        if severity not in PD_SEVERITIES:
            raise BadPayload(f"'payload.severity' is invalid (must be one of: {', '.join(PD_SEVERITIES)})")
        labels = {"severity": severity, "source": source}
        for key in ("component", "group", "class"):
            if payload.get(key) is not None:
                labels[key] = _text(payload[key], f"payload.{key}", 1024)
        details = payload.get("custom_details")
        if isinstance(details, dict):
            for key, value in list(details.items())[:MAX_LABELS]:
                if isinstance(key, str) and isinstance(value, str) and key not in labels:
                    labels[key] = value[:MAX_LABEL_VALUE]
        _time(payload.get("timestamp"), "payload.timestamp", required=False)
    else:
        if dedup_key is None:
            raise BadPayload(f"'dedup_key' is required to {action} an alert")
        summary, severity, labels = "", "", {}
    if dedup_key is None:  # PagerDuty makes a random one; the body's digest makes a retry the same alert
        body = {k: v for k, v in document.items() if k != "routing_key"}
        dedup_key = hashlib.sha256(canonical_json(body).encode()).hexdigest()[:32]
    state, info = _severity(severity) if action == "trigger" else ("OK", False)
    grouping = group_by(labels) if group_by and labels else None
    shown = ",".join(grouping[1]) if grouping else _events_name(labels, dedup_key)
    event = AlertEvent(
        key=dedup_key,
        firing=action != "resolve",
        state=state,
        name=summary,
        output=f"resolved: {dedup_key}" if action == "resolve" else summary,
        labels=labels,
        group_key=canonical_json(dict(zip(*grouping, strict=True))) if grouping else dedup_key,
        group_name=shown,
        action=action,
        info=info,
    )
    return EventsBody(routing_key, event)


def _events_name(labels: dict[str, str], dedup_key: str) -> str:
    short = dedup_key if len(dedup_key) <= 24 else hashlib.sha256(dedup_key.encode()).hexdigest()[:8]
    where = "/".join(v for v in (labels.get("source"), labels.get("component")) if v)
    return f"{where} #{short}" if where else short


def _required(payload: dict[str, Any], key: str, limit: int) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadPayload(f"'payload.{key}' is missing or blank")
    if len(value) > limit:
        raise BadPayload(f"'payload.{key}' is over {limit} characters")
    return value


# -- JSON for scripts ----------------------------------------------------------------------


def json_results(document: Any) -> list[AlertEvent]:
    """One object or an array of them, each in the spool's JSON Lines shape."""
    items = document if isinstance(document, list) else [document]
    if not items:
        raise BadPayload("the array is empty: send one result object or a non-empty array")
    events = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadPayload(f"item {index}: a result must be a JSON object")
        try:
            result = parse_jsonl_line("result", json.dumps(item), index + 1)
        except FormatError as error:
            raise BadPayload(f"item {index}: {str(error).removeprefix(f'line {index + 1}: ')}") from None
        name = probe_name_part(result.probe)
        events.append(
            AlertEvent(
                key=name,
                firing=result.state != "OK",
                state=result.state,
                name=name,
                output=result.output[:MAX_TEXT],
                labels={"probe": name},
                group_key=name,
                group_name=name,
                at=result.at,
                result_id=result.result_id,
                last_success=result.last_success,
                extra={"item": item},
            )
        )
    return events


# -- shared --------------------------------------------------------------------------------


def dedup_basis(*parts: str) -> str:
    """The result key of one alert's news: a digest of the parts that make a payload the
    same payload (a retry, a repeat), never of what may differ between two sends of it."""
    return "recv:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def probe_name_part(text: str) -> str:
    """A name's part from a sender: one line of printable text."""
    return " ".join(clean(text).split())[:PROBE_NAME_LIMIT] or "-"


def _severity(word: str) -> tuple[str, bool]:
    """(state, info) for a firing alert's severity; an unknown or missing one is CRITICAL:
    an alert that fires is a page unless it says otherwise."""
    state = _SEVERITY.get(word.strip().lower(), "CRITICAL")
    return state, state == "OK"


def _labels(value: Any, where: str, *, limit: int = MAX_LABEL_VALUE) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadPayload(f"{where} must be an object of text values")
    if len(value) > MAX_LABELS:
        raise BadPayload(f"{where} has {len(value)} entries, over {MAX_LABELS}")
    out = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise BadPayload(f"{where}.{str(key)[:60]} must be text, not {type(item).__name__}")
        if len(key) > 256 or len(item) > limit:
            raise BadPayload(f"{where}.{key[:60]} is over {limit} characters")
        out[key] = item
    return out


def _text(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str):
        raise BadPayload(f"{where} must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise BadPayload(f"{where} is over {limit} characters")
    return value


def _time(value: Any, where: str, *, required: bool) -> datetime | None:
    if value is None or value == "":
        if required:
            raise BadPayload(f"{where} is missing: give an RFC 3339 time")
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise BadPayload(f"{where} must be an RFC 3339 time")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    head, dot, rest = text.partition(".")
    if dot:  # Go writes nanoseconds; Python reads at most microseconds
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadPayload(f"{where}: {value[:40]!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise BadPayload(f"{where}: {value[:40]!r} has no time zone offset")
    if parsed.year <= 1:  # Go's zero time: "not set"
        return None
    return parsed.astimezone(UTC)


def stamp(value: datetime | None) -> str:
    """A time as an alert's result key takes it (`dedup_basis`)."""
    return value.isoformat() if value else ""


def _labels_text(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))[:MAX_TEXT]
