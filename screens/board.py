"""The board: open incidents with live countdowns, probe health, the roster.

Data flows down as snapshots, events flow up as messages. Every store read runs in a
thread worker; a worker never touches a widget, it returns a snapshot that is applied
on the event loop. A feed watcher polls about ten times a second; a burst of changes
is one reload, and a reload re-reads only the incidents that changed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from opsdeck.backend import board, queries
from opsdeck.backend.board import BoardFilter, Key, Panels, Row
from opsdeck.backend.errors import OpsdeckError
from opsdeck.backend.i18n import _
from opsdeck.tui.feed import follow_feed
from opsdeck.tui.text import cell, rcell
from opsdeck.tui.triage import ACTIONS, IncidentActions
from opsdeck.tui.widgets.incident_list import (
    CAT_W,
    COUNTDOWN_X,
    LEVEL_W,
    OWNER_W,
    STATUS_W,
    IncidentList,
    LevelColumn,
    title_width,
)
from opsdeck.tui.widgets.keyhints import KeyHints
from opsdeck.tui.widgets.panels import Banners, BoardHeader, ProbePanel, ReadinessPanel, RosterPanel

if TYPE_CHECKING:
    from opsdeck.tui.app import BoardContext

FULL_RELOAD_AT = 2000  # more changed incidents than this: re-read the whole key list
FIRST_PAGE = 200  # incidents shown before the rest of a new list's keys are read


@dataclass(frozen=True)
class Loaded:
    """A worker's result: applied on the event loop."""

    keys: dict[int, Key] | None = None  # None: keys unchanged
    order: list[int] | None = None  # ids in board order, sorted off the event loop
    rows: dict[int, Row] = field(default_factory=dict)
    stale_rows: frozenset[int] = frozenset()
    panels: Panels | None = None
    panel_fields: dict[str, Any] = field(default_factory=dict)  # a part of the panels, read anew
    sort: str | None = None  # the sort `order` is in


