"""The read side: Core queries that return plain dicts (JSON-ready), fast at 100k rows.

JSON keys and enum values are English and stable; `schema_version` tells consumers
which shape they are reading.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlmodel import Session

from .audit import incident_chain
from .domain import OPEN_STATUSES, Status
from .errors import NotFound
from .models import (
    AuditEvent,
    Contact,
    Incident,
    IncidentNote,
    PlaybookStep,
    RosterMember,
    System,
)
from .timeutil import rfc3339

JSON_SCHEMA_VERSION = 1
TIMESTAMPS = (
    "reported_at",
    "outage_started_at",
    "acknowledged_at",
    "classified_at",
    "cause_located_at",
    "resolved_at",
    "record_filed_at",
    "closed_at",
)
_I = Incident.__table__.c  # type: ignore[attr-defined]
_S = System.__table__.c  # type: ignore[attr-defined]
_COLUMNS = [
    _I.id,
    _I.version,
    _I.title,
    _I.description,
    _I.category,
    _I.level,
    _I.status,
    _I.owner,
    _I.reporter,
    _S.name.label("system"),
    *(_I[name] for name in TIMESTAMPS),
    _I.resolution,
    _I.close_kind,
    _I.close_reason,
    _I.duplicate_of,
    _I.reopened_from,
    _I.policy_version,
    _I.next_due_at,
    _I.updated_at,
    _I.updated_by,
]
STATUS_FILTERS = ("open", "reported", "acknowledged", "resolved", "closed", "all")


@dataclass(frozen=True)
class IncidentFilter:
    status: str = "open"
    level: str | None = None
    category: str | None = None
    system: str | None = None
    owner: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    grep: str | None = None


def _base() -> Select[Any]:
    return select(*_COLUMNS).select_from(Incident.__table__.outerjoin(System.__table__, _I.system_id == _S.id))  # type: ignore[attr-defined]


def _where(query: Select[Any], f: IncidentFilter) -> Select[Any]:
    if f.status == "open":
        query = query.where(_I.status.in_([s.value for s in OPEN_STATUSES]))
    elif f.status != "all":
        query = query.where(_I.status == f.status)
    if f.level:
        query = query.where(_I.level == f.level)
    if f.category:
        query = query.where(_I.category == f.category)
    if f.system:
        query = query.where(_S.name == f.system)
    if f.owner:
        query = query.where(_I.owner == f.owner)
    if f.since:
        query = query.where(_I.reported_at >= f.since)
    if f.until:
        query = query.where(_I.reported_at < f.until)
    if f.grep:
        pattern = f"%{f.grep.lower()}%"
        query = query.where(or_(func.lower(_I.title).like(pattern), func.lower(_I.description).like(pattern)))
    return query


def incident_row(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    for key in (*TIMESTAMPS, "next_due_at", "updated_at"):
        data[key] = rfc3339(data[key])
    data["schema_version"] = JSON_SCHEMA_VERSION
    return data


def iter_incidents(session: Session, f: IncidentFilter, *, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Keyset pages by id, so a 100k listing streams in constant memory."""
    last = 0
    while True:
        rows = session.execute(_where(_base(), f).where(_I.id > last).order_by(_I.id).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield incident_row(row)
        last = rows[-1].id


def count_incidents(session: Session, f: IncidentFilter) -> int:
    query = _where(
        select(func.count()).select_from(Incident.__table__.outerjoin(System.__table__, _I.system_id == _S.id)), f
    )  # type: ignore[attr-defined]
    return int(session.execute(query).scalar_one())


def get_incident(session: Session, incident_id: int) -> dict[str, Any]:
    row = session.execute(_base().where(_I.id == incident_id)).first()
    if row is None:
        raise NotFound(
            "no_incident",
            f"incident #{incident_id} does not exist",
            "list incidents with `opsdeck incident list --status all`",
            id=incident_id,
        )
    return incident_row(row)


def incident_detail(session: Session, incident_id: int) -> dict[str, Any]:
    data = get_incident(session, incident_id)
    notes = session.execute(
        select(IncidentNote).where(IncidentNote.incident_id == incident_id).order_by(IncidentNote.id)  # type: ignore[arg-type]
    ).scalars()
    data["notes"] = [{"at": rfc3339(n.at), "author": n.author, "text": n.text} for n in notes]
    steps = session.execute(
        select(PlaybookStep).where(PlaybookStep.incident_id == incident_id).order_by(PlaybookStep.position)  # type: ignore[arg-type]
    ).scalars()
    data["playbook"] = [
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
    ]
    return data


def audit_trail(session: Session, incident_id: int | None) -> list[dict[str, Any]]:
    chain = incident_chain(incident_id) if incident_id is not None else "system"
    rows = session.execute(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)  # type: ignore[arg-type]
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


def roster(session: Session) -> list[dict[str, Any]]:
    owned = dict(
        session.execute(
            select(_I.owner, func.count())
            .where(and_(_I.owner.is_not(None), _I.status.in_([s.value for s in OPEN_STATUSES])))
            .group_by(_I.owner)
        ).all()
    )
    members = session.execute(select(RosterMember).order_by(RosterMember.login)).scalars()  # type: ignore[arg-type]
    return [
        {
            "login": m.login,
            "name": m.name,
            "permission": m.permission,
            "duties": list(m.duties),
            "on_duty": m.on_duty,
            "phone": m.phone,
            "email": m.email,
            "open_incidents": owned.get(m.login, 0),
            "demo": m.demo,
        }
        for m in members
    ]


def contacts(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(Contact).order_by(Contact.kind, Contact.key)).scalars()  # type: ignore[arg-type]
    return [
        {"key": c.key, "name": c.name, "kind": c.kind, "phone": c.phone, "email": c.email, "note": c.note} for c in rows
    ]


def systems(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(System).order_by(System.name)).scalars().all()  # type: ignore[arg-type]
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
    rows = session.execute(
        select(func.coalesce(_I.level, "none"), func.count())
        .where(_I.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(func.coalesce(_I.level, "none"))
    ).all()
    counts = {"I": 0, "II": 0, "III": 0, "IV": 0, "none": 0}
    counts.update({k: v for k, v in rows})
    return counts


__all__ = ["STATUS_FILTERS", "IncidentFilter", "Status"]
