"""Warnings (预警, docs/plan.md#warnings): a sign before an incident, as a record of its own.

A warning is raised (external: a vendor bulletin, a carrier's notice, a power or weather
alert; internal: a probe, an alert, an audit finding), analysed, prepared for (the
policy's measures for its kind, ticked), the departments concerned told to prepare and
leadership told (attested: who, when, how). It has its own clocks, computed from the
policy it was raised under, never the incident clocks. It ends promoted to an incident
(linked both ways; the incident's clocks start at the promotion) or closed as passed.

Each action is one write: the change, one audit event on the chain `warning:ID`, the
change-feed entry (`warning`, ID). Promotion also opens the incident in that write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import select, update
from sqlmodel import Session, col

from . import clocks
from .errors import DomainError, InvalidInput, NotFound, StaleWrite
from .i18n import _
from .models import Incident, System, WarningAttestation, WarningMeasure, WarningNote, WarningRecord
from .rows import OpenWarning, WarningDetail, WarningSummary, WarningToldRow, stored_id
from .store import Appended, UnitOfWork
from .timeutil import rfc3339
from .warning_clocks import WarningClock, clock_rows, end_of_day, warning_clocks

if TYPE_CHECKING:
    from .service import Service

__all__ = ["WarningClock", "Warnings", "clock_rows", "end_of_day", "warning_clocks"]

KINDS = ("external", "internal")
STATUSES = ("open", "promoted", "passed")
STATUS_FILTERS = ("open", "promoted", "passed", "all")
TOLD = ("department", "leadership")  # who a warning's attestations say was told


def chain(warning_id: int) -> str:
    return f"warning:{warning_id}"


def _kind(text: str) -> str:
    value = (text or "").strip().lower()
    if value not in KINDS:
        raise InvalidInput(
            "bad_kind",
            _("{kind!r} is not a kind of warning").format(kind=text),
            _("use external (a vendor bulletin, a carrier's notice, a power alert) or internal (a probe, an alert)"),
        )
    return value


def _no_warning(warning_id: int) -> NotFound:
    return NotFound(
        "no_warning",
        _("warning W{id} does not exist").format(id=warning_id),
        _("list warnings with `opsdeck warning list --status all`"),
        id=warning_id,
    )


@dataclass(frozen=True)
class Raising:
    """A warning to raise: what `Warnings.add` checked, or what a probe says
    (backend/probe_warnings.py, which also names the probe)."""

    kind: str
    title: str
    source: str = ""
    known: str = ""
    systems: tuple[str, ...] = ()
    serious: bool = False
    probe_id: int | None = None


# -- writing -----------------------------------------------------------------------------


class Warnings:
    """The warning actions of one login (`service`: its permissions and store)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def _load(self, uow: UnitOfWork, warning_id: int) -> WarningRecord:
        row = uow.session.get(WarningRecord, warning_id, with_for_update=uow.dialect == "postgresql")
        if row is None:
            raise _no_warning(warning_id)
        return row

    @staticmethod
    def _still_open(row: WarningRecord) -> None:
        if row.status == "promoted":
            raise DomainError(
                "promoted",
                _("warning W{id} was promoted to incident #{incident}: it is final").format(
                    id=row.id, incident=row.incident_id
                ),
                _("work on the incident: opsdeck incident show {incident}").format(incident=row.incident_id),
                id=row.id,
                incident=row.incident_id,
            )
        if row.status == "passed":
            raise DomainError(
                "passed",
                _("warning W{id} was closed as passed: it is final").format(id=row.id),
                _("if it is back, raise a new warning: opsdeck warning add"),
                id=row.id,
            )

    @staticmethod
    def _bump(uow: UnitOfWork, row: WarningRecord, expected: int | None) -> None:
        """Version guard, as for incidents: a stale write is refused with who changed what."""
        seen = row.version if expected is None else expected
        result = uow.session.exec(
            update(WarningRecord)
            .where(col(WarningRecord.id) == row.id, col(WarningRecord.version) == seen)
            .values(version=seen + 1, updated_at=uow.now, updated_by=uow.actor)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            uow.session.refresh(row)
            raise StaleWrite(
                "stale",
                _("W{id} changed by {by} at {at} (now version {version}; you saw {seen})").format(
                    id=row.id, by=row.updated_by, at=rfc3339(row.updated_at), version=row.version, seen=seen
                ),
                _("reload: opsdeck warning show {id}, then act on what is there now").format(id=row.id),
                id=row.id,
                version=row.version,
                expected=seen,
            )
        row.version, row.updated_at, row.updated_by = seen + 1, uow.now, uow.actor

    def add(
        self,
        kind: str,
        title: str,
        *,
        source: str = "",
        known: str = "",
        systems: list[str] | None = None,
        serious: bool = False,
    ) -> WarningRecord:
        from .service import TITLE_LIMIT, _clean_text

        kind = _kind(kind)
        title = _clean_text(title, "title", required=True, limit=TITLE_LIMIT)
        source = _clean_text(source, "source", required=False, limit=300)
        known = _clean_text(known, "description", required=False)
        names = tuple(n.strip() for n in systems or [] if n.strip())
        with self.service._write() as uow:
            self.service._writer(uow.session, "raising a warning")
            for name in names:
                self.service._system(uow.session, name)
            return self.add_in(uow, Raising(kind, title, source, known, names, serious))

    @staticmethod
    def add_in(uow: UnitOfWork, new: Raising) -> WarningRecord:
        """Raise a warning inside a write that is already running."""
        pinned = clocks.load_policy(uow.session)
        row = WarningRecord(
            kind=new.kind,
            source=new.source,
            probe_id=new.probe_id,
            title=new.title,
            known=new.known,
            systems=list(new.systems),
            serious=new.serious,
            raised_at=uow.now,
            raised_by=uow.actor,
            policy_version=pinned.version,
            updated_at=uow.now,
            updated_by=uow.actor,
        )
        uow.session.add(row)
        uow.session.flush()
        assert row.id is not None
        for position, spec in enumerate(pinned.warning_measures(new.kind)):
            uow.session.add(
                WarningMeasure(warning_id=row.id, key=spec.key, position=position, title=spec.en, title_zh=spec.zh)
            )
        details: dict[str, Any] = {
            "kind": new.kind,
            "title": new.title,
            "source": new.source,
            "systems": row.systems,
            "serious": new.serious,
        }
        if new.probe_id is not None:
            details["probe_id"] = new.probe_id
        event = _record(uow, row, "warning_raise", details)
        notify(uow, "warning", row, event.seq)
        return row

    def note(self, warning_id: int, text: str, *, analysis: bool = False) -> WarningRecord:
        """A note; with `analysis` it is the warning's analysis, and meets its analysis clock."""
        from .service import _clean_text

        text = _clean_text(text, "note", required=True)
        with self.service._write() as uow:
            self.service._writer(uow.session, "changing a warning")
            row = self._load(uow, warning_id)
            self._still_open(row)
            self._bump(uow, row, None)
            details: dict[str, Any] = {"text": text}
            if analysis:
                row.analysis = text
                details["analysis"] = True
                if row.analysed_at is None:
                    row.analysed_at, row.analysed_by = uow.now, uow.actor
            uow.session.add(WarningNote(warning_id=warning_id, at=uow.now, author=self.service.login, text=text))
            _record(uow, row, "warning_note", details)
        return row

    def measure(self, warning_id: int, key: str, *, undo: bool = False) -> WarningMeasure:
        with self.service._write() as uow:
            self.service._writer(uow.session, "changing a warning")
            row = self._load(uow, warning_id)
            self._still_open(row)
            measure: WarningMeasure | None = uow.session.execute(
                select(WarningMeasure).where(
                    col(WarningMeasure.warning_id) == warning_id, col(WarningMeasure.key) == key
                )
            ).scalar_one_or_none()
            if measure is None:
                keys = uow.session.execute(
                    select(col(WarningMeasure.key))
                    .where(col(WarningMeasure.warning_id) == warning_id)
                    .order_by(col(WarningMeasure.position))
                ).scalars()
                raise NotFound(
                    "no_measure",
                    _("W{id} has no measure {key!r}").format(id=warning_id, key=key),
                    _("use one of: {allowed}").format(allowed=", ".join(keys) or "-"),
                )
            self._bump(uow, row, None)
            if undo:
                measure.done_at, measure.done_by = None, None
            elif measure.done_at is None:
                measure.done_at, measure.done_by = uow.now, self.service.login
            _record(uow, row, "warning_measure", {"key": key, "done": not undo})
        return measure

    def attest(
        self, warning_id: int, told: str, *, via: str, who: str | None = None, note: str | None = None
    ) -> WarningAttestation:
        """A department was told to prepare (`department`, --who names it), or leadership was told."""
        from .actions.base import _channel, _clean_text

        if told not in TOLD:
            raise InvalidInput(
                "bad_told",
                _("{told!r} is not who a warning tells").format(told=told),
                _("use department (with --who) or leadership"),
            )
        via = _channel(via)
        who, note = _clean_text(who, "name", required=False, limit=120), _clean_text(note, "note", required=False)
        if told == "department" and not who:
            raise InvalidInput("missing_who", _("a department told to prepare is named"), _("give --who DEPARTMENT"))
        with self.service._write() as uow:
            self.service._writer(uow.session, "attesting a warning")
            row = self._load(uow, warning_id)
            self._still_open(row)
            self._bump(uow, row, None)
            attested = WarningAttestation(
                warning_id=warning_id, key=told, who=who, at=uow.now, by=self.service.login, channel=via, note=note
            )
            uow.session.add(attested)
            _record(uow, row, "warning_attest", {"told": told, "who": who, "via": via, "note": note})
        return attested

    def promote(
        self,
        warning_id: int,
        *,
        category: str | None = None,
        level: str | None = None,
        reason: str | None = None,
        system: str | None = None,
    ) -> tuple[WarningRecord, Incident]:
        """Open the incident it became, in the same write: its clocks start now."""
        from .service import Service

        cat = Service._category(category) if category else None
        lvl = Service._level(level) if level else None
        if (cat is None) != (lvl is None):
            raise InvalidInput(
                "half_classified",
                _("a category and a level go together"),
                _("give both --category and --level, or neither (classify later)"),
            )
        with self.service._write() as uow:
            self.service._writer(uow.session, "promoting a warning")
            row = self._load(uow, warning_id)
            self._still_open(row)
            self._bump(uow, row, None)
            name = system or (row.systems[0] if row.systems else None)
            system_row = self.service._system(uow.session, name) if name else None
            incident = Service.open_in(
                uow,
                row.title,
                description=_carried(row),
                system_row=system_row,
                category=cat,
                level=lvl,
                reason=reason,
                warning_id=row.id,
                probe_id=_incident_probe(uow, row),  # a probe's warning: its later failures attach
            )
            row.status, row.incident_id = "promoted", incident.id
            row.closed_at, row.closed_by = uow.now, uow.actor
            event = _record(uow, row, "warning_promote", {"incident_id": incident.id, "reason": reason or ""})
            notify(uow, "warning_promoted", row, event.seq, incident=incident)
        return row, incident

    def close(self, warning_id: int, *, reason: str) -> WarningRecord:
        """It passed: nothing came of it (the reason says why that is known)."""
        from .service import _clean_text

        reason = _clean_text(reason, "reason", required=True)
        with self.service._write() as uow:
            self.service._writer(uow.session, "closing a warning")
            row = self._load(uow, warning_id)
            self._still_open(row)
            self._bump(uow, row, None)
            row.status, row.close_reason = "passed", reason
            row.closed_at, row.closed_by = uow.now, uow.actor
            _record(uow, row, "warning_close", {"reason": reason})
        return row


def _record(uow: UnitOfWork, row: WarningRecord, action: str, details: dict[str, Any]) -> Appended:
    assert row.id is not None
    uow.session.flush()
    return uow.record(action, details, chain=chain(row.id), entity="warning", entity_id=row.id)


class WarningPayload(TypedDict):
    """The warning in a message's payload (the templates' `warning.*` fields)."""

    id: int | None
    kind: str
    title: str
    source: str
    system: str | None  # the systems it may affect, joined
    level: None  # a warning has no level: that is the incident's, once promoted
    serious: bool
    issued_at: str


def payload(row: WarningRecord) -> WarningPayload:
    """The warning as a message tells it (the templates' `warning.*` fields)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "title": row.title,
        "source": row.source,
        "system": ", ".join(row.systems) or None,
        "level": None,  # a warning has no level: that is the incident's, once promoted
        "serious": row.serious,
        "issued_at": rfc3339(row.raised_at),
    }


def notify(uow: UnitOfWork, event: str, row: WarningRecord, seq: int, *, incident: Incident | None = None) -> int:
    """One outbox row per recipient the routes for `event` name (`warning`, `warning_promoted`);
    a route's `systems` filter matches a warning that may affect one of them."""
    from . import notify_plan
    from .recipients import resolve_targets

    first = row.systems[0] if row.systems else None
    system = uow.session.execute(select(System).where(col(System.name) == first)).scalar() if first else None
    # Targets read an incident's owner and system: a warning has no owner; its system is the first named.
    stand_in = incident or Incident(
        title=row.title,
        reporter=row.raised_by,
        system_id=system.id if system else None,
        reported_at=row.raised_at,
        policy_version=row.policy_version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )
    recipients: list[dict[str, str]] = []
    for r in notify_plan.load(uow.session).routes:
        level = incident.level if incident else None
        category = incident.category if incident else "unclassified"
        if not any(r.matches(event, level, category, name) for name in row.systems or [None]):
            continue
        specs = tuple(t for t in r.to if t != "rule")
        recipients += resolve_targets(uow.session, stand_in, specs, fallback=False) if specs else []
    body: dict[str, Any] = {"event": event, "warning": payload(row)}
    if incident is not None:
        body["incident"] = notify_plan.incident_payload(uow.session, incident)
    incident_id = incident.id if incident else None
    return notify_plan.write_rows(
        uow, event, recipients, body, incident_id=incident_id, key=f"warning-{row.id}-{seq}-{event}"
    )


def _carried(row: WarningRecord) -> str:
    """The facts a promoted warning hands its incident, in its description."""
    parts = [f"From warning W{row.id} ({row.kind}" + (f", {row.source}" if row.source else "") + ")."]
    if row.known:
        parts.append(row.known)
    if row.analysis:
        parts.append(f"Analysis: {row.analysis}")
    if row.systems:
        parts.append("May affect: " + ", ".join(row.systems))
    return "\n\n".join(parts)


# -- reading -------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return rfc3339(value) if value else None


def _incident_probe(uow: UnitOfWork, row: WarningRecord) -> int | None:
    """The probe a promoted warning's incident watches: the warning's, unless that probe
    already has an open incident (at most one per probe)."""
    if row.probe_id is None:
        return None
    taken = uow.session.execute(
        select(col(Incident.id)).where(col(Incident.probe_id) == row.probe_id, col(Incident.status) != "closed")
    ).first()
    return None if taken else row.probe_id


def summary(row: WarningRecord) -> WarningSummary:
    return {
        "id": stored_id(row.id),
        "kind": row.kind,
        "status": row.status,
        "title": row.title,
        "source": row.source,
        "probe_id": row.probe_id,
        "systems": list(row.systems),
        "serious": row.serious,
        "raised_at": rfc3339(row.raised_at),
        "raised_by": row.raised_by,
        "analysed_at": _time(row.analysed_at),
        "closed_at": _time(row.closed_at),
        "incident_id": row.incident_id,
        "version": row.version,
    }


def list_warnings(session: Session, status: str = "open") -> list[WarningSummary]:
    if status not in STATUS_FILTERS:
        raise InvalidInput(
            "bad_status",
            _("{status!r} is not a status filter").format(status=status),
            _("use one of {choices}").format(choices=", ".join(STATUS_FILTERS)),
        )
    query = select(WarningRecord).order_by(col(WarningRecord.id))
    if status != "all":
        query = query.where(col(WarningRecord.status) == status)
    return [summary(row) for row in session.execute(query).scalars()]


def detail(session: Session, warning_id: int, zone: tzinfo, now: datetime) -> WarningDetail:
    from .queries import audit_trail_of

    row = session.get(WarningRecord, warning_id)
    if row is None:
        raise _no_warning(warning_id)
    measures = session.execute(
        select(WarningMeasure)
        .where(col(WarningMeasure.warning_id) == warning_id)
        .order_by(col(WarningMeasure.position))
    ).scalars()
    told = session.execute(
        select(WarningAttestation)
        .where(col(WarningAttestation.warning_id) == warning_id)
        .order_by(col(WarningAttestation.at), col(WarningAttestation.id))
    ).scalars()
    notes = session.execute(
        select(WarningNote).where(col(WarningNote.warning_id) == warning_id).order_by(col(WarningNote.id))
    ).scalars()
    told_rows: list[WarningToldRow] = [
        {"told": t.key, "who": t.who, "at": rfc3339(t.at), "by": t.by, "via": t.channel, "note": t.note} for t in told
    ]
    return {
        **summary(row),
        "known": row.known,
        "analysis": row.analysis,
        "analysed_by": row.analysed_by,
        "closed_by": row.closed_by,
        "close_reason": row.close_reason,
        "leadership_told": any(t["told"] == "leadership" for t in told_rows),
        "measures": [
            {
                "key": m.key,
                "title": m.title,
                "title_zh": m.title_zh,
                "done": m.done_at is not None,
                "done_at": _time(m.done_at),
                "done_by": m.done_by,
            }
            for m in measures
        ],
        "told": told_rows,
        "notes": [{"at": rfc3339(n.at), "author": n.author, "text": n.text} for n in notes],
        "clocks": clock_rows(session, row, zone, now),
        "trail": audit_trail_of(session, chain(warning_id)),
    }


def open_warnings(session: Session, now: datetime, zone: tzinfo) -> list[OpenWarning]:
    """The open warnings, the most urgent clock first (the handover's list): each with its
    next clock not met (or None), its measures done of all, and whether leadership was told."""
    from sqlalchemy import func

    rows = list(
        session.execute(
            select(WarningRecord).where(col(WarningRecord.status) == "open").order_by(col(WarningRecord.id))
        ).scalars()
    )
    ids = [r.id for r in rows]
    done = dict(
        session.execute(
            select(col(WarningMeasure.warning_id), func.count(col(WarningMeasure.done_at)))
            .where(col(WarningMeasure.warning_id).in_(ids))
            .group_by(col(WarningMeasure.warning_id))
        ).all()
    )
    total = dict(
        session.execute(
            select(col(WarningMeasure.warning_id), func.count())
            .where(col(WarningMeasure.warning_id).in_(ids))
            .group_by(col(WarningMeasure.warning_id))
        ).all()
    )
    out: list[OpenWarning] = []
    for row in rows:
        running = [c for c in clock_rows(session, row, zone, now) if c["state"] in ("pending", "warning", "breached")]
        running.sort(key=lambda c: c["remaining_s"])
        out.append(
            {
                **summary(row),
                "next_clock": running[0] if running else None,
                "measures_done": int(done.get(row.id, 0)),
                "measures_total": int(total.get(row.id, 0)),
            }
        )
    out.sort(key=lambda w: (w["next_clock"] is None, w["next_clock"]["remaining_s"] if w["next_clock"] else 0))
    return out
