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
from .domain import Level, Status
from .models import Escalation, Incident, IncidentDeadline, table_of
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
                # clock rows, heads and incidents are held), so the chunk's rows go to the
                # store in one flush, a few multi-row statements, at its end.
                _prefetch(uow, chunk)
                for incident_id in chunk:
                    recorded.extend(escalate_incident(uow, incident_id))


def _prefetch(uow: UnitOfWork, ids: list[int]) -> None:
    """A chunk's incidents, clock rows, attestations and chain heads in four queries
    instead of four per incident; the incidents are held for the transaction (the
    session keeps only objects someone holds)."""
    query = select(Incident).where(col(Incident.id).in_(ids)).order_by(col(Incident.id))
    if uow.dialect == "postgresql":
        query = query.with_for_update()
    incidents = list(uow.session.execute(query).scalars())
    clocks.prefetch(uow.session, ids)
    uow.prefetch_heads([audit.incident_chain(i) for i in ids])
    uow.session.info.setdefault("opsdeck.held", []).extend(incidents)


def escalate_incident(uow: UnitOfWork, incident_id: int) -> list[Recorded]:
    session = uow.session
    incident = session.get(Incident, incident_id, with_for_update=uow.dialect == "postgresql")
    if incident is None or incident.status == Status.CLOSED:
        return []
    rows = clocks.sync(session, incident, uow.now)
    policy = clocks.load_policy(session, incident.policy_version)
    done: list[Recorded] = []
    for row in rows:
        if not clocks.owed(row) or not uow.now > row.due_at:
            continue
        rule = policy.deadlines.rule(row.rule)
        # A breach already over (met late, or the rule stopped applying) is recorded for
        # the record but pages nobody.
        live = clocks.breached_by(row) is None
        targets = resolve_targets(session, incident, rule.escalate_to if rule else (), at=uow.now) if live else []
        if _claim(uow, incident_id, row, targets):
            done.append(_record(uow, incident, row, rule, targets, policy.deadlines.auto_regrade))
        else:  # another process escalated it first
            row.escalated_at = session.execute(
                select(col(Escalation.escalated_at)).where(
                    col(Escalation.incident_id) == incident_id,
                    col(Escalation.rule) == row.rule,
                    col(Escalation.clock_key) == row.clock_key,
                )
            ).scalar_one()
    if any(r.regraded_to for r in done):
        clocks.sync(session, incident, uow.now)
    else:
        incident.next_due_at = clocks.next_due(rows)
    return done


def _claim(uow: UnitOfWork, incident_id: int, row: IncidentDeadline, targets: list[dict[str, str]]) -> bool:
    values = {
        "incident_id": incident_id,
        "rule": row.rule,
        "clock_key": row.clock_key,
        "due_at": row.due_at,
        "escalated_at": uow.now,
        "actor": uow.actor,
        "targets": targets,
    }
    table = table_of(Escalation)
    insert = pg_insert(table) if uow.dialect == "postgresql" else sqlite_insert(table)
    statement = (
        insert.values(**values)
        .on_conflict_do_nothing(index_elements=["incident_id", "rule", "clock_key"])
        .returning(table.c.id)
    )
    return uow.session.execute(statement).first() is not None


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
