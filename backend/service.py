"""The service layer: every action of the plan, each one write through the unit of work.

Each action checks the actor's permission and its preconditions inside the write
transaction, refuses with a `DomainError` that names the fix, and otherwise writes the
change, one audit event, the change-feed entry and any outbox rows together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session, col

from . import clocks, deadlines, directory, notify_plan, policy, words
from .domain import (
    CLASSIFIED_CATEGORIES,
    OPEN_STATUSES,
    SYSTEM_ACTOR_PREFIX,
    Category,
    CloseKind,
    Level,
    Permission,
    Status,
    StepState,
    parse_enum,
)
from .errors import DomainError, InvalidInput, NotFound, StaleWrite
from .i18n import _
from .models import (
    Attestation,
    Contact,
    Incident,
    IncidentNote,
    PlaybookStep,
    PolicyVersion,
    Probe,
    RosterMember,
    ServiceCall,
    System,
)
from .store import Store, UnitOfWork
from .timeutil import rfc3339

TITLE_LIMIT = 300
CHANNELS = ("phone", "sms", "email", "web", "im", "in_person", "meeting", "notice", "other")
TEXT_LIMIT = 20_000
RECORD_LIMIT = 200_000  # a post-incident record: pages of prose and its timeline
# A clock a little ahead of the database's is not an error; an outage start an hour
# in the future is.
FUTURE_SLACK = timedelta(minutes=2)


access_log = logging.getLogger("opsdeck.access")  # refusals: the log, never an audit trail


@dataclass(frozen=True)
class Actor:
    login: str
    permission: Permission
    is_system: bool = False

    @property
    def can_write(self) -> bool:
        return self.permission.can_write

    @property
    def is_lead(self) -> bool:
        return self.permission is Permission.LEAD


@dataclass(frozen=True)
class ImportResult:
    kind: str
    added: list[str]
    updated: list[str]
    unchanged: list[str]

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "updated": len(self.updated), "unchanged": len(self.unchanged)}


def _clean_text(value: str | None, what: str, *, required: bool, limit: int = TEXT_LIMIT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(
            f"missing_{what}",
            _("a {what} is required").format(what=_field(what)),
            _("give a {what}").format(what=_field(what)),
        )
    if len(value) > limit:
        raise InvalidInput(
            f"long_{what}",
            _("the {what} is over {limit} characters").format(what=_field(what), limit=limit),
            _("shorten it"),
        )
    return value


def _field(what: str) -> str:
    """A text field's name as the user reads it (`what` is also the error code's tail)."""
    names = {
        "title": _("title"),
        "description": _("description"),
        "reason": _("reason"),
        "note": _("note"),
        "caller": _("caller"),
        "contact": _("contact"),
        "need": _("need"),
        "resolution": _("resolution"),
        "record": _("record"),
        "channel": _("channel"),
        "name": _("name"),
    }
    return names.get(what, what)


def _doing(what: str) -> str:
    """A refused action as the user reads it; `what` stays English for the access log."""
    shown = {
        "opening an incident": _("opening an incident"),
        "acknowledging": _("acknowledging"),
        "classifying": _("classifying"),
        "changing the level": _("changing the level"),
        "assigning": _("assigning"),
        "adding a note": _("adding a note"),
        "logging a call": _("logging a call"),
        "ticking off a call-back": _("ticking off a call-back"),
        "unmasking callers' contacts": _("unmasking callers' contacts"),
        "ticking a playbook step": _("ticking a playbook step"),
        "marking the cause located": _("marking the cause located"),
        "resolving": _("resolving"),
        "closing": _("closing"),
        "reopening": _("reopening"),
        "setting the outage start": _("setting the outage start"),
        "attesting an obligation": _("attesting an obligation"),
        "answering the re-grade": _("answering the re-grade"),
        "silencing probes": _("silencing probes"),
        "retrying a notification": _("retrying a notification"),
        "roster import": _("roster import"),
        "contacts import": _("contacts import"),
        "systems import": _("systems import"),
        "policy apply": _("policy apply"),
        "channels apply": _("channels apply"),
    }
    return shown.get(what, what)


class Service:
    """The actions of one login on one store."""

    def __init__(self, store: Store, login: str, *, read_only: bool = False) -> None:
        self.store = store
        self.login = login
        self.read_only = read_only

    # -- who may do what ---------------------------------------------------------------

    def actor(self, session: Session) -> Actor:
        if self.login.startswith(SYSTEM_ACTOR_PREFIX):
            permission = Permission.VIEWER if self.read_only else Permission.OPERATOR
            return Actor(self.login, permission, is_system=True)
        if self.read_only:
            return Actor(self.login, Permission.VIEWER)
        member = session.execute(
            select(col(RosterMember.permission)).where(col(RosterMember.login) == self.login)
        ).scalar_one_or_none()
        return Actor(self.login, Permission(member) if member else Permission.VIEWER)

    def _writer(self, session: Session, what: str) -> Actor:
        actor = self.actor(session)
        if not actor.can_write:
            access_log.warning("refused %s for %s: %s", what, self.login, "read-only" if self.read_only else "a viewer")
            if self.read_only:
                raise DomainError(
                    "read_only",
                    _("{what}: this session is read-only").format(what=_doing(what)),
                    _("run without --read-only"),
                )
            raise DomainError(
                "viewer",
                _("{what}: {login} is a viewer, and viewers change nothing").format(
                    what=_doing(what), login=self.login
                ),
                _("ask a lead ({leads}) to add {login} to the roster as an operator").format(
                    leads=self._leads_text(session), login=self.login
                ),
                login=self.login,
            )
        return actor

    def _lead(self, session: Session, what: str, *, shown: str | None = None, bootstrap: bool = False) -> Actor:
        """Refuse unless a lead; `what` is logged, `shown` (else `what` translated) told."""
        actor = self.actor(session)
        if actor.is_lead:
            return actor
        if bootstrap and not self.read_only and not self._lead_logins(session):
            # Nobody leads yet: whoever can open the store sets it up (recorded as actor).
            return Actor(self.login, Permission.LEAD)
        access_log.warning("refused %s for %s: not a lead", what, self.login)
        doing = shown or _doing(what)
        raise DomainError(
            "lead_only",
            _("{what} is for leads; {login} is read-only").format(what=doing, login=self.login)
            if self.read_only
            else _("{what} is for leads; {login} is {permission}").format(
                what=doing, login=self.login, permission=words.permission(actor.permission.value)
            ),
            self._ask_a_lead(session),
            login=self.login,
        )

    def _ask_a_lead(self, session: Session) -> str:
        return _("ask a lead: {leads}").format(leads=self._leads_text(session))

    def _lead_logins(self, session: Session) -> list[str]:
        return list(
            session.execute(
                select(col(RosterMember.login))
                .where(col(RosterMember.permission) == Permission.LEAD.value)
                .order_by(col(RosterMember.login))
            ).scalars()
        )

    def _leads_text(self, session: Session) -> str:
        return ", ".join(self._lead_logins(session)) or _("nobody leads yet: import a roster with a lead")

    # -- incidents: reading within a write ----------------------------------------------

    def _load(self, uow: UnitOfWork, incident_id: int) -> Incident:
        incident = uow.session.get(Incident, incident_id, with_for_update=uow.dialect == "postgresql")
        if incident is None:
            raise NotFound(
                "no_incident",
                _("incident #{id} does not exist").format(id=incident_id),
                _("list incidents with `opsdeck incident list --status all`"),
                id=incident_id,
            )
        return incident

    def _not_closed(self, incident: Incident) -> None:
        if incident.status == Status.CLOSED:
            raise DomainError(
                "closed",
                _("#{id} is closed, and a closed incident is final").format(id=incident.id),
                _(
                    "to work on it again, `opsdeck incident reopen {id} --reason R` opens a new incident linked to it"
                ).format(id=incident.id),
                id=incident.id,
            )

    def _guard_version(self, uow: UnitOfWork, incident: Incident, expected: int | None) -> None:
        """Bump the version `WHERE version = expected`, or refuse a stale write."""
        seen = incident.version if expected is None else expected
        if incident.version != seen:
            raise self._stale(incident, seen)
        result = uow.session.exec(
            update(Incident)
            .where(col(Incident.id) == incident.id, col(Incident.version) == seen)
            .values(version=seen + 1, updated_at=uow.now, updated_by=uow.actor)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            uow.session.refresh(incident)
            raise self._stale(incident, seen)
        incident.version, incident.updated_at, incident.updated_by = seen + 1, uow.now, uow.actor

    @staticmethod
    def _stale(incident: Incident, seen: int) -> StaleWrite:
        return StaleWrite(
            "stale",
            _("#{id} changed by {by} at {at} (now version {version}; you saw {seen})").format(
                id=incident.id,
                by=incident.updated_by,
                at=rfc3339(incident.updated_at),
                version=incident.version,
                seen=seen,
            ),
            _("reload: opsdeck incident show {id}, then act on what is there now").format(id=incident.id),
            id=incident.id,
            version=incident.version,
            expected=seen,
            by=incident.updated_by,
            at=rfc3339(incident.updated_at),
        )

    def _mutate(
        self,
        incident_id: int,
        action: str,
        expected_version: int | None,
        change: Callable[[UnitOfWork, Actor, Incident], dict[str, Any]],
        *,
        what: str,
    ) -> Incident:
        with self.store.write(self.login) as uow:
            actor = self._writer(uow.session, what)
            incident = self._load(uow, incident_id)
            self._not_closed(incident)
            self._guard_version(uow, incident, expected_version)
            details = change(uow, actor, incident)
            self._touched(uow, incident)
            event = uow.record(action, details, incident_id=incident.id)
            notify_plan.after(uow, action, incident, details, event.seq)
        return incident

    @staticmethod
    def _touched(uow: UnitOfWork, incident: Incident) -> None:
        """Every audited change is activity (it renews the acknowledgement lease) and
        may move a clock: re-derive them in the same transaction."""
        incident.last_activity_at = uow.now
        uow.session.flush()
        clocks.sync(uow.session, incident, uow.now)

    def _repin(self, uow: UnitOfWork, incident: Incident, details: dict[str, Any]) -> None:
        """Reclassifying, reopening or correcting the outage start re-derives under the
        current policy version."""
        current = clocks.load_policy(uow.session).version
        if incident.policy_version != current:
            details["policy_version"] = {"from": incident.policy_version, "to": current}
            incident.policy_version = current

    @staticmethod
    def _set_level(uow: UnitOfWork, incident: Incident, level: Level) -> None:
        incident.level = level.value
        incident.level_since = uow.now

    @staticmethod
    def _ack_implied(uow: UnitOfWork, incident: Incident, details: dict[str, Any]) -> None:
        if incident.status == Status.REPORTED:
            incident.status = Status.ACKNOWLEDGED.value
            incident.acknowledged_at = uow.now
            details["acknowledged"] = True

    # -- incidents: actions -------------------------------------------------------------

    def open(
        self,
        title: str,
        *,
        description: str = "",
        system: str | None = None,
        category: str | None = None,
        level: str | None = None,
        reason: str | None = None,
        outage_start: datetime | None = None,
    ) -> Incident:
        title = _clean_text(title, "title", required=True, limit=TITLE_LIMIT)
        description = _clean_text(description, "description", required=False)
        cat = self._category(category) if category else None
        lvl = self._level(level) if level else None
        if (cat is None) != (lvl is None):
            raise InvalidInput(
                "half_classified",
                _("a category and a level go together"),
                _("give both --category and --level, or neither (classify later)"),
            )
        with self.store.write(self.login) as uow:
            self._writer(uow.session, "opening an incident")
            system_row = self._system(uow.session, system) if system else None
            if outage_start is not None and outage_start > uow.now + FUTURE_SLACK:
                raise InvalidInput(
                    "future_outage", _("the outage start is in the future"), _("give a past time or -15m")
                )
            return Service.open_in(
                uow,
                title,
                description=description,
                system_row=system_row,
                category=cat,
                level=lvl,
                reason=reason,
                outage_start=outage_start,
            )

    @staticmethod
    def open_in(
        uow: UnitOfWork,
        title: str,
        *,
        description: str = "",
        system_row: System | None = None,
        category: Category | None = None,
        level: Level | None = None,
        reason: str | None = None,
        outage_start: datetime | None = None,
        probe_id: int | None = None,
    ) -> Incident:
        """Open an incident inside a write that is already running (the ingest opens
        incidents for failing probes in the transaction of their results)."""
        incident = Incident(
            title=title[:TITLE_LIMIT],
            description=description,
            system_id=system_row.id if system_row else None,
            reporter=uow.actor,
            reported_at=uow.now,
            outage_started_at=outage_start or uow.now,
            policy_version=clocks.load_policy(uow.session).version,
            updated_at=uow.now,
            updated_by=uow.actor,
            probe_id=probe_id,
        )
        details: dict[str, Any] = {"title": incident.title, "system": system_row.name if system_row else None}
        if category:
            incident.category = category.value
            details["category"] = category.value
        if level:
            Service._set_level(uow, incident, level)
            details.update(level=level.value, reason=reason or "")
        if category and level:
            incident.classified_at = uow.now
            Service._ack_implied(uow, incident, details)
        if outage_start is not None:
            details["outage_started_at"] = rfc3339(outage_start)
        if probe_id is not None:
            details["probe_id"] = probe_id
        uow.session.add(incident)
        uow.session.flush()
        if category:
            Service._add_playbook(uow, incident, category.value)
        Service._touched(uow, incident)
        event = uow.record("open", details, incident_id=incident.id)
        notify_plan.after(uow, "open", incident, details, event.seq)
        return incident

    def ack(self, incident_id: int, *, expected_version: int | None = None) -> Incident:
        def change(uow: UnitOfWork, actor: Actor, incident: Incident) -> dict[str, Any]:
            if incident.status != Status.REPORTED:
                since = ""
                if incident.acknowledged_at and incident.owner:
                    since = _(" (acknowledged by {owner} at {at})").format(
                        owner=incident.owner, at=rfc3339(incident.acknowledged_at)
                    )
                elif incident.acknowledged_at:
                    since = _(" (acknowledged by someone at {at})").format(at=rfc3339(incident.acknowledged_at))
                raise DomainError(
                    "not_reported",
                    _("#{id} is {status}").format(id=incident.id, status=words.status(incident.status)) + since,
                    _("nothing to acknowledge; add a note to show you are on it"),
                    id=incident.id,
                )
            incident.status = Status.ACKNOWLEDGED.value
            incident.acknowledged_at = uow.now
            return {}

        return self._mutate(incident_id, "ack", expected_version, change, what="acknowledging")

    def classify(
        self,
        incident_id: int,
        *,
        category: str,
        level: str,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> Incident:
        cat, lvl = self._category(category), self._level(level)
        reason = _clean_text(reason, "reason", required=False)

        def change(uow: UnitOfWork, actor: Actor, incident: Incident) -> dict[str, Any]:
            before_cat, before_lvl = incident.category, incident.level
            if before_cat == cat.value and before_lvl == lvl.value:
                raise DomainError(
                    "unchanged",
                    _("#{id} is already {category} at level {level}").format(
                        id=incident.id, category=words.category(cat.value), level=lvl.value
                    ),
                    _("nothing to change"),
                    id=incident.id,
                )
            regrade = before_cat != Category.UNCLASSIFIED or before_lvl is not None
            if regrade and not reason:
                raise InvalidInput(
                    "missing_reason",
                    _("#{id} is already classified ({category}, level {level})").format(
                        id=incident.id, category=words.category(before_cat), level=before_lvl or "-"
                    ),
                    _("a re-grade needs --reason saying why"),
                )
            self._check_lowering(uow.session, actor, incident, lvl)
            incident.category = cat.value
            if before_lvl != lvl.value:
                self._set_level(uow, incident, lvl)
            details: dict[str, Any] = {
                "category": cat.value,
                "level": lvl.value,
                "from_category": before_cat,
                "from_level": before_lvl,
                "reason": reason,
                "regrade": regrade,
            }
            self._repin(uow, incident, details)
            if incident.classified_at is None:
                incident.classified_at = uow.now
            if before_cat != cat.value:
                self._replace_playbook(uow, incident, cat.value)
            self._ack_implied(uow, incident, details)
            return details

        return self._mutate(incident_id, "classify", expected_version, change, what="classifying")

    def set_level(
        self, incident_id: int, *, level: str, reason: str | None = None, expected_version: int | None = None
    ) -> Incident:
        lvl = self._level(level)
        reason = _clean_text(reason, "reason", required=False)

        def change(uow: UnitOfWork, actor: Actor, incident: Incident) -> dict[str, Any]:
            before = incident.level
            if before == lvl.value:
                raise DomainError(
                    "unchanged",
                    _("#{id} is already level {level}").format(id=incident.id, level=lvl.value),
                    _("nothing to change"),
                )
            if before is not None and not reason:
                raise InvalidInput(
                    "missing_reason",
                    _("#{id} is level {level}").format(id=incident.id, level=before),
                    _("changing a level needs --reason saying why"),
                )
            self._check_lowering(uow.session, actor, incident, lvl)
            self._set_level(uow, incident, lvl)
            if incident.classified_at is None and incident.category != Category.UNCLASSIFIED:
                incident.classified_at = uow.now
            details: dict[str, Any] = {"level": lvl.value, "from_level": before, "reason": reason}
            self._repin(uow, incident, details)
            self._ack_implied(uow, incident, details)
            return details

        return self._mutate(incident_id, "level", expected_version, change, what="changing the level")

    def _check_lowering(self, session: Session, actor: Actor, incident: Incident, new: Level) -> None:
        if incident.level and new.rank < Level(incident.level).rank and not actor.is_lead:
            raise DomainError(
                "lead_only",
                _("lowering #{id} from level {level} to {new} is for leads").format(
                    id=incident.id, level=incident.level, new=new.value
                ),
                self._ask_a_lead(session),
                id=incident.id,
            )

    def assign(self, incident_id: int, login: str, *, expected_version: int | None = None) -> Incident:
        login = login.strip()

        def change(uow: UnitOfWork, actor: Actor, incident: Incident) -> dict[str, Any]:
            member = uow.session.execute(
                select(RosterMember).where(col(RosterMember.login) == login)
            ).scalar_one_or_none()
            if member is None:
                raise NotFound(
                    "no_member",
                    _("{login!r} is not on the roster").format(login=login),
                    _("assign to a roster member (opsdeck roster list); contacts are never owners"),
                )
            if member.permission == Permission.VIEWER:
                raise DomainError(
                    "owner_viewer",
                    _("{login} is a viewer and cannot own incidents").format(login=login),
                    _("assign an operator or a lead, or have a lead raise their permission"),
                )
            if incident.owner == login:
                raise DomainError(
                    "unchanged",
                    _("{login} already owns #{id}").format(login=login, id=incident.id),
                    _("nothing to change"),
                )
            details: dict[str, Any] = {"owner": login, "from_owner": incident.owner}
            incident.owner = login
            self._ack_implied(uow, incident, details)
            return details

        return self._mutate(incident_id, "assign", expected_version, change, what="assigning")

    def note(self, incident_id: int, text: str) -> Incident:
        """A note is a child row: it never conflicts with another operator's note."""
        text = _clean_text(text, "note", required=True)
        with self.store.write(self.login) as uow:
            self._writer(uow.session, "adding a note")
            incident = self._load(uow, incident_id)
            self._not_closed(incident)
            details: dict[str, Any] = {"text": text}
            if incident.status == Status.REPORTED:
                self._guard_version(uow, incident, None)
                self._ack_implied(uow, incident, details)
            uow.session.add(IncidentNote(incident_id=incident_id, at=uow.now, author=self.login, text=text))
            self._touched(uow, incident)
            uow.record("note", details, incident_id=incident_id)
        return incident

    # -- the service desk's call log ---------------------------------------------------

    def add_call(
        self,
        incident_id: int,
        *,
        caller: str,
        contact: str,
        need: str,
        callback: bool,
        at: datetime | None = None,
    ) -> ServiceCall:
        """A call about the incident, entered as it comes in or afterwards from the paper
        log (`at`: when it came in). Not activity on the fix: the acknowledgement lease and
        the incident's version stay as they are."""
        from .calls import mask

        caller = _clean_text(caller, "caller", required=True, limit=120)
        contact = _clean_text(contact, "contact", required=True, limit=120)
        need = _clean_text(need, "need", required=True)
        with self.store.write(self.login) as uow:
            self._writer(uow.session, "logging a call")
            incident = self._load(uow, incident_id)
            if incident.status == Status.CLOSED:
                raise DomainError(
                    "closed",
                    _("#{id} is closed: its record is filed").format(id=incident_id),
                    _("enter the paper log's calls before filing the record"),
                    id=incident_id,
                )
            when = uow.now if at is None else at
            if when > uow.now + FUTURE_SLACK:
                raise InvalidInput(
                    "future_call", _("the call's time is in the future"), _("give a past time, e.g. -20m")
                )
            call = ServiceCall(
                incident_id=incident_id,
                at=when,
                caller=caller,
                contact=contact,
                need=need,
                callback=callback,
                entered_at=uow.now,
                entered_by=self.login,
            )
            uow.session.add(call)
            uow.session.flush()
            uow.record(
                "call",
                {
                    "call": call.id,
                    "at": rfc3339(when),
                    "caller": caller,
                    "contact": mask(contact),
                    "callback": callback,
                },
                incident_id=incident_id,
            )
        return call

    def called_back(self, call_id: int, *, note: str | None = None) -> ServiceCall:
        """A call-back owed is made (usually after recovery, closed incidents included)."""
        note = _clean_text(note, "note", required=False) or None
        with self.store.write(self.login) as uow:
            self._writer(uow.session, "ticking off a call-back")
            call = uow.session.get(ServiceCall, call_id, with_for_update=uow.dialect == "postgresql")
            if call is None:
                raise NotFound(
                    "no_call",
                    _("call {id} does not exist").format(id=call_id),
                    _("see `opsdeck calls list --owed`"),
                )
            if not call.callback:
                raise DomainError(
                    "no_callback", _("call {id} owes no call-back").format(id=call_id), _("nothing to tick off")
                )
            if call.called_back_at is not None:
                raise DomainError(
                    "called_back",
                    _("call {id} was called back at {at} by {by}").format(
                        id=call_id, at=rfc3339(call.called_back_at), by=call.called_back_by
                    ),
                    _("nothing to tick off"),
                )
            call.called_back_at, call.called_back_by, call.callback_note = uow.now, self.login, note
            uow.record("callback", {"call": call_id, "note": note}, incident_id=call.incident_id)
        return call

    def unmask_calls(self, incident_id: int | None) -> None:
        """Seeing callers' contacts whole is for roster members, and audited (who, which)."""
        with self.store.write(self.login) as uow:
            self._writer(uow.session, "unmasking callers' contacts")
            which = f"incident:{incident_id}" if incident_id is not None else "all"
            uow.record("unmask_calls", {"calls_of": which}, entity="calls", entity_id=which)

    def step(self, incident_id: int, key: str, *, skip: bool = False, reason: str | None = None) -> PlaybookStep:
        reason = _clean_text(reason, "reason", required=skip)
        with self.store.write(self.login) as uow:
            self._writer(uow.session, "ticking a playbook step")
            incident = self._load(uow, incident_id)
            self._not_closed(incident)
            step = uow.session.scalars(
                select(PlaybookStep).where(
                    col(PlaybookStep.incident_id) == incident_id,
                    col(PlaybookStep.key) == key,
                )
            ).one_or_none()
            if step is None:
                keys = (
                    uow.session.execute(
                        select(col(PlaybookStep.key))
                        .where(col(PlaybookStep.incident_id) == incident_id)
                        .order_by(col(PlaybookStep.position))
                    )
                    .scalars()
                    .all()
                )
                raise NotFound(
                    "no_step",
                    _("#{id} has no playbook step {key!r}").format(id=incident_id, key=key),
                    _("use one of: {allowed}").format(allowed=", ".join(keys))
                    if keys
                    else _("classify the incident first: its category brings the playbook"),
                )
            if step.state != StepState.PENDING:
                already = (
                    _("step {key!r} of #{id} is already skipped by {by} at {at}")
                    if step.state == StepState.SKIPPED
                    else _("step {key!r} of #{id} is already done by {by} at {at}")
                )
                raise DomainError(
                    "step_done",
                    already.format(key=key, id=incident_id, by=step.done_by, at=rfc3339(step.done_at)),
                    _("nothing to change"),
                )
            step.state = (StepState.SKIPPED if skip else StepState.DONE).value
            step.reason = reason or None
            step.done_by, step.done_at = self.login, uow.now
            self._touched(uow, incident)
            uow.record("step", {"key": key, "state": step.state, "reason": reason}, incident_id=incident_id)
        return step

    def cause(self, incident_id: int, *, note: str | None = None, expected_version: int | None = None) -> Incident:
        note = _clean_text(note, "note", required=False)

        def change(uow: UnitOfWork, actor: Actor, incident: Incident) -> dict[str, Any]:
            if incident.cause_located_at is not None:
                raise DomainError(
                    "cause_known",
                    _("the cause of #{id} was located at {at}").format(
                        id=incident.id, at=rfc3339(incident.cause_located_at)
                    ),
                    _("nothing to change; add a note for more detail"),
                )
            incident.cause_located_at = uow.now
            if note:
                uow.session.add(IncidentNote(incident_id=incident_id, at=uow.now, author=self.login, text=note))
            return {"note": note}

        return self._mutate(incident_id, "cause", expected_version, change, what="marking the cause located")

    def resolve(self, incident_id: int, *, resolution: str, expected_version: int | None = None) -> Incident:
        resolution = _clean_text(resolution, "resolution", required=True)

        def change(uow: UnitOfWork, actor: Actor, incident: Incident) -> dict[str, Any]:
            if incident.status == Status.RESOLVED:
                raise DomainError(
                    "resolved",
                    _("#{id} was resolved at {at}").format(id=incident.id, at=rfc3339(incident.resolved_at)),
                    _("close it (opsdeck incident close {id}) or reopen it").format(id=incident.id),
                )
            incident.status = Status.RESOLVED.value
            incident.resolution = resolution
            incident.resolved_at = uow.now
            if incident.acknowledged_at is None:
                incident.acknowledged_at = uow.now
            return {"resolution": resolution}

        return self._mutate(incident_id, "resolve", expected_version, change, what="resolving")

    def close(
        self,
        incident_id: int,
        *,
        false_alarm_reason: str | None = None,
        duplicate_of: int | None = None,
        record: str | None = None,
        zone: tzinfo = UTC,
        expected_version: int | None = None,
    ) -> Incident:
        """Close it: as a false alarm, as a duplicate, or (resolved and classified) by filing
        the post-incident record: `record` as written, or the draft as it stands (times in
        `zone`). The audit trail keeps the filed record's SHA-256."""
        if false_alarm_reason is not None and duplicate_of is not None:
            raise InvalidInput(
                "close_two_ways", _("--false-alarm and --duplicate-of exclude each other"), _("choose one")
            )
        if record is not None and (false_alarm_reason is not None or duplicate_of is not None):
            raise InvalidInput(
                "close_two_ways",
                _("a record is filed for a resolved incident"),
                _("drop --false-alarm/--duplicate-of"),
            )
        if false_alarm_reason is not None:
            false_alarm_reason = _clean_text(false_alarm_reason, "reason", required=True)
        if record is not None:
            record = _clean_text(record, "record", required=True, limit=RECORD_LIMIT)

        def change(uow: UnitOfWork, actor: Actor, incident: Incident) -> dict[str, Any]:
            if incident.level in (Level.I, Level.II) and not actor.is_lead:
                raise DomainError(
                    "lead_only",
                    _("closing #{id} (level {level}) is for leads").format(id=incident.id, level=incident.level),
                    self._ask_a_lead(uow.session),
                )
            details: dict[str, Any]
            if duplicate_of is not None:
                details = self._close_duplicate(uow, incident, duplicate_of)
            elif false_alarm_reason is not None:
                incident.close_kind, incident.close_reason = CloseKind.FALSE_ALARM.value, false_alarm_reason
                details = {"kind": CloseKind.FALSE_ALARM.value, "reason": false_alarm_reason}
            else:
                details = self._close_with_record(uow, incident, record, zone)
            incident.status = Status.CLOSED.value
            incident.closed_at = uow.now
            return details

        return self._mutate(incident_id, "close", expected_version, change, what="closing")

    def _close_with_record(self, uow: UnitOfWork, incident: Incident, text: str | None, zone: tzinfo) -> dict[str, Any]:
        missing = []
        if incident.status != Status.RESOLVED:
            missing.append(_("it is not resolved"))
        if incident.category == Category.UNCLASSIFIED:
            missing.append(_("it has no category"))
        if incident.level is None:
            missing.append(_("it has no level"))
        if missing:
            why = missing[0]
            for more in missing[1:]:
                why = _("{first} and {second}").format(first=why, second=more)
            raise DomainError(
                "not_closable",
                _("#{id} cannot be closed: {why}").format(id=incident.id, why=why),
                _("resolve and classify it first, or close it with --false-alarm --reason R or --duplicate-of ID"),
                id=incident.id,
            )
        from . import record

        assert incident.id is not None
        drafted = text is None
        if text is None:
            text = record.markdown(record.draft(uow.session, incident.id, uow.now), zone)
        incident.record = text
        incident.record_filed_at = uow.now
        incident.close_kind = CloseKind.RESOLVED.value
        return {
            "kind": CloseKind.RESOLVED.value,
            "record_sha256": record.record_hash(text),
            "record_chars": len(text),
            "record_as": "draft" if drafted else "edited",
        }

    def _close_duplicate(self, uow: UnitOfWork, incident: Incident, original_id: int) -> dict[str, Any]:
        if original_id == incident.id:
            raise InvalidInput(
                "self_duplicate",
                _("#{id} cannot duplicate itself").format(id=incident.id),
                _("name the original incident"),
            )
        original = uow.session.get(Incident, original_id)
        if original is None:
            raise NotFound(
                "no_incident",
                _("incident #{id} does not exist").format(id=original_id),
                _("name an existing original"),
            )
        if original.close_kind == CloseKind.DUPLICATE and original.duplicate_of:
            raise DomainError(
                "duplicate_chain",
                _("#{id} is itself a duplicate of #{original}").format(id=original_id, original=original.duplicate_of),
                _("use --duplicate-of {original}").format(original=original.duplicate_of),
            )
        incident.close_kind, incident.duplicate_of = CloseKind.DUPLICATE.value, original_id
        return {"kind": CloseKind.DUPLICATE.value, "duplicate_of": original_id}

    def reopen(self, incident_id: int, *, reason: str, expected_version: int | None = None) -> Incident:
        """A resolved incident goes back to acknowledged; a closed one opens a new, linked one."""
        reason = _clean_text(reason, "reason", required=True)
        with self.store.write(self.login) as uow:
            self._writer(uow.session, "reopening")
            incident = self._load(uow, incident_id)
            if incident.status == Status.CLOSED:
                return self._reopen_closed(uow, incident, reason)
            if incident.status != Status.RESOLVED:
                raise DomainError(
                    "not_resolved",
                    _("#{id} is {status}, not resolved").format(id=incident.id, status=words.status(incident.status)),
                    _("only a resolved incident reopens"),
                )
            self._guard_version(uow, incident, expected_version)
            incident.status = Status.ACKNOWLEDGED.value
            incident.resolved_at = None
            incident.reopened_at = uow.now
            details: dict[str, Any] = {"reason": reason}
            self._repin(uow, incident, details)
            self._touched(uow, incident)
            uow.record("reopen", details, incident_id=incident.id)
        return incident

    def _reopen_closed(self, uow: UnitOfWork, old: Incident, reason: str) -> Incident:
        new = Incident(
            title=old.title,
            description=old.description,
            system_id=old.system_id,
            category=old.category,
            level=old.level,
            status=Status.ACKNOWLEDGED.value,
            owner=old.owner,
            reporter=self.login,
            reported_at=uow.now,
            outage_started_at=uow.now,
            acknowledged_at=uow.now,
            classified_at=uow.now if old.level and old.category != Category.UNCLASSIFIED else None,
            level_since=uow.now if old.level else None,
            reopened_from=old.id,
            policy_version=clocks.load_policy(uow.session).version,
            updated_at=uow.now,
            updated_by=self.login,
        )
        uow.session.add(new)
        uow.session.flush()
        assert new.id is not None and old.id is not None
        if new.category != Category.UNCLASSIFIED:
            self._add_playbook(uow, new, new.category)
        self._touched(uow, new)
        uow.record("reopened_as", {"new_id": new.id, "reason": reason}, incident_id=old.id)
        uow.record("open", {"reopened_from": old.id, "reason": reason, "title": new.title}, incident_id=new.id)
        return new

    def outage(
        self, incident_id: int, *, started: datetime, reason: str, expected_version: int | None = None
    ) -> Incident:
        reason = _clean_text(reason, "reason", required=True)

        def change(uow: UnitOfWork, actor: Actor, incident: Incident) -> dict[str, Any]:
            if started > uow.now + FUTURE_SLACK:
                raise InvalidInput(
                    "future_outage", _("the outage start is in the future"), _("give a past time or -15m")
                )
            if incident.resolved_at and started > incident.resolved_at:
                raise InvalidInput(
                    "outage_after_resolution",
                    _("the outage cannot start after the resolution"),
                    _("give a time before {at}").format(at=rfc3339(incident.resolved_at)),
                )
            before = incident.outage_started_at
            incident.outage_started_at = started
            details = {"outage_started_at": rfc3339(started), "from": rfc3339(before), "reason": reason}
            self._repin(uow, incident, details)
            return details

        return self._mutate(incident_id, "outage", expected_version, change, what="setting the outage start")

    # -- obligations and re-grades -------------------------------------------------------

    def attest(
        self, incident_id: int, obligation: str, *, via: str, note: str | None = None, who: str | None = None
    ) -> Attestation:
        """An obligation of a level III+ incident is met: who, when, how and a note."""
        via = _clean_text(via, "channel", required=True, limit=40).lower()
        if via not in CHANNELS:
            raise InvalidInput(
                "bad_channel",
                _("{via!r} is not a channel").format(via=via),
                _("use one of {allowed}").format(allowed=", ".join(CHANNELS)),
            )
        note, who = _clean_text(note, "note", required=False), _clean_text(who, "name", required=False, limit=120)
        with self.store.write(self.login) as uow:
            self._writer(uow.session, "attesting an obligation")
            incident = self._load(uow, incident_id)
            self._not_closed(incident)
            spec = self._obligation(uow.session, incident, obligation)
            if spec.who and not who:
                raise InvalidInput(
                    "missing_who",
                    _("{obligation} records who was designated").format(obligation=obligation),
                    _("give --who NAME"),
                )
            row = Attestation(
                incident_id=incident_id, key=spec.key, at=uow.now, by=self.login, channel=via, note=note, who=who
            )
            uow.session.add(row)
            self._touched(uow, incident)
            uow.record(
                "attest", {"obligation": spec.key, "via": via, "note": note, "who": who}, incident_id=incident_id
            )
        return row

    def _obligation(self, session: Session, incident: Incident, key: str) -> deadlines.Obligation:
        rules = clocks.load_policy(session, incident.policy_version).deadlines
        spec = next((o for o in rules.obligations if o.key == key), None)
        if spec is None:
            keys = ", ".join(o.key for o in rules.obligations)
            raise NotFound(
                "no_obligation",
                _("{key!r} is not an obligation").format(key=key),
                _("use one of: {allowed}").format(allowed=keys),
            )
        if not incident.level or Level(incident.level).rank < Level.III.rank:
            raise DomainError(
                "below_iii",
                _("#{id} is level {level}: the obligations apply from level III").format(
                    id=incident.id, level=incident.level
                )
                if incident.level
                else _("#{id} is level (none): the obligations apply from level III").format(id=incident.id),
                _("if it is III or worse, raise it first: opsdeck incident level {id} --level III --reason R").format(
                    id=incident.id
                ),
            )
        return spec

    def regrade(self, incident_id: int, *, confirm: bool, reason: str, expected_version: int | None = None) -> Incident:
        """The outage passed the level's bound: confirm (raise to the next level) or decline."""
        reason = _clean_text(reason, "reason", required=True)

        def change(uow: UnitOfWork, actor: Actor, incident: Incident) -> dict[str, Any]:
            rows = clocks.sync(uow.session, incident, uow.now)
            clock = next(
                (r for r in rows if r.rule == "regrade" and r.met_at is None and r.superseded_at is None), None
            )
            if clock is None or clock.next_level is None:
                raise DomainError(
                    "no_regrade",
                    _("#{id} has no re-grade clock").format(id=incident.id),
                    _("nothing to confirm or decline"),
                )
            if uow.now <= clock.due_at:
                raise DomainError(
                    "regrade_not_due",
                    _("#{id}: no re-grade is due yet; the outage passes the {bound} h bound at {at}").format(
                        id=incident.id, bound=deadlines.bound_of(clock.clock_key), at=rfc3339(clock.due_at)
                    ),
                    _("to change the level now: opsdeck incident level {id} --level L --reason R").format(
                        id=incident.id
                    ),
                )
            bound = deadlines.bound_of(clock.clock_key)
            details: dict[str, Any] = {"bound_hours": bound, "next_level": clock.next_level, "reason": reason}
            if confirm:
                details["from_level"] = incident.level
                self._set_level(uow, incident, Level(clock.next_level))
                details["level"] = clock.next_level
                self._repin(uow, incident, details)
            else:
                uow.session.add(
                    Attestation(
                        incident_id=incident_id,
                        key=f"regrade@{bound}h",
                        at=uow.now,
                        by=self.login,
                        channel="decision",
                        note=reason,
                    )
                )
            details["confirmed"] = confirm
            return details

        return self._mutate(incident_id, "regrade", expected_version, change, what="answering the re-grade")

    # -- probes -------------------------------------------------------------------------

    def silence(
        self, *, probe: str | None = None, system: str | None = None, duration: timedelta, reason: str
    ) -> list[str]:
        """A maintenance window: results are still stored, no incident opens, the board
        shows SILENCED until it ends. A zero duration lifts the silence."""
        reason = _clean_text(reason, "reason", required=True)
        if (probe is None) == (system is None):
            raise InvalidInput("silence_target", _("silence one probe or one system"), _("give NAME or --system S"))
        with self.store.write(self.login) as uow:
            self._writer(uow.session, "silencing probes")
            query = select(Probe)
            if probe is not None:
                query = query.where(col(Probe.name) == probe)
            else:
                query = query.where(col(Probe.system_id) == self._system(uow.session, system or "").id)
            probes = list(uow.session.execute(query.order_by(col(Probe.name))).scalars())
            if not probes:
                raise NotFound(
                    "no_probe",
                    _("no probe named {probe!r}").format(probe=probe)
                    if probe
                    else _("system {system!r} has no probes yet").format(system=system),
                    _("see `opsdeck probe list`"),
                )
            until = uow.now + duration if duration > timedelta(0) else None
            for row in probes:
                row.silenced_until, row.silence_reason = until, reason if until else None
                uow.changed("probe", row.name, "silence")
            uow.record(
                "silence" if until else "unsilence",
                {"probes": [p.name for p in probes], "until": rfc3339(until), "reason": reason, "system": system},
                entity="probe",
                entity_id=probe or f"system:{system}",
            )
        return [p.name for p in probes]

    # -- playbooks ----------------------------------------------------------------------

    @staticmethod
    def _add_playbook(uow: UnitOfWork, incident: Incident, category: str) -> None:
        assert incident.id is not None
        contract = Service._maintenance_contract(uow.session, incident)
        existing = set(
            uow.session.execute(
                select(col(PlaybookStep.key)).where(col(PlaybookStep.incident_id) == incident.id)
            ).scalars()
        )
        position = uow.session.execute(
            select(func.coalesce(func.max(col(PlaybookStep.position)), 0)).where(
                col(PlaybookStep.incident_id) == incident.id
            )
        ).scalar_one()
        for spec in clocks.load_policy(uow.session, incident.policy_version).playbook(category):
            if spec.key in existing or not spec.applies(contract):
                continue
            position += 1
            uow.session.add(
                PlaybookStep(
                    incident_id=incident.id,
                    key=spec.key,
                    category=category,
                    position=position,
                    title=spec.en,
                    title_zh=spec.zh,
                )
            )

    def _replace_playbook(self, uow: UnitOfWork, incident: Incident, new: str) -> None:
        """Reclassifying keeps ticked steps, drops every pending one, appends the new category's."""
        uow.session.execute(
            delete(PlaybookStep).where(
                col(PlaybookStep.incident_id) == incident.id,
                col(PlaybookStep.state) == StepState.PENDING.value,
            )
        )
        self._add_playbook(uow, incident, new)

    @staticmethod
    def _maintenance_contract(session: Session, incident: Incident) -> bool | None:
        if incident.system_id is None:
            return None
        system = session.get(System, incident.system_id)
        return system.maintenance_contract if system else None

    # -- lookups --------------------------------------------------------------------------

    @staticmethod
    def _category(text: str) -> Category:
        try:
            category = parse_enum(Category, text, "category")
        except ValueError as error:
            raise InvalidInput("bad_category", str(error), _("see DOMAIN.md §1 for what each means")) from None
        if category is Category.UNCLASSIFIED:
            allowed = ", ".join(c.value for c in CLASSIFIED_CATEGORIES)
            raise InvalidInput(
                "bad_category",
                _("unclassified is not a classification"),
                _("use one of {allowed}").format(allowed=allowed),
            )
        return category

    @staticmethod
    def _level(text: str) -> Level:
        try:
            return Level.parse(text)
        except ValueError as error:
            raise InvalidInput("bad_level", str(error), _("I is the most severe, IV the least")) from None

    @staticmethod
    def _system(session: Session, name: str) -> System:
        system = session.scalars(select(System).where(col(System.name) == name)).one_or_none()
        if system is None:
            raise NotFound(
                "no_system",
                _("no system named {name!r} in the catalog").format(name=name),
                _("see `opsdeck systems list`, or add it with `opsdeck systems import FILE`"),
            )
        return system

    @staticmethod
    def _policy(session: Session) -> policy.Policy:
        return clocks.load_policy(session)

    # -- roster, contacts, systems, policy -----------------------------------------------

    def roster_duty(self, login: str, on: bool) -> RosterMember:
        with self.store.write(self.login) as uow:
            if self.read_only or login != self.login:
                self._lead(
                    uow.session,
                    f"putting {login} {'on' if on else 'off'} duty",
                    shown=(_("putting {login} on duty") if on else _("putting {login} off duty")).format(login=login),
                )
            member = uow.session.scalars(select(RosterMember).where(col(RosterMember.login) == login)).one_or_none()
            if member is None:
                raise NotFound(
                    "no_member",
                    _("{login!r} is not on the roster").format(login=login),
                    _("see `opsdeck roster list`"),
                )
            if member.on_duty != on:
                member.on_duty = on
                uow.record("duty", {"login": login, "on_duty": on}, entity="roster", entity_id=login)
        return member

    def import_records(self, kind: str, path: Path, progress: Callable[[int, int], None] | None = None) -> ImportResult:
        parsed = directory.parse_file(path, kind)
        with self.store.write(self.login) as uow:
            self._lead(uow.session, f"{kind} import", bootstrap=True)
            result = _IMPORTERS[kind](uow, parsed, progress)
            if result.added or result.updated:
                uow.record(
                    f"{kind}_import",
                    {"file": str(path), **result.counts(), "added": result.added, "updated": result.updated},
                    entity=kind,
                    entity_id=str(path.name),
                )
                for name in result.added + result.updated:
                    uow.changed(kind, name, "import")
        return result

    def apply_channels(self, path: Path) -> tuple[int, bool]:
        """Channels and routes from a TOML file, as a new version (leads); secrets stay out
        of the audit trail: it records the hash and the channel names only."""
        from . import routing
        from .models import RoutingVersion

        document = routing.load_file(path)
        summary = {
            "channels": [c["name"] for c in document.get("channel", [])],
            "routes": len(document.get("route", [])),
        }
        return self._new_version(RoutingVersion, "channels", document, routing.document_hash(document), path, summary)

    def retry_message(self, message_id: int) -> None:
        """A failed or dead message goes out again now (same idempotency key)."""
        from .models import OutboxMessage

        with self.store.write(self.login) as uow:
            self._writer(uow.session, "retrying a notification")
            message = uow.session.get(OutboxMessage, message_id)
            if message is None:
                raise NotFound(
                    "no_message",
                    _("no notification #{id}").format(id=message_id),
                    _("see `opsdeck notify list`"),
                )
            if message.state not in ("failed", "dead"):
                raise DomainError(
                    "not_failed",
                    _("notification #{id} is {state}").format(id=message_id, state=message.state),
                    _("only failed or dead ones are retried"),
                )
            message.state, message.next_attempt_at, message.lease_until = "pending", uow.now, None
            uow.record(
                "notify_retry",
                {"message": message_id, "key": message.idempotency_key},
                entity="outbox",
                entity_id=message_id,
            )

    def apply_policy(self, path: Path) -> tuple[int, bool]:
        """Store the file as a new policy version; (version, whether it changed)."""
        document = policy.merged_with_defaults(policy.load_file(path))
        return self._new_version(PolicyVersion, "policy", document, policy.document_hash(document), path, {})

    def _new_version(
        self, model: Any, kind: str, document: dict[str, Any], digest: str, path: Path, summary: dict[str, Any]
    ) -> tuple[int, bool]:
        """A versioned document (the policy, the routing): lead-only, stored once per
        content, audited in the system chain with its hash (never its secrets)."""
        with self.store.write(self.login) as uow:
            self._lead(uow.session, f"{kind} apply", bootstrap=True)
            latest = uow.session.execute(select(model).order_by(col(model.version).desc()).limit(1)).scalars().first()
            if latest is not None and latest.hash == digest:
                return int(latest.version), False
            version = (latest.version if latest else 0) + 1
            uow.session.add(
                model(
                    version=version,
                    created_at=uow.now,
                    actor=self.login,
                    source=str(path),
                    hash=digest,
                    document=document,
                )
            )
            uow.record(
                f"{kind}_applied",
                {"version": version, "hash": digest, "source": str(path), **summary},
                entity=kind,
                entity_id=version,
            )
        return version, True


