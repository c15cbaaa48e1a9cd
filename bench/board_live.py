"""Another process's change, seen by a running board: the board under Pilot (`run_test`)
on a copy of a big open store, while

- a writer process (`bench.board_writer`) assigns visible incidents one at a time,
  timed until the board's row cache holds the new version;
- probe result files are dropped into a spool that a watcher thread ingests (the
  board's embedded worker does the same in single-user mode), timed until the board's
  panels hold the probe.

Baselines, measured right after in the same run on the same store: the same writes
seen by a plain sqlite3 poll every 2 ms, no board (what any reader could do at best);
and the same files, ingested by the same watcher, until the row is visible to that poll.

The change figures again on PostgreSQL (OPSDECK_BENCH_PG, default this machine's
server): the same open incidents in a schema of their own, the board learning of the
change by LISTEN/NOTIFY; the baseline a psycopg poll every 2 ms. Without a reachable
server those two figures are reported as not measured, with the reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from opsdeck.backend import spool_watch
from opsdeck.backend.config import Config
from opsdeck.backend.ingest import DONE, Ingester, SpoolSettings
from opsdeck.backend.schema import open_store
from opsdeck.backend.store import Store
from opsdeck.screens.board import BoardScreen
from opsdeck.tui.app import OpsdeckApp, build_app
from opsdeck.tui.widgets.incident_list import IncidentList

from .figure import Figure
from .fill import QUIET, fill_open_store, quiet_incidents
from .harness import ROOT, Run, Tick, cli_env, percentile, thousands
from .ingest import write_pair

SIZE = (160, 48)
WARMUP = 3  # untimed samples first: the first reads compile statements
POLL_S = 0.002
GAP_S = (0.15, 0.25)  # between samples: each change is its own feed batch, the last reload done
TIMEOUT_S = 15.0
SEED = 20261128
OWNERS = ("web", "dns")  # operators of the demo roster: assignments alternate between them
PROBE_TARGET_MS = 200.0
CHANGE_TARGET_MS = 150.0  # p99, SQLite and PostgreSQL (issue #26)
CHANGE_LABEL = "the same writer process, its change seen by a plain sqlite3 poll every 2 ms (no board)"
PG_CHANGE_LABEL = "the same writer process, its change seen by a plain psycopg poll every 2 ms (no board)"
PG_URL = os.environ.get("OPSDECK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PROBE_LABEL = "the same files and watcher thread, the row seen by a plain sqlite3 poll every 2 ms (no board)"


@dataclass(frozen=True)
class Live:
    count: int
    change_ms: list[float]  # write started -> the board's row cache holds the new version
    write_ms: list[float]  # write started -> committed, as the writer saw it
    change_raw_ms: list[float]  # baseline: write started -> the poll reads the new version
    probe_ms: list[float]  # files written -> the board's panels hold the probe
    probe_raw_ms: list[float]  # baseline: files written -> the poll sees the probe's row
    quiet: str = ""  # whether a clock fell due while the board was watched (OpenStore.still_quiet)


def change_p50(run: Run) -> Figure:
    return _change(run, 50)


def change_p99(run: Run) -> Figure:
    return _change(run, 99)


def change_pg_p50(run: Run) -> Figure | None:
    return _change_pg(run, 50)


def change_pg_p99(run: Run) -> Figure | None:
    return _change_pg(run, 99)


def probe_p50(run: Run) -> Figure:
    return _probe(run, 50)


def probe_p99(run: Run) -> Figure:
    return _probe(run, 99)


def _change(run: Run, share: int) -> Figure:
    how = "each from the write starting in the writer process to the board's row cache holding the new version"
    return _change_figure(_live(run), share, "SQLite", CHANGE_LABEL, how)


def _change_pg(run: Run, share: int) -> Figure | None:
    live = run.once("board_live_pg", lambda: _time_live_pg(run))
    if isinstance(live, str):
        run.progress.stage(live)
        return None
    return _change_figure(
        live, share, "PostgreSQL", PG_CHANGE_LABEL, "over TCP to 127.0.0.1, the board told by LISTEN/NOTIFY"
    )


def _change_figure(live: Live, share: int, database: str, baseline_label: str, how: str) -> Figure:
    ms = live.change_ms
    value = percentile(ms, share)
    return Figure(
        name=f"change -> visible on another board, p{share} ({database}, {thousands(live.count)} open)",
        value=value,
        unit="ms",
        baseline=percentile(live.change_raw_ms, share),
        baseline_label=baseline_label,
        target=f"p99 <= {CHANGE_TARGET_MS:g} ms" if share == 99 else None,
        target_met=value <= CHANGE_TARGET_MS if share == 99 else None,
        note=(
            f"{len(ms)} assignments of visible incidents, {how} (the writer's own write took p50 "
            f"{percentile(live.write_ms, 50):.1f} ms); max {max(ms):.0f} ms, baseline max "
            f"{max(live.change_raw_ms):.1f} ms; {live.quiet}"
        ),
    )


def _probe(run: Run, share: int) -> Figure:
    live = _live(run)
    ms = live.probe_ms
    value = percentile(ms, share)
    return Figure(
        name=f"probe file written -> on the board's panels, p{share} ({thousands(live.count)} open)",
        value=value,
        unit="ms",
        baseline=percentile(live.probe_raw_ms, share),
        baseline_label=PROBE_LABEL,
        target=f"p99 <= {PROBE_TARGET_MS:g} ms" if share == 99 else None,
        target_met=value <= PROBE_TARGET_MS if share == 99 else None,
        note=(
            f"{len(ms)} .out/.rc pairs, one new probe each, a spool_watch.watch thread in the board's process; "
            f"max {max(ms):.0f} ms, baseline max {max(live.probe_raw_ms):.1f} ms; {live.quiet}"
        ),
    )


def _live(run: Run) -> Live:
    return run.once("board_live", lambda: _time_live(run))


def _time_live(run: Run) -> Live:
    count = run.sizes.open_incidents
    filled = quiet_incidents(run, count, "board-live")  # its own: these figures write
    live = asyncio.run(_measure(run, filled.path, count))
    return replace(live, quiet=filled.still_quiet())


def _time_live_pg(run: Run) -> Live | str:
    """The change figures on PostgreSQL, or why they could not be measured."""
    try:
        import psycopg

        with psycopg.connect(_libpq(PG_URL), connect_timeout=3):
            pass
    except Exception as error:  # any reason the server is not there is reported, not raised
        return f"PostgreSQL not measured: {PG_URL} is not reachable ({error}); set OPSDECK_BENCH_PG"
    count = run.sizes.open_incidents
    with _pg_schema() as url:
        tick = run.progress.stage(f"filling a quiet PostgreSQL schema with {count:,} open incidents", count)
        now = datetime.now(UTC).replace(microsecond=0)
        templates = run.path(f"pg-templates-{count}.db")
        filled = fill_open_store(run.path("pg"), count, templates, tick, now, url=url, quiet=QUIET)
        live = asyncio.run(_measure_changes(run, url, count))
        return replace(live, quiet=filled.still_quiet())


@contextmanager
def _pg_schema() -> Iterator[str]:
    """A schema of its own on the bench's server, dropped afterwards."""
    import psycopg

    schema = f"opsdeck_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


