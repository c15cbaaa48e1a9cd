"""The app's own threads (the embedded worker, the demo's pager and probe writer) start
once the board's first page is drawn, so they do not hold the first row back; and at the
latest a moment after the mount, so a board whose store cannot be read still escalates.
And the first page `opsdeck` reads while Textual starts is the page the board shows; a
lead's board runs its own worker only when no other escalates, and rides out a busy store
to find out."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from opsdeck.backend import board_page as board_reads
from opsdeck.backend.leases import make_lease
from opsdeck.backend.models import DutyLease
from opsdeck.backend.spool_files import SpoolSettings
from opsdeck.backend.store import Store
from opsdeck.cli import dashboard
from opsdeck.screens import board as board_screen
from opsdeck.screens.board import BoardScreen
from opsdeck.screens.board_load import read_ahead
from opsdeck.screens.help import HelpScreen
from opsdeck.tui import deferred
from opsdeck.tui.app import BACKGROUND_AT_LATEST_S, Background, OpsdeckApp
from opsdeck.tui.widgets.incident_list import IncidentList
from opsdeck.tui.widgets.panels import Banners

from ..board_fixtures import make_app, until


class Recorder:
    """A background thread's target: records what the board showed when it started."""

    def __init__(self, app: OpsdeckApp) -> None:
        self.app = app
        self.started = threading.Event()
        self.rows_shown: int | None = None

    def __call__(self, stop: threading.Event) -> None:
        incident_list = self.app.screen.query_one(IncidentList)
        self.rows_shown = len(incident_list.order)
        self.started.set()
        stop.wait()


async def test_the_background_starts_once_the_first_page_is_shown(board: Any) -> None:
    store, ids = board
    app = make_app(store, store.clock)
    recorder = Recorder(app)
    app.context.background.append(Background("opsdeck-worker", recorder))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, recorder.started.is_set, timeout=BACKGROUND_AT_LATEST_S / 2)
        assert recorder.rows_shown == len(ids)  # every open incident of the page was on the board
    assert not app.context.background[0].thread.is_alive()  # stopped with the app


