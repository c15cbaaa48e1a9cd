"""Following the change feed from a screen: the board and the wall both run this loop in
a thread worker. It polls the feed (backend.live.FeedWatcher: SQLite's data_version,
PostgreSQL's LISTEN/NOTIFY), reads the newest worker heartbeat and the clock skew every
few seconds, and calls the event loop only when something changed: a quiet screen costs
it nothing. A lost connection is reported, then reopened at the next poll.

`FeedFollower` is what the board and the wall share of it on the event loop: the worker,
and the feed's health (unreadable since, the last error, the clock skew) in their banners."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from textual import work
from textual.worker import get_current_worker

from opsdeck.tui.widgets.panels import Banners

if TYPE_CHECKING:
    from textual.screen import Screen

    from opsdeck.backend.board_page import Panels
    from opsdeck.backend.live import FeedWatcher
    from opsdeck.tui.context import BoardContext

    class _Following(Screen[Any]):
        """What of the board and the wall the feed's health uses."""

        ctx: BoardContext
        panels: Panels | None
        unreadable_since: datetime | None
        last_error: str
        clock_skew: float | None

        def _readable(self) -> None: ...
        def _beat(self, beat: datetime | None, leases: tuple[Any, ...] = ()) -> None: ...
        def _changed(self, incidents: frozenset[int], probes: bool, other: bool) -> None: ...
else:
    _Following = object

POLL_S = 0.1
HEARTBEAT_EVERY_S = 5.0
WORKER_GRACE_S = 30.0  # a board's own worker this long to beat before "no worker running" shows


class FeedScreen(Protocol):
    """What a following screen answers, each called on the event loop."""

    ctx: Any
    app: Any

    def _readable(self) -> None: ...
    def _unreadable(self, error: str) -> None: ...
    def _beat(self, beat: datetime | None, leases: tuple[Any, ...] = ()) -> None: ...
    def _skew(self, skew: float) -> None: ...
    def _changed(self, incidents: frozenset[int], probes: bool, other: bool) -> None: ...


def follow_feed(screen: FeedScreen, seq: int | None = None) -> None:
    """Run in the screen's thread worker until the worker is cancelled (the screen went).
    `seq`: the feed's newest entry when the screen read what it shows (None: now)."""
    # the ORM and the models, and the worker's httpx and senders: not before the first frame
    from opsdeck.backend.leases import duty_leases
    from opsdeck.backend.live import FeedWatcher, clock_skew
    from opsdeck.backend.worker import last_heartbeat

    worker = get_current_worker()
    store, call = screen.ctx.store, screen.app.call_from_thread
    watcher: FeedWatcher | None = None
    readable, beat, beat_read_at, skew, leases = False, None, 0.0, None, None
    while not worker.is_cancelled:
        try:
            watcher = watcher or FeedWatcher(store, seq)
            batch = watcher.poll()
            if not readable:
                readable = True
                call(screen._readable)
            if time.monotonic() - beat_read_at >= HEARTBEAT_EVERY_S:
                beat_read_at = time.monotonic()
                fresh, fresh_leases = last_heartbeat(store), duty_leases(store)
                if fresh != beat or fresh_leases != leases:
                    beat, leases = fresh, fresh_leases
                    call(screen._beat, beat, leases)
                found = clock_skew(store, screen.ctx.clock())
                if found is not None and (skew is None or round(found) != round(skew)):
                    skew = found
                    call(screen._skew, skew)
            if batch is not None and not batch.empty:
                call(screen._changed, batch.incidents, batch.probes, batch.roster or bool(batch.other))
        except Exception as error:  # the watcher closed its connections: the next poll reopens them
            readable = False
            call(screen._unreadable, str(error))
            time.sleep(1.0)
        _pause(watcher)
    if watcher is not None:
        watcher.close()


class FeedFollower(_Following):
    """A screen that follows the change feed and shows its health in its `Banners`. The
    screen answers the rest of `FeedScreen`: `_readable` (what to reload once the store
    answers again), `_beat` and `_changed`."""

    @work(thread=True, exclusive=True, group="feed", exit_on_error=False)
    def watch_feed(self, seq: int | None = None) -> None:
        """Follow the change feed until the screen goes, from `seq` (None: now)."""
        follow_feed(self, seq)

    def _follow(self, seq: int | None) -> None:
        """Start following the feed, once: from `seq`, the feed's newest entry when the
        first page was read, or from now when it could not be read."""
        if not getattr(self, "_following", False):
            self._following = True
            self.watch_feed(seq)

    def _unreadable(self, error: str) -> None:
        if self.unreadable_since is None:
            self.unreadable_since = self.ctx.clock()
        self.last_error = error.splitlines()[0] if error else ""
        self._banners(self.ctx.clock())

    def _skew(self, skew: float) -> None:
        self.clock_skew = skew
        self._banners(self.ctx.clock())

    def _banners(self, now: datetime) -> None:
        # This board's own worker, just started, has not beaten yet: not "no worker running".
        starting = any(item.starting(WORKER_GRACE_S) for item in self.ctx.background if hasattr(item, "starting"))
        self.query_one(Banners).show(
            self.unreadable_since, self.panels, now, self.ctx.zone, self.last_error, self.clock_skew, starting
        )


def follow_entity(screen: Any, entity: str, changed: Any) -> None:
    """Run in a screen's thread worker: call `changed` on the event loop whenever someone
    commits a change to an `entity` (the warning screens follow `warning`)."""
    from opsdeck.backend.live import FeedWatcher

    worker = get_current_worker()
    watcher: FeedWatcher | None = None
    try:
        while not worker.is_cancelled:
            try:
                watcher = watcher or FeedWatcher(screen.ctx.store)
                batch = watcher.poll()
            except Exception:  # the board says the store is unreadable; here, try again shortly
                time.sleep(1.0)
                continue
            if batch is not None and entity in batch.other:
                screen.app.call_from_thread(changed)
            _pause(watcher)
    finally:
        if watcher is not None:
            watcher.close()


def _pause(watcher: FeedWatcher | None) -> None:
    """Until the next poll: up to POLL_S, less as soon as someone commits."""
    if watcher is None:
        time.sleep(POLL_S)
    else:
        watcher.wait(POLL_S)
