"""The replay screen fits 80 columns (issue #19, item 8): one line a row, the board's
level labels (III!, not `!! III`), the board's clock names; in English and Chinese."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len

from opsdeck.screens.replay import ReplayScreen

from ..board_fixtures import board_incidents, make_app, seeded_store, until
from ..conftest import FakeClock
from .test_board_ux import screen

AGE = re.compile(r" \d+(s|m|h\d\dm|d\d\dh)$")


@pytest.fixture
def board(sqlite_url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    store = seeded_store(sqlite_url, clock)
    ids = board_incidents(store, clock)
    clock.advance(hours=1)  # the replay opens an hour back: every incident was open then
    yield store, ids
    store.dispose()


async def replay_lines(app, pilot) -> list[str]:  # type: ignore[no-untyped-def]
    await pilot.press("at")
    await until(pilot, lambda: isinstance(app.screen, ReplayScreen) and "#5 " in screen(app))
    await pilot.pause(0.2)
    return screen(app).splitlines()


async def test_the_replay_fits_80_columns_one_line_a_row_with_the_boards_labels(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await replay_lines(app, pilot)
        rows = {i: next(line for line in lines if f"#{ids[name]} " in line) for name, i in ((n, ids[n]) for n in ids)}
        assert rows[ids["switch"]].startswith("III! ") and "!! III" not in "\n".join(lines)
        assert rows[ids["portal"]].startswith("II!! ")
        assert rows[ids["db"]].startswith("--  ")
        assert "lead." in rows[ids["switch"]] and "leadership_report" not in "\n".join(lines)
        for row in rows.values():  # the owner, status and age on the row's own line
            assert AGE.search(row.rstrip()), row
        assert all(cell_len(line) <= 80 for line in lines)
        title = lines[0]
        assert title.startswith(" REPLAY ") and "2026-11-28 11:35:00 CST" in title


async def test_the_replay_fits_80_columns_in_chinese(board, in_chinese) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await replay_lines(app, pilot)
        row = next(line for line in lines if f"#{ids['switch']} " in line)
        assert row.startswith("III! ") and AGE.search(row.rstrip()), row
        assert "时的看板（由审计记录重建）" in lines[0] and all(cell_len(line) <= 80 for line in lines)
