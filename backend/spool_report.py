"""What a spool scan did (`ScanReport`, for the worker's log and `opsdeck ingest --json`)
and what the spools look like from the store (`record_status` after each scan;
`spool_summary`: `probe list`, the board)."""

from __future__ import annotations

import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from .models import SpoolStatus, table_of
from .store import Store, UnitOfWork


@dataclass
class ScanReport:
    ingested: int = 0  # files (or file versions) taken in
    results: int = 0
    duplicates: int = 0
    quarantined: int = 0
    stale: int = 0
    waiting: int = 0
    opened: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in asdict(self).items()
            if k in ("ingested", "duplicates", "quarantined", "stale", "results", "waiting", "opened")
        }

    def add(self, other: ScanReport) -> None:
        for key in ("ingested", "results", "duplicates", "quarantined", "stale", "waiting"):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        self.opened.extend(other.opened)


class SpoolSummary(TypedDict):
    quarantined: int  # files in quarantine, over every spool
    last_file_at: datetime | None
    problems: list[str]  # "SPOOL: what stops files moving"


def spool_summary(store: Store) -> SpoolSummary:
    """Quarantined files, the newest file time and what stops files moving, over every spool."""
    with store.read() as session:
        row = session.execute(
            select(func.sum(col(SpoolStatus.quarantined)), func.max(col(SpoolStatus.last_file_at)))
        ).first()
        problems = [
            f"{spool}: {problem}"
            for spool, problem in session.execute(
                select(col(SpoolStatus.id), col(SpoolStatus.problem)).where(col(SpoolStatus.problem).is_not(None))
            )
        ]
    quarantined, last = row or (0, None)
    return {"quarantined": int(quarantined or 0), "last_file_at": last, "problems": problems}


def record_status(
    uow: UnitOfWork, spool_id: str, path: Path, quarantined: int, last_file_at: datetime | None, problem: str | None
) -> None:
    """The spool's row after a scan: its quarantine count, when it last scanned, its newest
    file taken in (when one was), its problem; the boards are told when these change."""
    # Two ingesters on one spool (a standby, a manual `ingest --once`) may both be first
    # here: insert-if-absent, then lock and update the one row.
    insert = pg_insert if uow.dialect == "postgresql" else sqlite_insert
    uow.session.execute(
        insert(table_of(SpoolStatus))
        .values(id=spool_id, host=socket.gethostname(), path=str(path), quarantined=0)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    row = uow.session.get(SpoolStatus, spool_id, with_for_update=uow.dialect == "postgresql")
    assert row is not None
    if last_file_at is not None:
        row.last_file_at = last_file_at
    changed = row.quarantined != quarantined
    row.quarantined, row.last_scan_at = quarantined, uow.now
    if row.problem != problem:
        row.problem, changed = problem, True
    if changed:
        uow.changed("spool", row.id, "quarantine")
