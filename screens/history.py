"""`h`: resolved and closed incidents, newest first, with the board's filters, so "has
this happened before?" is one key away. The same store-backed list as the board, so
years of history stay fast."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from opsdeck.backend import board
from opsdeck.backend.i18n import _
from opsdeck.screens.board import BoardScreen


class HistoryScreen(BoardScreen):
    STATUSES = ("resolved", "closed")
    SORTS = board.HISTORY_SORTS
    EMPTY = _("No resolved or closed incidents.")
    EMPTY_MATCH = _("No resolved or closed incidents match: {filter} (esc clears)")
    BINDINGS = [
        Binding("q", "back", _("Back"), id="history.back"),
    ]

    DEFAULT_CSS = "HistoryScreen #history-title { height: 1; background: darkblue; color: white; text-style: bold; }"

    def compose(self) -> ComposeResult:
        yield Static(_("History: resolved and closed incidents, newest first — q goes back"), id="history-title")
        yield from super().compose()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#list-header").styles.background = "darkblue"
        self.set_class(True, "-history")

    def scope(self) -> str:
        return _("resolved or closed")

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_quit(self) -> None:
        self.app.pop_screen()

    def action_clear_filter(self) -> None:
        if self.filter.empty and not self.query_one("#filter").display:
            self.app.pop_screen()
            return
        super().action_clear_filter()
