"""The spool with real processes and a real watcher: kill -9 mid-storm, two ingesters
at once, the spool deleted and recreated under a running watcher."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from opsdeck.backend.ingest import Ingester, SpoolSettings
from opsdeck.backend.models import ProbeResult
from opsdeck.backend.store import Store

OPSDECK = str(Path(sys.executable).with_name("opsdeck"))


def _env() -> dict[str, str]:
    return {**os.environ, "OPSDECK_CONFIG": "/nonexistent"}


def storm(spool: Path, count: int, prefix: str = "storm") -> None:
    """`count` plugin results, each with its own name and output, as probes write them."""
    for n in range(count):
        name = f"{prefix}-{n:05d}"
        (spool / f"{name}.out.tmp").write_text(f"OK - {prefix} result {n}\n")
        os.replace(spool / f"{name}.out.tmp", spool / f"{name}.out")
        (spool / f"{name}.rc.tmp").write_text("0\n")
        os.replace(spool / f"{name}.rc.tmp", spool / f"{name}.rc")


def outputs(store: Store) -> list[str]:
    with store.read() as session:
        return list(session.execute(select(ProbeResult.output)).scalars())


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def drain(store_url: str, spool: Path) -> None:
    result = subprocess.run(
        [OPSDECK, "--db", store_url, "ingest", "--spool", str(spool), "--once", "--json"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_kill_9_mid_storm_loses_nothing_and_doubles_nothing(store: Store, store_url: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    watcher = subprocess.Popen(
        [OPSDECK, "--db", store_url, "ingest", "--spool", str(spool)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
    )
    try:
        time.sleep(1.5)  # watching
        storm(spool, 1500)
        assert wait_for(lambda: len(outputs(store)) > 100), "the watcher took nothing in"
        watcher.send_signal(signal.SIGKILL)  # mid-storm: some files committed, some not, maybe one half
        watcher.wait(timeout=10)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    drain(store_url, spool)
    drain(store_url, spool)
    got = outputs(store)
    assert len(got) == len(set(got)) == 1500
    assert not [n for n in os.listdir(spool) if n.endswith((".out", ".rc"))]


@pytest.mark.slow
def test_two_ingesters_at_once_take_each_file_once(store: Store, store_url: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    storm(spool, 800)
    procs = [
        subprocess.Popen(
            [OPSDECK, "--db", store_url, "ingest", "--spool", str(spool), "--once", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    got = outputs(store)
    assert len(got) == len(set(got)) == 800


@pytest.mark.slow
def test_the_watcher_survives_its_spool_being_deleted_and_recreated(store: Store, tmp_path: Path) -> None:
    from opsdeck.backend import spool_watch

    spool = tmp_path / "spool"
    ingest = Ingester(store, SpoolSettings(spool, settle_s=0.2))
    stop = threading.Event()
    thread = threading.Thread(target=spool_watch.watch, args=(ingest, stop), kwargs={"rescan_s": 0.5}, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: spool.exists())
        storm(spool, 3, "before")
        assert wait_for(lambda: len(outputs(store)) == 3)
        # Moved out of the way after their commit: deleting the spool while the ingester
        # still moves them into done/ fails the deletion itself (a busy `done`), not the watcher.
        assert wait_for(lambda: not [p for p in spool.iterdir() if p.suffix in (".out", ".rc")])
        gone = spool.with_name("spool-deleted")
        os.rename(spool, gone)  # deleted at once, as `rm -rf` looks to the watcher
        shutil.rmtree(gone)
        spool.mkdir(exist_ok=True)  # the watcher may have recreated it already
        storm(spool, 3, "after")
        assert wait_for(lambda: len(outputs(store)) == 6, timeout=15), "the recreated spool went unwatched"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.slow
def test_a_file_written_is_committed_within_a_second(store: Store, tmp_path: Path) -> None:
    from opsdeck.backend import spool_watch

    spool = tmp_path / "spool"
    ingest = Ingester(store, SpoolSettings(spool))
    stop = threading.Event()
    thread = threading.Thread(target=spool_watch.watch, args=(ingest, stop), kwargs={"rescan_s": 30}, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: (spool / "done").exists())
        time.sleep(0.3)
        for n in range(5):
            started = time.monotonic()
            storm(spool, 1, f"latency{n}")
            assert wait_for(lambda n=n: len(outputs(store)) == n + 1, timeout=5)
            assert time.monotonic() - started < 1.0  # the rescan timer is 30 s: this was the watcher
    finally:
        stop.set()
        thread.join(timeout=10)
