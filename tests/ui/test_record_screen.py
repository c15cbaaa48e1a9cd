"""The record screen on the dashboard (`w` on an incident's detail): an unresolved
incident's record is refused on the screen and kept; a resolved one's is edited, checked
and filed, closing the incident (tests/store/test_record.py tests the record itself)."""

from __future__ import annotations

from datetime import UTC

import pytest
from textual.widgets import Static, TextArea

from opsdeck.backend import drafts, queries
from opsdeck.backend.models import Incident
from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service
from opsdeck.screens.incident import IncidentScreen
from opsdeck.screens.record import RecordScreen

from ..board_fixtures import make_app, until
from ..conftest import FakeClock
from ..records import resolved_store


@pytest.fixture
def resolved(sqlite_url: str, clock: FakeClock) -> tuple[str, int]:
    return resolved_store(sqlite_url, clock)


async def test_on_the_dashboard_the_draft_is_edited_and_filed(resolved: tuple[str, int], clock: FakeClock) -> None:
    """Board -> enter (detail) -> w (record) -> type -> ctrl+s: the incident is closed with
    the text as typed. Before that, an operator's ctrl+s on an unresolved incident is
    refused on the screen and the text stays."""
    url, incident_id = resolved
    store = open_store(url, clock=clock)
    still_open = Service(store, "servers").open("still down", category="server_fault", level="IV")
    try:
        app = make_app(store, clock, login="servers")
        async with app.run_test(size=(100, 30)) as pilot:
            # The unresolved one first: refused, shown, kept.
            app.push_screen(IncidentScreen(app.context, still_open.id))  # type: ignore[arg-type]
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, RecordScreen) and app.screen.loaded is not None)
            area = app.screen.query_one(TextArea)
            area.insert("Typed before resolving.\n", (0, 0))
            await pilot.press("ctrl+s")
            error = app.screen.query_one("#record-error", Static)
            await until(pilot, lambda: "not resolved" in str(error.render()))
            assert "your text is kept" in str(error.render())
            assert area.text.startswith("Typed before resolving.")
            with store.read() as session:  # saved as the draft, though not filed
                assert drafts.current(session, still_open.id, clock.now, UTC)[0].startswith("Typed before resolving.")  # type: ignore[arg-type]
            area.insert("And more.\n", (0, 0))
            await pilot.press("escape")  # edited since the save: the first esc warns
            assert isinstance(app.screen, RecordScreen)
            await pilot.press("escape")
            await pilot.press("escape")
            # Then the resolved one: edited, filed, closed.
            app.push_screen(IncidentScreen(app.context, incident_id))  # type: ignore[arg-type]
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, RecordScreen) and app.screen.loaded is not None)
            area = app.screen.query_one(TextArea)
            assert area.text.startswith(f"# Post-incident record: #{incident_id} Benefits DB refuses connections")
            area.insert("Filed from the dashboard.\n\n", (0, 0))
            await pilot.press("ctrl+s")  # the lessons are still the placeholder: refused, kept
            error = app.screen.query_one("#record-error", Static)
            await until(pilot, lambda: "Lessons empty or still the draft's placeholder" in str(error.render()))
            assert isinstance(app.screen, RecordScreen) and area.text.startswith("Filed from the dashboard.")
            await pilot.press("escape")  # saved: leaves at once; w again finds the draft as written
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, RecordScreen) and app.screen.loaded is not None)
            area = app.screen.query_one(TextArea)
            assert area.text.startswith("Filed from the dashboard.")
            area.text = area.text.replace("(What to change so it does not happen again.)", "Alert on pool use.")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, RecordScreen))
        with store.read() as session:
            incident = session.get(Incident, incident_id)
            assert incident is not None and incident.status == "closed"
            assert incident.record is not None and incident.record.startswith("Filed from the dashboard.")
            assert "Benefits DB refuses connections" in incident.record and "Alert on pool use." in incident.record
            unresolved = queries.get_incident(session, still_open.id)  # type: ignore[arg-type]
        assert unresolved["status"] == still_open.status
    finally:
        store.dispose()
