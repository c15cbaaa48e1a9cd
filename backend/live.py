"""Seeing other processes' changes: the change feed, polled cheaply.

On SQLite a dedicated read-only connection asks `PRAGMA data_version` (it changes when
another connection commits) about every 100 ms, and only then reads the feed since the
last sequence. On PostgreSQL the feed's newest sequence is polled (LISTEN/NOTIFY comes
with the many-operators issue).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlalchemy import func, select

from .models import Change
from .store import Store


@dataclass(frozen=True)
class FeedBatch:
    """What changed since the last poll, coalesced."""

    seq: int
    incidents: frozenset[int] = frozenset()
    probes: bool = False
    roster: bool = False
    other: frozenset[str] = field(default_factory=frozenset)
    who: dict[int, tuple[str, str]] = field(default_factory=dict)  # incident -> (actor, action), the last

    @property
    def empty(self) -> bool:
        return not (self.incidents or self.probes or self.roster or self.other)


class FeedWatcher:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.seq = self._top()
        self._version: int | None = None
        self._conn: sqlite3.Connection | None = None
        if store.path is not None:
            self._conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True, check_same_thread=False, timeout=1)

    def _top(self) -> int:
        with self.store.read() as session:
            return int(session.execute(select(func.coalesce(func.max(Change.seq), 0))).scalar_one())

    def changed(self) -> bool:
        """Cheap: has anyone committed since the last look?"""
        if self._conn is None:
            return self._top() != self.seq
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._version = version
            return True
        return False

    def poll(self, limit: int = 20_000) -> FeedBatch | None:
        """The changes since the last poll, or None when nothing was committed."""
        if not self.changed():
            return None
        changes = self.store.feed_since(self.seq, limit)
        if not changes:
            return None
        self.seq = changes[-1].seq
        incidents = frozenset(int(c.entity_id) for c in changes if c.entity == "incident")
        who = {int(c.entity_id): (c.actor, c.action) for c in changes if c.entity == "incident"}
        entities = {c.entity for c in changes}
        return FeedBatch(
            seq=self.seq,
            incidents=incidents,
            probes=bool(entities & {"probe", "spool"}),
            roster=bool(entities & {"roster", "contacts", "systems"}),
            other=frozenset(entities - {"incident", "probe", "spool", "roster"}),
            who=who,
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
