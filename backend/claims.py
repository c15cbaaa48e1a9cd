"""The ingest's claims: each spool file version is taken in once.

The transaction that takes a file's results in also claims its version (`ingested_files`:
content hash, name, size, mtime; a unique index says a version is claimed once) and adds
it to `opsdeck_ingested_files` (backend/counters.py). Once its file is long gone from the
spool and its `done/`, a claim can protect nothing and the spool's upkeep deletes it
(`prune_claims`, called by `maintenance.SpoolUpkeep`), counting what it deleted: an
ingester that read a version before its claim went looks at its files again before
claiming them (backend/ingest.py).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import counters
from .bulk import Bulk, driver_sql
from .models import IngestedFile, table_of
from .spool_files import DONE
from .store import Store, UnitOfWork

CLAIM_BATCH = 1000  # claims looked at per transaction: a stat or two each, under the write lock
RECOGNISED_BY = 20  # a spool's newest claims: one of their files must be there for any claim to go
Version = tuple[str, str, int, int]  # content hash, name, size, mtime_ns: what a claim says


def spool_id(path: Path) -> str:
    """The spool's name in the store: this host and its folder (several hosts may share
    one PostgreSQL store, each with its own spool)."""
    return f"{socket.gethostname()}:{path.resolve()}"


def claim(uow: UnitOfWork, rows: list[tuple[Any, ...]], outcome: str) -> set[Version]:
    """Claim these file versions (rows in `CLAIM`'s columns), in one statement; returns
    the versions this transaction took (the others were taken before, by this ingester
    or another), each counted as taken."""
    claimed = CLAIM[uow.dialect].returning(uow.connection, rows)  # backend/bulk.py
    if claimed:  # opsdeck_ingested_files: counted as taken, kept when the claims are pruned
        counters.add(uow.session, counters.INGESTED, outcome, len(claimed))
    return {(r[0], r[1], r[2], r[3]) for r in claimed}


def pruned_so_far(uow: UnitOfWork) -> int:
    """`counters.CLAIMS_PRUNED` as this write sees it (one row by its key)."""
    found = driver_sql(uow.connection, _PRUNED[uow.dialect], (counters.CLAIMS_PRUNED,)).rows
    return int(found[0][0]) if found else 0


_PRUNED = {
    dialect: f"SELECT value FROM metric_counters WHERE name = {mark} AND label = ''"
    for dialect, mark in (("sqlite", "?"), ("postgresql", "%s"))
}


def _claim_statement(insert: Any) -> Bulk:
    """Each file version once: its rows come back only to the transaction that took it."""
    table = table_of(IngestedFile)
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["mtime_ns", "name", "size", "content_hash"])
        .returning(table.c.content_hash, table.c.name, table.c.size, table.c.mtime_ns)
    )
    columns = ("spool", "name", "size", "mtime_ns", "content_hash", "ingested_at", "results", "outcome")
    return Bulk(statement, columns, repeating=("ingested_at",))


CLAIM = {"postgresql": _claim_statement(pg_insert), "sqlite": _claim_statement(sqlite_insert)}


Position = tuple[datetime, int]  # a claim's (ingested_at, id): where a pass stopped


@dataclass(frozen=True)
class ClaimsPruned:
    count: int
    stopped_at: Position | None  # where the pass goes on from; None: every old claim looked at
    recognised: bool = True  # False: none of the spool's newest files is there, nothing pruned


def prune_claims(
    store: Store,
    actor: str,
    spool: Path,
    keep: timedelta,
    *,
    after: Position | None = None,
    budget_s: float | None = None,
) -> ClaimsPruned:
    """Delete this spool's claims taken in more than `keep` ago whose file version is in
    neither the spool nor its `done/`, in batches, from `after` on, until every old claim
    was looked at or `budget_s` is spent; one audited system event for what went.

    Each file is looked at inside the transaction that deletes its claim, in the spool
    first, then in `done/`: the ingest moves a file that way, so a file on its way is seen
    in one or the other. Nothing goes while none of the spool's `RECOGNISED_BY` newest
    claims has its file there: the folder is not the one those files went to (a disk not
    mounted, a spool deleted and made again empty by the ingest), or it has been idle so
    long that nothing is left in it; either way every file would seem gone."""
    table = table_of(IngestedFile)
    mine = spool_id(spool)[:160]
    ends = None if budget_s is None else time.monotonic() + budget_s
    total = 0
    while True:
        with store.write(actor) as uow:
            cutoff = uow.now - keep
            recognised = _recognised(uow, spool, mine)
            rows: list[Any] = []
            if recognised:
                # In the order of the ingested_at index, from where the last batch stopped:
                # the claims kept (their files still there) are read once a pass, and no
                # pass reads the claims younger than `keep`, most of the table.
                query = select(table.c.id, table.c.name, table.c.size, table.c.mtime_ns, table.c.ingested_at).where(
                    table.c.spool == mine, table.c.ingested_at < cutoff
                )
                if after is not None:
                    query = query.where(tuple_(table.c.ingested_at, table.c.id) > after)
                rows = list(uow.connection.execute(query.order_by(table.c.ingested_at, table.c.id).limit(CLAIM_BATCH)))
            doomed = [row.id for row in rows if not _still_there(spool, row.name, row.size, row.mtime_ns)]
            if doomed:
                uow.connection.execute(delete(table).where(table.c.id.in_(doomed)))
                counters.add(uow.session, counters.CLAIMS_PRUNED, "", len(doomed))  # ingesters look again
                total += len(doomed)
            if rows:
                after = (rows[-1].ingested_at, rows[-1].id)
            finished = len(rows) < CLAIM_BATCH
            if finished or (ends is not None and time.monotonic() >= ends):
                if total:
                    uow.record("claims_pruned", {"count": total, "older_than": cutoff.isoformat(), "spool": mine})
                return ClaimsPruned(total, None if finished else after, recognised)


def _recognised(uow: UnitOfWork, spool: Path, mine: str) -> bool:
    """Is one of this spool's newest claims' files there (or has it none)?"""
    table = table_of(IngestedFile)
    newest = uow.connection.execute(
        select(table.c.name, table.c.size, table.c.mtime_ns)
        .where(table.c.spool == mine)
        .order_by(table.c.ingested_at.desc(), table.c.id.desc())
        .limit(RECOGNISED_BY)
    ).all()
    return not newest or any(_still_there(spool, row.name, row.size, row.mtime_ns) for row in newest)


def _still_there(spool: Path, name: str, size: int, mtime_ns: int) -> bool:
    """Is this version of the file in the spool or its `done/` (the spool first)? An
    unreadable folder or a name that is no plain file name keeps the claim."""
    if not name or "/" in name or name in (".", ".."):
        return True
    for folder in (spool, spool / DONE):
        try:
            found = os.stat(folder / name, follow_symlinks=False)
        except FileNotFoundError:
            continue
        except OSError:
            return True
        if (found.st_size, found.st_mtime_ns) == (size, mtime_ns):
            return True
    return False
