"""The probe listings: every probe with its health (`probe list`, the handover) and a
probe's newest results (`probe show`), JSON-ready like the rest of the read side."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from . import clocks
from .errors import InvalidInput, NotFound
from .i18n import _
from .models import Incident, Probe, ProbeResult, System
from .rows import ProbeResultRow, ProbeRow
from .sanitize import clean
from .timeutil import rfc3339


def probes(session: Session, now: datetime, names: list[str] | None = None) -> list[ProbeRow]:
    """Every probe (or the named ones) with its health, as `probe list --json` shows it."""
    readiness = {r.probe: r.cell for r in clocks.load_policy(session).probes.readiness}
    counts = dict(
        session.execute(select(col(ProbeResult.probe_id), func.count()).group_by(col(ProbeResult.probe_id))).all()
    )
    systems_by_id = dict(session.execute(select(col(System.id), col(System.name))).all())
    open_incidents = dict(
        session.execute(
            select(col(Incident.probe_id), col(Incident.id)).where(
                col(Incident.probe_id).is_not(None), col(Incident.status) != "closed"
            )
        ).all()
    )
    query = select(Probe).order_by(col(Probe.name))
    if names is not None:
        query = query.where(col(Probe.name).in_(names))
    out: list[ProbeRow] = []
    for p in session.execute(query).scalars():
        silenced = p.silenced_until is not None and p.silenced_until > now
        out.append(
            {
                "name": p.name,
                "system": systems_by_id.get(p.system_id),
                "state": p.state,
                "stale": p.stale,
                "silenced_until": rfc3339(p.silenced_until) if silenced else None,
                "silence_reason": p.silence_reason if silenced else None,
                "last_result_at": rfc3339(p.last_result_at),
                "age_s": None if p.last_result_at is None else round((now - p.last_result_at).total_seconds()),
                "output": p.output,
                "results": counts.get(p.id, 0),
                "interval_s": p.interval_s,
                "state_since": rfc3339(p.state_since),
                "consecutive": p.consecutive,
                "readiness_cell": readiness.get(p.name),
                "last_success_at": rfc3339(p.last_success_at),
                "incident_id": open_incidents.get(p.id),
            }
        )
    return out


def stored_name(session: Session, given: str) -> str:
    """The probe `given` names: exactly, or as `probe list` and the board show it (cleaned:
    a name a probe wrote with control characters in it cannot be typed back), if only
    one probe shows so."""
    if session.execute(select(col(Probe.id)).where(col(Probe.name) == given)).first() is not None:
        return given
    shown = clean(given)
    alike: list[str] = [name for name in session.execute(select(col(Probe.name))).scalars() if clean(name) == shown]
    if len(alike) == 1:
        return alike[0]
    if alike:
        raise InvalidInput(
            "ambiguous_probe",
            _("{count} probes show as {name!r}: {names}").format(
                count=len(alike), name=shown, names=", ".join(repr(n) for n in alike)
            ),
            _("give the name as `opsdeck probe list --json` writes it"),
        )
    raise NotFound("no_probe", _("no probe named {name!r}").format(name=given), _("see `opsdeck probe list`"))


def probe_results(session: Session, name: str, limit: int = 20) -> list[ProbeResultRow]:
    probe_id = session.execute(select(col(Probe.id)).where(col(Probe.name) == name)).scalar_one_or_none()
    if probe_id is None:
        raise NotFound("no_probe", _("no probe named {name!r}").format(name=name), _("see `opsdeck probe list`"))
    rows = session.execute(
        select(ProbeResult)
        .where(col(ProbeResult.probe_id) == probe_id)
        .order_by(col(ProbeResult.at).desc())
        .limit(limit)
    ).scalars()
    return [
        {
            "at": rfc3339(r.at),
            "state": r.state,
            "output": r.output,
            "stale": r.stale,
            "source": r.source,
            "perfdata": r.perfdata,
            "flags": r.flags,
            "incident_id": r.incident_id,
        }
        for r in rows
    ]
