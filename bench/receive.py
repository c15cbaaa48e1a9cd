"""The alert receiver on a real SQLite file, over real HTTP on 127.0.0.1: Alertmanager-
shaped batches of 100 alerts, accepted and committed (each POST answered after its
commit), against a raw insert of the same rows; and the latency from a POST to the
incident's row where the board reads it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from opsdeck.backend import board
from opsdeck.backend.alerts import sources
from opsdeck.backend.alerts.server import Dispatch, Receiver, ReceiveSettings
from opsdeck.backend.probe_rows import MOVED
from opsdeck.backend.schema import open_store, sqlite_backup
from opsdeck.backend.store import Store

from .figure import Figure
from .floor import Floor, Recorder, replay
from .harness import Run, percentile
from .raw import insert_sql, raw_connect, table_ddl

BATCH = 100
GROUPS = 10
WARMUP_BATCHES = 3
FLOOR_POSTS = 10  # recorded and replayed for the bound
RATE_TARGET = 0.25  # accepted and committed at a quarter of the raw insert rate or better
LATENCY_TARGET_MS = 250.0


def _alert(n: int, group: int, starts: str) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {"alertname": f"Bench{group}", "instance": f"host{n:06d}:9100", "severity": "critical"},
        "annotations": {"summary": f"host{n:06d} is down"},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": f"{n:016x}",
    }


def _batch(first: int, group: int, starts: str = "2026-11-28T03:00:00Z") -> dict[str, Any]:
    return {
        "version": "4",
        "receiver": "opsdeck",
        "status": "firing",
        "groupKey": f'{{}}:{{alertname="Bench{group}"}}',
        "groupLabels": {"alertname": f"Bench{group}"},
        "alerts": [_alert(first + i, group, starts) for i in range(BATCH)],
        "truncatedAlerts": 0,
    }


@dataclass(frozen=True)
class RateRun:
    alerts: int
    seconds: float
    raw_s: float
    floor: Floor  # a POST's own statements replayed raw (bench/floor.py)
    handled_share: float  # of a POST's time (seen by the client), the share inside Dispatch.handle


def alerts_rate(run: Run) -> Figure:
    measured = run.once("receive.rate", lambda: _rate(run))
    rate, raw = measured.alerts / measured.seconds, measured.alerts / measured.raw_s
    share = rate / raw
    return Figure(
        name=f"receiver: {measured.alerts:,} alerts in Alertmanager batches of {BATCH} -> alerts/s",
        value=rate,
        unit="alerts/s",
        baseline=raw,
        baseline_label=RAW_LABEL,
        target=f">= {RATE_TARGET:.0%} of the baseline",
        target_met=share >= RATE_TARGET,
        note=(
            f"{measured.seconds:.2f} s over HTTP, each POST answered after its commit (parse, dedup, alert rows, "
            f"group probe results, incident rules, audit, feed); {share:.1%} of the same rows written raw; "
            f"{_bound(measured, raw)}"
        ),
    )


def _rate(run: Run) -> RateRun:
    path = run.path("receive-rate.db")
    store = open_store(f"sqlite:///{path}")
    token = sources.add(store, "bench", "bench", "alertmanager").token
    batches = max(10, run.sizes.storm_files // BATCH)
    try:
        served = _serving(store, run.path("receive-q"))
        with served as base, httpx.Client(timeout=60) as client:
            headers = {"Authorization": f"Bearer {token}"}
            for w in range(WARMUP_BATCHES):
                client.post(base, json=_batch(10_000_000 + w * BATCH, w), headers=headers).raise_for_status()
            tick = run.progress.stage(f"POST {batches} batches of {BATCH} alerts", batches)
            bodies = [_batch(b * BATCH, b % GROUPS) for b in range(batches)]
            started = time.perf_counter()
            for index, body in enumerate(bodies):
                reply = client.post(base, json=body, headers=headers)
                if reply.status_code != 200 or reply.json()["alerts"] != BATCH:
                    raise RuntimeError(f"bench: batch {index} answered {reply.status_code} {reply.text[:200]}")
                tick(index + 1)
            seconds = time.perf_counter() - started
            floor, handled_share = _floor(
                run, store, served, lambda body: client.post(base, json=body, headers=headers).raise_for_status()
            )
    finally:
        store.dispose()
    return RateRun(batches * BATCH, seconds, _raw(run, path, batches), floor, handled_share)


def _floor(run: Run, store: Store, served: _serving, post: Callable[[dict[str, Any]], Any]) -> tuple[Floor, float]:
    """FLOOR_POSTS more batches (new alerts, the groups already open), their statements
    recorded, then replayed by plain sqlite3 on a copy of the store taken before them;
    and the share of their time spent inside the receiver's `Dispatch.handle`."""
    assert store.path is not None
    before = run.path("receive-floor-before.db")
    sqlite_backup(store.path, before)
    dispatch = served.receiver.dispatch
    handled: list[float] = []

    def handle(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return Dispatch.handle(dispatch, *args)
        finally:
            handled.append(time.perf_counter() - started)

    dispatch.handle = handle  # type: ignore[method-assign]
    recorder = Recorder(store.engine)
    started = time.perf_counter()
    try:
        for index in range(FLOOR_POSTS):
            recorder.next()
            post(_batch(30_000_000 + index * BATCH, index % GROUPS))
    finally:
        posted = time.perf_counter() - started
        recorder.close()
        del dispatch.handle
    conn = raw_connect(before)
    try:
        conn.execute("PRAGMA synchronous = FULL")  # as the receiver's connections (durable_commits)
        conn.execute("PRAGMA foreign_keys = ON")
        return replay(conn, recorder.actions), sum(handled) / posted
    finally:
        conn.close()


def _bound(measured: RateRun, raw_rate: float) -> str:
    """A POST's time against the floor under it, and what the target leaves its Python."""
    batches = measured.alerts // BATCH
    post_ms, allowed_ms = measured.seconds / batches * 1000, BATCH / (RATE_TARGET * raw_rate) * 1000
    floor = measured.floor
    rest_ms = max(0.0, post_ms - floor.ms)
    handled_ms = measured.handled_share * post_ms
    room = allowed_ms - floor.ms
    verdict = (
        f"to meet it, the rest must fall to {room:.2f} ms ({room / rest_ms - 1:+.0%})"
        if room < rest_ms
        else "the rest is within what the target leaves"
    )
    return (
        f"bound: the target allows {allowed_ms:.2f} ms a POST; it takes {post_ms:.2f} ms; its own "
        f"{floor.statements:g} statements (reads too) replayed by plain sqlite3 take {floor.ms:.2f} ms, "
        f"COMMIT {floor.commit_ms:.2f} ms of it; the rest, {rest_ms:.2f} ms, is the receiver's Python (about "
        f"{max(0.0, handled_ms - floor.ms):.2f} ms) and HTTP with the client's JSON (about {post_ms - handled_ms:.2f} ms); "
        f"{verdict}"
    )


# The tables a POST writes, created in the baseline's own file from the store's DDL (the
# same indexes); the first three are seeded with the store's rows, for the updates.
RAW_TABLES = ("probes", "alert_sources", "change_counter", "probe_results", "alerts", "changes")
RAW_LABEL = (
    f"raw sqlite3 writing the rows each POST wrote, one transaction a POST (synchronous=FULL): its {BATCH} "
    "probe results and alerts and its feed entries (executemany), the group probe's moved fields, the source's "
    "count and the change counter (UPDATEs)"
)


@dataclass(frozen=True)
class _Post:
    """What one POST wrote: (INSERT, rows) per table, then (UPDATE, values)."""

    inserts: list[tuple[str, list[tuple[Any, ...]]]]
    updates: list[tuple[str, tuple[Any, ...]]]


def _raw(run: Run, path: Path, batches: int) -> float:
    """The rows the timed POSTs wrote, as stored, written again by plain sqlite3 into a
    fresh file with the same tables and indexes, a transaction a POST. A POST's rows
    are those of its transaction time (every row it writes carries it). Not replayed:
    the few incidents the first alert of a new group opened (7 in 100 POSTs), and the reads."""
    store = sqlite3.connect(path)
    try:
        ddl = [statement for table in RAW_TABLES for statement in table_ddl(store, table)]
        seeds = {table: store.execute(f'SELECT * FROM "{table}"').fetchall() for table in RAW_TABLES[:3]}
        times = [
            at
            for (at,) in store.execute(
                "SELECT DISTINCT received_at FROM probe_results WHERE source = 'receiver:bench' ORDER BY received_at"
            )
        ][-batches:]
        posts = [_post_rows(store, at) for at in times]
    finally:
        store.close()
    for table in ("probe_results", "alerts"):  # every alert posted was new: one of each
        found = sum(len(rows) for post in posts for sql, rows in post.inserts if f'"{table}"' in sql)
        if found != batches * BATCH:
            raise RuntimeError(f"bench: the receiver's baseline found {found} {table} rows, not {batches * BATCH}")
    conn = raw_connect(run.path("receive-raw.db"))
    try:
        conn.execute("PRAGMA synchronous = FULL")
        for statement in ddl:
            conn.execute(statement)
        for table, rows in seeds.items():
            conn.executemany(f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(rows[0]))})', rows)
        tick = run.progress.stage(f"baseline: raw sqlite3, the same rows, {batches} transactions", batches)
        started = time.perf_counter()
        for index, post in enumerate(posts):
            conn.execute("BEGIN IMMEDIATE")
            for sql, rows in post.inserts:
                conn.executemany(sql, rows)
            for sql, values in post.updates:
                if conn.execute(sql, values).rowcount != 1:
                    raise RuntimeError(f"bench: the receiver's baseline updated no row: {sql}")
            conn.execute("COMMIT")
            tick(index + 1)
        return time.perf_counter() - started
    finally:
        conn.close()


