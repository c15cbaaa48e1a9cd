"""`opsdeck` run as another process, for the e2e tier: a write or a read from outside the
process under test, the environment such a process runs in, incidents already overdue
when it starts, and waiting for what it does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service
from opsdeck.backend.timeutil import utcnow

OPSDECK = str(Path(sys.executable).with_name("opsdeck"))


def opsdeck(store_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`opsdeck` in another process, as `servers` unless `--as` says otherwise."""
    env = {**os.environ, "OPSDECK_CONFIG": "/nonexistent"}
    login = [] if "--as" in args else ["--as", "servers"]
    return subprocess.run([OPSDECK, "--db", store_url, *login, *args], capture_output=True, text=True, env=env)


def past_incidents(store_url: str, count: int) -> None:
    """Incidents reported three hours ago, unclassified: several clocks already breached."""
    then = utcnow() - timedelta(hours=3)
    past = open_store(store_url, clock=lambda: then)
    for n in range(count):
        Service(past, "servers").open(f"breached {n}", category="network_fault", level="IV")
    past.dispose()


def process_env() -> dict[str, str]:
    """The environment of an opsdeck process under test: this checkout importable, no config file."""
    return {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "OPSDECK_CONFIG": "/nonexistent"}


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Whether `predicate` came true within `timeout` seconds (polled every 0.1 s)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False
