"""What every figure uses: the run's sizes and scratch folder, progress on stderr, and
timing a subprocess with its own peak memory."""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

T = TypeVar("T")
Tick = Callable[[int], None]
ROOT = Path(__file__).resolve().parent.parent  # the repository: where `python -m bench.…` runs


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does; `--quick` picks the small set."""

    write_actions: int  # incidents opened, then acknowledged, one transaction each
    list_incidents: int  # rows in the store that `incident list --json` dumps
    list_runs: int  # timed runs of the listing; the best one counts
    start_runs: int  # timed CLI starts; the best one counts
    open_incidents: int  # open incidents with their clocks: deadline states, the escalation sweep
    storm_files: int  # .out/.rc pairs dropped into the spool at once
    latency_samples: int  # pairs written one at a time under the running watcher
    frame_counts: tuple[int, ...]  # open incidents the board's first frame is timed at
    tick_window_s: float  # how long the running board's CPU and terminal output are watched
    board_samples: int  # changes (and probe files) timed until another board shows them
    history_incidents: int  # two years of incidents with their clocks and trail: stats


FULL = Sizes(
    write_actions=2000,
    list_incidents=100_000,
    list_runs=3,
    start_runs=10,
    open_incidents=100_000,
    storm_files=10_000,
    latency_samples=200,
    frame_counts=(10_000, 100_000),
    tick_window_s=60.0,
    board_samples=50,
    history_incidents=100_000,
)
QUICK = Sizes(
    write_actions=300,
    list_incidents=10_000,
    list_runs=3,
    start_runs=5,
    open_incidents=10_000,
    storm_files=2_000,
    latency_samples=50,
    frame_counts=(10_000,),
    tick_window_s=10.0,
    board_samples=20,
    history_incidents=10_000,
)


class Progress:
    """One status line on stderr: which figure, which stage, how far.

    On a terminal the line is redrawn in place (at most 10 times a second); in a log it
    is written as new lines at most every 5 s, so CI output stays readable.
    """

    def __init__(self, total_figures: int, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.total = total_figures
        self.index = 0
        self.figure = ""
        self._last = 0.0

    def start_figure(self, name: str) -> None:
        self.index += 1
        self.figure = name
        self._write(self._prefix(), force=True)

    def stage(self, label: str, total: int = 0) -> Tick:
        """A stage of the current figure; call the result with how many of `total` are done."""
        self._write(f"{self._prefix()}: {label}", force=True)

        def tick(done: int) -> None:
            share = f" {100 * done // total:3d}%" if total else ""
            self._write(f"{self._prefix()}: {label} {done:,}/{total:,}{share}", force=done >= total)

        return tick

    def end_figure(self, summary: str, seconds: float) -> None:
        line = f"{self._prefix()}: {summary} ({seconds:.1f} s)"
        if self.tty:
            self.stream.write(f"\r{line}\x1b[K\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _prefix(self) -> str:
        return f"[{self.index}/{self.total}] {self.figure}"

    def _write(self, line: str, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last < (0.1 if self.tty else 5.0):
            return
        self._last = now
        self.stream.write(f"\r{line}\x1b[K" if self.tty else line + "\n")
        self.stream.flush()


@dataclass
class Run:
    """One benchmark run: sizes, a scratch folder, progress, and setup shared by figures."""

    quick: bool
    sizes: Sizes
    workdir: Path
    progress: Progress
    _shared: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, build: Callable[[], T]) -> T:
        """Build shared setup (a filled store, a set of timings) the first time it is asked for.

        Figures stay independent (any one can run alone) yet pay for the setup once.
        """
        if key not in self._shared:
            self._shared[key] = build()
        return self._shared[key]  # type: ignore[no-any-return]

    def path(self, name: str) -> Path:
        return self.workdir / name


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="opsdeck-bench-")


def venv_script(name: str) -> Path:
    """A console script of the interpreter running the benchmark (`.venv/bin/opsdeck`)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise SystemExit(f"bench: {path} not found; install opsdeck into this venv (pip install -e .)")
    return path


@dataclass(frozen=True)
class Sample:
    """One finished subprocess: wall time and its own peak resident memory."""

    seconds: float
    max_rss_kib: int
    stderr: str


# Measures one command from a small process of its own. Peak RSS survives fork and
# exec on Linux: a command spawned straight from this (large) process would report our
# peak, not its own. Forked from this launcher it starts from ~9 MiB, below any command
# measured. The launcher also times fork-to-exit, so its own start-up is not counted.
LAUNCHER = textwrap.dedent(
    """
    import json, os, sys, time
    report, argv = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    with open(report, "w") as out:
        json.dump({"seconds": seconds, "exit": os.waitstatus_to_exitcode(status), "max_rss_kib": usage.ru_maxrss}, out)
    """
)


def run_command(
    argv: Sequence[str | Path],
    *,
    env: dict[str, str] | None = None,
    stdout: IO[Any] | int = subprocess.DEVNULL,
) -> Sample:
    """Run argv to completion; fail loudly if it fails (a broken figure is not a number)."""
    with tempfile.TemporaryDirectory(prefix="opsdeck-bench-run-") as folder:
        report, errors = Path(folder, "report.json"), Path(folder, "stderr")
        with errors.open("w") as err:
            launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(report), *map(str, argv)]
            subprocess.run(launcher, stdout=stdout, stderr=err, env=env, check=True)
        measured = json.loads(report.read_text())
        stderr = errors.read_text(errors="replace")
    if measured["exit"] != 0:
        shown = " ".join(str(a) for a in argv)
        raise RuntimeError(f"bench: `{shown}` exited {measured['exit']}:\n{stderr.strip()}")
    return Sample(seconds=measured["seconds"], max_rss_kib=measured["max_rss_kib"], stderr=stderr)


def best(samples: Sequence[Sample]) -> Sample:
    """The fastest run: noise (other processes, a cold cache) only ever adds time."""
    return min(samples, key=lambda s: s.seconds)


def median_seconds(samples: Sequence[Sample]) -> float:
    ordered = sorted(s.seconds for s in samples)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@contextmanager
def gc_paused() -> Iterator[None]:
    """No garbage collection while timing a pure function over many inputs, as timeit does:
    a batch of 100k results triggers collections one call in a real write never would."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def thousands(count: int) -> str:
    return f"{count // 1000}k" if count % 1000 == 0 else f"{count:,}"


def percentile(values: Sequence[float], share: int) -> float:
    """The `share`th percentile (1-99), interpolated between the nearest samples."""
    return statistics.quantiles(values, n=100, method="inclusive")[share - 1]


def cli_env() -> dict[str, str]:
    """The environment for CLI runs: no user config or OPSDECK_* setting may steer them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSDECK_")}
    env["OPSDECK_CONFIG"] = "/nonexistent"
    # An installed opsdeck has its bytecode compiled (pip does it at install); a machine
    # that sets PYTHONDONTWRITEBYTECODE would make every run compile every module again
    # and time the compiler, not the start-up (about 0.5 s of the CLI's start here).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
