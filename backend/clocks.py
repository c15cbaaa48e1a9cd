"""Keeping each incident's clocks in the store, inside the write transaction.

After every change to an incident, `sync` reads its facts, derives its clocks under
the policy version the incident is pinned to, and stores them: new clocks are added,
existing ones updated, clocks whose rule stopped applying are marked superseded (kept,
with the state they had then: a breach stays breached). Closing meets nothing: a clock
not yet due at the close is waived by whoever closed it, an overdue one stays breached. `incident.next_due_at` is the earliest clock still owed an
escalation, so the sweep finds due incidents with one indexed range query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from . import deadlines, policy, ranking
from .models import Attestation, Incident, IncidentDeadline, PolicyVersion, System, table_of


def load_policy(session: Session, version: int | None = None) -> policy.Policy:
    """The current (or a pinned) policy version. Versions never change once stored, so
    only their number and hash are read when this process has parsed the document."""
    table = table_of(PolicyVersion).c
    query = select(table.version, table.hash)
    if version is None:
        query = query.order_by(table.version.desc()).limit(1)
    else:
        query = query.where(table.version == version)
    number, digest = session.execute(query).one()
    found = policy.lookup(number, digest)
    if found is not None:
        return found
    document = session.execute(select(table.document).where(table.version == number)).scalar_one()
    return policy.cached(number, digest, document)


def facts_of(session: Session, incident: Incident) -> deadlines.Facts:
    attested: dict[str, list[Any]] = {}
    rows = session.execute(
        select(col(Attestation.key), col(Attestation.at)).where(col(Attestation.incident_id) == incident.id)
    ).all()
    for key, at in rows:
        attested.setdefault(key, []).append(at)
    system = session.get(System, incident.system_id) if incident.system_id else None
    return deadlines.Facts(
        reported_at=incident.reported_at,
        outage_started_at=incident.outage_started_at,
        acknowledged_at=incident.acknowledged_at,
        classified_at=incident.classified_at,
        level_since=incident.level_since,
        cause_located_at=incident.cause_located_at,
        resolved_at=incident.resolved_at,
        record_filed_at=incident.record_filed_at,
        closed_at=incident.closed_at,
        closed_by=incident.updated_by if incident.closed_at is not None else None,
        reopened_at=incident.reopened_at,
        last_activity_at=incident.last_activity_at,
        status=incident.status,
        category=incident.category,
        level=incident.level,
        system=system.name if system else None,
        attested={k: tuple(sorted(v)) for k, v in attested.items()},
    )


def sync(session: Session, incident: Incident, now: Any) -> list[IncidentDeadline]:
    """Re-derive and store the incident's clocks; return every row, current and past."""
    rules = load_policy(session, incident.policy_version).deadlines
    facts = facts_of(session, incident)
    derived = {(c.rule, c.clock_key): c for c in deadlines.derive(facts, rules)}
    rows = list(
        session.execute(select(IncidentDeadline).where(col(IncidentDeadline.incident_id) == incident.id)).scalars()
    )
    existing = {(r.rule, r.clock_key): r for r in rows}
    for key, clock in derived.items():
        row = existing.get(key)
        if row is None:
            assert incident.id is not None  # flushed: every caller's incident is in the store
            row = IncidentDeadline(
                incident_id=incident.id,
                rule=clock.rule,
                clock_key=clock.clock_key,
                clock_start=clock.clock_start,
                due_at=clock.due_at,
                warn_at=clock.warn_at,
            )
            session.add(row)
            rows.append(row)
        row.due_at, row.warn_at, row.met_at = clock.due_at, clock.warn_at, clock.met_at
        row.next_level, row.superseded_at = clock.next_level, None
        row.waived_at, row.waived_by = clock.waived_at, clock.waived_by
    for key, row in existing.items():
        if key in derived or not running(row):
            continue
        row.met_at, row.waived_at, row.waived_by = deadlines.ended(rules.rule(row.rule), facts, row)
        if row.met_at is None and row.waived_at is None and facts.closed_at is None:
            row.superseded_at = now
    incident.next_due_at = next_due(rows)
    incident.first_due_at = first_due(rows)
    reporting = [r for r in rows if running(r) and ranking.reports(r.rule)]
    incident.report_due_at = min((r.due_at for r in reporting), default=None)
    incident.report_warn_at = min((r.warn_at for r in reporting), default=None)
    return rows


def running(row: Any) -> bool:
    """Neither met, waived nor superseded (a closed incident's breach stays running)."""
    return row.met_at is None and row.waived_at is None and row.superseded_at is None


def breached_by(row: IncidentDeadline) -> Any:
    """When the clock stopped counting: met, waived, superseded, or still running (None)."""
    ends = [t for t in (row.met_at, row.waived_at, row.superseded_at) if t is not None]
    return min(ends) if ends else None


def owed(row: IncidentDeadline) -> bool:
    """Still owed an escalation record: not escalated, and not met or superseded in time.

    A clock that was met late, or stopped applying after its due time, was breached all
    the same, so its escalation is recorded even if no sweep ran while it was overdue:
    which escalations exist depends on the facts, never on when the sweep happened to
    run. Only clocks still overdue page anyone (see escalation)."""
    if row.escalated_at is not None:
        return False
    ended = breached_by(row)
    return ended is None or ended > row.due_at


def next_due(rows: list[IncidentDeadline]) -> Any:
    due = [r.due_at for r in rows if owed(r)]
    return min(due) if due else None


def first_due(rows: list[IncidentDeadline]) -> Any:
    """The clock the board counts down: the earliest not met (breached ones included)."""
    due = [r.due_at for r in rows if running(r)]
    return min(due) if due else None
