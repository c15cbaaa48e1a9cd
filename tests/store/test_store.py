"""The store itself: SQLite settings on every connection, writes that begin IMMEDIATE,
busy handling, UTC times on both dialects, schema creation, versioning and backup."""

from __future__ import annotations

import json
import os
import pty
import re
import sqlite3
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, select, text

from opsdeck.backend import pg_triggers, schema
from opsdeck.backend.errors import ErrorKind, InvalidInput, StoreUnavailable
from opsdeck.backend.models import Incident, PolicyVersion
from opsdeck.backend.reader import Upgrading
from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..cli_process import OPSDECK
from ..conftest import T0, FakeClock, demo_fixture


def test_a_missing_sqlite_file_and_folder_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "opsdeck.db"
    store = open_store(f"sqlite:///{path}")
    assert path.exists()
    with store.read() as session:
        [policy] = session.execute(select(PolicyVersion)).scalars().all()
    assert policy.version == 1 and "network_attack" in policy.document["playbooks"]
    store.dispose()


def test_every_sqlite_connection_has_wal_busy_timeout_foreign_keys_normal_sync(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with store.engine.connect() as conn:
        settings = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        }
    assert settings == {"journal_mode": "wal", "busy_timeout": 5000, "foreign_keys": 1, "synchronous": 1}
    store.dispose()


