"""A real program in a pseudo-terminal, read back through a terminal emulator (pyte),
as an operator's terminal would show it; and what Linux says the program costs
(/proc/PID/stat for CPU time, /proc/PID/status for peak resident memory).

The pty is read all the time (a terminal that stops reading would block the program's
writes and hide its cost) and every byte it writes is counted.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from pathlib import Path

import pyte

from .harness import cli_env

# An incident row as both boards draw it: `#ID title`. The board's placeholder for a
# row still being read is `#ID …`, which does not count.
INCIDENT_ROW = re.compile(r"#\d+ [^…\s]")
CURSOR_MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")
READ_S = 0.01  # longest wait for output between two looks at the clock
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def pty_env(home: Path) -> dict[str, str]:
    """No user config, no user state or logs; Textual sizes itself from the pty, not from
    COLUMNS/LINES inherited from whoever runs the benchmark."""
    home.mkdir(parents=True, exist_ok=True)
    return cli_env() | {
        "TERM": "xterm-256color",
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "COLUMNS": "",
        "LINES": "",
    }


class Terminal:
    def __init__(
        self, argv: Sequence[str | Path], columns: int, rows: int, env: dict[str, str], cwd: Path | None = None
    ) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(a) for a in argv],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.bytes = 0  # everything the program wrote to its terminal
        self.closed = False  # the program closed its end (it exited)
        self.recording: bytearray | None = None  # set one to keep what is written from now on

    @property
    def pid(self) -> int:
        return self.proc.pid

    def read_once(self, timeout: float = READ_S) -> bool:
        """Take what the program wrote within `timeout`; True if anything came."""
        if self.closed:
            time.sleep(timeout)
            return False
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the program exited and the pty is gone
            data = b""
        if not data:
            self.closed = True
            return False
        self.bytes += len(data)
        if self.recording is not None:
            self.recording.extend(data)
        self.stream.feed(data)
        return True

    def pump(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            self.read_once(min(READ_S, left))

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> float | None:
        """Seconds from the spawn until the screen shows `pattern`, or None at the timeout."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if self.read_once() and self.shows(pattern):
                return time.perf_counter() - self.started
            if self.closed and self.proc.poll() is not None:
                return None
        return None

    def wait_exit(self, timeout: float) -> float | None:
        """Seconds from the spawn until the program exited (its output read meanwhile)."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            self.read_once()
            if self.proc.poll() is not None:
                return time.perf_counter() - self.started
        return None

    def shows(self, pattern: re.Pattern[str]) -> bool:
        return any(pattern.search(line) for line in self.screen.display)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def stop(self, quit_keys: str = "\x11", timeout: float = 10.0) -> None:
        """Quit as an operator would (ctrl+q is every Textual app's quit key), else kill;
        always close our end."""
        try:
            if self.proc.poll() is None and not self.closed:
                os.write(self.master, quit_keys.encode())
                if self.wait_exit(timeout) is None:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            os.close(self.master)


def bytes_by_position(output: bytes) -> dict[tuple[int, int], int]:
    """Bytes written after each cursor move (`ESC[line;columnH`), summed by where it moved
    to: which part of the screen the output goes to."""
    parts = CURSOR_MOVE.split(output)
    totals: dict[tuple[int, int], int] = {}
    for index in range(1, len(parts) - 2, 3):
        position = (int(parts[index]), int(parts[index + 1]))
        totals[position] = totals.get(position, 0) + len(parts[index + 2])
    return totals


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of every thread of `pid` so far (fields 14 and 15 of stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces: split after it
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the most resident memory `pid` has held so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"bench: no VmHWM in /proc/{pid}/status")
