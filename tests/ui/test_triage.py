"""Triage by keyboard with Pilot: every action and refusal, asserted on the store."""

from __future__ import annotations

import asyncio

from opsdeck.backend import queries
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.screens.forms import ActionForm
from opsdeck.tui.widgets.incident_list import IncidentList

from ..board_fixtures import make_app, until
from ..conftest import FakeClock


def incident(store: Store, incident_id: int) -> dict:
    with store.read() as session:
        return queries.incident_detail(session, incident_id)


async def ready(pilot, app, incident_id: int) -> None:  # type: ignore[no-untyped-def]
    """Board loaded, its rows read, the cursor on `incident_id`."""
    incident_list = app.screen.query_one(IncidentList)
    await until(pilot, lambda: incident_id in incident_list.order and incident_id in incident_list.rows)
    incident_list.cursor = incident_list.order.index(incident_id)
    await pilot.pause(0.05)


def form(app) -> ActionForm:  # type: ignore[no-untyped-def]
    assert isinstance(app.screen, ActionForm), type(app.screen)
    return app.screen


def form_error(app) -> str:  # type: ignore[no-untyped-def]
    return str(form(app).query_one("#error").render())


async def test_acknowledge(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot, app, ids["db"])
        await pilot.press("a")
        await until(pilot, lambda: incident(store, ids["db"])["status"] == "acknowledged")
        assert incident(store, ids["db"])["updated_by"] == "servers"


async def test_classify_with_number_keys(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["db"])
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("5")  # server_fault; focus moves to the level
        await pilot.press("down", "down", "enter")  # level III
        await pilot.press("ctrl+s")
        await until(pilot, lambda: incident(store, ids["db"])["category"] == "server_fault")
        data = incident(store, ids["db"])
        assert (data["level"], data["status"]) == ("III", "acknowledged")
        assert [s["key"] for s in data["playbook"]][:1] == ["restart"]


async def test_a_regrade_without_reason_is_refused_in_the_form_and_keeps_what_was_typed(
    board, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["minor"])  # other, IV
        await pilot.press("c", "4")  # network_fault
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Reason field" in form_error(app))
        assert incident(store, ids["minor"])["category"] == "other"
        app.screen.query_one("#reason").value = "lines, not the printer"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: incident(store, ids["minor"])["category"] == "network_fault")


async def test_assign_suggests_the_member_whose_duty_fits(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["portal"])  # network_attack: duty "command"
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("enter")  # the suggested one is first
        await until(pilot, lambda: incident(store, ids["portal"])["owner"] == "lead")


async def test_note_resolve_close_and_the_refusals_on_the_way(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["minor"])
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"paper jam cleared")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: [n["text"] for n in incident(store, ids["minor"])["notes"]] == ["paper jam cleared"])
        await until(pilot, lambda: not isinstance(app.screen, ActionForm))
        await pilot.press("C")  # close before resolving: refused, says the ways out
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "not resolved" in form_error(app))
        assert "false alarm" in form_error(app) and "--false-alarm" not in form_error(app)
        await pilot.press("escape")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"restarted the spooler", "ctrl+s")
        await until(pilot, lambda: incident(store, ids["minor"])["status"] == "resolved")
        await until(pilot, lambda: not isinstance(app.screen, ActionForm))
        rows = app.screen.query_one(IncidentList).rows
        await until(pilot, lambda: (row := rows.get(ids["minor"])) is not None and row.status == "resolved")
        await pilot.press("C")  # the record is still the draft's placeholders: refused, nothing filed
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "empty or still the draft's placeholder" in form_error(app))
        assert "Summary, Cause, Lessons" in form_error(app) and "in the record (w)" in form_error(app)
        assert "opsdeck report edit" not in form_error(app)
        assert incident(store, ids["minor"])["status"] == "resolved"
        assert incident(store, ids["minor"])["record_filed_at"] is None


async def test_bulk_close_files_no_placeholder_record(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    for name in ("minor", "switch"):
        Service(store, "lead").resolve(ids[name], resolution="back to normal")
    app = make_app(store, clock, login="lead")
    async with app.run_test(size=(120, 40)) as pilot:
        incident_list = app.screen.query_one(IncidentList)
        await until(pilot, lambda: all(ids[n] in incident_list.rows for n in ("minor", "switch")))
        for name in ("minor", "switch"):
            incident_list.cursor = incident_list.order.index(ids[name])
            await pilot.press("space")
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("0 closed" in n.message for n in app._notifications))
        message = next(n.message for n in app._notifications if "0 closed" in n.message)
        assert "2 refused" in message and "empty or still the draft's placeholder" in message
        assert [incident(store, ids[n])["status"] for n in ("minor", "switch")] == ["resolved", "resolved"]


