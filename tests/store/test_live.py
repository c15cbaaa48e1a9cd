"""Seeing other writers' commits: `PRAGMA data_version` on SQLite, LISTEN/NOTIFY on
PostgreSQL; a lost connection is reopened and the feed read since the last sequence."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from opsdeck.backend.live import SKEW_WARN_S, FeedBatch, FeedWatcher, clock_skew
from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.backend.timeutil import utcnow

from ..conftest import FakeClock


def poll_until(watcher: FeedWatcher, done: Callable[[FeedBatch], bool], timeout: float = 5.0) -> FeedBatch:
    seen: set[int] = set()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        batch = watcher.poll()
        if batch is not None:
            seen |= batch.incidents
            merged = FeedBatch(seq=batch.seq, incidents=frozenset(seen))
            if done(merged):
                return merged
        time.sleep(0.05)
    raise AssertionError(f"the watcher never saw it (saw {sorted(seen)})")


def test_a_watcher_sees_another_connections_commit(seeded: Store, store_url: str, clock: FakeClock) -> None:
    watcher = FeedWatcher(seeded)
    try:
        assert watcher.poll() is None  # nothing new since it started
        other = open_store(store_url, clock=clock)  # another engine: another connection, as another process
        try:
            incident = Service(other, "servers").open("seen elsewhere")
        finally:
            other.dispose()
        batch = poll_until(watcher, lambda b: incident.id in b.incidents)
        assert batch.incidents == {incident.id}
        assert watcher.poll() is None  # read once
    finally:
        watcher.close()


def test_after_losing_its_connection_it_reads_what_it_missed(seeded: Store, clock: FakeClock) -> None:
    watcher = FeedWatcher(seeded)
    try:
        watcher.poll()
        if seeded.dialect == "postgresql":
            pid = watcher._listen.info.backend_pid
            with seeded.engine.connect() as conn:
                conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        else:
            watcher._conn.close()  # the next query on it fails, as a vanished file would
        missed = Service(seeded, "servers").open("written while the watcher was cut off")
        with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises for a dead connection
            for _ in range(20):
                watcher.poll()
                time.sleep(0.05)
        # The error closed its connections: the next poll opens them and reads the feed
        # since the last sequence it had, though no NOTIFY is replayed.
        batch = poll_until(watcher, lambda b: missed.id in b.incidents)
        assert missed.id in batch.incidents
    finally:
        watcher.close()


@pytest.mark.postgres
def test_two_stores_in_one_database_do_not_wake_each_other(pg_url: str, clock: FakeClock) -> None:
    import psycopg

    from ..conftest import PG_URL, _libpq

    schema = "opsdeck_t_other_" + pg_url.rsplit("%3D", 1)[1][-8:]
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    first, second = (
        open_store(pg_url, clock=clock),
        open_store(f"{PG_URL}{sep}options=-csearch_path%3D{schema}", clock=clock),
    )
    watcher = FeedWatcher(second)
    try:
        watcher.poll()  # the first poll after connecting always reads
        with first.write("system:test") as uow:
            uow.changed("system", 0, "a write in the other schema")
        time.sleep(0.3)
        assert watcher.changed() is False
        with second.write("system:test") as uow:
            uow.changed("system", 0, "a write in this schema")
        deadline = time.monotonic() + 5
        while not watcher.changed():
            assert time.monotonic() < deadline, "no NOTIFY from this store's own write"
            time.sleep(0.05)
    finally:
        watcher.close()
        first.dispose()
        second.dispose()
        with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.postgres
async def test_the_board_warns_when_its_clock_and_the_databases_differ(pg_url: str) -> None:
    """The test's clock stands still at a fixed morning; PostgreSQL's runs on: far apart."""
    from opsdeck.tui.widgets.panels import Banners

    from ..board_fixtures import make_app, seeded_store, until

    clock = FakeClock()
    store = seeded_store(pg_url, clock)
    app = make_app(store, clock)
    try:
        async with app.run_test(size=(160, 30)) as pilot:
            banners = app.screen.query_one(Banners)
            await until(pilot, lambda: "clock is" in str(banners.render()), timeout=10)
            text = str(banners.render())
            found = re.search(r"clock is (\d+) s behind the database's", text)
            assert found, text
            assert abs(int(found.group(1)) - (utcnow() - clock.now).total_seconds()) < 30
            assert "fix time sync" in text
    finally:
        store.dispose()


def test_sqlite_has_no_clock_of_its_own(seeded: Store, clock: FakeClock) -> None:
    if seeded.dialect == "postgresql":
        assert abs(clock_skew(seeded, utcnow()) or 0) < SKEW_WARN_S  # this host runs the server
        assert clock_skew(seeded, clock.now) < -SKEW_WARN_S  # the test clock stands in the past
    else:
        assert clock_skew(seeded, clock.now) is None  # one host: one clock
