"""The post-incident record (DOMAIN.md §9): what happened and how it was handled,
drafted from the stored facts and the audit trail, for the operator to edit and file.

`draft` gathers; `markdown` and `as_json` present. Nothing here writes: filing is
`Service.file_record` (and `Service.close`, which files the draft as it stands).
Stored text (titles, notes, reasons) goes into the record as written; whoever prints
it to a terminal strips control characters, as for any stored text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from . import queries
from .calls import calls as calls_of
from .models import OutboxMessage
from .timeutil import rfc3339

FORMAT = "opsdeck-record/1"
_MARK = {"done": "x", "skipped": "-"}  # a playbook step in the record: [x] done, [-] skipped, [ ] not done


@dataclass(frozen=True)
class Draft:
    incident: dict[str, Any]  # queries.incident_detail: fields, notes, playbook
    cause: str | None  # the note of the newest "cause located"
    timeline: list[dict[str, Any]]  # oldest first: at, actor, action, what (a sentence)
    gradings: list[dict[str, Any]]  # classification and every re-grading, with the reason
    deadlines: list[dict[str, Any]]  # queries.incident_deadlines at the draft's moment
    obligations: list[dict[str, Any]]
    notifications: list[dict[str, Any]]
    calls: list[dict[str, Any]]  # the service desk's, contacts masked
    follow_ups: list[str]
    drafted_at: datetime


def draft(session: Session, incident_id: int, now: datetime) -> Draft:
    """Everything the record says, read in one transaction."""
    incident = queries.incident_detail(session, incident_id)  # NotFound names the fix
    trail = queries.audit_trail(session, incident_id)
    deadline_rows = queries.incident_deadlines(session, incident_id, now)
    obligations = queries.obligations(session, incident_id)
    notifications = _notifications(session, incident_id)
    calls = calls_of(session, incident_id)
    return Draft(
        incident=incident,
        cause=next((e["details"].get("note") for e in reversed(trail) if e["action"] == "cause"), None),
        timeline=[{**e, "what": describe(e["action"], e["details"])} for e in trail],
        gradings=[_grading(e) for e in trail if _is_grading(e)],
        deadlines=deadline_rows,
        obligations=obligations,
        notifications=notifications,
        calls=calls,
        follow_ups=_follow_ups(incident, deadline_rows, obligations, notifications, calls),
        drafted_at=now,
    )


def record_hash(text: str) -> str:
    """What the audit trail keeps of a filed record: its SHA-256 over UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- what each audited action says -----------------------------------------------------------


def _join(*parts: str | None) -> str:
    return ": ".join(p for p in parts if p)


_SENTENCES: dict[str, Callable[[dict[str, Any]], str]] = {
    "open": lambda d: _join(
        "opened" + (f" (reopened from #{d['reopened_from']})" if d.get("reopened_from") else ""), d.get("title")
    ),
    "ack": lambda d: "acknowledged",
    "classify": lambda d: (
        _join(
            f"re-graded from {d.get('from_category')}/{d.get('from_level') or '-'} to {d['category']}/{d['level']}",
            d.get("reason"),
        )
        if d.get("regrade")
        else _join(f"classified {d['category']}, level {d['level']}", d.get("reason"))
    ),
    "level": lambda d: _join(f"level {d.get('from_level') or '-'} -> {d['level']}", d.get("reason")),
    "assign": lambda d: f"assigned to {d['owner']}" + (f" (was {d['from_owner']})" if d.get("from_owner") else ""),
    "note": lambda d: _join("note" + (f" from probe {d['probe']}" if d.get("probe") else ""), d.get("text")),
    "step": lambda d: _join(f"playbook step {d['key']} {d['state']}", d.get("reason")),
    "cause": lambda d: _join("cause located", d.get("note")),
    "resolve": lambda d: _join("resolved", d.get("resolution")),
    "close": lambda d: _join(
        f"closed ({d.get('kind')})",
        d.get("reason") or (f"duplicate of #{d['duplicate_of']}" if d.get("duplicate_of") else None),
    ),
    "reopen": lambda d: _join("reopened", d.get("reason")),
    "call": lambda d: (
        f"service desk call {d['call']} from {d['caller']} ({d['contact']})"
        + (", call-back owed" if d.get("callback") else "")
    ),
    "callback": lambda d: _join(f"called back on call {d['call']}", d.get("note")),
    "reopened_as": lambda d: _join(f"closed, reopened as #{d['new_id']}", d.get("reason")),
    "outage": lambda d: _join(f"outage start set to {d['outage_started_at']}", d.get("reason")),
    "attest": lambda d: _join(
        f"{d['obligation']} done via {d.get('via')}" + (f" ({d['who']})" if d.get("who") else ""), d.get("note")
    ),
    "regrade": lambda d: _join(
        f"re-grade to {d.get('next_level')} " + ("confirmed" if d.get("confirmed") else "declined"), d.get("reason")
    ),
    "escalate": lambda d: (
        (
            f"deadline {d['rule']} breached ({_late(d.get('late_s'))} late), escalated to {_targets(d['targets'])}"
            if d.get("targets")
            else f"deadline {d['rule']} breached, nobody paged (already met or no longer applying)"
        )
        + (f"; level raised to {d['regraded']['to']}" if d.get("regraded") else "")
    ),
}


