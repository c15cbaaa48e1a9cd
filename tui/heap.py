"""The garbage collector and a big board."""

from __future__ import annotations

import gc

_frozen_by = 0  # boards alive that froze the heap
_left_to_caller = False  # the process freezes and collects on its own: boards keep out


def leave_to_caller() -> None:
    """This process runs the collector itself, around the boards it runs (a test session
    collects and freezes between tests: tests/conftest.py): boards neither freeze the
    heap nor release it. `gc.unfreeze` has no owner: a board's release would undo the
    caller's freeze, and its next full collection walk the whole process."""
    global _left_to_caller
    _left_to_caller = True


def freeze_heap() -> None:
    """Once a board's first whole list is in, every object alive (Textual, SQLAlchemy, the
    keys) leaves the collector's reach: a full collection traversed them all, 120-240 ms on
    the event loop every few seconds at 10k open, the tail of a change reaching the board
    (bench board_live). Objects freed by their count still go; a cycle among them stays
    until `release_heap`."""
    global _frozen_by
    if _left_to_caller:
        return
    _frozen_by += 1
    gc.freeze()


def release_heap() -> None:
    """A board that froze the heap went: once none is left, what was frozen may be
    collected again (a process that runs many apps would otherwise keep every ended
    app's cycles)."""
    global _frozen_by
    if _left_to_caller:
        return
    _frozen_by = max(0, _frozen_by - 1)
    if not _frozen_by:
        gc.unfreeze()
