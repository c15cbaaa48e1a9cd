"""Alerts into the store, in the transaction whose commit the sender's 2xx waits for.

Each alert belongs to a group probe (`SOURCE/GROUP`: Alertmanager's group, an event's
dedup_key, or the mapping's `group_by` labels); the group probe's result is the worst
state of the group's firing alerts, so the probe machinery opens one incident per
(source, group) at most and later alerts attach to it. Resolved alerts add a
"recovered" note; `auto_resolve` lets the source resolve the incident.

Exactly once: every alert's news carries a result key derived from the payload
(`formats.dedup_basis`), unique in `probe_results`. What makes two payloads "the same":
- alertmanager: source, fingerprint, status and startsAt. A retry and Alertmanager's
  repeat of an unchanged alert are the same; a new firing (a new startsAt) or its
  resolution is news. Changed annotations alone are not news. Another source's alert
  with the same labels is that source's news (the peers of one Alertmanager cluster post
  to one source, and their copies of a notification count once).
- events: source, dedup_key, event_action, severity (triggers) and the alert's episode
  (a trigger after a resolve starts the next one). A retried trigger, acknowledge or
  resolve is the same; a re-trigger at another severity is news. Acknowledge and
  resolve of an alert that is not open are dropped, as PagerDuty drops them.
- json: the result's `id`; else the request's `Idempotency-Key` and the item's place;
  else, for a result with a `time`, the item itself. A result with neither is stored
  every time it is sent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlmodel import col

from .. import clocks, notify_plan
from ..audit import canonical_json
from ..bulk import Bulk
from ..models import Alert, AlertSource, Incident, IncidentNote, Probe, table_of
from ..probe_config import AlertRoute, ProbePolicy
from ..probe_health import Incoming, Opening, apply
from ..probe_rows import create, existing_keys
from ..service import Service
from ..store import UnitOfWork
from .formats import PROBE_NAME_LIMIT, AlertEvent, dedup_basis, probe_name_part, stamp
from .sources import default_critical_after

RANK = {"OK": 0, "UNKNOWN": 1, "WARNING": 2, "CRITICAL": 3}
NOTE_NAMES = 10


def _probes(
    uow: UnitOfWork, names: set[str], policy: ProbePolicy, openings: dict[str, Opening] | None = None
) -> dict[str, Probe]:
    """The probes by name, as the session's objects (unknown names create their probes):
    an alert group's probe is read and changed as an ORM object by the intake."""
    known = set(uow.session.execute(select(col(Probe.name)).where(col(Probe.name).in_(names))).scalars())
    create(uow, names - known, policy, openings)
    return {p.name: p for p in uow.session.execute(select(Probe).where(col(Probe.name).in_(names))).scalars()}


@dataclass
class _NewAlert:
    """An `Alert` row to insert: the attributes the intake reads, without an ORM object."""

    source: str
    key: str
    probe_id: int
    name: str
    state: str
    firing: bool
    episode: int
    labels: dict[str, str]
    starts_at: datetime | None
    updated_at: datetime
    silence_id: str | None = None

    def values(self) -> tuple[Any, ...]:
        """The row's values in `_NEW_ALERT_FIELDS` order. Not `dataclasses.astuple`, which
        deep-copies each alert's labels: half of a 100-alert POST's time in the receiver."""
        return tuple([getattr(self, name) for name in _NEW_ALERT_FIELDS])


_NEW_ALERT_FIELDS = tuple(f.name for f in fields(_NewAlert))
# A POST's new alerts in one statement bound by the driver (backend/bulk.py): through the
# session's execute, SQLAlchemy's per-row parameter handling was a sixth of a 100-alert POST.
# The rows share their source and the transaction's time.
_INSERT_ALERTS = Bulk(insert(table_of(Alert)), _NEW_ALERT_FIELDS, repeating=("source", "updated_at", "firing"))


class _Group:
    """A group probe's firing alerts: how many fire in each state, and the state of each
    alert of this batch that fires in it (key -> state). Its worst state after each
    alert of a batch costs the few states there are, and reading it the counts and the
    batch's own alerts, not every alert of the group firing (thousands, in a storm)."""

    def __init__(self, counts: Counter[str], states: dict[str, str]) -> None:
        self.counts = counts
        self.states = states
        self.total = sum(counts.values())

    def __len__(self) -> int:
        return self.total

    def put(self, key: str, state: str | None) -> None:
        """The alert `key` now fires in `state`, or (None) no longer fires."""
        old = self.states.pop(key, None)
        if old is not None:
            self.counts[old] -= 1
            self.total -= 1
        if state is not None:
            self.states[key] = state
            self.counts[state] += 1
            self.total += 1

    def worst(self) -> str:
        return max((state for state, count in self.counts.items() if count), key=RANK.__getitem__, default="OK")


