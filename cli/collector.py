"""The garbage collector while a command starts.

A start imports SQLAlchemy, SQLModel, the models and, for the board, Textual: a few
hundred thousand objects, none of them garbage. With the collector on, each full
collection walks everything built so far, and they come more often as it piles up.
So `main()` holds the collector off from its first line until the command is about to
do its work: a command once its group module is in and its context made (`run()`,
before the handler), the board once Textual and the screens are in and its store is
open (`dashboard()`, before `app.run()`). A command that fails before that releases it
on the way out of `main()`. Measured in one run (bench board_pty.start_to_first_row,
10k open, medians of 8, alternating): 844/746/815 ms to 655/629/719 ms to the first row.

What the start built lives as long as the process; a board (which runs for hours)
releases it frozen, out of later collections' reach, as `opsdeck worker` does.
"""

from __future__ import annotations

import gc

_held = False  # True while this module turned the collector off (not the caller: a test may have)


def hold() -> None:
    """No collection until `release`. If the collector was already off (a caller's own
    choice), it stays off after `release` too."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def release(*, freeze: bool = False) -> None:
    """The command's start is over: the collector runs again (a second call does
    nothing). With `freeze`, what is alive now is left out of every later collection."""
    global _held
    if not _held:
        return
    _held = False
    if freeze:
        gc.freeze()
    gc.enable()