def _targets(targets: list[Any]) -> str:
    """Escalation targets as stored: {"kind", "to", "via"} (or a plain name in old events)."""
    return ", ".join(t["to"] if isinstance(t, dict) else str(t) for t in targets)


def describe(action: str, details: dict[str, Any]) -> str:
    """One audited event as a sentence; an action without a sentence lists its details."""
    sentence = _SENTENCES.get(action)
    if sentence is not None:
        try:
            return sentence(details)
        except (KeyError, TypeError):  # an older event without a field: say what is there
            pass
    shown = ", ".join(f"{k}={v}" for k, v in details.items() if v not in (None, "", [], {}))
    return _join(action, shown)


def _is_grading(event: dict[str, Any]) -> bool:
    if event["action"] in ("classify", "level"):
        return True
    return event["action"] == "regrade" and bool(event["details"].get("confirmed"))


def _grading(event: dict[str, Any]) -> dict[str, Any]:
    d = event["details"]
    return {
        "at": event["at"],
        "by": event["actor"],
        "category": d.get("category"),
        "level": d.get("level"),
        "from_category": d.get("from_category"),
        "from_level": d.get("from_level"),
        "reason": d.get("reason") or None,
    }


def _late(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _notifications(session: Session, incident_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(OutboxMessage).where(col(OutboxMessage.incident_id) == incident_id).order_by(col(OutboxMessage.id))
    ).scalars()
    return [
        {
            "event": m.event,
            "to": f"{m.recipient_kind}:{m.recipient}",
            "state": m.state,
            "attempts": m.attempts,
            "created_at": rfc3339(m.created_at),
            "sent_at": rfc3339(m.sent_at),
        }
        for m in rows
    ]


def _follow_ups(
    incident: dict[str, Any],
    deadline_rows: list[dict[str, Any]],
    obligations: list[dict[str, Any]],
    notifications: list[dict[str, Any]],
    calls: list[dict[str, Any]],
) -> list[str]:
    """What is still owed: for the operator to close out or carry into the record."""
    items = [f"playbook step not done: {s['title']}" for s in incident["playbook"] if s["state"] == "pending"]
    items += [f"obligation not attested: {o['en']}" for o in obligations if not o["attested"]]
    items += [
        f"deadline {d['key']} ({d['name']}) still {d['state']}"
        for d in deadline_rows
        if d["state"] in ("pending", "warning", "breached") and d["key"] != "record"
    ]
    undelivered = [n for n in notifications if n["state"] in ("failed", "dead")]
    if undelivered:
        items.append(
            f"{len(undelivered)} notification(s) not delivered: "
            + ", ".join(sorted({n["to"] for n in undelivered}))
            + " (opsdeck notify list)"
        )
    owed = [c for c in calls if c["callback"] and not c["called_back_at"]]
    if owed:
        items.append(f"{len(owed)} call-back(s) owed: " + ", ".join(f"call {c['id']} {c['caller']}" for c in owed))
    if incident["status"] not in ("resolved", "closed"):
        items.append(f"the incident is {incident['status']}, not resolved")
    if not incident.get("cause_located_at"):
        items.append("no cause recorded as located")
    return items


# -- presenting ----------------------------------------------------------------------------


def _local(text: str | None, zone: tzinfo) -> str:
    if not text:
        return "-"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _deadline_line(d: dict[str, Any], zone: tzinfo) -> str:
    name = f"{d['key']} ({d['name']}{' / ' + d['name_zh'] if d['name_zh'] else ''})"
    due = _local(d["due_at"], zone)
    if d["state"] == "met":
        return f"- {name}: met at {_local(d['met_at'], zone)}, due {due}"
    if d["state"] == "met_late":
        return f"- {name}: met late by {_late(d['late_s'])} at {_local(d['met_at'], zone)}, due {due}"
    if d["state"] == "breached":
        escalated = f", escalated to {_targets(d['escalated_to'])}" if d["escalated_to"] else ""
        return f"- {name}: BREACHED by {_late(-d['remaining_s'])}, due {due}{escalated}"
    return f"- {name}: {d['state']}, due {due}"


def markdown(d: Draft, zone: tzinfo) -> str:
    """The record as Markdown: the operator's prose goes under Summary and Lessons."""
    i = d.incident
    lines = [
        f"# Post-incident record: #{i['id']} {i['title']}",
        "",
        f"- Category / level: {i['category']} / {i['level'] or '-'}",
        f"- System: {i.get('system') or '-'}",
        f"- Owner: {i.get('owner') or '-'}; reported by {i.get('reporter') or '-'}",
        f"- Reported: {_local(i['reported_at'], zone)}",
        f"- Outage started: {_local(i.get('outage_started_at'), zone)}",
        f"- Acknowledged: {_local(i.get('acknowledged_at'), zone)}",
        f"- Cause located: {_local(i.get('cause_located_at'), zone)}",
        f"- Resolved: {_local(i.get('resolved_at'), zone)}",
        f"- Status when drafted: {i['status']} (drafted {_local(rfc3339(d.drafted_at), zone)})",
        "",
        "## Summary",
        "",
        i.get("description") or "(What happened and its impact, in your words.)",
        "",
        "## Cause",
        "",
        d.cause or "(not recorded: say what caused it)",
        "",
        "## Resolution",
        "",
        i.get("resolution") or "(not resolved yet)",
        "",
        "## Classification",
        "",
    ]
    lines += [
        f"- {_local(g['at'], zone)} {g['by']}: "
        + (f"{g['category']} / " if g["category"] else "")
        + f"level {g['from_level'] or '-'} -> {g['level']}"
        + (f" ({g['reason']})" if g["reason"] else "")
        for g in d.gradings
    ] or ["- never classified"]
    lines += ["", "## Deadlines", ""]
    lines += [_deadline_line(x, zone) for x in d.deadlines] or ["- none applied"]
    if d.obligations:
        lines += ["", "## Obligations (level III and above)", ""]
        for o in d.obligations:
            done = "; ".join(
                f"{a['by']} at {_local(a['at'], zone)} via {a['via']}"
                + (f" ({a['who']})" if a.get("who") else "")
                + (f": {a['note']}" if a.get("note") else "")
                for a in o["attested"]
            )
            lines.append(f"- {o['en']} / {o['zh']}: {done or 'NOT ATTESTED'}")
    lines += ["", "## Playbook", ""]
    lines += [
        f"- [{_MARK.get(s['state'], ' ')}] {s['title']}"
        + (f" (skipped: {s['reason']})" if s["state"] == "skipped" else "")
        + (f" ({s['by']} at {_local(s['at'], zone)})" if s["by"] else "")
        for s in i["playbook"]
    ] or ["- no playbook steps"]
    lines += ["", "## Notifications", ""]
    lines += [
        f"- {n['event']} to {n['to']}: {n['state']}"
        + (f" at {_local(n['sent_at'], zone)}" if n["sent_at"] else f" ({n['attempts']} attempts)")
        for n in d.notifications
    ] or ["- none"]
    lines += ["", "## Service desk calls", ""]
    lines += [
        f"- {_local(c['at'], zone)} {c['caller']} ({c['contact']}): {c['need']}"
        + (
            f"; called back by {c['called_back_by']} at {_local(c['called_back_at'], zone)}"
            if c["called_back_at"]
            else ("; CALL-BACK OWED" if c["callback"] else "")
        )
        for c in d.calls
    ] or ["- none logged"]
    lines += ["", "## Timeline", ""]
    lines += [f"- {_local(e['at'], zone)} {e['actor']}: {e['what']}" for e in d.timeline]
    if i["notes"]:
        lines += ["", "## Notes", ""]
        lines += [f"- {_local(n['at'], zone)} {n['author']}: {n['text']}" for n in i["notes"]]
    lines += ["", "## Open follow-ups", ""]
    lines += [f"- {f}" for f in d.follow_ups] or ["- none"]
    lines += ["", "## Lessons", "", "(What to change so it does not happen again.)", ""]
    return "\n".join(lines)


def as_json(d: Draft) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "drafted_at": rfc3339(d.drafted_at),
        "incident": d.incident,
        "cause": d.cause,
        "gradings": d.gradings,
        "deadlines": d.deadlines,
        "obligations": d.obligations,
        "notifications": d.notifications,
        "calls": d.calls,
        "timeline": d.timeline,
        "follow_ups": d.follow_ups,
    }
