"""A warning's breached clock escalated, exactly once (docs/plan.md#warnings).

A warning has its own clocks (backend/early_warning.py `warning_clocks`: analysed within
the policy's `analyse_within`; a serious one: leadership told the same day). The worker's
`escalate` duty sweeps the open warnings: for each clock breached and not met it inserts a
row unique on (warning, clock) with ON CONFLICT DO NOTHING and, only when that insert took,
writes the audit event `warning_escalate` on the warning's chain and the outbox rows of
the route event `warning_overdue`. So several workers sweeping at once, or a retry, record
one escalation; a breach that happened while every worker was down fires when one comes
back. "The same day" is the center's day: the zone the message templates hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from . import clocks, early_warning, notify_plan, templates
from .models import WarningEscalation, WarningRecord, table_of
from .recipients import resolve_targets
from .store import Store, UnitOfWork
from .timeutil import as_utc, rfc3339
from .warning_clocks import WarningClock, end_of_day, warning_clocks

EVENT = "warning_overdue"
# The clocks by name, in both languages (the message's `deadline.name`).
CLOCK_NAMES = {
    "analysed": ("Analyse the warning", "分析预警"),
    "leadership_told": ("Tell leadership of the serious warning", "向所领导报告严重预警"),
}


@dataclass(frozen=True)
class Escalated:
    warning_id: int
    clock: str
    due_at: datetime
    escalated_at: datetime
    targets: list[dict[str, str]]

    def to_json(self) -> dict[str, Any]:
        return {
            "warning_id": self.warning_id,
            "clock": self.clock,
            "due_at": rfc3339(self.due_at),
            "escalated_at": rfc3339(self.escalated_at),
            "late_s": (self.escalated_at - self.due_at).total_seconds(),
            "targets": self.targets,
        }


def center_zone(session: Session) -> tzinfo:
    return templates.load(session).tz


def _due(session: Session, zone: tzinfo, now: datetime) -> list[int]:
    """Open warnings with a clock breached, not met and not yet escalated. Cheap, as the
    sweep runs every second: one query for the open warnings and one for their
    escalations; the policy read once per version; the attestations only of a serious
    warning whose day is over."""
    escalated: dict[int, set[str]] = {}
    for warning_id, key in session.execute(
        select(col(WarningEscalation.warning_id), col(WarningEscalation.clock_key))
        .join(WarningRecord, col(WarningRecord.id) == col(WarningEscalation.warning_id))
        .where(col(WarningRecord.status) == "open")
    ).all():
        escalated.setdefault(warning_id, set()).add(key)
    within: dict[int, timedelta] = {}
    out = []
    for warning_id, raised_at, analysed_at, serious, version in session.execute(
        select(
            col(WarningRecord.id),
            col(WarningRecord.raised_at),
            col(WarningRecord.analysed_at),
            col(WarningRecord.serious),
            col(WarningRecord.policy_version),
        )
        .where(col(WarningRecord.status) == "open")
        .order_by(col(WarningRecord.id))
    ).all():
        done, raised = escalated.get(warning_id, set()), as_utc(raised_at)
        if version not in within:
            within[version] = clocks.load_policy(session, version).warning_analyse_within
        if analysed_at is None and "analysed" not in done and now > raised + within[version]:
            out.append(warning_id)
        elif serious and "leadership_told" not in done and now > end_of_day(raised, zone):
            row = session.get(WarningRecord, warning_id)
            if row is not None and any(_owed(c, now) for c in warning_clocks(session, row, zone)):
                out.append(warning_id)
    return out


def sweep(store: Store, actor: str, zone: tzinfo | None = None) -> list[Escalated]:
    """Escalate every breached clock of an open warning once; returns what this call recorded.
    Nothing due: no write (the duty runs every second)."""
    with store.read() as session:
        if not session.execute(
            select(col(WarningRecord.id)).where(col(WarningRecord.status) == "open").limit(1)
        ).first():
            return []  # the usual case: one indexed look, not the templates' document each second
        zone = zone or center_zone(session)
        ids = _due(session, zone, store.clock())
    if not ids:
        return []
    done: list[Escalated] = []
    with store.write(actor) as uow:
        for warning_id in ids:
            done.extend(escalate_warning(uow, warning_id, zone))
    return done


def _owed(clock: WarningClock, now: datetime) -> bool:
    return clock.met_at is None and clock.waived_at is None and now > clock.due_at


def escalate_warning(uow: UnitOfWork, warning_id: int, zone: tzinfo) -> list[Escalated]:
    row = uow.session.get(WarningRecord, warning_id, with_for_update=uow.dialect == "postgresql")
    if row is None or row.status != "open":
        return []
    out = []
    for clock in warning_clocks(uow.session, row, zone):
        if not _owed(clock, uow.now):
            continue
        targets = _targets(uow, row)
        if _claim(uow, row, clock.key, clock.due_at, targets):
            out.append(_record(uow, row, clock.key, clock.due_at, targets))
    return out


def _targets(uow: UnitOfWork, row: WarningRecord) -> list[dict[str, str]]:
    """Who the routes for `warning_overdue` name (a route's `systems` filter matches a
    warning that may affect one of them)."""
    found: list[dict[str, str]] = []
    for route in notify_plan.load(uow.session).routes:
        if not any(route.matches(EVENT, None, "unclassified", name) for name in row.systems or [None]):
            continue
        for target in resolve_targets(uow.session, None, route.to, fallback=False, at=uow.now):
            if not any(t["kind"] == target["kind"] and t["to"] == target["to"] for t in found):
                found.append(target)
    return found


def _claim(uow: UnitOfWork, row: WarningRecord, key: str, due_at: datetime, targets: list[dict[str, str]]) -> bool:
    table = table_of(WarningEscalation)
    insert = pg_insert(table) if uow.dialect == "postgresql" else sqlite_insert(table)
    statement = (
        insert.values(
            warning_id=row.id, clock_key=key, due_at=due_at, escalated_at=uow.now, actor=uow.actor, targets=targets
        )
        .on_conflict_do_nothing(index_elements=["warning_id", "clock_key"])
        .returning(table.c.id)
    )
    return uow.session.execute(statement).first() is not None


def _record(
    uow: UnitOfWork, row: WarningRecord, key: str, due_at: datetime, targets: list[dict[str, str]]
) -> Escalated:
    assert row.id is not None
    details = {
        "clock": key,
        "due_at": rfc3339(due_at),
        "late_s": (uow.now - due_at).total_seconds(),
        "targets": targets,
    }
    event = uow.record(
        "warning_escalate", details, chain=early_warning.chain(row.id), entity="warning", entity_id=row.id
    )
    en, zh = CLOCK_NAMES.get(key, (key, key))
    body = {
        "event": EVENT,
        "warning": early_warning.payload(row),
        "deadline": {"rule": key, "name": en, "name_zh": zh, "due_at": rfc3339(due_at)},
    }
    notify_plan.write_rows(uow, EVENT, targets, body, incident_id=None, key=f"warning-{row.id}-{event.seq}-{EVENT}")
    return Escalated(row.id, key, due_at, uow.now, targets)
