"""`?` works on every screen (issue #19, item 8): the help lists the keys of the screen
it was asked on; where `?` is text (the record's editor, a form's field), F1 asks, and
the record's key line says so. The real app, headless."""

from __future__ import annotations

import pytest

from opsdeck.screens.forms import ActionForm
from opsdeck.screens.help import HelpScreen
from opsdeck.screens.record import RecordScreen

from ..board_fixtures import make_app, until
from .test_board_ux import on, screen

SCREENS = [
    ("enter", "IncidentScreen", "Tick step"),
    ("h", "HistoryScreen", "Back"),
    ("H", "HandoverScreen", "Back"),
    ("W", "WarningsScreen", "Raise"),
    ("at", "ReplayScreen", "10 min earlier"),
    ("S", "ScheduleScreen", "Previous week"),
    ("F", "StatsScreen", "Previous month"),
]


@pytest.mark.parametrize(("key", "name", "listed"), SCREENS)
async def test_question_mark_shows_the_keys_of_every_screen(board, key: str, name: str, listed: str) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await on(pilot, app, ids["switch"])
        await pilot.press(key)
        await until(pilot, lambda: type(app.screen).__name__ == name)
        await pilot.pause(0.3)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause(0.2)
        assert "Keys" in screen(app) and listed in screen(app)
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == name)


async def test_f1_shows_the_keys_where_question_mark_is_text(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await on(pilot, app, ids["minor"])
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, RecordScreen) and "reading" not in screen(app))
        await pilot.pause(0.3)
        assert "f1 Help" in screen(app).splitlines()[-1]
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "File record and close" in screen(app)
        await pilot.press("escape", "escape")
        await until(pilot, lambda: not isinstance(app.screen, RecordScreen))
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("question_mark")  # typed into the note
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        assert app.screen.values()["text"] == "?"
