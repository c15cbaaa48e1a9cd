"""The board's baseline: the same open incidents in Textual's own `DataTable`, the way
a first version of a board would show them (every row added, a 1 s timer updating the
countdown cells of the visible rows).

`python -m bench.datatable_board PATH` runs it full-screen on the SQLite store at PATH
(for the pseudo-terminal figures); `first_frame` builds it under `run_test`.

It reads the rows with plain sqlite3 in a thread (the cheapest read there is, so the
baseline is not slowed by opsdeck's store layer) and shows the board's columns with the
board's own cell text: level, due countdown, category, `#id title`, owner, status, age.
Every cell is a `Text` (untrusted text is never markup) with the same sanitizer.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from opsdeck.backend.board import RANK
from opsdeck.backend.domain import OPEN_STATUSES
from opsdeck.backend.sanitize import clean
from opsdeck.backend.timeutil import format_age, format_countdown
from opsdeck.tui.text import LEVEL_LABEL
from opsdeck.tui.widgets.incident_list import CATEGORY_SHORT, STATUS_SHORT

COLUMNS = (
    ("LEVEL", "level"),
    ("DUE", "due"),
    ("CATEGORY", "category"),
    ("TITLE", "title"),
    ("OWNER", "owner"),
    ("STATUS", "status"),
    ("AGE", "age"),
)
OPEN_ROWS = f"""
    SELECT id, level, category, title, owner, status, reported_at, first_due_at FROM incidents
    WHERE status IN ({", ".join(f"'{s.value}'" for s in OPEN_STATUSES)})
"""
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class BoardRow:
    id: int
    level: str | None
    category: str
    title: str
    owner: str | None
    status: str
    reported_at: datetime
    due_at: datetime | None


def read_rows(path: Path) -> list[BoardRow]:
    """Every open incident in the board's default order: next due first, then level, then id."""
    conn = sqlite3.connect(path)
    try:
        rows = [
            BoardRow(id_, level, category, title, owner, status, _utc(reported), _utc(due) if due else None)
            for id_, level, category, title, owner, status, reported, due in conn.execute(OPEN_ROWS)
        ]
    finally:
        conn.close()
    rows.sort(key=lambda r: (r.due_at or _NEVER, -RANK.get(r.level or "", 0), r.id))
    return rows


def _utc(text: str) -> datetime:
    """SQLite keeps the store's times as naive UTC text."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def countdown(row: BoardRow, now: datetime) -> Text:
    return Text(format_countdown((row.due_at - now).total_seconds()) if row.due_at else "", end="")


def cells(row: BoardRow, now: datetime) -> list[Text]:
    return [
        Text(LEVEL_LABEL.get(row.level, "--"), end=""),
        countdown(row, now),
        Text(CATEGORY_SHORT.get(row.category, row.category), end=""),
        Text(f"#{row.id} {clean(row.title)}", end=""),
        Text(clean(row.owner) or "-", end=""),
        Text(STATUS_SHORT.get(row.status, row.status), end=""),
        Text(format_age((now - row.reported_at).total_seconds()), end=""),
    ]


class DataTableBoard(App[None]):
    """Open incidents in a DataTable; the visible countdowns are updated once a second."""

    BINDINGS = [Binding("q", "quit", "Quit")]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.rows: list[BoardRow] = []
        self.keys: list[RowKey] = []  # in board order, as add_rows returned them
        self.read_s = 0.0  # how long the thread spent reading, for the figures' notes
        self.added_s = 0.0  # how long add_rows blocked the event loop
        self.shown_at = 0.0  # perf_counter when add_rows returned

    def compose(self) -> ComposeResult:
        yield DataTable(id="table", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.load()

    @work(thread=True, exit_on_error=True)
    def load(self) -> None:
        started = time.perf_counter()
        rows = read_rows(self.path)
        self.read_s = time.perf_counter() - started
        self.call_from_thread(self.show, rows)

    def show(self, rows: list[BoardRow]) -> None:
        started = time.perf_counter()
        now = datetime.now(UTC)
        self.rows = rows
        self.keys = self.query_one(DataTable).add_rows(cells(row, now) for row in rows)
        self.shown_at = time.perf_counter()
        self.added_s = self.shown_at - started
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        """The countdown cells of the rows on screen, and nothing else."""
        table = self.query_one(DataTable)
        now = datetime.now(UTC)
        top = int(table.scroll_offset.y)
        for index in range(top, min(top + table.size.height, len(self.rows))):
            table.update_cell(self.keys[index], "due", countdown(self.rows[index], now))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.datatable_board PATH", file=sys.stderr)
        return 2
    DataTableBoard(Path(argv[0])).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
