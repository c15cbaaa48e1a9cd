"""The store: engines for SQLite (embedded default) and PostgreSQL, and the one write
path, `with store.write(actor) as uow:`.

SQLite: every connection runs in WAL with a busy timeout, foreign keys and
`synchronous=NORMAL`; reads begin deferred, writes (and only writes) begin with
`BEGIN IMMEDIATE` so two writers queue on the lock instead of failing mid-transaction.
A lock still held after the timeout is "store busy, retry", never a traceback.
"""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, select, text, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col

from . import audit
from .errors import InvalidInput, StoreUnavailable
from .i18n import _
from .models import AuditEvent, AuditHead, Change, ChangeCounter, OutboxMessage
from .timeutil import Clock, utcnow

BUSY_TIMEOUT_MS = 5000
_WRITE = "opsdeck_write"


def worker_actor() -> str:
    return f"system:worker@{socket.gethostname()}"


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except Exception:
        raise InvalidInput(
            "bad_db_url",
            _("{url!r} is not a database URL").format(url=url),
            _("use a path like sqlite:////var/lib/opsdeck/opsdeck.db or postgresql+psycopg://user@host/dbname"),
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InvalidInput(
            "bad_db_url",
            _("{backend} is not supported").format(backend=parsed.get_backend_name()),
            _("use sqlite:///PATH or postgresql+psycopg://..."),
        )
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_path(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def share_with_group(folder: Path) -> None:
    """A store in a setgid folder (`opsdeck init --system`) is shared by a group: files
    this process creates there (the WAL and its index, spool files) must stay group
    readable and writable, or the next login in the group cannot write. The umask is
    per process: clear its group bits."""
    try:
        shared = bool(folder.stat().st_mode & stat.S_ISGID)
    except OSError:
        return
    if shared:
        mask = os.umask(0)
        os.umask(mask & ~0o070)


def make_engine(url: str | URL) -> Engine:
    parsed = parse_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if path is None:
            raise InvalidInput(
                "memory_db",
                _("an in-memory store cannot be shared or kept"),
                _("give a file path: sqlite:////path/to/opsdeck.db"),
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        share_with_group(path.parent)
        engine = create_engine(
            parsed,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_WRITE):
            _begin_immediate(conn)
        else:
            conn.exec_driver_sql("BEGIN")


def _begin_immediate(conn: Any) -> None:
    """Take the write lock, waiting up to the busy timeout, without being starved.

    SQLite's own busy handler backs off to 100 ms naps, so a waiter looks about fifty
    times in five seconds; a process that writes in a tight loop (the worker catching
    up, a script) can hold the lock at every one of those looks. Polling every few
    milliseconds with jitter finds the gaps between its transactions.
    """
    raw = conn.connection.driver_connection
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    break  # not a lock: the last look below raises it the usual way
            time.sleep(random.uniform(0.0005, 0.004))
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the last look; fails as SQLAlchemy's error
    finally:
        raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _enable_wal(cursor: Any) -> None:
    """WAL is a property of the file: set once, then every connection finds it.

    Switching to WAL takes an exclusive lock and SQLite reports "database is locked" at
    once, without the busy timeout, when another connection is opening the new file at
    the same moment; so retry for as long as the busy timeout would have waited.
    """
    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _busy(error: DBAPIError) -> bool:
    message = str(error.orig).lower()
    return "database is locked" in message or "database is busy" in message


def translate_db_error(error: DBAPIError, url: URL) -> StoreUnavailable | None:
    """The DB errors a user can act on, as messages that name the fix."""
    if _busy(error):
        return StoreUnavailable(
            "store_busy",
            _("store busy: another process held the write lock for over {seconds} s").format(
                seconds=BUSY_TIMEOUT_MS // 1000
            ),
            _("retry; if it persists, look for a stuck opsdeck process holding the store"),
        )
    if isinstance(error, OperationalError) or getattr(error, "connection_invalidated", False):
        orig = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        return StoreUnavailable(
            "store_unavailable",
            _("store unavailable at {url}: {error}").format(url=url.render_as_string(hide_password=True), error=orig),
            _("check that the database is reachable and the URL is right (--db or OPSDECK_DB)"),
        )
    return None


FEED_CHANNEL = "opsdeck_feed"  # NOTIFY on PostgreSQL: this, a dot, the store's schema


@dataclass
class UnitOfWork:
    """One write transaction: the change, its audit event, its feed entries, its outbox.

    Service actions change rows through `session`, then call `record` once. Feed
    entries are numbered from the change counter at the end, so the counter's row lock
    is the last lock a writer takes (no lock-order cycles on PostgreSQL) and feed order
    is commit order.
    """

    session: Session
    actor: str
    now: datetime
    dialect: str
    _changes: list[tuple[str, str, str]] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)

    def record(
        self,
        action: str,
        details: dict[str, Any],
        *,
        incident_id: int | None = None,
        entity: str | None = None,
        entity_id: str | int | None = None,
    ) -> AuditEvent:
        """Append the audit event and a change-feed entry for this write."""
        chain = audit.incident_chain(incident_id) if incident_id is not None else audit.SYSTEM_CHAIN
        event_row = self._append(chain, action, details, incident_id)
        if entity is None:
            entity, entity_id = ("incident", incident_id) if incident_id is not None else ("system", 0)
        self.changed(entity, str(entity_id), action)
        return event_row

    def changed(self, entity: str, entity_id: str | int, action: str) -> None:
        self._changes.append((entity, str(entity_id), action))

    def outbox(
        self,
        *,
        event_name: str,
        recipient_kind: str,
        recipient: str,
        incident_id: int | None,
        payload: dict[str, Any],
        key: str,
    ) -> None:
        self.session.add(
            OutboxMessage(
                created_at=self.now,
                incident_id=incident_id,
                event=event_name,
                recipient_kind=recipient_kind,
                recipient=recipient,
                payload=payload,
                idempotency_key=key,
                state="pending",
                next_attempt_at=self.now,
            )
        )

    def _append(self, chain: str, action: str, details: dict[str, Any], incident_id: int | None) -> AuditEvent:
        self.session.flush()
        head = self._lock_head(chain)
        seq = (head.seq if head else 0) + 1
        prev = head.hash if head else audit.GENESIS
        body = audit.canonical_json(details)
        digest = audit.event_hash(
            chain=chain,
            seq=seq,
            at=self.now,
            actor=self.actor,
            action=action,
            incident_id=incident_id,
            details=body,
            prev_hash=prev,
        )
        row = AuditEvent(
            chain=chain,
            incident_id=incident_id,
            seq=seq,
            at=self.now,
            actor=self.actor,
            action=action,
            details=body,
            prev_hash=prev,
            hash=digest,
        )
        self.session.add(row)
        if head is None:
            self.session.add(AuditHead(chain=chain, seq=seq, hash=digest))
        else:
            head.seq, head.hash = seq, digest
        self.session.flush()
        self.events.append(row)
        return row

    def _lock_head(self, chain: str) -> AuditHead | None:
        query = select(AuditHead).where(col(AuditHead.chain) == chain)
        if self.dialect == "postgresql":
            # Two writers on one chain must not both extend the same head.
            self.session.execute(
                text("INSERT INTO audit_heads (chain, seq, hash) VALUES (:c, 0, :h) ON CONFLICT (chain) DO NOTHING"),
                {"c": chain, "h": audit.GENESIS},
            )
            # A new chain's head starts at seq 0 with the genesis hash.
            return self.session.scalars(query.with_for_update()).one()
        return self.session.scalars(query).one_or_none()

    def _finish(self) -> None:
        if not self._changes:
            return
        self.session.flush()
        top = self.session.execute(
            update(ChangeCounter)
            .where(col(ChangeCounter.id) == 1)
            .values(seq=col(ChangeCounter.seq) + len(self._changes))
            .returning(col(ChangeCounter.seq))
        ).scalar_one()
        first = top - len(self._changes) + 1
        self.session.execute(
            insert(Change),
            [
                {"seq": first + i, "at": self.now, "entity": e, "entity_id": eid, "action": a, "actor": self.actor}
                for i, (e, eid, a) in enumerate(self._changes)
            ],
        )
        if self.dialect == "postgresql":  # delivered at commit, to the watchers of this store's schema
            self.session.execute(
                text("SELECT pg_notify(:channel || '.' || current_schema(), :top)"),
                {"channel": FEED_CHANNEL, "top": str(top)},
            )


class Store:
    """An opened, schema-checked store. Build with `open_store` (backend.schema)."""

    def __init__(self, engine: Engine, url: URL, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.url = url
        self.clock = clock
        self.dialect = engine.dialect.name
        self._write_engine = engine.execution_options(**{_WRITE: True})

    @property
    def path(self) -> Path | None:
        return sqlite_path(self.url)

    def describe(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A short read transaction; objects stay usable after it ends."""
        try:
            # Closing (not rolling back) ends the transaction without expiring what was
            # read, so callers keep using the rows afterwards.
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except DBAPIError as error:
            raise translate_db_error(error, self.url) or error from error

    @contextmanager
    def write(self, actor: str) -> Iterator[UnitOfWork]:
        """The only way to change anything: one transaction, audited, in the feed."""
        try:
            with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
                uow = UnitOfWork(session=session, actor=actor, now=self.clock(), dialect=self.dialect)
                yield uow
                uow._finish()
        except DBAPIError as error:
            raise translate_db_error(error, self.url) or error from error

    def feed_since(self, seq: int, limit: int = 10_000) -> list[Change]:
        with self.read() as session:
            return list(
                session.execute(
                    select(Change).where(col(Change.seq) > seq).order_by(col(Change.seq)).limit(limit)
                ).scalars()
            )

    def dispose(self) -> None:
        self.engine.dispose()


def null_pool_engine(url: URL) -> Engine:
    """A throwaway engine for one-off admin work (backups, schema checks)."""
    return create_engine(url, poolclass=NullPool)
