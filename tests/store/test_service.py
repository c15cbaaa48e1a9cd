"""Every incident action and its refusals, through the service layer, against a real
store; each test asserts on the stored rows (via the read side), not on return values."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from opsdeck.backend import queries
from opsdeck.backend.errors import DomainError, ErrorKind, InvalidInput, NotFound, StaleWrite
from opsdeck.backend.models import Change, Incident, OutboxMessage
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock
from ..records import RECORD

# Also with database roles on, each write as its actor's role (tests/pg_roles_mode.py).
pytestmark = pytest.mark.pg_roles

As = Callable[[str], Service]


def show(store: Store, incident_id: int) -> dict:
    with store.read() as session:
        return queries.incident_detail(session, incident_id)


def trail(store: Store, incident_id: int) -> list[dict]:
    with store.read() as session:
        return queries.audit_trail(session, incident_id)


def opened(as_: As, **kwargs) -> int:
    incident = as_("servers").open("Database cluster unreachable", **kwargs)
    assert incident.id is not None
    return incident.id


# -- open ---------------------------------------------------------------------------------


def test_open_stores_a_reported_incident_with_its_reporter_and_times(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident_id = opened(as_, system="db-cluster", description="primary and replica down")
    data = show(seeded, incident_id)
    assert data["status"] == "reported"
    assert data["reporter"] == "servers"
    assert data["system"] == "db-cluster"
    assert data["category"] == "unclassified" and data["level"] is None
    assert data["reported_at"] == "2026-11-28T03:00:00Z"
    assert data["outage_started_at"] == data["reported_at"]
    assert data["version"] == 1
    assert [e["action"] for e in trail(seeded, incident_id)] == ["open"]


def test_open_with_classification_acknowledges_and_brings_the_playbook(seeded: Store, as_: As) -> None:
    incident_id = opened(as_, category="network_fault", level="iv", reason="lines down")
    data = show(seeded, incident_id)
    assert (data["category"], data["level"], data["status"]) == ("network_fault", "IV", "acknowledged")
    assert data["classified_at"] == data["acknowledged_at"] == "2026-11-28T03:00:00Z"
    assert [s["key"] for s in data["playbook"]] == ["check_lines", "backup_line", "call_carrier"]


def test_open_with_a_past_outage_start(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident_id = opened(as_, outage_start=clock.now - timedelta(minutes=40))
    assert show(seeded, incident_id)["outage_started_at"] == "2026-11-28T02:20:00Z"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"category": "network_fault"}, "half_classified"),
        ({"level": "II"}, "half_classified"),
        ({"category": "weather", "level": "II"}, "bad_category"),
        ({"category": "unclassified", "level": "II"}, "bad_category"),
        ({"category": "other", "level": "V"}, "bad_level"),
    ],
)
def test_open_refuses_bad_classification(as_: As, kwargs: dict, code: str) -> None:
    with pytest.raises(InvalidInput) as error:
        as_("servers").open("x", **kwargs)
    assert error.value.code == code
    assert " — " in str(error.value)  # what — how to fix


def test_open_refuses_empty_title_unknown_system_and_future_outage(seeded: Store, as_: As, clock: FakeClock) -> None:
    with pytest.raises(InvalidInput, match="title is required"):
        as_("servers").open("   ")
    with pytest.raises(NotFound, match="no system named 'mainframe'.*systems list"):
        as_("servers").open("x", system="mainframe")
    with pytest.raises(InvalidInput, match="in the future"):
        as_("servers").open("x", outage_start=clock.now + timedelta(hours=1))
    with seeded.read() as session:
        assert queries.count_incidents(session, queries.IncidentFilter(status="all")) == 0


def test_viewers_and_unknown_logins_write_nothing(seeded: Store, as_: As) -> None:
    for login in ("auditor", "stranger"):
        with pytest.raises(DomainError) as error:
            as_(login).open("x")
        assert error.value.kind is ErrorKind.REFUSED
        assert f"{login} is a viewer" in str(error.value) and "ask a lead (lead)" in str(error.value)
    with pytest.raises(DomainError, match="read-only"):
        Service(seeded, "lead", read_only=True).open("x")
    with seeded.read() as session:
        assert queries.count_incidents(session, queries.IncidentFilter(status="all")) == 0


def test_the_worker_actor_needs_no_roster_entry(seeded: Store) -> None:
    incident = Service(seeded, "system:worker@probe-host").open("probe CRITICAL x3")
    assert show(seeded, incident.id)["reporter"] == "system:worker@probe-host"


def test_ids_are_never_reused(store_url: str, clock: FakeClock, seeded: Store, as_: As) -> None:
    first = opened(as_)
    second = opened(as_)
    assert second == first + 1


# -- ack, classify, level -------------------------------------------------------------


def test_ack_moves_reported_to_acknowledged_once(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident_id = opened(as_)
    clock.advance(minutes=3)
    as_("dns").ack(incident_id)
    data = show(seeded, incident_id)
    assert (data["status"], data["acknowledged_at"], data["version"]) == ("acknowledged", "2026-11-28T03:03:00Z", 2)
    assert data["updated_by"] == "dns"
    with pytest.raises(DomainError, match="is acknowledged") as error:
        as_("dns").ack(incident_id)
    assert error.value.code == "not_reported"
    assert show(seeded, incident_id)["version"] == 2


def test_classify_sets_classified_at_once_and_regrades_need_a_reason(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident_id = opened(as_)
    clock.advance(minutes=10)
    as_("servers").classify(incident_id, category="server_fault", level="IV")
    data = show(seeded, incident_id)
    assert data["classified_at"] == "2026-11-28T03:10:00Z"
    assert data["status"] == "acknowledged"  # classifying a reported incident acknowledges it
    clock.advance(minutes=10)
    with pytest.raises(InvalidInput, match="re-grade needs --reason"):
        as_("servers").classify(incident_id, category="software_fault", level="III")
    as_("servers").classify(incident_id, category="software_fault", level="III", reason="it is the app, not the box")
    data = show(seeded, incident_id)
    assert (data["category"], data["level"], data["classified_at"]) == ("software_fault", "III", "2026-11-28T03:10:00Z")
    last = trail(seeded, incident_id)[-1]
    assert last["details"]["regrade"] is True and last["details"]["from_category"] == "server_fault"
    assert last["details"]["reason"] == "it is the app, not the box"


def test_classify_to_the_same_values_is_refused(seeded: Store, as_: As) -> None:
    incident_id = opened(as_, category="other", level="IV")
    with pytest.raises(DomainError, match="already other at level IV"):
        as_("servers").classify(incident_id, category="other", level="IV", reason="same")


def test_raising_a_level_is_for_operators_lowering_is_for_leads(seeded: Store, as_: As) -> None:
    incident_id = opened(as_, category="server_fault", level="IV")
    as_("servers").set_level(incident_id, level="II", reason="outage will last past noon")
    with pytest.raises(DomainError) as error:
        as_("servers").set_level(incident_id, level="III", reason="better than feared")
    assert error.value.code == "lead_only" and "ask a lead: lead" in str(error.value)
    with pytest.raises(DomainError, match="lead"):
        as_("servers").classify(incident_id, category="server_fault", level="IV", reason="x")
    assert show(seeded, incident_id)["level"] == "II"
    as_("lead").set_level(incident_id, level="III", reason="better than feared")
    assert show(seeded, incident_id)["level"] == "III"


def test_level_first_then_category_sets_classified_at_when_both_exist(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident_id = opened(as_)
    as_("servers").set_level(incident_id, level="IV")
    assert show(seeded, incident_id)["classified_at"] is None
    clock.advance(minutes=5)
    as_("servers").classify(incident_id, category="other", level="IV", reason="now we know what it is")
    assert show(seeded, incident_id)["classified_at"] == "2026-11-28T03:05:00Z"


# -- assign, note, step, cause -------------------------------------------------------


def test_assign_to_roster_operators_only(seeded: Store, as_: As) -> None:
    incident_id = opened(as_)
    as_("lead").assign(incident_id, "telecom")
    data = show(seeded, incident_id)
    assert (data["owner"], data["status"]) == ("telecom", "acknowledged")
    with pytest.raises(NotFound, match="'director' is not on the roster.*contacts are never owners"):
        as_("lead").assign(incident_id, "director")
    with pytest.raises(DomainError, match="auditor is a viewer and cannot own"):
        as_("lead").assign(incident_id, "auditor")
    with pytest.raises(DomainError, match="telecom already owns"):
        as_("lead").assign(incident_id, "telecom")
    assert show(seeded, incident_id)["version"] == 2


def test_notes_are_child_rows_that_never_conflict(seeded: Store, as_: As) -> None:
    incident_id = opened(as_)
    as_("dns").note(incident_id, "checking the switch")  # acknowledges: version 2
    version = show(seeded, incident_id)["version"]
    as_("servers").note(incident_id, "replica lag 40 s")
    as_("dns").note(incident_id, "switch fine")
    data = show(seeded, incident_id)
    assert [(n["author"], n["text"]) for n in data["notes"]] == [
        ("dns", "checking the switch"),
        ("servers", "replica lag 40 s"),
        ("dns", "switch fine"),
    ]
    assert data["status"] == "acknowledged"
    assert data["version"] == version == 2
    with pytest.raises(InvalidInput, match="note is required"):
        as_("dns").note(incident_id, "  ")


def test_steps_are_ticked_or_skipped_with_a_reason_once(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident_id = opened(as_, system="benefits-app", category="software_fault", level="IV")
    keys = [s["key"] for s in show(seeded, incident_id)["playbook"]]
    assert keys == ["restart", "tell_account_manager", "vendor_support"]  # no maintenance contract
    clock.advance(minutes=2)
    as_("servers").step(incident_id, "restart")
    with pytest.raises(InvalidInput, match="reason is required"):
        as_("servers").step(incident_id, "vendor_support", skip=True)
    as_("servers").step(incident_id, "vendor_support", skip=True, reason="cause found in 20 min")
    with pytest.raises(DomainError, match="already done by servers"):
        as_("dns").step(incident_id, "restart")
    with pytest.raises(NotFound, match="use one of: restart, tell_account_manager, vendor_support"):
        as_("dns").step(incident_id, "reboot")
    steps = {s["key"]: s for s in show(seeded, incident_id)["playbook"]}
    assert steps["restart"]["state"] == "done" and steps["restart"]["by"] == "servers"
    assert steps["restart"]["at"] == "2026-11-28T03:02:00Z"
    assert (
        steps["vendor_support"]["state"] == "skipped" and steps["vendor_support"]["reason"] == "cause found in 20 min"
    )
    assert steps["tell_account_manager"]["state"] == "pending"
    assert [e["action"] for e in trail(seeded, incident_id)][-2:] == ["step", "step"]


def test_an_unclassified_incident_has_no_playbook_yet(seeded: Store, as_: As) -> None:
    incident_id = opened(as_)
    with pytest.raises(NotFound, match="classify the incident first"):
        as_("servers").step(incident_id, "restart")


def test_cause_located_once(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident_id = opened(as_)
    clock.advance(minutes=50)
    as_("servers").cause(incident_id, note="failed RAID controller")
    data = show(seeded, incident_id)
    assert data["cause_located_at"] == "2026-11-28T03:50:00Z"
    assert data["notes"][-1]["text"] == "failed RAID controller"
    with pytest.raises(DomainError, match="was located at 2026-11-28T03:50:00Z"):
        as_("servers").cause(incident_id)


# -- resolve, close, reopen, outage --------------------------------------------------


def test_resolve_needs_a_resolution_and_ends_the_outage(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident_id = opened(as_)
    with pytest.raises(InvalidInput, match="resolution is required"):
        as_("servers").resolve(incident_id, resolution="")
    clock.advance(hours=1)
    as_("servers").resolve(incident_id, resolution="controller replaced")
    data = show(seeded, incident_id)
    assert (data["status"], data["resolved_at"], data["resolution"]) == (
        "resolved",
        "2026-11-28T04:00:00Z",
        "controller replaced",
    )
    assert data["acknowledged_at"] == "2026-11-28T04:00:00Z"
    with pytest.raises(DomainError, match="was resolved at"):
        as_("servers").resolve(incident_id, resolution="again")


def test_plain_close_names_what_is_missing_and_the_ways_out(seeded: Store, as_: As) -> None:
    incident_id = opened(as_)
    with pytest.raises(DomainError) as error:
        as_("servers").close(incident_id)
    message = str(error.value)
    assert "not resolved and it has no category and it has no level" in message
    assert "--false-alarm --reason R" in message and "--duplicate-of ID" in message
    assert error.value.kind is ErrorKind.REFUSED
    assert show(seeded, incident_id)["status"] == "reported"


def test_plain_close_refuses_a_draft_still_holding_placeholders(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident_id = opened(as_, category="server_fault", level="IV")
    as_("servers").resolve(incident_id, resolution="disk swapped")
    clock.advance(hours=2)
    with pytest.raises(DomainError) as error:
        as_("servers").close(incident_id)
    assert error.value.kind is ErrorKind.REFUSED and error.value.code == "record_incomplete"
    assert "Summary, Cause, Lessons empty or still the draft's placeholder" in str(error.value)
    assert f"opsdeck report edit {incident_id}" in str(error.value)
    assert show(seeded, incident_id)["status"] == "resolved" and show(seeded, incident_id)["record_filed_at"] is None
    as_("servers").close(incident_id, record=RECORD)
    data = show(seeded, incident_id)
    assert data["status"] == "closed" and data["close_kind"] == "resolved"
    assert data["record_filed_at"] == data["closed_at"] == "2026-11-28T05:00:00Z"
    details = trail(seeded, incident_id)[-1]["details"]
    with seeded.read() as session:
        filed = session.get(Incident, incident_id)
        assert filed is not None and filed.record == RECORD.strip()
    assert details["record_as"] == "edited"
    assert details["record_sha256"] == hashlib.sha256(filed.record.encode()).hexdigest()


def test_closing_level_i_or_ii_is_for_leads(seeded: Store, as_: As) -> None:
    incident_id = opened(as_, category="disaster", level="II")
    as_("servers").resolve(incident_id, resolution="moved to spare server")
    with pytest.raises(DomainError, match="level II.*is for leads.*ask a lead: lead"):
        as_("servers").close(incident_id)
    as_("lead").close(incident_id, record=RECORD)
    assert show(seeded, incident_id)["status"] == "closed"


def test_false_alarm_and_duplicate_need_no_classification(seeded: Store, as_: As) -> None:
    original = opened(as_)
    duplicate = opened(as_)
    false_alarm = opened(as_)
    as_("servers").close(duplicate, duplicate_of=original)
    as_("servers").close(false_alarm, false_alarm_reason="probe misconfigured")
    d, f = show(seeded, duplicate), show(seeded, false_alarm)
    assert (d["status"], d["close_kind"], d["duplicate_of"]) == ("closed", "duplicate", original)
    assert (f["status"], f["close_kind"], f["close_reason"]) == ("closed", "false_alarm", "probe misconfigured")
    assert d["record_filed_at"] is None
    third = opened(as_)
    with pytest.raises(DomainError, match=f"is itself a duplicate of #{original}.*--duplicate-of {original}"):
        as_("servers").close(third, duplicate_of=duplicate)
    with pytest.raises(InvalidInput, match="cannot duplicate itself"):
        as_("servers").close(third, duplicate_of=third)
    with pytest.raises(NotFound):
        as_("servers").close(third, duplicate_of=9999)


def test_closed_is_final_for_every_action(seeded: Store, as_: As) -> None:
    incident_id = opened(as_)
    as_("servers").close(incident_id, false_alarm_reason="test page")
    for attempt in (
        lambda s: s.ack(incident_id),
        lambda s: s.note(incident_id, "late"),
        lambda s: s.assign(incident_id, "dns"),
        lambda s: s.resolve(incident_id, resolution="x"),
        lambda s: s.classify(incident_id, category="other", level="IV"),
    ):
        with pytest.raises(DomainError, match="closed incident is final.*reopen"):
            attempt(as_("servers"))
    assert show(seeded, incident_id)["version"] == 2


def test_reopen_resolved_goes_back_to_acknowledged(seeded: Store, as_: As) -> None:
    incident_id = opened(as_)
    as_("servers").resolve(incident_id, resolution="restarted")
    as_("servers").reopen(incident_id, reason="failed again after 5 min")
    data = show(seeded, incident_id)
    assert (data["status"], data["resolved_at"]) == ("acknowledged", None)
    assert trail(seeded, incident_id)[-1]["details"]["reason"] == "failed again after 5 min"
    with pytest.raises(DomainError, match="not resolved"):
        as_("servers").reopen(incident_id, reason="again")


def test_reopen_closed_opens_a_new_linked_incident(seeded: Store, as_: As) -> None:
    incident_id = opened(as_, category="server_fault", level="IV", system="db-cluster")
    as_("lead").assign(incident_id, "servers")
    as_("servers").resolve(incident_id, resolution="restarted")
    as_("servers").close(incident_id, record=RECORD)
    new = as_("servers").reopen(incident_id, reason="same fault next morning")
    assert new.id != incident_id
    data = show(seeded, new.id)
    assert data["reopened_from"] == incident_id
    assert (data["status"], data["category"], data["level"], data["owner"], data["system"]) == (
        "acknowledged",
        "server_fault",
        "IV",
        "servers",
        "db-cluster",
    )
    assert show(seeded, incident_id)["status"] == "closed"
    assert trail(seeded, incident_id)[-1]["action"] == "reopened_as"
    assert len(data["playbook"]) > 0


def test_outage_start_correction_needs_a_reason_and_a_past_time(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident_id = opened(as_)
    with pytest.raises(InvalidInput, match="in the future"):
        as_("servers").outage(incident_id, started=clock.now + timedelta(hours=2), reason="typo")
    as_("servers").outage(incident_id, started=clock.now - timedelta(hours=3), reason="logs show 00:00")
    data = show(seeded, incident_id)
    assert data["outage_started_at"] == "2026-11-28T00:00:00Z"
    details = trail(seeded, incident_id)[-1]["details"]
    assert details.pop("row")["status"] == "reported"  # the incident as the event leaves it
    assert details == {
        "outage_started_at": "2026-11-28T00:00:00Z",
        "from": "2026-11-28T03:00:00Z",
        "reason": "logs show 00:00",
    }


# -- versions ---------------------------------------------------------------------------


def test_a_stale_write_is_refused_naming_who_changed_it(seeded: Store, as_: As, clock: FakeClock) -> None:
    incident_id = opened(as_)
    seen = show(seeded, incident_id)["version"]
    clock.advance(minutes=1)
    as_("dns").assign(incident_id, "dns", expected_version=seen)
    with pytest.raises(StaleWrite) as error:
        as_("telecom").assign(incident_id, "telecom", expected_version=seen)
    assert error.value.kind is ErrorKind.STALE
    assert "changed by dns at 2026-11-28T03:01:00Z" in str(error.value) and "reload" in str(error.value)
    data = show(seeded, incident_id)
    assert (data["owner"], data["version"]) == ("dns", 2)


def test_missing_incident_is_not_found(seeded: Store, as_: As) -> None:
    with pytest.raises(NotFound) as error:
        as_("servers").ack(424242)
    assert error.value.kind is ErrorKind.NOT_FOUND


# -- feed and outbox --------------------------------------------------------------------


def test_every_write_adds_one_feed_entry_in_commit_order(seeded: Store, as_: As) -> None:
    with seeded.read() as session:
        before = session.execute(select(func.max(Change.seq))).scalar_one()
    incident_id = opened(as_)
    as_("servers").ack(incident_id)
    as_("servers").note(incident_id, "x")
    feed = seeded.feed_since(before)
    assert [(c.entity, c.entity_id, c.action) for c in feed] == [
        ("incident", str(incident_id), "open"),
        ("incident", str(incident_id), "ack"),
        ("incident", str(incident_id), "note"),
    ]
    assert [c.seq for c in feed] == list(range(before + 1, before + 4))


def test_outbox_rows_for_new_incidents_and_level_iii(seeded: Store, as_: As) -> None:
    incident_id = opened(as_)
    as_("servers").classify(incident_id, category="server_fault", level="III")
    with seeded.read() as session:
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
    new = sorted(r.recipient for r in rows if r.event == "new_incident")
    level3 = sorted((r.recipient_kind, r.recipient) for r in rows if r.event == "level_iii")
    assert new == ["dns", "lead", "servers"]  # the operators on duty in the demo roster
    assert level3 == [("contact", "dept-benefits"), ("contact", "director"), ("member", "lead")]
    assert all(r.state == "pending" and r.incident_id == incident_id for r in rows)
    assert len({r.idempotency_key for r in rows}) == len(rows)


def test_failed_action_writes_nothing(seeded: Store, as_: As) -> None:
    incident_id = opened(as_)
    with seeded.read() as session:
        feed_before = session.execute(select(func.count()).select_from(Change)).scalar_one()
    with pytest.raises(DomainError):
        as_("servers").close(incident_id)
    with seeded.read() as session:
        assert session.execute(select(func.count()).select_from(Change)).scalar_one() == feed_before
    assert len(trail(seeded, incident_id)) == 1


def test_roster_duty_is_for_the_member_themself_or_a_lead(seeded: Store, as_: As) -> None:
    as_("telecom").roster_duty("telecom", True)
    with pytest.raises(DomainError, match="is for leads"):
        as_("telecom").roster_duty("dns", False)
    as_("lead").roster_duty("dns", False)
    with seeded.read() as session:
        duty = {m["login"]: m["on_duty"] for m in queries.roster(session)}
    assert duty["telecom"] is True and duty["dns"] is False
    with pytest.raises(NotFound):
        as_("lead").roster_duty("ghost", True)


def test_a_wrong_category_lists_only_what_a_classification_may_say(seeded: Store) -> None:
    """`unclassified` is refused as a classification: the list of choices never offers it."""
    with pytest.raises(InvalidInput) as info:
        Service(seeded, "servers").open("x", category="weather", level="II")
    assert "'weather' is not a category: use one of network_attack," in info.value.what
    assert "unclassified" not in info.value.what
