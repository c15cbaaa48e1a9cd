"""kill -9 of a real `opsdeck receive` process during a burst from senders that retry, as
Alertmanager does (every 5xx, refused connection or cut-off answer is retried): nothing
a sender was told it delivered is lost, and nothing is stored twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from opsdeck.backend.schema import open_store

from ..alertmanager_helpers import free_port, wait
from ..receive_helpers import add_source, am_alert, am_body

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
PAYLOADS = 240
SENDERS = 4


def start(url: str, port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPSDECK_DB": url, "OPSDECK_CONFIG": str(tmp_path / "none.toml")}
    log = (tmp_path / "receiver.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "opsdeck.cli", "receive", "--listen", f"127.0.0.1:{port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(base + "/-/healthy", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    assert wait(up, 30), (tmp_path / "receiver.log").read_text()
    return process


def payload(n: int) -> dict[str, object]:
    """Payload n: 1-3 alerts of its own (unique fingerprints), in one of 5 groups."""
    group = f"Burst{n % 5}"
    alerts = [am_alert(group, f"host{n}-{i}", fingerprint=f"{n:08x}{i:08x}") for i in range(1 + n % 3)]
    return am_body(*alerts, group=group)


def expected_alerts() -> int:
    return sum(1 + n % 3 for n in range(PAYLOADS))


def test_kill_9_during_a_burst_loses_nothing_and_doubles_nothing(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    token = add_source(store, "prom", "alertmanager")
    port = free_port()
    base = f"http://127.0.0.1:{port}/sources/prom"
    process = start(store_url, port, tmp_path)
    acknowledged: set[int] = set()
    lock = threading.Lock()
    retries = [0]

    def sender(numbers: list[int]) -> None:
        with httpx.Client(timeout=5) as client:
            for n in numbers:
                while True:  # Alertmanager's webhook retries until it gets a 2xx
                    try:
                        reply = client.post(base, json=payload(n), headers={"Authorization": f"Bearer {token}"})
                        if reply.status_code == 200:
                            with lock:
                                acknowledged.add(n)
                            break
                    except httpx.HTTPError:
                        pass
                    with lock:
                        retries[0] += 1
                    time.sleep(0.05)

    threads = [threading.Thread(target=sender, args=(list(range(i, PAYLOADS, SENDERS)),)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    kills = 0
    for at in (40, 110, 180):
        assert wait(lambda at=at: len(acknowledged) >= at, 120)
        process.send_signal(signal.SIGKILL)  # mid-burst: requests in flight, commits in flight
        process.wait()
        kills += 1
        process = start(store_url, port, tmp_path)
    for thread in threads:
        thread.join(timeout=300)
    # Every payload once more, as a sender that never saw our answer would: all duplicates.
    with httpx.Client(timeout=10) as client:
        for n in range(0, PAYLOADS, 7):
            again = client.post(base, json=payload(n), headers={"Authorization": f"Bearer {token}"})
            assert again.status_code == 200 and again.json()["alerts"] == 0
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert acknowledged == set(range(PAYLOADS)) and kills == 3
    with store.read() as session:
        stored = session.execute(text("SELECT count(*) FROM alerts")).scalar_one()
        distinct = session.execute(text("SELECT count(DISTINCT key) FROM alerts")).scalar_one()
        results = session.execute(text("SELECT count(*) FROM probe_results")).scalar_one()
        opened = session.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    store.dispose()
    assert stored == distinct == results == expected_alerts()  # nothing lost, nothing twice
    assert opened == 5  # one incident per group
    assert retries[0] > 0  # the kills did cut requests off
