"""The board following another process (tests/ui/test_board.py holds the rest of it): an
incident `opsdeck incident open` writes in its own process appears within a second, on
SQLite (data_version) and on PostgreSQL (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import re

import pytest

from opsdeck.tui.widgets.panels import Banners, BoardHeader

from ..board_fixtures import board_incidents, lines, make_app, seeded_store, shown, until
from ..cli_process import opsdeck
from ..conftest import FakeClock


@pytest.fixture
def any_board(store_url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    """The board's store on SQLite, and again on PostgreSQL."""
    store = seeded_store(store_url, clock)
    ids = board_incidents(store, clock)
    yield store, ids
    store.dispose()


async def test_another_process_change_appears_within_a_second(any_board, store_url: str, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    """SQLite: data_version; PostgreSQL: LISTEN/NOTIFY. Either way, within a second."""
    store, _ = any_board
    app = make_app(store, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(shown(app)) == 5)
        result = await asyncio.to_thread(opsdeck, store_url, "incident", "open", "--title", "opened by another process")
        assert result.returncode == 0, result.stderr
        new_id = int(result.stdout)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await until(pilot, lambda: new_id in shown(app), timeout=3)
        assert loop.time() - started < 1.0
        await until(pilot, lambda: any("opened by another process" in line for line in lines(app)))
        # The header's counts per level (a GROUP BY PostgreSQL once refused) count it too.
        header = app.screen.query_one(BoardHeader)
        await until(pilot, lambda: _open_counted(str(header.render())) == len(shown(app)))
        assert "not readable" not in str(app.screen.query_one(Banners).render())


def _open_counted(header: str) -> int:
    found = re.search(r" I:(\d+) II:(\d+) III:(\d+) IV:(\d+) \?:(\d+)", header)
    return sum(map(int, found.groups())) if found else -1
