"""The app's own threads (the embedded worker, the demo's pager and probe writer) start
once the board's first page is drawn, so they do not hold the first row back; and at the
latest a moment after the mount, so a board whose store cannot be read still escalates.
And the first page `opsdeck` reads while Textual starts is the page the board shows."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from opsdeck.backend import board_page as board_reads
from opsdeck.screens import board as board_screen
from opsdeck.screens.board_load import read_ahead
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
