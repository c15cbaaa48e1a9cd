"""The read side: Core queries that return plain dicts (JSON-ready), fast at 100k rows.

JSON keys and enum values are English and stable; `schema_version` tells consumers
which shape they are reading.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session, col

from .domain import OPEN_STATUSES, Status, no_incident

# The listing runs on Core alone (backend/listing.py); its names are the read side's too.
from .listing import JSON_SCHEMA_VERSION as JSON_SCHEMA_VERSION
from .listing import STATUS_FILTERS as STATUS_FILTERS
from .listing import TIMESTAMPS as TIMESTAMPS
from .listing import IncidentFilter as IncidentFilter
from .listing import count_incidents as count_incidents
from .listing import get_incident as get_incident
from .listing import incident_row as incident_row
from .listing import iter_incidents as iter_incidents
from .models import (
    Contact,
    Incident,
    IncidentDeadline,
    IncidentNote,
    PlaybookStep,
    RosterMember,
    System,
    table_of,
)
from .rows import (
    AuditEventRow,
    ClockItem,
    ContactRow,
    IncidentDetail,
    NextDeadline,
    ObligationRow,
    OutboxRow,
    RosterRow,
    SystemRow,
)
from .timeutil import rfc3339

if TYPE_CHECKING:
    from .deadlines import Rule

_I = table_of(Incident).c


def incident_detail(session: Session, incident_id: int) -> IncidentDetail:
    row = get_incident(session, incident_id)
    notes = session.execute(
        select(IncidentNote).where(col(IncidentNote.incident_id) == incident_id).order_by(col(IncidentNote.id))
    ).scalars()
    steps = session.execute(
        select(PlaybookStep).where(col(PlaybookStep.incident_id) == incident_id).order_by(col(PlaybookStep.position))
    ).scalars()
    return {
        **row,
        "notes": [{"at": rfc3339(n.at), "author": n.author, "text": n.text} for n in notes],
        "playbook": [
            {
                "key": s.key,
                "category": s.category,
                "title": s.title,
                "title_zh": s.title_zh,
                "state": s.state,
                "reason": s.reason,
                "by": s.done_by,
                "at": rfc3339(s.done_at),
            }
            for s in steps
        ],
    }


def audit_trail(session: Session, incident_id: int | None) -> list[AuditEventRow]:
    from .audit import incident_chain  # the trail's modules: not for a listing (CLI start)

    return audit_trail_of(session, incident_chain(incident_id) if incident_id is not None else "system")


def audit_trail_of(session: Session, chain: str) -> list[AuditEventRow]:
    """One hash chain's events, oldest first (`incident:ID`, `warning:ID` or `system`)."""
    from .models import AuditEvent

    rows = session.execute(
        select(AuditEvent).where(col(AuditEvent.chain) == chain).order_by(col(AuditEvent.seq))
    ).scalars()
    return [
        {
            "seq": e.seq,
            "at": rfc3339(e.at),
            "actor": e.actor,
            "action": e.action,
            "details": json.loads(e.details),
            "hash": e.hash,
        }
        for e in rows
    ]


def roster(session: Session, now: datetime | None = None) -> list[RosterRow]:
    """The members; `on_duty` is the duty schedule's answer at `now` (default the
    present): on any duty, `on_duty_for` which."""
    from . import schedule
    from .timeutil import utcnow

    at = now or utcnow()
    sched = schedule.load(session, at)
    duties_on: dict[str, list[str]] = {}
    for duty in (*schedule.DUTIES, schedule.NO_AREA):
        for login in sched.logins(duty, at):
            duties_on.setdefault(login, []).append(duty)
    owned = dict(
        session.execute(
            select(_I.owner, func.count())
            .where(and_(_I.owner.is_not(None), _I.status.in_([s.value for s in OPEN_STATUSES])))
            .group_by(_I.owner)
        ).all()
    )
    members = session.execute(select(RosterMember).order_by(col(RosterMember.login))).scalars()
    return [
        {
            "login": m.login,
            "name": m.name,
            "permission": m.permission,
            "duties": list(m.duties),
            "on_duty": bool(duties_on.get(m.login)) and m.permission != "viewer",
            "on_duty_for": [d for d in duties_on.get(m.login, []) if d != schedule.NO_AREA]
            if m.permission != "viewer"
            else [],
            "phone": m.phone,
            "email": m.email,
            "open_incidents": owned.get(m.login, 0),
            "demo": m.demo,
            "lang": m.lang or None,
        }
        for m in members
    ]


def contacts(session: Session) -> list[ContactRow]:
    rows = session.execute(select(Contact).order_by(col(Contact.kind), col(Contact.key))).scalars()
    return [
        {
            "key": c.key,
            "name": c.name,
            "kind": c.kind,
            "phone": c.phone,
            "email": c.email,
            "note": c.note,
            "lang": c.lang or None,
        }
        for c in rows
    ]


