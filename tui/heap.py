"""The garbage collector and a big board."""

from __future__ import annotations

import gc

_frozen_by = 0  # boards alive that froze the heap


def freeze_heap() -> None:
    """Once a board's first whole list is in, every object alive (Textual, SQLAlchemy, the
    keys) leaves the collector's reach: a full collection traversed them all, 120-240 ms on
    the event loop every few seconds at 10k open, the tail of a change reaching the board
    (bench board_live). Objects freed by their count still go; a cycle among them stays
    until `release_heap`."""
    global _frozen_by
    _frozen_by += 1
    gc.freeze()


def release_heap() -> None:
    """A board that froze the heap went: once none is left, what was frozen may be
    collected again (a process that runs many apps, a test session, would otherwise keep
    every ended app's cycles)."""
    global _frozen_by
    _frozen_by = max(0, _frozen_by - 1)
    if not _frozen_by:
        gc.unfreeze()
