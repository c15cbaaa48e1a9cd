"""The wall: the board for a wall-mounted screen, read from across the room.

Read-only whatever the login: no writing key, no prompt, no palette, no mouse. A big
clock and the open incidents per level; the most urgent incidents in the board's order
(breached first, then by due time), each with a big countdown to its next deadline,
in pages that turn on a timer; the probes and who is on duty.

Live the way the board is: every store read runs in a thread worker, the change feed
(`backend.live.FeedWatcher`) says what changed, a burst of changes is one reload.

What the wall reads and which incidents alert is decided in `backend/wall.py`; this
screen draws it. An alert's row flashes (1 Hz, below the 2 Hz limit) and the terminal
bell rings once, until a person acknowledges it anywhere.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from opsdeck.backend.board_page import Panels, Row
from opsdeck.backend.i18n import _
from opsdeck.backend.sanitize import clean
from opsdeck.backend.wall import Alerts, Request, WallLoad, read_wall
from opsdeck.tui.board_words import board_text
from opsdeck.tui.context import BoardContext
from opsdeck.tui.feed import FeedFollower
from opsdeck.tui.widgets.panels import Banners
from opsdeck.tui.widgets.wall import (
    LevelCounters,
    OnDuty,
    ProbeSummary,
    RowView,
    WallClock,
    WallRow,
    WallRows,
    status_line,
)

MAX_PER_PAGE = 20
WIDE = 120  # columns from which the probes and the roster get a side of their own
BLINK_S = 0.25  # how often the flash phase is looked at; the phase itself turns every 0.5 s


# -- the screen --------------------------------------------------------------------------


class WallScreen(FeedFollower, Screen[None]):
    """The wall. No bindings of its own: the app's ctrl+q quits, nothing else does anything."""

    AUTO_FOCUS = None
    DEFAULT_CSS = """
    WallScreen { layout: vertical; }
    WallScreen Static { text-wrap: nowrap; text-overflow: ellipsis; }
    WallScreen Banners { text-wrap: nowrap; text-overflow: ellipsis; }
    #wall-title { height: 1; background: $panel; }
    #wall-title > #title { width: 1fr; }
    #wall-title > #page { width: auto; padding: 0 1; text-style: bold; }
    #wall-top { height: 4; }
    #wall-main { height: 1fr; }
    #wall-incidents { width: 1fr; padding: 0 1; }
    #wall-empty { height: 3; content-align: center middle; color: $text-muted; text-style: bold; }
    #wall-side { display: none; width: 58; border-left: solid $primary; padding: 0 1; }
    #wall-side > OnDuty { margin-top: 1; }
    #wall-status { height: 1; background: $panel; }
    WallScreen.-wide #wall-side { display: block; }
    WallScreen.-wide #wall-status { display: none; }
    WallScreen.-wide WallRow { margin-bottom: 1; }
    """

    def __init__(self, context: BoardContext, *, bell: bool = True, page_seconds: float = 10.0) -> None:
        super().__init__()
        self.ctx = context
        self.bell = bell
        self.page_seconds = page_seconds
        self.alerts = Alerts()
        self.order: list[int] = []
        self.rows: dict[int, Row] = {}
        self.rules: dict[str, tuple[str, str]] = {}
        self.panels: Panels | None = None
        self.page = 0
        self.per_page = 1
        self.unreadable_since: datetime | None = None
        self.last_error = ""
        self.clock_skew: float | None = None
        self._loaded_once = False
        self._pending: set[int] = set()
        self._parts: set[str] = set()
        self._full = True
        self._flash = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="wall-title"):
            yield Static("", id="title")
            yield Static("", id="page")
        with Horizontal(id="wall-top"):
            yield WallClock(self.ctx.zone)
            yield LevelCounters()
        yield Banners(classes="-empty")
        with Horizontal(id="wall-main"):
            with WallRows(id="wall-incidents"):
                yield Static(_("Loading…"), id="wall-empty")
                for _row in range(MAX_PER_PAGE):
                    yield WallRow()
            with Vertical(id="wall-side"):
                yield ProbeSummary()
                yield OnDuty()
        yield Static("", id="wall-status")

    def on_mount(self) -> None:
        for row in self.query(WallRow):
            row.display = False
        self._title()
        self._tick()
        self.set_interval(1.0, self._tick)
        self.set_interval(BLINK_S, self._blink)
        self.set_interval(self.page_seconds, self._turn_page)
        self._flush()
        self.watch_feed()

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "-wide")
        self.call_after_refresh(self._relayout)

    @on(WallRows.Resized)
    def _rows_resized(self) -> None:
        self._relayout()

    def _relayout(self) -> None:
        height = self.query_one("#wall-incidents").content_region.height
        per_page = (height + 1) // 4 if self.has_class("-wide") else height // 3
        self.per_page = max(1, min(MAX_PER_PAGE, per_page))
        self._show()

    # -- time ------------------------------------------------------------------------------

    def _tick(self) -> None:
        now = self.ctx.clock()
        self.query_one(WallClock).show(now)
        before = set(self.alerts.active)
        if self.alerts.late(self.rows, now) and self.bell:
            self.app.bell()
        self.alerts.settle(self.rows, now)
        if set(self.alerts.active) != before:
            self._show()
        for row in self._visible():
            row.tick(now)
        self._banners(now)
        if self.panels is not None and self.panels.duty_changes_at is not None and now >= self.panels.duty_changes_at:
            self.panels = replace(self.panels, duty_changes_at=None)  # a hand-off: who is on duty changed
            self._changed(frozenset(), False, True)

    def _blink(self) -> None:
        """The flash phase comes from the clock: every 0.5 s on a real one, frozen on a
        test's, so a picture of the wall is always the same."""
        flash = int(self.ctx.clock().timestamp() * 2) % 2 == 0
        if flash != self._flash:
            self._flash = flash
            self._flash_rows()

    def _flash_rows(self) -> None:
        for row in self._visible():
            row.set_class(self._flash and row.view is not None and row.view.alert is not None, "-flash")

    def _turn_page(self) -> None:
        if self.pages > 1:
            self.page = (self.page + 1) % self.pages
            self._show()

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.order) / self.per_page))

    def _visible(self) -> list[WallRow]:
        return [row for row in self.query(WallRow) if row.display]

    # -- reading the store (thread workers) ----------------------------------------------------

    @work(thread=True, group="load", exit_on_error=False)
    def load(self, request: Request) -> WallLoad:
        return read_wall(self.ctx.store, self.ctx.clock(), request)

    # -- applying (event loop) ---------------------------------------------------------------

    def _readable(self) -> None:
        if self.unreadable_since is not None:
            self.unreadable_since = None
            self._full = True
            self._flush()

    def _beat(self, beat: datetime | None, leases: tuple[Any, ...] = ()) -> None:
        if self.panels is not None:
            self.panels = replace(self.panels, worker_beat_at=beat, duty_leases=leases)
            self._banners(self.ctx.clock())

    def _changed(self, incidents: frozenset[int], probes: bool, roster: bool) -> None:
        self._pending |= incidents
        if incidents or roster:
            self._parts.add("incidents")
        if probes:
            self._parts.add("probes")
        self._flush()

    def _flush(self) -> None:
        """One load at a time; what changed meanwhile is read by the next one."""
        loading = any(w.group == "load" and w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in self.workers)
        if loading or not (self._full or self._pending or self._parts):
            return
        request = Request(
            first=not self._loaded_once,
            full=self._full,
            changed=frozenset(self._pending),
            parts=frozenset(self._parts),
            cached=frozenset(self.rows),
            watermark=self.alerts.watermark,
        )
        self._full, self._pending, self._parts = False, set(), set()
        self.load(request)

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "load" or worker.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if worker.state == WorkerState.ERROR:
            error = worker.error
            self._unreadable(board_text(error, self.ctx.zone))
            self._full = True  # read everything again once the store answers
            return
        if isinstance(worker.result, WallLoad):
            self._apply(worker.result)
        self._flush()

    def _apply(self, load: WallLoad) -> None:
        now = self.ctx.clock()
        self._loaded_once = True
        self.order = [k.id for k in load.top]
        self.rows = {i: row for i in self.order if (row := load.rows.get(i) or self.rows.get(i)) is not None}
        self.rules = load.rules or self.rules
        if load.panels is not None:
            self.panels = load.panels
        elif load.panel_fields and self.panels is not None:
            self.panels = replace(self.panels, **load.panel_fields, read_at=now)
        if self.alerts.loaded(load, self.rows, now) and self.bell:
            self.app.bell()
        if self.panels is not None:
            self.query_one(LevelCounters).show(self.panels.counts)
            self.query_one(ProbeSummary).show(self.panels)
            self.query_one(OnDuty).show(self.panels)
            self.query_one("#wall-status", Static).update(status_line(self.panels))
        self._show()
        self._banners(now)

    def _show(self) -> None:
        """The current page: rows, their alert state and flash, the title."""
        self.page = min(self.page, self.pages - 1)
        start = self.page * self.per_page
        ids = [i for i in self.order[start : start + self.per_page] if i in self.rows]
        now = self.ctx.clock()
        for n, widget in enumerate(self.query(WallRow)):
            if n < len(ids):
                row = self.rows[ids[n]]
                clock = row.clock(now)
                rule = self.rules.get(clock.rule) if clock else None
                widget.show(RowView(row, self.alerts.kind_of(row.id), rule, clock), now)
                widget.display = True
            else:
                widget.display = False
        empty = self.query_one("#wall-empty", Static)
        empty.display = not ids
        if self._loaded_once:
            empty.update(_("No open incidents."))
        self._flash_rows()
        self._title()

    def _title(self) -> None:
        ctx = self.ctx
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(" opsdeck wall ", "bold reverse")
        if alerted := self.alerts.ids():
            text.append(" ! " + _("{count} to acknowledge:").format(count=len(alerted)) + " ", "bold reverse red")
            text.append(" ".join(f"#{i}" for i in alerted[:8]) + " ", "bold reverse red")
        text.append(f"  {clean(ctx.where)}", "dim")
        text.append(f"  {clean(ctx.login)} " + _("read-only"), "dim")
        text.append("  " + _("ctrl+q quits"), "dim")
        self.query_one("#title", Static).update(text)
        total = sum(self.panels.counts.values()) if self.panels else len(self.order)
        shown = _("{count} open").format(count=total)
        if total > len(self.order):
            shown += " " + _("(top {count})").format(count=len(self.order))
        page = "  " + _("page {page}/{pages}").format(page=self.page + 1, pages=self.pages) if self.pages > 1 else ""
        self.query_one("#page", Static).update(Text(shown + page, no_wrap=True))
