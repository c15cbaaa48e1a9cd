"""Debian's real Alertmanager (`prometheus-alertmanager`) and `amtool`, run by the tests
on 127.0.0.1 with a configuration of their own."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

BINARY = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"


def require() -> None:
    if not (Path(BINARY).exists() and Path(AMTOOL).exists()):
        pytest.fail(
            "Debian's prometheus-alertmanager is not installed: apt-get install prometheus-alertmanager (.ci/run does)"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ROUTE = """route:
  receiver: opsdeck
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
"""


@contextmanager
def alertmanager(tmp_path: Path, receivers: str, route: str = ROUTE, port: int | None = None) -> Iterator[str]:
    """A running Alertmanager with this `receivers:` section; yields its base URL."""
    require()
    port = port or free_port()
    folder = tmp_path / f"am-{port}"
    folder.mkdir()
    config = folder / "alertmanager.yml"
    config.write_text(route + receivers, "utf-8")
    check = subprocess.run([AMTOOL, "check-config", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    log = (folder / "am.log").open("w")
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait(lambda: _ready(url), 20), (folder / "am.log").read_text()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def amtool(url: str, *args: str) -> str:
    done = subprocess.run([AMTOOL, f"--alertmanager.url={url}", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def wait(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return bool(predicate())
