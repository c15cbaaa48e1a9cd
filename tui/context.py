"""What every screen is given: the store, who is looking, how to show it.

Below the screens and above the backend (the layers in pyproject.toml): the app layer
builds a `BoardContext` and hands it down; screens read it and never import the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from textual.screen import Screen

from opsdeck.backend.store import Store

OpenScreen = Callable[["BoardContext"], Screen[Any]]


@dataclass
class BoardContext:
    store: Store
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
