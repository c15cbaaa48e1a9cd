"""The statistics screen (`F` on the board, issue #23) on the scripted month of
tests/store/test_stats.py: the numbers an operator reads, the keys that turn the month, group
and switch to the table; pictures at 80x24 and wide, in English and in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.widgets import DataTable, Static

from opsdeck.backend.store import Store

from ..board_fixtures import make_app, seeded_store, until
from ..conftest import FakeClock
from ..store.test_stats import scripted_day


@pytest.fixture
def month_store(sqlite_url: str) -> tuple[Store, FakeClock]:
    clock = FakeClock()
    store = seeded_store(sqlite_url, clock)
    scripted_day(store, clock)
    clock.now = datetime(2026, 11, 30, 4, tzinfo=UTC)  # read in November (12:00 in Shanghai)
    return store, clock


def _shown(app) -> str:  # type: ignore[no-untyped-def]
    screen = app.screen
    return str(screen.query_one("#stats-title", Static).render()) + str(
        screen.query_one("#stats-numbers", Static).render()
    )


async def _opened(pilot) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.screens.stats import StatsScreen

    await until(pilot, lambda: not isinstance(pilot.app.screen, StatsScreen) and pilot.app.screen.is_mounted)
    await pilot.pause(0.5)
    await pilot.press("F")
    await until(pilot, lambda: isinstance(pilot.app.screen, StatsScreen) and pilot.app.screen.loaded is not None)
    await pilot.pause(0.3)


async def test_the_numbers_the_keys_and_the_table(month_store: tuple[Store, FakeClock]) -> None:
    store, clock = month_store
    app = make_app(store, clock)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _opened(pilot)
            shown = _shown(app)
            assert "Statistics 2026-11 (all incidents)" in shown
            assert "opened 4, closed 4, false alarms 1, reopened 0" in shown
            assert "III 2  IV 1  - 1" in shown  # by level, as numbers
            assert "median time to classify 0m00s (target 30 min), to resolve 1h30m" in shown
            await pilot.press("t")
            table = app.screen.query_one(DataTable)
            assert table.display
            assert [str(c) for c in table.get_row_at(table.row_count - 1)][:4] == ["Total", "4", "4", "1"]
            await pilot.press("g")
            await until(pilot, lambda: "(by category)" in _shown(app))
            await until(pilot, lambda: table.row_count == 4)  # three categories and the total
            assert str(table.get_row_at(0)[0]) == "server_fault"
            await pilot.press("left_square_bracket")
            await until(pilot, lambda: "2026-10" in _shown(app))
            assert "opened 0, closed 0" in _shown(app)
            await pilot.press("escape")
            assert not hasattr(app.screen, "loaded")
    finally:
        store.dispose()


def test_stats_80x24(month_store: tuple[Store, FakeClock], snap_compare) -> None:  # type: ignore[no-untyped-def]
    store, clock = month_store
    try:
        assert snap_compare(make_app(store, clock), terminal_size=(80, 24), run_before=_opened)
    finally:
        store.dispose()


def test_stats_compliance_140x44(month_store: tuple[Store, FakeClock], snap_compare) -> None:  # type: ignore[no-untyped-def]
    store, clock = month_store
    try:
        assert snap_compare(make_app(store, clock), terminal_size=(140, 44), run_before=_opened, press=["c", "c"])
    finally:
        store.dispose()


def test_stats_in_chinese_80x24(month_store: tuple[Store, FakeClock], in_chinese: None, snap_compare) -> None:  # type: ignore[no-untyped-def]
    store, clock = month_store
    try:
        assert snap_compare(make_app(store, clock), terminal_size=(80, 24), run_before=_opened, press=["t"])
    finally:
        store.dispose()
