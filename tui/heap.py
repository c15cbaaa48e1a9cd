"""The garbage collector and a big board."""

from __future__ import annotations

import gc


def freeze_heap() -> None:
    """Once a board's first whole list is in, every object alive (Textual, SQLAlchemy, the
    keys) leaves the collector's reach: a full collection traversed them all, 120-240 ms on
    the event loop every few seconds at 10k open, the tail of a change reaching the board
    (bench board_live). Objects freed by their count still go; a cycle among them stays."""
    gc.freeze()
