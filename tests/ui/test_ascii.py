"""ASCII mode: only ASCII and wide (CJK) characters reach the screen, on the board, in the
help, in a form and on the wall, while Chinese text stays as it is."""

from __future__ import annotations

import html
import re
import unicodedata

from opsdeck.tui.ascii import to_ascii

from ..board_fixtures import board_incidents, make_app, seeded_store, until
from ..conftest import FakeClock


def _drawn(svg: str) -> str:
    """The characters of a screenshot, as the terminal would get them (the SVG writes
    spaces as no-break spaces)."""
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg)
    return "".join(html.unescape(re.sub(r"<[^>]+>", "", t)) for t in texts).replace("\xa0", " ")


def _narrow_or_wide(text: str) -> list[str]:
    """Characters that are neither ASCII nor unambiguously wide: what breaks borders."""
    return sorted({c for c in text if not c.isascii() and unicodedata.east_asian_width(c) not in ("W", "F")})


def test_look_alikes_keep_one_cell() -> None:
    assert to_ascii("┏━┓┃┗┛╺╸▁▔▊█…—·⏎↑") == "+-+|++--_-|#~-.<^"
    assert to_ascii("门户网站 “quoted”") == '门户网站 "quoted"'


async def test_the_board_help_and_a_form_draw_no_ambiguous_character(sqlite_url: str, clock: FakeClock) -> None:
    from textual.widgets import Input

    store = seeded_store(sqlite_url, clock)
    board_incidents(store, clock)
    app = make_app(store, clock, ascii=True)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: len(app.screen.query_one("IncidentList").order) == 5)  # type: ignore[attr-defined]
            await pilot.pause(0.3)
            board = _drawn(app.export_screenshot())
            assert "门户网站" in board  # Chinese titles are untouched
            assert _narrow_or_wide(board) == []
            await pilot.press("question_mark")
            await pilot.pause(0.3)
            assert _narrow_or_wide(_drawn(app.export_screenshot())) == []
            await pilot.press("escape", "n")  # the new-incident form: borders, inputs
            await until(pilot, lambda: bool(app.screen.query(Input)))
            form = _drawn(app.export_screenshot())
            assert _narrow_or_wide(form) == [] and "+" in form
    finally:
        store.dispose()


async def test_the_wall_in_ascii_mode(sqlite_url: str, clock: FakeClock) -> None:
    from opsdeck.screens.wall import WallScreen
    from opsdeck.tui.app import build_app

    from ..board_fixtures import center_config

    store = seeded_store(sqlite_url, clock)
    board_incidents(store, clock)
    app = build_app(center_config(ascii=True), store, "lead", wall=True, bell=False, where="test store")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, WallScreen))
            await pilot.pause(1.0)
            wall = _drawn(app.export_screenshot())
            assert _narrow_or_wide(wall) == []
            assert "--+" in wall or "-+" in wall  # the big digits, drawn in ASCII
    finally:
        store.dispose()