class BoardScreen(IncidentActions, Screen[None]):
    BINDINGS = [
        *(a.binding for a in ACTIONS),
        Binding("n", "new_incident", _("New"), id="board.new"),
        Binding("h", "history", _("History"), id="board.history", show=False),
        Binding("H", "handover", _("Handover"), id="board.handover", show=False),
        Binding("at", "replay", _("Replay a past moment"), id="board.replay", show=False),
        Binding("T", "shift", _("Take/end shift"), id="board.shift", show=False),
        Binding("slash", "filter", _("Filter"), id="board.filter"),
        Binding("escape", "clear_filter", _("Clear filter"), id="board.clear_filter", show=False),
        Binding("s", "sort", _("Sort"), id="board.sort"),
        Binding("p", "toggle_panels", _("Probes"), id="board.panels"),
        Binding("question_mark", "help", _("Help"), id="board.help"),
        Binding("q", "quit", _("Quit"), id="board.quit"),
    ]

    STATUSES: tuple[str, ...] = ("reported", "acknowledged", "resolved")
    SORTS: tuple[str, ...] = board.SORTS
    EMPTY = _("No open incidents.")
    EMPTY_MATCH = _("No open incidents match: {filter} (esc clears)")

    def __init__(self, context: BoardContext) -> None:
        super().__init__()
        self.ctx = context
        self.keys: dict[int, Key] = {}
        self.order: list[int] = []
        self.filter = BoardFilter()
        self.sort = self.SORTS[0]
        self.keys_sort = self.sort  # the order the keys were read for (board.keys_serve)
        self.panels: Panels | None = None
        self.unreadable_since: datetime | None = None
        self.last_error = ""
        self.clock_skew: float | None = None  # this host's clock minus the database's (PostgreSQL)
        self._pending: set[int] = set()
        self._full_pending = False
        self._parts: set[str] = set()  # panel parts to read again: "incidents", "probes"

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
                    yield incident_list
            with Vertical(id="side"):
                yield ProbePanel()
                yield ReadinessPanel()
                yield RosterPanel()
        yield Input(
            placeholder="filter: words  level:III  cat:network  owner:LOGIN  status:reported  (esc clears)", id="filter"
        )
        yield KeyHints()

    @staticmethod
    def _column_header() -> str:
        return f"{cell(_('LEVEL'), LEVEL_W)} {cell(_('DUE'), 9)} {cell(_('CATEGORY'), CAT_W)} {cell(_('TITLE'), 20)}{' ' * 4}"

    def on_mount(self) -> None:
        self.query_one(IncidentList).focus()
        self.query_one("#filter", Input).display = False
        self.query_one("#filter", Input).cursor_blink = False  # steady: no repaint twice a second
        self._header_columns()
        self.query_one(BoardHeader).show(self.ctx.clock())  # the clock and counts from the first frame
        self.set_interval(1.0, self._tick)
        self.reload_all(first_page=True)
        self.watch_feed()

    def _header_columns(self) -> None:
        incident_list = self.query_one(IncidentList)
        list_width = incident_list.scrollable_content_region.width
        width = list_width + COUNTDOWN_X if list_width else self.size.width
        title_w = title_width(width)
        header = (
            f"{cell(_('LEVEL'), LEVEL_W)} {cell(_('DUE'), 9)} {cell(_('CATEGORY'), CAT_W)} {cell(_('TITLE'), title_w)} "
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
        self.query_one(BoardHeader).show(now)
        self.query_one(IncidentList).tick()
        self._banners(now)

    def _banners(self, now: datetime) -> None:
        self.query_one(Banners).show(
            self.unreadable_since, self.panels, now, self.ctx.zone, self.last_error, self.clock_skew
        )

    # -- reading the store (thread workers) ------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def reload_all(self, first_page: bool = False) -> Loaded | None:
        """Every matching incident's key. With `first_page` (a new list: the first load,
        a new filter) the top of the board and its rows are shown first, then the panels,
        and the rest of the keys follow: a 100k board is readable before it is all in."""
        worker = get_current_worker()
        sort, filt, statuses = self.sort, self.filter, self.STATUSES
        with self.ctx.store.read() as session:
            if first_page:
                top = board.load_keys(session, filt, sort, statuses=statuses, limit=FIRST_PAGE)
                page = Loaded(
                    keys={k.id: k for k in top},
                    order=[k.id for k in top],
                    rows=board.load_rows(session, [k.id for k in top]),
                    sort=sort,
                )
                if worker.is_cancelled:
                    return None
                self.app.call_from_thread(self._apply_loaded, page)
            panels = board.load_panels(session, self.ctx.clock())
            if worker.is_cancelled:
                return None
            self.app.call_from_thread(self._apply_loaded, Loaded(panels=panels))
            ordered = board.load_keys(session, filt, sort, statuses=statuses)
        return Loaded(keys={k.id: k for k in ordered}, order=[k.id for k in ordered], sort=sort)

    @work(thread=True, group="rows", exit_on_error=False)
    def read_rows(self, ids: list[int]) -> Loaded:
        with self.ctx.store.read() as session:
            return Loaded(rows=board.load_rows(session, ids))

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def reload_changed(self, changed: frozenset[int]) -> Loaded:
        """Only the incidents that changed: their keys (closed ones drop out) and rows."""
        with self.ctx.store.read() as session:
            fresh = {
                k.id: k
                for k in board.load_keys(session, self.filter, self.sort, ids=sorted(changed), statuses=self.STATUSES)
            }
            rows = board.load_rows(session, [i for i in changed if i in fresh])
        keys, order = _patched(self.keys, self.order, changed, fresh, board.SORT_KEYS[self.sort])
        return Loaded(keys=keys, order=order, rows=rows, stale_rows=changed)

    @work(thread=True, group="panels", exit_on_error=False)
    def reload_panels(self, parts: frozenset[str]) -> Loaded:
        """The panels' parts that changed: "incidents" (counts per level, the roster,
        failed notifications; a GROUP BY over every open incident) or "probes"."""
        fields: dict[str, Any] = {}
        with self.ctx.store.read() as session:
            if "incidents" in parts:
                fields |= board.incident_panels(session)
            if "probes" in parts:
                fields |= board.probe_panels(session, self.ctx.clock())
        return Loaded(panel_fields=fields)

    def _skew(self, skew: float) -> None:
        self.clock_skew = skew
        self._banners(self.ctx.clock())

    def _beat(self, beat: datetime | None) -> None:
        if self.panels is not None and beat != self.panels.worker_beat_at:
            self.panels = replace(self.panels, worker_beat_at=beat)
            self._banners(self.ctx.clock())

    @work(thread=True, exclusive=True, group="feed", exit_on_error=False)
    def watch_feed(self) -> None:
        """Follow the change feed until the screen goes (tui/feed.py)."""
        follow_feed(self)

    # -- applying (event loop) ---------------------------------------------------------------

    def _readable(self) -> None:
        if self.unreadable_since is not None:
            self.unreadable_since = None
            self.reload_all()

    def _unreadable(self, error: str) -> None:
        if self.unreadable_since is None:
            self.unreadable_since = self.ctx.clock()
        self.last_error = error.splitlines()[0] if error else ""
        self._banners(self.ctx.clock())

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
            self._pending, self._full_pending = set(), False
            self._parts.discard("incidents")  # a full reload reads them
            self.reload_all()
        elif self._pending:
            changed, self._pending = frozenset(self._pending), set()
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
            self._unreadable(str(error) if isinstance(error, OpsdeckError) else f"{type(error).__name__}: {error}")
            return
        if worker.state != WorkerState.SUCCESS or not isinstance(worker.result, Loaded):
            return
        self._apply_loaded(worker.result)
        if worker.group == "load":
            self._flush()
        elif worker.group == "panels":
            self._flush_panels()

    def _apply_loaded(self, loaded: Loaded) -> None:
        incident_list = self.query_one(IncidentList)
        if loaded.rows or loaded.stale_rows:
            incident_list.update_rows(loaded.rows, stale=tuple(loaded.stale_rows - loaded.rows.keys()))
        if loaded.keys is not None and loaded.order is not None:
            self.keys, self.order = loaded.keys, loaded.order
            self.keys_sort = loaded.sort or self.sort
            if self.keys_sort != self.sort:  # `s` was pressed while it loaded
                if board.keys_serve(self.keys_sort, self.sort):
                    self.order = _ordered(self.keys, self.sort)
                else:
                    self.reload_all(first_page=True)
            incident_list.set_order(self.order)
        if loaded.panels is not None:
            self.panels = loaded.panels
            self._show_panels(loaded.panels)
        elif loaded.panel_fields and self.panels is not None:
            self.panels = replace(self.panels, **loaded.panel_fields, read_at=self.ctx.clock())
            self._show_panels(self.panels)

    def _show_panels(self, panels: Panels) -> None:
        now = self.ctx.clock()
        header = self.query_one(BoardHeader)
        header.panels = panels
        header.show(now)
        side = self.query_one("#side")
        self.query_one(ProbePanel).show(panels, now, side.size.width or 60)
        self.query_one(ReadinessPanel).show(panels, now)
        self.query_one(RosterPanel).show(panels)
        self._banners(now)

    @on(IncidentList.NeedRows)
    def _need_rows(self, event: IncidentList.NeedRows) -> None:
        self.read_rows(event.ids)

    # -- actions -------------------------------------------------------------------------------

    def action_filter(self) -> None:
        field_ = self.query_one("#filter", Input)
        field_.display = True
        field_.value = self.filter.describe()
        field_.focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        try:
            self.filter = board.parse_filter(event.value)
        except OpsdeckError as error:
            self.notify(str(error), severity="error", timeout=8)
            return
        event.input.display = False
        self.query_one(IncidentList).empty_text = (
            self.EMPTY_MATCH.format(filter=self.filter.describe()) if not self.filter.empty else self.EMPTY
        )
        self.query_one(IncidentList).focus()
        self.reload_all(first_page=True)

    def action_clear_filter(self) -> None:
        field_ = self.query_one("#filter", Input)
        field_.display = False
        self.query_one(IncidentList).focus()
        if not self.filter.empty:
            self.filter = BoardFilter()
            self.query_one(IncidentList).empty_text = self.EMPTY
            self.reload_all(first_page=True)

    def action_sort(self) -> None:
        self.sort = self.SORTS[(self.SORTS.index(self.sort) + 1) % len(self.SORTS)]
        if board.keys_serve(self.keys_sort, self.sort):
            self.order = _ordered(self.keys, self.sort)
            self.query_one(IncidentList).set_order(self.order)
        else:  # the keys hold due times and this order wants report times (or back): read them
            self.reload_all(first_page=True)
        self.notify(_("sorted by {order}").format(order=sort_name(self.sort)), timeout=2)

    def action_replay(self) -> None:
        from opsdeck.screens.replay import ReplayScreen

        self.app.push_screen(ReplayScreen(self.ctx))

    def action_toggle_panels(self) -> None:
        self.toggle_class("-panels")
        self.call_after_refresh(self._relayout)

    def action_help(self) -> None:
        from opsdeck.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_quit(self) -> None:
        self.app.exit()

    @on(IncidentList.Activated)
    def _open(self, event: IncidentList.Activated) -> None:
        from opsdeck.screens.incident import IncidentScreen

        self.app.push_screen(IncidentScreen(self.ctx, event.incident_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("new_incident", "shift") and self.ctx.read_only:
            return False
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

    def target_info(self, incident_id: int) -> dict[str, Any]:
        row = self.query_one(IncidentList).rows.get(incident_id)
        return {"category": row.category, "level": row.level} if row else {}

    def after_write(self) -> None:
        """Re-read what was just changed now, rather than at the next feed poll: the
        next action must see the version this one made."""
        incident_list = self.query_one(IncidentList)
        changed = {incident_id for incident_id, _ in self.targets()}
        if incident_list.marked:
            incident_list.marked.clear()
            incident_list.refresh()
        self._changed(frozenset(changed), False, False)

    def action_history(self) -> None:
        from opsdeck.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(self.ctx))

    def action_handover(self) -> None:
        from opsdeck.screens.handover import HandoverScreen

        self.app.push_screen(HandoverScreen(self.ctx))

    def action_shift(self) -> None:
        """Take the shift (on duty) or end it: audited, as `opsdeck roster duty LOGIN on|off`."""
        self._shift()

    @work(thread=True, group="action", exit_on_error=False)
    def _shift(self) -> str:
        with self.ctx.store.read() as session:
            member = next((m for m in queries.roster(session) if m["login"] == self.ctx.login), None)
        if member is None:
            return f"{self.ctx.login} is not on the roster: ask a lead to add you"
        on = not member["on_duty"]
        self.service.roster_duty(self.ctx.login, on)
        return f"{self.ctx.login} {'took the shift: on duty' if on else 'ended the shift: off duty'}"

    def action_new_incident(self) -> None:
        self._read_then(lambda session: [s["name"] for s in queries.systems(session)], self._new_incident_form)

    def _new_incident_form(self, systems: list[str]) -> None:
        from opsdeck.screens.forms import NewIncidentForm

        def perform(values: dict[str, Any], seen: int | None) -> str:
            incident = self.service.open(
                values["title"], description=values["description"], system=values["system"].strip() or None
            )
            return f"#{incident.id} reported"

        self._form(NewIncidentForm(_("Report an incident (an external warning)"), perform, systems=systems))


def sort_name(sort: str) -> str:
    names = {"due": _("due"), "level": _("level"), "age": _("age"), "id": _("id"), "recent": _("recent")}
    return names.get(sort, sort)


def _ordered(keys: dict[int, Key], sort: str) -> list[int]:
    sort_key = board.SORT_KEYS[sort]
    return [k.id for k in sorted(keys.values(), key=sort_key)]


def _patched(
    keys: dict[int, Key],
    order: list[int],
    changed: frozenset[int],
    fresh: dict[int, Key],
    sort_key: Any,
) -> tuple[dict[int, Key], list[int]]:
    """The board's keys and order with only the changed incidents moved: a few bisects
    into copies, not a re-sort of every open incident. `order` holds ids only; a bisect
    looks each one's key up (a 100k board keeps no second copy of its sort keys)."""
    keys, order = dict(keys), list(order)

    def key_of(incident_id: int) -> Any:
        return sort_key(keys[incident_id])

    for incident_id in changed:
        old = keys.get(incident_id)
        if old is not None:
            index = bisect.bisect_left(order, sort_key(old), key=key_of)
            if index < len(order) and order[index] == incident_id:
                del order[index]
            del keys[incident_id]
    for incident_id, key in fresh.items():
        keys[incident_id] = key
        bisect.insort(order, incident_id, key=key_of)
    return keys, order
