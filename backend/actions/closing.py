"""Closing (with the record, as a false alarm or a duplicate), the stored draft, reopening."""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Any

from .. import clocks, transitions, words
from ..domain import (
    Category,
    CloseKind,
    Status,
)
from ..errors import DomainError, InvalidInput, NotFound
from ..i18n import _
from ..models import (
    Incident,
    RecordDraft,
)
from ..store import UnitOfWork
from .base import RECORD_LIMIT, Actor, ServiceBase, _clean_text


class ClosingActions(ServiceBase):
    """Closing (with the record, as a false alarm or a duplicate), the stored draft, reopening."""

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
            if transitions.closing_needs_lead(incident.level) and not actor.is_lead:
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
        reasons, missing = [], []  # why it cannot close; the steps that would let it (the board names their keys)
        if incident.status != Status.RESOLVED:
            reasons.append(_("it is not resolved"))
            missing.append("resolve")
        if incident.category == Category.UNCLASSIFIED:
            reasons.append(_("it has no category"))
        if incident.level is None:
            reasons.append(_("it has no level"))
        if incident.category == Category.UNCLASSIFIED or incident.level is None:
            missing.append("classify")  # a classification gives both
        if missing:
            why = reasons[0]
            for more in reasons[1:]:
                why = _("{first} and {second}").format(first=why, second=more)
            commands = {
                "resolve": f"opsdeck incident resolve {incident.id} --resolution TEXT",
                "classify": f"opsdeck incident classify {incident.id} --category C --level L",
            }
            raise DomainError(
                "not_closable",
                _("#{id} cannot be closed: {why}").format(id=incident.id, why=why),
                _("first {steps}; or close it with --false-alarm --reason R or --duplicate-of ID").format(
                    steps="; ".join(commands[key] for key in missing)
                ),
                id=incident.id,
                missing=missing,
            )
        from .. import drafts, record

        assert incident.id is not None
        drafted = text is None
        if text is None:  # the stored draft, as people wrote it
            text = drafts.current(uow.session, incident.id, uow.now, zone)[0]
        missing = record.missing_sections(text)
        if missing:
            raise DomainError(
                "record_incomplete",
                _("#{id}: the record is not written yet: {sections} empty or still the draft's placeholder").format(
                    id=incident.id, sections=record.section_names(missing)
                ),
                _("write them: opsdeck report edit {id} (or w on the board), then close it").format(id=incident.id),
                id=incident.id,
                sections=missing,
            )
        incident.record = text
        incident.record_filed_at = uow.now
        incident.close_kind = CloseKind.RESOLVED.value
        return {
            "kind": CloseKind.RESOLVED.value,
            "record_sha256": record.record_hash(text),
            "record_chars": len(text),
            "record_as": "draft" if drafted else "edited",
        }

    def save_draft(self, incident_id: int, text: str, *, seen: int) -> RecordDraft:
        """Store the record's draft as a person wrote it; `seen` is the draft version it
        was edited from (0: none stored yet). Nothing is filed."""
        from .. import drafts, record

        text = _clean_text(text, "record", required=True, limit=RECORD_LIMIT)
        with self._write() as uow:
            self._writer(uow.session, "editing the record")
            incident = self._load(uow, incident_id)
            self._not_closed(incident)
            row = drafts.save(uow, incident_id, text, seen)
            details = {
                "version": row.version,
                "record_sha256": record.record_hash(text),
                "record_chars": len(text),
                "missing": record.missing_sections(text),
            }
            uow.record("draft", details, incident_id=incident_id)
        return row

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
        with self._write() as uow:
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
            self._reopened(uow, incident, reason)
        return incident

    @staticmethod
    def reopen_in(uow: UnitOfWork, incident: Incident, reason: str) -> None:
        """The worker reopens a resolved incident (`[probes] critical_after_resolve`)."""
        ClosingActions._guard_version(uow, incident, None)
        ClosingActions._reopened(uow, incident, reason)

    @staticmethod
    def _reopened(uow: UnitOfWork, incident: Incident, reason: str) -> None:
        incident.status = Status.ACKNOWLEDGED.value
        incident.resolved_at = None
        incident.reopened_at = uow.now
        details: dict[str, Any] = {"reason": reason}
        ClosingActions._repin(uow, incident, details)
        ClosingActions._touched(uow, incident)
        uow.record("reopen", details, incident_id=incident.id)

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
