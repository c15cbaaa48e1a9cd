"""The colour-blind-safe theme recolours every severity on the board: Textual's variables
($error, $warning) and the named colours in Rich text alike; the level stays written out."""

from __future__ import annotations

from rich.terminal_theme import MONOKAI

from opsdeck.tui.app import COLOUR_BLIND, OpsdeckApp

from ..board_fixtures import board_incidents, make_app, seeded_store, until
from ..conftest import FakeClock


async def _screenshot(app: OpsdeckApp) -> str:
    async with app.run_test(size=(140, 36)) as pilot:
        await until(pilot, lambda: len(app.screen.query_one("IncidentList").order) == 5)  # type: ignore[attr-defined]
        await until(pilot, lambda: app.screen.panels is not None)  # type: ignore[attr-defined]
        await pilot.pause(0.3)
        return app.export_screenshot()


async def test_the_colour_blind_theme_reaches_css_and_rich_colours(sqlite_url: str, clock: FakeClock) -> None:
    store = seeded_store(sqlite_url, clock)
    board_incidents(store, clock)
    try:
        default = await _screenshot(make_app(store, clock))
        app = make_app(store, clock)
        app.context.theme = COLOUR_BLIND.name
        app.theme = COLOUR_BLIND.name
        safe = await _screenshot(app)
    finally:
        store.dispose()
    vermillion, orange = COLOUR_BLIND.error.lower(), COLOUR_BLIND.warning.lower()  # type: ignore[union-attr]
    monokai_red = MONOKAI.ansi_colors[1].hex  # what Rich's "red" becomes in the default dark theme
    assert vermillion in safe.lower() and orange in safe.lower()  # breached countdowns, level I/II/III
    assert vermillion not in default.lower() and monokai_red in default.lower()
    assert "II!!" in safe and "III!" in safe  # never colour alone
    assert monokai_red not in safe.lower()  # Rich's "red" went through the theme's ANSI colours too
