"""The garbage collector while a command starts.

A start imports SQLAlchemy, SQLModel, the models and, for the board, Textual: a few
hundred thousand objects, nearly none of them garbage (a few hundred; a store created or
upgraded at the start leaves its migrations' ~12k, kept frozen: bounded, once). With
the collector on, each full collection walks everything built so far, and they come
more often as it piles up.
So `main()` holds the collector off from its first line until the command is about to
do its work: a command once its group module is in and its context made (`run()`,
before the handler), the board once Textual and the screens are in and its store is
open (`dashboard()`, before `app.run()`). A command that fails before that releases it
on the way out of `main()`. Measured in one run (bench board_pty.start_to_first_row,
10k open, medians of 8, alternating): 844/746/815 ms to 655/629/719 ms to the first row.

What the start built lives as long as the process, so it is released frozen, out of
later collections' reach (as `opsdeck worker` and the board freeze theirs): a command's
own imports and work are then walked alone (bench cli.start_time, incident list on an
empty store, A/B: 211/182 -> 171/169 ms). Frozen once a process: a caller that runs
`main()` again and again keeps only the first call's garbage.
"""

from __future__ import annotations

import gc

_held = False  # True while this module turned the collector off (not the caller: a test may have)
_left_to_caller = False  # the process collects and freezes on its own: never freeze here
_frozen = False  # this process's start was frozen already


def leave_to_caller() -> None:
    """This process runs the collector itself (a test session collects and freezes
    between tests: tests/conftest.py): `release` turns it back on but freezes nothing,
    or a test's garbage made before `main()` (engines, connections) would never be
    collected and closed."""
    global _left_to_caller
    _left_to_caller = True


def hold() -> None:
    """No collection until `release`. If the collector was already off (a caller's own
    choice), it stays off after `release` too."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def release() -> None:
    """The command's start is over: what is alive now is left out of every later
    collection, and the collector runs again (a second call does nothing)."""
    global _held, _frozen
    if not _held:
        return
    if not (_left_to_caller or _frozen):
        gc.freeze()
        _frozen = True
    gc.enable()
    _held = False  # only now: an interrupt before gc.enable() leaves main()'s own release to do it


def ending() -> None:
    """The process ends now (`opsdeck` returned from `main()`): freeze what is alive, so
    the interpreter's last collection does not walk it all before exiting. A board
    unfreezes its heap when it unmounts (tui/heap.py), and that walk was most of a quit
    (bench board_pty.quit_time). What atexit and the interpreter's close do (logs
    flushed, files closed) still happens; only cycles left at exit go uncollected, and
    the operating system frees their memory."""
    if not _left_to_caller:
        gc.disable()
        gc.freeze()
