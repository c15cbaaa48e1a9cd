"""The alert receiver on a real SQLite file, over real HTTP on 127.0.0.1: Alertmanager-
shaped batches of 100 alerts, accepted and committed (each POST answered after its
commit), against a raw insert of the same rows; and the latency from a POST to the
incident's row where the board reads it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from opsdeck.backend import board
from opsdeck.backend.alerts import sources
from opsdeck.backend.alerts.server import Receiver, ReceiveSettings
from opsdeck.backend.schema import open_store
from opsdeck.backend.store import Store

from .figure import Figure
from .harness import Run, percentile
from .raw import insert_sql, raw_connect, stored_rows, table_ddl

BATCH = 100
GROUPS = 10
WARMUP_BATCHES = 3
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


def alerts_rate(run: Run) -> Figure:
    measured = run.once("receive.rate", lambda: _rate(run))
    rate, raw = measured.alerts / measured.seconds, measured.alerts / measured.raw_s
    share = rate / raw
    return Figure(
        name=f"receiver: {measured.alerts:,} alerts in Alertmanager batches of {BATCH} -> alerts/s",
        value=rate,
        unit="alerts/s",
        baseline=raw,
        baseline_label=f"raw sqlite3 executemany of the same probe_results rows, {BATCH} per txn, synchronous=FULL",
        target=f">= {RATE_TARGET:.0%} of the baseline",
        target_met=share >= RATE_TARGET,
        note=(
            f"{measured.seconds:.2f} s over HTTP, each POST answered after its commit (parse, dedup, alert rows, "
            f"group probe results, incident rules, audit, feed); {share:.1%} of the raw insert rate"
        ),
    )


def _rate(run: Run) -> RateRun:
    path = run.path("receive-rate.db")
    store = open_store(f"sqlite:///{path}")
    token = sources.add(store, "bench", "bench", "alertmanager").token
    batches = max(10, run.sizes.storm_files // BATCH)
    try:
        with _serving(store, run.path("receive-q")) as base, httpx.Client(timeout=60) as client:
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
    finally:
        store.dispose()
    return RateRun(batches * BATCH, seconds, _raw(path, batches * BATCH))


def _raw(path: Path, count: int) -> float:
    """The same probe_results rows inserted by plain sqlite3 into a copy of the table."""
    conn = raw_connect(path)
    try:
        conn.execute("PRAGMA synchronous = FULL")
        columns, rows = stored_rows(conn, "probe_results", "source = ?", ("receiver:bench",))
        rows = rows[-count:]
        for statement in table_ddl(conn, "probe_results"):
            conn.execute(
                statement.replace("probe_results", "probe_results_raw", 1)
                .replace(" ON probe_results", " ON probe_results_raw")
                .replace("ix_probe_results", "ix_raw_probe_results")
            )
        unique = columns.index("result_key")
        rows = [(*r[:unique], f"raw-{i}", *r[unique + 1 :]) for i, r in enumerate(rows)]
        sql = insert_sql("probe_results_raw", columns)
        started = time.perf_counter()
        for first in range(0, len(rows), BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows[first : first + BATCH])
            conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


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
