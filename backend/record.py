"""The post-incident record (docs/plan.md#post-incident-record): what happened and how it was handled,
drafted from the stored facts and the audit trail, for the operator to edit and file.

`draft` gathers; `markdown` and `as_json` present. Nothing here writes: filing is
`Service.file_record` (and `Service.close`, which files the draft as it stands).
Stored text (titles, notes, reasons) goes into the record as written; whoever prints
it to a terminal strips control characters, as for any stored text.

The Markdown draft is in the language chosen when it is drafted (a filed record is kept
as written, never translated afterwards); the draft's data and `as_json` are English.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TypedDict

from sqlalchemy import select
from sqlmodel import Session, col

from . import queries, words
from .calls import CallRow
from .calls import calls as calls_of
from .i18n import _, pick, say, variants
from .models import OutboxMessage
from .rows import AuditEventRow, ClockItem, IncidentDetail, ObligationRow, PlaybookStepRow
from .sentences import category_label, describe, late_label, level_change, targets_label
from .timeutil import rfc3339

FORMAT = "opsdeck-record/1"


def _n(message: str) -> str:
    """A message for the catalog, translated where it is used."""
    return message


# The sections a person writes (docs/plan.md#post-incident-record): what happened, the
# cause, what was done, the lessons. A record where one is missing, empty or still the
# draft's placeholder is refused, whatever path files it.
REQUIRED = (
    ("summary", _n("## Summary"), (_n("(What happened and its impact, in your words.)"),)),
    ("cause", _n("## Cause"), (_n("(not recorded: say what caused it)"),)),
    ("resolution", _n("## Resolution"), (_n("(not resolved yet)"),)),
    ("lessons", _n("## Lessons"), (_n("(What to change so it does not happen again.)"),)),
)
_HEADING = re.compile(r"^#{1,6}\s")
_MARK = {"done": "x", "skipped": "-"}  # a playbook step in the record: [x] done, [-] skipped, [ ] not done


class TimelineEntry(AuditEventRow):
    """An audit event with what it did, as a sentence in English (`sentences.describe`)."""

    what: str


class Grading(TypedDict):
    """The classification or a re-grading, as its audit event's details tell it."""

    at: str
    by: str
    category: str | None  # None: a level-only change
    level: str  # every grading sets one
    from_category: str | None
    from_level: str | None
    reason: str | None


class NotificationRow(TypedDict):
    event: str
    to: str  # recipient kind and key: `member:lead`
    state: str
    attempts: int
    created_at: str
    sent_at: str | None


class RecordJson(TypedDict):
    """`report draft --json`: the draft's data, English, with `format` naming its shape."""

    format: str
    drafted_at: str
    incident: IncidentDetail
    cause: str | None
    gradings: list[Grading]
    deadlines: list[ClockItem]
    obligations: list[ObligationRow]
    notifications: list[NotificationRow]
    calls: list[CallRow]
    timeline: list[TimelineEntry]
    follow_ups: list[str]


@dataclass(frozen=True)
class Draft:
    incident: IncidentDetail  # queries.incident_detail: fields, notes, playbook
    cause: str | None  # the note of the newest "cause located"
    timeline: list[TimelineEntry]  # oldest first
    gradings: list[Grading]  # classification and every re-grading, with the reason
    deadlines: list[ClockItem]  # queries.incident_deadlines at the draft's moment
    obligations: list[ObligationRow]
    notifications: list[NotificationRow]
    calls: list[CallRow]  # the service desk's, contacts masked
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


NOTE_INDENT = " " * 6  # the list item's two, and an indented code block's four


def missing_sections(text: str) -> list[str]:
    """The required sections (keys of `REQUIRED`) that `text` leaves missing, empty or
    at the draft's placeholder, in either language."""
    headings = {v.strip().casefold(): key for key, heading, _p in REQUIRED for v in variants(heading)}
    placeholders = {v.strip() for _k, _h, texts in REQUIRED for p in texts for v in variants(p)}
    filled: set[str] = set()
    current: str | None = None
    body: list[str] = []
    for line in [*text.splitlines(), "# end"]:
        if not _HEADING.match(line):
            body.append(line)
            continue
        written = "\n".join(body).strip()
        if current is not None and written and written not in placeholders:
            filled.add(current)
        current, body = headings.get(line.strip().casefold()), []
    return [key for key, _h, _p in REQUIRED if key not in filled]


