"""The plan's clocks as a pure function of facts, at every boundary: a second before,
at, and after each deadline (docs/plan.md#deadlines)."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsdeck.backend import deadlines, policy
from opsdeck.backend.deadlines import Facts, derive, state

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
RULES = policy.Policy(1, policy.default_document()).deadlines
S = timedelta(seconds=1)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def clocks(facts: Facts) -> dict[str, deadlines.Clock]:
    return {c.rule: c for c in derive(facts, RULES)}


def at(facts: Facts, rule: str, when: datetime) -> str:
    return state(clocks(facts)[rule], when).state


def boundaries(facts: Facts, rule: str, due: datetime) -> tuple[str, str, str]:
    return at(facts, rule, due - S), at(facts, rule, due), at(facts, rule, due + S)


NEW = Facts(reported_at=T0, outage_started_at=T0, last_activity_at=T0)
ACKED = replace(NEW, status="acknowledged", acknowledged_at=T0)


def classified(level: str, category: str = "server_fault", at: datetime = T0) -> Facts:
    return replace(ACKED, category=category, level=level, classified_at=at, level_since=at)


def test_classify_is_due_30_minutes_after_the_report() -> None:
    clock = clocks(NEW)["classify"]
    assert clock.due_at == T0 + 30 * M
    assert at(NEW, "classify", T0 + 23 * M) == "pending"
    assert at(NEW, "classify", T0 + 24 * M) == "warning"  # the last 20 %
    assert boundaries(NEW, "classify", T0 + 30 * M) == ("warning", "warning", "breached")


def test_classify_met_in_time_and_late() -> None:
    in_time = classified("IV", at=T0 + 30 * M)
    assert state(clocks(in_time)["classify"], T0 + 2 * H).state == "met"
    late = classified("IV", at=T0 + 30 * M + S)
    result = state(clocks(late)["classify"], T0 + 2 * H)
    assert (result.state, result.late_s) == ("met_late", 1)


def test_a_met_clock_reads_as_met_only_from_when_it_was_met() -> None:
    facts = classified("IV", at=T0 + 40 * M)
    assert at(facts, "classify", T0 + 35 * M) == "breached"
    assert at(facts, "classify", T0 + 40 * M) == "met_late"


def test_level_iii_and_above_owe_leadership_and_departments_at_once() -> None:
    for level in ("III", "II", "I"):
        facts = classified(level, at=T0 + 10 * M)
        for rule in ("leadership_report", "departments_notified"):
            assert clocks(facts)[rule].due_at == T0 + 25 * M  # 立即: the 15 min grace
            assert boundaries(facts, rule, T0 + 25 * M) == ("warning", "warning", "breached")
    assert "leadership_report" not in clocks(classified("IV"))


def test_attesting_meets_the_obligation_clock() -> None:
    facts = replace(classified("III"), attested={"leadership_informed": (T0 + 5 * M,)})
    assert at(facts, "leadership_report", T0 + 1 * H) == "met"
    assert at(facts, "departments_notified", T0 + 1 * H) == "breached"


def test_an_attestation_before_the_level_was_raised_does_not_count() -> None:
    facts = replace(classified("III", at=T0 + 30 * M), attested={"leadership_informed": (T0 + 5 * M,)})
    assert at(facts, "leadership_report", T0 + 1 * H) == "breached"


def test_supervisor_steps_in_after_60_minutes_unresolved() -> None:
    assert boundaries(NEW, "supervisor", T0 + 60 * M) == ("warning", "warning", "breached")
    resolved = replace(ACKED, status="resolved", resolved_at=T0 + 59 * M)
    assert at(resolved, "supervisor", T0 + 2 * H) == "met"


def test_vendor_only_for_server_and_software_faults_until_a_cause_is_located() -> None:
    for category in ("server_fault", "software_fault"):
        facts = classified("IV", category)
        assert boundaries(facts, "vendor", T0 + 1 * H) == ("warning", "warning", "breached")
    assert "vendor" not in clocks(classified("IV", "network_fault"))
    located = replace(classified("IV"), cause_located_at=T0 + 50 * M)
    assert at(located, "vendor", T0 + 2 * H) == "met"


@pytest.mark.parametrize(("level", "bound", "next_level"), [("IV", 2, "III"), ("III", 12, "II"), ("II", 24, "I")])
def test_regrade_when_the_outage_passes_the_level_bound(level: str, bound: int, next_level: str) -> None:
    facts = replace(classified(level), outage_started_at=T0 - 30 * M)
    clock = clocks(facts)["regrade"]
    assert clock.due_at == T0 - 30 * M + bound * H
    assert clock.next_level == next_level
    assert boundaries(facts, "regrade", clock.due_at) == ("warning", "warning", "breached")


def test_level_i_has_no_bound_to_pass() -> None:
    assert "regrade" not in clocks(classified("I"))
    assert "regrade" not in clocks(NEW)  # no level, no bound


def test_declining_a_regrade_moves_the_clock_to_the_next_bound() -> None:
    declined = replace(classified("IV"), attested={"regrade@2h": (T0 + 2 * H + 5 * M,)})
    clock = clocks(declined)["regrade"]
    assert (clock.due_at, clock.next_level, clock.clock_key.endswith("@12h")) == (T0 + 12 * H, "II", True)


def test_raising_the_level_answers_the_passed_bound() -> None:
    raised = replace(classified("IV"), level="III", level_since=T0 + 2 * H + 10 * M)
    old = deadlines.met_time(RULES.rule("regrade"), raised, T0, bound_hours=2)  # type: ignore[arg-type]
    assert old == T0 + 2 * H + 10 * M


def test_the_record_is_due_a_day_after_resolution() -> None:
    resolved = replace(classified("IV"), status="resolved", resolved_at=T0 + 1 * H)
    assert boundaries(resolved, "record", T0 + 25 * H) == ("warning", "warning", "breached")
    filed = replace(resolved, record_filed_at=T0 + 3 * H)
    assert at(filed, "record", T0 + 30 * H) == "met"


def test_the_acknowledgement_lease_renews_with_every_update() -> None:
    assert boundaries(ACKED, "ack_lease", T0 + 30 * M) == ("warning", "warning", "breached")
    updated = replace(ACKED, last_activity_at=T0 + 20 * M)
    clock = clocks(updated)["ack_lease"]
    assert (clock.clock_start, clock.due_at) == (T0 + 20 * M, T0 + 50 * M)
    assert "ack_lease" not in clocks(NEW)  # not acknowledged: nothing to lapse
    assert "ack_lease" not in clocks(replace(ACKED, status="resolved", resolved_at=T0 + M))


def test_reopening_restarts_the_report_clocks() -> None:
    reopened = replace(ACKED, reopened_at=T0 + 5 * H, resolved_at=None)
    assert clocks(reopened)["supervisor"].due_at == T0 + 6 * H


def test_a_reopened_incident_that_is_still_classified_owes_no_classification() -> None:
    reopened = replace(classified("IV", at=T0 + 10 * M), reopened_at=T0 + 5 * H, resolved_at=None)
    clock = clocks(reopened)["classify"]
    assert clock.clock_start == T0 + 5 * H and clock.met_at == T0 + 5 * H
    assert at(reopened, "classify", T0 + 7 * H) == "met"  # never breached, never escalated
    assert at(classified("IV", at=T0 + 10 * M), "classify", T0 + H) == "met"  # the first time as before
    assert clocks(classified("IV", at=T0 + 10 * M))["classify"].met_at == T0 + 10 * M


def test_closing_meets_no_clock_it_waives_those_not_yet_due() -> None:
    closed = replace(NEW, status="closed", closed_at=T0 + 10 * M, closed_by="lead", last_activity_at=T0 + 10 * M)
    found = derive(closed, RULES)
    assert {state(c, T0 + 5 * H).state for c in found} == {"waived"}
    assert {(c.met_at, c.waived_at, c.waived_by) for c in found} == {(None, T0 + 10 * M, "lead")}


def test_closing_after_a_clock_is_due_leaves_it_breached() -> None:
    closed = replace(NEW, status="closed", closed_at=T0 + 40 * M, closed_by="lead")
    late = clocks(closed)
    assert state(late["classify"], T0 + 5 * H).state == "breached"  # due at 30 min
    assert state(late["supervisor"], T0 + 5 * H).state == "waived"  # due at 60 min


def test_a_superseded_clock_keeps_the_state_it_had() -> None:
    classify = clocks(NEW)["classify"]  # due at 30 min
    row = SimpleNamespace(**{**asdict(classify), "superseded_at": T0 + 40 * M})
    assert state(row, T0 + 5 * H) == deadlines.ClockState("breached", -600)  # as overdue as then
    row.superseded_at = T0 + 20 * M
    assert state(row, T0 + 5 * H).state == "superseded"


# -- properties ------------------------------------------------------------------------------

minutes = st.integers(min_value=0, max_value=3 * 24 * 60)


@st.composite
def histories(draw: st.DrawFn) -> Facts:
    def maybe(after: datetime) -> datetime | None:
        return draw(st.one_of(st.none(), minutes.map(lambda m: after + m * M)))

    reported = T0 + draw(minutes) * M
    level = draw(st.sampled_from([None, "IV", "III", "II", "I"]))
    category = draw(st.sampled_from(["unclassified", "server_fault", "network_fault", "software_fault"]))
    classified_at = maybe(reported) if level else None
    acknowledged = maybe(reported)
    resolved = maybe(acknowledged) if acknowledged else None
    return Facts(
        reported_at=reported,
        outage_started_at=reported - draw(minutes) * M,
        acknowledged_at=acknowledged,
        classified_at=classified_at,
        level_since=classified_at,
        cause_located_at=maybe(reported),
        resolved_at=resolved,
        record_filed_at=maybe(resolved) if resolved else None,
        status="resolved" if resolved else "acknowledged" if acknowledged else "reported",
        category=category,
        level=level if classified_at else None,
        last_activity_at=max(t for t in (reported, acknowledged, resolved) if t),
        attested={"leadership_informed": (reported + draw(minutes) * M,)} if draw(st.booleans()) else {},
    )


@settings(max_examples=300, deadline=None)
@given(histories(), minutes)
def test_met_and_breached_never_hold_together(facts: Facts, offset: int) -> None:
    now = T0 + offset * M
    for clock in derive(facts, RULES):
        result = state(clock, now)
        met = clock.met_at is not None and clock.met_at <= now
        assert (result.state in ("met", "met_late")) == met
        if result.state == "breached":
            assert not met and now > clock.due_at
        if result.state == "met_late":
            assert clock.met_at is not None and clock.met_at > clock.due_at and result.late_s


# -- the policy file -----------------------------------------------------------------------


def test_a_center_changes_the_minutes_without_code(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "policy.toml"
    path.write_text(
        '[deadlines]\nimmediate_grace = "5m"\n\n[[deadlines.rule]]\nkey = "classify"\nname = "Classify"\n'
        'starts = "reported"\nafter = "20m"\nmet_by = ["classified"]\nescalate_to = ["permission:lead"]\n'
    )
    rules = policy.Policy(2, policy.merged_with_defaults(policy.load_file(path))).deadlines
    by_key = {c.rule: c for c in derive(classified("III", at=T0 + M), rules)}
    assert by_key["classify"].due_at == T0 + 20 * M
    assert by_key["leadership_report"].due_at == T0 + 6 * M
    assert "supervisor" in by_key  # the rules the file did not mention keep their defaults


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ('key = "x"\nstarts = "lunch"\nafter = "1h"\nmet_by = ["resolved"]', "deadlines.rule[8] (x).starts"),
        ('key = "x"\nstarts = "reported"\nafter = "soon"\nmet_by = ["resolved"]', "deadlines.rule[8] (x).after"),
        ('key = "x"\nstarts = "reported"\nafter = "1h"\nmet_by = ["prayer"]', "'prayer' is not a fact"),
        ('key = "x"\nstarts = "reported"\nafter = "1h"\nmet_by = ["attested:nope"]', "names no obligation"),
        ('key = "x"\nstarts = "reported"\nafter = "1h"\nmet_by = ["resolved"]\nlevels = ["V"]', ".levels"),
        (
            'key = "x"\nstarts = "reported"\nafter = "1h"\nmet_by = ["resolved"]\nescalate_to = ["duty:cook"]',
            "is not an escalation target",
        ),
        (
            'key = "x"\nstarts = "reported"\nafter = "level_bound"\nmet_by = ["resolved"]',
            "counts from the outage start",
        ),
    ],
)
def test_a_bad_rule_is_refused_naming_file_key_and_fix(tmp_path, rule: str, says: str) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.backend.errors import InvalidInput

    path = tmp_path / "policy.toml"
    path.write_text(f"[[deadlines.rule]]\n{rule}\n")
    with pytest.raises(InvalidInput) as error:
        policy.load_file(path)
    assert str(path) in str(error.value) and says in str(error.value) and " — " in str(error.value)


def test_the_next_deadline_is_the_earliest_by_time_not_by_text() -> None:
    from opsdeck.backend.queries import next_deadline

    def item(key: str, due: str) -> dict[str, object]:
        fields = ("name", "name_zh", "remaining_s", "next_level")
        return {"key": key, "due_at": due, "state": "pending", **dict.fromkeys(fields)}

    later = item("later", "2026-11-28T03:30:00.500000Z")  # as text, this one sorts first
    earlier = item("earlier", "2026-11-28T03:30:00Z")
    chosen = next_deadline([later, earlier])
    assert chosen is not None and chosen["key"] == "earlier"
