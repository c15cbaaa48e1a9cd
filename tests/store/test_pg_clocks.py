"""The server checks the clocks on a store whose database roles are on (#15,
backend/pg_clocks.py): an operator's role writing SQL as an attacker would cannot mark a
clock met, move its due time, waive or supersede it, date a fact back or hide an
incident from the sweep; every real action passes. And the server's derivation is
backend/deadlines.py's, rule by rule, on facts made at random."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from opsdeck.backend import deadlines
from opsdeck.backend.clocks import facts_of
from opsdeck.backend.models import Incident
from opsdeck.backend.timeutil import rfc3339

from .. import pg_deployed, pg_server

sql, refused = pg_deployed.sql, pg_deployed.refused


def _open(as_role: Callable[..., Any], *extra: str) -> int:
    code, out, err = as_role("alice", "incident", "open", "--title", "disk full", "--json", *extra)
    assert code == 0, err
    return int(json.loads(out)["id"])


def _clock(server: pg_server.Server, incident: int, rule: str) -> tuple[Any, ...]:
    with psycopg.connect(server.libpq("alice")) as conn:
        row = conn.execute(
            "SELECT met_at, due_at, waived_at, superseded_at FROM incident_deadlines "
            "WHERE incident_id = %s AND rule = %s ORDER BY id DESC LIMIT 1",
            [incident, rule],
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_an_operators_role_cannot_mark_a_clock_met_move_waive_or_supersede_it(
    deployed: pg_server.Server, as_role: Any
) -> None:
    incident = _open(as_role, "--category", "server_fault", "--level", "III")
    before = _clock(deployed, incident, "supervisor")
    where = f"WHERE incident_id = {incident} AND rule = 'supervisor'"
    for statement, said in (
        (f"UPDATE incident_deadlines SET met_at = now() {where}", "marked met at"),
        (f"UPDATE incident_deadlines SET due_at = due_at + interval '1 day' {where}", "but its rule makes it due"),
        (f"UPDATE incident_deadlines SET warn_at = warn_at + interval '1 hour' {where}", "but its rule makes it due"),
        (
            f"UPDATE incident_deadlines SET waived_at = now(), waived_by = 'servers' {where}",
            "only closing the incident before it is due waives it",
        ),
        (f"UPDATE incident_deadlines SET superseded_at = now() {where}", "so it is not superseded"),
        (f"UPDATE incident_deadlines SET escalated_at = now() {where}", "recorded by the worker"),
        (f"UPDATE incident_deadlines SET clock_start = clock_start + interval '1 hour' {where}", "never change"),
        (
            "INSERT INTO incident_deadlines (incident_id, rule, clock_key, clock_start, due_at, warn_at) "
            f"VALUES ({incident}, 'supervisor', 'x', now(), now() + interval '1 year', now())",
            "the incident's facts start no such clock",
        ),
        (f"UPDATE incidents SET next_due_at = NULL WHERE id = {incident}", "but its clocks make it"),
    ):
        told = refused(deployed, "alice", statement)
        assert said in told, (statement, told)
    # The fact and the clock together: the fact is not this write's time (no event says so).
    with psycopg.connect(deployed.libpq("alice")) as conn:
        conn.execute("UPDATE incidents SET resolved_at = reported_at + interval '1 minute' WHERE id = %s", [incident])
        conn.execute(f"UPDATE incident_deadlines SET met_at = due_at - interval '59 minutes' {where}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="a fact's time is the time of the write"):
            conn.commit()
    assert _clock(deployed, incident, "supervisor") == before
    assert before[0] is None
    # The lead's own role is checked as well: the rules are the facts', not a permission.
    told = refused(deployed, "boss", f"UPDATE incident_deadlines SET met_at = now() {where}")
    assert "marked met at" in told


def test_every_real_action_passes_with_the_clocks_checked(deployed: pg_server.Server, as_role: Any) -> None:
    incident = str(_open(as_role))
    for role, *step in (
        ("alice", "incident", "ack", incident),
        ("alice", "incident", "classify", incident, "--category", "server_fault", "--level", "IV"),
        ("alice", "incident", "level", incident, "--level", "II", "--reason", "more users"),
        ("boss", "incident", "level", incident, "--level", "III", "--reason", "fewer users"),
        ("alice", "incident", "attest", incident, "leadership_informed", "--via", "phone"),
        ("alice", "incident", "note", incident, "restarted the pool"),
        ("alice", "incident", "cause", incident),
        ("alice", "incident", "resolve", incident, "--resolution", "pool restarted"),
        ("alice", "incident", "reopen", incident, "--reason", "came back"),
        ("alice", "incident", "resolve", incident, "--resolution", "pool restarted again"),
        ("alice", "incident", "close", incident, "--false-alarm", "--reason", "a load test"),
    ):
        code, _, err = as_role(role, *step)
        assert code == 0, (step, err)
    # Closing before the record was due waived it, by the closer: the server agreed.
    met, due, waived, _ = _clock(deployed, int(incident), "record")
    assert waived is not None and met is None and waived < due
    # Re-grades: outages that began before the level's bound (the outage start is stated).
    declined = str(_open(as_role, "--category", "server_fault", "--level", "III", "--outage-start", "-13h"))
    confirmed = str(_open(as_role, "--category", "server_fault", "--level", "IV", "--outage-start", "-3h"))
    for step in (
        ("incident", "regrade", declined, "--decline", "--reason", "contained"),
        ("incident", "regrade", confirmed, "--confirm", "--reason", "still down"),
        ("incident", "note", declined, "after the re-grades"),
    ):
        code, _, err = as_role("alice", *step)
        assert code == 0, (step, err)
    with psycopg.connect(deployed.libpq("alice")) as conn:
        levels = conn.execute(
            "SELECT id, level FROM incidents WHERE id IN (%s, %s) ORDER BY id", [int(declined), int(confirmed)]
        ).fetchall()
    assert levels == [(int(declined), "III"), (int(confirmed), "III")]


# -- the server's derivation is deadlines.py's --------------------------------------------

EXTRA_RULES = [  # reach every start, every fact and every filter the built-in policy does not
    {"key": "x_ack", "starts": "acknowledged", "after": "45m", "met_by": ["acknowledged", "cause_located"]},
    {"key": "x_res", "starts": "resolved", "after": "2h", "met_by": ["record_filed", "any_update"], "warning": 0.3},
    {"key": "x_sys", "starts": "reported", "after": "immediate", "met_by": ["classified"], "systems": ["db-cluster"]},
    {"key": "x_cls", "starts": "classified", "after": "1w", "met_by": ["attested:notices_posted", "resolved"]},
]
LEVELS = [None, "IV", "III", "II", "I"]
STATUSES = ["reported", "acknowledged", "resolved", "closed"]


def _random_facts(rng: random.Random, t0: datetime) -> dict[str, Any]:
    def at() -> datetime | None:
        return (
            None if rng.random() < 0.35 else t0 + timedelta(minutes=rng.choice([0, 5, 20, 30, 45, 61, 180, 1500, 3000]))
        )

    level = rng.choice(LEVELS)
    return {
        "reported_at": t0,
        "outage_started_at": at(),
        "acknowledged_at": at(),
        "classified_at": at(),
        "level_since": at() if level else None,
        "cause_located_at": at(),
        "resolved_at": at(),
        "record_filed_at": at(),
        "closed_at": at(),
        "reopened_at": at(),
        "last_activity_at": at(),
        "status": rng.choice(STATUSES),
        "category": rng.choice(["unclassified", "server_fault", "network_fault"]),
        "level": level,
        "updated_by": rng.choice(["servers", "lead"]),
    }


@pytest.mark.postgres
def test_the_servers_clocks_are_the_python_rules(pg_url: str) -> None:
    """For every rule (the built-in policy's and EXTRA_RULES), on 300 incidents' facts made
    at random: each clock deadlines.derive makes is the one the server expects (current,
    due, warning, met, waived, next level), and a clock it no longer makes ends as
    deadlines.ended says."""
    from opsdeck.backend.schema import open_store
    from opsdeck.backend.service import Service

    from ..conftest import demo_fixture

    store = open_store(pg_url)
    libpq = pg_url.replace("postgresql+psycopg://", "postgresql://")
    try:
        Service(store, "system:opsdeck").import_records("roster", demo_fixture("roster.toml"))
        Service(store, "lead").import_records("contacts", demo_fixture("contacts.toml"))
        Service(store, "lead").import_records("systems", demo_fixture("systems.toml"))
        incident = Service(store, "lead").open(title="t", category="server_fault", level="III").id
        with psycopg.connect(libpq) as conn:
            version, document = conn.execute(
                "SELECT version, document FROM policy_versions ORDER BY version DESC LIMIT 1"
            ).fetchone()  # type: ignore[misc]
            document = json.loads(document) if isinstance(document, str) else document
            document["deadlines"]["rule"] += EXTRA_RULES
            document["deadlines"]["warning_band"] = 0.25
            conn.execute(
                "INSERT INTO policy_versions (version, created_at, actor, source, hash, document) "
                "VALUES (%s, now(), 'test', '', 'test', %s)",
                [version + 1, json.dumps(document)],
            )
            system_id = conn.execute("SELECT id FROM systems WHERE name = 'db-cluster'").fetchone()[0]  # type: ignore[index]
            conn.commit()
        rules = deadlines.parse(document)
        rng = random.Random(15)
        t0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
        compared = 0
        for _ in range(300):
            facts = _random_facts(rng, t0)
            with psycopg.connect(libpq) as conn:
                conn.execute("DELETE FROM attestations WHERE incident_id = %s", [incident])
                for key in ("leadership_informed", "notices_posted", "regrade@2h", "regrade@12h"):
                    if rng.random() < 0.3:
                        conn.execute(
                            "INSERT INTO attestations (incident_id, key, at, by, channel, note, who) VALUES (%s, %s, %s, 'lead', 'phone', '', '')",
                            [incident, key, t0 + timedelta(minutes=rng.choice([10, 40, 200]))],
                        )
                sets = ", ".join(f"{k} = %({k})s" for k in facts)
                conn.execute(
                    f"UPDATE incidents SET {sets}, policy_version = %(v)s, system_id = %(s)s WHERE id = %(id)s",
                    {**facts, "v": version + 1, "s": system_id if rng.random() < 0.5 else None, "id": incident},
                )
                conn.commit()
                with store.read() as session:
                    row = session.get(Incident, incident)
                    assert row is not None
                    known = facts_of(session, row)
                for clock in deadlines.derive(known, rules):
                    got = conn.execute(
                        "SELECT * FROM opsdeck_clock_expected(%s, %s, %s, %s)",
                        [incident, clock.rule, clock.clock_start, clock.clock_key],
                    ).fetchone()
                    assert got is not None
                    want = (True, True, clock.due_at, clock.warn_at, clock.met_at, clock.waived_at, clock.waived_by)
                    assert tuple(got[:7]) == want and got[7] == clock.next_level, (clock, got, known)
                    compared += 1
                for rule in rules.rules:  # a clock these facts no longer start: an hour earlier
                    start = t0 - timedelta(hours=1)
                    key = rfc3339(start) + ("@12h" if rule.level_bound else "")
                    due = start + (timedelta(hours=12) if rule.after is None else rule.after)
                    ended = deadlines.ended(rule, known, _Row(start, key, due))
                    got = conn.execute(
                        "SELECT current, due_at, met_at, waived_at, waived_by FROM opsdeck_clock_expected(%s, %s, %s, %s)",
                        [incident, rule.key, start, key],
                    ).fetchone()
                    assert got == (False, due, *ended), (rule.key, got, ended, known)
                    compared += 1
        assert compared > 1500
    finally:
        store.dispose()


class _Row:
    def __init__(self, start: datetime, key: str, due: datetime) -> None:
        self.clock_start, self.clock_key, self.due_at = start, key, due