def section_names(keys: list[str]) -> str:
    """`Summary, Lessons`: the sections as their headings say, in the chosen language."""
    names = {
        "summary": _("## Summary"),
        "cause": _("## Cause"),
        "resolution": _("## Resolution"),
        "lessons": _("## Lessons"),
    }
    return ", ".join(names[k].lstrip("#").strip() for k in keys)


def record_hash(text: str) -> str:
    """What the audit trail keeps of a filed record: its SHA-256 over UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_grading(event: AuditEventRow) -> bool:
    if event["action"] in ("classify", "level"):
        return True
    return event["action"] == "regrade" and bool(event["details"].get("confirmed"))


def _grading(event: AuditEventRow) -> Grading:
    d = event["details"]
    return {
        "at": event["at"],
        "by": event["actor"],
        "category": d.get("category"),
        "level": d["level"],  # as `sentences.describe` reads it: every grading sets one
        "from_category": d.get("from_category"),
        "from_level": d.get("from_level"),
        "reason": d.get("reason") or None,
    }


def _notifications(session: Session, incident_id: int) -> list[NotificationRow]:
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
    incident: IncidentDetail,
    deadline_rows: list[ClockItem],
    obligations: list[ObligationRow],
    notifications: list[NotificationRow],
    calls: list[CallRow],
    english: bool = True,
) -> list[str]:
    """What is still owed: for the operator to close out or carry into the record."""
    en = english
    items = [
        say(
            en,
            "playbook step not done: {title}",
            title=s["title"] if en else pick(s["title"], s.get("title_zh") or ""),
        )
        for s in incident["playbook"]
        if s["state"] == "pending"
    ]
    items += [
        say(
            en,
            "obligation not attested: {obligation}",
            obligation=o["en"] if en else pick(o["en"], o["zh"]),
        )
        for o in obligations
        if not o["attested"]
    ]
    items += [
        _still(d, en)
        for d in deadline_rows
        if d["state"] in ("pending", "warning", "breached") and d["key"] != "record" and not d.get("superseded_at")
    ]
    undelivered = [n for n in notifications if n["state"] in ("failed", "dead")]
    if undelivered:
        items.append(
            say(
                en,
                "{count} notification(s) not delivered: {recipients} (opsdeck notify list)",
                count=len(undelivered),
                recipients=", ".join(sorted({n["to"] for n in undelivered})),
            )
        )
    owed = [c for c in calls if c["callback"] and not c["called_back_at"]]
    if owed:
        each = ", ".join(say(en, "call {id} {caller}", id=c["id"], caller=c["caller"]) for c in owed)
        items.append(
            say(
                en,
                "{count} call-back(s) owed: {calls}",
                count=len(owed),
                calls=each,
            )
        )
    if incident["status"] not in ("resolved", "closed"):
        items.append(
            say(
                en,
                "the incident is {status}, not resolved",
                status=incident["status"] if en else words.status(incident["status"]),
            )
        )
    if not incident.get("cause_located_at"):
        items.append(say(en, "no cause recorded as located"))
    return items


def _still(d: ClockItem, en: bool) -> str:
    """A deadline not met yet, as a follow-up."""
    if en:
        return f"deadline {d['key']} ({d['name']}) still {d['state']}"
    said = {
        "pending": _("deadline {key} ({name}) still pending"),
        "warning": _("deadline {key} ({name}) still warning"),
        "breached": _("deadline {key} ({name}) still breached"),
    }
    return said[d["state"]].format(key=d["key"], name=pick(d["name"], d["name_zh"]))


# -- presenting ----------------------------------------------------------------------------
#
# The Markdown draft is in the language chosen when it is drafted; filed, it is stored as
# written. Text the policy gives in both languages is shown in English with its Chinese
# beside it, or in a Chinese draft in Chinese alone (`pick`).


def _local(text: str | None, zone: tzinfo) -> str:
    if not text:
        return "-"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _deadline_line(d: ClockItem, zone: tzinfo) -> str:
    both = f"{d['name']}{' / ' + d['name_zh'] if d['name_zh'] else ''}"
    name = _("{key} ({name})").format(key=d["key"], name=pick(both, d["name_zh"]))
    due = _local(d["due_at"], zone)
    if d["state"] == "met":
        return _("- {name}: met at {met}, due {due}").format(name=name, met=_local(d["met_at"], zone), due=due)
    if d["state"] == "met_late":
        return _("- {name}: met late by {late} at {met}, due {due}").format(
            name=name, late=late_label(d["late_s"]), met=_local(d["met_at"], zone), due=due
        )
    if d["state"] == "breached":
        late = late_label(-d["remaining_s"])
        if d["escalated_to"]:
            line = _("- {name}: BREACHED by {late}, due {due}, escalated to {targets}").format(
                name=name, late=late, due=due, targets=targets_label(d["escalated_to"])
            )
        else:
            line = _("- {name}: BREACHED by {late}, due {due}").format(name=name, late=late, due=due)
        if d["superseded_at"]:
            line += _(" (replaced at {at}; the breach stands)").format(at=_local(d["superseded_at"], zone))
        return line
    if d["state"] == "waived":
        return _("- {name}: waived: closed at {at} by {by}, before it was due ({due})").format(
            name=name, at=_local(d["waived_at"], zone), by=d["waived_by"] or "-", due=due
        )
    if d["state"] == "superseded":
        return _("- {name}: superseded at {at}, before it was due ({due})").format(
            name=name, at=_local(d["superseded_at"], zone), due=due
        )
    said = {"pending": _("- {name}: pending, due {due}"), "warning": _("- {name}: warning, due {due}")}
    return said.get(d["state"], _("- {name}: {state}, due {due}")).format(name=name, state=d["state"], due=due)


def _line(at: str | None, who: str, what: str, zone: tzinfo) -> str:
    """A timeline, classification or note line: when, who, what. Text of several lines
    (a note) follows as a code block inside the item, so that its `#`, `*`, `|` and
    blank lines stay text and never become the record's headings, lists or tables."""
    if "\n" not in what.strip("\n"):
        return _("- {at} {who}: {what}").format(at=_local(at, zone), who=who, what=what.strip("\n"))
    said = _("- {at} {who}: {what}").format(at=_local(at, zone), who=who, what="").rstrip()
    return said + "\n\n" + "\n".join(f"{NOTE_INDENT}{line}".rstrip() for line in what.strip("\n").splitlines()) + "\n"


