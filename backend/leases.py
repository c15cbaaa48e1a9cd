"""Leases with liveness: a duty's holder must keep renewing it, or lose it.

A lock held by a process (an `flock`, a PostgreSQL advisory lock) is released when the
process dies, not when it hangs: a stopped or wedged holder (SIGSTOP, a stuck NFS
read, a debugger) keeps it forever and no standby takes over. So each duty is a row,
`duty_leases(duty, holder, epoch, renewed_at, expires_at)`:

- the holder renews its row every `RENEW_S` (each duty on its own, before it runs);
- a row not renewed for `TTL_S` has no live holder: the next standby to tick takes
  it over and bumps the epoch. A standby ticking every `interval` seconds therefore
  takes over at most `TTL_S + interval` seconds after the holder's last renewal
  (`takeover_bound`: 11 s with the default 1 s interval);
- the work is fenced: while a duty runs, every write transaction it makes checks, in
  that same transaction and just before it commits, that the row still names this
  holder and epoch (on PostgreSQL with the row locked). A holder that resumes after
  losing its lease has its transaction rolled back, logs that it stands down, and
  does not run the duty again until it wins the lease back. Duties that run in a
  thread of their own (ingest's watcher, HTTP checks, the sender) watch a `DutyStop`:
  the thread ends at the holder's first tick after it resumed without the lease. Their
  writes are not fenced (those duties are correct when several run at once).

Times are the worker's clock; hosts sharing a store keep their clocks in sync (the
board warns past 5 s of skew).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from .errors import DomainError
from .models import DutyLease
from .store import Store, UnitOfWork, set_fence, worker_actor

log = logging.getLogger("opsdeck.worker")
TTL_S = 10.0
RENEW_S = 2.0


def takeover_bound(interval: float) -> float:
    """The most seconds between a holder's last renewal and a standby's takeover."""
    return TTL_S + interval


class LeaseLost(DomainError):
    """Raised inside a fenced transaction whose duty has a new holder: it rolls back."""


@dataclass
class DbLease:
    """The `Lease` of one duty for one worker (see backend/worker.py)."""

    store: Store
    duty: str
    holder: str
    actor: str = "system:worker"
    held: bool = False
    epoch: int = 0
    _renewed: datetime | None = None

    def try_acquire(self) -> bool:
        """Renew the lease if we hold it (every RENEW_S), else take it if it has no live
        holder. False when another live holder has it, or took it from us."""
        now = self.store.clock()
        if self.held and self._renewed is not None and (now - self._renewed).total_seconds() < RENEW_S:
            return True
        if not self.held and not self._free(now):
            return False  # a cheap read while someone else holds it
        with self.store.write(self.actor) as uow:
            row = uow.session.get(DutyLease, self.duty, with_for_update=uow.dialect == "postgresql")
            mine = row is not None and row.holder == self.holder and row.epoch == self.epoch
            if row is not None and not mine and row.expires_at > uow.now:
                if self.held:
                    log.warning(
                        "%s: lease taken over by %s (epoch %d): standing down", self.duty, row.holder, row.epoch
                    )
                self.held = False
                return False
            if row is None:
                row = DutyLease(duty=self.duty, holder=self.holder, epoch=0, renewed_at=uow.now, expires_at=uow.now)
                uow.session.add(row)
            if not mine:
                if row.epoch:
                    late = (uow.now - row.renewed_at).total_seconds()
                    log.warning("%s: taking over from %s, silent for %.1f s", self.duty, row.holder, late)
                row.holder, row.epoch = self.holder, row.epoch + 1
            row.renewed_at, row.expires_at = uow.now, uow.now + timedelta(seconds=TTL_S)
            self.epoch = row.epoch
        self.held, self._renewed = True, now
        return True

    def _free(self, now: datetime) -> bool:
        with self.store.read() as session:
            expires = session.execute(
                select(col(DutyLease.expires_at)).where(col(DutyLease.duty) == self.duty)
            ).scalar_one_or_none()
        return expires is None or expires <= now

    def release(self) -> None:
        """Hand the duty over at once (a clean stop): a standby need not wait out the TTL."""
        if not self.held:
            return
        self.held = False
        with contextlib.suppress(Exception), self.store.write(self.actor) as uow:
            row = uow.session.get(DutyLease, self.duty, with_for_update=uow.dialect == "postgresql")
            if row is not None and row.holder == self.holder and row.epoch == self.epoch:
                row.expires_at = uow.now

    @contextlib.contextmanager
    def fenced(self) -> Iterator[None]:
        """While the duty runs: every write transaction of this thread checks the lease."""
        duty, holder, epoch = self.duty, self.holder, self.epoch

        def check(uow: UnitOfWork) -> None:
            row = uow.session.get(DutyLease, duty, with_for_update=uow.dialect == "postgresql", populate_existing=True)
            if row is None or row.holder != holder or row.epoch != epoch:
                self.held = False
                raise LeaseLost(
                    "lease_lost",
                    f"{duty}: this worker lost the lease (epoch {epoch}) while it was stopped or hung",
                    "nothing was written; another worker does this duty now",
                )
            row.renewed_at, row.expires_at = uow.now, uow.now + timedelta(seconds=TTL_S)  # working is living

        set_fence(check)
        try:
            yield
        finally:
            set_fence(None)


class DutyStop(threading.Event):
    """What a duty's own thread (ingest's watcher, the HTTP checks, the sender) watches
    instead of the worker's stop: set also when this worker no longer holds the duty,
    so the thread stands down with it (at the holder's next tick after it resumes)."""

    def __init__(self, stop: threading.Event, lease: DbLease) -> None:
        super().__init__()
        self.stop_all, self.lease = stop, lease

    def is_set(self) -> bool:
        return self.stop_all.is_set() or not self.lease.held

    def wait(self, timeout: float | None = None) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 0.5 if end is None else min(0.5, end - time.monotonic())
            if left <= 0:
                break
            self.stop_all.wait(left)
        return self.is_set()


@dataclass(frozen=True)
class DutyLiveness:
    duty: str
    holder: str
    renewed_at: datetime
    expires_at: datetime


def duty_leases(store: Store) -> tuple[DutyLiveness, ...]:
    """Every duty's lease, for the board's per-duty banner."""
    with store.read() as session:
        rows = session.execute(select(DutyLease).order_by(col(DutyLease.duty))).scalars()
        return tuple(DutyLiveness(r.duty, r.holder, r.renewed_at, r.expires_at) for r in rows)


def silent_duties(leases: tuple[DutyLiveness, ...], now: datetime) -> list[tuple[str, float]]:
    """(duty, seconds since its holder's last renewal) for each duty with no live holder."""
    return [
        (lease.duty, (now - lease.renewed_at).total_seconds())
        for lease in leases
        if (now - lease.renewed_at).total_seconds() > TTL_S
    ]


def make_lease(store: Store, duty: str, holder: str | None = None, actor: str | None = None) -> DbLease:
    """The lease of `duty` for `holder` (a worker id; this process and thread by default)."""
    return DbLease(
        store,
        duty,
        holder or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}",
        actor or worker_actor(),
    )
