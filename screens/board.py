"""The board: open incidents with live countdowns, probe health, the roster.

Data flows down as snapshots, events flow up as messages. Every store read runs in a
thread worker; a worker never touches a widget, it returns a snapshot that is applied
on the event loop. A feed watcher polls about ten times a second; a burst of changes
is one reload, and a reload re-reads only the incidents that changed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from opsdeck.backend import board_page as board
from opsdeck.backend.board_page import BoardFilter, Panels, Places
from opsdeck.backend.errors import OpsdeckError
from opsdeck.backend.i18n import _
from opsdeck.screens.board_filter import BoardFiltering, sort_name
from opsdeck.screens.board_keys import BoardKeys
from opsdeck.screens.board_load import Loaded, read_first_page
from opsdeck.screens.board_news import BoardNews
from opsdeck.screens.incident_actions import IncidentActions
from opsdeck.tui import deferred
from opsdeck.tui.board_words import board_text
from opsdeck.tui.feed import FeedFollower
from opsdeck.tui.heap import freeze_heap, release_heap
from opsdeck.tui.text import cell, rcell
from opsdeck.tui.triage import ACTIONS, BY_NAME
from opsdeck.tui.widgets.incident_list import (
    CAT_W,
    CLOCK_W,
    LEVEL_W,
    OWNER_W,
    STATUS_W,
    CountdownColumn,
    IncidentList,
    LevelColumn,
    clock_width,
    title_width,
)
from opsdeck.tui.widgets.keyhints import KeyHints
from opsdeck.tui.widgets.panels import Banners, BoardHeader, ProbePanel, ReadinessPanel, RosterPanel
from opsdeck.tui.widgets.status_line import Status, StatusLine
from opsdeck.tui.widgets.warning_panel import WarningPanel

if TYPE_CHECKING:
    from opsdeck.tui.context import BoardContext

FULL_RELOAD_AT = 2000  # more changed incidents than this: re-read the whole key list
DRAWN_WAIT_S = 2.0  # the panels' read waits this long for the first page to be drawn
# The board's own keys: none starts a thread that imports the ORM's modules, so they work
# before those are in (tui/deferred.py); every other key waits for them.
EARLY_ACTIONS = frozenset({"quit", "sort", "filter", "clear_filter", "toggle_panels"})


class BoardScreen(IncidentActions, BoardNews, BoardKeys, BoardFiltering, FeedFollower, Screen[None]):
    BINDINGS = [
        *(a.binding for a in ACTIONS),
        Binding("n", "new_incident", _("New"), id="board.new"),
        Binding("h", "history", _("History"), id="board.history", show=False),
        Binding("H", "handover", _("Handover"), id="board.handover", show=False),
        Binding("W", "warnings", _("Warnings"), id="board.warnings", show=False),
        Binding("at", "replay", _("Replay a past moment"), id="board.replay", show=False),
        Binding("T", "shift", _("Take/end shift"), id="board.shift", show=False),
        Binding("S", "schedule", _("Duty schedule"), id="board.schedule", show=False),
        Binding("F", "statistics", _("Statistics"), id="board.stats", show=False),
        Binding("slash", "filter", _("Filter"), id="board.filter"),
        Binding("escape", "clear_filter", _("Clear filter"), id="board.clear_filter", show=False),
        Binding("s", "sort", _("Sort"), id="board.sort"),
        Binding("p", "toggle_panels", _("Probes"), id="board.panels"),
        Binding("question_mark", "help", _("Help"), id="board.help"),
        Binding("q", "quit", _("Quit"), id="board.quit"),
    ]

    class FirstPage(Message):
        """The board's first page is on screen: the app may start its own threads."""

    STATUSES: tuple[str, ...] = ("reported", "acknowledged", "resolved")
    SORTS: tuple[str, ...] = board.SORTS
    EMPTY = _("No open incidents.")
    EMPTY_MATCH = _("No open incidents match: {filter} (esc clears)")

    def __init__(self, context: BoardContext) -> None:
        super().__init__()
        self.ctx = context
        self.places = Places()  # every listed incident's key, in board order (backend/board_order.py)
        self.filter = BoardFilter()
        self.sort = self.SORTS[0]
        self.keys_sort = self.sort  # the order the keys were read for (board.keys_serve)
        self.panels: Panels | None = None
        self.unreadable_since: datetime | None = None
        self.last_error = ""
        self.clock_skew: float | None = None  # this host's clock minus the database's (PostgreSQL)
        self._pending: set[int] = set()
        self._full_pending = False
        self.reorder_at: datetime | None = None
        self.ranked_at: datetime | None = None  # the keys rank reporting clocks as at this moment
        self._rerank = False  # a reporting clock entered its warning band: re-read its incident's key
        self._heap_frozen = False  # freeze_heap ran after this board's first whole list
        self.filter_error = ""  # the filter just typed was refused: the status line says why
        self.newest: int | None = None  # incidents above this id are announced as new
        self._ticked_at = context.clock()  # clocks running out after this are announced
        self._parts: set[str] = set()  # panel parts to read again: "incidents", "probes"
        self._page_drawn = threading.Event()  # the first page is on screen

    def compose(self) -> ComposeResult:
        ctx = self.ctx
        yield BoardHeader(
            login=ctx.login, permission=ctx.permission, read_only=ctx.read_only, zone=ctx.zone, where=ctx.where
        )
        yield Banners(classes="-empty")
        with Horizontal(id="main"):
            with Vertical(id="incidents"):
                yield Static(self._column_header(), id="list-header")
                incident_list = IncidentList(ctx.clock, id="list")
                with Horizontal(id="rows"):
                    yield LevelColumn(incident_list)
                    yield CountdownColumn(incident_list)
                    yield incident_list
            with Vertical(id="side"):
                yield ProbePanel()
                yield WarningPanel()
                yield ReadinessPanel()
                yield RosterPanel()
        yield StatusLine(id="status")
        yield Input(
            placeholder=_("filter: words  level:III  cat:network  owner:LOGIN  status:reported  (esc clears)"),
            id="filter",
        )
        yield KeyHints()

    @staticmethod
    def _column_header() -> str:
        due = cell(_("DUE"), 9 + 1 + CLOCK_W)
        return f"{cell(_('LEVEL'), LEVEL_W)} {due} {cell(_('CATEGORY'), CAT_W)} {cell(_('TITLE'), 20)}{' ' * 4}"

    def on_mount(self) -> None:
        self.query_one(IncidentList).focus()
        self.query_one("#filter", Input).display = False
        self.query_one("#filter", Input).cursor_blink = False  # steady: no repaint twice a second
        self._header_columns()
        self.query_one(BoardHeader).show(self.ctx.clock())  # the clock and counts from the first frame
        self.set_interval(1.0, self._tick)
        self.reload_all(first_page=True)  # the change feed is followed once it is read (_follow)

    def on_unmount(self) -> None:
        if self._heap_frozen:
            release_heap()

    def _header_columns(self) -> None:
        incident_list = self.query_one(IncidentList)
        width = incident_list.line_width() if incident_list.scrollable_content_region.width else self.size.width
        title_w = title_width(width)
        header = (
            f"{cell(_('LEVEL'), LEVEL_W)} {cell(_('DUE'), 9 + 1 + clock_width(width))} "
            f"{cell(_('CATEGORY'), CAT_W)} {cell(_('TITLE'), title_w)} "
            f"{cell(_('OWNER'), OWNER_W)} {cell(_('STATUS'), STATUS_W)} {rcell(_('AGE'), 6)}"
        )
        self.query_one("#list-header", Static).update(header)

    def on_resize(self) -> None:
        self.set_class(self.size.width >= 130, "-wide")
        self.call_after_refresh(self._relayout)

    def _relayout(self) -> None:
        self._header_columns()
        if self.panels is not None:
            self._show_panels(self.panels)

    # -- ticking -------------------------------------------------------------------------

    def _tick(self) -> None:
        now = self.ctx.clock()
        since, self._ticked_at = self._ticked_at, now
        if since < now:
            self._breaches(since, now)
        self.query_one(BoardHeader).show(now)
        self.query_one(IncidentList).tick()
        self._banners(now)
        if self.reorder_at is not None and now >= self.reorder_at:
            self.reorder_at = None  # a reporting clock now ranks its incident higher: move it
            self._rerank = True
            self._flush()
        if self.panels is not None:  # the warnings' countdowns (repainted only when a minute turns)
            self.query_one(WarningPanel).show(self.panels.warnings, now, self.query_one("#side").size.width or 60)
        if self.panels is not None and self.panels.duty_changes_at is not None and now >= self.panels.duty_changes_at:
            self.panels = replace(self.panels, duty_changes_at=None)  # a hand-off: who is on duty changed
            self._was_on_duty = board.on_duty_for(self.panels, self.ctx.login)
            self._changed(frozenset(), False, True)

    # -- reading the store (thread workers) ------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def reload_all(self, first_page: bool = False) -> Loaded | None:
        """Every matching incident's key. With `first_page` (a new list: the first load, a
        new filter) the top of the board and a screenful of its rows are shown first, then
        the panels, the rest of the keys and rows: a 100k board is readable before it is in.
        The first page is read on Core (backend/board_page.py); the panels are the first
        read through the ORM, whose modules load while the page is already on screen."""
        worker = get_current_worker()
        sort, filt, statuses, now = self.sort, self.filter, self.STATUSES, self.ctx.clock()
        later: list[int] = []  # the first page's rows below the screenful
        if first_page:
            ahead, self.ctx.read_ahead = self.ctx.read_ahead, None
            if ahead is not None and (filt, sort, statuses) == (BoardFilter(), board.SORTS[0], board.OPEN):
                page, later = ahead.result()  # read while the app started (cli/dashboard.py)
            else:  # no list shows more rows than the terminal has
                page, later = read_first_page(self.ctx.reader, filt, sort, statuses, now, self.app.size.height)
            if worker.is_cancelled:
                return None
            self.app.call_from_thread(self._apply_loaded, page)
            # The ORM's modules are imported on the event loop once the page is on screen
            # (_first_page_drawn, tui/deferred.py): not here, where they would hold the
            # first row back and race the other threads' imports of them.
            drawn_by = time.monotonic() + DRAWN_WAIT_S
            while not self._page_drawn.wait(0.1):
                if worker.is_cancelled:
                    return None
                if time.monotonic() > drawn_by:  # not drawn (the screen went behind another)
                    deferred.import_deferred()  # here then: no key imports them until they are in
                    break
        from opsdeck.backend.board import load_panels  # the ORM and the models: after the first page

        with self.ctx.store.read() as session:
            panels = load_panels(session, self.ctx.clock(), zone=self.ctx.zone)
            if worker.is_cancelled:
                return None
            self.app.call_from_thread(self._apply_loaded, Loaded(panels=panels))
            places = board.load_places(session, filt, sort, statuses=statuses, now=now)
            reorder_at = board.next_pressing(session, now, statuses)
            rows = board.load_rows(session, later)
        return Loaded(places=places, rows=rows, sort=sort, reorder_at=reorder_at, ranked_at=now)

    @work(thread=True, group="rows", exit_on_error=False)
    def read_rows(self, ids: list[int]) -> Loaded:
        with self.ctx.reader.connection() as connection:
            return Loaded(rows=board.load_rows(connection, ids))

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def reload_changed(self, changed: frozenset[int]) -> Loaded:
        """Only the incidents that changed: their keys (closed ones drop out) and rows;
        and the keys of those whose reporting clock entered its warning band since the
        keys were ranked (time alone moves them: no row to read)."""
        now, since = self.ctx.clock(), self.ranked_at
        with self.ctx.reader.connection() as connection:
            moved = set(board.pressing_since(connection, since, now, self.STATUSES)) if since else set()
            fresh = {
                k.id: k
                for k in board.load_keys(
                    connection, self.filter, self.sort, ids=sorted(changed | moved), statuses=self.STATUSES, now=now
                )
            }
            rows = board.load_rows(connection, [i for i in changed if i in fresh])
            reorder_at = board.next_pressing(connection, now, self.STATUSES)
        ranked_at = now if since else None
        patch = (frozenset(changed | moved), fresh)  # applied to the keys on the event loop, which owns them
        return Loaded(patch=patch, rows=rows, stale_rows=changed, reorder_at=reorder_at, ranked_at=ranked_at)

    @work(thread=True, group="panels", exit_on_error=False)
    def reload_panels(self, parts: frozenset[str]) -> Loaded:
        """The panels' parts that changed: "incidents" (counts per level, the roster,
        failed notifications; a GROUP BY over every open incident) or "probes"."""
        from opsdeck.backend.board import incident_panels, probe_panels  # the ORM (loaded by the first read)

        fields: dict[str, Any] = {}
        with self.ctx.store.read() as session:
            if "incidents" in parts:
                fields |= incident_panels(session, self.ctx.clock(), self.ctx.zone)
            if "probes" in parts:
                fields |= probe_panels(session, self.ctx.clock())
        return Loaded(panel_fields=fields)

    def _beat(self, beat: datetime | None, leases: tuple[Any, ...] = ()) -> None:
        if self.panels is not None and (beat, leases) != (self.panels.worker_beat_at, self.panels.duty_leases):
            self.panels = replace(self.panels, worker_beat_at=beat, duty_leases=leases)
            self._banners(self.ctx.clock())

    # -- applying (event loop) ---------------------------------------------------------------

    def _readable(self) -> None:
        if self.unreadable_since is not None:
            self.unreadable_since = None
            self.reload_all()

    def _changed(self, incidents: frozenset[int], probes: bool, roster: bool) -> None:
        self._pending |= incidents
        self._full_pending |= len(self._pending) > FULL_RELOAD_AT
        if incidents or roster:
            self._parts.add("incidents")
        if probes:
            self._parts.add("probes")
        if not self._loading("load"):
            self._flush()
        else:
            self._flush_panels()

    def _loading(self, group: str) -> bool:
        return any(w.group == group and w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in self.workers)

    def _flush(self) -> None:
        if self._loading("load"):  # its end flushes again
            self._flush_panels()
            return
        if not board.keys_serve(self.keys_sort, self.sort):
            self._full_pending = True  # the keys are for another order: patching them would mix
        if self._full_pending:
            self._pending, self._full_pending, self._rerank = set(), False, False
            self._parts.discard("incidents")  # a full reload reads them
            self.reload_all()
        elif self._pending or self._rerank:
            changed, self._pending, self._rerank = frozenset(self._pending), set(), False
            self.reload_changed(changed)
        self._flush_panels()

    def _flush_panels(self) -> None:
        """One panels read at a time, the newest wins; the incident part waits for the
        rows (a changed row shows first, its count a moment later), probes never wait."""
        if self._loading("panels"):
            return  # its end flushes again
        parts = set(self._parts) if not self._loading("load") else self._parts & {"probes"}
        if parts:
            self._parts -= parts
            self.reload_panels(frozenset(parts))

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state == WorkerState.ERROR:
            error = worker.error
            self._unreadable(board_text(error, self.ctx.zone))
            deferred.import_deferred()  # before the feed's thread imports them
            self._follow(None)  # the feed's first answer reads the board again (_readable)
            return
        if worker.state != WorkerState.SUCCESS or not isinstance(worker.result, Loaded):
            return
        self._apply_loaded(worker.result)
        if worker.name == "reload_all" and not self._heap_frozen:
            self._heap_frozen = True
            freeze_heap()
        if worker.group == "load":
            self._flush()
        elif worker.group == "panels":
            self._flush_panels()

    def _apply_loaded(self, loaded: Loaded) -> None:
        incident_list = self.query_one(IncidentList)
        if self.newest is None and loaded.newest is not None:
            self.newest = loaded.newest  # what was there at the start is not news
            self.call_after_refresh(
                self._when_drawn, loaded.feed, incident_list.paints, time.monotonic() + DRAWN_WAIT_S
            )
        self._arrivals(loaded.rows)
        if loaded.rows or loaded.stale_rows:
            incident_list.update_rows(loaded.rows, stale=tuple(loaded.stale_rows - loaded.rows.keys()))
        if loaded.places is not None:
            self.places = loaded.places
            self.reorder_at, self.ranked_at = loaded.reorder_at, loaded.ranked_at
            self.keys_sort = loaded.sort or self.sort
            if self.keys_sort != self.sort:  # `s` was pressed while it loaded
                if board.keys_serve(self.keys_sort, self.sort):
                    self.places = self.places.sorted(self.sort)
                else:
                    self.reload_all(first_page=True)
            incident_list.set_order(self.places.ids)
            self._status()
        elif loaded.patch is not None:
            self.reorder_at, self.ranked_at = loaded.reorder_at, loaded.ranked_at
            if board.keys_serve(self.keys_sort, self.sort):  # else a full read is on its way
                self.places.patch(*loaded.patch, board.SORT_KEYS[self.sort])
                incident_list.set_order(self.places.ids)
                self._status()
        if loaded.panels is not None:
            self.panels = loaded.panels
            self._show_panels(loaded.panels)
        elif loaded.panel_fields and self.panels is not None:
            self.panels = replace(self.panels, **loaded.panel_fields, read_at=self.ctx.clock())
            self._show_panels(self.panels)
            self._handed_over()

    def _when_drawn(self, feed: int | None, paints: int, until: float) -> None:
        """`_first_page_drawn` once the list has painted since the page came (a refresh
        can come before the paint: the imports would hold the rows back), or at `until`."""
        if self.query_one(IncidentList).paints > paints or time.monotonic() >= until:
            self._first_page_drawn(feed)
        else:
            self.set_timer(0.01, partial(self._when_drawn, feed, paints, until))

    def _first_page_drawn(self, feed: int | None) -> None:
        """The first page is on screen: the panels' read goes on, the change feed is
        followed from where the page was read, and the app starts its threads; each
        brings the ORM's imports, which would have held the first row back."""
        deferred.import_deferred()  # before any of those threads starts
        self.refresh_bindings()  # the keys that start them are ready
        self._page_drawn.set()
        self._follow(feed)
        self.post_message(self.FirstPage())

    def _show_panels(self, panels: Panels) -> None:
        now = self.ctx.clock()
        header = self.query_one(BoardHeader)
        header.panels = panels
        header.show(now)
        side = self.query_one("#side")
        self.query_one(ProbePanel).show(panels, now, side.size.width or 60)
        self.query_one(WarningPanel).show(panels.warnings, now, side.size.width or 60)
        self.query_one(ReadinessPanel).show(panels, now)
        self.query_one(RosterPanel).show(panels, self.ctx.zone)
        self._banners(now)
        self._status()
        self._empty_text()

    def _empty_text(self) -> None:
        """What an empty list says: on a store with no roster yet, what to do first."""
        incident_list = self.query_one(IncidentList)
        if self.panels is not None and not self.panels.roster:
            text = "\n".join(
                [
                    _("No roster yet: nobody here can act on incidents."),
                    _("Import the emergency group first:  opsdeck roster import roster.toml"),
                    _("  (then contacts and systems: see docs/cli.md#using-it)"),
                    _("Or look around a demo store:  opsdeck --demo"),
                ]
            )
        elif not self.filter.empty:
            text = self.EMPTY_MATCH.format(filter=self.filter.describe())
        else:
            text = self.EMPTY
        if text != incident_list.empty_text:
            incident_list.empty_text = text
            incident_list.refresh()

    def _status(self) -> None:
        """The status line: the filter and how many it shows, the sort, the marks, the
        duty state, the store."""
        panels = self.panels
        incident_list = self.query_one(IncidentList)
        total: int | None = None
        if panels is not None and self.STATUSES == BoardScreen.STATUSES:
            total = sum(panels.counts.values())
        elif self.filter.empty:
            total = len(self.places)
        self.query_one(StatusLine).show(
            Status(
                filter_text=self.filter.describe(),
                matched=len(self.places),
                total=total,
                scope=self.scope(),
                sort=sort_name(self.sort),
                marked=len(incident_list.marked),
                duty=self._duty_state(),
                where=self.ctx.where,
                error=self.filter_error,
            )
        )

    def scope(self) -> str:
        """The status line's "all 9 open" (looked up when drawn, in the chosen language)."""
        return _("open")

    def _duty_state(self) -> str:
        if self.panels is None:
            return _("read-only") if self.ctx.read_only else ""
        member = next((m for m in self.panels.roster if m["login"] == self.ctx.login), None)
        if member is None:  # build_app makes such a session read-only: say why
            return _("not on the roster: viewer")
        if self.ctx.read_only:
            return _("read-only")
        return _("on duty") if member["on_duty"] else _("off duty (T takes the shift)")

    @on(IncidentList.Marked)
    def _marked(self) -> None:
        self._status()

    @on(IncidentList.NeedRows)
    def _need_rows(self, event: IncidentList.NeedRows) -> None:
        self.read_rows(event.ids)

    # -- actions -------------------------------------------------------------------------------

    # The filter's other keys: screens/board_filter.py (a handler decorated with @on must
    # sit on the screen's own class: Textual collects them from each Screen class it builds).
    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        try:
            self.filter = board.parse_filter(event.value)
        except OpsdeckError as error:
            self.filter_error = str(error)  # above the input, where the operator is looking
            self._status()
            return
        self.filter_error = ""
        event.input.display = False
        self._empty_text()
        self.query_one(IncidentList).focus()
        self.reload_all(first_page=True)

    def action_replay(self) -> None:
        from opsdeck.screens.replay import ReplayScreen  # on @: not before the board's first frame

        self.app.push_screen(ReplayScreen(self.ctx))

    def action_toggle_panels(self) -> None:
        self.toggle_class("-panels")
        if not self._list_hidden():
            self.query_one(IncidentList).focus()  # j, g, enter work at once; nothing acts on a hidden row
        self.call_after_refresh(self._relayout)

    def _list_hidden(self) -> bool:
        """`p` on a narrow terminal puts the panels over the list."""
        return self.has_class("-panels") and not self.has_class("-wide")

    def action_help(self) -> None:
        from opsdeck.screens.help import HelpScreen  # on ?: not before the board's first frame

        self.app.push_screen(HelpScreen(self.ctx))

    @on(IncidentList.Activated)
    def _open(self, event: IncidentList.Activated) -> None:
        if not deferred.ready():  # a moment after the first page (tui/deferred.py)
            return
        from opsdeck.screens.incident import IncidentScreen  # on enter: not before the board's first frame

        self.app.push_screen(IncidentScreen(self.ctx, event.incident_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in EARLY_ACTIONS and not deferred.ready():
            return None  # greyed for a moment after the first page (tui/deferred.py)
        if action in ("new_incident", "shift") and self.ctx.read_only:
            return False
        if action in BY_NAME and self._list_hidden():
            return None  # greyed: the cursor row is behind the panels (p shows the list again)
        return IncidentActions.check_action(self, action, parameters)

    # -- IncidentActions -------------------------------------------------------------------

    def targets(self) -> list[tuple[int, int | None]]:
        """The marked rows, else the one under the cursor, with the version each one shows."""
        incident_list = self.query_one(IncidentList)
        ids = [i for i in incident_list.order if i in incident_list.marked] or (
            [incident_list.selected_id] if incident_list.selected_id is not None else []
        )
        rows = incident_list.rows
        return [(i, row.version if (row := rows.get(i)) else None) for i in ids]

    def target(self) -> tuple[int, int | None]:
        """Single-incident keys act on the cursor row, whatever is marked."""
        self.acting_on_marks = False
        incident_list = self.query_one(IncidentList)
        selected = incident_list.selected_id
        if selected is None:
            return (0, None)
        row = incident_list.rows.get(selected)
        return (selected, row.version if row else None)

    def target_info(self, incident_id: int) -> dict[str, Any]:
        row = self.query_one(IncidentList).rows.get(incident_id)
        return {"category": row.category, "level": row.level} if row else {}

    def after_write(self) -> None:
        """Re-read what was just changed now, rather than at the next feed poll: the
        next action must see the version this one made."""
        incident_list = self.query_one(IncidentList)
        on_marks = self.acting_on_marks
        changed = {incident_id for incident_id, _ in self.targets()} | ({self.target()[0]} - {0})
        if incident_list.marked and on_marks:  # a single action leaves the marks be
            incident_list.marked.clear()
            incident_list.refresh()
            self._status()
        self._changed(frozenset(changed), False, False)
