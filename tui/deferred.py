"""What the board imports only once its first page is drawn (issue #26), imported here in
one go, on the event loop, before any thread that uses it starts.

The board draws its first page on SQLAlchemy Core (backend/board_page.py). Then its
panels' read, the change feed's follower and the embedded worker each need the ORM, the
models, the service and the worker's module. Imported by those threads at once, Python
3.11 hands a thread a module another thread is still executing ("cannot import name
'Incident' from 'opsdeck.backend.models'": its deadlock detection gives up on the wait),
so the board would show its store as unreadable on a lucky start. One thread imports
them all first; every later import of them is a lookup. Until then the board's keys do
nothing (`ready`): a key's thread would import them too.
"""

from __future__ import annotations

import importlib
import threading

# Every module the board's threads import when first used, and what its keys' reads use.
DEFERRED = (
    "opsdeck.backend.store",
    "opsdeck.backend.board",
    "opsdeck.backend.queries",
    "opsdeck.backend.service",
    "opsdeck.backend.leases",
    "opsdeck.backend.live",
    "opsdeck.backend.worker",
    "opsdeck.backend.schedule_notice",
)


_lock = threading.Lock()
_done = threading.Event()


def import_deferred() -> None:
    """Import `DEFERRED` in this thread: ~0.3 s the first time (on the event loop, once
    the first page is on screen), nothing after. Callers in other threads (the ORM's
    store, made on first use: tui/context.py) wait for the first to finish."""
    if _done.is_set():
        return
    with _lock:
        for name in DEFERRED:
            importlib.import_module(name)
        _done.set()


def ready() -> bool:
    """`DEFERRED` is imported: the board's keys may start threads that use it."""
    return _done.is_set()