def test_writes_and_only_writes_begin_immediate(sqlite_url: str) -> None:
    """Trace every statement SQLite runs: each transaction that writes began IMMEDIATE,
    and reads began deferred."""
    store = open_store(sqlite_url)
    statements: list[str] = []

    @event.listens_for(store.engine, "connect")
    def trace(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.set_trace_callback(statements.append)

    store.engine.dispose()  # new connections get the trace
    Service(store, "system:opsdeck").import_records("roster", _roster(Path(sqlite_url[10:]).parent))
    incident = Service(store, "lead").open("traced")
    Service(store, "lead").note(incident.id, "hello")
    with store.read() as session:
        session.execute(select(Incident)).all()

    transactions: list[list[str]] = []
    for statement in statements:
        head = statement.strip().split()[0].upper()
        if head == "BEGIN":
            transactions.append([statement])
        elif transactions:
            transactions[-1].append(statement)
    writing = [t for t in transactions if any(s.split()[0].upper() in ("INSERT", "UPDATE", "DELETE") for s in t)]
    reading = [t for t in transactions if t not in writing]
    assert len(writing) >= 3 and reading
    assert all(t[0].strip().upper() == "BEGIN IMMEDIATE" for t in writing), [t[0] for t in writing]
    assert all(t[0].strip().upper() == "BEGIN" for t in reading)
    store.dispose()


def _roster(folder: Path) -> Path:
    path = folder / "roster.toml"
    path.write_text('[[member]]\nlogin = "lead"\nname = "Lead"\npermission = "lead"\n')
    return path


def test_a_held_write_lock_is_store_busy_not_a_traceback(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("opsdeck.backend.engines.BUSY_TIMEOUT_MS", 200)
    store = open_store(sqlite_url)
    Service(store, "system:opsdeck").import_records("roster", _roster(Path(sqlite_url[10:]).parent))
    blocker = sqlite3.connect(sqlite_url[10:], isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        store.engine.dispose()
        with pytest.raises(StoreUnavailable) as error:
            Service(store, "lead").open("blocked")
        assert error.value.kind is ErrorKind.UNAVAILABLE
        assert "store busy" in str(error.value) and "retry" in str(error.value)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert Service(store, "lead").open("after the lock").id == 1
    store.dispose()


def test_times_are_aware_utc_on_the_way_out_and_naive_is_refused(store: Store) -> None:
    Service(store, "system:opsdeck").import_records("roster", _roster_tmp(store))
    shanghai = timezone(timedelta(hours=8))
    incident = Service(store, "lead").open("tz", outage_start=datetime(2026, 11, 28, 10, 30, tzinfo=shanghai))
    with store.read() as session:
        row = session.get(Incident, incident.id)
    assert row.outage_started_at == datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
    assert row.outage_started_at.tzinfo is not None and row.outage_started_at.utcoffset() == timedelta(0)
    assert row.reported_at == T0
    with pytest.raises(Exception, match="naive datetime refused"), store.write("lead") as uow:
        uow.session.get(Incident, incident.id).resolved_at = datetime(2026, 1, 1)  # type: ignore[union-attr]
        uow.session.flush()


def _roster_tmp(store: Store) -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    return _roster(folder)


def test_sql_time_comparisons_follow_utc_order(store: Store, clock: FakeClock) -> None:
    """`reported_at >= since` must compare instants, whatever offset the caller used."""
    Service(store, "system:opsdeck").import_records("roster", _roster_tmp(store))
    Service(store, "lead").open("early")  # 03:00Z
    clock.advance(hours=2)
    late = Service(store, "lead").open("late")  # 05:00Z
    plus8 = timezone(timedelta(hours=8))

    def since(value: datetime) -> list[int]:
        with store.read() as session:
            return list(session.execute(select(Incident.id).where(Incident.reported_at >= value)).scalars())

    assert since(datetime(2026, 11, 28, 13, 0, tzinfo=plus8)) == [late.id]  # 05:00Z, inclusive
    assert since(datetime(2026, 11, 28, 13, 0, 1, tzinfo=plus8)) == []
    assert len(since(datetime(2026, 11, 28, 3, 0, tzinfo=UTC))) == 2


def test_schema_head_constant_matches_the_migrations() -> None:
    assert schema.head_revision() == schema.SCHEMA_HEAD


def test_models_and_migrations_agree(store: Store) -> None:
    """What the migrations built is what the models describe (autogenerate finds nothing)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from opsdeck.backend import models

    models.load_all()  # each area's tables load when first named (backend/models/__init__.py)
    with store.engine.connect() as conn:
        # The role-to-login mapping is PostgreSQL's alone and no model (backend/pg_roles.py).
        opts = {"compare_type": False, "include_name": lambda name, *_: name != pg_triggers.MAP_TABLE}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), SQLModel.metadata)
    assert diff == []


def test_a_store_from_a_newer_program_is_refused_and_untouched(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    store.dispose()
    path = Path(sqlite_url[10:])
    before = path.read_bytes()
    with pytest.raises(StoreUnavailable) as error:
        open_store(sqlite_url)
    assert error.value.code == "schema_too_new"
    assert "newer opsdeck" in str(error.value) and "upgrade opsdeck" in str(error.value)
    assert path.read_bytes() == before


def test_a_database_with_foreign_tables_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id integer)")
    with pytest.raises(InvalidInput, match="holds other tables"):
        open_store(f"sqlite:///{path}")


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_store(url).dispose()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = open_store(url)
    with store.read() as session:
        assert len(session.execute(select(PolicyVersion)).all()) == 1
    store.dispose()


def test_online_backup_is_a_consistent_openable_store(sqlite_url: str, tmp_path: Path) -> None:
    seeded = open_store(sqlite_url)
    Service(seeded, "system:opsdeck").import_records("roster", _roster(tmp_path))
    assert seeded.path is not None
    Service(seeded, "lead").open("before the backup")
    dest = tmp_path / "backups" / "copy.db"
    seen: list[tuple[int, int]] = []
    schema.sqlite_backup(seeded.path, dest, lambda done, total: seen.append((done, total)))
    copy = open_store(f"sqlite:///{dest}")
    with copy.read() as session:
        titles = session.execute(select(Incident.title)).scalars().all()
    assert titles == ["before the backup"]
    assert seen and seen[-1][0] == seen[-1][1]
    with pytest.raises(InvalidInput, match="already exists"):
        schema.sqlite_backup(seeded.path, dest)
    copy.dispose()
    seeded.dispose()


def test_an_unreachable_postgresql_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable) as error:
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert error.value.kind is ErrorKind.UNAVAILABLE and "check that the database is reachable" in str(error.value)


def _store_at_0001(url: str) -> None:
    """A store as the first release left it: schema 0001 with one open incident."""
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), "0001")
        conn.execute(
            text(
                "INSERT INTO policy_versions (version, created_at, actor, source, hash, document) "
                "VALUES (1, '2026-11-28 02:00:00.000000', 'system:opsdeck', '', 'x', '{}')"
            )
            if url.startswith("sqlite")
            else text(
                "INSERT INTO policy_versions (version, created_at, actor, source, hash, document) "
                "VALUES (1, '2026-11-28 02:00:00+00', 'system:opsdeck', '', 'x', '{}')"
            )
        )
        stamp = "'2026-11-28 02:00:00.000000'" if url.startswith("sqlite") else "'2026-11-28 02:00:00+00'"
        conn.execute(
            text(
                "INSERT INTO incidents (version, title, description, category, status, reporter, reported_at, "
                f"outage_started_at, policy_version, updated_at, updated_by) VALUES (1, 'old', '', 'unclassified', "
                f"'reported', 'ops', {stamp}, {stamp}, 1, {stamp}, 'ops')"
            )
        )
    engine.dispose()


class _Recorded(Upgrading):
    """What an upgrade on open told, in order."""

    def __init__(self) -> None:
        self.told: list[tuple[Any, ...]] = []
        self.finished_with: list[Path] = []

    def starting(self, current: str, head: str, backup: Path) -> None:
        self.told.append(("starting", current, head, backup))

    def progress(self, stage: str, done: int, total: int) -> None:
        self.told.append((stage, done, total))

    def finished(self, backup: Path) -> None:
        self.told.append(("finished", backup))
        self.finished_with.append(backup)


def test_an_older_sqlite_store_is_backed_up_then_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    _store_at_0001(url)
    told = _Recorded()
    store = open_store(url, clock=FakeClock(), upgrading=told)
    assert schema.current_revision(store) == schema.SCHEMA_HEAD
    [backup] = told.finished_with
    assert backup.name.startswith("old.db.bak-0001-")
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    from opsdeck.backend import queries

    with store.read() as session:
        clocks = {d["key"]: d["state"] for d in queries.incident_deadlines(session, 1, store.clock())}
    assert clocks["classify"] == "breached"  # reported at 02:00, the clock reads 03:00
    store.dispose()


def test_an_upgrade_on_open_counts_the_backups_pages_then_each_migration_and_rederivation(tmp_path: Path) -> None:
    """An old store's upgrade is long on a big store: it is told before it starts, the
    backup page by page, the upgrade step by step (each migration, then each rewrite of
    what the old schema lacked), and where the old store went once it is in."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _store_at_0001(url)
    told = _Recorded()
    open_store(url, clock=FakeClock(), upgrading=told).dispose()
    [backup] = tmp_path.glob("old.db.bak-0001-*")
    assert told.told[0] == ("starting", "0001", schema.SCHEMA_HEAD, backup)
    assert told.told[-1] == ("finished", backup)
    copied = [t for t in told.told if t[0] == "backup"]
    steps = [t for t in told.told if t[0] == "upgrade"]
    assert told.told[1 : 1 + len(copied)] == copied and told.told[1 + len(copied) : -1] == steps
    pages = copied[-1][2]
    assert pages > 0 and copied[-1] == ("backup", pages, pages)
    total = _upgrade_steps_from_0001()
    assert steps == [("upgrade", done, total) for done in range(1, total + 1)]
    fresh = _Recorded()
    open_store(f"sqlite:///{tmp_path / 'new.db'}", upgrading=fresh).dispose()
    assert fresh.told == []  # a store being created is quick: nothing to tell


def test_the_cli_draws_the_upgrades_progress_on_a_terminal_only(tmp_path: Path) -> None:
    """On a terminal the backup and the upgrade each draw a bar (rewritten in place with
    a carriage return, erased when done) between the two lines that say what happens."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _store_at_0001(url)
    env = {**os.environ, "OPSDECK_CONFIG": "/nonexistent", "TERM": "xterm"}
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [OPSDECK, "--db", url, "incident", "list", "--status", "all", "--json"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            env=env,
            timeout=60,
        )
        os.close(follower)
        drawn = _read_all(leader).decode()
    finally:
        os.close(leader)
    assert done.returncode == 0 and [i["title"] for i in json.loads(done.stdout)] == ["old"]
    [backup] = tmp_path.glob("old.db.bak-0001-*")
    total = _upgrade_steps_from_0001()
    assert re.search(r"\rbacking up the store: (\d+)/\1 100%\x1b\[K\r\x1b\[K", drawn), drawn
    assert f"\rupgrading the schema: {total}/{total} 100%\x1b[K\r\x1b[K" in drawn
    told = drawn.replace("\r\n", "\n")
    assert told.index("then upgrading it") < told.index("backing up the store:") < told.index("upgrading the schema:")
    assert told.endswith(f"\x1b[Kopsdeck: upgraded the store's schema; the old store was saved as {backup}\n")


def _upgrade_steps_from_0001() -> int:
    """Every migration after 0001, one step each, then three re-derivations: clocks
    (before 0002), closed clocks settled (0015), the baseline events (0013)."""
    migrations = list((schema.MIGRATIONS / "versions").glob("[0-9]*.py"))
    return len(migrations) - 1 + 3


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the writer is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_the_cli_says_an_upgrade_is_under_way_before_it_starts_and_where_the_backup_is(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Backup and upgrade each read and write the whole file: the operator is told
    before they start (not only once they are done), then where the old store is."""
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    _store_at_0001(url)
    code, out, err = cli("--db", url, "incident", "list", "--status", "all", "--json")
    assert code == 0, err
    assert [i["title"] for i in json.loads(out)] == ["old"]
    [starting, done] = [line for line in err.splitlines() if line.startswith("opsdeck: ")]
    [backup] = tmp_path.glob("old.db.bak-0001-*")
    assert starting == (
        f"opsdeck: the store's schema is 0001 and this opsdeck needs {schema.SCHEMA_HEAD}: backing the store up "
        f"to {backup}, then upgrading it (minutes on a big store; other opsdeck processes on it wait)"
    )
    assert done == f"opsdeck: upgraded the store's schema; the old store was saved as {backup}"
    assert "\r" not in err  # not a terminal: no bar
    code, _out, err = cli("--db", url, "incident", "list", "--json")
    assert code == 0 and "opsdeck: " not in err  # upgraded once


def test_an_older_postgresql_store_waits_for_db_upgrade(pg_url: str) -> None:
    _store_at_0001(pg_url)
    with pytest.raises(StoreUnavailable) as error:
        open_store(pg_url)
    assert error.value.code == "schema_old" and "opsdeck db upgrade" in str(error.value)
    before, after = schema.upgrade_store(pg_url)
    assert (before, after) == ("0001", schema.SCHEMA_HEAD)
    open_store(pg_url).dispose()


def test_a_writer_hung_inside_its_transaction_does_not_hold_every_other_writer(pg_url: str) -> None:
    """A process stopped (SIGSTOP, Ctrl-Z, a cut-off host) in the middle of a write holds
    the store's write lock: the server ends its session after HUNG_WRITER_S, the other
    writers go on, and the hung one learns, when it resumes, that nothing of it was kept."""
    from opsdeck.backend.engines import HUNG_WRITER_S

    store = open_store(pg_url)
    Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    other = open_store(pg_url)
    holding, resume = threading.Event(), threading.Event()
    outcome: list[BaseException] = []

    def hung_writer() -> None:
        try:
            with store.write("system:opsdeck") as uow:  # the write lock taken ...
                uow.session.execute(text("SELECT 1"))
                holding.set()
                resume.wait(60)  # ... and the process stopped
                uow.session.execute(text("SELECT 1"))
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=hung_writer)
    thread.start()
    try:
        assert holding.wait(30)
        started = time.monotonic()
        Service(other, "servers").open("core switch down", category="network_fault", level="IV")
        waited = time.monotonic() - started
        assert HUNG_WRITER_S - 1 <= waited <= HUNG_WRITER_S + 10, waited
        resume.set()
        thread.join(30)
        [error] = outcome
        assert isinstance(error, StoreUnavailable) and error.code == "store_hung_writer", repr(error)
        assert "nothing of that write was kept" in str(error) and "retry" in error.fix
        with other.read() as session:
            assert [i.title for i in session.execute(select(Incident)).scalars()] == ["core switch down"]
    finally:
        resume.set()
        thread.join(30)
        store.dispose()
        other.dispose()


def test_a_read_left_idle_longer_than_a_hung_writer_is_not_ended(pg_url: str) -> None:
    """Only writes are held to HUNG_WRITER_S: an export piped into a pager sits idle in its
    read transaction while the reader pauses, and must go on when the reader scrolls."""
    from opsdeck.backend.engines import HUNG_WRITER_S

    store = open_store(pg_url)
    Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    try:
        with store.read() as session:
            first = session.execute(text("SELECT count(*) FROM roster_members")).scalar_one()
            time.sleep(HUNG_WRITER_S + 1.5)
            assert session.execute(text("SELECT count(*) FROM roster_members")).scalar_one() == first > 0
    finally:
        store.dispose()


def test_stores_in_two_schemas_of_one_database_do_not_wait_on_each_other(pg_url: str) -> None:
    """The write lock is the store's (its schema's), not the database's."""
    import psycopg

    from ..conftest import PG_URL, _libpq

    schema = f"opsdeck_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    second_url = pg_url.rsplit("search_path%3D", 1)[0] + f"search_path%3D{schema}"
    first, second = open_store(pg_url), open_store(second_url)
    Service(second, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    try:
        with first.write("system:opsdeck") as uow:  # first's lock held throughout
            uow.session.execute(text("SELECT 1"))
            started = time.monotonic()
            Service(second, "servers").open("disk latency", category="server_fault", level="IV")
            assert time.monotonic() - started < 3.0
    finally:
        first.dispose()
        second.dispose()
        with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _version_index(conn: Connection, url: str) -> list[str]:
    """The columns of `ingested_files`' unique version index, in the index's order."""
    if url.startswith("sqlite"):
        sql = (
            "SELECT i.name FROM sqlite_master m, pragma_index_info(m.name) i "
            "WHERE m.tbl_name = 'ingested_files' AND m.type = 'index' AND m.sql IS NULL ORDER BY i.seqno"
        )
    else:
        sql = (
            "SELECT a.attname FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid, "
            "unnest(i.indkey) WITH ORDINALITY k(attnum, n) JOIN pg_attribute a ON a.attnum = k.attnum "
            "WHERE a.attrelid = c.conrelid AND c.conname = 'uq_ingested_files_version' "
            "AND c.connamespace = current_schema()::regnamespace ORDER BY k.n"
        )
    return [name for (name,) in conn.execute(text(sql))]


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_an_upgrade_keeps_the_taken_file_versions_and_leads_their_index_with_time(
    dialect: str, request: pytest.FixtureRequest
) -> None:
    """0031: the version index is (mtime_ns, name, size, content_hash), so a new claim lands
    at its end; every version taken before the upgrade is kept, and still taken once.
    0032: `opsdeck_ingested_files` starts from the versions taken before (its counter)."""
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.exc import IntegrityError

    url = str(request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "pg_url"))
    if dialect == "sqlite":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    insert = text(
        "INSERT INTO ingested_files (spool, name, size, mtime_ns, content_hash, ingested_at, results, outcome) "
        "VALUES ('host:/spool', :name, 10, :mtime, :hash, '2026-11-28 02:00:00', 1, 'ingested')"
    )
    taken = [("web01.out", 1795834800000000000, "a" * 64), ("db01.out", 1795834700000000000, "b" * 64)]
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), "0030")
        schema._seed(conn, Store(engine, schema.parse_url(url)))
        assert _version_index(conn, url) == ["content_hash", "name", "size", "mtime_ns"]
        for name, mtime, digest in taken:
            conn.execute(insert, {"name": name, "mtime": mtime, "hash": digest})
    engine.dispose()

    if dialect == "sqlite":
        open_store(url).dispose()  # SQLite stores upgrade on open, after a backup
    else:
        assert schema.upgrade_store(url) == ("0030", schema.SCHEMA_HEAD)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert _version_index(conn, url) == ["mtime_ns", "name", "size", "content_hash"]
            rows = conn.execute(text("SELECT name, mtime_ns, content_hash FROM ingested_files ORDER BY id"))
            assert [tuple(row) for row in rows] == taken
            counted = conn.execute(text("SELECT name, label, value FROM metric_counters WHERE name = 'ingested_files'"))
            assert [tuple(row) for row in counted] == [("ingested_files", "ingested", 2)]
        with pytest.raises(IntegrityError), engine.begin() as conn:  # a version taken before is still taken once
            conn.execute(insert, {"name": "web01.out", "mtime": taken[0][1], "hash": taken[0][2]})
        with engine.begin() as conn:  # the same name at another time is another version
            conn.execute(insert, {"name": "web01.out", "mtime": taken[0][1] + 1, "hash": taken[0][2]})
    finally:
        engine.dispose()
