"""Opening, acknowledging, classifying, grading, assigning, noting, ticking the playbook, the cause, resolving and the outage start."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from .. import audit, clocks, notify_plan, transitions, words
from ..domain import (
    Category,
    Level,
    Permission,
    Status,
    StepState,
)
from ..errors import DomainError, InvalidInput, NotFound
from ..i18n import _
from ..models import (
    Incident,
    IncidentNote,
    PlaybookStep,
    RosterMember,
    System,
)
from ..models.columns import construct
from ..store import UnitOfWork
from ..timeutil import rfc3339
from .base import FUTURE_SLACK, TITLE_LIMIT, Actor, ServiceBase, _clean_text


class IncidentActions(ServiceBase):
    """Opening, acknowledging, classifying, grading, assigning, noting, ticking the playbook, the cause, resolving and the outage start."""

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
        with self._write() as uow:
            self._writer(uow.session, "opening an incident")
            system_row = self._system(uow.session, system) if system else None
            if outage_start is not None and outage_start > uow.now + FUTURE_SLACK:
                raise InvalidInput(
                    "future_outage", _("the outage start is in the future"), _("give a past time or -15m")
                )
            return IncidentActions.open_in(
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
        warning_id: int | None = None,
    ) -> Incident:
        """Open an incident inside a write that is already running (the ingest opens
        incidents for failing probes in the transaction of their results)."""
        incident = construct(
            Incident,
            title=title[:TITLE_LIMIT],
            description=description,
            system_id=system_row.id if system_row else None,
            reporter=uow.actor,
            reported_at=uow.now,
            outage_started_at=outage_start or uow.now,
            last_activity_at=uow.now,  # as _touched sets it, so the insert needs no update
            policy_version=clocks.load_policy(uow.session).version,
            updated_at=uow.now,
            updated_by=uow.actor,
            probe_id=probe_id,
            warning_id=warning_id,
        )
        details: dict[str, Any] = {"title": incident.title, "system": system_row.name if system_row else None}
        if category:
            incident.category = category.value
            details["category"] = category.value
        if level:
            IncidentActions._set_level(uow, incident, level)
            details.update(level=level.value, reason=reason or "")
        if category and level:
            incident.classified_at = uow.now
            IncidentActions._ack_implied(uow, incident, details)
        if outage_start is not None:
            details["outage_started_at"] = rfc3339(outage_start)
        if probe_id is not None:
            details["probe_id"] = probe_id
        if warning_id is not None:
            details["warning_id"] = warning_id
        # Its clocks first, so its due times go in with its INSERT (no UPDATE after it);
        # nothing after this changes its facts, so `_touched` would derive the same again.
        first_clocks = clocks.first_clocks(uow.session, incident)
        uow.insert(incident)
        assert incident.id is not None
        clocks.new_incident(uow.session, incident, first_clocks)
        uow.new_chain(audit.incident_chain(incident.id))
        if category:
            IncidentActions._add_playbook(uow, incident, category.value)
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
        if transitions.lowers(incident.level, new.value) and not actor.is_lead:
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

    def note(self, incident_id: int, text: str, *, expected_version: int | None = None) -> Incident:
        """A note is a child row: it never conflicts with another operator's note (unless
        the caller asks, with `expected_version`, that the incident be as they saw it)."""
        text = _clean_text(text, "note", required=True)
        with self._write() as uow:
            self._writer(uow.session, "adding a note")
            incident = self._load(uow, incident_id)
            self._not_closed(incident)
            details: dict[str, Any] = {"text": text}
            if expected_version is not None or incident.status == Status.REPORTED:
                self._guard_version(uow, incident, expected_version)
            if incident.status == Status.REPORTED:
                self._ack_implied(uow, incident, details)
            uow.session.add(IncidentNote(incident_id=incident_id, at=uow.now, author=self.login, text=text))
            self._touched(uow, incident)
            uow.record("note", details, incident_id=incident_id)
        return incident

    def step(
        self,
        incident_id: int,
        key: str,
        *,
        skip: bool = False,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> PlaybookStep:
        reason = _clean_text(reason, "reason", required=skip)
        with self._write() as uow:
            self._writer(uow.session, "ticking a playbook step")
            incident = self._load(uow, incident_id)
            self._not_closed(incident)
            if expected_version is not None:
                self._guard_version(uow, incident, expected_version)
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

    def resolve(
        self, incident_id: int, *, resolution: str, zone: tzinfo = UTC, expected_version: int | None = None
    ) -> Incident:
        """Resolved: the post-incident record's draft is stored, for people to write."""
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

        def draft(uow: UnitOfWork, incident: Incident) -> None:
            from .. import drafts

            assert incident.id is not None
            drafts.create(uow, incident.id, zone)

        return self._mutate(incident_id, "resolve", expected_version, change, what="resolving", after=draft)

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