async def _measure_changes(run: Run, url: str, count: int) -> Live:
    import psycopg

    samples = run.sizes.board_samples
    writer = await _start_writer(url)
    poll = psycopg.connect(_libpq(url), autocommit=True)
    try:
        board = await _on_the_board(run, url, count, writer, None, samples)
        ids = board.changed_ids
        tick = run.progress.stage("baseline: the same changes, seen by a psycopg poll", len(ids))

        def read(incident_id: int) -> tuple[int, str | None]:
            row = poll.execute("SELECT version, owner FROM incidents WHERE id = %s", (incident_id,)).fetchone()
            assert row is not None
            return int(row[0]), row[1]

        change_raw = await _polled_changes(writer, read, ids, tick)
    finally:
        poll.close()
        await _stop_writer(writer)
    timed = slice(WARMUP, None)
    return Live(count, board.change_ms[timed], board.write_ms[timed], change_raw[timed], [], [])


async def _measure(run: Run, path: Path, count: int) -> Live:
    url = f"sqlite:///{path}"
    samples = run.sizes.board_samples
    writer = await _start_writer(url)
    ingest_store = open_store(url)
    stop = threading.Event()
    spool = run.path("board-spool")
    watcher = _start_watcher(ingest_store, spool, stop)
    poll = sqlite3.connect(path, isolation_level=None)

    def read(incident_id: int) -> tuple[int, str | None]:
        version, owner = poll.execute("SELECT version, owner FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return int(version), owner

    try:
        board = await _on_the_board(run, url, count, writer, spool, samples)
        ids = board.changed_ids
        tick = run.progress.stage("baseline: the same changes and files, seen by a sqlite3 poll", 2 * len(ids))
        change_raw = await _polled_changes(writer, read, ids, tick)
        probe_raw = await _polled_probes(poll, spool, samples, lambda done: tick(len(ids) + done))
    finally:
        poll.close()
        stop.set()
        watcher.join(timeout=10)
        ingest_store.dispose()
        await _stop_writer(writer)
    timed = slice(WARMUP, None)
    return Live(
        count,
        board.change_ms[timed],
        board.write_ms[timed],
        change_raw[timed],
        board.probe_ms[timed],
        probe_raw[timed],
    )


@dataclass(frozen=True)
class OnBoard:
    changed_ids: list[int]
    change_ms: list[float]
    write_ms: list[float]
    probe_ms: list[float]


async def _on_the_board(
    run: Run, url: str, count: int, writer: asyncio.subprocess.Process, spool: Path | None, samples: int
) -> OnBoard:
    """The board's view of the writer's changes and, given a spool, of new probes."""
    store = open_store(url)
    try:
        app = build_app(
            Config(timezone="UTC", keymap=str(ROOT / "bench" / "no-keymap.toml")), store, "lead", read_only=True
        )
        async with app.run_test(size=SIZE):
            incident_list = await _loaded(app, count)
            parts = 2 if spool else 1
            what = "changes and probe files" if spool else "changes"
            tick = run.progress.stage(f"{what} under a board of {count:,}", parts * (WARMUP + samples))
            ids, change_ms, write_ms = await _board_changes(incident_list, writer, WARMUP + samples, tick)
            screen = app.screen
            assert isinstance(screen, BoardScreen)
            probe_ms: list[float] = []
            if spool:
                probe_ms = await _board_probes(screen, spool, WARMUP + samples, lambda done: tick(len(ids) + done))
            app.exit()
    finally:
        store.dispose()
    return OnBoard(ids, change_ms, write_ms, probe_ms)


async def _loaded(app: OpsdeckApp, count: int) -> IncidentList:
    """The board with every key, the visible rows and its panels in."""

    def ready() -> bool:
        screen = app.screen
        if not isinstance(screen, BoardScreen) or screen.panels is None:
            return False
        found = screen.query_one(IncidentList)
        return len(found.order) == count and all(i in found.rows for i in found.visible_ids())

    await _until(ready, timeout=120.0)
    await asyncio.sleep(1.0)  # the first feed polls and panel reads are done
    return app.screen.query_one(IncidentList)


# -- changes -------------------------------------------------------------------------------


async def _board_changes(
    incident_list: IncidentList, writer: asyncio.subprocess.Process, samples: int, tick: Tick
) -> tuple[list[int], list[float], list[float]]:
    """Assign the visible incidents in turn, each until the board's row cache has it."""
    rng = random.Random(SEED)
    ids: list[int] = []
    seen_ms: list[float] = []
    write_ms: list[float] = []
    for index in range(samples):
        await asyncio.sleep(rng.uniform(*GAP_S))
        visible = incident_list.visible_ids()
        incident_id = visible[index % len(visible)]
        row = incident_list.rows.get(incident_id)
        assert row is not None, "a visible row is cached"
        reply = await _send(writer, incident_id, row.owner)

        def shown(incident_id: int = incident_id, version: int = row.version) -> bool:
            current = incident_list.rows.get(incident_id)
            return current is not None and current.version > version

        seen = await _until(shown)
        answer = await reply
        ids.append(incident_id)
        seen_ms.append((seen - answer["started"]) * 1000)
        write_ms.append((answer["committed"] - answer["started"]) * 1000)
        tick(index + 1)
    return ids, seen_ms, write_ms


async def _polled_changes(
    writer: asyncio.subprocess.Process, read: Callable[[int], tuple[int, str | None]], ids: list[int], tick: Tick
) -> list[float]:
    """The same incidents assigned again, each until a plain poll (`read`: version, owner)
    reads the new version."""
    rng = random.Random(SEED)
    seen_ms: list[float] = []
    for index, incident_id in enumerate(ids):
        await asyncio.sleep(rng.uniform(*GAP_S))
        version, owner = read(incident_id)
        reply = await _send(writer, incident_id, owner)

        def newer(incident_id: int = incident_id, version: int = version) -> bool:
            return read(incident_id)[0] > version

        seen = await _until(newer)
        seen_ms.append((seen - (await reply)["started"]) * 1000)
        tick(index + 1)
    return seen_ms


async def _start_writer(url: str) -> asyncio.subprocess.Process:
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.board_writer",
        url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=cli_env(),
    )
    assert writer.stdout is not None
    line = await asyncio.wait_for(writer.stdout.readline(), timeout=60)
    if line.strip() != b"ready":
        raise RuntimeError(f"bench: the writer process did not start: {line!r}")
    return writer


