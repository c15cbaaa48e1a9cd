"""The worker: the one process that writes incident data on its own.

Each duty (escalating deadlines now; ingest and notifications later) runs under a
leader lease so that one worker does it and another stands by: on SQLite an
`fcntl.flock` on a lock file beside the store (the kernel releases it when the holder
dies, so a standby takes over at its next tick), on PostgreSQL `pg_try_advisory_lock`
on a connection of its own. The lease only avoids duplicate work: every duty is
correct when several run at once. Workers write a heartbeat that dashboards watch.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, func, select, text
from sqlmodel import col

from . import clocks, escalation, probe_health, spool_watch
from .errors import InvalidInput, OpsdeckError
from .http_probes import HttpDuty
from .i18n import _
from .ingest import Ingester, ScanReport, SpoolSettings
from .maintenance import MaintainDuty, Retention
from .models import WorkerHeartbeat
from .notify import NotifyDuty, SenderSettings
from .store import Store, worker_actor

log = logging.getLogger("opsdeck.worker")
HEARTBEAT_STALE_S = 30


class Lease(Protocol):
    held: bool

    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...


class FileLease:
    """`flock` on `<store>.<duty>.lock`: released by the kernel if the holder dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.held = False
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self.held:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o660)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
        self._fd, self.held = fd, True
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
        self._fd, self.held = None, False


class AdvisoryLease:
    """`pg_try_advisory_lock` held on a connection of its own for as long as we lead."""

    def __init__(self, store: Store, duty: str) -> None:
        self.store = store
        self.key = int.from_bytes(hashlib.sha256(f"opsdeck:{duty}".encode()).digest()[:8], "big", signed=True)
        self.held = False
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self.held and self._alive():
            return True
        self.release()
        conn = self.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar():
            self._conn, self.held = conn, True
            return True
        conn.close()
        return False

    def _alive(self) -> bool:
        try:
            assert self._conn is not None
            self._conn.execute(text("SELECT 1"))
            return True
        except Exception:  # the connection died: the server released the lock
            return False

    def release(self) -> None:
        if self._conn is not None:
            # A dead connection has released the lock already.
            with contextlib.suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self._conn.close()
        self._conn, self.held = None, False


def make_lease(store: Store, duty: str) -> Lease:
    if store.dialect == "postgresql":
        return AdvisoryLease(store, duty)
    assert store.path is not None
    return FileLease(store.path.with_name(f"{store.path.name}.{duty}.lock"))


@dataclass
class Worker:
    store: Store
    duties: dict[str, Callable[[], Any]]
    interval: float = 1.0
    actor: str = field(default_factory=worker_actor)
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}")
    leases: dict[str, Lease] = field(default_factory=dict)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.started_at = self.store.clock()
        for name in self.duties:
            self.leases.setdefault(name, make_lease(self.store, name))

    def tick(self) -> dict[str, Any]:
        """Run every duty this worker leads; returns what each did."""
        results: dict[str, Any] = {}
        for name, duty in self.duties.items():
            lease = self.leases[name]
            if not lease.try_acquire():
                continue
            try:
                results[name] = duty()
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
    def run() -> list[escalation.Recorded]:
        done = escalation.sweep(store, actor)
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
    """While this worker leads the ingest, a thread watches the spool (watchfiles)."""

    def __init__(self, store: Store, settings: SpoolSettings, actor: str, stop: threading.Event) -> None:
        self.ingester = Ingester(store, settings, actor=actor)
        self.stop = stop
        self.thread: threading.Thread | None = None

    def __call__(self) -> None:
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
            return probe_health.sweep_stale(uow, clocks.load_policy(uow.session).probes)

    return run


DUTIES = ("escalate", "ingest", "probes", "http", "notify", "maintain")


def standard_worker(
    store: Store,
    *,
    duties: tuple[str, ...] = DUTIES,
    interval: float = 1.0,
    spool: SpoolSettings | None = None,
    stop: threading.Event | None = None,
    sender: SenderSettings | None = None,
    retention: Retention | None = None,
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
    available: dict[str, Callable[[], Any]] = {
        "escalate": escalate_duty(store, actor),
        "probes": probes_duty(store, actor),
        "http": HttpDuty(store, actor, stop),
        "notify": NotifyDuty(store, actor, stop, sender),
        "maintain": MaintainDuty(store, actor, retention or Retention(), spool.path if spool else None),
    }
    if spool is not None:
        available["ingest"] = IngestDuty(store, spool, actor, stop)
    worker = Worker(store, {name: available[name] for name in duties}, interval=interval, actor=actor)
    worker.stop_event = stop
    return worker


def last_heartbeat(store: Store) -> Any:
    """The newest heartbeat of any worker (None if none ever ran)."""
    with store.read() as session:
        return session.execute(select(func.max(col(WorkerHeartbeat.beat_at)))).scalar_one()
