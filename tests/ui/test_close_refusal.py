"""A close refusal names the real missing step (issue #19, item 8): an incident that is
classified but not resolved is told to resolve (r), not "resolve and classify"; one that
is resolved but unclassified to classify (c). The real app, headless, and the store."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from opsdeck.backend import queries
from opsdeck.backend.service import Service
from opsdeck.screens.forms import ActionForm

from ..board_fixtures import board_incidents, make_app, seeded_store, until
from ..conftest import FakeClock
from .test_board_ux import on


@pytest.fixture
def board(sqlite_url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    store = seeded_store(sqlite_url, clock)
    ids = board_incidents(store, clock)
    Service(store, "servers").resolve(ids["db"], resolution="the disk was replaced")  # resolved, unclassified
    yield store, ids
    store.dispose()


def form_error(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#error", Static).content) if isinstance(app.screen, ActionForm) else ""


async def refusal(pilot, app, incident_id: int) -> str:  # type: ignore[no-untyped-def]
    await on(pilot, app, incident_id)
    await pilot.press("C")
    await until(pilot, lambda: isinstance(app.screen, ActionForm))
    await pilot.press("ctrl+s")
    await until(pilot, lambda: "cannot be closed" in form_error(app))
    said = form_error(app)
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, ActionForm))
    return said


async def test_a_close_refusal_names_the_step_still_missing(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        said = await refusal(pilot, app, ids["minor"])  # IV, other: only not resolved
        assert "it is not resolved" in said and "first resolve it (r)," in said, said
        assert "classif" not in said and "--" not in said
        said = await refusal(pilot, app, ids["db"])  # resolved, but no category or level
        assert "it has no category and it has no level" in said and "first classify it (c)," in said, said
        assert "resolve it" not in said
        said = await refusal(pilot, app, ids["hostile"])  # neither
        assert "first resolve it (r), then classify it (c)," in said, said
    with store.read() as session:
        assert {queries.get_incident(session, ids[n])["status"] for n in ("minor", "db", "hostile")} == {
            "acknowledged",
            "reported",
            "resolved",
        }