async def test_lowering_a_level_is_refused_for_operators(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["portal"])  # II
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("down", "down", "enter")  # IV
        app.screen.query_one("#reason").value = "smaller than feared"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "is for leads" in form_error(app))
        assert "ask a lead: lead" in form_error(app)
        assert incident(store, ids["portal"])["level"] == "II"


async def test_attest_an_obligation(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["switch"])  # III
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("enter")  # leadership_informed
        await pilot.press(*"phone", "tab", *"told the director", "enter")
        with store.read() as session:
            await until(pilot, lambda: bool(queries.obligations(session, ids["switch"])[0]["attested"]))
            [done] = queries.obligations(session, ids["switch"])[0]["attested"]
        assert (done["by"], done["via"], done["note"]) == ("servers", "phone", "told the director")


async def test_a_stale_write_is_refused_once_then_applies_on_the_new_version(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["switch"])
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"carrier fixed the fibre")
        clock.advance(seconds=30)
        Service(store, "dns").note(ids["switch"], "meanwhile")  # a note never conflicts...
        Service(store, "lead").assign(ids["switch"], "dns")  # ...but this changes the incident
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "changed by lead" in form_error(app))
        assert "Submit again" in form_error(app)
        assert app.screen.query_one("#text").text == "carrier fixed the fibre"  # nothing typed is lost
        assert incident(store, ids["switch"])["status"] == "acknowledged"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: incident(store, ids["switch"])["status"] == "resolved")


async def test_bulk_acknowledge_reports_partial_success(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        incident_list = app.screen.query_one(IncidentList)
        await until(
            pilot, lambda: len(incident_list.order) == 5 and all(i in incident_list.rows for i in incident_list.order)
        )
        for name in ("hostile", "db", "switch"):  # two reported, one acknowledged already
            incident_list.cursor = incident_list.order.index(ids[name])
            await pilot.press("space")
        await pilot.press("a")
        await until(pilot, lambda: incident(store, ids["db"])["status"] == "acknowledged")
        await until(pilot, lambda: any("2 acknowledged" in n.message for n in app._notifications))
        message = next(n.message for n in app._notifications if "2 acknowledged" in n.message)
        assert "1 refused" in message
        assert incident(store, ids["hostile"])["status"] == "acknowledged"
        assert not incident_list.marked


async def test_a_viewer_sees_no_write_actions_and_writes_nothing(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="auditor", read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["db"])
        for key in ("a", "c", "o", "m", "r", "C", "n"):
            await pilot.press(key)
            await pilot.pause(0.05)
            assert not isinstance(app.screen, ActionForm), key
        assert incident(store, ids["db"])["status"] == "reported"
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not {"ack", "classify", "assign", "resolve", "new_incident"} & shown


async def test_the_detail_screen_ticks_and_skips_steps(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.screens.incident import IncidentScreen

    store, ids = board
    app = make_app(store, clock, login="telecom")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["switch"])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
        await pilot.press("space")  # the first step: check_lines
        await until(pilot, lambda: incident(store, ids["switch"])["playbook"][0]["state"] == "done")
        await until(pilot, lambda: app.screen.detail.incident["playbook"][0]["state"] == "done")
        await pilot.press("down", "x")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"no backup line here", "enter")
        await until(pilot, lambda: incident(store, ids["switch"])["playbook"][1]["state"] == "skipped")
        assert incident(store, ids["switch"])["playbook"][1]["reason"] == "no backup line here"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "BoardScreen"


async def test_report_a_new_incident_by_hand(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="dns")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["db"])
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"Citizens report the portal login loops", "tab", "tab", *"portal", "enter")
        with store.read() as session:
            await until(pilot, lambda: queries.count_incidents(session, queries.IncidentFilter()) == 6)
            [new] = [r for r in queries.iter_incidents(session, queries.IncidentFilter()) if r["reporter"] == "dns"]
        assert (new["title"], new["system"]) == ("Citizens report the portal login loops", "portal")


