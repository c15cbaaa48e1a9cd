"""The worker: the one process that writes incident data on its own.

Each duty runs under a lease with liveness (backend/leases.py) so that one worker does
it and another stands by: the holder renews it per duty, a holder that stops renewing
(dead, hung, stopped) loses it within `leases.takeover_bound(interval)` seconds, and a
holder that resumes finds its writes fenced by the lease's epoch and stands down.
Every duty is also correct when several run at once. Workers write a heartbeat that
dashboards watch, and the board names each duty that has no live holder.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from . import clocks, escalation, probe_stale, spool_watch, warning_escalation
from .errors import InvalidInput, OpsdeckError
from .http_probes import HttpDuty
from .i18n import _
from .ingest import Ingester, SpoolSettings
from .leases import DbLease, DutyStop, LeaseLost, make_lease
from .maintenance import MaintainDuty, Retention, SpoolUpkeep
from .models import WorkerHeartbeat
from .notify import NotifyDuty, SenderSettings
from .spool_report import ScanReport
from .store import Store, worker_actor

log = logging.getLogger("opsdeck.worker")
HEARTBEAT_STALE_S = 30


@dataclass
class Worker:
    store: Store
    duties: dict[str, Callable[[], Any]]
    interval: float = 1.0
    actor: str = field(default_factory=worker_actor)
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}")
    leases: dict[str, DbLease] = field(default_factory=dict)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.started_at = self.store.clock()
        for name in self.duties:
            self.leases.setdefault(name, make_lease(self.store, name, self.worker_id, self.actor))

    def tick(self) -> dict[str, Any]:
        """Run every duty this worker leads; returns what each did."""
        results: dict[str, Any] = {}
        for name, duty in self.duties.items():
            lease = self.leases[name]
            try:
                if not lease.try_acquire():  # renews it when ours (per duty, before it runs)
                    continue
                with lease.fenced():
                    results[name] = duty()
            except LeaseLost as error:  # we were stopped or hung and a standby took over
                log.warning("%s", error)
            except OpsdeckError as error:  # store busy or unreachable: try again next tick
                log.warning("%s: %s", name, error)
        self.beat()
        return results

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or self.stop_event
        log.info("worker %s started: duties %s", self.worker_id, ", ".join(self.duties))
        try:
            while not stop.is_set():
                self.tick()
                stop.wait(self.interval)
        finally:
            for lease in self.leases.values():
                lease.release()
            log.info("worker %s stopped", self.worker_id)

    def beat(self) -> None:
        try:
            with self.store.write(self.actor) as uow:
                row = uow.session.get(WorkerHeartbeat, self.worker_id)
                held = [name for name, lease in self.leases.items() if lease.held]
                if row is None:
                    uow.session.add(
                        WorkerHeartbeat(
                            worker_id=self.worker_id,
                            host=socket.gethostname(),
                            pid=os.getpid(),
                            duties=held,
                            started_at=self.started_at,
                            beat_at=uow.now,
                        )
                    )
                else:
                    row.duties, row.beat_at = held, uow.now
        except OpsdeckError as error:
            log.warning("heartbeat: %s", error)


def escalate_duty(store: Store, actor: str) -> Callable[[], list[escalation.Recorded]]:
    checked: list[float] = [float("-inf")]

    def run() -> list[escalation.Recorded]:
        done = escalation.sweep(store, actor)
        for warned in warning_escalation.sweep(store, actor):  # a warning's own clocks (docs/plan.md#warnings)
            log.info(
                "escalated W%s %s (due %s) to %s",
                warned.warning_id,
                warned.clock,
                warned.due_at.isoformat(),
                ", ".join(t["to"] for t in warned.targets),
            )
        if time.monotonic() - checked[0] >= COVERAGE_EVERY_S:  # gaps in the duty schedule ahead
            checked[0] = time.monotonic()
            from . import schedule_notice

            for gap in schedule_notice.sweep(store, actor):
                log.info("coverage gap on %s from %s told to %s", gap["duty"], gap["from"], ", ".join(gap["to"]))
        for item in done:
            log.info(
                "escalated #%s %s (due %s) to %s",
                item.incident_id,
                item.rule,
                item.due_at.isoformat(),
                ", ".join(t["to"] for t in item.targets),
            )
        return done

    return run


class IngestDuty:
    """While this worker leads the ingest, a thread watches the spool (watchfiles), and
    the spool's upkeep runs here, on the host whose spool it is."""

    def __init__(
        self, store: Store, settings: SpoolSettings, actor: str, stop: threading.Event, retention: Retention
    ) -> None:
        self.ingester = Ingester(store, settings, actor=actor)
        self.upkeep = SpoolUpkeep(store, actor, retention, settings.path)
        self.stop = stop
        self.thread: threading.Thread | None = None

    def __call__(self) -> tuple[int, int] | None:
        self._watch()
        return self.upkeep()

    def _watch(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(
                target=spool_watch.watch,
                args=(self.ingester, self.stop),
                kwargs={"on_report": _log_scan},
                name="opsdeck-ingest",
                daemon=True,
            )
            self.thread.start()


def _log_scan(report: ScanReport) -> None:
    log.info(
        "ingested %d files (%d results, %d duplicates, %d quarantined, %d stale)%s",
        report.ingested,
        report.results,
        report.duplicates,
        report.quarantined,
        report.stale,
        f"; opened {', '.join(f'#{i}' for i in report.opened)}" if report.opened else "",
    )


def probes_duty(store: Store, actor: str) -> Callable[[], list[str]]:
    """Probes with no result in twice their interval go stale; readiness ages move on."""

    def run() -> list[str]:
        with store.write(actor) as uow:
            return probe_stale.sweep_stale(uow, clocks.load_policy(uow.session).probes)

    return run


DUTIES = ("escalate", "ingest", "probes", "http", "notify", "maintain")
COVERAGE_EVERY_S = 60.0  # how often the escalate duty looks for gaps in the schedule ahead


def standard_worker(
    store: Store,
    *,
    duties: tuple[str, ...] = DUTIES,
    interval: float = 1.0,
    spool: SpoolSettings | None = None,
    stop: threading.Event | None = None,
    sender: SenderSettings | None = None,
    retention: Retention | None = None,
    receive: Any = None,
) -> Worker:
    actor = worker_actor()
    unknown = [d for d in duties if d not in DUTIES]
    if unknown:
        raise InvalidInput(
            "bad_duty",
            _("unknown duty {duty!r}").format(duty=unknown[0]),
            _("use {duties}").format(duties=", ".join(DUTIES)),
        )
    if "ingest" in duties and spool is None:
        raise InvalidInput(
            "no_spool", _("the ingest duty needs a spool"), _("set spool in the config or give --spool DIR")
        )
    stop = stop or threading.Event()
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    leases = {name: make_lease(store, name, worker_id, actor) for name in duties}

    def own_stop(name: str) -> threading.Event:  # a duty's thread stands down with its lease
        return DutyStop(stop, leases[name]) if name in leases else stop

    available: dict[str, Callable[[], Any]] = {
        "escalate": escalate_duty(store, actor),
        "probes": probes_duty(store, actor),
        "http": HttpDuty(store, actor, own_stop("http")),
        "notify": NotifyDuty(store, actor, own_stop("notify"), sender),
        "maintain": MaintainDuty(store, actor, retention or Retention()),
    }
    if spool is not None:
        available["ingest"] = IngestDuty(store, spool, actor, own_stop("ingest"), retention or Retention())
    worker = Worker(
        store,
        {name: available[name] for name in duties},
        interval=interval,
        actor=actor,
        worker_id=worker_id,
        leases=leases,
    )
    worker.stop_event = stop
    if receive is not None:  # `[receive] listen`: not a leased duty, every such worker listens on its host
        from .alerts.server import start_receiver

        start_receiver(store, receive, stop)
    return worker


def last_heartbeat(store: Store) -> datetime | None:
    """The newest heartbeat of any worker (None if none ever ran)."""
    with store.read() as session:
        newest: datetime | None = session.execute(select(func.max(col(WorkerHeartbeat.beat_at)))).scalar_one()
    return newest
