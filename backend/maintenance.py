"""The worker's upkeep: checkpoint the WAL, prune what is only kept for a while.

SQLite's WAL only shrinks when a checkpoint finds no reader still using old pages; a
dashboard that always holds a read transaction starves the automatic checkpoints and
the WAL grows without end. The worker's `maintain` duty runs a TRUNCATE checkpoint
every few minutes and says in its log when readers blocked it.

Before results are pruned, every finished day of every probe is summed (seconds OK,
seconds known: backend/availability.py), so availability reads months back.

Kept for a while only, by the retention settings (config `keep_done`, `keep_results`):
processed probe files in the spool's `done/`, and probe results (the newest result
of each probe, and every result that opened an incident, are always kept). Incidents,
the audit trail and the change feed are never pruned here. Each prune is one audited
system event saying how much went.

The spool's own upkeep (`SpoolUpkeep`) runs with the ingest duty, on the host whose
spool it is: the files of `done/`, and the ingest's claims (`ingested_files`: a file
version is taken in once) of that spool taken in more than `keep_done` ago whose file is
no longer in the spool nor in its `done/`. No scan can meet that version again, unless a
file of the same name, size, modification time and bytes is put back (a spool restored
from a backup), which is then taken in again, as results arriving now; an ingester that
read a version before its claim went looks at its files again before claiming them
(backend/ingest.py). A claim whose file is still there stays, however old (a state file
rewritten rarely, a pair half moved by a crash). `opsdeck_ingested_files` counts what
was taken in, apart from the claims (backend/counters.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlmodel import col

from . import availability
from .claims import Position, prune_claims
from .models import Presence, ProbeResult
from .presence import PRESENCE_TTL_S
from .store import Store

log = logging.getLogger("opsdeck.worker")
BATCH = 5000  # results deleted per transaction: short write locks
CLAIM_BUDGET_S = 2.0  # of claim pruning per call (and a batch): the worker's other duties wait for its tick


@dataclass(frozen=True)
class Retention:
    done: timedelta = timedelta(days=7)
    results: timedelta = timedelta(days=30)
    every: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Upkeep:
    checkpoint: dict[str, int] | None  # SQLite: busy, wal pages, pages checkpointed
    results_pruned: int


def checkpoint(store: Store) -> dict[str, int] | None:
    """A TRUNCATE checkpoint (SQLite); busy = 1 when a reader kept it from finishing."""
    if store.dialect != "sqlite":
        return None
    with store.engine.connect() as conn:
        busy, wal_pages, done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    return {"busy": int(busy), "wal_pages": int(wal_pages), "checkpointed": int(done)}


def prune_results(store: Store, actor: str, keep: timedelta) -> int:
    """Delete probe results older than `keep`, in batches, except each probe's newest
    and any that opened an incident; one audited system event for the lot."""
    r = ProbeResult
    total = 0
    while True:
        with store.write(actor) as uow:
            cutoff = uow.now - keep
            newest = select(func.max(col(r.id))).group_by(col(r.probe_id))
            doomed = (
                select(col(r.id))
                .where(col(r.at) < cutoff, col(r.incident_id).is_(None), col(r.id).not_in(newest))
                .limit(BATCH)
            )
            ids = list(uow.session.scalars(doomed))
            if ids:
                uow.session.execute(delete(r).where(col(r.id).in_(ids)))
                total += len(ids)
            if len(ids) < BATCH:
                if total:
                    uow.record("results_pruned", {"count": total, "older_than": cutoff.isoformat()})
                return total


def prune_done(spool: Path, keep: timedelta) -> int:
    """Delete files in `spool/done` not modified for `keep`."""
    done = spool / "done"
    if not done.is_dir():
        return 0
    cutoff = time.time() - keep.total_seconds()
    count = 0
    for entry in done.iterdir():
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()
                count += 1
        except FileNotFoundError:
            continue  # another worker was faster
    return count


def sweep_presence(store: Store, actor: str) -> None:
    with store.write(actor) as uow:
        uow.session.execute(delete(Presence).where(col(Presence.seen_at) < uow.now - timedelta(seconds=PRESENCE_TTL_S)))


class MaintainDuty:
    """Every `retention.every`: checkpoint, prune results, sweep presence."""

    def __init__(self, store: Store, actor: str, retention: Retention) -> None:
        self.store, self.actor, self.retention = store, actor, retention
        self._last: float | None = None

    def __call__(self) -> Upkeep | None:
        if self._last is not None and time.monotonic() - self._last < self.retention.every.total_seconds():
            return None
        self._last = time.monotonic()
        summed = availability.summarize(self.store, self.actor)  # before any of those days' results go
        pruned = prune_results(self.store, self.actor, self.retention.results)
        sweep_presence(self.store, self.actor)
        wal = checkpoint(self.store)
        if wal is not None and wal["busy"]:
            log.warning(
                "checkpoint: readers kept %d of %d WAL pages in use; a dashboard holding a long read? "
                "it shrinks at a later checkpoint",
                wal["wal_pages"] - wal["checkpointed"],
                wal["wal_pages"],
            )
        if pruned or summed:
            log.info("upkeep: summed %d probe days, pruned %d probe results", summed, pruned)
        return Upkeep(wal, pruned)


class SpoolUpkeep:
    """Every `retention.every`, called by the ingest duty (so on the host whose spool it
    is, whichever worker leads the other duties): `done/` files older than `keep_done`,
    and the claims of files gone. A pass over many claims (the first after an upgrade)
    goes on at the next calls from where it stopped, about `CLAIM_BUDGET_S` at a time."""

    def __init__(self, store: Store, actor: str, retention: Retention, spool: Path) -> None:
        self.store, self.actor, self.retention, self.spool = store, actor, retention, spool
        self._last: float | None = None
        self._after: Position | None = None  # a pass under way: where it goes on from
        self._recognised = True

    def __call__(self) -> tuple[int, int] | None:
        """(done files, claims) pruned; None when it is not time yet."""
        now = time.monotonic()
        due = self._last is None or now - self._last >= self.retention.every.total_seconds()
        if not due and self._after is None:
            return None
        files = 0
        if due:
            self._last = now
            files = prune_done(self.spool, self.retention.done)
        pruned = prune_claims(
            self.store, self.actor, self.spool, self.retention.done, after=self._after, budget_s=CLAIM_BUDGET_S
        )
        self._after = pruned.stopped_at
        if self._recognised and not pruned.recognised:  # said once, until it changes
            log.warning(
                "upkeep: none of the files spool %s took in last is in it or its done/ (a disk not mounted? "
                "a spool made again?): its claims are kept",
                self.spool,
            )
        self._recognised = pruned.recognised
        if files or pruned.count:
            log.info(
                "upkeep: pruned %d processed spool files and %d claims of files gone from the spool",
                files,
                pruned.count,
            )
        return files, pruned.count
