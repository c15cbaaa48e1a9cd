"""Warnings (预警, docs/plan.md#warnings): raised, analysed, prepared for, told, then promoted
to an incident or closed as passed; on SQLite and PostgreSQL, through the service and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlmodel import col

from opsdeck.backend import early_warning, queries
from opsdeck.backend.audit import verify
from opsdeck.backend.early_warning import Warnings
from opsdeck.backend.errors import DomainError, InvalidInput, NotFound
from opsdeck.backend.models import Change, Incident, IncidentDeadline
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock
from ..e2e.test_notify import Receiver, configure, receiver, sender  # noqa: F401  (receiver: the fixture)


def _detail(store: Store, warning_id: int) -> dict:  # type: ignore[type-arg]
    with store.read() as session:
        return early_warning.detail(session, warning_id, UTC, store.clock())


def test_the_life_of_a_warning_promoted(seeded: Store, as_: Callable[[str], Service], clock: FakeClock) -> None:
    raised_at = clock.now
    w = Warnings(as_("servers")).add(
        "external",
        "Vendor bulletin: OpenSSL flaw",
        source="vendor bulletin 2026-11",
        known="remote code execution in 3.x",
        systems=["benefits-app"],
        serious=True,
    )
    assert w.id is not None
    data = _detail(seeded, w.id)
    assert (data["status"], data["kind"], data["serious"], data["systems"]) == (
        "open",
        "external",
        True,
        ["benefits-app"],
    )
    assert [m["key"] for m in data["measures"]] == ["assess", "ask_vendor", "check_backups", "watch"]
    clocks = {c["key"]: c for c in data["clocks"]}
    assert clocks["analysed"]["due_at"] == "2026-11-28T04:00:00Z" and clocks["analysed"]["state"] == "pending"
    assert clocks["leadership_told"]["due_at"] == "2026-11-29T00:00:00Z"

    clock.advance(minutes=50)  # the last 20 % of the hour
    assert {c["key"]: c["state"] for c in _detail(seeded, w.id)["clocks"]}["analysed"] == "warning"
    clock.advance(minutes=5)
    Warnings(as_("servers")).note(w.id, "our version is affected", analysis=True)
    Warnings(as_("servers")).measure(w.id, "assess")
    Warnings(as_("servers")).attest(w.id, "department", via="phone", who="Finance department")
    clock.advance(hours=2)
    Warnings(as_("lead")).attest(w.id, "leadership", via="meeting", note="director informed")
    data = _detail(seeded, w.id)
    assert data["analysis"] == "our version is affected" and data["analysed_by"] == "servers"
    assert [m["done"] for m in data["measures"]] == [True, False, False, False]
    assert [(t["told"], t["who"], t["via"]) for t in data["told"]] == [
        ("department", "Finance department", "phone"),
        ("leadership", "", "meeting"),
    ]
    assert data["leadership_told"] is True
    assert {c["key"]: c["state"] for c in data["clocks"]} == {"analysed": "met", "leadership_told": "met"}

    # No incident clock ran for the warning: the incident and its clocks start at promotion.
    with seeded.read() as session:
        assert session.execute(select(Incident)).first() is None
    clock.advance(hours=1)
    promoted_at = clock.now
    row, incident = Warnings(as_("servers")).promote(w.id, category="server_fault", level="III", reason="exploited")
    assert incident.id is not None and row.incident_id == incident.id
    with seeded.read() as session:
        got = session.get(Incident, incident.id)
        assert got is not None
        assert got.warning_id == w.id and got.reported_at == promoted_at and got.reported_at > raised_at
        assert "remote code execution in 3.x" in got.description and "our version is affected" in got.description
        starts = set(session.execute(select(col(IncidentDeadline.clock_start))).scalars())
        assert starts and min(starts) >= promoted_at
        incident_row = queries.get_incident(session, incident.id)
    assert incident_row["level"] == "III"
    data = _detail(seeded, w.id)
    assert data["status"] == "promoted" and data["incident_id"] == incident.id
    assert [e["action"] for e in data["trail"]] == [
        "warning_raise",
        "warning_note",
        "warning_measure",
        "warning_attest",
        "warning_attest",
        "warning_promote",
    ]
    assert [e["actor"] for e in data["trail"]][-2:] == ["lead", "servers"]

    with pytest.raises(DomainError) as twice:
        Warnings(as_("lead")).promote(w.id)
    assert twice.value.code == "promoted" and f"#{incident.id}" in str(twice.value)
    with seeded.read() as session:
        assert len(session.execute(select(Incident)).all()) == 1
        _chains, _events, problems = verify(session)
        assert problems == []
        feed = session.execute(select(Change.entity, Change.entity_id).where(col(Change.entity) == "warning")).all()
    assert ("warning", str(w.id)) in {tuple(f) for f in feed}


def test_a_warning_closed_as_passed_waives_its_clocks(
    seeded: Store, as_: Callable[[str], Service], clock: FakeClock
) -> None:
    w = Warnings(as_("telecom")).add("external", "Carrier maintenance Sunday 02:00", source="carrier notice")
    assert w.id is not None
    clock.advance(minutes=20)
    Warnings(as_("telecom")).close(w.id, reason="maintenance done, no impact")
    data = _detail(seeded, w.id)
    assert (data["status"], data["close_reason"], data["closed_by"]) == (
        "passed",
        "maintenance done, no impact",
        "telecom",
    )
    assert [c["state"] for c in data["clocks"]] == ["waived"]
    for act in (
        lambda: Warnings(as_("telecom")).close(w.id, reason="again"),
        lambda: Warnings(as_("telecom")).promote(w.id),
        lambda: Warnings(as_("telecom")).note(w.id, "late"),
    ):
        with pytest.raises(DomainError) as refused:
            act()
        assert refused.value.code == "passed"


def test_an_analysis_late_is_met_late_and_an_overdue_one_stays_breached(
    seeded: Store, as_: Callable[[str], Service], clock: FakeClock
) -> None:
    late = Warnings(as_("dns")).add("internal", "DNS queries doubling")
    never = Warnings(as_("dns")).add("internal", "odd logins")
    assert late.id and never.id
    clock.advance(hours=2)
    Warnings(as_("dns")).note(late.id, "a scanner", analysis=True)
    Warnings(as_("dns")).close(never.id, reason="a test")
    assert [c["state"] for c in _detail(seeded, late.id)["clocks"]] == ["met_late"]
    assert [c["state"] for c in _detail(seeded, never.id)["clocks"]] == ["breached"]


def test_refusals(seeded: Store, as_: Callable[[str], Service]) -> None:
    with pytest.raises(DomainError) as viewer:
        Warnings(as_("auditor")).add("external", "x")
    assert viewer.value.code == "viewer"
    w = Warnings(as_("web")).add("internal", "antivirus report on a desk PC", source="antivirus")
    assert w.id is not None
    with pytest.raises(DomainError) as attest:
        Warnings(as_("auditor")).attest(w.id, "leadership", via="phone")
    assert attest.value.code == "viewer"
    with pytest.raises(InvalidInput) as kind:
        Warnings(as_("web")).add("outside", "x")
    assert kind.value.code == "bad_kind" and "external" in kind.value.fix
    with pytest.raises(InvalidInput) as who:
        Warnings(as_("web")).attest(w.id, "department", via="phone")
    assert who.value.code == "missing_who"
    with pytest.raises(NotFound) as measure:
        Warnings(as_("web")).measure(w.id, "nope")
    assert "confirm" in measure.value.fix
    with pytest.raises(NotFound) as system:
        Warnings(as_("web")).add("internal", "x", systems=["no-such-system"])
    assert system.value.code == "no_system"
    with pytest.raises(NotFound):
        Warnings(as_("web")).close(999, reason="r")
    assert _detail(seeded, w.id)["trail"][-1]["action"] == "warning_raise"  # nothing refused was written


def test_the_cli(seeded: Store, store_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    db = store_url
    base = ("--db", db, "--as", "servers", "warning")
    code, out, err = cli(
        *base, "add", "--kind", "internal", "--title", "Scan finding: weak TLS", "--system", "benefits-app"
    )
    assert (code, err) == (0, "") and out.strip().isdigit()
    wid = out.strip()
    code, out, _ = cli(*base, "list")
    assert code == 0 and f"W{wid}" in out and "Scan finding: weak TLS" in out and "internal" in out
    code, out, _ = cli(*base, "measure", f"W{wid}", "confirm")
    assert (code, out.strip()) == (0, f"W{wid} measure done (version 2, open)")
    code, out, _ = cli(*base, "attest", wid, "department", "--via", "im", "--who", "Benefits office")
    assert code == 0
    code, out, _ = cli(*base, "show", wid)
    assert code == 0 and "[x] confirm" in out and "Benefits office (im, servers)" in out
    code, out, _ = cli(*base, "show", wid, "--json")
    assert json.loads(out)["measures"][0]["done"] is True
    code, out, err = cli(*base, "promote", wid, "--category", "network_attack", "--level", "IV")
    assert code == 0 and out.strip().isdigit(), err
    incident = out.strip()
    code, out, _ = cli("--db", db, "incident", "show", incident, "--json")
    assert json.loads(out)["warning_id"] == int(wid)
    code, out, _ = cli("--db", db, "incident", "show", incident)
    assert code == 0 and f"from warning       W{wid}" in out
    code, out, err = cli(*base, "promote", wid)
    assert code == 1 and f"promoted to incident #{incident}" in err and out == ""
    code, out, err = cli("--db", db, "--as", "auditor", "warning", "close", wid, "--reason", "r")
    assert code != 0 and "viewer" in err
    code, out, err = cli(*base, "show", "W0")
    assert code == 2 and "not a warning id" in err
    code, out, err = cli(*base, "show", "77")
    assert code == 4 and "W77 does not exist" in err
    code, out, _ = cli(*base, "list", "--status", "all", "--json")
    assert [(r["id"], r["status"], r["incident_id"]) for r in json.loads(out)] == [
        (int(wid), "promoted", int(incident))
    ]


def test_the_policy_sets_the_measures_and_the_clock(seeded: Store, as_: Callable[[str], Service], tmp_path) -> None:  # type: ignore[no-untyped-def]
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[warnings]\nanalyse_within = "30m"\n[warnings.measures]\n'
        'internal = [ { key = "isolate", en = "Isolate the host", zh = "隔离主机" } ]\n',
        "utf-8",
    )
    as_("lead").apply_policy(policy)
    internal = Warnings(as_("web")).add("internal", "beaconing host")
    external = Warnings(as_("web")).add("external", "storm alert")
    assert internal.id and external.id
    data = _detail(seeded, internal.id)
    assert [m["key"] for m in data["measures"]] == ["isolate"]
    assert data["clocks"][0]["due_at"] == "2026-11-28T03:30:00Z"
    assert _detail(seeded, external.id)["measures"][0]["key"] == "assess"  # the defaults
    policy.write_text('[warnings]\nanalyse_within = "soon"\n', "utf-8")
    with pytest.raises(InvalidInput) as bad:
        as_("lead").apply_policy(policy)
    assert "warnings.analyse_within" in str(bad.value)
    assert datetime.fromisoformat(data["raised_at"].replace("Z", "+00:00")).tzinfo is not None


def test_warnings_are_notified_through_their_templates(
    seeded: Store,
    as_: Callable[[str], Service],
    receiver: str,  # noqa: F811  (the fixture imported above)
    tmp_path,
) -> None:  # type: ignore[no-untyped-def]
    """A real webhook on 127.0.0.1: `warning` to those on duty and the leads, `warning_promoted` to the leads."""
    configure(seeded, receiver, tmp_path)
    w = Warnings(as_("servers")).add("external", "Carrier fiber cut <b>risk</b>", systems=["benefits-app"])
    assert w.id is not None
    assert sender(seeded).run_once().sent == 3
    got = Receiver.received
    assert sorted(m["recipient"]["id"] for m in got) == ["dns", "lead", "servers"]
    assert {m["event"] for m in got} == {"warning"} and got[0]["warning"]["id"] == w.id
    assert got[0]["title"] == "【预警】Carrier fiber cut <b>risk</b>"  # the center's language
    assert f"opsdeck warning show {w.id}" in got[0]["text"] and "benefits-app" in got[0]["text"]
    Receiver.received.clear()
    _row, incident = Warnings(as_("servers")).promote(w.id, category="network_fault", level="III", reason="cut")
    sender(seeded).run_once()
    promoted = [m for m in Receiver.received if m["event"] == "warning_promoted"]
    assert [m["recipient"]["id"] for m in promoted] == ["lead"]
    assert promoted[0]["title"] == f"【预警转事件】#{incident.id} Carrier fiber cut <b>risk</b>"
    assert {m["event"] for m in Receiver.received} >= {"warning_promoted", "new_incident", "level_iii"}


def test_the_handover_lists_the_open_warnings_most_urgent_first(
    seeded: Store, as_: Callable[[str], Service], clock: FakeClock, store_url: str, cli
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from opsdeck.backend.handover import handover

    calm = Warnings(as_("web")).add("external", "storm alert Friday", serious=True)
    clock.advance(minutes=30)
    late = Warnings(as_("web")).add("internal", "port scan from inside")
    gone = Warnings(as_("web")).add("internal", "odd DNS")
    assert calm.id and late.id and gone.id
    Warnings(as_("web")).note(calm.id, "our site is outside the path", analysis=True)
    Warnings(as_("web")).measure(late.id, "confirm")
    Warnings(as_("web")).close(gone.id, reason="a test by the auditors")
    clock.advance(minutes=75)  # the scan's analysis is 15 min overdue
    with seeded.read() as session:
        data = handover(session, clock.now, timedelta(hours=8), UTC)
    rows = [(w["id"], w["next_clock"]["key"], w["next_clock"]["state"]) for w in data["open_warnings"]]
    assert rows == [(late.id, "analysed", "breached"), (calm.id, "leadership_told", "pending")]
    assert (data["open_warnings"][0]["measures_done"], data["open_warnings"][0]["measures_total"]) == (1, 4)
    code, out, _ = cli("--db", store_url, "handover")
    assert code == 0 and "Open warnings (2):" in out
    assert f"W{late.id:<5} internal" in out and "measures 1/4" in out and "! storm alert Friday" in out
    assert "odd DNS" not in out
