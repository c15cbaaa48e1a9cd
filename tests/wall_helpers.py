"""Driving the wall (`opsdeck wall`) in a test: the app as the CLI builds it, and what its
rows show. Used by tests/ui/test_wall.py and tests/e2e/test_wall_processes.py."""

from __future__ import annotations

import pytest

from opsdeck.backend.store import Store
from opsdeck.screens.wall import WallScreen
from opsdeck.tui.app import WallApp, build_app
from opsdeck.tui.widgets.wall import WallRow

from .board_fixtures import center_config
from .conftest import FakeClock


def make_wall(store: Store, clock: FakeClock, *, bell: bool = True, page_seconds: float = 10.0) -> WallApp:
    """The wall as the CLI builds it: read-only, the OS user's login, no worker of its own."""
    assert store.clock is clock
    app = build_app(
        center_config(), store, "viewer", wall=True, bell=bell, page_seconds=page_seconds, where="test store"
    )
    assert isinstance(app, WallApp)
    return app


def wall(app: WallApp) -> WallScreen:
    assert isinstance(app.screen, WallScreen), type(app.screen)
    return app.screen


def loaded(app: WallApp) -> bool:
    return isinstance(app.screen, WallScreen) and app.screen._loaded_once and app.screen.panels is not None


def shown_rows(app: WallApp) -> list[WallRow]:
    return [row for row in wall(app).query(WallRow) if row.display and row.view is not None]


def shown_ids(app: WallApp) -> list[int]:
    return [row.view.row.id for row in shown_rows(app) if row.view]


def row_of(app: WallApp, incident_id: int) -> WallRow | None:
    return next((row for row in shown_rows(app) if row.view and row.view.row.id == incident_id), None)


def flashing(app: WallApp, incident_id: int) -> bool:
    row = row_of(app, incident_id)
    return row is not None and row.view is not None and row.view.alert is not None


def count_bells(monkeypatch: pytest.MonkeyPatch, app: WallApp) -> list[int]:
    """The app's `bell()` calls, from now on: one item a ring."""
    rung: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: rung.append(1))
    return rung
