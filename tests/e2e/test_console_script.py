"""The `opsdeck` console script as a process: no command and no terminal, the demo board,
a traceback only with --debug, a refusal told once and logged (tests/store/test_cli.py
runs the commands in this process)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..cli_process import OPSDECK


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OPSDECK_CONFIG": str(tmp_path / "none.toml"),
        "OPSDECK_DB": f"sqlite:///{tmp_path / 'cli.db'}",
    }


def test_no_command_without_a_terminal_exits_2(tmp_path: Path) -> None:
    result = subprocess.run([OPSDECK], capture_output=True, text=True, env=_env(tmp_path), stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert result.stderr.startswith("opsdeck: error: no command given and no terminal")


def test_console_script_demo_prints_the_board(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "COLUMNS": "140"}
    result = subprocess.run([OPSDECK, "demo"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "门户网站首页被篡改" in result.stdout
    assert "II:1" in result.stdout and "III:1" in result.stdout
    assert "Backup tape library offline" not in result.stdout  # closed: not on the board
    assert not (tmp_path / "cli.db").exists()  # never the user's store


def test_traceback_only_with_debug(tmp_path: Path) -> None:
    env = _env(tmp_path)
    bad = tmp_path / "roster.toml"
    bad.write_text("[[member]]\nlogin = 'Bad Login'\nname = 'x'\n")
    result = subprocess.run([OPSDECK, "roster", "import", str(bad)], capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{bad}: record 1: login" in result.stderr
    result = subprocess.run([OPSDECK, "--debug", "roster", "import", str(bad)], capture_output=True, text=True, env=env)
    assert "Traceback" in result.stderr


def test_a_refusal_is_told_once_and_logged_to_the_file(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"), "LANG": "C.UTF-8", "LC_ALL": ""}
    env.pop("OPSDECK_LANG", None)
    roster = Path(__file__).parents[2] / "fixtures" / "demo" / "roster.toml"
    assert subprocess.run([OPSDECK, "--as", "lead", "roster", "import", str(roster)], env=env).returncode == 0
    result = subprocess.run(
        [OPSDECK, "--as", "auditor", "incident", "open", "--title", "x"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "opsdeck: error: opsdeck incident open: auditor is a viewer, and viewers change nothing"
        " — ask a lead to make auditor an operator on the roster"
    ]
    log = (tmp_path / "state" / "opsdeck" / "log" / "opsdeck.log").read_text()
    assert "opsdeck.access WARNING: refused opsdeck incident open for auditor: a viewer" in log