@dataclass
class Taken:
    """What one request stored."""

    alerts: int = 0  # news stored
    duplicates: int = 0  # already stored (a retry, a repeat)
    dropped: int = 0  # acknowledge/resolve of an alert that is not open
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)


def group_probe(source: str, group_name: str) -> str:
    return f"{source}/{probe_name_part(group_name)}"[:PROBE_NAME_LIMIT]


def take(
    uow: UnitOfWork,
    source: AlertSource,
    events: list[AlertEvent],
    policy: ProbePolicy,
    *,
    idempotency_key: str | None = None,
) -> Taken:
    if source.kind == "json":
        taken = _take_results(uow, source, events, policy, idempotency_key)
    else:
        taken = _Alerts(uow, source, policy).take(events)
    source.accepted += 1
    source.last_accepted_at = uow.now
    uow.changed("source", source.name, "accepted")
    return taken


def _opening(source: AlertSource, route: AlertRoute, policy: ProbePolicy, *, event: bool) -> Opening:
    critical_after = source.critical_after or default_critical_after(source.kind) or policy.critical_after
    suggested = [
        f"{what} {value}"
        for what, value in (("level", route.level), ("owner duty", route.owner_duty))
        if value and not (what == "level" and route.classify)
    ]
    description = f"From alert source {source.name}" + (f", mapping {route.name!r}" if route.name else "")
    if suggested:
        description += "; suggested " + ", ".join(suggested)
    return Opening(
        critical_after=critical_after,
        system=route.system,
        category=route.category,
        level=route.level,
        classify=route.classify,
        description=description + ".",
        event=event,
        raises=route.raises,
    )


def _take_results(
    uow: UnitOfWork, source: AlertSource, events: list[AlertEvent], policy: ProbePolicy, idempotency: str | None
) -> Taken:
    incoming = []
    for index, event in enumerate(events):
        name = group_probe(source.name, event.key)
        if event.result_id is not None:
            key = dedup_basis("json", source.name, name, event.result_id)
        elif idempotency:
            key = dedup_basis("json", source.name, idempotency, str(index))
        elif event.at is not None:
            key = dedup_basis("json", source.name, canonical_json(event.extra["item"]))
        else:
            key = None
        route = policy.route_for(source.name, {**event.labels, "probe": name})
        incoming.append(
            Incoming(
                probe=name,
                state=event.state,
                output=event.output,
                at=event.at,
                source=f"receiver:{source.name}",
                kind="json",
                result_key=key,
                last_success=event.last_success,
                opening=_opening(source, route, policy, event=False),
            )
        )
    applied = apply(uow, incoming, policy)
    return Taken(alerts=applied.results, duplicates=applied.duplicates, opened=applied.opened)


