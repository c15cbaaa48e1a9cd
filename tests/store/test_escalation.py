"""Escalation against a real store: each breach escalates exactly once, to the people
the rule names (or the group lead), whatever runs, races or crashes."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from opsdeck.backend import escalation, queries
from opsdeck.backend.errors import DomainError, OpsdeckError
from opsdeck.backend.models import Escalation, Incident, OutboxMessage
from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock, demo_fixture

# Also with database roles on, each write as its actor's role (tests/pg_roles_mode.py).
pytestmark = pytest.mark.pg_roles

As = Callable[[str], Service]
WORKER = "system:worker@test"


def escalations(store: Store, incident_id: int | None = None) -> list[Escalation]:
    with store.read() as session:
        query = select(Escalation).order_by(Escalation.id)
        if incident_id is not None:
            query = query.where(Escalation.incident_id == incident_id)
        return list(session.execute(query).scalars())


def outbox(store: Store, event: str) -> list[tuple[str, str]]:
    with store.read() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.event == event)).scalars()
        return sorted((r.recipient_kind, r.recipient) for r in rows)


def states(store: Store, incident_id: int) -> dict[str, str]:
    with store.read() as session:
        items = queries.incident_deadlines(session, incident_id, store.clock())
    newest = {}
    for d in sorted(items, key=lambda d: d["clock_start"]):
        newest[d["key"]] = d["state"]
    return newest


def test_a_breach_escalates_once_to_the_rules_targets(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident = as_("servers").open("unclassified for too long")
    clock.advance(minutes=30)
    assert escalation.sweep(seeded, WORKER) == []  # due exactly now: not yet breached
    clock.advance(seconds=1)
    [done] = escalation.sweep(seeded, WORKER)
    assert (done.incident_id, done.rule) == (incident.id, "classify")
    assert done.targets == [{"kind": "member", "to": "lead", "via": "permission:lead"}]
    assert escalation.sweep(seeded, WORKER) == []  # a retry records nothing
    assert [e.rule for e in escalations(seeded)] == ["classify"]
    assert outbox(seeded, "escalation:classify") == [("member", "lead")]
    with seeded.read() as session:
        trail = queries.audit_trail(session, incident.id)
    assert trail[-1]["action"] == "escalate" and trail[-1]["actor"] == WORKER
    assert trail[-1]["details"]["late_s"] == 1.0


def test_every_default_rule_escalates_to_whom_the_plan_says(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident = as_("servers").open("payment run down", system="benefits-app", category="software_fault", level="III")
    clock.advance(hours=2, seconds=1)
    done = {d.rule: [t["to"] for t in d.targets] for d in escalation.sweep(seeded, WORKER)}
    assert done == {
        "leadership_report": ["lead", "director"],
        "departments_notified": ["lead", "dept-benefits"],
        "ack_lease": ["dns", "lead", "servers"],  # no owner yet: the operators on duty
        "supervisor": ["callcenter"],
        "vendor": ["am-east", "customer-hq", "vendor-db"],
    }
    assert states(seeded, incident.id)["regrade"] == "pending"  # III's bound is 12 h


def test_a_duty_with_nobody_on_duty_falls_back_to_the_group_lead(seeded: Store, as_: As, clock: FakeClock) -> None:
    from opsdeck.backend.escalation import resolve_targets

    incident = as_("servers").open("x")
    with seeded.read() as session:
        row = session.get(Incident, incident.id)
        targets = resolve_targets(session, row, ("duty:telecom", "duty:servers"))
    assert targets == [
        {"kind": "member", "to": "lead", "via": "duty:telecom: nobody on duty, group lead"},
        {"kind": "member", "to": "servers", "via": "duty:servers"},
    ]


def test_a_breach_while_everything_was_down_fires_when_a_sweep_comes_back(
    seeded: Store, as_: As, clock: FakeClock
) -> None:
    incident = as_("servers").open("nobody watching", category="network_fault", level="IV")
    clock.advance(hours=5)
    rules = sorted(d.rule for d in escalation.sweep(seeded, WORKER))
    assert rules == ["ack_lease", "regrade", "supervisor"]
    assert states(seeded, incident.id)["regrade"] == "breached"


def test_a_breach_met_late_before_any_sweep_is_recorded_but_pages_nobody(
    seeded: Store, as_: As, clock: FakeClock
) -> None:
    incident = as_("servers").open("classified late")
    clock.advance(minutes=45)
    as_("servers").classify(incident.id, category="other", level="IV")
    [done] = [d for d in escalation.sweep(seeded, WORKER) if d.rule == "classify"]
    assert done.targets == []
    assert outbox(seeded, "escalation:classify") == []
    assert states(seeded, incident.id)["classify"] == "met_late"


def test_meeting_a_deadline_in_time_escalates_nothing(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident = as_("servers").open("handled", category="server_fault", level="III")
    as_("servers").attest(incident.id, "leadership_informed", via="phone", note="director")
    as_("servers").attest(incident.id, "departments_notified", via="sms")
    as_("servers").cause(incident.id)
    clock.advance(minutes=25)  # inside the 30 min acknowledgement lease
    as_("servers").resolve(incident.id, resolution="done")
    clock.advance(hours=3)
    assert escalation.sweep(seeded, WORKER) == []
    assert set(states(seeded, incident.id).values()) == {"met", "pending"}  # the record is due tomorrow


def test_attest_rules(seeded: Store, as_: As) -> None:
    low = as_("servers").open("minor", category="other", level="IV")
    with pytest.raises(DomainError, match="apply from level III"):
        as_("servers").attest(low.id, "leadership_informed", via="phone")
    high = as_("servers").open("major", category="other", level="II")
    with pytest.raises(Exception, match="is not a channel"):
        as_("servers").attest(high.id, "leadership_informed", via="pigeon")
    with pytest.raises(Exception, match="records who"):
        as_("servers").attest(high.id, "spokesperson_named", via="meeting")
    as_("servers").attest(high.id, "spokesperson_named", via="meeting", who="Director Huang")
    with seeded.read() as session:
        [named] = [o for o in queries.obligations(session, high.id) if o["key"] == "spokesperson_named"]
    assert named["attested"][0]["who"] == "Director Huang" and named["attested"][0]["by"] == "servers"


def test_regrade_confirm_and_decline(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident = as_("servers").open("long outage", category="network_fault", level="IV")
    with pytest.raises(DomainError, match="no re-grade is due yet"):
        as_("servers").regrade(incident.id, confirm=True, reason="early")
    clock.advance(hours=2, minutes=1)
    as_("servers").regrade(incident.id, confirm=False, reason="back within the hour")
    with seeded.read() as session:
        items = queries.incident_deadlines(session, incident.id, clock.now)
    regrade = [d for d in items if d["key"] == "regrade"]
    assert [(d["state"], d["next_level"]) for d in regrade] == [("met_late", "III"), ("pending", "II")]
    clock.advance(hours=10)
    as_("servers").regrade(incident.id, confirm=True, reason="still down at noon")
    with seeded.read() as session:
        assert queries.get_incident(session, incident.id)["level"] == "II"


def test_auto_regrade_raises_the_level_when_policy_says_so(
    seeded: Store, as_: As, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[deadlines]\nauto_regrade = true\n")
    as_("lead").apply_policy(path)
    incident = as_("servers").open("lines cut", category="network_fault", level="IV")
    clock.advance(hours=2, seconds=1)
    [done] = [d for d in escalation.sweep(seeded, WORKER) if d.rule == "regrade"]
    assert done.regraded_to == "III"
    with seeded.read() as session:
        data = queries.get_incident(session, incident.id)
    assert (data["level"], data["updated_by"]) == ("III", WORKER)


# -- exactly once, whatever the timing -----------------------------------------------------

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["wait", "classify3", "classify4", "ack", "note", "cause", "resolve", "attest", "lower"]),
        st.integers(min_value=1, max_value=180),
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded SQLite store to copy: hypothesis needs many fresh stores."""
    path = tmp_path_factory.mktemp("template") / "opsdeck.db"
    store = open_store(f"sqlite:///{path}", clock=FakeClock())  # the replays start at this time too
    Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    Service(store, "lead").import_records("contacts", demo_fixture("contacts.toml"))
    store.dispose()
    return path


