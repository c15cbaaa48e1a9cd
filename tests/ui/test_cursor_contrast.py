"""The cursor row is clearly visible in every theme (issue #19, item 8): at 256 colours its
background stands out from the list's (it was 236 on 234), or the row is reversed where a
theme has too little contrast to move toward. The real app, headless, every theme."""

from __future__ import annotations

import pytest

from opsdeck.tui.widgets.incident_list import CURSOR_CONTRAST, IncidentList, contrast_256

from ..board_fixtures import board_incidents, make_app, seeded_store, until
from ..conftest import FakeClock


@pytest.fixture
def board(sqlite_url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    store = seeded_store(sqlite_url, clock)
    board_incidents(store, clock)
    yield store
    store.dispose()


async def test_the_cursor_row_stands_out_in_every_theme_at_256_colours(board) -> None:  # type: ignore[no-untyped-def]
    from textual.color import Color

    app = make_app(board, board.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        incident_list = app.screen.query_one(IncidentList)
        await until(pilot, lambda: len(incident_list.order) == 5)
        themes = sorted(app.available_themes)
        assert "textual-dark" in themes and "opsdeck-colour-blind" in themes
        faint = []
        for theme in themes:
            app.theme = theme
            await pilot.pause(0.05)
            cursor = incident_list._cursor_style()
            if cursor.reverse:
                continue
            base = Color.from_rich_color(incident_list.rich_style.bgcolor)
            assert cursor.bgcolor is not None and cursor.bold
            ratio = contrast_256(base, Color.from_rich_color(cursor.bgcolor))
            if ratio < CURSOR_CONTRAST:
                faint.append((theme, round(ratio, 2)))
        assert faint == []