async def _send(
    writer: asyncio.subprocess.Process, incident_id: int, owner: str | None
) -> asyncio.Task[dict[str, float]]:
    """Ask the writer to assign `incident_id` to the other operator; its answer, once read."""
    assert writer.stdin is not None and writer.stdout is not None
    login = OWNERS[1] if owner == OWNERS[0] else OWNERS[0]
    writer.stdin.write(f"{incident_id} {login}\n".encode())
    await writer.stdin.drain()
    stdout = writer.stdout

    async def answer() -> dict[str, float]:
        line = await asyncio.wait_for(stdout.readline(), timeout=TIMEOUT_S)
        if not line:
            raise RuntimeError(f"bench: the writer process ended while assigning #{incident_id}")
        reply: dict[str, float] = json.loads(line)
        return reply

    return asyncio.create_task(answer())


async def _stop_writer(writer: asyncio.subprocess.Process) -> None:
    if writer.stdin is not None:
        writer.stdin.close()
    try:
        await asyncio.wait_for(writer.wait(), timeout=10)
    except TimeoutError:
        writer.kill()
        await writer.wait()


# -- probes --------------------------------------------------------------------------------


def _start_watcher(store: Store, spool: Path, stop: threading.Event) -> threading.Thread:
    ingester = Ingester(store, SpoolSettings(spool))
    thread = threading.Thread(target=spool_watch.watch, args=(ingester, stop), name="bench-watch", daemon=True)
    thread.start()
    end = time.monotonic() + 10
    while not (spool / DONE).exists():  # its first scan ran: the watcher is starting
        if time.monotonic() > end:
            raise RuntimeError("bench: the spool watcher did not start")
        time.sleep(0.01)
    time.sleep(0.3)
    return thread


