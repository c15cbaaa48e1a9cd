"""The handover screen (issue #19, item 8) lists what was resolved and closed this shift,
the call-backs owed and the probes not OK, and names deadlines and obligations in
English words in English (never a rule's id). The real app, headless."""

from __future__ import annotations

import pytest

from opsdeck.backend.service import Service
from opsdeck.screens.handover import HandoverScreen

from ..board_fixtures import board_incidents, make_app, seeded_store, until
from ..conftest import FakeClock
from .test_board_ux import screen


@pytest.fixture
def shift(sqlite_url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    store = seeded_store(sqlite_url, clock)
    ids = board_incidents(store, clock)
    ops = Service(store, "servers")
    ops.resolve(ids["minor"], resolution="restarted the spooler")
    Service(store, "lead").close(ids["db"], false_alarm_reason="a load test")
    ops.add_call(ids["switch"], caller="Branch 3 counter", contact="0755-1234", need="cannot pay", callback=True)
    ops.add_call(ids["switch"], caller="Desk 9", contact="0755-9999", need="asked", callback=False)
    yield store, ids
    store.dispose()


async def handover_text(app, pilot) -> str:  # type: ignore[no-untyped-def]
    await pilot.press("H")
    await until(pilot, lambda: isinstance(app.screen, HandoverScreen) and "Handover" in screen(app))
    await pilot.pause(0.2)
    return screen(app)


async def test_the_handover_lists_what_ended_call_backs_owed_and_probes_not_ok(shift) -> None:  # type: ignore[no-untyped-def]
    store, ids = shift
    app = make_app(store, store.clock)
    async with app.run_test(size=(80, 80)) as pilot:
        text = await handover_text(app, pilot)
        ended = text.split("Resolved and closed this shift (2)")[1].split("Call-backs owed")[0]
        assert f"#{ids['minor']}" in ended and "resolved" in ended and "Printer queue" in ended
        assert f"#{ids['db']}" in ended and "closed" in ended and "11-28 11:35" in ended
        owed = text.split("Call-backs owed (1)")[1].split("Probes not OK")[0]
        assert f"#{ids['switch']}" in owed and "Branch 3 counter" in owed and "Desk 9" not in owed
        not_ok = " ".join(text.split("Probes not OK:")[1].split("Breaches escalated")[0].split())
        assert "db01-mysql CRITICAL" in not_ok and "core-sw01/LAN uplink traffic WARNING" in not_ok
        assert "web01-load" not in not_ok


async def test_the_handover_names_deadlines_and_obligations_in_english(shift) -> None:  # type: ignore[no-untyped-def]
    store, _ids = shift
    app = make_app(store, store.clock)
    async with app.run_test(size=(80, 80)) as pilot:
        text = await handover_text(app, pilot)
        for rule_id in ("leadership_report", "departments_notified", "ack_lease"):
            assert rule_id not in text, rule_id
        assert "leadership" in text and "Leadership informed" in text
        assert "报告所领导" not in text and "已报告所领导" not in text
