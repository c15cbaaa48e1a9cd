"""`python -m bench.first_frame {opsdeck,datatable,trivial} PATH COUNT`: how long an app
under `run_test(size=(160, 48))` takes to draw its first screen of real incident rows.

Run in a process of its own, so the parent can cap a baseline that never finishes and
every app starts from the same cold state. Prints one JSON line of seconds since
`run_test` started (`seconds` is the figure) and the process's peak RSS.

"Drawn" is observed, not guessed: the list widget's `render_line` is wrapped on the
instance, and the frame counts once every line of its viewport has been rendered while
the rows on screen are the right ones: for opsdeck, the first screenful of the board's
order as `load_keys` sorts all COUNT incidents (read before timing) with their rows in;
for DataTable, all COUNT rows added (it cannot show any before). opsdeck's `all_s` is
when it holds every one of the COUNT keys (scrolling anywhere works). `trivial` (one
Static) is the floor: what `run_test` and a first frame cost with no data at all.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable, Static

from opsdeck.backend import board
from opsdeck.backend.config import Config
from opsdeck.backend.schema import open_store
from opsdeck.tui.app import build_app
from opsdeck.tui.widgets.incident_list import IncidentList

from .datatable_board import DataTableBoard
from .harness import ROOT
from .pty_session import peak_rss_kib

SIZE = (160, 48)
POLL_S = 0.002


@dataclass
class Subject:
    """An app to time: where its list widget is, when it holds the data, what to add."""

    app: App[Any]
    find: Callable[[], Widget | None]
    ready: Callable[[], bool]
    extra: Callable[[float], dict[str, float]] = lambda started: {}  # more times, from `started`
    close: Callable[[], None] = lambda: None
    complete: Callable[[], bool] = lambda: True  # every row held, not only the first screen


class FrameWatch:
    """Notes when `widget` has drawn every line of its viewport while `ready()` held."""

    def __init__(self, widget: Widget, ready: Callable[[], bool]) -> None:
        self.drawn_at: float | None = None
        self._lines: set[int] = set()
        original = widget.render_line

        def render_line(y: int) -> Strip:
            strip: Strip = original(y)
            if self.drawn_at is None and ready():
                self._lines.add(y)
                if len(self._lines) >= widget.size.height:
                    self.drawn_at = time.perf_counter()
            return strip

        widget.render_line = render_line  # type: ignore[method-assign]


async def measure(subject: Subject) -> dict[str, float]:
    """Seconds from `run_test` starting to the list being mounted, to its data being in
    (as seen by a 2 ms poll: a blocked event loop delays it too) and to the first full
    frame of real rows."""
    started = time.perf_counter()
    data_at: float | None = None
    async with subject.app.run_test(size=SIZE):
        widget = subject.find()
        while widget is None:  # the board's screen is pushed in on_mount
            await asyncio.sleep(POLL_S)
            widget = subject.find()
        mounted_at = time.perf_counter()
        watch = FrameWatch(widget, subject.ready)
        widget.refresh()  # a widget already drawn with its data (the trivial app) draws once more
        complete_at: float | None = None
        while watch.drawn_at is None or complete_at is None:
            if data_at is None and subject.ready():
                data_at = time.perf_counter()
            if complete_at is None and subject.complete():
                complete_at = time.perf_counter()
            await asyncio.sleep(POLL_S)
        drawn_at = watch.drawn_at
        subject.app.exit()
    return {
        "seconds": drawn_at - started,
        "mounted_s": mounted_at - started,
        "data_s": (data_at or drawn_at) - started,
        "all_s": complete_at - started,
        **subject.extra(started),
    }


def _query(app: App[Any], kind: type[Widget]) -> Callable[[], Widget | None]:
    def find() -> Widget | None:
        try:
            return app.screen.query_one(kind)
        except NoMatches:
            return None

    return find


def opsdeck(path: Path, count: int) -> Subject:
    store = open_store(f"sqlite:///{path}")  # opened (and its schema checked) before timing, as the CLI does
    app = build_app(
        Config(timezone="UTC", keymap=str(ROOT / "bench" / "no-keymap.toml")), store, "lead", read_only=True
    )
    with store.read() as session:
        keys = board.load_keys(session, board.BoardFilter())
    if len(keys) != count:
        raise SystemExit(f"bench: {path} holds {len(keys)} open incidents, not {count}")
    first_screen = [k.id for k in keys[: SIZE[1]]]
    del keys
    find = _query(app, IncidentList)

    def ready() -> bool:
        found = find()
        if not isinstance(found, IncidentList):
            return False
        visible = found.visible_ids()
        return bool(visible) and visible == first_screen[: len(visible)] and all(i in found.rows for i in visible)

    def complete() -> bool:
        found = find()
        return isinstance(found, IncidentList) and len(found.order) == count

    return Subject(app, find, ready, close=store.dispose, complete=complete)


def datatable(path: Path, count: int) -> Subject:
    app = DataTableBoard(path)
    find = _query(app, DataTable)

    def ready() -> bool:
        found = find()
        return isinstance(found, DataTable) and found.row_count == count

    def extra(started: float) -> dict[str, float]:
        return {"read_s": app.read_s, "add_rows_s": app.added_s, "added_at_s": app.shown_at - started}

    return Subject(app, find, ready, extra)


class TrivialApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("ready")


def trivial(path: Path, count: int) -> Subject:
    app = TrivialApp()
    return Subject(app, _query(app, Static), lambda: True)


SUBJECTS: dict[str, Callable[[Path, int], Subject]] = {"opsdeck": opsdeck, "datatable": datatable, "trivial": trivial}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in SUBJECTS:
        print(f"usage: python -m bench.first_frame {{{','.join(SUBJECTS)}}} PATH COUNT", file=sys.stderr)
        return 2
    subject = SUBJECTS[argv[0]](Path(argv[1]), int(argv[2]))
    try:
        result = asyncio.run(measure(subject))
    finally:
        subject.close()
    # VmHWM, not ru_maxrss: ru_maxrss carries the (big) bench parent's peak across fork and exec.
    result["max_rss_kib"] = peak_rss_kib(os.getpid())
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