def _post_rows(store: sqlite3.Connection, at: str) -> _Post:
    inserts = []
    for table, column in (("probe_results", "received_at"), ("alerts", "updated_at"), ("changes", "at")):
        cursor = store.execute(f'SELECT * FROM "{table}" WHERE {column} = ?', (at,))
        names = [d[0] for d in cursor.description if d[0] != "id"]
        rows = [row[1:] if cursor.description[0][0] == "id" else row for row in cursor.fetchall()]
        inserts.append((insert_sql(table, names), rows))
    results = inserts[0][1]
    moved = ", ".join(f"{name} = ?" for name in MOVED)
    updates = [
        (
            f"UPDATE probes SET {moved} WHERE id = ?",
            (*store.execute(f"SELECT {', '.join(MOVED)} FROM probes WHERE id = ?", (probe_id,)).fetchone(), probe_id),
        )
        for probe_id in sorted({row[0] for row in results})
    ]
    updates.append(
        ("UPDATE alert_sources SET accepted = accepted + 1, last_accepted_at = ? WHERE name = 'bench'", (at,))
    )
    updates.append(("UPDATE change_counter SET seq = seq + ? WHERE id = 1", (len(inserts[2][1]),)))
    return _Post(inserts, updates)


class _serving:
    def __init__(self, store: Store, quarantine: Path) -> None:
        self.receiver = Receiver(
            store, ReceiveSettings(listen=("127.0.0.1", 0), quarantine=quarantine, rate=1e9, burst=10**9)
        )
        self.stop = threading.Event()

    def __enter__(self) -> str:
        self.thread = self.receiver.start(self.stop)
        return "http://{}:{}/sources/bench".format(*self.receiver.address)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


