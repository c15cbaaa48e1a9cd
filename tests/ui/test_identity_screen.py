"""Logins are shown as text on the board's detail screen: a note's author and an owner
carrying escape sequences (written into the store by someone who can edit the file, or
left there by an opsdeck from before logins were checked) never reach the terminal."""

from __future__ import annotations

from sqlalchemy import text

from opsdeck.backend.service import Service
from opsdeck.screens.incident import IncidentScreen

from ..board_fixtures import make_app, seeded_store, until
from ..conftest import FakeClock
from .test_triage import ready

# A clipboard write (OSC 52), a screen wipe (CSI 2J) and a right-to-left override.
CLIPBOARD = "mallory\x1b]52;c;cm0gLXJmIH4K\x07"
WIPE = "eve\x1b[2J\x1b[H\u202e"


async def test_hostile_logins_on_the_detail_screen_are_shown_as_text(sqlite_url: str, clock: FakeClock) -> None:
    store = seeded_store(sqlite_url, clock)
    incident = Service(store, "servers").open("Core switch flapping")
    Service(store, "servers").note(incident.id, "looked at the uplinks")
    with store.engine.begin() as conn:  # the direct edit a member with write access to the file can make
        conn.execute(text("UPDATE incident_notes SET author = :a"), {"a": CLIPBOARD})
        conn.execute(text("UPDATE incidents SET owner = :o WHERE id = :i"), {"o": WIPE, "i": incident.id})
    app = make_app(store, clock, login="lead")
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await ready(pilot, app, incident.id)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
            screen = app.screen
            notes, summary = screen.query_one("#notes"), screen.query_one("#summary")
            await until(pilot, lambda: "looked at the uplinks" in str(notes.render()))
            shown = str(notes.render()) + str(summary.render()) + app.export_screenshot()
            for control in ("\x1b", "\x07", "\u202e", "]52;"):
                assert control not in shown, repr(control)
            assert "mallory" in shown and "eve" in shown  # the logins are there, as text
    finally:
        store.dispose()


async def test_the_timeline_says_what_happened_not_what_the_audit_vouches_for(
    sqlite_url: str, clock: FakeClock
) -> None:
    """Each event carries the row as it left it (backend/vouch.py); the timeline shows
    sentences, never those digests and row copies."""
    store = seeded_store(sqlite_url, clock)
    incident = Service(store, "servers").open("Core switch flapping")
    Service(store, "lead").assign(incident.id, "telecom")
    app = make_app(store, clock, login="lead")
    try:
        async with app.run_test(size=(140, 60)) as pilot:
            await ready(pilot, app, incident.id)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
            timeline = app.screen.query_one("#timeline")
            await until(pilot, lambda: "assigned to telecom" in str(timeline.render()))
            shown = str(timeline.render())
            assert "opened: Core switch flapping" in shown
            assert "row=" not in shown and "'status'" not in shown
    finally:
        store.dispose()
