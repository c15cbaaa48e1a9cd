"""Who a recipient spec means, right now: a duty's members on duty (else the group
lead), leads, contacts of a kind, the owner, the system's vendor, whoever is on duty.
Used by escalations and by the notification routes alike. "On duty" is the duty
schedule's answer at that moment (`schedule.py`), read once per call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from . import memo, schedule
from .domain import Permission
from .models import Contact, Incident, RosterMember
from .timeutil import utcnow


class _OnDuty:
    """The schedule at one moment, loaded on first use."""

    def __init__(self, session: Session, at: datetime) -> None:
        self.session = session
        self.at = at
        self._schedule: schedule.Schedule | None = None

    def logins(self, duty: str) -> list[str]:
        if self._schedule is None:
            session, at = self.session, self.at
            self._schedule = memo.remembered(session, ("schedule", at), SCHEDULE_TABLES, lambda: self._load())
        return self._schedule.logins(duty, self.at)

    def _load(self) -> schedule.Schedule:
        """The schedule as it stands at `at`, from its rows (read once, and kept beyond the
        transaction where the store shares answers: backend/memo.py)."""
        session = self.session
        rows = memo.remembered(session, ("schedule_rows",), SCHEDULE_TABLES, lambda: schedule.load_rows(session))
        return schedule.Schedule(*rows, now=self.at)


SCHEDULE_TABLES = ("schedule_rotations", "schedule_slots", "schedule_holidays")
ROSTER_TABLES = ("roster_members",)
CONTACT_TABLES = ("contacts",)


def resolve_targets(
    session: Session,
    incident: Incident | None,
    specs: tuple[str, ...],
    *,
    fallback: bool = True,
    at: datetime | None = None,
) -> list[dict[str, str]]:
    """Who is actually told at `at` (default now), each with why (`via`), deduplicated,
    in the rule's order."""
    duty = _OnDuty(session, at or utcnow())
    chosen: list[dict[str, str]] = []
    for spec in specs:
        for kind, to, via in _resolved(session, incident, spec, duty):
            if not any(t["kind"] == kind and t["to"] == to for t in chosen):
                chosen.append({"kind": kind, "to": to, "via": via})
    if not chosen and fallback:
        chosen = [{"kind": "member", "to": login, "via": "fallback: group lead"} for login in _leads(session, duty)]
    return chosen


# The specs whose answer depends on the incident; any other is the same for every incident
# at one moment.
_OF_THE_INCIDENT = ("owner", "system_vendor")


def _resolved(session: Session, incident: Incident | None, spec: str, duty: _OnDuty) -> list[tuple[str, str, str]]:
    """`_resolve`, read once per transaction and moment for a spec that does not depend on
    the incident: a sweep of fifty escalations asks the same duty, leads and contacts fifty
    times at one `at`, and resolving walked the schedule (and read the contacts) each time.
    Read again if the transaction writes what the answer came from (backend/memo.py)."""
    if spec in _OF_THE_INCIDENT:
        return _resolve(session, incident, spec, duty)
    return memo.remembered(
        session,
        ("targets", spec, duty.at),
        (*SCHEDULE_TABLES, *ROSTER_TABLES, *CONTACT_TABLES),
        lambda: _resolve(session, incident, spec, duty),
    )


def _resolve(session: Session, incident: Incident | None, spec: str, duty: _OnDuty) -> list[tuple[str, str, str]]:
    """`incident` None: an event about no incident (a gap in the schedule)."""
    kind, _, value = spec.partition(":")
    if kind == "duty":
        members = _members(session, duty.logins(value))
        if members:
            return [("member", login, spec) for login in members]
        return [("member", login, f"{spec}: nobody on duty, group lead") for login in _leads(session, duty)]
    if kind == "permission":
        return (
            [("member", login, spec) for login in _leads(session, duty)]
            if value == "lead"
            else [("member", login, spec) for login in _on_duty(session, duty)]
        )
    if kind == "contact":
        found = [("contact", key, spec) for key in _contacts(session, value)]
        return found or [("member", login, f"{spec}: no such contact, group lead") for login in _leads(session, duty)]
    if spec == "owner":
        if incident is not None and incident.owner:
            return [("member", incident.owner, spec)]
        return [("member", login, "owner: none yet, on duty") for login in _on_duty(session, duty)]
    if spec == "system_vendor":
        system = memo.system(session, incident.system_id) if incident is not None else None
        if system and system.vendor_contact:
            return [("contact", system.vendor_contact, spec)]
        return []
    if spec == "on_duty":
        return [("member", login, spec) for login in _on_duty(session, duty)]
    return []


def _contacts(session: Session, kind: str) -> list[str]:
    """The keys of the contacts of a kind, sorted (read once, and kept beyond the
    transaction where the store shares answers: backend/memo.py)."""
    return memo.remembered(
        session,
        ("contacts", kind),
        CONTACT_TABLES,
        lambda: list(
            session.execute(
                select(col(Contact.key)).where(col(Contact.kind) == kind).order_by(col(Contact.key))
            ).scalars()
        ),
    )


def _members(session: Session, logins: list[str]) -> list[str]:
    """Those of `logins` still on the roster and not viewers, sorted."""
    if not logins:
        return []
    return memo.remembered(
        session,
        ("members", tuple(logins)),
        ROSTER_TABLES,
        lambda: list(
            session.execute(
                select(col(RosterMember.login))
                .where(col(RosterMember.login).in_(logins), col(RosterMember.permission) != Permission.VIEWER.value)
                .order_by(col(RosterMember.login))
            ).scalars()
        ),
    )


def _on_duty(session: Session, duty: _OnDuty) -> list[str]:
    """Everyone on any duty (the group lead's included), once per transaction and moment:
    an incident with no owner yet asks it for each of its escalations."""
    areas = (*schedule.DUTIES, schedule.NO_AREA)
    return memo.remembered(
        session,
        ("on_duty", duty.at),
        (*SCHEDULE_TABLES, *ROSTER_TABLES),
        lambda: _members(session, sorted({login for d in areas for login in duty.logins(d)})),
    )


def _leads(session: Session, duty: _OnDuty) -> list[str]:
    """Whoever the schedule has on the group lead's duty; if nobody, every lead."""
    leads = memo.remembered(
        session,
        ("leads",),
        ROSTER_TABLES,
        lambda: list(
            session.execute(
                select(col(RosterMember.login))
                .where(col(RosterMember.permission) == Permission.LEAD.value)
                .order_by(col(RosterMember.login))
            ).scalars()
        ),
    )
    on_duty = [login for login in leads if login in duty.logins(schedule.LEAD_DUTY)]
    return on_duty or leads
