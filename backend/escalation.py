"""Escalating breached deadlines, exactly once, whatever runs or crashes.

The sweep finds incidents `WHERE next_due_at <= now`; for each breached clock it
inserts an escalation row unique on (incident, rule, clock) with ON CONFLICT DO
NOTHING, and writes the audit event and the outbox rows only when that insert took.
So three processes sweeping at once record one escalation, a retry never records a
second, and a breach that happened while every process was down fires when one comes
back. Targets are resolved from the rule: a duty's members on duty (else the group
lead), leads, contacts of a kind, the owner, the system's vendor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from . import audit, clocks, deadlines, notify_plan
from .bulk import Bulk
from .domain import Level, Status
from .models import Escalation, Incident, IncidentDeadline, System, table_of
from .recipients import resolve_targets
from .store import Store, UnitOfWork
from .timeutil import rfc3339


@dataclass(frozen=True)
class Recorded:
    incident_id: int
    rule: str
    clock_key: str
    due_at: datetime
    escalated_at: datetime
    targets: list[dict[str, str]]
    regraded_to: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "rule": self.rule,
            "clock": self.clock_key,
            "due_at": rfc3339(self.due_at),
            "escalated_at": rfc3339(self.escalated_at),
            "late_s": (self.escalated_at - self.due_at).total_seconds(),
            "targets": self.targets,
            "regraded_to": self.regraded_to,
        }


PER_TRANSACTION = 50


def due_incidents(store: Store, now: datetime, limit: int) -> list[int]:
    with store.read() as session:
        return list(
            session.execute(
                select(col(Incident.id))
                .where(col(Incident.next_due_at) <= now, col(Incident.status) != Status.CLOSED.value)
                .order_by(col(Incident.next_due_at))
                .limit(limit)
            ).scalars()
        )


def sweep(store: Store, actor: str, *, batch: int = 500) -> list[Recorded]:
    """Escalate every breached clock once; returns what this call recorded."""
    recorded: list[Recorded] = []
    seen: set[int] = set()
    while True:
        now = store.clock()
        ids = [i for i in due_incidents(store, now, batch) if i not in seen]
        if not ids:
            return recorded
        # Several incidents per transaction: each escalation is still recorded exactly
        # once (its unique row decides), and a write costs one commit, not one each.
        for start in range(0, len(ids), PER_TRANSACTION):
            chunk = ids[start : start + PER_TRANSACTION]
            seen.update(chunk)
            with store.write(actor) as uow, uow.session.no_autoflush:
                # Nothing read while escalating depends on the rows escalating wrote (the
                # clock rows, heads and incidents are held, no event is read back), so the
                # chunk's rows and audit events go to the store at its end, a few
                # multi-row statements.
                uow.defer_events()
                held = _prefetch(uow, chunk)
                recorded.extend(escalate_incidents(uow, chunk, held))


def _prefetch(uow: UnitOfWork, ids: list[int]) -> dict[int, Incident]:
    """A chunk's incidents (locked, on PostgreSQL), clock rows, attestations, chain heads
    and systems in five queries instead of four per incident; the incidents and systems
    are held for the transaction (the session keeps only objects someone holds), the
    incidents returned by id."""
    query = select(Incident).where(col(Incident.id).in_(ids)).order_by(col(Incident.id))
    if uow.dialect == "postgresql":
        query = query.with_for_update()
    incidents = list(uow.session.execute(query).scalars())
    clocks.prefetch(uow.session, ids)
    uow.prefetch_heads([audit.incident_chain(i) for i in ids])
    # Their systems too, in one query: each is then found in the session when the clocks,
    # the routes and the message ask for it (memo.system), where a query each was read.
    system_ids = {incident.system_id for incident in incidents if incident.system_id is not None}
    systems = (
        list(uow.session.execute(select(System).where(col(System.id).in_(system_ids))).scalars()) if system_ids else []
    )
    uow.session.info.setdefault("opsdeck.held", []).extend([*incidents, *systems])
    return {incident.id: incident for incident in incidents if incident.id is not None}


def escalate_incident(uow: UnitOfWork, incident_id: int) -> list[Recorded]:
    return escalate_incidents(uow, [incident_id])


@dataclass
class _Owed:
    """An incident of the chunk with the clocks it owes an escalation, and their targets."""

    incident: Incident
    rows: list[IncidentDeadline]
    policy: Any
    owed: list[tuple[IncidentDeadline, deadlines.Rule | None, list[dict[str, str]]]]


def escalate_incidents(
    uow: UnitOfWork, incident_ids: list[int], held: dict[int, Incident] | None = None
) -> list[Recorded]:
    """Escalate the incidents' breached clocks, in their order: first every incident's
    clocks re-derived and the clocks owed found, then one INSERT ... ON CONFLICT DO
    NOTHING claiming all of them (its unique rows still decide which escalations this
    transaction records), then each incident's events and outbox rows, in the same order
    as one incident at a time would write them. `held`: the incidents already read (and
    on PostgreSQL locked) in this transaction, by id; an id not in it does not exist."""
    session = uow.session
    found: list[_Owed] = []
    for incident_id in incident_ids:
        if held is not None:
            incident = held.get(incident_id)
        else:
            incident = session.get(Incident, incident_id, with_for_update=uow.dialect == "postgresql")
        if incident is None or incident.status == Status.CLOSED:
            continue
        rows = clocks.sync(session, incident, uow.now)
        policy = clocks.load_policy(session, incident.policy_version)
        owed = []
        for row in rows:
            if not uow.now > row.due_at or not clocks.owed(row):  # most clocks are not due yet
                continue
            rule = policy.deadlines.rule(row.rule)
            # A breach already over (met late, or the rule stopped applying) is recorded for
            # the record but pages nobody.
            live = clocks.breached_by(row) is None
            targets = resolve_targets(session, incident, rule.escalate_to if rule else (), at=uow.now) if live else []
            owed.append((row, rule, targets))
        found.append(_Owed(incident, rows, policy, owed))
    claims = [(o.incident, row, targets) for o in found for row, _rule, targets in o.owed]
    claimed = _claim(uow, claims)
    lost = _escalated_at(uow, [(i, row) for i, row, _t in claims if (i.id, row.rule, row.clock_key) not in claimed])
    done: list[Recorded] = []
    for o in found:
        recorded = []
        for row, rule, targets in o.owed:
            key = (o.incident.id, row.rule, row.clock_key)
            if key in claimed:
                recorded.append(_record(uow, o.incident, row, rule, targets, o.policy.deadlines.auto_regrade))
            else:  # another process escalated it first
                row.escalated_at = lost[key]
        if any(r.regraded_to for r in recorded):
            clocks.sync(session, o.incident, uow.now)
        else:
            o.incident.next_due_at = clocks.next_due(o.rows)
        done += recorded
    return done


_Key = tuple[int | None, str, str]  # (incident, rule, clock)


def _claim(uow: UnitOfWork, claims: list[tuple[Incident, IncidentDeadline, list[dict[str, str]]]]) -> set[_Key]:
    """Insert an escalation row per owed clock in one statement; the keys that took."""
    if not claims:
        return set()
    now, actor = uow.now, uow.actor
    rows = [
        (incident.id, row.rule, row.clock_key, row.due_at, now, actor, targets) for incident, row, targets in claims
    ]
    # One statement compiled once per dialect, the rows bound by the driver (backend/bulk.py):
    # SQLAlchemy's own executemany built each row's parameters through the compiled
    # statement and each column's processor, several times the driver's time for them.
    return {(i, r, k) for i, r, k in _CLAIMS[uow.dialect].returning(uow.connection, rows)}


def _claim_statement(insert: Any) -> Bulk:
    table = table_of(Escalation)
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["incident_id", "rule", "clock_key"])
        .returning(table.c.incident_id, table.c.rule, table.c.clock_key)
    )
    columns = ("incident_id", "rule", "clock_key", "due_at", "escalated_at", "actor", "targets")
    return Bulk(statement, columns, repeating=("escalated_at", "actor"))


_CLAIMS = {"postgresql": _claim_statement(pg_insert), "sqlite": _claim_statement(sqlite_insert)}


def _escalated_at(uow: UnitOfWork, lost: list[tuple[Incident, IncidentDeadline]]) -> dict[_Key, datetime]:
    """When the escalations another process recorded first were recorded."""
    if not lost:
        return {}
    table = table_of(Escalation).c
    wanted = {(incident.id, row.rule, row.clock_key) for incident, row in lost}
    query = select(table.incident_id, table.rule, table.clock_key, table.escalated_at).where(
        table.incident_id.in_({incident_id for incident_id, _r, _k in wanted})
    )
    return {(i, r, k): at for i, r, k, at in uow.session.execute(query) if (i, r, k) in wanted}


def _record(
    uow: UnitOfWork,
    incident: Incident,
    row: IncidentDeadline,
    rule: deadlines.Rule | None,
    targets: list[dict[str, str]],
    auto_regrade: bool,
) -> Recorded:
    row.escalated_at = uow.now
    details: dict[str, Any] = {
        "rule": row.rule,
        "clock": row.clock_key,
        "due_at": rfc3339(row.due_at),
        "late_s": (uow.now - row.due_at).total_seconds(),
        "targets": targets,
    }
    regraded_to = None
    if row.rule == "regrade" and row.next_level:
        details["next_level"] = row.next_level
        live = row.met_at is None and row.superseded_at is None
        if live and auto_regrade and incident.level and Level(row.next_level).rank > Level(incident.level).rank:
            regraded_to = row.next_level
            details["regraded"] = {"from": incident.level, "to": regraded_to}
            incident.level, incident.level_since = regraded_to, uow.now
            incident.version += 1
            incident.updated_at, incident.updated_by = uow.now, uow.actor
    if not targets:
        details["over"] = {"met_at": rfc3339(row.met_at), "superseded_at": rfc3339(row.superseded_at)}
    event = uow.record("escalate", details, incident_id=incident.id)
    if targets:  # only a live breach pages anyone
        deadline = {
            "rule": row.rule,
            "name": rule.name if rule else row.rule,
            "name_zh": rule.name_zh if rule else "",
            "due_at": rfc3339(row.due_at),
        }
        notify_plan.route(
            uow, f"escalation:{row.rule}", incident, event.seq, rule_targets=targets, extra={"deadline": deadline}
        )
    assert incident.id is not None
    return Recorded(incident.id, row.rule, row.clock_key, row.due_at, uow.now, targets, regraded_to)
