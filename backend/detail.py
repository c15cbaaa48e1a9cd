"""Everything about one incident, for the detail screen: an immutable snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import or_, select
from sqlmodel import Session

from . import queries
from .calls import CallRow, calls
from .i18n import _
from .models import Incident, Probe, ProbeResult, table_of
from .rows import AuditEventRow, ClockItem, IncidentDetail, ObligationRow


class LinkedRow(TypedDict):
    """An incident linked to this one: its duplicate, original, or reopened one."""

    id: int
    title: str
    status: str
    link: str  # how it is linked, in the chosen language


class AttachedResult(TypedDict):
    """A probe result attached to the incident."""

    probe: str
    at: datetime
    state: str
    output: str


@dataclass(frozen=True)
class Detail:
    incident: IncidentDetail  # fields, notes, playbook
    deadlines: list[ClockItem]
    obligations: list[ObligationRow]
    timeline: list[AuditEventRow]  # newest first
    linked: list[LinkedRow]  # duplicates of it, what it duplicates, reopened from/as
    probe_results: list[AttachedResult]
    calls: list[CallRow]  # the service desk's, contacts masked
    read_at: datetime

    @property
    def version(self) -> int:
        return self.incident["version"]


def load(session: Session, incident_id: int, now: datetime) -> Detail:
    data = queries.incident_detail(session, incident_id)
    return Detail(
        incident=data,
        deadlines=queries.incident_deadlines(session, incident_id, now),
        obligations=queries.obligations(session, incident_id),
        timeline=list(reversed(queries.audit_trail(session, incident_id))),
        linked=_linked(session, incident_id, data),
        probe_results=_probe_results(session, incident_id),
        calls=calls(session, incident_id),
        read_at=now,
    )


def _linked(session: Session, incident_id: int, data: IncidentDetail) -> list[LinkedRow]:
    i = table_of(Incident).c
    rows = session.execute(
        select(i.id, i.title, i.status, i.duplicate_of, i.reopened_from)
        .where(
            or_(
                i.duplicate_of == incident_id,
                i.reopened_from == incident_id,
                i.id == (data["duplicate_of"] or -1),
                i.id == (data["reopened_from"] or -1),
            )
        )
        .order_by(i.id)
    ).all()
    out: list[LinkedRow] = []
    for row in rows:
        if row.duplicate_of == incident_id:
            how = _("duplicate of this")
        elif row.reopened_from == incident_id:
            how = _("reopened as")
        elif row.id == data["duplicate_of"]:
            how = _("original (this is its duplicate)")
        else:
            how = _("reopened from")
        out.append({"id": row.id, "title": row.title, "status": row.status, "link": how})
    return out


def _probe_results(session: Session, incident_id: int, limit: int = 20) -> list[AttachedResult]:
    p, r = table_of(Probe).c, table_of(ProbeResult).c
    rows = session.execute(
        select(p.name, r.at, r.state, r.output)
        .join(table_of(Probe), p.id == r.probe_id)
        .where(r.incident_id == incident_id)
        .order_by(r.at.desc())
        .limit(limit)
    ).all()
    return [{"probe": r[0], "at": r[1], "state": r[2], "output": r[3]} for r in rows]
