"""Who a recipient spec means, right now: a duty's members on duty (else the group
lead), leads, contacts of a kind, the owner, the system's vendor, whoever is on duty.
Used by escalations and by the notification routes alike."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from .domain import Permission
from .models import Contact, Incident, RosterMember, System


def resolve_targets(
    session: Session, incident: Incident, specs: tuple[str, ...], *, fallback: bool = True
) -> list[dict[str, str]]:
    """Who is actually told, each with why (`via`), deduplicated, in the rule's order."""
    chosen: list[dict[str, str]] = []
    for spec in specs:
        for kind, to, via in _resolve(session, incident, spec):
            if not any(t["kind"] == kind and t["to"] == to for t in chosen):
                chosen.append({"kind": kind, "to": to, "via": via})
    if not chosen and fallback:
        chosen = [{"kind": "member", "to": login, "via": "fallback: group lead"} for login in _leads(session)]
    return chosen


def _resolve(session: Session, incident: Incident, spec: str) -> list[tuple[str, str, str]]:
    kind, _, value = spec.partition(":")
    if kind == "duty":
        members = [m for m in _on_duty(session) if value in m.duties]
        if members:
            return [("member", m.login, spec) for m in members]
        return [("member", login, f"{spec}: nobody on duty, group lead") for login in _leads(session)]
    if kind == "permission":
        return (
            [("member", login, spec) for login in _leads(session)]
            if value == "lead"
            else [("member", m.login, spec) for m in _on_duty(session)]
        )
    if kind == "contact":
        keys = session.execute(
            select(col(Contact.key)).where(col(Contact.kind) == value).order_by(col(Contact.key))
        ).scalars()
        found = [("contact", key, spec) for key in keys]
        return found or [("member", login, f"{spec}: no such contact, group lead") for login in _leads(session)]
    if spec == "owner":
        if incident.owner:
            return [("member", incident.owner, spec)]
        return [("member", m.login, "owner: none yet, on duty") for m in _on_duty(session)]
    if spec == "system_vendor":
        system = session.get(System, incident.system_id) if incident.system_id else None
        if system and system.vendor_contact:
            return [("contact", system.vendor_contact, spec)]
        return []
    if spec == "on_duty":
        return [("member", m.login, spec) for m in _on_duty(session)]
    return []


def _on_duty(session: Session) -> list[RosterMember]:
    return list(
        session.execute(
            select(RosterMember)
            .where(col(RosterMember.on_duty).is_(True), col(RosterMember.permission) != Permission.VIEWER.value)
            .order_by(col(RosterMember.login))
        ).scalars()
    )


def _leads(session: Session) -> list[str]:
    """Leads on duty first; if none is on duty, every lead."""
    leads = list(
        session.execute(
            select(col(RosterMember.login), col(RosterMember.on_duty))
            .where(col(RosterMember.permission) == Permission.LEAD.value)
            .order_by(col(RosterMember.login))
        ).all()
    )
    on_duty = [login for login, duty in leads if duty]
    return on_duty or [login for login, _ in leads]
