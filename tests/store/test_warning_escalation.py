"""A warning's own clocks escalated by the worker (docs/plan.md#warnings): once per clock,
audited on the warning's chain, routed as `warning_overdue`; on SQLite and PostgreSQL,
on an injected clock."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsdeck.backend import early_warning, warning_escalation
from opsdeck.backend.audit import verify
from opsdeck.backend.early_warning import Warnings
from opsdeck.backend.models import OutboxMessage, WarningEscalation
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock
from ..e2e.test_notify import Receiver, configure, receiver, sender  # noqa: F401  (receiver: the fixture)

# Also with database roles on, each write as its actor's role (tests/pg_roles_mode.py).
pytestmark = pytest.mark.pg_roles

WORKER = "worker:test"


def sweep(store: Store) -> list[warning_escalation.Escalated]:
    return warning_escalation.sweep(store, WORKER, UTC)


def detail(store: Store, warning_id: int) -> dict[str, Any]:
    with store.read() as session:
        return early_warning.detail(session, warning_id, UTC, store.clock())


def overdue(store: Store) -> list[tuple[str, str, str]]:
    with store.read() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.event == "warning_overdue")).scalars()
        return sorted((r.payload["deadline"]["rule"], r.recipient_kind, r.recipient) for r in rows)


def test_each_clock_escalates_once_when_it_breaches(
    seeded: Store, as_: Callable[[str], Service], clock: FakeClock
) -> None:
    w = Warnings(as_("servers")).add("external", "Typhoon: power may fail", source="weather bureau", serious=True)
    assert w.id is not None
    clock.advance(hours=1)
    assert sweep(seeded) == []  # due exactly now: not yet breached
    clock.advance(seconds=1)
    [analysed] = sweep(seeded)
    assert (analysed.warning_id, analysed.clock, analysed.due_at) == (w.id, "analysed", clock.now.replace(second=0))
    assert {t["to"] for t in analysed.targets} == {"dns", "lead", "servers"}  # on duty, and the lead
    assert sweep(seeded) == []  # a retry records nothing
    assert {r[2] for r in overdue(seeded)} == {t["to"] for t in analysed.targets}
    data = detail(seeded, w.id)
    clocks = {c["key"]: c for c in data["clocks"]}
    assert clocks["analysed"]["state"] == "breached"
    assert clocks["analysed"]["escalated_at"] == "2026-11-28T04:00:01Z"
    assert clocks["leadership_told"]["escalated_at"] is None
    event = data["trail"][-1]
    assert (event["action"], event["actor"]) == ("warning_escalate", WORKER)
    assert (event["details"]["clock"], event["details"]["late_s"]) == ("analysed", 1.0)

    # Analysed late, then the day ends with leadership not told: that clock escalates too, once.
    clock.advance(hours=2)
    Warnings(as_("servers")).note(w.id, "substation on the coast", analysis=True)
    assert sweep(seeded) == []
    clock.now = datetime(2026, 11, 29, 0, 0, 5, tzinfo=UTC)
    [told] = sweep(seeded)
    assert (told.clock, told.due_at) == ("leadership_told", datetime(2026, 11, 29, tzinfo=UTC))
    assert sweep(seeded) == []
    assert [r[0] for r in overdue(seeded)].count("leadership_told") == len(told.targets)
    Warnings(as_("lead")).attest(w.id, "leadership", via="phone")  # told late: met late, nothing more
    clock.advance(hours=5)
    assert sweep(seeded) == []
    with seeded.read() as session:
        assert [(e.clock_key, e.actor) for e in session.execute(select(WarningEscalation)).scalars()] == [
            ("analysed", WORKER),
            ("leadership_told", WORKER),
        ]
        _chains, _events, problems = verify(session)
    assert problems == []
    states = {c["key"]: c["state"] for c in detail(seeded, w.id)["clocks"]}
    assert states == {"analysed": "met_late", "leadership_told": "met_late"}


def test_clocks_met_in_time_or_ended_escalate_nothing(
    seeded: Store, as_: Callable[[str], Service], clock: FakeClock
) -> None:
    analysed = Warnings(as_("dns")).add("internal", "DNS queries doubling")
    passed = Warnings(as_("dns")).add("external", "Carrier maintenance")
    promoted = Warnings(as_("dns")).add("internal", "odd logins")
    assert analysed.id and passed.id and promoted.id
    clock.advance(minutes=30)
    Warnings(as_("dns")).note(analysed.id, "a resolver misconfigured", analysis=True)
    Warnings(as_("dns")).close(passed.id, reason="done, no impact")
    Warnings(as_("dns")).promote(promoted.id)
    clock.advance(days=3)
    assert sweep(seeded) == []
    assert overdue(seeded) == []


def test_a_breach_while_every_worker_was_down_fires_when_one_comes_back(
    seeded: Store, as_: Callable[[str], Service], clock: FakeClock
) -> None:
    w = Warnings(as_("web")).add("internal", "antivirus report on a desk PC", source="antivirus")
    assert w.id is not None
    clock.advance(hours=7)
    [done] = sweep(seeded)
    assert done.to_json()["late_s"] == 6 * 3600.0
    assert sweep(seeded) == []


def test_workers_sweeping_at_once_record_one_escalation(
    seeded: Store, as_: Callable[[str], Service], clock: FakeClock
) -> None:
    ids = [Warnings(as_("web")).add("internal", f"scan finding {n}").id for n in range(5)]
    clock.advance(hours=2)
    got: list[warning_escalation.Escalated] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            got.extend(sweep(seeded))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(e.warning_id for e in got) == sorted(ids)
    with seeded.read() as session:
        assert len(session.execute(select(WarningEscalation)).all()) == 5


def test_the_escalate_command_tells_them(seeded: Store, store_url: str, as_, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    w = Warnings(as_("web")).add("internal", "beaconing host")
    assert w.id is not None
    # The command runs on the machine's clock: the warning was raised on the test's, years back.
    code, out, err = cli("--db", store_url, "escalate")
    assert (code, err) == (0, "") and f"W{w.id} analysed: escalated to " in out and "lead" in out
    code, out, _ = cli("--db", store_url, "escalate", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = cli("--db", store_url, "warning", "show", str(w.id), "--json")
    assert json.loads(out)["clocks"][0]["escalated_at"] is not None
    code, out, _ = cli("--db", store_url, "warning", "show", str(w.id))
    assert code == 0 and "breached  escalated " in out


def test_the_overdue_message_reaches_a_webhook(
    seeded: Store,
    as_: Callable[[str], Service],
    clock: FakeClock,
    receiver: str,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    configure(seeded, receiver, tmp_path)
    w = Warnings(as_("servers")).add("external", "Vendor bulletin <b>CVE</b>", systems=["benefits-app"])
    assert w.id is not None
    sender(seeded).run_once()
    Receiver.received.clear()
    clock.advance(hours=1, seconds=1)
    warning_escalation.sweep(seeded, WORKER)  # the center's zone, as the templates hold it
    assert sender(seeded).run_once().sent == 3
    got = Receiver.received
    assert sorted(m["recipient"]["id"] for m in got) == ["dns", "lead", "servers"]
    assert {m["event"] for m in got} == {"warning_overdue"}
    assert got[0]["title"] == f"【预警超时】W{w.id} 分析预警"
    assert "Vendor bulletin <b>CVE</b>" in got[0]["text"] and f"opsdeck warning show {w.id}" in got[0]["text"]


def test_a_serious_warning_late_in_the_day_escalates_leadership_before_its_analysis(
    seeded: Store, as_: Callable[[str], Service], clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 28, 23, 50, tzinfo=UTC)
    w = Warnings(as_("servers")).add("external", "Grid operator: load shedding tonight", serious=True)
    assert w.id is not None
    clock.now = datetime(2026, 11, 29, 0, 0, 1, tzinfo=UTC)
    assert [e.clock for e in sweep(seeded)] == ["leadership_told"]  # its analysis is due at 00:50
    clock.now = datetime(2026, 11, 29, 0, 50, 1, tzinfo=UTC)
    assert [e.clock for e in sweep(seeded)] == ["analysed"]
    assert sweep(seeded) == []
