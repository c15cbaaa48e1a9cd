"""Probe health: results become each probe's state, and sustained failures incidents.

Runs inside the ingest's write transaction. For each probe, results are applied in
time order: a result older than `max_result_age` is stored as stale and never becomes
the current state; CRITICAL `critical_after` times in a row opens an incident (at most
one open per probe: a partial unique index says so, a savepoint takes the loss when
another ingester won); later failures attach to it; `ok_after` OK results add a
"recovered" note once. No incident opens while the probe is silenced, while its
parent system is down, or after a resolve until the probe has recovered once.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from . import clocks
from .bulk import Bulk
from .domain import Category, Level
from .models import Incident, IncidentNote, Probe, ProbeResult, System, table_of
from .probe_config import ProbePolicy
from .probe_rows import (
    MOVED,
    TIMES,
    Health,
    NewProbe,
    create,
    existing_keys,
    read_healths,
    reserve,
)
from .service import Service
from .store import UnitOfWork
from .timeutil import format_age

STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
_moved = attrgetter(*MOVED)


@dataclass(frozen=True)
class Opening:
    """How a result from an alert source opens its incident (its mapping and source),
    in place of the `[probes]` name patterns."""

    critical_after: int
    system: str | None = None
    category: str | None = None
    level: str | None = None  # applied only when `classify`
    classify: bool = False
    description: str = ""
    event: bool = True  # an alert source: never stale; its recovery notes are the intake's
    raises: str = "incident"  # or "warning" (its mapping's `raises`)


@dataclass(frozen=True)
class Incoming:
    """One parsed result on its way into the store."""

    probe: str
    state: str
    output: str
    at: datetime | None
    source: str
    kind: str = ""
    perfdata: tuple[dict[str, Any], ...] = ()
    result_key: str | None = None
    last_success: datetime | None = None
    flags: tuple[str, ...] = ()
    age_at: datetime | None = None  # Nagios: the file's time judges the age
    opening: Opening | None = None  # from an alert source: its mapping decides


_WRITE_BACK = Bulk(
    update(table_of(Probe)).where(table_of(Probe).c.id == bindparam("probe")),
    (*MOVED, "probe"),
    repeating=("stale", "recovery_noted"),
    alike=(TIMES,),
)
# A stored result, as `_Context.apply_one` builds it.
RESULT_COLUMNS = (
    "probe_id",
    "at",
    "received_at",
    "state",
    "output",
    "perfdata",
    "stale",
    "source",
    "result_key",
    "incident_id",
    "flags",
)
_STALE = RESULT_COLUMNS.index("stale")
_INSERT_RESULTS = Bulk(insert(table_of(ProbeResult)), RESULT_COLUMNS, repeating=("received_at", "stale", "flags"))
# A new probe on SQLite, as `_Context.write_back` inserts it: its reserved id, and its
# health as the batch has moved it so far.
RESERVED_PROBE_COLUMNS = ("id", "name", "system_id", "created_at", "kind", *MOVED)
_INSERT_RESERVED = Bulk(
    insert(table_of(Probe)),
    RESERVED_PROBE_COLUMNS,
    repeating=("created_at", "kind", "state", "stale", "recovery_noted"),
    alike=(TIMES,),
)


@dataclass
class Applied:
    results: int = 0
    stale: int = 0
    duplicates: int = 0
    opened: list[int] = field(default_factory=list)
    warned: list[int] = field(default_factory=list)  # warnings raised instead (backend/probe_warnings.py)


def apply(uow: UnitOfWork, incoming: list[Incoming], policy: ProbePolicy, *, unstored: bool = False) -> Applied:
    """Store the results and move each probe's health; returns counts. `unstored`: the
    caller read the stored result keys in this write and passes none of them (the alert
    receiver), so they are not read again; no other write can store one meanwhile."""
    applied = Applied()
    if not incoming:
        return applied
    openings = {r.probe: r.opening for r in incoming if r.opening is not None}
    names = {r.probe for r in incoming}
    probes = read_healths(uow, names)
    reserved: list[NewProbe] = []
    if uow.dialect == "sqlite":
        reserved = reserve(uow, names - probes.keys(), policy, openings)
        created: Container[str] = {new.health.name for new in reserved}
        probes.update((new.health.name, new.health) for new in reserved)
    else:
        made = create(uow, names - probes.keys(), policy, openings)
        created = made.keys()
        probes.update(made)
        probes.update(read_healths(uow, names - probes.keys()))  # created by another ingester meanwhile
    known_keys = set() if unstored else existing_keys(uow, [r.result_key for r in incoming if r.result_key])
    rows: list[tuple[Any, ...]] = []
    context = _Context(uow, policy, probes, created, reserved)
    for result in sorted(incoming, key=lambda r: (r.probe, r.at or uow.now)):
        if result.result_key and result.result_key in known_keys:
            applied.duplicates += 1
            continue
        if result.result_key:
            known_keys.add(result.result_key)
        probe = probes[result.probe]
        row = context.apply_one(probe, result)
        applied.stale += row[_STALE]
        rows.append(row)
    context.write_back()  # first: a new probe's row goes in before its results (their foreign key)
    _INSERT_RESULTS.execute(uow.connection, rows)  # bound by the driver: backend/bulk.py
    applied.results = len(rows)
    applied.opened = context.opened
    applied.warned = context.warned
    for name in sorted({r.probe for r in incoming}):
        uow.changed("probe", name, "result")
    return applied


class _Context:
    def __init__(
        self,
        uow: UnitOfWork,
        policy: ProbePolicy,
        probes: dict[str, Health],
        created: Container[str] = (),
        reserved: list[NewProbe] | None = None,
    ) -> None:
        self.uow = uow
        self.policy = policy
        self.opened: list[int] = []
        self.warned: list[int] = []
        self._parent_down: dict[int | None, bool] = {}
        self._probes = sorted(probes.values(), key=lambda p: p.id)  # written back in id order, as a flush does
        self._stored = {p.id: _moved(p) for p in self._probes}  # the moved fields as the store has them
        self._reserved = reserved or []  # inserted by the first write_back, as moved by then
        # The open incident of every probe in this batch, in one query (not one per result);
        # a probe this transaction created has none.
        self._open: dict[int, Incident | None] = {p.id: None for p in self._probes}
        probe_ids = [p.id for p in self._probes if p.name not in created]
        for start in range(0, len(probe_ids), 500):
            for incident in uow.session.execute(
                select(Incident).where(
                    col(Incident.probe_id).in_(probe_ids[start : start + 500]), col(Incident.status) != "closed"
                )
            ).scalars():
                self._open[incident.probe_id or 0] = incident

    def write_back(self) -> None:
        """The moved fields of the probes that moved since read (or last written), in one
        statement. Called before anything that may read probes (where a flush came), so
        every query sees what the ORM's autoflush would have shown it. The first call
        inserts the reserved new probes, each as the batch has moved it: a storm of new
        probes is one INSERT, not an INSERT and an UPDATE of every row."""
        if self._reserved:
            self._insert_reserved()
        changed = []
        for probe in self._probes:
            moved = _moved(probe)
            if moved != self._stored[probe.id]:
                self._stored[probe.id] = moved
                changed.append((*moved, probe.id))
        if not changed:
            return
        session = self.uow.session
        _WRITE_BACK.execute(session.connection(), changed)
        written = {row[-1] for row in changed}
        for key in list(session.identity_map.keys()):
            if key[0] is Probe and key[1][0] in written:  # a copy the caller holds (the receiver's) reads them again
                session.expire(session.identity_map[key], list(MOVED))

    def _insert_reserved(self) -> None:
        rows = []
        for new in self._reserved:
            probe = new.health
            moved = self._stored[probe.id] = _moved(probe)
            rows.append((probe.id, probe.name, probe.system_id, self.uow.now, new.kind, *moved))
        self._reserved = []
        _INSERT_RESERVED.execute(self.uow.connection, rows)

    def _orm(self, probe: Health) -> Probe:
        """The probe as the session's object, its moved fields written first."""
        self.write_back()
        found = self.uow.session.get(Probe, probe.id)
        assert found is not None
        return found

    def apply_one(self, probe: Health, result: Incoming) -> tuple[Any, ...]:
        """Move the probe's health by one result; returns the result's row (`RESULT_COLUMNS`)."""
        now = self.uow.now
        at = result.at or now
        state, output = result.state, result.output
        readiness = self.policy.readiness_for(probe.name)
        if readiness and result.last_success is not None:
            age = now - result.last_success
            state = "OK" if age < readiness.warn_age else "WARNING" if age < readiness.crit_age else "CRITICAL"
            output = output or f"last good run {format_age(age.total_seconds())} ago"
            probe.last_success_at = max(filter(None, (probe.last_success_at, result.last_success)))
        stale = now - (result.age_at or at) > self.policy.max_result_age
        current = not stale and (probe.last_result_at is None or at >= probe.last_result_at)
        incident_id = None
        if current:
            self._advance(probe, state, output, at)
            incident_id = self._incidents(probe, result.opening)
        elif state != "OK":
            incident_id = self._open_incident_id(probe)
        return (
            probe.id,
            at,
            now,
            state,
            output,
            list(result.perfdata),
            stale,
            result.source,
            result.result_key,
            incident_id if state != "OK" else None,
            result.flags,  # a tuple (`repeating`): stored as the same JSON array as a list
        )

    def _advance(self, probe: Health, state: str, output: str, at: datetime) -> None:
        if probe.last_result_at is not None and at > probe.last_result_at:
            gap = int((at - probe.last_result_at).total_seconds())
            probe.interval_s = gap if probe.interval_s is None else round(0.7 * probe.interval_s + 0.3 * gap)
        if state == probe.state and probe.last_result_at is not None:
            probe.consecutive += 1
        else:
            probe.consecutive, probe.state_since = 1, at
        if state != "OK":
            probe.recovery_noted = False
        else:
            probe.last_ok_at = at
        probe.state, probe.output, probe.last_result_at, probe.stale = state, output, at, False

    def _incidents(self, probe: Health, opening: Opening | None = None) -> int | None:
        open_id = self._open_incident_id(probe)
        critical_after = opening.critical_after if opening else self.policy.critical_after
        if probe.state == "CRITICAL" and probe.consecutive >= critical_after and open_id is None:
            raises = opening.raises if opening else self.policy.settings_for(probe.name).raises
            if raises == "warning":  # the probe policy says: a sign to analyse, not an outage
                self._maybe_warn(probe, opening)
                return None
            return self._maybe_open(probe, opening)
        if opening is not None and opening.event:
            return open_id  # an alert group's recovery is noted by the intake, alert by alert
        if open_id is not None and probe.state == "CRITICAL" and probe.consecutive == critical_after:
            self._critical_after_resolve(probe)
        if open_id is not None and probe.state == "OK" and probe.consecutive >= self.policy.ok_after:
            self._note_recovery(probe)
        elif open_id is None and probe.state == "OK" and not probe.recovery_noted:
            self._warning_recovered(probe)
        return open_id

    def _warning_recovered(self, probe: Health) -> None:
        """OK `ok_after` times in a row: its open warning, if it raised one, is told once."""
        if probe.consecutive >= self.policy.ok_after:
            from .probe_warnings import note_recovery

            note_recovery(self.uow, self._orm(probe))
            probe.recovery_noted = True

    def _open_incident_id(self, probe: Health) -> int | None:
        incident = self._open_incident(probe)
        return incident.id if incident else None

    def _open_incident(self, probe: Health) -> Incident | None:
        assert probe.id is not None
        if probe.id not in self._open:
            self._open[probe.id] = self.uow.session.execute(
                select(Incident).where(col(Incident.probe_id) == probe.id, col(Incident.status) != "closed")
            ).scalar_one_or_none()
        return self._open[probe.id]

    def _maybe_open(self, probe: Health, opening: Opening | None = None) -> int | None:
        now = self.uow.now
        if probe.silenced_until and probe.silenced_until > now:
            return None
        self.write_back()
        if self._held_down(probe) or self.parent_down(probe.system_id):
            return None
        settings = self.policy.settings_for(probe.name)
        chosen = opening.category if opening else settings.category
        system = self.uow.session.get(System, probe.system_id) if probe.system_id else None
        category = Category(chosen) if chosen else None
        level = Level(opening.level) if opening and opening.classify and opening.level else None
        description = probe.output + (f"\n\n{opening.description}" if opening and opening.description else "")
        title = f"{probe.name} CRITICAL: {probe.output.splitlines()[0] if probe.output else 'no output'}"
        try:
            with self.uow.session.begin_nested():
                incident = Service.open_in(
                    self.uow,
                    title,
                    description=description,
                    system_row=system,
                    category=category,
                    level=level if category else None,
                    reason="classified by its alert mapping" if level and category else None,
                    outage_start=probe.state_since,
                    probe_id=probe.id,
                )
        except IntegrityError:  # another ingester opened it first: attach to theirs
            self._open.pop(probe.id or 0, None)
            return self._open_incident_id(probe)
        assert incident.id is not None and probe.id is not None
        self._open[probe.id] = incident
        self.opened.append(incident.id)
        return incident.id

    def _maybe_warn(self, probe: Health, opening: Opening | None) -> None:
        from .probe_warnings import raise_for

        if probe.silenced_until and probe.silenced_until > self.uow.now:
            return
        if self.parent_down(probe.system_id):
            return
        warning_id = raise_for(self.uow, self._orm(probe), opening.description if opening else "")
        if warning_id is not None:
            self.warned.append(warning_id)

    def _held_down(self, probe: Health) -> bool:
        """After a resolve, no new incident until the probe has recovered once."""
        last = self.uow.session.execute(
            select(col(Incident.resolved_at), col(Incident.closed_at))
            .where(col(Incident.probe_id) == probe.id)
            .order_by(col(Incident.id).desc())
            .limit(1)
        ).first()
        if last is None:
            return False
        ended = last.resolved_at or last.closed_at
        return ended is not None and (probe.last_ok_at is None or probe.last_ok_at < ended)

    def parent_down(self, system_id: int | None) -> bool:
        """Is a probe of an ancestor system CRITICAL (and current)?"""
        if system_id not in self._parent_down:
            self.write_back()  # a probe of this batch may be the ancestor's
            self._parent_down[system_id] = _ancestor_critical(self.uow, system_id)
        return self._parent_down[system_id]

    def _critical_after_resolve(self, probe: Health) -> None:
        """Critical again under a resolved incident: a note on it (and a mark on its row,
        from the probe's state), or with `critical_after_resolve = "reopen"` reopened."""
        incident = self._open_incident(probe)
        if incident is None or incident.status != "resolved":
            return
        assert incident.id is not None
        self.write_back()
        first = probe.output.splitlines()[0] if probe.output else "no output"
        text = f"probe {probe.name} CRITICAL again after this incident was resolved: {first}"
        if self.policy.critical_after_resolve == "reopen":
            Service.reopen_in(self.uow, incident, text)
            return
        # A machine's note is no progress on the fix: it renews no acknowledgement lease.
        self.uow.session.add(IncidentNote(incident_id=incident.id, at=self.uow.now, author=self.uow.actor, text=text))
        self.uow.record("note", {"text": text, "probe": probe.name}, incident_id=incident.id)

    def _note_recovery(self, probe: Health) -> None:
        if probe.recovery_noted:
            return
        incident = self._open_incident(probe)
        if incident is None or incident.status == "resolved":
            return
        assert incident.id is not None  # read from the store, or flushed when opened
        self.write_back()
        text = (
            f"probe {probe.name} recovered: {probe.consecutive} consecutive OK results; "
            "consider resolving this incident"
        )
        # A machine's note is no progress on the fix: it renews no acknowledgement lease.
        self.uow.session.add(IncidentNote(incident_id=incident.id, at=self.uow.now, author=self.uow.actor, text=text))
        clocks.sync(self.uow.session, incident, self.uow.now)
        self.uow.record("note", {"text": text, "probe": probe.name}, incident_id=incident.id)
        probe.recovery_noted = True


def _ancestor_critical(uow: UnitOfWork, system_id: int | None) -> bool:
    if system_id is None:
        return False
    parents = dict(uow.session.execute(select(col(System.id), col(System.parent_id))).all())
    ancestors: set[int] = set()
    node = parents.get(system_id)
    while node is not None and node not in ancestors:
        ancestors.add(node)
        node = parents.get(node)
    if not ancestors:
        return False
    return (
        uow.session.execute(
            select(col(Probe.id))
            .where(
                col(Probe.system_id).in_(ancestors),
                col(Probe.state) == "CRITICAL",
                col(Probe.stale).is_(False),
            )
            .limit(1)
        ).first()
        is not None
    )
