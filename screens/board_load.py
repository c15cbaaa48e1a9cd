"""What the board's thread workers hand the event loop (`Loaded`), and its first page:
read on SQLAlchemy Core (backend/board_page.py), by the board's first load or, when
`opsdeck` starts, in a thread of its own while Textual builds the screen (`read_ahead`).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsdeck.backend import board_page as board
from opsdeck.backend.board_page import OPEN, SORTS, BoardFilter, Key, Panels, Places, Row

if TYPE_CHECKING:
    from opsdeck.backend.reader import Reader
    from opsdeck.tui.context import BoardContext

FIRST_PAGE = 200  # incidents shown before the rest of a new list's keys are read


@dataclass(frozen=True)
class Loaded:
    """A worker's result: applied on the event loop."""

    places: Places | None = None  # every key in board order, sorted off the event loop; None: unchanged
    rows: dict[int, Row] = field(default_factory=dict)
    stale_rows: frozenset[int] = frozenset()
    panels: Panels | None = None
    panel_fields: dict[str, Any] = field(default_factory=dict)  # a part of the panels, read anew
    sort: str | None = None  # the sort `places` is in
    patch: tuple[frozenset[int], dict[int, Key]] | None = None  # these ids' keys now (absent: gone)
    reorder_at: datetime | None = None  # a reporting clock enters its warning band: re-rank its incident
    ranked_at: datetime | None = None  # the keys rank reporting clocks as at this moment
    newest: int | None = None  # the store's newest incident id at the first load: newer ones are announced
    feed: int | None = None  # the change feed's newest entry, read before a first page


def read_first_page(
    reader: Reader, filt: BoardFilter, sort: str, statuses: tuple[str, ...], now: datetime, screenful: int
) -> tuple[Loaded, list[int]]:
    """The top of a new list, on Core: its first keys and a screenful of their rows; and
    the ids of the rest of the page, whose rows are read after the panels."""
    with reader.connection() as connection:
        feed = board.feed_top(connection)  # before the page: the feed misses nothing after it
        newest = board.newest_incident(connection)
        top = board.load_keys(connection, filt, sort, statuses=statuses, limit=FIRST_PAGE, now=now)
        shown, later = [k.id for k in top[:screenful]], [k.id for k in top[screenful:]]
        page = Loaded(places=Places(top), rows=board.load_rows(connection, shown), sort=sort, newest=newest, feed=feed)
    return page, later


def read_ahead(context: BoardContext, screenful: int) -> Future[tuple[Loaded, list[int]]]:
    """The board's first page read in a thread of its own while the app starts (`opsdeck`
    in a terminal): the query runs in SQLite or PostgreSQL while Textual builds the screen,
    and the board's first load takes it instead of reading it again."""
    future: Future[tuple[Loaded, list[int]]] = Future()

    def read() -> None:
        try:
            page = read_first_page(context.reader, BoardFilter(), SORTS[0], OPEN, context.clock(), screenful)
            future.set_result(page)
        except BaseException as error:  # the board's first load raises it: an unreadable store
            future.set_exception(error)

    threading.Thread(target=read, name="opsdeck-first-page", daemon=True).start()
    return future
