"""The plan's obligations (attested), the re-grade answer, probe silences."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from .. import clocks, deadlines, probe_queries
from ..domain import (
    Level,
)
from ..errors import DomainError, InvalidInput, NotFound
from ..i18n import _
from ..models import (
    Attestation,
    Incident,
    Probe,
)
from ..store import UnitOfWork
from ..timeutil import rfc3339
from .base import Actor, ServiceBase, _channel, _clean_text

LONGEST_SILENCE = timedelta(days=366)  # a maintenance window, not a way to retire a probe


class ObligationActions(ServiceBase):
    """The plan's obligations (attested), the re-grade answer, probe silences."""

    def attest(
        self,
        incident_id: int,
        obligation: str,
        *,
        via: str,
        note: str | None = None,
        who: str | None = None,
        expected_version: int | None = None,
    ) -> Attestation:
        """An obligation of a level III+ incident is met: who, when, how and a note."""
        via = _channel(via)
        note, who = _clean_text(note, "note", required=False), _clean_text(who, "name", required=False, limit=120)
        with self._write() as uow:
            self._writer(uow.session, "attesting an obligation")
            incident = self._load(uow, incident_id)
            self._not_closed(incident)
            if expected_version is not None:
                self._guard_version(uow, incident, expected_version)
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

    def silence(
        self, *, probe: str | None = None, system: str | None = None, duration: timedelta, reason: str
    ) -> list[str]:
        """A maintenance window: results are still stored, no incident opens, the board
        shows SILENCED until it ends. A zero duration lifts the silence."""
        reason = _clean_text(reason, "reason", required=True)
        if (probe is None) == (system is None):
            raise InvalidInput("silence_target", _("silence one probe or one system"), _("give NAME or --system S"))
        if duration > LONGEST_SILENCE:
            raise InvalidInput(
                "long_silence",
                _("a silence lasts {days} days at the most").format(days=LONGEST_SILENCE.days),
                _("give a shorter --for (e.g. 30d), and silence it again when it ends"),
            )
        with self._write() as uow:
            self._writer(uow.session, "silencing probes")
            query = select(Probe)
            if probe is not None:
                probe = probe_queries.stored_name(uow.session, probe)
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
