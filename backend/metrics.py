"""opsdeck's state as Prometheus metrics, read from the store (`opsdeck metrics --textfile`).

Names follow the Prometheus conventions: the `opsdeck_` prefix, base units (seconds),
`_total` on counters. Counters are counts of rows the store never prunes (escalations,
ingested files by outcome, quarantines among them, receiver requests per source) or
counts kept for the purpose where no row says what happened (a delivery attempt's
outcome: backend/counters.py). The receiver serves its own live request counters by
source and code at its /metrics (backend/alerts/server.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select
from sqlmodel import col

from . import counters
from .leases import duty_leases
from .models import AlertSource, Escalation, Incident, OutboxMessage, SpoolStatus, WorkerHeartbeat
from .store import Store
from .timeutil import utcnow


class StoreCollector(Collector):
    """Every metric, read in one pass over the store when collected."""

    def __init__(self, store: Store, now: datetime | None = None) -> None:
        self.store, self.now = store, now

    def collect(self) -> Iterator[Metric]:
        now = self.now or utcnow()
        incidents = GaugeMetricFamily(
            "opsdeck_incidents_open", "Incidents not closed, by level and status.", labels=["level", "status"]
        )
        escalations = CounterMetricFamily(
            "opsdeck_escalations", "Breached deadlines escalated (each breach once), by rule.", labels=["rule"]
        )
        outbox = GaugeMetricFamily("opsdeck_notifications", "Notifications in the outbox, by state.", labels=["state"])
        deliveries = CounterMetricFamily(
            "opsdeck_notification_deliveries",
            "Delivery attempts by outcome: sent, failed (to be retried), dead (given up on).",
            labels=["outcome"],
        )
        ingested = CounterMetricFamily(
            "opsdeck_ingested_files", "Spool file versions taken in, by outcome.", labels=["outcome"]
        )
        quarantined = GaugeMetricFamily(
            "opsdeck_spool_quarantined_files", "Files in each spool's quarantine folder.", labels=["spool"]
        )
        accepted = CounterMetricFamily(
            "opsdeck_receiver_accepted_requests", "Alert requests the receiver accepted, by source.", labels=["source"]
        )
        rejected = CounterMetricFamily(
            "opsdeck_receiver_rejected_requests",
            "Alert requests the receiver refused, by source and HTTP code.",
            labels=["source", "code"],
        )
        beats = GaugeMetricFamily(
            "opsdeck_worker_heartbeat_age_seconds", "Seconds since each worker's last heartbeat.", labels=["worker"]
        )
        lease_age = GaugeMetricFamily(
            "opsdeck_duty_lease_renewal_age_seconds",
            "Seconds since each duty's holder last renewed its lease.",
            labels=["duty"],
        )
        holders = GaugeMetricFamily(
            "opsdeck_duty_lease_holder", "1 for the worker holding each duty's lease.", labels=["duty", "holder"]
        )
        with self.store.read() as session:
            for level, status, n in session.execute(
                select(col(Incident.level), col(Incident.status), func.count())
                .where(col(Incident.status) != "closed")
                .group_by(col(Incident.level), col(Incident.status))
            ):
                incidents.add_metric([level or "", status], n)
            for rule, n in session.execute(select(col(Escalation.rule), func.count()).group_by(col(Escalation.rule))):
                escalations.add_metric([rule], n)
            for state, n in session.execute(
                select(col(OutboxMessage.state), func.count()).group_by(col(OutboxMessage.state))
            ):
                outbox.add_metric([state], n)
            for outcome, n in sorted(counters.read(session, counters.DELIVERIES).items()):
                deliveries.add_metric([outcome], n)
            for outcome, n in sorted(counters.read(session, counters.INGESTED).items()):
                ingested.add_metric([outcome], n)
            for spool_id, n in session.execute(select(col(SpoolStatus.id), col(SpoolStatus.quarantined))):
                quarantined.add_metric([spool_id], n)
            for name, n_accepted, codes in session.execute(
                select(col(AlertSource.name), col(AlertSource.accepted), col(AlertSource.rejected))
            ):
                accepted.add_metric([name], n_accepted)
                for code, n in sorted((codes or {}).items()):
                    rejected.add_metric([name, str(code)], int(n))
            for worker, beat_at in session.execute(
                select(col(WorkerHeartbeat.worker_id), col(WorkerHeartbeat.beat_at))
            ):
                beats.add_metric([worker], max(0.0, (now - beat_at).total_seconds()))
        for lease in duty_leases(self.store):
            lease_age.add_metric([lease.duty], max(0.0, (now - lease.renewed_at).total_seconds()))
            if lease.expires_at > now:
                holders.add_metric([lease.duty, lease.holder], 1)
        yield from (
            incidents,
            escalations,
            outbox,
            deliveries,
            ingested,
            quarantined,
            accepted,
            rejected,
            beats,
            lease_age,
            holders,
        )


def registry_for(store: Store, now: datetime | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, now))
    return registry
