"""Pictures of the toast that announces a new incident (issue #19, item 2), at 80x24 and
wide, in English and in Chinese: the toast names it (#, the board's level label, the
title) and its row blinks. A frozen clock: the blink is on. Look at the report before
accepting a change: `pytest tests/ui/test_toast_snapshots.py --snapshot-update`."""

from __future__ import annotations

import pytest

from opsdeck.backend.service import Service
from opsdeck.tui.widgets.incident_list import IncidentList

from ..board_fixtures import board_incidents, make_app, seeded_store, until
from ..conftest import FakeClock


@pytest.fixture
def board(sqlite_url: str):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    store = seeded_store(sqlite_url, clock)
    board_incidents(store, clock)
    yield store
    store.dispose()


def arrival(store):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        incident_list = pilot.app.screen.query_one(IncidentList)
        await until(pilot, lambda: len(incident_list.order) == 5)
        await until(pilot, lambda: getattr(pilot.app.screen, "panels", None) is not None)
        await pilot.pause(0.3)
        new = Service(store, "servers").open("Payment gateway timeouts", category="software_fault", level="III").id
        await until(pilot, lambda: any(f"#{new}" in n.message for n in pilot.app._notifications))
        await until(pilot, lambda: new in incident_list.rows and new in incident_list.flashing)
        await pilot.pause(0.5)  # the toast has slid in

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_new_incident_toast(board, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(board, board.clock), terminal_size=size, run_before=arrival(board))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_new_incident_toast_in_chinese(board, snap_compare, in_chinese: None, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(board, board.clock), terminal_size=size, run_before=arrival(board))