def _grading_line(g: Grading, zone: tzinfo) -> str:
    levels = {"from_level": g["from_level"] or "-", "level": g["level"]}
    if g["category"]:
        category = category_label(g["category"], False)
        change = _("{category} / level {from_level} -> {level}").format(category=category, **levels)
    else:
        change = level_change(g["from_level"], g["level"], False)
    if g["reason"]:
        change += _(" ({reason})").format(reason=g["reason"])
    return _line(g["at"], g["by"], change, zone)


def _obligation_line(o: ObligationRow, zone: tzinfo) -> str:
    done = pick("; ", "；").join(
        _("{by} at {at} via {via}").format(by=a["by"], at=_local(a["at"], zone), via=a["via"])
        + (_(" ({who})").format(who=a["who"]) if a.get("who") else "")
        + (_(": {note}").format(note=a["note"]) if a.get("note") else "")
        for a in o["attested"]
    )
    return _("- {obligation}: {attested}").format(
        obligation=pick(f"{o['en']} / {o['zh']}", o["zh"]), attested=done or _("NOT ATTESTED")
    )


def _step_line(s: PlaybookStepRow, zone: tzinfo) -> str:
    line = f"- [{_MARK.get(s['state'], ' ')}] {pick(s['title'], s.get('title_zh') or '')}"
    if s["state"] == "skipped":
        line += _(" (skipped: {reason})").format(reason=s["reason"])
    if s["by"]:
        line += _(" ({by} at {at})").format(by=s["by"], at=_local(s["at"], zone))
    return line


