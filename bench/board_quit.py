"""How long `q` takes to give the terminal back: the real board in a pseudo-terminal, its
whole list read, against a trivial Textual app quit with ctrl+q after its first frame.
What is left after Textual's own teardown is the process's end (cli/collector.py
`ending`)."""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .board_pty import COLUMNS, LINES, SHOW_CAP_S, TRIVIAL_APP
from .figure import Figure
from .fill import live_incidents
from .harness import ROOT, Run, thousands, venv_script
from .pty_session import INCIDENT_ROW, Terminal, pty_env

QUIT_TARGET = 1.5  # x the trivial app's quit
LOADED_S = 3.0  # after the first row: the whole list is in and the panels are read
RUNS = 5  # Textual's input thread ends within its poll's timeout: medians, not bests


@dataclass(frozen=True)
class Quits:
    opsdeck: list[float]
    trivial: list[float]


def quit_time(run: Run) -> Figure:
    count = run.sizes.open_incidents  # 100k in a full run, the board's largest
    quits = run.once("board.quits", lambda: _time_quits(run, count))
    typical, floor = statistics.median(quits.opsdeck), statistics.median(quits.trivial)
    return Figure(
        name=f"opsdeck q to the shell ({thousands(count)} open incidents, {COLUMNS}x{LINES} pty)",
        value=typical,
        unit="s",
        baseline=floor,
        baseline_label="a trivial Textual app (one Static), ctrl+q to its exit, same pty harness",
        target=f"<= {QUIT_TARGET:g}x the trivial app",
        target_met=typical <= QUIT_TARGET * floor,
        note=(
            f"median of {len(quits.opsdeck)} (best {min(quits.opsdeck):.2f} s; baseline best "
            f"{min(quits.trivial):.2f} s); q pressed {LOADED_S:g} s after the first row, the whole "
            "list read; timed from the key to the process's exit. Textual's own teardown (joining its input "
            "thread) is most of both; the process then ends with its heap frozen (cli/collector.py ending): "
            "the interpreter's last collection walked it all, 0.3 s of a quit"
        ),
    )


def _time_quits(run: Run, count: int) -> Quits:
    filled = live_incidents(run, count)
    env = pty_env(run.path("home-quits"))
    tick = run.progress.stage(f"opsdeck at {count:,} and a trivial app, each quit in a pty", RUNS)
    opsdeck, trivial = [], []
    for index in range(RUNS):  # interleaved: a busy moment hits each alike
        argv = [venv_script("opsdeck"), "--db", f"sqlite:///{filled.path}", "--read-only"]
        opsdeck.append(_quit(argv, env, b"q", LOADED_S))
        trivial.append(_quit([sys.executable, "-c", TRIVIAL_APP], env, b"\x11", 1.0))
        tick(index + 1)
    return Quits(opsdeck, trivial)


def _quit(argv: list[str | Path], env: dict[str, str], key: bytes, settle_s: float) -> float:
    term = Terminal(argv, COLUMNS, LINES, env, cwd=ROOT)
    try:
        if term.wait_for(INCIDENT_ROW, SHOW_CAP_S) is None:
            raise RuntimeError(f"bench: {argv[0]} showed no row within {SHOW_CAP_S:.0f} s:\n{term.text()}")
        term.pump(settle_s)
        pressed = time.perf_counter()
        os.write(term.master, key)
        if term.wait_exit(30.0) is None or term.proc.returncode != 0:
            raise RuntimeError(f"bench: {argv[0]} did not exit cleanly within 30 s of its quit key")
        return time.perf_counter() - pressed
    finally:
        term.stop()