def systems(session: Session) -> list[SystemRow]:
    rows = session.execute(select(System).order_by(col(System.name))).scalars().all()
    names = {s.id: s.name for s in rows}
    return [
        {
            "name": s.name,
            "duty_area": s.duty_area,
            "vendor_contact": s.vendor_contact,
            "maintenance_contract": s.maintenance_contract,
            "parent": names.get(s.parent_id),
            "description": s.description,
        }
        for s in rows
    ]


def level_counts(session: Session) -> dict[str, int]:
    # GROUP BY the column itself: PostgreSQL takes two coalesce(level, $n) for two expressions.
    rows = session.execute(
        select(_I.level, func.count()).where(_I.status.in_([s.value for s in OPEN_STATUSES])).group_by(_I.level)
    ).all()
    counts = {"I": 0, "II": 0, "III": 0, "IV": 0, "none": 0}
    counts.update({level or "none": count for level, count in rows})
    return counts


__all__ = ["STATUS_FILTERS", "IncidentFilter", "Status"]


def incident_deadlines(session: Session, incident_id: int, now: datetime) -> list[ClockItem]:
    """Every clock of the incident, with its state at `now`: those that apply, and those a
    change replaced (`superseded_at` set; same key, told apart by `clock_start`)."""
    from . import clocks
    from .models import Escalation, Incident, IncidentDeadline

    incident = session.get(Incident, incident_id)
    if incident is None:
        raise no_incident(incident_id)
    rules = clocks.load_policy(session, incident.policy_version).deadlines
    escalated = {
        (e.rule, e.clock_key): e.targets
        for e in session.execute(select(Escalation).where(col(Escalation.incident_id) == incident_id)).scalars()
    }
    # Superseded clocks too: a breach replaced by a re-grade's new clock stays on record.
    rows = session.execute(
        select(IncidentDeadline)
        .where(col(IncidentDeadline.incident_id) == incident_id)
        .order_by(col(IncidentDeadline.due_at), col(IncidentDeadline.id))  # ties in the order they were set
    ).scalars()
    # A closed incident's clocks are read as they stood at the close: a breach stops
    # growing there (nobody can act on a closed incident), and stays a breach.
    at = min(now, incident.closed_at) if incident.closed_at is not None else now
    return [clock_item(row, rules.rule(row.rule), at, escalated.get((row.rule, row.clock_key), [])) for row in rows]


class StoredClock(Protocol):
    """What `clock_item` reads of a clock: a stored `IncidentDeadline` or a replayed
    `replay.ClockRow` (`waived_at`, `waived_by` read with getattr: older rows lack them)."""

    @property
    def rule(self) -> str: ...
    @property
    def clock_key(self) -> str: ...
    @property
    def clock_start(self) -> datetime: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def warn_at(self) -> datetime: ...
    @property
    def met_at(self) -> datetime | None: ...
    @property
    def superseded_at(self) -> datetime | None: ...
    @property
    def escalated_at(self) -> datetime | None: ...
    @property
    def next_level(self) -> str | None: ...


def clock_item(clock: StoredClock, rule: Rule | None, now: datetime, escalated_to: list[Any]) -> ClockItem:
    """One clock as the detail, the JSON and the replay show it: its rule's names, its
    times, and its state at `now`. `clock` is a stored deadline row or a replayed clock."""
    from . import deadlines

    st = deadlines.state(clock, now)
    return {
        "key": clock.rule,
        "name": rule.name if rule else clock.rule,
        "name_zh": rule.name_zh if rule else "",
        "clock": clock.clock_key,
        "clock_start": rfc3339(clock.clock_start),
        "due_at": rfc3339(clock.due_at),
        "immediate": bool(rule and rule.immediate),
        "state": st.state,
        "remaining_s": round(st.remaining_s),
        "late_s": None if st.late_s is None else round(st.late_s),
        "met_at": rfc3339(clock.met_at),
        "waived_at": rfc3339(getattr(clock, "waived_at", None)),
        "waived_by": getattr(clock, "waived_by", None),
        "superseded_at": rfc3339(clock.superseded_at),
        "escalate_to": list(rule.escalate_to) if rule else [],
        "escalated_at": rfc3339(clock.escalated_at),
        "escalated_to": escalated_to,
        "next_level": clock.next_level,
    }