def _notification_line(n: NotificationRow, zone: tzinfo) -> str:
    values = {"event": n["event"], "to": n["to"], "state": n["state"]}
    if n["sent_at"]:
        sent = _("- {event} to {to}: sent at {at}") if n["state"] == "sent" else _("- {event} to {to}: {state} at {at}")
        return sent.format(at=_local(n["sent_at"], zone), **values)
    said = {
        "pending": _("- {event} to {to}: pending ({attempts} attempts)"),
        "sending": _("- {event} to {to}: sending ({attempts} attempts)"),
        "failed": _("- {event} to {to}: failed ({attempts} attempts)"),
        "dead": _("- {event} to {to}: dead ({attempts} attempts)"),
    }
    unsent = said.get(n["state"], _("- {event} to {to}: {state} ({attempts} attempts)"))
    return unsent.format(attempts=n["attempts"], **values)


def _call_line(c: CallRow, zone: tzinfo) -> str:
    line = _("- {at} {caller} ({contact}): {need}").format(
        at=_local(c["at"], zone), caller=c["caller"], contact=c["contact"], need=c["need"]
    )
    if c["called_back_at"]:
        return line + _("; called back by {by} at {at}").format(
            by=c["called_back_by"], at=_local(c["called_back_at"], zone)
        )
    return line + (_("; CALL-BACK OWED") if c["callback"] else "")


def markdown(d: Draft, zone: tzinfo) -> str:
    """The record as Markdown, in the language chosen: the operator's prose goes under
    Summary and Lessons."""
    i = d.incident
    lines = [
        _("# Post-incident record: #{id} {title}").format(id=i["id"], title=i["title"]),
        "",
        _("- Category / level: {category} / {level}").format(
            category=category_label(i["category"], False), level=i["level"] or "-"
        ),
        _("- System: {system}").format(system=i.get("system") or "-"),
        _("- Owner: {owner}; reported by {reporter}").format(
            owner=i.get("owner") or "-", reporter=i.get("reporter") or "-"
        ),
        _("- Reported: {at}").format(at=_local(i["reported_at"], zone)),
        _("- Outage started: {at}").format(at=_local(i.get("outage_started_at"), zone)),
        _("- Acknowledged: {at}").format(at=_local(i.get("acknowledged_at"), zone)),
        _("- Cause located: {at}").format(at=_local(i.get("cause_located_at"), zone)),
        _("- Resolved: {at}").format(at=_local(i.get("resolved_at"), zone)),
        _("- Status when drafted: {status} (drafted {at})").format(
            status=words.status(i["status"]), at=_local(rfc3339(d.drafted_at), zone)
        ),
        "",
        _("## Summary"),
        "",
        i.get("description") or _("(What happened and its impact, in your words.)"),
        "",
        _("## Cause"),
        "",
        d.cause or _("(not recorded: say what caused it)"),
        "",
        _("## Resolution"),
        "",
        i.get("resolution") or _("(not resolved yet)"),
        "",
        _("## Classification"),
        "",
    ]
    lines += [_grading_line(g, zone) for g in d.gradings] or [_("- never classified")]
    lines += ["", _("## Deadlines"), ""]
    lines += [_deadline_line(x, zone) for x in d.deadlines] or [_("- none applied")]
    if d.obligations:
        lines += ["", _("## Obligations (level III and above)"), ""]
        lines += [_obligation_line(o, zone) for o in d.obligations]
    lines += ["", _("## Playbook"), ""]
    lines += [_step_line(s, zone) for s in i["playbook"]] or [_("- no playbook steps")]
    lines += ["", _("## Notifications"), ""]
    lines += [_notification_line(n, zone) for n in d.notifications] or [_("- none")]
    lines += ["", _("## Service desk calls"), ""]
    lines += [_call_line(c, zone) for c in d.calls] or [_("- none logged")]
    lines += ["", _("## Timeline"), ""]
    lines += [_line(e["at"], e["actor"], describe(e["action"], e["details"], english=False), zone) for e in d.timeline]
    if i["notes"]:
        lines += ["", _("## Notes"), ""]
        lines += [_line(n["at"], n["author"], n["text"], zone) for n in i["notes"]]
    follow_ups = _follow_ups(i, d.deadlines, d.obligations, d.notifications, d.calls, english=False)
    lines += ["", _("## Open follow-ups"), ""]
    lines += [f"- {f}" for f in follow_ups] or [_("- none")]
    lines += ["", _("## Lessons"), "", _("(What to change so it does not happen again.)"), ""]
    return "\n".join(lines)


def as_json(d: Draft) -> RecordJson:
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
