"""Pictures of the detail screen and the triage forms, at 80x24 and wide, with a frozen
clock. Look at the report before accepting a change (--snapshot-update)."""

from __future__ import annotations

import pytest

from opsdeck.screens.forms import ActionForm
from opsdeck.screens.incident import IncidentScreen
from opsdeck.tui.widgets.incident_list import IncidentList

from ..board_fixtures import board_incidents, make_app, seeded_store
from ..conftest import FakeClock

SIZES = [(80, 24), (140, 44)]


@pytest.fixture
def app(sqlite_url: str):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    store = seeded_store(sqlite_url, clock)
    board_incidents(store, clock)
    yield make_app(store, clock, login="telecom")
    store.dispose()


def on_incident(incident_id: int, *keys: str):  # type: ignore[no-untyped-def]
    """Load the board, put the cursor on the incident, press the keys, wait for the result."""

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        incident_list = pilot.app.screen.query_one(IncidentList)
        for _ in range(200):
            if incident_id in incident_list.rows and getattr(pilot.app.screen, "panels", None) is not None:
                break
            await pilot.pause(0.05)
        incident_list.cursor = incident_list.order.index(incident_id)
        await pilot.press(*keys)
        for _ in range(200):
            screen = pilot.app.screen
            if isinstance(screen, ActionForm) or (isinstance(screen, IncidentScreen) and screen.detail is not None):
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_detail(app, snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app, terminal_size=size, run_before=on_incident(1, "enter"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "key",
    ["c", "v", "o", "m", "u", "t", "e", "C", "r", "R", "b", "n"],
    ids=[
        "classify",
        "level",
        "assign",
        "note",
        "cause",
        "outage",
        "regrade",
        "close",
        "resolve",
        "reopen",
        "attest",
        "new",
    ],
)
def test_form(app, snap_compare, size, key) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app, terminal_size=size, run_before=on_incident(1, key))


def test_no_picture_holds_an_escape_sequence() -> None:
    """Every recorded screen (hostile titles and probe output included) reached the
    'terminal' without ESC or C1 controls."""
    from pathlib import Path

    pictures = list((Path(__file__).parent / "__snapshots__").rglob("*.svg"))
    assert len(pictures) >= 18
    for picture in pictures:
        text = picture.read_text("utf-8")
        assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text, picture.name