def next_deadline(items: list[ClockItem]) -> NextDeadline | None:
    """The clock that ranks the incident (backend/ranking.py): the one the board's row
    names and counts down. `pressing` is true when it is a reporting clock in warning or
    breached (it ranks above every housekeeping clock). A superseded clock is history,
    not what is owed now."""
    from .ranking import ranking_clock

    owed = [d for d in items if d["state"] in ("pending", "warning", "breached") and not d.get("superseded_at")]
    first, pressing = ranking_clock(
        owed,
        rule=lambda d: d["key"],
        # By time, not by text: "...:00.5Z" sorts before "...:00Z" as a string.
        due=lambda d: datetime.fromisoformat(d["due_at"].replace("Z", "+00:00")),
        pressing=lambda d: d["state"] in ("warning", "breached"),
    )
    if first is None:
        return None
    return {
        "key": first["key"],
        "name": first["name"],
        "name_zh": first["name_zh"],
        "due_at": first["due_at"],
        "state": first["state"],
        "remaining_s": first["remaining_s"],
        "next_level": first["next_level"],
        "pressing": pressing,
    }


def obligations(session: Session, incident_id: int) -> list[ObligationRow]:
    """The level III+ checklist with who attested what, when and how."""
    from . import clocks
    from .models import Attestation, Incident

    incident = session.get(Incident, incident_id)
    if incident is None or not incident.level or incident.level not in ("III", "II", "I"):
        return []
    specs = clocks.load_policy(session, incident.policy_version).deadlines.obligations
    rows = (
        session.execute(
            select(Attestation).where(col(Attestation.incident_id) == incident_id).order_by(col(Attestation.at))
        )
        .scalars()
        .all()
    )
    return [
        {
            "key": o.key,
            "en": o.en,
            "zh": o.zh,
            "attested": [
                {"at": rfc3339(a.at), "by": a.by, "via": a.channel, "note": a.note, "who": a.who}
                for a in rows
                if a.key == o.key
            ],
        }
        for o in specs
    ]


def open_clocks(session: Session, incident_ids: list[int], now: datetime) -> dict[int, tuple[IncidentDeadline, bool]]:
    """For each incident, the clock that ranks it at `now` (backend/ranking.py: the one the
    board counts down) and whether it is a pressing reporting clock."""
    from .ranking import ranking_clock

    running: dict[int, list[IncidentDeadline]] = {}
    for start in range(0, len(incident_ids), 500):
        rows = session.execute(
            select(IncidentDeadline).where(
                col(IncidentDeadline.incident_id).in_(incident_ids[start : start + 500]),
                col(IncidentDeadline.met_at).is_(None),
                col(IncidentDeadline.waived_at).is_(None),
                col(IncidentDeadline.superseded_at).is_(None),
            )
        ).scalars()
        for row in rows:
            running.setdefault(row.incident_id, []).append(row)
    found: dict[int, tuple[IncidentDeadline, bool]] = {}
    for incident_id, clocks in running.items():
        clock, pressing = ranking_clock(
            clocks, rule=lambda c: c.rule, due=lambda c: c.due_at, pressing=lambda c: now >= c.warn_at
        )
        if clock is not None:
            found[incident_id] = (clock, pressing)
    return found


def recent_originals(session: Session, exclude: set[int], limit: int = 200) -> list[tuple[str, str]]:
    """What an incident may be closed as a duplicate of: the newest incidents that are
    not duplicates themselves (a picker, not a listing of years)."""
    rows = session.execute(
        select(_I.id, _I.title)
        .where(or_(_I.close_kind.is_(None), _I.close_kind != "duplicate"), _I.id.not_in(exclude or {-1}))
        .order_by(_I.id.desc())
        .limit(limit)
    ).all()
    return [(str(row.id), f"#{row.id} {row.title}") for row in rows]


def outbox(session: Session, state: str | None = None, limit: int = 1000) -> list[OutboxRow]:
    """`notify list`: newest first; URLs never appear here (payloads carry no channel)."""
    from .models import OutboxMessage

    o = table_of(OutboxMessage).c
    query = select(
        o.id,
        o.idempotency_key,
        o.event,
        o.recipient_kind,
        o.recipient,
        o.channel,
        o.state,
        o.attempts,
        o.last_error,
        o.next_attempt_at,
        o.created_at,
        o.sent_at,
        o.incident_id,
    )
    if state:
        query = query.where(o.state == state)
    rows = session.execute(query.order_by(o.id.desc()).limit(limit)).all()
    return [
        {
            "id": r.id,
            "key": r.idempotency_key,
            "event": r.event,
            "recipient_kind": r.recipient_kind,
            "recipient": r.recipient,
            "channel": r.channel,
            "state": r.state,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "next_attempt_at": rfc3339(r.next_attempt_at),
            "created_at": rfc3339(r.created_at),
            "sent_at": rfc3339(r.sent_at),
            "incident_id": r.incident_id,
        }
        for r in rows
    ]
