"""Who must be told, written as outbox rows in the transaction of the cause.

These are the default routes (DOMAIN.md §3): a new incident goes to the operators on
duty; a classification at level III or above goes to the group lead(s), leadership
(所领导) and every business department (各业务部室). Delivery, channels and routing
from a file are the notifications issue; here the rows are only written, one per
recipient, even when the recipient has no channel yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from .domain import ContactKind, Level, Permission
from .models import Contact, Incident, RosterMember
from .store import UnitOfWork
from .timeutil import rfc3339


def after(uow: UnitOfWork, action: str, incident: Incident, details: dict[str, Any], seq: int) -> None:
    if action == "open":
        _new_incident(uow, incident, seq)
    if action in ("open", "classify", "level") and _reached_level_iii(incident, details):
        _level_iii(uow, incident, seq)


def _reached_level_iii(incident: Incident, details: dict[str, Any]) -> bool:
    if not incident.level or Level(incident.level).rank < Level.III.rank:
        return False
    before = details.get("from_level")
    return before is None or Level(before).rank < Level.III.rank


def _payload(incident: Incident, event: str) -> dict[str, Any]:
    return {
        "event": event,
        "incident": {
            "id": incident.id,
            "title": incident.title,
            "category": incident.category,
            "level": incident.level,
            "status": incident.status,
            "reported_at": rfc3339(incident.reported_at),
        },
    }


def _new_incident(uow: UnitOfWork, incident: Incident, seq: int) -> None:
    logins = uow.session.execute(
        select(col(RosterMember.login)).where(
            col(RosterMember.on_duty).is_(True),
            col(RosterMember.permission) != Permission.VIEWER.value,
        )
    ).scalars()
    for login in logins:
        _row(uow, incident, seq, "new_incident", "member", login)


def _level_iii(uow: UnitOfWork, incident: Incident, seq: int) -> None:
    leads = uow.session.execute(
        select(col(RosterMember.login)).where(col(RosterMember.permission) == Permission.LEAD.value)
    ).scalars()
    for login in leads:
        _row(uow, incident, seq, "level_iii", "member", login)
    kinds = (ContactKind.LEADERSHIP.value, ContactKind.BUSINESS_DEPARTMENT.value)
    contacts = uow.session.execute(select(col(Contact.key)).where(col(Contact.kind).in_(kinds))).scalars()
    for key in contacts:
        _row(uow, incident, seq, "level_iii", "contact", key)


def _row(uow: UnitOfWork, incident: Incident, seq: int, event: str, kind: str, recipient: str) -> None:
    uow.outbox(
        event_name=event,
        recipient_kind=kind,
        recipient=recipient,
        incident_id=incident.id,
        payload=_payload(incident, event),
        key=f"incident-{incident.id}-{seq}-{event}-{kind}-{recipient}",
    )