class _Alerts:
    """Alertmanager alerts and PagerDuty-shaped events: alerts in group probes."""

    def __init__(self, uow: UnitOfWork, source: AlertSource, policy: ProbePolicy) -> None:
        self.uow, self.source, self.policy = uow, source, policy
        self.taken = Taken()
        self.new: list[_NewAlert] = []

    def take(self, events: list[AlertEvent]) -> Taken:
        rows = self._rows([e.key for e in events])
        keyed = [(event, self._result_key(event, rows.get(event.key))) for event in events]
        known = existing_keys(self.uow, [k for _e, k in keyed if k])
        if self.source.kind == "alertmanager":
            known |= self._stored_unscoped([(e, k) for e, k in keyed if k and k not in known and e.key in rows])
        news: list[tuple[AlertEvent, str]] = []
        for event, key in keyed:
            if key is None:
                self.taken.dropped += 1
            elif key in known:
                self.taken.duplicates += 1
            else:
                known.add(key)
                news.append((event, key))
        if not news:
            return self.taken
        routes = {e.key: self._route(e, rows.get(e.key)) for e, _k in news}
        names = {e.key: self._probe_name(e, rows.get(e.key)) for e, _k in news}
        openings = {names[e.key]: _opening(self.source, routes[e.key], self.policy, event=True) for e, _k in news}
        probes = _probes(self.uow, set(names.values()), self.policy, openings)
        firing = self._firing({p.id for p in probes.values()}, rows)
        incoming: list[Incoming] = []
        recovered: dict[int, list[tuple[AlertEvent, str]]] = {}
        label, kind = f"receiver:{self.source.name}", self.source.kind
        for event, key in news:
            probe = probes[names[event.key]]
            assert probe.id is not None
            row = self._update(rows, event, probe.id)
            group = firing.get(probe.id)
            if group is None:
                group = firing[probe.id] = _Group(Counter(), {})
            # an acknowledge keeps the alert's state
            group.put(event.key, row.state if row.firing and row.state != "OK" else None)
            worst = group.worst()
            if event.action == "acknowledge" or not row.firing or event.info:
                recovered.setdefault(probe.id, []).append((event, row.name or event.key))
            incoming.append(
                Incoming(
                    probe=probe.name,
                    state=worst,
                    output=_group_output(event, row, len(group)),
                    at=None,  # the group's state as of now: every result is current
                    source=label,
                    kind=kind,
                    result_key=key,
                    opening=openings[probe.name],
                )
            )
        if self.new:
            _INSERT_ALERTS.execute(self.uow.connection, [n.values() for n in self.new])
        applied = apply(self.uow, incoming, self.policy, unstored=True)  # `known` held the stored keys
        self.taken.alerts += applied.results
        self.taken.opened = applied.opened
        for probe_id, items in recovered.items():
            auto = any(routes[e.key].auto_resolve for e, _name in items)
            self._recovered(probe_id, items, len(firing.get(probe_id, ())), auto=auto)
        return self.taken

    def _rows(self, keys: list[str]) -> dict[str, Alert]:
        found: dict[str, Alert] = {}
        unique = sorted(set(keys))
        for start in range(0, len(unique), 500):
            for row in self.uow.session.execute(
                select(Alert).where(
                    col(Alert.source) == self.source.name, col(Alert.key).in_(unique[start : start + 500])
                )
            ).scalars():
                found[row.key] = row
        return found

    def _result_key(self, event: AlertEvent, row: Alert | None) -> str | None:
        if self.source.kind == "alertmanager":  # within this source: another's same labels are its own news
            return _alertmanager_key(event, self.source.name)
        open_now = row is not None and row.firing
        if event.action == "trigger":
            episode = row.episode if open_now and row else (row.episode + 1 if row else 1)
            return dedup_basis("events", self.source.name, event.key, "trigger", event.labels["severity"], str(episode))
        if not open_now or row is None:
            return None  # nothing open to acknowledge or resolve: dropped, as PagerDuty does
        return dedup_basis("events", self.source.name, event.key, event.action, str(row.episode))

    def _stored_unscoped(self, keyed: list[tuple[AlertEvent, str]]) -> set[str]:
        """The keys (as they are now) of the alerts this source stored while an Alertmanager
        alert's key did not name its source (fingerprint, status and startsAt alone): a
        repeat of one after an upgrade is still a repeat. Only alerts already known to this
        source can have one, so a storm of new alerts reads nothing here."""
        unscoped = {_alertmanager_key(event): key for event, key in keyed}
        stored = existing_keys(self.uow, list(unscoped), source=f"receiver:{self.source.name}")
        return {unscoped[k] for k in stored}

    def _route(self, event: AlertEvent, row: Alert | None) -> AlertRoute:
        labels = event.labels or (row.labels if row else {})
        return self.policy.route_for(self.source.name, labels)

    def _probe_name(self, event: AlertEvent, row: Alert | None) -> str:
        if self.source.kind == "events" and row is not None:  # a dedup_key stays in its group
            found = self.uow.session.get(Probe, row.probe_id)
            if found is not None:
                return found.name
        return group_probe(self.source.name, event.group_name)

    def _firing(self, probe_ids: set[int | None], rows: dict[str, Alert]) -> dict[int, _Group]:
        """The firing alerts of these group probes as stored before this batch: how many in
        each state (one row a probe and state, counted by the database), and which of this
        batch's alerts (`rows`, read before any changed) fire in which."""
        counts: dict[int, Counter[str]] = {}
        ids = sorted(i for i in probe_ids if i is not None)
        alerts = table_of(Alert).c
        for start in range(0, len(ids), 500):
            for probe_id, state, count in self.uow.connection.execute(
                select(alerts.probe_id, alerts.state, func.count())
                .where(alerts.probe_id.in_(ids[start : start + 500]), alerts.firing.is_(True), alerts.state != "OK")
                .group_by(alerts.probe_id, alerts.state)
            ):
                counts.setdefault(probe_id, Counter())[state] = count
        states: dict[int, dict[str, str]] = {}
        for key, row in rows.items():
            if row.firing and row.state != "OK" and row.probe_id in counts:
                states.setdefault(row.probe_id, {})[key] = row.state
        return {probe_id: _Group(count, states.get(probe_id, {})) for probe_id, count in counts.items()}

    def _update(self, rows: dict[str, Alert], event: AlertEvent, probe_id: int) -> Alert:
        row = rows.get(event.key)
        now = self.uow.now
        if row is None:  # new alerts go in with one INSERT at the end (an ORM object each costs ~1 ms)
            new = _NewAlert(
                source=self.source.name,
                key=event.key,
                probe_id=probe_id,
                name=event.name,
                state=event.state,
                firing=event.firing,
                episode=1,
                labels=event.labels,
                starts_at=event.starts_at,
                updated_at=now,
            )
            self.new.append(new)
            rows[event.key] = new  # type: ignore[assignment]
            return new  # type: ignore[return-value]
        if event.action == "acknowledge":  # news for the incident's notes; the alert's state stays
            row.updated_at = now
            return row
        if event.firing and not row.firing:
            row.episode += 1
        row.probe_id = probe_id
        row.state, row.firing, row.updated_at = event.state, event.firing, now
        if event.labels:
            row.labels = event.labels
        if event.name:
            row.name = event.name
        row.starts_at = event.starts_at or row.starts_at
        return row

    def _recovered(self, probe_id: int, events: list[tuple[AlertEvent, str]], still_firing: int, *, auto: bool) -> None:
        """A note on the group's open incident: which alerts recovered (or were
        acknowledged, or only inform), and how many still fire; `auto_resolve` resolves
        the incident once none does."""
        incident = self.uow.session.execute(
            select(Incident).where(col(Incident.probe_id) == probe_id, col(Incident.status) != "closed")
        ).scalar_one_or_none()
        if incident is None and not still_firing:  # a mapping may raise a warning instead
            from ..probe_warnings import note_group_recovered

            note_group_recovered(self.uow, probe_id, self.source.name)
        if incident is None or incident.status == "resolved":
            return
        assert incident.id is not None
        parts = []
        for label, chosen in (
            ("recovered at the source", [n for e, n in events if not e.firing]),
            ("acknowledged at the source", [n for e, n in events if e.action == "acknowledge"]),
            ("information", [n for e, n in events if e.info and e.firing]),
        ):
            if chosen:
                shown = ", ".join(chosen[:NOTE_NAMES])
                more = f" and {len(chosen) - NOTE_NAMES} more" if len(chosen) > NOTE_NAMES else ""
                parts.append(f"{label}: {shown}{more}")
        tail = (
            f"{still_firing} alert(s) of the group still firing"
            if still_firing
            else "no alert of the group is firing; consider resolving this incident"
        )
        text = f"{'; '.join(parts)} ({tail})"
        # A machine's note is no progress on the fix: it renews no acknowledgement lease.
        self.uow.session.add(IncidentNote(incident_id=incident.id, at=self.uow.now, author=self.uow.actor, text=text))
        clocks.sync(self.uow.session, incident, self.uow.now)
        self.uow.record("note", {"text": text, "source": self.source.name}, incident_id=incident.id)
        if auto and not still_firing:
            _resolve_in(self.uow, incident, f"every alert of the group resolved at source {self.source.name}")
            self.taken.resolved.append(incident.id)


