"""`opsdeck report file` with $EDITOR, in a pseudo-terminal as an operator runs it: what
the editor saved is filed; a failing editor files nothing and keeps the text
(tests/store/test_record.py tests the record itself)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from ..cli_process import OPSDECK
from ..conftest import FakeClock
from ..records import resolved_store


@pytest.fixture
def resolved(sqlite_url: str, clock: FakeClock) -> tuple[str, int]:
    return resolved_store(sqlite_url, clock)


def _run_in_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """The CLI with a pseudo-terminal as its standard input, as an operator runs it."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(args, stdin=follower, capture_output=True, text=True, env=env, timeout=60)
    finally:
        os.close(follower)
        os.close(leader)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_editor_path_files_what_the_operator_saved(resolved: tuple[str, int], tmp_path: Path) -> None:
    url, incident_id = resolved
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('(What to change so it does not happen again.)', 'Alert on pool use.'))\n"
    )
    env = {
        **os.environ,
        "OPSDECK_CONFIG": "/nonexistent",
        "OPSDECK_TIMEZONE": "UTC",
        "EDITOR": f"{sys.executable} {editor}",
    }
    env.pop("VISUAL", None)
    base = [OPSDECK, "--db", url, "--as", "servers", "report"]
    code, out = _run_in_a_terminal([*base, "file", str(incident_id)], env)
    assert code == 0, out
    code, out = _run_in_a_terminal([*base, "show", str(incident_id)], env)
    assert "## Lessons\n\nAlert on pool use." in out


def test_a_failing_editor_files_nothing_and_keeps_the_text(resolved: tuple[str, int], tmp_path: Path) -> None:
    url, incident_id = resolved
    env = {**os.environ, "OPSDECK_CONFIG": "/nonexistent", "EDITOR": "false"}
    env.pop("VISUAL", None)
    code, out = _run_in_a_terminal([OPSDECK, "--db", url, "--as", "servers", "report", "file", str(incident_id)], env)
    assert code == 2, out
    assert "the editor exited with 1: nothing filed" in out
    kept = Path(out.split("your text is kept at ")[1].split()[0])
    assert kept.read_text("utf-8").startswith(f"# Post-incident record: #{incident_id}")
    kept.unlink()
