"""The store and its one write path, `with store.write(actor) as uow:` (the engines it
runs on, SQLite or PostgreSQL, are set up in `engines.py`)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel, col

from . import audit
from .bulk import Bulk, driver_sql
from .engines import HUNG_WRITER_S, WRITE_OPTION, translate_db_error
from .models import (
    AuditEvent,
    AuditHead,
    Change,
    ChangeCounter,
    Incident,
    IncidentDeadline,
    OutboxMessage,
    table_of,
)
from .orm_rows import (
    CLOCK_KEY,
    CORE_FLUSHED,
    as_inserted,
    as_stored,
    changed_columns,
    flush_order,
    insert_of,
    update_of,
    values_of,
)
from .reader import Reader
from .timeutil import Clock, utcnow

if TYPE_CHECKING:
    from . import memo

# PostgreSQL: every write transaction first takes the advisory lock (WRITE_LOCK_KEY, the
# hash of the store's schema): one store's writers queue, stores in other schemas of the
# same database do not wait on them.
WRITE_LOCK_KEY = 727615


def worker_actor() -> str:
    return f"system:worker@{socket.gethostname()}"


def receiver_actor() -> str:
    """Who stores what the alert receiver takes in (`opsdeck receive`, or the worker's
    receiver): a system actor of its own, built here only."""
    return f"system:receiver@{socket.gethostname()}"


_FENCE = threading.local()


def set_fence(check: Callable[[UnitOfWork], None] | None) -> None:
    """Run `check` in every write transaction of this thread, just before it commits
    (None: stop). A check that raises rolls the transaction back."""
    _FENCE.check = check


_KEPT = "opsdeck.kept"  # on a SQLite connection's info: what it keeps between its writes


@dataclass
class _Kept:
    version: int  # PRAGMA data_version when kept: it moves when another connection commits
    answers: memo.Shared = field(default_factory=dict)
    newest: datetime | None = None  # the newest audit event's time, once read (None: not read, or none)


@dataclass(frozen=True, slots=True)
class Appended:
    """An audit event this write appended: where it sits in its chain."""

    chain: str
    seq: int
    hash: str


# The write path's statements go to the driver through backend/bulk.py, each compiled once
# by SQLAlchemy with its columns' own bind processors: an action's eight to ten
# statements through SQLAlchemy's execute cost more Python than all the rest of it.
_EVENTS, _HEADS = table_of(AuditEvent), table_of(AuditHead)
_EVENT_COLUMNS = ("chain", "incident_id", "seq", "at", "actor", "action", "details", "prev_hash", "hash")
_INSERT_EVENTS = Bulk(insert(_EVENTS), _EVENT_COLUMNS)
_READ_HEADS = select(_HEADS.c.chain, _HEADS.c.seq, _HEADS.c.hash)
# SQLite only (PostgreSQL locks the head: _LOCK_HEAD): a plain read, its values plain text and numbers.
_READ_HEAD_SQLITE = "SELECT seq, hash FROM audit_heads WHERE chain = ?"
_LOCK_HEAD = _READ_HEADS.where(_HEADS.c.chain == bindparam("c")).with_for_update()
_START_HEAD = text("INSERT INTO audit_heads (chain, seq, hash) VALUES (:c, 0, :h) ON CONFLICT (chain) DO NOTHING")
_INSERT_HEADS = Bulk(insert(_HEADS), ("chain", "seq", "hash"))
_MOVE_HEADS = Bulk(
    update(_HEADS).where(_HEADS.c.chain == bindparam("c")).values(seq=bindparam("s"), hash=bindparam("h")),
    ("s", "h", "c"),
)
# The feed and the outbox, written at the end: plain tables no one in the write reads back.
_COUNTER = table_of(ChangeCounter)
_COUNT_CHANGES = Bulk(
    update(_COUNTER)
    .where(_COUNTER.c.id == bindparam("counter"))
    .values(seq=_COUNTER.c.seq + bindparam("n"))
    .returning(_COUNTER.c.seq),
    ("n", "counter"),
)
_INSERT_CHANGES = Bulk(
    insert(table_of(Change)), ("seq", "at", "entity", "entity_id", "action", "actor"), repeating=("at",)
)
_OUTBOX_COLUMNS = (
    "created_at", "incident_id", "event", "recipient_kind", "recipient", "channel", "payload", "idempotency_key",
    "state", "attempts", "next_attempt_at", "last_error", "lease_owner", "lease_until", "sent_at",
)  # fmt: skip
# Each recipient's row of one message holds its one payload: encoded once (`shared`).
_INSERT_OUTBOX = Bulk(
    insert(table_of(OutboxMessage)), _OUTBOX_COLUMNS, repeating=("created_at", "next_attempt_at"), shared=("payload",)
)


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
    by: str | None = None
    # Each incident an event vouched for, held (the session keeps only objects someone
    # holds), with the state the event said it was left in.
    _vouched: dict[int, tuple[Incident | None, dict[str, Any]]] = field(default_factory=dict)
    _heads: dict[str, tuple[int, str] | None] = field(default_factory=dict)  # each chain's head (seq, hash), read once
    _moved: dict[str, tuple[int, str]] = field(default_factory=dict)  # where this write moves each head, at its end
    _changes: list[tuple[str, str, str]] = field(default_factory=list)
    _outbox: list[tuple[Any, ...]] = field(default_factory=list)  # written in one statement at the end
    _deferred: list[tuple[Any, ...]] | None = None  # audit events held for the end (`defer_events`)
    events: list[Appended] = field(default_factory=list)
    _connection: Connection | None = field(default=None, repr=False)

    @property
    def connection(self) -> Connection:
        """The write's connection, the same for the whole transaction (a savepoint's too):
        asked of the session once, since each `session.connection()` walks the session's
        transaction state (seven times an ack, about 7 % of it)."""
        found = self._connection
        if found is None:
            found = self._connection = self.session.connection()
        return found

    def defer_events(self) -> None:
        """Insert this write's audit events together at its end, in one statement, not each
        as it is recorded: for a write that records many and reads none back (the
        escalation sweep: a statement an event was a tenth of an escalation; the ingest's
        and the alert receiver's writes, which open, update and resolve incidents by the
        hundred in a storm). SQLite only:
        on PostgreSQL each event goes in before its head moves (`_append`)."""
        if self.dialect != "postgresql":
            self._deferred = []

    def record(
        self,
        action: str,
        details: dict[str, Any],
        *,
        incident_id: int | None = None,
        entity: str | None = None,
        entity_id: str | int | None = None,
        chain: str | None = None,
    ) -> Appended:
        """Append the audit event and a change-feed entry for this write (on `chain`, else
        the incident's chain or the system chain)."""
        if chain is None:
            chain = audit.incident_chain(incident_id) if incident_id is not None else audit.SYSTEM_CHAIN
        if incident_id is not None:  # the incident as this event leaves it (backend/vouch.py)
            details = {**details, "row": self._incident_row(incident_id)}
        event_row = self._append(chain, action, details, incident_id)
        if entity is None:
            entity, entity_id = ("incident", incident_id) if incident_id is not None else ("system", 0)
        self.changed(entity, str(entity_id), action)
        return event_row

    def _incident_row(self, incident_id: int) -> dict[str, Any]:
        from . import vouch

        # The object is the truth, flushed or not; the store only if no one holds it.
        incident = self.session.get(Incident, incident_id)
        state = vouch.incident_state(incident) if incident is not None else {}
        self._vouched[incident_id] = (incident, state)
        if incident is None:
            return state
        # The version too: a stale write names what changed since the version it saw (backend/stale.py).
        return {**state, "version": incident.version}

    def _vouch_again(self) -> None:
        """An incident changed after its event was recorded in this transaction: one more
        event carries the state it is left in, so the trail still vouches for the row."""
        from . import vouch

        for incident_id, (incident, said) in list(self._vouched.items()):
            if incident is not None and vouch.incident_state(incident) != said:
                self.record("state", {}, incident_id=incident_id)

    def insert(self, row: SQLModel) -> None:
        """Insert a new row now through Core and keep it in the session as the ORM's flush
        would have left it (persistent, nothing pending, its id set): that flush costs
        several times the statement. SQLModel sets every field when a row is built, so
        the INSERT names every mapped column, as the flush's does."""
        found = insert_of(type(row))
        new_id = found.statement.one(self.connection, values_of(row, found.attributes)).scalar_one()
        as_inserted(self.session, [row], [new_id])

    def _insert_clock_rows(self, rows: list[IncidentDeadline]) -> None:
        """`insert` for many clock rows in one statement (a multi-row INSERT, as
        SQLAlchemy batches an executemany, in the order given, so the ids are the ones the
        flush's row-by-row INSERTs gave). The ids come back by each row's unique key (incident,
        rule, clock), whatever order the database returns them in."""
        found = insert_of(IncidentDeadline, CLOCK_KEY)
        returned = found.statement.returning(self.connection, [values_of(row, found.attributes) for row in rows])
        ids = {(incident_id, rule, clock_key): new_id for new_id, incident_id, rule, clock_key in returned}
        as_inserted(self.session, rows, [ids[(row.incident_id, row.rule, row.clock_key)] for row in rows])

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
        now = self.now  # in _OUTBOX_COLUMNS order: a message pending from now, never tried
        self._outbox.append(
            (now, incident_id, event_name, recipient_kind, recipient, None, payload, key,
             "pending", 0, now, None, None, None, None)
        )  # fmt: skip

    def _append(self, chain: str, action: str, details: dict[str, Any], incident_id: int | None) -> Appended:
        seq, prev = self._head(chain) or (0, audit.GENESIS)
        seq += 1
        if self.by is not None:
            details = {**details, "by": self.by}
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
        # A Core insert, not an ORM object: nothing in a write reads its events back as
        # objects, and the ORM's bookkeeping was most of an event's cost. The event goes in
        # now, before its head moves (at the end): on a PostgreSQL store whose database
        # roles are on, the server moves the head itself and lets it name only an existing
        # event (backend/pg_chain.py); there the rows it tells of go in first, as they did
        # when the event was an ORM object flushed with them (the server's checks on those
        # rows speak first).
        if self.dialect == "postgresql":
            self.flush()
        values = (chain, incident_id, seq, self.now, self.actor, action, body, prev, digest)  # _EVENT_COLUMNS
        if self._deferred is not None:
            self._deferred.append(values)
        else:
            _INSERT_EVENTS.one(self.connection, values)
        self._moved[chain] = (seq, digest)
        appended = Appended(chain, seq, digest)
        self.events.append(appended)
        return appended

    def prefetch_heads(self, chains: list[str]) -> None:
        """Read many chains' heads in one query (SQLite: there the read needs no lock;
        PostgreSQL locks each head when its chain is first written)."""
        if self.dialect == "postgresql":
            return
        wanted = [c for c in chains if c not in self._heads]
        found = self.connection.execute(_READ_HEADS.where(_HEADS.c.chain.in_(wanted)))
        self._heads.update(dict.fromkeys(wanted))
        self._heads.update({chain: (seq, digest) for chain, seq, digest in found})

    def new_chain(self, chain: str) -> None:
        """A chain that starts in this write (a new incident's): it has no head to read.
        (PostgreSQL still locks one: there the head is where writers of a chain queue.)"""
        if self.dialect != "postgresql":
            self._heads[chain] = None

    def _head(self, chain: str) -> tuple[int, str] | None:
        """The chain's head (seq, hash): moved by this transaction, else read (and on
        PostgreSQL locked) once per transaction."""
        moved = self._moved.get(chain)
        if moved is not None:
            return moved
        if chain not in self._heads:
            self._heads[chain] = self._lock_head(chain)
        return self._heads[chain]

    def _lock_head(self, chain: str) -> tuple[int, str] | None:
        connection = self.connection
        if self.dialect == "postgresql":
            # Two writers on one chain must not both extend the same head.
            connection.execute(_START_HEAD, {"c": chain, "h": audit.GENESIS})
            # A new chain's head starts at seq 0 with the genesis hash.
            _chain, seq, digest = connection.execute(_LOCK_HEAD, {"c": chain}).one()
            return seq, digest
        found = driver_sql(connection, _READ_HEAD_SQLITE, (chain,)).rows
        return (found[0][0], found[0][1]) if found else None

    def _move_heads(self) -> None:
        """Each chain's head to its newest event, after the events went in: one statement
        for the chains that had a head, one for those that start here (SQLite only: on
        PostgreSQL every head exists once locked)."""
        heads = self._heads
        started = [(c, s, h) for c, (s, h) in self._moved.items() if heads.get(c) is None]
        moved = [(s, h, c) for c, (s, h) in self._moved.items() if heads.get(c) is not None]
        connection = self.connection
        if self._deferred:  # the events first, in the order recorded, as they would have gone in
            _INSERT_EVENTS.execute(connection, self._deferred)
            self._deferred.clear()
        for statement, rows in ((_INSERT_HEADS, started), (_MOVE_HEADS, moved)):
            if len(rows) == 1:
                statement.one(connection, rows[0])
            else:
                statement.execute(connection, rows)
        self._heads.update(self._moved)
        self._moved.clear()

    def flush(self) -> None:
        """Write what the session holds, as `session.flush()` would. The rows every action
        changes (incidents updated, clock rows updated or added) go through Core statements
        in the order the flush would send them (incidents by id, then clocks: updates by
        id, inserts in the order added), and each is left as the flush leaves it: the
        ORM's flush of an ack's incident UPDATE and clock INSERT was a fifth of the ack.
        Anything else to write, and the ORM flushes it all, so its order still holds."""
        session = self.session
        if session.deleted or any(type(row) not in CORE_FLUSHED for row in (*session.dirty, *session.new)):
            session.flush()
            return
        connection = self.connection
        # Consecutive rows with the same columns changed go in one executemany, as the
        # flush sends them (the escalation sweep's clock rows).
        batches: list[tuple[Bulk, list[tuple[Any, ...]]]] = []
        for row in sorted(session.dirty, key=flush_order):
            changed = changed_columns(row)
            if changed:
                columns = tuple(sorted(changed))
                statement = update_of(type(row), columns)
                values = (*[changed[c] for c in columns], row.id)
                if batches and batches[-1][0] is statement:
                    batches[-1][1].append(values)
                else:
                    batches.append((statement, [values]))
            as_stored(session, row)
        for statement, rows in batches:
            if len(rows) == 1:
                statement.one(connection, rows[0])
            else:
                statement.execute(connection, rows)
        new = sorted(session.new, key=lambda r: sa_inspect(r).insert_order)
        if new:
            self._insert_clock_rows(new)

    def _finish(self) -> None:
        self._vouch_again()
        self.flush()
        self._move_heads()
        connection = self.connection
        if self._outbox:  # nothing in a write reads its own outbox rows back
            _INSERT_OUTBOX.execute(connection, self._outbox)
            self._outbox.clear()
        if not self._changes:
            return
        top = _COUNT_CHANGES.one(connection, (len(self._changes), 1)).scalar_one()
        first = top - len(self._changes) + 1
        now, actor = self.now, self.actor
        _INSERT_CHANGES.execute(  # bound by the driver (backend/bulk.py): a probe storm writes thousands
            connection, [(first + i, now, e, eid, a, actor) for i, (e, eid, a) in enumerate(self._changes)]
        )
        if self.dialect == "postgresql":  # delivered at commit, to the watchers of this store's schema
            self.session.execute(
                text("SELECT pg_notify(:channel || '.' || current_schema(), :top)"),
                {"channel": FEED_CHANNEL, "top": str(top)},
            )


class Store(Reader):
    """An opened, schema-checked store that also reads through the ORM and writes. Build
    with `open_store` (backend.schema), or `over` a `Reader` already open."""

    def __init__(self, engine: Engine, url: URL, clock: Clock = utcnow) -> None:
        super().__init__(engine, url, clock)
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})

    @classmethod
    def over(cls, reader: Reader) -> Store:
        """The store `reader` opened: its engine, now for the ORM and writes too. A
        reader opens only a store at this program's schema, so nothing is checked again."""
        if isinstance(reader, Store):
            return reader
        return cls(reader.engine, reader.url, reader.clock)

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
    def write(self, actor: str, *, by: str | None = None) -> Iterator[UnitOfWork]:
        """The only way to change anything: one transaction, audited, in the feed.
        `by`: who used `--as` to act as `actor`, named in the events (and their hashes)."""
        from .memo import WriteSession  # loads every table's model (it watches some): writes only (CLI start)

        try:
            with WriteSession(self._writer(actor), expire_on_commit=False) as session, session.begin():
                kept = self._kept(session)
                now = self._transaction_time(session, kept)
                uow = UnitOfWork(session=session, actor=actor, now=now, dialect=self.dialect, by=by)
                yield uow
                fence = getattr(_FENCE, "check", None)
                if fence is not None:  # a worker duty: is its lease still ours? (backend/leases.py)
                    fence(uow)
                uow._finish()
            if kept is not None and uow.events:  # committed: the newest event is now this write's
                kept.newest = max(kept.newest, now) if kept.newest is not None else now
        except DBAPIError as error:
            raise translate_db_error(error, self.url) or error from error

    def _writer(self, actor: str) -> Engine:
        """The engine `actor`'s writes run on: this store's. (A subclass may connect each
        actor as a database role of its own: tests/pg_roles_mode.py.)"""
        return self._write_engine

    def _kept(self, session: Session) -> _Kept | None:
        """SQLite: what this connection keeps between its write transactions, for as long
        as no other connection commits: the answers a transaction reads once (the policy,
        the routes, the schedule, the roster's logins: backend/memo.py) and the newest
        audit event's time. Read with the write lock held (`BEGIN IMMEDIATE`, which this
        first statement takes), so `PRAGMA data_version` cannot move before this ends."""
        if self.dialect != "sqlite":
            return None
        connection = session.connection()
        version = driver_sql(connection, "PRAGMA data_version").scalar_one()
        kept: _Kept | None = connection.info.get(_KEPT)
        if kept is None or kept.version != version:
            kept = connection.info[_KEPT] = _Kept(version)
        from . import memo

        memo.share(session, kept.answers)
        return kept

    def _transaction_time(self, session: Session, kept: _Kept | None = None) -> datetime:
        """The one time of this write, for its facts, its clocks and its events alike.

        Read once no other write can commit before this one (SQLite: `BEGIN IMMEDIATE`
        holds the write lock; PostgreSQL: every write first takes one transaction-level
        advisory lock), and never earlier than the newest audit event: so times never go
        back within a chain, whatever each host's clock says. On PostgreSQL the clock is
        the server's `clock_timestamp()` (not `now()`, the transaction's start), so hosts
        a few seconds apart agree. A clock injected into the store (tests) replaces it.
        """
        if self.dialect == "postgresql":
            # The write lock, and the server ends this transaction if it then sits idle (hung).
            session.execute(
                text(
                    "SELECT set_config('idle_in_transaction_session_timeout', :idle, true), "
                    "pg_advisory_xact_lock(:k, hashtext(current_schema()))"
                ),
                {"idle": str(HUNG_WRITER_S * 1000), "k": WRITE_LOCK_KEY},
            )
        if self.dialect == "postgresql" and self.clock is utcnow:
            clock: datetime = session.execute(text("SELECT clock_timestamp()")).scalar_one().astimezone(UTC)
        else:
            clock = self.clock()
        if kept is not None and kept.newest is not None:
            newest: datetime | None = kept.newest
        else:
            newest = session.execute(select(func.max(col(AuditEvent.at)))).scalar_one_or_none()
            if kept is not None:
                kept.newest = newest
        return max(clock, newest) if newest is not None else clock

    def feed_since(self, seq: int, limit: int = 10_000) -> list[Change]:
        with self.read() as session:
            return list(
                session.execute(
                    select(Change).where(col(Change.seq) > seq).order_by(col(Change.seq)).limit(limit)
                ).scalars()
            )
