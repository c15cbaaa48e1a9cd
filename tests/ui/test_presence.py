"""'Also viewing': presence rows that expire, stay out of the feed and the audit trail,
and that read-only sessions never write."""

from __future__ import annotations

from sqlalchemy import func, select

from opsdeck.backend import presence
from opsdeck.backend.models import AuditEvent, Change, Presence
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.screens.incident import IncidentScreen

from ..board_fixtures import make_app, seeded_store, until
from ..conftest import FakeClock
from .test_triage import ready


def rows(store: Store) -> list[tuple[str, int]]:
    with store.read() as session:
        return sorted((p.login, p.incident_id) for p in session.scalars(select(Presence)))


def counts(store: Store) -> tuple[int, int]:
    with store.read() as session:
        return (
            session.execute(select(func.count()).select_from(Change)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        )


def test_a_look_expires_and_leaving_removes_it(seeded: Store, clock: FakeClock) -> None:
    incident = Service(seeded, "servers").open("looked at")
    before = counts(seeded)
    presence.touch(seeded, "lead", incident.id)
    presence.touch(seeded, "dns", incident.id)
    presence.touch(seeded, "lead", incident.id)  # again: one row, newer
    assert presence.viewers(seeded, incident.id, clock.now, besides="lead") == ["dns"]
    assert presence.viewers(seeded, incident.id, clock.now, besides="dns") == ["lead"]
    assert presence.viewers(seeded, incident.id + 1, clock.now, besides="lead") == []
    assert counts(seeded) == before  # not a change: no feed entry, no audit event

    clock.advance(seconds=presence.PRESENCE_TTL_S + 1)  # dns's laptop went away without leaving
    assert presence.viewers(seeded, incident.id, clock.now, besides="lead") == []
    presence.touch(seeded, "lead", incident.id)  # a look sweeps expired rows
    assert rows(seeded) == [("lead", incident.id)]
    presence.leave(seeded, "lead", incident.id)
    assert rows(seeded) == []


async def test_the_detail_screen_shows_who_else_is_looking(sqlite_url: str, clock: FakeClock) -> None:
    store = seeded_store(sqlite_url, clock)
    incident = Service(store, "servers").open("Core switch flapping")
    app = make_app(store, clock, login="lead")
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await ready(pilot, app, incident.id)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
            await until(pilot, lambda: ("lead", incident.id) in rows(store))  # this login is shown to others
            screen = app.screen
            summary = screen.query_one("#summary")
            assert "also viewing" not in str(summary.render())
            presence.touch(store, "dns", incident.id)  # someone on another laptop opens it
            await until(pilot, lambda: "also viewing: dns" in str(summary.render()), timeout=8)
            presence.leave(store, "dns", incident.id)
            await until(pilot, lambda: "also viewing" not in str(summary.render()), timeout=8)
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, IncidentScreen))
            await until(pilot, lambda: rows(store) == [])  # leaving removes the row
    finally:
        store.dispose()


async def test_a_read_only_session_writes_no_presence(sqlite_url: str, clock: FakeClock) -> None:
    store = seeded_store(sqlite_url, clock)
    incident = Service(store, "servers").open("Disk alarms")
    presence.touch(store, "dns", incident.id)
    app = make_app(store, clock, login="lead", read_only=True)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await ready(pilot, app, incident.id)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
            summary = app.screen.query_one("#summary")
            await until(pilot, lambda: "also viewing: dns" in str(summary.render()), timeout=8)  # it still sees
            assert rows(store) == [("dns", incident.id)]  # and is not seen
    finally:
        store.dispose()