async def test_the_background_starts_even_when_the_store_cannot_be_read(
    board: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ids = board

    def unreadable(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk I/O error")

    monkeypatch.setattr(board_reads, "_keys", unreadable)  # every read of the board's keys
    app = make_app(store, store.clock)
    recorder = Recorder(app)
    app.context.background.append(Background("opsdeck-worker", recorder))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(BACKGROUND_AT_LATEST_S / 2)
        assert not recorder.started.is_set()  # no first page: not yet
        await until(pilot, recorder.started.is_set, timeout=BACKGROUND_AT_LATEST_S * 2)
        assert recorder.rows_shown == 0


def test_a_background_stopped_before_it_started_never_starts() -> None:
    ran = threading.Event()
    item = Background("opsdeck-worker", lambda stop: ran.set())
    item.stop()  # the app quit before its first page
    item.start()
    assert item.thread.ident is None and not ran.is_set()
    again = Background("opsdeck-worker", lambda stop: stop.wait())
    assert again.start() is again.start()  # a second start: the same thread, not an error
    again.stop()
    assert not again.thread.is_alive()


async def test_a_first_page_read_ahead_is_the_page_the_board_shows(board: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`opsdeck` reads the first page while Textual starts (cli/dashboard.py); the board's
    first load takes that page rather than reading it again."""
    store, ids = board
    app = make_app(store, store.clock)
    app.context.read_ahead = read_ahead(app.context, 30)
    app.context.read_ahead.result(timeout=10)

    def read_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the first page was read again")

    monkeypatch.setattr(board_screen, "read_first_page", read_again)
    async with app.run_test(size=(120, 30)) as pilot:
        incident_list = app.screen.query_one(IncidentList)
        await until(pilot, lambda: len(incident_list.order) == len(ids) and len(incident_list.rows) == len(ids))
        assert set(incident_list.order) == set(ids.values())
        assert app.context.read_ahead is None  # taken: a new filter reads its own first page
        assert "not readable" not in app.screen.query_one(Banners).render().plain


async def test_a_read_ahead_that_fails_is_told_and_the_board_recovers(
    board: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ids = board

    def unreadable(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk I/O error")

    with monkeypatch.context() as patched:
        patched.setattr(board_reads, "_keys", unreadable)
        app = make_app(store, store.clock)
        app.context.read_ahead = read_ahead(app.context, 30)
        with pytest.raises(OSError):
            app.context.read_ahead.result(timeout=10)
    async with app.run_test(size=(120, 30)) as pilot:
        banners = app.screen.query_one(Banners)
        await until(pilot, lambda: "disk I/O error" in banners.render().plain)
        assert "store not readable since" in banners.render().plain
        incident_list = app.screen.query_one(IncidentList)  # the feed answers: the board reads again
        await until(pilot, lambda: len(incident_list.order) == len(ids))
        await until(pilot, lambda: "not readable" not in banners.render().plain)


def _escalation_holder(store: Store) -> str | None:
    with store.read() as session:
        row = session.get(DutyLease, "escalate")
        return row.holder if row is not None else None


def test_the_embedded_worker_waits_out_a_busy_store_then_escalates(
    board: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A lead's board asks for the escalation lease when its threads start. A store that
    cannot be written then (another process holds SQLite's write lock past the busy
    timeout) is asked again, and once it answers the board's worker escalates: the
    board does not quietly run without one."""
    store, _ids = board
    monkeypatch.setattr(dashboard, "LEASE_RETRY_S", 0.2)
    context = make_app(store, store.clock).context
    path = store.path
    assert path is not None
    other = sqlite3.connect(path)
    other.execute("BEGIN IMMEDIATE")  # another process's write, held
    stop = threading.Event()
    thread = threading.Thread(
        target=dashboard.embedded_worker(context, SpoolSettings(tmp_path / "spool")), args=(stop,)
    )
    try:
        with caplog.at_level(logging.WARNING, logger="opsdeck.worker"):
            thread.start()
            deadline = time.monotonic() + 20
            while "asking for the lease again" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.1)
        assert "store busy" in caplog.text and "asking for the lease again" in caplog.text
        assert thread.is_alive()  # quitting now is asked: it will escalate once the store answers
        assert _escalation_holder(store) is None
        other.rollback()
        deadline = time.monotonic() + 20
        while _escalation_holder(store) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert str(_escalation_holder(store)).startswith(f"{socket.gethostname()}:{os.getpid()}:")
    finally:
        other.close()
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()


def test_the_embedded_worker_ends_at_once_when_another_escalates(board: Any, tmp_path: Path) -> None:
    store, _ids = board
    assert make_lease(store, "escalate", holder="other-host:1:1").try_acquire()
    context = make_app(store, store.clock).context
    stop = threading.Event()
    thread = threading.Thread(
        target=dashboard.embedded_worker(context, SpoolSettings(tmp_path / "spool")), args=(stop,)
    )
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()  # no worker of its own: q quits without asking
    assert _escalation_holder(store) == "other-host:1:1"


async def test_keys_that_start_the_orms_threads_wait_for_its_modules(
    board: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until the board's first page is drawn and the ORM's modules are in (tui/deferred.py)
    a key that would start a thread importing them does nothing: two threads importing
    them at once fail. The board's own keys (sort, filter, quit) work from the start."""
    store, ids = board
    monkeypatch.setattr(deferred, "_done", threading.Event())  # as in a fresh process
    release = threading.Event()
    real_read = board_screen.read_first_page

    def held(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(20)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(board_screen, "read_first_page", held)
    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, BoardScreen)
        for key in ("question_mark", "T", "n", "ctrl+p"):
            await pilot.press(key)
        await pilot.pause(0.2)
        assert app.screen is screen  # no help, no form, no palette
        assert screen.check_action("shift", ()) is None and screen.check_action("sort", ()) is True
        await pilot.press("s")
        assert screen.sort == "level"
        release.set()
        incident_list = screen.query_one(IncidentList)
        await until(pilot, lambda: len(incident_list.order) == len(ids))
        await until(pilot, deferred.ready)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