async def test_history_shows_closed_incidents_and_filters(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.screens.history import HistoryScreen

    store, ids = board
    Service(store, "servers").close(ids["db"], false_alarm_reason="sensor")
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot, app, ids["switch"])
        assert ids["db"] not in app.screen.query_one(IncidentList).order
        await pilot.press("h")
        await until(
            pilot,
            lambda: isinstance(app.screen, HistoryScreen) and app.screen.query_one(IncidentList).order == [ids["db"]],
        )
        await pilot.press("slash", *"printer", "enter")
        await until(pilot, lambda: app.screen.query_one(IncidentList).order == [])
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.query_one(IncidentList).order == [ids["db"]])
        await pilot.press("q")
        assert type(app.screen).__name__ == "BoardScreen"


async def test_take_and_end_the_shift(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="telecom")

    def on_duty() -> bool:
        with store.read() as session:
            return next(m for m in queries.roster(session) if m["login"] == "telecom")["on_duty"]

    assert on_duty() is False
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot, app, ids["switch"])
        await pilot.press("T")
        await until(pilot, on_duty)
        await until(pilot, lambda: any(m["login"] == "telecom" and m["on_duty"] for m in app.screen.panels.roster))
        await pilot.press("T")  # telecom owns #1: ending the shift is asked once (#19 item 6)
        await pilot.pause(0.3)
        assert on_duty() and any("Press T again" in n.message for n in app._notifications)
        await pilot.press("T")
        await until(pilot, lambda: not on_duty())
    with store.read() as session:
        assert [e["action"] for e in queries.audit_trail(session, None)][-2:] == ["duty", "duty"]


async def test_handover_screen_and_palette_offer_what_applies(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.screens.handover import HandoverScreen
    from opsdeck.tui.palette import OpsdeckCommands

    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["switch"])
        provider = OpsdeckCommands(app.screen)
        names = [name for name, _, _ in provider._commands()]
        assert {"ack", "classify", "assign", "resolve", "close", "history", "handover", "new_incident"} <= set(names)
        await pilot.press("H")
        await until(pilot, lambda: isinstance(app.screen, HandoverScreen))
        await until(pilot, lambda: "Unattested obligations" in str(app.screen.query_one("#handover").render()))
    viewer = make_app(store, clock, login="auditor", read_only=True)
    async with viewer.run_test(size=(120, 40)) as pilot:
        await ready(pilot, viewer, ids["switch"])
        names = [name for name, _, _ in OpsdeckCommands(viewer.screen)._commands()]
        assert "ack" not in names and "new_incident" not in names and "history" in names


async def test_the_detail_screen_is_live_and_warns_a_form_in_progress(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.screens.incident import IncidentScreen

    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["db"])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
        detail_screen = app.screen
        loop = asyncio.get_running_loop()
        started = loop.time()
        Service(store, "dns").note(ids["db"], "checked the array controller")
        await until(pilot, lambda: "checked the array controller" in str(detail_screen.query_one("#notes").render()))
        assert loop.time() - started < 1.0
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"my own note")
        Service(store, "lead").assign(ids["db"], "servers")
        await until(pilot, lambda: any("lead just did assign" in n.message for n in app._notifications))
        assert app.screen.query_one("#text").text == "my own note"


async def test_cause_outage_regrade_and_reopen(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app, ids["minor"])
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"toner sensor", "enter")
        await until(pilot, lambda: incident(store, ids["minor"])["cause_located_at"] is not None)
        await until(pilot, lambda: not isinstance(app.screen, ActionForm))
        await until(pilot, lambda: app.screen.query_one(IncidentList).rows.get(ids["minor"]).version == 2)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"-3h", "enter", *"first complaint came at 08:00", "enter")
        await until(pilot, lambda: incident(store, ids["minor"])["outage_started_at"] == "2026-11-28T00:35:00Z")
        await until(pilot, lambda: not isinstance(app.screen, ActionForm))
        await until(pilot, lambda: app.screen.query_one(IncidentList).rows.get(ids["minor"]).version == 3)
        # The outage (3 h) is past level IV's 2 h bound: a re-grade is due; decline it.
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("down", "enter", *"back within the hour", "enter")
        with store.read() as session:
            await until(
                pilot, lambda: any(e["action"] == "regrade" for e in queries.audit_trail(session, ids["minor"]))
            )
        await until(pilot, lambda: not isinstance(app.screen, ActionForm))
        Service(store, "servers").resolve(ids["minor"], resolution="new toner")
        await until(pilot, lambda: app.screen.query_one(IncidentList).rows.get(ids["minor"]).status == "resolved")
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"jammed again", "enter")
        await until(pilot, lambda: incident(store, ids["minor"])["status"] == "acknowledged")