def _alertmanager_key(event: AlertEvent, *source: str) -> str:
    """An Alertmanager alert's result key: its fingerprint, status and startsAt, within
    `source` (none: the key as an earlier release stored it)."""
    return dedup_basis(
        "alertmanager", *source, event.key, "firing" if event.firing else "resolved", stamp(event.starts_at)
    )


def _group_output(event: AlertEvent, row: Alert, firing: int) -> str:
    if event.action == "acknowledge":
        return f"acknowledged at the source: {row.name or event.key}"
    text = f"info: {event.output}" if event.info and event.firing else event.output
    if event.action == "resolve":
        text = f"resolved: {row.name or event.key}"
    others_firing = firing > 1 or (firing == 1 and event.state == "OK")
    return f"{text} [{firing} alert(s) of the group firing]" if others_firing else text


def _resolve_in(uow: UnitOfWork, incident: Incident, resolution: str) -> None:
    """Resolve inside this transaction, as `Service.resolve` does (audited, clocks,
    notifications), for a mapping with `auto_resolve`."""
    assert incident.id is not None
    version = incident.version
    uow.session.execute(
        update(Incident)
        .where(col(Incident.id) == incident.id, col(Incident.version) == version)
        .values(version=version + 1, updated_at=uow.now, updated_by=uow.actor)
        .execution_options(synchronize_session=False)
    )
    incident.version, incident.updated_at, incident.updated_by = version + 1, uow.now, uow.actor
    incident.status, incident.resolution, incident.resolved_at = "resolved", resolution, uow.now
    if incident.acknowledged_at is None:
        incident.acknowledged_at = uow.now
    details: dict[str, Any] = {"resolution": resolution, "auto_resolve": True}
    Service._touched(uow, incident)
    event = uow.record("resolve", details, incident_id=incident.id)
    notify_plan.after(uow, "resolve", incident, details, event.seq)
