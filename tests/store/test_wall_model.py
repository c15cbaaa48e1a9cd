"""The wall's read model and alert state machine (backend/wall.py), without Textual:
what one read returns, and which incidents alert until a person acknowledges them."""

from __future__ import annotations

from datetime import timedelta

from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.backend.wall import Alerts, Request, WallLoad, read_wall

from ..conftest import FakeClock


def first_look(store: Store, clock: FakeClock, alerts: Alerts) -> WallLoad:
    load = read_wall(store, clock(), Request(first=True, full=True))
    alerts.loaded(load, load.rows, clock())
    return load


def look_again(store: Store, clock: FakeClock, alerts: Alerts, changed: set[int], rows: dict) -> tuple[int, dict]:  # type: ignore[type-arg]
    request = Request(
        first=False, full=False, changed=frozenset(changed), cached=frozenset(rows), watermark=alerts.watermark
    )
    load = read_wall(store, clock(), request)
    rows = {k.id: load.rows.get(k.id) or rows[k.id] for k in load.top}
    return alerts.loaded(load, rows, clock()), rows


def test_a_new_level_iii_incident_alerts_until_a_person_acts_on_it(seeded: Store, clock: FakeClock) -> None:
    ops = Service(seeded, "servers")
    quiet = ops.open("Printer queue stuck", category="other", level="IV").id
    alerts = Alerts()
    load = first_look(seeded, clock, alerts)
    assert [k.id for k in load.top] == [quiet] and load.panels is not None
    assert alerts.ids() == [] and alerts.watermark == quiet

    clock.advance(minutes=1)
    switch = ops.open("Core switch A lost both uplinks", category="network_fault", level="III").id
    raised, rows = look_again(seeded, clock, alerts, {switch}, load.rows)
    assert (raised, alerts.ids(), alerts.kind_of(switch)) == (1, [switch], "NEW")

    clock.advance(minutes=1)
    raised, rows = look_again(seeded, clock, alerts, set(), rows)
    assert (raised, alerts.ids()) == (0, [switch])  # still there: nobody acted on it

    clock.advance(minutes=1)
    Service(seeded, "lead").note(switch, "on it")
    raised, rows = look_again(seeded, clock, alerts, {switch}, rows)
    assert (raised, alerts.ids(), alerts.kind_of(switch)) == (0, [], None)


def test_a_breached_clock_alerts_once_and_a_level_iv_one_never_as_new(seeded: Store, clock: FakeClock) -> None:
    ops = Service(seeded, "servers")
    alerts = Alerts()
    load = first_look(seeded, clock, alerts)
    minor = ops.open("Printer queue stuck", category="other", level="IV").id
    raised, rows = look_again(seeded, clock, alerts, {minor}, load.rows)
    assert (raised, alerts.ids()) == (0, [])

    due = rows[minor].clocks[0].due_at
    clock.now = due + timedelta(seconds=1)
    raised, rows = look_again(seeded, clock, alerts, set(), rows)
    assert (raised, alerts.kind_of(minor)) == (1, "LATE")
    raised, rows = look_again(seeded, clock, alerts, set(), rows)
    assert (raised, alerts.kind_of(minor)) == (0, "LATE")  # raised once per clock, shown until met or acted on
