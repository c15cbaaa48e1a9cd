"""Seeing other processes' changes: the change feed, read when someone committed.

On SQLite a dedicated read-only connection asks `PRAGMA data_version` (it changes when
another connection commits) about every 100 ms, and only then reads the feed since the
last sequence. On PostgreSQL every write transaction that adds to the feed also sends
NOTIFY on a channel named after its schema (delivered at commit); a watcher LISTENs on
its own autocommit psycopg connection, outside SQLAlchemy's pool, and reads the feed
when a notification came. Nothing here blocks for long, so quitting never hangs. A
lost connection is opened again on the next poll and the feed is read since the last
sequence seen: NOTIFY is not replayed, the feed is.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from .models import Change
from .store import FEED_CHANNEL, Store


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


# SQLite: how often a waiting watcher looks for a commit. Each look wakes a thread; at
# 100 a second (0.01) an idle board spent 1.3 % of a core on looking alone, more than
# half its whole budget while it ticks; at 40 a change waits 12 ms more on average.
WAKE_S = 0.025
SKEW_WARN_S = 5.0  # a dashboard warns when its clock and the database's differ by more


def clock_skew(store: Store, now: datetime) -> float | None:
    """Seconds this process's clock is ahead of the database's (negative: behind), or
    None on SQLite, whose clock is this host's. Countdowns are computed here against
    due times another host computed: a skewed clock shows them wrong by as much."""
    if store.dialect != "postgresql":
        return None
    with store.read() as session:
        db_now: datetime = session.execute(select(func.statement_timestamp())).scalar_one()
    return (now - db_now).total_seconds()


def feed_channel(schema: str) -> str:
    """The NOTIFY channel of the store in `schema`: two stores in one database do not
    wake each other."""
    return f"{FEED_CHANNEL}.{schema}"


class FeedWatcher:
    def __init__(self, store: Store, seq: int | None = None) -> None:
        self.store = store
        self.seq = self._top() if seq is None else seq
        self._version: int | None = None
        self._conn: sqlite3.Connection | None = None  # SQLite: asks data_version
        self._listen: Any = None  # PostgreSQL: a psycopg connection in LISTEN
        self._notified = False  # PostgreSQL: `wait` took a notification `changed` has not seen
        self._connect()

    def _connect(self) -> None:
        if self.store.path is not None:
            self._conn = sqlite3.connect(
                f"file:{self.store.path}?mode=ro", uri=True, check_same_thread=False, timeout=1
            )
        elif self.store.dialect == "postgresql":
            import psycopg
            from psycopg import sql

            engine = self.store.engine
            args, kwargs = engine.dialect.create_connect_args(engine.url)
            self._listen = psycopg.connect(*args, **kwargs, autocommit=True)
            schema = self._listen.execute("SELECT current_schema()").fetchone()[0]
            self._listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(feed_channel(schema))))
        self._version = None  # a fresh connection: read the feed once, whatever it says

    def _top(self) -> int:
        with self.store.read() as session:
            return int(session.execute(select(func.coalesce(func.max(Change.seq), 0))).scalar_one())

    def changed(self) -> bool:
        """Cheap: has anyone committed since the last look?"""
        if self._conn is None and self._listen is None:
            self._connect()
        if self._conn is not None:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._version = version
                return True
            return False
        if self._listen is not None:
            fresh = self._version is None
            self._version = 0
            notified = self._notified or any(True for _ in self._listen.notifies(timeout=0))
            self._notified = False
            return fresh or notified
        return self._top() != self.seq

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds` between polls, and wake as soon as someone commits:
        PostgreSQL's NOTIFY wakes it at once; on SQLite `data_version` (a look at the open
        file's header, microseconds) is asked every WAKE_S. What it saw is left for the
        next `changed`."""
        deadline = time.monotonic() + seconds
        try:
            if self._listen is not None:
                if not self._notified:
                    self._notified = any(True for _ in self._listen.notifies(timeout=seconds, stop_after=1))
                return
            while self._conn is not None and time.monotonic() < deadline:
                if self._conn.execute("PRAGMA data_version").fetchone()[0] != self._version:
                    return
                time.sleep(min(WAKE_S, max(0.0, deadline - time.monotonic())))
        except Exception:  # the next poll reopens the connection and reports
            self.close()
        time.sleep(max(0.0, deadline - time.monotonic()))

    def poll(self, limit: int = 20_000) -> FeedBatch | None:
        """The changes since the last poll, or None when nothing was committed. An error
        closes the connections (the next poll opens them again) and is raised."""
        try:
            if not self.changed():
                return None
            changes = self.store.feed_since(self.seq, limit)
        except Exception:
            self.close()
            raise
        if not changes:
            return None
        if len(changes) >= limit:
            self._version = None  # more are waiting: read on at the next poll, whatever it says
        self.seq = changes[-1].seq
        incidents = frozenset(int(c.entity_id) for c in changes if c.entity == "incident")
        who = {int(c.entity_id): (c.actor, c.action) for c in changes if c.entity == "incident"}
        entities = {c.entity for c in changes}
        return FeedBatch(
            seq=self.seq,
            incidents=incidents,
            probes=bool(entities & {"probe", "spool", "source"}),
            roster=bool(entities & {"roster", "contacts", "systems"}),
            other=frozenset(entities - {"incident", "probe", "spool", "roster", "source"}),
            who=who,
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._listen is not None:
            with contextlib.suppress(Exception):
                self._listen.close()
            self._listen = None
