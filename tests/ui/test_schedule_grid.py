"""`S` on the board: the duty schedule as a week grid in the real app, at 80x24 (it
scrolls) and wide; CJK names fit their cells; `o` adds an override for the highlighted
duty and day, which the grid then shows; a viewer has no `o`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from textual.widgets import DataTable

from opsdeck.backend import queries, schedule_edit
from opsdeck.backend.service import Service
from opsdeck.tui import deferred

from ..board_fixtures import make_app, seeded_store, until
from ..conftest import FakeClock

SH = ZoneInfo("Asia/Shanghai")


def _grid_text(table: DataTable) -> str:  # type: ignore[type-arg]
    return "\n".join(
        " | ".join(str(table.get_cell_at((row, column))).replace("\n", " / ") for column in range(len(table.columns)))
        for row in range(table.row_count)
    )


async def test_the_week_grid_shows_rotations_gaps_and_adds_an_override(
    sqlite_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    from opsdeck.screens.schedule import ScheduleScreen

    clock.now = datetime(2026, 11, 25, 10, 0, tzinfo=SH)  # a Wednesday
    store = seeded_store(sqlite_url, clock)
    Service(store, "servers").roster_duty("servers", False)
    spec = schedule_edit.RotationSpec(
        "srv-day", "servers", ("servers",), 24 * 60, datetime(2026, 11, 1, 9, 0), "Asia/Shanghai", hours="09:00-18:00"
    )
    schedule_edit.set_rotation(store, "lead", spec)
    app = make_app(store, clock, login="lead")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: type(app.screen).__name__ == "BoardScreen" and deferred.ready())  # keys work
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ScheduleScreen) and app.screen.grid != ())
        table = app.screen.query_one(DataTable)
        text = _grid_text(table)
        assert "Duty schedule 2026-11-23 – 2026-11-29" in str(app.screen.query_one("#schedule-title").render())
        assert table.cursor_coordinate.column == 3 and table.fixed_columns == 1  # opens on today, Wednesday
        servers = text.splitlines()[[r[0].duty for r in app.screen.grid].index("servers")]
        assert "09:00 陈静" in servers and "18:00 GAP" in servers  # the Chinese part of the roster's name
        # highlight servers on Saturday: servers covers the evening too
        row = [r[0].duty for r in app.screen.grid].index("servers")
        table.move_cursor(row=row, column=6)
        await pilot.press("o")
        await until(pilot, lambda: type(app.screen).__name__ == "FieldsForm")
        await pilot.press(*"servers", "tab", *"18:00", "tab", *"23:00", "enter")
        await until(pilot, lambda: isinstance(app.screen, ScheduleScreen))
        await until(pilot, lambda: "18:00 陈静" in _grid_text(app.screen.query_one(DataTable)))
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: "2026-11-30" in str(app.screen.query_one("#schedule-title").render()))
    with store.read() as session:
        trail = [e["action"] for e in queries.audit_trail(session, None)]
    assert "schedule_override" in trail
    store.dispose()


async def test_a_viewer_sees_the_grid_without_the_override_key(sqlite_url: str, clock: FakeClock) -> None:
    from opsdeck.screens.schedule import ScheduleScreen

    store = seeded_store(sqlite_url, clock)
    app = make_app(store, clock, login="auditor", read_only=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: type(app.screen).__name__ == "BoardScreen" and deferred.ready())  # keys work
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ScheduleScreen) and app.screen.grid != ())
        assert app.screen.check_action("override", ()) is False
        await pilot.press("o")
        assert isinstance(app.screen, ScheduleScreen)
    store.dispose()


def _week_store(sqlite_url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    """A week with a day rotation on servers (09:00-18:00), the demo's takes, a 王磊 override."""
    clock.now = datetime(2026, 11, 23, 0, 0, tzinfo=SH)  # Monday 00:00: the whole week is ahead
    store = seeded_store(sqlite_url, clock)
    Service(store, "servers").roster_duty("servers", False)
    spec = schedule_edit.RotationSpec(
        "srv-day", "servers", ("servers",), 24 * 60, datetime(2026, 11, 1, 9, 0), "Asia/Shanghai", hours="09:00-18:00"
    )
    schedule_edit.set_rotation(store, "lead", spec)
    schedule_edit.add_override(
        store, "lead", "dns", "dns", datetime(2026, 11, 25, 20, 0, tzinfo=SH), datetime(2026, 11, 26, 8, 0, tzinfo=SH)
    )
    return store


async def _grid_shown(pilot) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.screens.schedule import ScheduleScreen

    app = pilot.app
    await until(pilot, lambda: type(app.screen).__name__ == "BoardScreen" and app.screen.panels is not None)
    await pilot.press("S")
    await until(pilot, lambda: isinstance(app.screen, ScheduleScreen) and app.screen.grid != ())
    await pilot.pause(0.2)


def test_the_week_grid_80x24(sqlite_url: str, snap_compare) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    store = _week_store(sqlite_url, clock)
    assert snap_compare(make_app(store, clock), terminal_size=(80, 24), run_before=_grid_shown)
    store.dispose()


def test_the_week_grid_160x40(sqlite_url: str, snap_compare) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    store = _week_store(sqlite_url, clock)
    assert snap_compare(make_app(store, clock), terminal_size=(160, 40), run_before=_grid_shown)
    store.dispose()


async def test_the_week_grid_in_chinese(sqlite_url: str, in_chinese: None) -> None:
    from .test_screens_zh import screen

    clock = FakeClock()
    store = _week_store(sqlite_url, clock)
    app = make_app(store, clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await _grid_shown(pilot)
        shown = screen(app)
        assert "排班 2026-11-23 – 2026-11-29" in shown
        assert "周一 11-23" in shown and "周日 11-29" in shown
        assert "00:00 空档" in shown and "09:00 陈静" in shown and "00:00 周明" in shown  # the names' Chinese part
    store.dispose()
