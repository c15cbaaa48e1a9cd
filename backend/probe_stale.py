"""Probes that fell silent: no result within twice their interval and they go stale;
the readiness probes' states move with the age of their last good run. The `probes`
duty's sweep (backend/worker.py); alert sources' probes are events, never stale."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from .models import Probe
from .probe_config import ProbePolicy
from .probe_rows import EVENT_KIND
from .store import UnitOfWork


def sweep_stale(uow: UnitOfWork, policy: ProbePolicy) -> list[str]:
    """Probes with no result within twice their interval go stale; readiness ages move."""
    changed = []
    for probe in uow.session.execute(select(Probe).where(col(Probe.kind) != EVENT_KIND)).scalars():
        interval = _interval(probe, policy)
        stale = probe.last_result_at is not None and uow.now - probe.last_result_at > 2 * interval
        readiness = policy.readiness_for(probe.name)
        state = probe.state
        if readiness and probe.last_success_at:
            age = uow.now - probe.last_success_at
            state = "OK" if age < readiness.warn_age else "WARNING" if age < readiness.crit_age else "CRITICAL"
        if stale != probe.stale or state != probe.state:
            if state != probe.state:
                probe.state, probe.state_since, probe.consecutive = state, uow.now, 1
            probe.stale = stale
            uow.changed("probe", probe.name, "health")
            changed.append(probe.name)
    return changed


def _interval(probe: Probe, policy: ProbePolicy) -> timedelta:
    settings = policy.settings_for(probe.name)
    if settings.interval:
        return settings.interval
    if probe.interval_s:
        return timedelta(seconds=probe.interval_s)
    return policy.default_interval
