"""Pictures of the board (pytest-textual-snapshot): 80x24 and 160x48, a frozen clock,
deterministic data with Chinese and hostile titles. Look at the report before
accepting a change: `pytest tests/ui/test_board_snapshots.py --snapshot-update`."""

from __future__ import annotations

import pytest

from opsdeck.tui.widgets.incident_list import IncidentList

from ..board_fixtures import board_incidents, make_app, seeded_store, until
from ..conftest import FakeClock


@pytest.fixture
def app(sqlite_url: str):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    store = seeded_store(sqlite_url, clock)
    board_incidents(store, clock)
    yield make_app(store, clock)
    store.dispose()


async def loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait for the worker threads: the keys, the visible rows and the panels."""
    screen = pilot.app.screen
    for _ in range(200):
        incident_list = screen.query_one(IncidentList)
        ready = len(incident_list.order) == 5 and all(i in incident_list.rows for i in incident_list.order)
        if ready and getattr(screen, "panels", None) is not None:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)


def test_board_80x24(app, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded)


def test_board_160x48(app, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app, terminal_size=(160, 48), run_before=loaded)


def test_board_panels_at_80x24(app, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded, press=["p"])


async def help_shown(pilot) -> None:  # type: ignore[no-untyped-def]
    """The help, once its legend has the policy's numbers (read in a worker)."""
    await loaded(pilot)
    await pilot.press("question_mark")
    await until(pilot, lambda: getattr(pilot.app.screen, "figures", None) is not None)
    await pilot.pause(0.2)


def test_help_80x24(app, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app, terminal_size=(80, 24), run_before=help_shown)
