"""The boards and the garbage collector: a process that runs the collector itself
(this test session: tests/conftest.py) keeps its frozen heap when a board ends."""

from __future__ import annotations

import gc

from opsdeck.tui import heap


def test_a_board_ending_leaves_the_callers_frozen_heap_frozen() -> None:
    gc.freeze()  # as the session does between tests
    frozen = gc.get_freeze_count()
    assert frozen > 0
    heap.freeze_heap()  # a board's first whole list is in
    heap.release_heap()  # the board went
    # gc.unfreeze() would have made it 0. Not `>= frozen`: a frozen object another thread
    # lets go of meanwhile (an earlier test's, winding down) leaves the count.
    assert gc.get_freeze_count() > frozen * 0.9