# -- latency -------------------------------------------------------------------------------------


def latency_p50(run: Run) -> Figure:
    return _latency_figure(run, 50)


def latency_p99(run: Run) -> Figure:
    return _latency_figure(run, 99)


def _latency_figure(run: Run, share: int) -> Figure:
    samples, raw = run.once("receive.latency", lambda: _latency(run))
    value, baseline = percentile(samples, share), percentile(raw, share)
    return Figure(
        name=f"receiver: POST -> the incident's row on the board, p{share} of {len(samples)}",
        value=value,
        unit="ms",
        baseline=baseline,
        baseline_label="the same POST-then-poll loop against a plain HTTP handler that inserts the row with raw sqlite3",
        target=f"< {LATENCY_TARGET_MS:.0f} ms" if share == 99 else None,
        target_met=value < LATENCY_TARGET_MS if share == 99 else None,
        note="a new group's first firing each time: parse, commit (synchronous=FULL), incident opened; the board's own query (board.load_keys) polled every 2 ms",
    )


def _latency(run: Run) -> tuple[list[float], list[float]]:
    path = run.path("receive-latency.db")
    store = open_store(f"sqlite:///{path}")
    token = sources.add(store, "bench", "bench", "alertmanager").token
    count = max(20, run.sizes.latency_samples // 2)
    samples: list[float] = []
    try:
        with _serving(store, run.path("receive-lq")) as base, httpx.Client(timeout=30) as client:
            headers = {"Authorization": f"Bearer {token}"}
            tick = run.progress.stage(f"{count} alerts, each until its incident is on the board", count)
            for n in range(count + 3):
                body = _batch(20_000_000 + n * BATCH, 1000 + n)
                body["alerts"] = body["alerts"][:1]
                started = time.perf_counter()
                client.post(base, json=body, headers=headers).raise_for_status()
                _until_on_board(store, n + 1)
                if n >= 3:
                    samples.append((time.perf_counter() - started) * 1000)
                    tick(n - 2)
    finally:
        store.dispose()
    return samples, _raw_latency(path, count)


def _until_on_board(store: Store, incidents: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with store.read() as session:
            if len(board.load_keys(session, board.BoardFilter())) >= incidents:
                return
        time.sleep(0.002)
    raise RuntimeError("bench: an incident did not reach the board within 10 s")


def _raw_latency(path: Path, count: int) -> list[float]:
    """A write over HTTP by a minimal handler that inserts one row (raw sqlite3, FULL), then the same poll."""
    import sqlite3
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, body TEXT)")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO bench_raw (body) VALUES (?)", (body.decode(),))
                conn.execute("COMMIT")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    reader = raw_connect(path)
    samples = []
    try:
        with httpx.Client(timeout=30) as client:
            for n in range(count):
                started = time.perf_counter()
                client.post(
                    f"http://127.0.0.1:{server.server_address[1]}/", content=b'{"n": %d}' % n
                ).raise_for_status()
                while reader.execute("SELECT count(*) FROM bench_raw").fetchone()[0] < n + 1:
                    time.sleep(0.002)
                samples.append((time.perf_counter() - started) * 1000)
    finally:
        server.shutdown()
        conn.close()
        reader.close()
    return samples
