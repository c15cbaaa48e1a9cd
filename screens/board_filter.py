"""The board's filter and sort keys (a part of BoardScreen, screens/board.py): `/` types
a filter, escape clears it, `s` steps through the orders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import Input

from opsdeck.backend import board_page as board
from opsdeck.backend.board_page import BoardFilter
from opsdeck.backend.i18n import _
from opsdeck.tui.widgets.incident_list import IncidentList

if TYPE_CHECKING:
    from textual.screen import Screen

    from opsdeck.backend.board_page import Places

    class _Board(Screen[Any]):
        """What of BoardScreen these keys use."""

        SORTS: tuple[str, ...]
        places: Places
        filter: BoardFilter
        filter_error: str
        sort: str
        keys_sort: str

        def _status(self) -> None: ...
        def _empty_text(self) -> None: ...
        def reload_all(self, first_page: bool = False) -> Any: ...
else:
    _Board = object


class BoardFiltering(_Board):
    """The filter typed under the list, and the order the list is sorted in."""

    def action_filter(self) -> None:
        field_ = self.query_one("#filter", Input)
        field_.display = True
        field_.value = self.filter.describe()
        field_.focus()

    def action_clear_filter(self) -> None:
        field_ = self.query_one("#filter", Input)
        field_.display = False
        self.filter_error = ""
        self._status()
        self.query_one(IncidentList).focus()
        if not self.filter.empty:
            self.filter = BoardFilter()
            self._empty_text()
            self.reload_all(first_page=True)

    def action_sort(self) -> None:
        self.sort = self.SORTS[(self.SORTS.index(self.sort) + 1) % len(self.SORTS)]
        if board.keys_serve(self.keys_sort, self.sort):
            self.places = self.places.sorted(self.sort)
            self.query_one(IncidentList).set_order(self.places.ids)
        else:  # the keys hold due times and this order wants report times (or back): read them
            self.reload_all(first_page=True)
        self._status()


def sort_name(sort: str) -> str:
    names = {"due": _("due"), "level": _("level"), "age": _("age"), "id": _("id"), "recent": _("recent")}
    return names.get(sort, sort)
