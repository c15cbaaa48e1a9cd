"""Progress for long work (imports, backups, big listings), on a terminal only."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .i18n import _


class Progress:
    """Call with (done, total); draws at most 10 times a second on stderr if it is a tty."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        percent = f"{100 * done // total:3d}%" if total else ""
        line = _("{label}: {done}/{total} {percent}").format(label=self.label, done=done, total=total, percent=percent)
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def done(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
