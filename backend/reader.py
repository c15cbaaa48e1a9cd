"""A store opened for reading on SQLAlchemy Core: no ORM, no pydantic, no models.

A command that only reads plain rows (`opsdeck incident list`) opens the store here and
starts in about half the time: importing SQLModel and the models was most of its start
(issue #26). `open_reader` checks the schema's revision itself; a store that is not at
this program's head (to create, upgrade or refuse) goes through `schema.open_store`,
whose `Store` is a `Reader` too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from .engines import disposed_on_error, make_engine, parse_url, sqlite_path, translate_db_error
from .timeutil import Clock, utcnow

# The newest migration. Every command checks the store against it, so it is a constant
# rather than a walk of the migration scripts (Alembic costs ~0.2 s to import and
# parse); tests/store/test_store.py (test_schema_head_constant_matches_the_migrations)
# proves it equals Alembic's head.
SCHEMA_HEAD = "0033"


class Upgrading:
    """What opening an older SQLite store tells its caller, who may show it (the CLI does,
    on stderr). Backup and upgrade each read and write the whole file: minutes on a big
    store, while other opsdeck processes on it wait. This base class says nothing."""

    def starting(self, current: str, head: str, backup: Path) -> None:
        """Before anything: the store is at `current`, this program needs `head`, the
        store is copied to `backup` first."""

    def progress(self, stage: str, done: int, total: int) -> None:
        """`stage` "backup" counts the copy's pages; "upgrade" counts its steps (each
        migration, then each re-derivation of the rows an old schema lacked)."""

    def finished(self, backup: Path) -> None:
        """The upgrade is in; the store as it was is `backup`."""


class Reader:
    """An opened store at this program's schema, read through Core connections."""

    def __init__(self, engine: Engine, url: URL, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.url = url
        self.clock = clock
        self.dialect = engine.dialect.name

    @property
    def path(self) -> Path | None:
        return sqlite_path(self.url)

    def describe(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A short read transaction on a Core connection."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except DBAPIError as error:
            raise translate_db_error(error, self.url) or error from error

    def dispose(self) -> None:
        self.engine.dispose()


def revision(conn: Connection) -> str | None:
    """The store's schema revision (Alembic's), None for a store without one."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def open_reader(
    url: str | URL,
    *,
    create: bool = True,
    upgrading: Upgrading | None = None,
) -> Reader:
    """Open `url` for reading. A store at `SCHEMA_HEAD` opens here, on Core alone; any
    other (missing, older, newer) is left to `schema.open_store`, which creates, upgrades
    or refuses it as its rules say and hands back its `Store`."""
    parsed = parse_url(url) if isinstance(url, str) else url
    engine = make_engine(parsed, create=create)
    with disposed_on_error(engine, parsed), engine.connect() as conn:
        current = revision(conn)
    if current == SCHEMA_HEAD:
        return Reader(engine, parsed)
    engine.dispose()
    from .schema import open_store  # creates, upgrades or refuses: the ORM and Alembic's rules

    return open_store(parsed, create=create, upgrading=upgrading)
