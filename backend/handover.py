"""The shift handover (交接班): what the next shift must know, from the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypedDict

from sqlalchemy import select
from sqlmodel import Session

from . import calls, probe_queries, queries, ranking, warning_trail
from .clocks import load_policy
from .early_warning import open_warnings
from .models import Escalation, Incident, table_of
from .rows import IncidentRow, OpenWarning, ShiftWarnings
from .schedule_views import CoverageAhead, coverage_ahead
from .timeutil import rfc3339

OBLIGATION_LEVELS = ("III", "II", "I")


class HandoverDeadline(TypedDict):
    """The clock that ranks an open incident, as the handover names it."""

    key: str
    name: str
    name_zh: str
    due_at: str
    remaining_s: int


class HandoverIncident(TypedDict):
    id: int
    title: str
    level: str | None
    category: str
    status: str
    owner: str | None
    next_deadline: HandoverDeadline | None


class HandoverBreach(TypedDict):
    incident_id: int
    title: str
    rule: str
    due_at: str
    escalated_at: str
    to: list[str]


class Unattested(TypedDict):
    incident_id: int
    title: str
    missing: list[str]
    missing_en: list[str]
    missing_zh: list[str]


class EndedIncident(TypedDict):
    id: int
    title: str
    status: str  # resolved, closed
    close_kind: str | None
    at: str | None


class CallbackOwed(TypedDict):
    call: int
    incident_id: int
    caller: str
    at: str


class ProbeNotOk(TypedDict):
    name: str
    state: str
    system: str | None


class SilencedProbe(TypedDict):
    name: str
    until: str | None
    reason: str | None


class Handover(ShiftWarnings):
    """`handover --json` and the handover screen."""

    at: str
    since: str
    open_incidents: list[HandoverIncident]
    breaches_since: list[HandoverBreach]
    unattested_obligations: list[Unattested]
    ended_since: list[EndedIncident]
    callbacks_owed: list[CallbackOwed]
    probes_not_ok: list[ProbeNotOk]
    stale_probes: list[str]
    silenced_probes: list[SilencedProbe]
    coverage: CoverageAhead
    open_warnings: list[OpenWarning]


def handover(session: Session, now: datetime, since: timedelta, zone: tzinfo = UTC) -> Handover:
    """Open incidents by urgency, what was resolved or closed during the shift, breaches
    since, unattested obligations, call-backs owed, probes not OK, stale and silenced
    probes, and the duty schedule's gaps and overloads ahead."""
    start = now - since
    open_rows = list(queries.iter_incidents(session, queries.IncidentFilter(status="open")))
    clocks = queries.open_clocks(session, [r["id"] for r in open_rows], now)
    rules = {rule.key: rule for rule in load_policy(session).deadlines.rules}

    def order(row: IncidentRow) -> tuple[Any, ...]:
        clock, pressing = clocks.get(row["id"], (None, False))
        return ranking.order_key(pressing, clock.due_at if clock else None, row["level"], row["id"])

    open_rows.sort(key=order)
    incidents: list[HandoverIncident] = []
    for row in open_rows:
        clock = clocks[row["id"]][0] if row["id"] in clocks else None
        incidents.append(
            {
                "id": row["id"],
                "title": row["title"],
                "level": row["level"],
                "category": row["category"],
                "status": row["status"],
                "owner": row["owner"],
                "next_deadline": None
                if clock is None
                else {
                    "key": clock.rule,
                    "name": rules[clock.rule].name if clock.rule in rules else clock.rule,
                    "name_zh": rules[clock.rule].name_zh if clock.rule in rules else "",
                    "due_at": rfc3339(clock.due_at),
                    "remaining_s": round((clock.due_at - now).total_seconds()),
                },
            }
        )
    e, i = table_of(Escalation).c, table_of(Incident).c
    breaches: list[HandoverBreach] = [
        {
            "incident_id": r.incident_id,
            "title": r.title,
            "rule": r.rule,
            "due_at": rfc3339(r.due_at),
            "escalated_at": rfc3339(r.escalated_at),
            "to": [t["to"] for t in r.targets],
        }
        for r in session.execute(
            select(e.incident_id, i.title, e.rule, e.due_at, e.escalated_at, e.targets)
            .join(table_of(Incident), i.id == e.incident_id)
            .where(e.escalated_at >= start)
            .order_by(e.escalated_at)
        )
    ]
    unattested: list[Unattested] = []
    for row in open_rows:
        if row["level"] in OBLIGATION_LEVELS:
            missing = [o for o in queries.obligations(session, row["id"]) if not o["attested"]]
            if missing:
                unattested.append(
                    {
                        "incident_id": row["id"],
                        "title": row["title"],
                        "missing": [o["key"] for o in missing],
                        "missing_en": [o["en"] for o in missing],
                        "missing_zh": [o["zh"] for o in missing],
                    }
                )
    every_probe = probe_queries.probes(session, now)
    probes = [p for p in every_probe if p["stale"] or p["silenced_until"]]
    return {
        "at": rfc3339(now),
        "since": rfc3339(start),
        "open_incidents": incidents,
        "breaches_since": breaches,
        "unattested_obligations": unattested,
        "ended_since": _ended_since(session, start),
        "callbacks_owed": [
            {"call": c["id"], "incident_id": c["incident_id"], "caller": c["caller"], "at": c["at"]}
            for c in calls.calls(session, owed=True)
        ],
        "probes_not_ok": [
            {"name": p["name"], "state": p["state"], "system": p["system"]}
            for p in every_probe
            if p["state"] not in (None, "OK") and not p["silenced_until"]
        ],
        "stale_probes": [p["name"] for p in probes if p["stale"]],
        "silenced_probes": [
            {"name": p["name"], "until": p["silenced_until"], "reason": p["silence_reason"]}
            for p in probes
            if p["silenced_until"]
        ],
        "coverage": coverage_ahead(session, now, zone),
        "open_warnings": open_warnings(session, now, zone),  # docs/plan.md#warnings
        **warning_trail.since(session, start),  # warnings escalated and ended during the shift
    }


def _ended_since(session: Session, start: datetime) -> list[EndedIncident]:
    """The incidents resolved or closed during the shift, the latest first."""
    i = table_of(Incident).c
    rows = session.execute(
        select(i.id, i.title, i.status, i.resolved_at, i.closed_at, i.close_kind).where(
            (i.closed_at >= start) | ((i.status == "resolved") & (i.resolved_at >= start))
        )
    ).all()
    ended: list[EndedIncident] = [
        {
            "id": r.id,
            "title": r.title,
            "status": r.status,
            "close_kind": r.close_kind,
            "at": rfc3339(r.closed_at if r.status == "closed" else r.resolved_at),
        }
        for r in rows
    ]
    return sorted(ended, key=lambda e: e["at"] or "", reverse=True)
