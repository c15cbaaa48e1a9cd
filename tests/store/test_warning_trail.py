"""Warnings in the replay (`board --at`), the handover and `audit show|export` (预警,
docs/plan.md#warnings): through the CLI on SQLite and PostgreSQL, on an injected clock
for what happened and the machine's clock for the commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from opsdeck.backend import warning_escalation
from opsdeck.backend.early_warning import Warnings
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.backend.timeutil import rfc3339

from ..conftest import T0, FakeClock
from .test_audit import tamper


def life(as_: Callable[[str], Service], clock: FakeClock) -> tuple[int, int]:
    """W1 serious: a measure at +30m, analysed at +50m, promoted at +2h; W2 raised at +10m,
    passed at +40m."""
    w = Warnings(as_("servers"))
    storm = w.add("external", "Typhoon: power may fail", serious=True).id
    clock.advance(minutes=10)
    carrier = w.add("external", "Carrier maintenance").id
    assert storm and carrier
    clock.advance(minutes=20)
    w.measure(storm, "assess")
    clock.advance(minutes=10)
    w.close(carrier, reason="done, no impact")
    clock.advance(minutes=10)
    w.note(storm, "coastal substation", analysis=True)
    clock.advance(minutes=70)
    w.promote(storm)
    return storm, carrier


def replay(cli, db: str, minutes: float) -> dict:  # type: ignore[no-untyped-def, type-arg]
    code, out, err = cli("--db", db, "board", "--at", rfc3339(T0 + timedelta(minutes=minutes)), "--json")
    assert code == 0, err
    return {w["id"]: w for w in json.loads(out)["warnings"]}


def test_the_replay_shows_the_warnings_open_then_as_they_stood(
    seeded: Store, store_url: str, as_: Callable[[str], Service], clock: FakeClock, cli
) -> None:  # type: ignore[no-untyped-def]
    storm, carrier = life(as_, clock)
    then = replay(cli, store_url, 20)
    assert sorted(then) == [storm, carrier]
    assert then[storm]["measures_done"] == 0 and then[storm]["next_clock"]["key"] == "analysed"
    assert then[storm]["next_clock"]["state"] == "pending" and then[storm]["status"] == "open"
    then = replay(cli, store_url, 45)  # the carrier's passed; a measure ticked; analysis due in 15 min
    assert sorted(then) == [storm]
    assert then[storm]["measures_done"] == 1 and then[storm]["measures_total"] == 4
    assert then[storm]["next_clock"]["key"] == "analysed" and then[storm]["analysed_at"] is None
    then = replay(cli, store_url, 55)  # analysed at +50m: the next clock is leadership's
    assert then[storm]["next_clock"]["key"] == "leadership_told"
    assert then[storm]["analysed_at"] == rfc3339(T0 + timedelta(minutes=50))
    assert replay(cli, store_url, 180) == {}  # promoted at +2h10m
    code, out, _ = cli("--db", store_url, "board", "--at", rfc3339(T0 + timedelta(minutes=20)))
    assert code == 0 and "Open warnings (2):" in out and "Typhoon: power may fail" in out


def test_the_handover_tells_the_warnings_escalated_and_ended_during_the_shift(
    seeded: Store, store_url: str, as_: Callable[[str], Service], clock: FakeClock, cli
) -> None:  # type: ignore[no-untyped-def]
    w = Warnings(as_("servers")).add("internal", "odd logins on the portal")
    assert w.id is not None
    clock.advance(minutes=61)
    [escalated] = warning_escalation.sweep(seeded, "worker:test")
    storm, carrier = life(as_, clock)
    code, out, err = cli("--db", store_url, "handover", "--since", "30d", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [(b["warning_id"], b["clock"]) for b in data["warning_breaches_since"]] == [(w.id, "analysed")]
    ended = {e["id"]: e for e in data["warnings_ended_since"]}
    assert ended[carrier]["status"] == "passed" and ended[carrier]["reason"] == "done, no impact"
    assert ended[storm]["status"] == "promoted" and ended[storm]["incident_id"]
    code, out, _ = cli("--db", store_url, "handover", "--since", "30d")
    assert code == 0
    assert "Warning clocks escalated since (1):" in out and f"W{w.id}" in out and "odd logins on the portal" in out
    assert "Warnings ended since (2):" in out and "passed: done, no impact" in out
    assert f"promoted to incident #{ended[storm]['incident_id']}" in out
    assert escalated.warning_id == w.id


def test_audit_show_and_export_take_a_warnings_chain(
    seeded: Store, store_url: str, as_: Callable[[str], Service], clock: FakeClock, cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    storm, _carrier = life(as_, clock)
    code, out, err = cli("--db", store_url, "audit", "show", f"W{storm}", "--json")
    assert code == 0, err
    assert [e["action"] for e in json.loads(out)] == [
        "warning_raise",
        "warning_measure",
        "warning_note",
        "warning_promote",
    ]
    code, out, _ = cli("--db", store_url, "audit", f"w{storm}")  # `audit W3` is `audit show W3`
    assert code == 0 and "warning_raise" in out and '"incident_id": ' in out
    path = tmp_path / "evidence.json"
    code, out, err = cli("--db", store_url, "audit", "export", f"W{storm}", "-o", str(path))
    assert (code, err) == (0, "") and f"W{storm}: 4 events written" in out and "chain intact" in out
    evidence = json.loads(path.read_text("utf-8"))
    assert (evidence["chain"], evidence["warning_id"], evidence["verified"]) == (f"warning:{storm}", storm, True)
    code, out, err = cli("--db", store_url, "audit", "export", "W999")
    assert code == 4 and "warning W999 does not exist" in err
    code, out, err = cli("--db", store_url, "audit", "show", "W0")
    assert code == 2 and "not a warning id" in err

    tamper(seeded, f"UPDATE audit_events SET actor = 'ghost' WHERE chain = 'warning:{storm}' AND seq = 3")
    code, out, _ = cli("--db", store_url, "audit", "export", f"W{storm}")
    evidence = json.loads(out)
    assert code == 1 and evidence["verified"] is False and evidence["problems"]


async def test_the_replay_screen_lists_the_warnings_open_then(sqlite_url: str, clock: FakeClock) -> None:
    from textual.widgets import Input, Static

    from opsdeck.screens.replay import ReplayScreen

    from ..board_fixtures import make_app, seeded_store, until

    store = seeded_store(sqlite_url, clock)
    storm, carrier = life(lambda login: Service(store, login), clock)
    app = make_app(store, clock, login="auditor", read_only=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("at")
        await until(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        await pilot.press("t")
        field = screen.query_one("#replay-at", Input)
        await until(pilot, lambda: field.has_focus)
        field.value = rfc3339(T0 + timedelta(minutes=20)) or ""
        await pilot.press("enter")
        board = screen.query_one("#replay-board", Static)
        await until(pilot, lambda: "Open warnings (2):" in str(board.render()))
        text = str(board.render())
        assert f"W{storm}" in text and f"W{carrier}" in text and "Carrier maintenance" in text
        await pilot.press("right", "right", "right")  # +50 min: the carrier's passed
        await until(pilot, lambda: "Open warnings (1):" in str(board.render()))
    store.dispose()