def _upsert(
    uow: UnitOfWork,
    model: Any,
    ident: str,
    rows: list[dict[str, Any]],
    progress: Callable[[int, int], None] | None,
) -> ImportResult:
    existing = {getattr(r, ident): r for r in uow.session.execute(select(model)).scalars()}
    added, updated, unchanged = [], [], []
    for index, data in enumerate(rows):
        key = data[ident]
        row = existing.get(key)
        if row is None:
            uow.session.add(model(**data))
            added.append(key)
        elif any(getattr(row, k) != v for k, v in data.items()):
            for k, v in data.items():
                setattr(row, k, v)
            updated.append(key)
        else:
            unchanged.append(key)
        if progress:
            progress(index + 1, len(rows))
    return ImportResult(model.__tablename__, added, updated, unchanged)


Parsed = list[tuple[directory.Record, dict[str, Any]]]


def _import_roster(uow: UnitOfWork, parsed: Parsed, progress: Any) -> ImportResult:
    return _upsert(uow, RosterMember, "login", [data for _, data in parsed], progress)


def _import_contacts(uow: UnitOfWork, parsed: Parsed, progress: Any) -> ImportResult:
    return _upsert(uow, Contact, "key", [data for _, data in parsed], progress)


def _import_systems(uow: UnitOfWork, parsed: Parsed, progress: Any) -> ImportResult:
    """Systems name a parent system and a vendor contact: both must resolve, no cycles."""
    rows = [data for _, data in parsed]
    contacts = set(uow.session.execute(select(col(Contact.key))).scalars())
    known = set(uow.session.execute(select(col(System.name))).scalars()) | {r["name"] for r in rows}
    for record, row in parsed:
        if row["vendor_contact"] and row["vendor_contact"] not in contacts:
            raise InvalidInput(
                "no_contact",
                _("{where}: vendor_contact: for system {name!r}, vendor_contact {contact!r} is not a contact").format(
                    where=record.where, name=row["name"], contact=row["vendor_contact"]
                ),
                _("import contacts first (opsdeck contacts import FILE) or fix the key"),
            )
        if row["parent"] and row["parent"] not in known:
            raise InvalidInput(
                "no_parent",
                _("{where}: parent: for system {name!r}, parent {parent!r} is not a system").format(
                    where=record.where, name=row["name"], parent=row["parent"]
                ),
                _("add the parent to the file or the catalog"),
            )
    where = {data["name"]: record.where for record, data in parsed}
    parents = {r["name"]: r.pop("parent") for r in rows}
    result = _upsert(uow, System, "name", rows, progress)
    uow.session.flush()
    ids: dict[str, int] = dict(uow.session.execute(select(col(System.name), col(System.id))).all())
    graph: dict[int, int | None] = dict(uow.session.execute(select(col(System.id), col(System.parent_id))).all())
    changed_parent = []
    for name, parent in parents.items():
        parent_id = ids[parent] if parent else None
        if graph.get(ids[name]) != parent_id:
            graph[ids[name]] = parent_id
            changed_parent.append(name)
    _refuse_cycles(graph, {v: k for k, v in ids.items()}, where)
    for name in changed_parent:
        system = uow.session.get(System, ids[name])
        assert system is not None
        system.parent_id = graph[ids[name]]
        if name in result.unchanged:
            result.unchanged.remove(name)
            result.updated.append(name)
    return result


def _refuse_cycles(graph: dict[int, int | None], names: dict[int, str], where: dict[str, str]) -> None:
    for start in graph:
        seen = {start}
        node = graph.get(start)
        while node is not None:
            if node in seen:
                name = names[start]
                raise InvalidInput(
                    "parent_cycle",
                    _("{where}: parent: system {name!r} is its own ancestor").format(
                        where=where[name] if name in where else _("catalog"), name=name
                    ),
                    _("fix the parent chain in the file"),
                )
            seen.add(node)
            node = graph.get(node)


_IMPORTERS = {"roster": _import_roster, "contacts": _import_contacts, "systems": _import_systems}

__all__ = ["OPEN_STATUSES", "Actor", "ImportResult", "Service"]
