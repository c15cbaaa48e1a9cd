"""What every screen is given: the store, who is looking, how to show it.

Below the screens and above the backend (the layers in pyproject.toml): the app layer
builds a `BoardContext` and hands it down; screens read it and never import the app.

The store comes as a `Reader` (SQLAlchemy Core): the board draws its first page from it
before the ORM and the models are imported (backend/board_page.py). `store`, the ORM
and writes, is made from it when first asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from opsdeck.backend.reader import Reader
from opsdeck.tui.deferred import import_deferred

if TYPE_CHECKING:
    from opsdeck.backend.store import Store

OpenScreen = Callable[["BoardContext"], Screen[Any]]


@dataclass
class BoardContext:
    reader: Reader  # the store for Core reads (a `Store` is a `Reader` too)
    login: str
    permission: str
    read_only: bool
    zone: tzinfo
    clock: Callable[[], datetime]
    where: str = ""
    background: list[Any] = field(default_factory=list)  # things to stop on exit (.stop())
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys (tui/keymap.py, checked)
    theme: str = "textual-dark"
    ascii: bool = False  # only ASCII and wide characters on screen (tui/ascii.py)
    by: str | None = None  # who used `--as` to act as `login`: named in every event written
    bell: bool = False  # ring the terminal bell when the board announces an arrival (config board_bell)
    # The history screen is a BoardScreen of its own, so the board cannot import it: the
    # app layer, which imports both, gives it here (tui/app.py).
    history: OpenScreen | None = None
    # The board's first page, read while the app starts (cli/dashboard.py): taken by its first load.
    read_ahead: Future[Any] | None = None
    _store: Store | None = field(default=None, init=False, repr=False)
    _store_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def store(self) -> Store:
        """The store for the ORM and writes, over the reader's engine: made once, on
        first use (a thread worker's or the event loop's), not before the first page."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    import_deferred()  # all of them, in one thread at a time (tui/deferred.py)
                    from opsdeck.backend.store import Store

                    self._store = Store.over(self.reader)
        return self._store
