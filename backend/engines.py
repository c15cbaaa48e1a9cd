"""Engines for the two stores: SQLite (the embedded default) and PostgreSQL, each set up
on every connection, and the database errors a user can act on, in their words.

SQLite: every connection runs in WAL with a busy timeout, foreign keys and
`synchronous=NORMAL`; reads begin deferred, writes (and only writes) begin with
`BEGIN IMMEDIATE` so two writers queue on the lock instead of failing mid-transaction.
A lock still held after the timeout is "store busy, retry", never a traceback.
PostgreSQL: a session left idle inside a write transaction is ended by the server.
"""

from __future__ import annotations

import os
import random
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from .errors import DomainError, InvalidInput, NotFound, OpsdeckError, StoreUnavailable
from .i18n import _
from .sanitize import clean, literal

BUSY_TIMEOUT_MS = 5000
WRITE_OPTION = "opsdeck_write"  # an engine's execution option: its transactions write (SQLite: BEGIN IMMEDIATE)
# PostgreSQL: a session idle this long inside a *write* transaction is presumed hung (the
# process stopped, its host cut off): the server ends the session and its locks go with it,
# so a hung writer cannot hold every other writer. Below the leases' TTL (10 s), so a
# standby's takeover bound holds even when its holder stopped inside a transaction. Reads
# are not held to it: a long export piped into a pager may sit idle in its snapshot.
HUNG_WRITER_S = 5


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


def make_engine(url: str | URL, *, create: bool = True) -> Engine:
    """An engine for `url`. With `create` False (a command that only reads) a SQLite file
    that is not there is an error, not a new empty store."""
    parsed = parse_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if path is None:
            raise InvalidInput(
                "memory_db",
                _("an in-memory store cannot be shared or kept"),
                _("give a file path: sqlite:////path/to/opsdeck.db"),
            )
        if not create and not path.exists():
            raise NotFound(
                "no_store",
                _("there is no store at {path}").format(path=literal(str(path))),
                _(
                    "check --db or OPSDECK_DB for a typo; a command that writes (e.g. opsdeck roster import) creates one"
                ),
            )
        if path.exists() and not path.is_file():
            raise InvalidInput(
                "store_not_file",
                _("{path} is not a file: it cannot be a store").format(path=path),
                _("point --db or OPSDECK_DB at the store file (e.g. sqlite:////var/lib/opsdeck/opsdeck.db)"),
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # a regular file where a folder should be, no permission, ...
            raise InvalidInput(
                "store_folder",
                _("cannot make the folder {folder} for the store: {error}").format(
                    folder=path.parent, error=error.strerror
                ),
                _("check --db or OPSDECK_DB: every part of the path before the file must be a folder you may write"),
            ) from None
        share_with_group(path.parent)
        engine = create_engine(
            parsed,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    return pg_engine(parsed)


def pg_engine(url: URL, **pool: Any) -> Engine:
    """A PostgreSQL engine (each write transaction sets its own hung-writer timeout:
    `Store._transaction_time`)."""
    return create_engine(url, pool_pre_ping=True, **(pool or {"pool_size": 5, "max_overflow": 5}))


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
        if conn.get_execution_options().get(WRITE_OPTION):
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


@contextmanager
def disposed_on_error(engine: Engine, url: URL) -> Iterator[None]:
    """Opening a store on `engine`: should it fail, the engine is disposed (no pool left
    behind) and a database error is raised in words a user can act on."""
    try:
        yield
    except DBAPIError as error:
        engine.dispose()
        raise translate_db_error(error, url) or error from error
    except BaseException:
        engine.dispose()
        raise


def translate_db_error(error: DBAPIError, url: URL) -> OpsdeckError | None:
    """The DB errors a user can act on, as messages that name the fix."""
    refused = _server_refused(error)
    if refused is not None:
        return refused
    if _busy(error):
        return StoreUnavailable(
            "store_busy",
            _("store busy: another process held the write lock for over {seconds} s").format(
                seconds=BUSY_TIMEOUT_MS // 1000
            ),
            _("retry; if it persists, look for a stuck opsdeck process holding the store"),
        )
    message = str(error.orig).lower() if error.orig else ""
    where = url.render_as_string(hide_password=True)
    if getattr(error.orig, "sqlstate", None) == "25P03" or "idle-in-transaction timeout" in message:
        return StoreUnavailable(
            "store_hung_writer",
            _(
                "{store}: this process sat inside a write for over {seconds} s (stopped or cut off), "
                "so the server ended its session; nothing of that write was kept"
            ).format(store=where, seconds=HUNG_WRITER_S),
            _("retry the command; if the process had been stopped (Ctrl-Z), resume it sooner"),
        )
    if "file is not a database" in message or "malformed" in message:
        return StoreUnavailable(
            "store_damaged",
            _("{store}: not an opsdeck store, or damaged ({error})").format(store=where, error=message),
            _(
                "point --db at the right file; if it is the store, restore the newest backup "
                "(opsdeck db backup makes them; an upgrade leaves STORE.bak-*) over it"
            ),
        )
    if "readonly database" in message or "read-only" in message:
        return StoreUnavailable(
            "store_read_only",
            _("{store}: this login may read the store but not write it").format(store=where),
            _("check the file's and its folder's owner, group and mode (ls -l), or use --read-only"),
        )
    if "disk is full" in message or "no space left" in message or _disk_full(message, url):
        return StoreUnavailable(
            "store_disk_full",
            _("{store}: the disk (or quota) holding the store is full").format(store=where),
            _("free space on that disk, then retry: nothing was written"),
        )
    if isinstance(error, OperationalError) or getattr(error, "connection_invalidated", False):
        orig = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        return StoreUnavailable(
            "store_unavailable",
            _("store unavailable at {url}: {error}").format(url=url.render_as_string(hide_password=True), error=orig),
            _("check that the database is reachable and the URL is right (--db or OPSDECK_DB)"),
        )
    return None


def _server_refused(error: DBAPIError) -> DomainError | None:
    """PostgreSQL said no (SQLSTATE 42501): a check of a store whose database roles are on
    (docs/postgres-roles.md), or a privilege this database role lacks."""
    if getattr(error.orig, "sqlstate", None) != "42501":
        return None
    diag = getattr(error.orig, "diag", None)
    primary = clean(str(getattr(diag, "message_primary", None) or error.orig))
    hint = getattr(diag, "message_hint", None)
    if primary.startswith("opsdeck: "):
        return DomainError(
            "server_refused", _("the database refused: {what}").format(what=primary[9:]), clean(hint or "")
        )
    return DomainError(
        "server_refused",
        _("the database refused: {what}").format(what=primary),
        _("your database role may not do this here; see `opsdeck db check` and docs/postgres-roles.md"),
    )


def _disk_full(message: str, url: URL) -> bool:
    """SQLite reports a write that found no space as "disk I/O error" when it came from
    the WAL or its shared memory: look at the disk itself."""
    if "disk i/o error" not in message or url.get_backend_name() != "sqlite":
        return False
    path = sqlite_path(url)
    try:
        info = os.statvfs(path.parent) if path is not None else None
    except OSError:
        return False
    return info is not None and info.f_bavail * info.f_frsize < 64 * 1024


def null_pool_engine(url: URL) -> Engine:
    """A throwaway engine for one-off admin work (backups, schema checks)."""
    return create_engine(url, poolclass=NullPool)
