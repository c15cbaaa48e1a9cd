"""What a spool scan did (`ScanReport`, for the worker's log and `opsdeck ingest --json`)
and what the spools look like from the store (`spool_summary`: `probe list`, the board)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import func, select
from sqlmodel import col

from .models import SpoolStatus
from .store import Store


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