async def _board_probes(screen: BoardScreen, spool: Path, samples: int, tick: Tick) -> list[float]:
    """One new probe's result files at a time, each until the board's panels hold it."""

    def on_panels(name: str) -> Callable[[], bool]:
        return lambda: screen.panels is not None and any(p.name == name for p in screen.panels.probes)

    return await _probe_loop(spool, "board", samples, on_panels, tick)


async def _polled_probes(poll: sqlite3.Connection, spool: Path, samples: int, tick: Tick) -> list[float]:
    def stored(name: str) -> Callable[[], bool]:
        return lambda: poll.execute("SELECT 1 FROM probes WHERE name = ?", (name,)).fetchone() is not None

    return await _probe_loop(spool, "polled", samples, stored, tick)


async def _probe_loop(
    spool: Path, prefix: str, samples: int, seen: Callable[[str], Callable[[], bool]], tick: Tick
) -> list[float]:
    rng = random.Random(SEED)
    latencies: list[float] = []
    for index in range(samples):
        await asyncio.sleep(rng.uniform(*GAP_S))
        name = f"{prefix}-probe-{index:04d}"
        started = time.monotonic()
        write_pair(spool, name, index)
        latencies.append((await _until(seen(name)) - started) * 1000)
        tick(index + 1)
    return latencies


async def _until(done: Callable[[], bool], timeout: float = TIMEOUT_S) -> float:
    """Poll `done` every POLL_S, yielding to the app meanwhile; the monotonic time it held."""
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            raise RuntimeError(f"bench: not seen within {timeout:g} s")
        await asyncio.sleep(POLL_S)
    return time.monotonic()
