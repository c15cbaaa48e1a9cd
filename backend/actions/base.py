"""The service's base: the actor and its permission, the unit of work, the incident
helpers, lookups and playbooks every action uses (backend/service.py composes them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from .. import clocks, memo, notify_plan, policy, stale, words
from ..domain import (
    CHANNELS,
    CLASSIFIED_CATEGORIES,
    NOUN_TERMS,
    SYSTEM_ACTOR_PREFIX,
    Category,
    Level,
    Permission,
    Status,
    StepState,
    no_incident,
    parse_enum,
    permission_of,
)
from ..errors import DomainError, InvalidInput, NotFound, StaleWrite
from ..i18n import _
from ..models import (
    Incident,
    PlaybookStep,
    RosterMember,
    System,
)
from ..sanitize import visible
from ..store import Store, UnitOfWork
from ..timeutil import rfc3339

TITLE_LIMIT = 300
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
    if required and not visible(value):
        raise InvalidInput(
            f"missing_{what}",
            _("a {what} is required").format(what=_field(what))
            if not value
            else _("the {what} shows nothing: it holds only control or invisible characters").format(what=_field(what)),
            _("give a {what}").format(what=_field(what)),
        )
    if len(value) > limit:
        raise InvalidInput(
            f"long_{what}",
            _("the {what} is over {limit} characters").format(what=_field(what), limit=limit),
            _("shorten it"),
        )
    return value


def _channel(via: str) -> str:
    """How someone was told (an obligation, a warning's attestation): one of CHANNELS."""
    via = _clean_text(via, "channel", required=True, limit=40).lower()
    if via not in CHANNELS:
        raise InvalidInput(
            "bad_channel",
            _("{via!r} is not a channel").format(via=via),
            _("use one of {allowed}").format(allowed=", ".join(CHANNELS)),
        )
    return via


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
        "source": _("source"),
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
        "editing the record": _("editing the record"),
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
        "raising a warning": _("raising a warning"),
        "changing a warning": _("changing a warning"),
        "attesting a warning": _("attesting a warning"),
        "promoting a warning": _("promoting a warning"),
        "closing a warning": _("closing a warning"),
    }
    return shown.get(what, what)


class ServiceBase:
    """One login on one store: who may do what, and the helpers every action uses."""

    def __init__(self, store: Store, login: str, *, read_only: bool = False, by: str | None = None) -> None:
        self.store = store
        self.login = login
        self.read_only = read_only
        self.by = by  # who used `--as` to act as `login`: named in every event this writes

    def _write(self) -> AbstractContextManager[UnitOfWork]:
        return self.store.write(self.login, by=self.by)

    # -- who may do what ---------------------------------------------------------------

    def actor(self, session: Session) -> Actor:
        permission = permission_of(
            self.login,
            self.read_only,
            lambda: memo.remembered(
                session,
                ("permission", self.login),
                ("roster_members",),
                lambda: session.execute(
                    select(col(RosterMember.permission)).where(col(RosterMember.login) == self.login)
                ).scalar_one_or_none(),
            ),
        )
        return Actor(self.login, permission, is_system=self.login.startswith(SYSTEM_ACTOR_PREFIX))

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
            raise no_incident(incident_id)
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

    @staticmethod
    def _guard_version(uow: UnitOfWork, incident: Incident, expected: int | None) -> None:
        """Bump the version if it is still `expected`, else refuse a stale write.

        The incident was read in this write, after its lock was taken (SQLite: `BEGIN
        IMMEDIATE`; PostgreSQL: the store's write lock, which every writer takes first),
        so the version read is the stored one and no other writer can move it before
        this commits: the check needs no statement of its own, and the bump goes in the
        one UPDATE the transaction's flush writes for the incident's other changes."""
        seen = incident.version if expected is None else expected
        if incident.version != seen:
            raise ServiceBase._stale(uow.session, incident, seen)
        incident.version, incident.updated_at, incident.updated_by = seen + 1, uow.now, uow.actor

    @staticmethod
    def _stale(session: Session, incident: Incident, seen: int) -> StaleWrite:
        """Who changed it, when, and what: each field that differs from the version seen."""
        changes = stale.changes_since(session, incident, seen)
        what = _("#{id} changed by {by} at {at} (now version {version}; you saw {seen})").format(
            id=incident.id,
            by=incident.updated_by,
            at=rfc3339(incident.updated_at),
            version=incident.version,
            seen=seen,
        )
        if changes:
            what = _("{what}: {changes}").format(what=what, changes=stale.changes_text(changes))
        return StaleWrite(
            "stale",
            what,
            _("reload: opsdeck incident show {id}, then act on what is there now").format(id=incident.id),
            id=incident.id,
            version=incident.version,
            expected=seen,
            by=incident.updated_by,
            at=rfc3339(incident.updated_at),
            changes=[(c.field, c.before, c.after) for c in changes],
        )

    def _mutate(
        self,
        incident_id: int,
        action: str,
        expected_version: int | None,
        change: Callable[[UnitOfWork, Actor, Incident], dict[str, Any]],
        *,
        what: str,
        after: Callable[[UnitOfWork, Incident], None] | None = None,
    ) -> Incident:
        with self._write() as uow:
            actor = self._writer(uow.session, what)
            # With its clock rows and attestations, read now, before it changes: then `_touched`
            # reads nothing, and the transaction writes the incident in one UPDATE at its end.
            lock = uow.dialect == "postgresql"
            incident = clocks.load_with_clocks(uow.session, uow.connection, incident_id, lock=lock)
            if incident is None:
                raise no_incident(incident_id)
            self._not_closed(incident)
            self._guard_version(uow, incident, expected_version)
            details = change(uow, actor, incident)
            self._touched(uow, incident)
            event = uow.record(action, details, incident_id=incident.id)
            notify_plan.after(uow, action, incident, details, event.seq)
            if after is not None:
                after(uow, incident)
        return incident

    @staticmethod
    def _touched(uow: UnitOfWork, incident: Incident) -> None:
        """Every audited change is activity (it renews the acknowledgement lease) and
        may move a clock: re-derive them in the same transaction."""
        incident.last_activity_at = uow.now
        clocks.sync(uow.session, incident, uow.now)

    @staticmethod
    def _repin(uow: UnitOfWork, incident: Incident, details: dict[str, Any]) -> None:
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

    # -- the service desk's call log ---------------------------------------------------

    # -- probes -------------------------------------------------------------------------

    # -- playbooks ----------------------------------------------------------------------

    @staticmethod
    def _add_playbook(uow: UnitOfWork, incident: Incident, category: str) -> None:
        assert incident.id is not None
        contract = ServiceBase._maintenance_contract(uow.session, incident)
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
        allowed = ", ".join(c.value for c in CLASSIFIED_CATEGORIES)  # what a classification may say
        try:
            category = parse_enum(Category, text, "category")
        except ValueError:
            raise InvalidInput(
                "bad_category",
                _("{text!r} is not a {what}: use one of {allowed}").format(
                    text=text, what=NOUN_TERMS["category"].shown, allowed=allowed
                ),
                _("see docs/plan.md#categories for what each means"),
            ) from None
        if category is Category.UNCLASSIFIED:
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
