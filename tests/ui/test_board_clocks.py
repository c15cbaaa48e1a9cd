"""Why a row is urgent (issue #19, item 1): every row's DUE cell names its clock, and the
plan's reporting clocks in warning or breached rank above housekeeping breaches, on the
board, in `next_deadline`, the text board, the replay and the wall (backend/ranking.py).

The scenario, at N: #A a level IV printer jam acknowledged 45:06 ago, its ack lease
15:06 overdue (its supervisor clock still pending); #B a level II defacement classified
12:07 ago, its leadership report due in 2:53 (in its warning band); #C unclassified,
5 minutes old (tests/board_fixtures.py reporting_scenario). The plan says #B first. The
same rule in `incident show --json`, the text board and the replay, each another process:
tests/e2e/test_board_clocks_processes.py.
"""

from __future__ import annotations

import pytest

from opsdeck.tui.widgets.incident_list import IncidentList

from ..board_fixtures import make_app, reporting_scenario, seeded_store, until
from ..conftest import FakeClock
from .test_wall import svg_lines


def screen_rows(app) -> list[str]:  # type: ignore[no-untyped-def]
    lines = svg_lines(app.export_screenshot())
    return [line for line in lines if "#" in line and ("IV" in line or "II" in line or "--" in line)]


@pytest.fixture
def board(sqlite_url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    store = seeded_store(sqlite_url, clock)
    ids = reporting_scenario(store, clock)
    yield store, ids
    store.dispose()


@pytest.mark.parametrize(
    ("size", "b_cell", "a_cell", "c_cell"),
    [
        ((160, 40), "02:53 leadership", "-15:06 ack lease", "25:00 classify"),
        ((80, 24), "02:53 lead.", "-15:06 lease", "25:00 class"),
    ],
)
async def test_a_pressing_report_outranks_a_housekeeping_breach_and_every_row_names_its_clock(
    board, size, b_cell: str, a_cell: str, c_cell: str
) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=size) as pilot:
        incident_list = app.screen.query_one(IncidentList)
        await until(pilot, lambda: len(incident_list.order) == 3 and all(i in incident_list.rows for i in ids.values()))
        await pilot.pause(0.1)
        assert incident_list.order == [ids["B"], ids["A"], ids["C"]]
        rows = screen_rows(app)
        assert len(rows) == 3, rows
        assert f"#{ids['B']} " in rows[0] and b_cell in rows[0], rows
        assert f"#{ids['A']} " in rows[1] and a_cell in rows[1], rows
        assert f"#{ids['C']} " in rows[2] and c_cell in rows[2], rows


async def test_the_board_reorders_when_a_report_enters_its_warning_band_without_a_write(
    sqlite_url: str, clock: FakeClock
) -> None:
    store = seeded_store(sqlite_url, clock)
    ids = reporting_scenario(store, clock)
    clock.advance(seconds=-60)  # N-1:00: #B's leadership report is 3:53 away, not yet in warning
    app = make_app(store, clock)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            incident_list = app.screen.query_one(IncidentList)
            await until(
                pilot, lambda: len(incident_list.order) == 3 and all(i in incident_list.rows for i in ids.values())
            )
            assert incident_list.order == [ids["A"], ids["B"], ids["C"]]
            # The rows are in; the countdown column may paint a frame later (a busy machine).
            await until(pilot, lambda: "-14:06 ack lease" in (screen_rows(app) or [""])[0], timeout=5)
            clock.advance(seconds=60)
            await until(pilot, lambda: incident_list.order == [ids["B"], ids["A"], ids["C"]], timeout=5)
            await pilot.pause(0.1)
            assert "02:53 leadership" in screen_rows(app)[0]
    finally:
        store.dispose()


async def _loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    incident_list = pilot.app.screen.query_one(IncidentList)
    await until(
        pilot, lambda: len(incident_list.order) == 3 and all(i in incident_list.rows for i in incident_list.order)
    )
    await until(pilot, lambda: getattr(pilot.app.screen, "panels", None) is not None)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_due_column_picture(board, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    store, _ids = board
    assert snap_compare(make_app(store, store.clock), terminal_size=size, run_before=_loaded)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_due_column_picture_in_chinese(board, snap_compare, in_chinese: None, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    store, _ids = board
    assert snap_compare(make_app(store, store.clock), terminal_size=size, run_before=_loaded)
