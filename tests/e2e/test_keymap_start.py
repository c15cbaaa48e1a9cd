"""`opsdeck` started in a terminal (a pty) with a conflicting keymap or an unknown theme
refuses to start: exit code 2, the binding or the theme named with the fix
(tests/ui/test_keymap.py tests the keymap itself)."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

from ..board_fixtures import seeded_store
from ..cli_process import OPSDECK
from ..conftest import FakeClock


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keymap.toml"
    path.write_text(text, "utf-8")
    return path


def _dashboard(db: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`opsdeck` in a terminal (a pty), as an operator starts the board."""
    environ = {**os.environ, "OPSDECK_CONFIG": "/nonexistent", "TERM": "xterm", **env}
    leader, follower = pty.openpty()
    try:
        return subprocess.run(
            [OPSDECK, "--db", db, "--as", "lead", "--read-only"],
            stdin=follower,
            stdout=follower,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
            timeout=30,  # a board that started anyway would sit here: the test fails
        )
    finally:
        os.close(follower)
        os.close(leader)


def test_the_dashboard_refuses_to_start_with_a_conflicting_keymap_or_an_unknown_theme(
    sqlite_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    seeded_store(sqlite_url, clock).dispose()
    path = write(tmp_path, '[keys]\n"board.sort" = "q"\n')
    result = _dashboard(sqlite_url, OPSDECK_KEYMAP=str(path))
    assert result.returncode == 2
    assert "'q' would be both board.sort and board.quit" in result.stderr and "give one of them" in result.stderr
    result = _dashboard(sqlite_url, OPSDECK_THEME="solarised")
    assert result.returncode == 2
    assert "no theme named 'solarised'" in result.stderr and "textual-light" in result.stderr
