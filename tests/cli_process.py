"""`opsdeck` run as another process, for the e2e tier: a write or a read from outside the
process under test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OPSDECK = str(Path(sys.executable).with_name("opsdeck"))


def opsdeck(store_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`opsdeck` in another process, as `servers` unless `--as` says otherwise."""
    env = {**os.environ, "OPSDECK_CONFIG": "/nonexistent"}
    login = [] if "--as" in args else ["--as", "servers"]
    return subprocess.run([OPSDECK, "--db", store_url, *login, *args], capture_output=True, text=True, env=env)
