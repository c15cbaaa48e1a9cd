"""The service desk's call log: calls entered during or after the outage, call-backs
owed as a worklist after recovery, contacts masked everywhere unless a roster member
unmasks them (audited), and never whole in the audit trail."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from opsdeck.backend import queries
from opsdeck.backend.calls import mask
from opsdeck.backend.errors import DomainError, InvalidInput
from opsdeck.backend.identity import os_login
from opsdeck.backend.models import AuditEvent, Incident
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock
from ..records import RECORD

PHONE = "+86 10 5550 7777"


def test_masking_leaves_enough_to_tell_callers_apart_not_to_call_them() -> None:
    assert mask(PHONE) == "+** ** **** 7777"
    assert mask("13800138000") == "*******8000"
    assert mask("li.na@example.org") == "l***@example.org"
    assert mask("ext 12") == "*** *2"
    assert "5550" not in mask(PHONE)


def test_a_call_is_logged_without_touching_the_incident_or_its_clocks(seeded: Store, clock: FakeClock) -> None:
    incident = Service(seeded, "servers").open("portal down", category="software_fault", level="IV")
    assert incident.id is not None
    clock.advance(minutes=5)
    Service(seeded, "web").add_call(
        incident.id,
        caller="Branch 7",
        contact=PHONE,
        need="cannot log in",
        callback=True,
        at=clock.now - timedelta(minutes=3),
    )
    with seeded.read() as session:
        after = session.get(Incident, incident.id)
        assert after is not None
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "call")).all()
    assert after.version == incident.version  # no one's form goes stale for a phone call
    assert after.last_activity_at == incident.last_activity_at  # nor does it renew the ack lease
    [event] = events
    details = json.loads(event.details)
    assert details["contact"] == "+** ** **** 7777" and details["callback"] is True
    assert details["at"] == "2026-11-28T03:02:00Z"  # when it came in, from the paper log
    assert "5550" not in event.details  # the trail is forever: never the whole number


def test_refusals_say_why_and_log_nothing(seeded: Store, as_) -> None:  # type: ignore[no-untyped-def]
    incident = as_("servers").open("x", category="server_fault", level="IV")
    with pytest.raises(InvalidInput, match="a caller is required"):
        as_("web").add_call(incident.id, caller=" ", contact=PHONE, need="n", callback=False)
    with pytest.raises(InvalidInput, match="in the future"):
        as_("web").add_call(
            incident.id, caller="c", contact=PHONE, need="n", callback=False, at=seeded.clock() + timedelta(hours=1)
        )
    with pytest.raises(DomainError, match="viewers change nothing"):
        as_("auditor").add_call(incident.id, caller="c", contact=PHONE, need="n", callback=False)
    as_("servers").resolve(incident.id, resolution="fixed")
    as_("servers").close(incident.id, record=RECORD)
    with pytest.raises(DomainError, match="its record is filed"):
        as_("web").add_call(incident.id, caller="c", contact=PHONE, need="n", callback=False)
    with seeded.read() as session:
        assert queries.audit_trail(session, incident.id)[-1]["action"] == "close"


def test_call_backs_owed_are_a_worklist_ticked_off_once(seeded: Store, as_) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.backend.calls import calls

    down = as_("servers").open("still down", category="server_fault", level="IV")
    back = as_("servers").open("back up", category="server_fault", level="IV")
    first = as_("web").add_call(down.id, caller="A", contact="111 2222", need="n", callback=True)
    second = as_("web").add_call(back.id, caller="B", contact="333 4444", need="n", callback=True)
    as_("web").add_call(back.id, caller="C", contact="555 6666", need="n", callback=False)
    as_("servers").resolve(back.id, resolution="fixed")
    with seeded.read() as session:
        owed = [(c["caller"], c["incident_status"]) for c in calls(session, owed=True)]
    assert owed == [("B", "resolved"), ("A", "acknowledged")]  # the ones to call now come first
    as_("web").called_back(second.id, note="told them")
    with pytest.raises(DomainError, match="was called back at .* by web"):
        as_("dns").called_back(second.id)
    with seeded.read() as session:
        owed = [c["caller"] for c in calls(session, owed=True)]
        no_callback = next(c for c in calls(session) if c["caller"] == "C")
    assert owed == ["A"]
    with pytest.raises(DomainError, match="owes no call-back"):
        as_("web").called_back(no_callback["id"])
    assert first.id is not None


def test_cli_masks_unless_a_member_unmasks_and_that_is_audited(seeded: Store, store_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    incident = Service(seeded, "servers").open("portal down")
    base = ("--db", store_url)
    code, out, err = cli(
        *base,
        "--as",
        "web",
        "calls",
        "add",
        str(incident.id),
        "--caller",
        "Branch 7",
        "--contact",
        PHONE,
        "--need",
        "cannot log in",
        "--callback",
        "--at",
        "-20m",
    )
    assert code == 0, err
    assert out.strip() == f"call 1 logged on #{incident.id}: a call-back is owed"
    code, out, _ = cli(*base, "--as", "auditor", "calls", "list", str(incident.id))
    assert "+** ** **** 7777" in out and PHONE not in out and "call back (still down)" in out
    code, out, _ = cli(*base, "--as", "auditor", "calls", "list", "--json")
    assert json.loads(out)[0]["contact"] == "+** ** **** 7777"
    code, out, err = cli(*base, "--as", "auditor", "calls", "list", "--unmask")
    assert code == 1 and "viewer" in err and PHONE not in out  # a viewer never sees it whole
    code, out, err = cli(*base, "--as", "lead", "calls", "list", "--unmask")
    assert code == 0 and PHONE in out, err
    code, out, _ = cli(*base, "--as", "auditor", "audit", "show", "system", "--json")
    unmasked = [e for e in json.loads(out) if e["action"] == "unmask_calls"]
    # the event names the lead acted as, and who used --as to act as them
    assert [(e["actor"], e["details"]) for e in unmasked] == [("lead", {"calls_of": "all", "by": os_login()})]
    code, out, err = cli(*base, "--as", "web", "calls", "done", "1", "--note", "told them")
    assert code == 0 and "called back" in out, err
    code, out, _ = cli(*base, "--as", "web", "calls", "list", "--owed")
    assert out.strip() == "no call-backs owed"
    code, _, err = cli(*base, "--as", "web", "calls", "done", "1")
    assert code == 1 and "was called back" in err


async def test_on_the_dashboard_l_logs_a_call_and_the_detail_shows_it_masked(sqlite_url: str, clock: FakeClock) -> None:
    from textual.widgets import Input, Static

    from opsdeck.screens.forms import FieldsForm
    from opsdeck.screens.incident import IncidentScreen

    from ..board_fixtures import make_app, seeded_store, until

    store = seeded_store(sqlite_url, clock)
    incident = Service(store, "servers").open("portal down", category="software_fault", level="IV")
    try:
        app = make_app(store, clock, login="web")
        async with app.run_test(size=(100, 30)) as pilot:
            app.push_screen(IncidentScreen(app.context, incident.id))  # type: ignore[arg-type]
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
            detail = app.screen
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, FieldsForm))
            for name, value in (("caller", "Branch 7"), ("contact", PHONE), ("need", "cannot pay"), ("callback", "y")):
                app.screen.query_one(f"#{name}", Input).value = value
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen is detail)
            calls = detail.query_one("#calls", Static)
            await until(pilot, lambda: "Service desk calls (1, 1 call-backs owed" in str(calls.render()))
            shown = str(calls.render())
            assert "+** ** **** 7777" in shown and PHONE not in shown and "CALL BACK" in shown
    finally:
        store.dispose()
