"""Board replay (`opsdeck board --at`): a scripted shift takes the live board at several
moments; replayed afterwards, from the audit trail, each moment must read the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsdeck.backend import board, escalation, queries
from opsdeck.backend.board import BoardFilter
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.models import Incident, IncidentDeadline
from opsdeck.backend.replay import board_at
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.backend.timeutil import rfc3339

from ..conftest import T0, FakeClock
from ..records import RECORD

As = Callable[[str], Service]
WORKER = "system:worker@test"
# Version 2 re-grades by itself and gives the supervisor 45 minutes instead of 60.
POLICY_V2 = """
[deadlines]
auto_regrade = true

[[deadlines.rule]]
key = "supervisor"
name = "Unresolved: call-center supervisor takes action"
name_zh = "呼叫中心主管介入"
starts = "reported"
after = "45m"
met_by = ["resolved"]
escalate_to = ["contact:call_center_supervisor"]
"""


def live_board(store: Store, now: datetime) -> list[dict[str, Any]]:
    """What the live board shows now: its rows in its order, each one's clocks as the
    detail reads them, and the next deadline it counts down."""
    with store.read() as session:
        keys = board.load_keys(session, BoardFilter(), "due", now=now)
        rows = board.load_rows(session, [k.id for k in keys])
        out = []
        for key in keys:
            row, items = rows[key.id], queries.incident_deadlines(session, key.id, now)
            incident = session.get(Incident, key.id)
            assert incident is not None
            out.append(
                {
                    "id": row.id,
                    "title": row.title,
                    "system": row.system,
                    "status": row.status,
                    "category": row.category,
                    "level": row.level,
                    "owner": row.owner,
                    "reported_at": rfc3339(row.reported_at),
                    "policy_version": incident.policy_version,
                    "deadlines": items,
                    "next_deadline": queries.next_deadline(items),
                }
            )
    return out


def replayed(store: Store, at: datetime) -> list[dict[str, Any]]:
    with store.read() as session:
        return board_at(session, at, now=store.clock())


def by_id(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in rows}


@dataclass
class Shift:
    ids: dict[str, int] = field(default_factory=dict)
    moments: dict[str, tuple[datetime, list[dict[str, Any]]]] = field(default_factory=dict)


def run_shift(store: Store, as_: As, clock: FakeClock, tmp_path: Path) -> Shift:
    """A night shift: opens, classifications, a re-grade, a policy change, breaches the
    worker escalates, resolutions, closes, a reopen of each kind and an automatic
    re-grade. The live board is taken at each named moment."""
    shift = Shift()

    def at(minutes: float) -> None:
        clock.now = T0 + timedelta(minutes=minutes)

    def snap(name: str) -> None:
        shift.moments[name] = (clock.now, live_board(store, clock.now))

    def sweep() -> None:
        escalation.sweep(store, WORKER)

    telecom, servers, web, dns, lead = (as_(login) for login in ("telecom", "servers", "web", "dns", "lead"))
    shift.ids["A"] = telecom.open("core switch down", system="core-network").id
    # F's outage began 110 minutes before it was reported: its 2 h bound passes at 10.
    shift.ids["F"] = servers.open(
        "db replica lagging",
        system="db-cluster",
        category="server_fault",
        level="IV",
        outage_start=T0 - timedelta(minutes=110),
    ).id
    snap("first_open")
    at(5)
    shift.ids["B"] = servers.open(
        "benefits payments failing", system="benefits-app", category="software_fault", level="IV"
    ).id
    at(10)
    telecom.classify(shift.ids["A"], category="network_fault", level="III")
    at(12)
    lead.assign(shift.ids["B"], "servers")
    at(14)
    servers.regrade(shift.ids["F"], confirm=False, reason="contained: users are on the primary")
    at(15)
    shift.ids["C"] = web.open("portal slow").id
    at(20)
    snap("early")
    at(22)
    policy = tmp_path / "policy-v2.toml"
    policy.write_text(POLICY_V2, "utf-8")
    lead.apply_policy(policy)
    at(25)
    telecom.attest(shift.ids["A"], "leadership_informed", via="phone")
    at(26)
    sweep()  # A's departments notice is overdue
    at(30)
    snap("pre_regrade")
    at(31)
    servers.classify(shift.ids["B"], category="software_fault", level="III", reason="every district affected")
    at(35)
    servers.note(shift.ids["B"], "restarting the application servers")
    at(38)
    servers.set_level(shift.ids["F"], level="III", reason="the lag reaches the payment run")
    at(40)
    snap("regraded")
    at(45.5)
    snap("unswept")  # C's classify clock breached; no sweep has run
    at(46)
    sweep()
    at(47)
    sweep()
    at(48)
    shift.ids["D"] = dns.open("resolver timeouts", system="dns", category="network_fault", level="IV").id
    at(49)
    dns.outage(shift.ids["D"], started=T0 + timedelta(minutes=38), reason="the first alarm was earlier")
    at(50)
    web.resolve(shift.ids["C"], resolution="cache cleared")
    at(52)
    snap("busy")
    at(55)
    web.close(shift.ids["C"], false_alarm_reason="a client-side proxy")
    at(56)
    telecom.resolve(shift.ids["A"], resolution="switched to the backup line")
    at(60)
    snap("after_close")
    at(62)
    telecom.reopen(shift.ids["A"], reason="the backup line flaps")
    at(70)
    servers.cause(shift.ids["B"], note="a bad deploy")
    at(75)
    servers.resolve(shift.ids["B"], resolution="rolled back")
    at(80)
    servers.close(shift.ids["B"], record=RECORD)
    at(85)
    shift.ids["E"] = servers.reopen(shift.ids["B"], reason="errors again").id
    at(90)
    snap("reopened")
    at(95)
    sweep()
    at(158)
    snap("pre_auto")  # D's 2 h bound passes at 158 min (its outage began at 38)
    at(158 + 1 / 60)
    sweep()
    snap("auto_regraded")
    at(200)
    snap("end")
    return shift


@pytest.fixture
def shift(seeded: Store, as_: As, clock: FakeClock, tmp_path: Path) -> Shift:
    return run_shift(seeded, as_, clock, tmp_path)


def test_every_moment_replays_as_the_live_board_showed_it(seeded: Store, shift: Shift) -> None:
    assert len(shift.moments) == 11
    for name, (moment, live) in shift.moments.items():
        assert live, name  # every moment has something on the board
        assert replayed(seeded, moment) == live, name


def test_the_shift_did_what_it_says(seeded: Store, shift: Shift) -> None:
    """The scenario exercises what the replay must rebuild: breaches, escalations, a
    re-pin that moved a stored due time, both reopens, an automatic re-grade."""
    live = {name: by_id(rows) for name, (_, rows) in shift.moments.items()}
    a, b, d = shift.ids["A"], shift.ids["B"], shift.ids["D"]
    states = {c["key"]: c["state"] for c in live["unswept"][shift.ids["C"]]["deadlines"]}
    assert states["classify"] == "breached"
    escalated = {c["key"] for c in live["busy"][a]["deadlines"] if c["escalated_at"]}
    assert "departments_notified" in escalated
    assert live["auto_regraded"][d]["level"] == "III"
    assert live["reopened"][a]["status"] == "acknowledged"
    f = live["regraded"][shift.ids["F"]]
    regrade = [(c["state"], c["next_level"]) for c in f["deadlines"] if c["key"] == "regrade"]
    assert (f["level"], f["policy_version"], regrade) == ("III", 2, [("met_late", "III"), ("pending", "II")])
    with seeded.read() as session:
        supervisor = session.execute(
            select(IncidentDeadline).where(IncidentDeadline.incident_id == b, IncidentDeadline.rule == "supervisor")
        ).scalar_one()
    assert supervisor.due_at == T0 + timedelta(minutes=5 + 45)  # re-pinned to version 2


def test_a_regraded_incident_shows_its_old_level_and_policy_before_the_regrade(seeded: Store, shift: Shift) -> None:
    b, d = shift.ids["B"], shift.ids["D"]
    before = by_id(replayed(seeded, shift.moments["pre_regrade"][0]))[b]
    after = by_id(replayed(seeded, shift.moments["regraded"][0]))[b]
    assert (before["level"], after["level"]) == ("IV", "III")
    # The stored clock now says 45 minutes (version 2); before the re-pin it was 60.
    supervisor = next(c for c in before["deadlines"] if c["key"] == "supervisor")
    assert (before["policy_version"], supervisor["due_at"]) == (1, rfc3339(T0 + timedelta(minutes=5 + 60)))
    assert "leadership_report" not in {c["key"] for c in before["deadlines"]}
    assert "leadership_report" in {c["key"] for c in after["deadlines"]}
    # The worker's automatic re-grade: at the 2 h bound, and a second later once swept.
    assert by_id(replayed(seeded, shift.moments["pre_auto"][0]))[d]["level"] == "IV"
    assert by_id(replayed(seeded, shift.moments["auto_regraded"][0]))[d]["level"] == "III"


def test_a_closed_incident_is_not_on_later_replays(seeded: Store, shift: Shift) -> None:
    c, b, e = shift.ids["C"], shift.ids["B"], shift.ids["E"]
    assert by_id(replayed(seeded, shift.moments["busy"][0]))[c]["status"] == "resolved"
    closed_at = T0 + timedelta(minutes=55)
    assert c in by_id(replayed(seeded, closed_at - timedelta(microseconds=1)))
    for moment in (closed_at, shift.moments["after_close"][0], shift.moments["end"][0]):
        assert c not in by_id(replayed(seeded, moment))
    # B was closed and reopened as E, which carries B's level, category and owner.
    reopened = by_id(replayed(seeded, shift.moments["reopened"][0]))
    assert b not in reopened
    assert {k: reopened[e][k] for k in ("status", "category", "level", "owner")} == {
        "status": "acknowledged",
        "category": "software_fault",
        "level": "III",
        "owner": "servers",
    }


def test_the_board_is_in_the_live_order_breached_first(seeded: Store, shift: Shift) -> None:
    moment, live = shift.moments["unswept"]
    rows = replayed(seeded, moment)
    assert [r["id"] for r in rows] == [r["id"] for r in live]
    first = rows[0]["next_deadline"]
    assert first is not None and first["state"] == "breached"


def test_a_moment_before_the_store_recorded_anything_is_refused(seeded: Store, clock: FakeClock) -> None:
    Service(seeded, "servers").open("opened as the store was set up")  # at T0, like the seed
    clock.advance(minutes=5)
    assert [r["title"] for r in replayed(seeded, T0)] == ["opened as the store was set up"]
    with pytest.raises(InvalidInput) as error:
        replayed(seeded, T0 - timedelta(microseconds=1))
    assert error.value.code == "before_history"
    assert rfc3339(T0) in error.value.what and rfc3339(T0) in error.value.fix


def test_an_empty_board_before_the_first_incident(seeded: Store, clock: FakeClock) -> None:
    clock.advance(minutes=10)
    Service(seeded, "servers").open("the first one")
    clock.advance(minutes=5)
    assert replayed(seeded, T0 + timedelta(minutes=9)) == []
    assert [r["title"] for r in replayed(seeded, T0 + timedelta(minutes=10))] == ["the first one"]


def test_the_future_and_naive_times_are_refused(seeded: Store, clock: FakeClock) -> None:
    Service(seeded, "servers").open("now")
    with pytest.raises(InvalidInput) as error:
        replayed(seeded, clock.now + timedelta(seconds=1))
    assert error.value.code == "future_moment"
    assert replayed(seeded, clock.now) != []
    with pytest.raises(InvalidInput) as error:
        replayed(seeded, clock.now.replace(tzinfo=None))
    assert error.value.code == "naive_time"


def test_a_change_from_a_host_whose_clock_lags_counts_from_when_it_was_made(
    seeded: Store, as_: As, clock: FakeClock
) -> None:
    """The trail is replayed in chain order up to its first event after the moment: an
    event stamped earlier than the one before it did not happen before that one."""
    incident = as_("servers").open("switch fan failing", category="server_fault", level="IV")
    clock.advance(minutes=10)
    as_("servers").assign(incident.id, "servers")
    clock.now = T0 + timedelta(minutes=5)  # a host five minutes behind
    as_("lead").classify(incident.id, category="server_fault", level="III", reason="two racks now")
    clock.now = T0 + timedelta(minutes=20)
    [row] = replayed(seeded, T0 + timedelta(minutes=7))
    assert (row["level"], row["owner"]) == ("IV", None)
    [row] = replayed(seeded, T0 + timedelta(minutes=10))
    assert (row["level"], row["owner"]) == ("III", "servers")


# -- the CLI and the dashboard ------------------------------------------------------------------


def test_cli_board_at_shows_the_board_as_it_stood(seeded: Store, shift: Shift, store_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    import json

    b = shift.ids["B"]
    moment = rfc3339(shift.moments["pre_regrade"][0])
    assert moment is not None
    code, out, err = cli("--db", store_url, "--as", "auditor", "board", "--at", moment)
    assert code == 0, err
    assert "as it stood at" in out.splitlines()[0]
    line = next(line for line in out.splitlines() if f"#{b} " in line)
    assert line.startswith("IV ")  # the level it had then, not the III it has now
    code, out, err = cli("--db", store_url, "--as", "auditor", "board", "--at", moment, "--json")
    data = json.loads(out)
    assert data["at"] == moment and by_id(data["incidents"])[b]["level"] == "IV"
    assert data["incidents"] == replayed(seeded, shift.moments["pre_regrade"][0])
    code, _, err = cli("--db", store_url, "--as", "auditor", "board", "--at", "2099-01-01T00:00:00Z")
    assert code == 2 and "has not happened yet" in err and "the live board shows now" in err


async def test_at_on_the_dashboard_replays_a_moment_and_steps_through_time(
    seeded: Store, shift: Shift, clock: FakeClock
) -> None:
    from textual.widgets import Input, Static

    from opsdeck.screens.replay import ReplayScreen

    from ..board_fixtures import make_app, until

    b = shift.ids["B"]
    moment = shift.moments["pre_regrade"][0]
    app = make_app(seeded, clock, login="auditor", read_only=True)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("at")
        await until(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await pilot.press("t")
        field = screen.query_one("#replay-at", Input)
        await until(pilot, lambda: field.has_focus)
        field.value = rfc3339(moment) or ""
        await pilot.press("enter")
        board_text = screen.query_one("#replay-board", Static)
        await until(pilot, lambda: screen.at == moment and f"#{b} " in str(board_text.render()))
        line = next(line for line in str(board_text.render()).splitlines() if f"#{b} " in line)
        assert line.startswith("IV ")
        await pilot.press("left")
        await until(pilot, lambda: screen.at == moment - timedelta(minutes=10))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ReplayScreen))