def replay(template: Path, folder: Path, actions: list[tuple[str, int]], sweep_each_step: bool, reverse: bool) -> set:
    folder.mkdir()
    shutil.copy(template, folder / "opsdeck.db")
    clock = FakeClock()
    store = open_store(f"sqlite:///{folder / 'opsdeck.db'}", clock=clock)
    ids = [Service(store, "servers").open(f"incident {n}").id for n in range(2)]
    for index, (action, minutes) in enumerate(actions):
        clock.advance(minutes=minutes)
        incident_id = ids[index % 2]
        with contextlib.suppress(OpsdeckError):  # a refused action (already resolved...) is history too
            _act(store, incident_id, action)
        if sweep_each_step:
            escalation.sweep(store, WORKER)
    clock.advance(hours=30)
    if reverse:  # evaluate the incidents in the other order at the end
        for incident_id in reversed(ids):
            with store.write(WORKER) as uow:
                escalation.escalate_incident(uow, incident_id)
    escalation.sweep(store, WORKER)
    found = {(e.incident_id, e.rule, e.clock_key) for e in escalations(store)}
    store.dispose()
    return found


def _act(store: Store, incident_id: int, action: str) -> None:
    s, lead = Service(store, "servers"), Service(store, "lead")
    match action:
        case "classify3":
            s.classify(incident_id, category="server_fault", level="III", reason="r")
        case "classify4":
            s.classify(incident_id, category="network_fault", level="IV", reason="r")
        case "ack":
            s.ack(incident_id)
        case "note":
            s.note(incident_id, "update")
        case "cause":
            s.cause(incident_id)
        case "resolve":
            s.resolve(incident_id, resolution="fixed")
        case "attest":
            s.attest(incident_id, "leadership_informed", via="phone")
        case "lower":
            lead.set_level(incident_id, level="IV", reason="smaller than feared")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_escalations_depend_on_the_facts_not_on_when_sweeps_ran(
    template: Path, tmp_path_factory: pytest.TempPathFactory, actions: list[tuple[str, int]]
) -> None:
    base = tmp_path_factory.mktemp("replay")
    every_step = replay(template, base / "a", actions, sweep_each_step=True, reverse=False)
    at_the_end = replay(template, base / "b", actions, sweep_each_step=False, reverse=True)
    assert every_step == at_the_end
    assert every_step  # the 30 h wait breaches something on every history
