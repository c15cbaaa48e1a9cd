"""PostgreSQL with database roles (#15): a server of the test's own (scram-sha-256, its own
pg_hba.conf, a free port), `opsdeck db roles init|add`, and real roles writing SQL as psql
would. An operator's role cannot lower a level or close a level I-II, a viewer's role
writes nothing, the worker's role escalates, and everyone is recorded as their login."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import delete, select
from sqlmodel import Session, col

from opsdeck.backend import pg_triggers, transitions
from opsdeck.backend.domain import Level
from opsdeck.backend.models import AuditEvent, Incident, IncidentDeadline
from opsdeck.backend.schema import open_store

from .. import pg_deployed, pg_server

CLI = pg_deployed.CLI
sql, refused = pg_deployed.sql, pg_deployed.refused


def opened(as_role: Callable[..., Any], level: str = "I") -> int:
    code, out, err = as_role("boss", "incident", "open", "--title", "db down", "--category", "server_fault",
                             "--level", level, "--json")  # fmt: skip
    assert code == 0, err
    import json

    return int(json.loads(out)["id"])


def row(server: pg_server.Server, incident_id: int) -> Incident:
    store = open_store(server.url())
    try:
        with store.read() as session:
            found = session.get(Incident, incident_id)
            assert found is not None
            return found
    finally:
        store.dispose()


def test_an_operators_role_cannot_lower_or_close_a_level_i_by_sql(deployed: pg_server.Server, as_role: Any) -> None:
    incident = opened(as_role, "I")
    told = refused(deployed, "alice", "UPDATE incidents SET level = 'IV' WHERE id = %s", [incident])
    assert f"lowering #{incident} from level I to IV is for leads" in told
    told = refused(deployed, "alice", "UPDATE incidents SET status = 'closed' WHERE id = %s", [incident])
    assert f"closing #{incident} (level I) is for leads" in told
    assert (row(deployed, incident).level, row(deployed, incident).status) == (
        "I",
        "acknowledged",
    )  # opened by a lead: acknowledged
    # The CLI says the same, as the server's own refusal would read.
    code, _, err = as_role("alice", "incident", "level", str(incident), "--level", "IV", "--reason", "r")
    assert code == 1 and "is for leads" in err
    # A change the CLI allows an operator, made by SQL, needs an event saying so, by them.
    told = refused(deployed, "alice", "UPDATE incidents SET title = 'db01 down' WHERE id = %s", [incident])
    assert f"incident #{incident} changed without an audit event saying so" in told
    # Nor with a hand-made event: the server checks that it extends the chain
    # (tests/store/test_pg_chain.py: one made by the recipe, extending the head, goes in).
    with psycopg.connect(deployed.libpq("alice")) as conn:
        conn.execute("UPDATE incidents SET title = 'db01 down' WHERE id = %s", [incident])
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="does not extend its chain"):
            conn.execute(
                "INSERT INTO audit_events (chain, incident_id, seq, at, actor, action, details, prev_hash, hash) "
                "SELECT 'incident:' || id, id, 1000, now(), 'servers', 'edit', json_build_object('row', "
                "json_build_object('title', title, 'status', status, 'level', level, 'category', category, "
                "'owner', owner, 'system_id', system_id))::text, 'x', 'y' FROM incidents WHERE id = %s",
                [incident],
            )
    assert row(deployed, incident).title == "db down"
    # The server remembers "not an administrator" in a session setting; setting it by hand
    # only has the caller checked, it skips nothing.
    for forged in ("", "alice in public", "on"):
        with psycopg.connect(deployed.libpq("alice")) as conn:
            conn.execute("SELECT set_config('opsdeck.not_admin', %s, false)", [forged])
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="is for leads"):
                conn.execute("UPDATE incidents SET level = 'IV' WHERE id = %s", [incident])


def test_the_server_refuses_exactly_the_transitions_the_python_rules_refuse(
    deployed: pg_server.Server, as_role: Any
) -> None:
    """The generated SQL and backend/transitions.py agree on every pair of levels."""
    incident = opened(as_role, "IV")
    levels = [level.value for level in Level]
    with psycopg.connect(deployed.libpq("postgres")) as admin, psycopg.connect(deployed.libpq("alice")) as alice:
        for before in levels:
            admin.execute("UPDATE incidents SET level = %s, status = 'reported' WHERE id = %s", [before, incident])
            admin.commit()
            for after in levels:
                try:
                    alice.execute("UPDATE incidents SET level = %s WHERE id = %s", [after, incident])
                    server_refused = False
                except psycopg.errors.InsufficientPrivilege:
                    server_refused = True
                alice.rollback()
                assert server_refused == transitions.lowers(before, after), (before, after)
            try:
                alice.execute("UPDATE incidents SET status = 'closed' WHERE id = %s", [incident])
                server_refused = False
            except psycopg.errors.InsufficientPrivilege:
                server_refused = True
            alice.rollback()
            assert server_refused == transitions.closing_needs_lead(before), before


def test_a_viewers_role_writes_nothing(deployed: pg_server.Server, as_role: Any) -> None:
    incident = opened(as_role, "III")
    with psycopg.connect(deployed.libpq("postgres")) as admin:
        tables = [
            t
            for (t,) in admin.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            if t not in pg_triggers.NOT_WRITTEN
        ]
    assert "incidents" in tables and "audit_events" in tables
    for table in tables:
        told = refused(deployed, "vic", f'UPDATE "{table}" SET {_column(deployed, table)} = NULL WHERE false')
        assert "auditor is a viewer here, and viewers change nothing" in told, table
    for table in pg_triggers.NOT_WRITTEN:
        assert "permission denied" in refused(deployed, "vic", f'DELETE FROM "{table}" WHERE false')
    refused(deployed, "vic", "UPDATE incidents SET title = 'x' WHERE id = %s", [incident])
    code, _, err = as_role("vic", "incident", "note", str(incident), "hello")
    assert code == 1 and "auditor is a viewer" in err
    # Reads stay plain SELECTs: the viewer sees the board's incidents.
    code, out, _ = as_role("vic", "incident", "list")
    assert code == 0 and "db down" in out


def _column(server: pg_server.Server, table: str) -> str:
    with psycopg.connect(server.libpq()) as conn:
        row = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            [table],
        ).fetchone()
    assert row is not None
    return f'"{row[0]}"'


def test_an_operators_role_deletes_only_what_the_service_deletes(deployed: pg_server.Server) -> None:
    """No deleting a clock, an escalation or a queued message from psql."""
    for table in ("incident_deadlines", "escalations", "outbox", "changes", "audit_heads", "incidents"):
        assert "permission denied" in refused(deployed, "alice", f'DELETE FROM "{table}" WHERE false'), table
    for table in pg_triggers.DELETABLE:
        sql(deployed, "alice", f'DELETE FROM "{table}" WHERE false')


def test_actions_are_recorded_as_the_mapped_login_and_no_one_else(deployed: pg_server.Server, as_role: Any) -> None:
    incident = opened(as_role, "III")
    code, _, err = as_role("alice", "incident", "note", str(incident), "checking the disks")
    assert code == 0, err
    store = open_store(deployed.url())
    try:
        with store.read() as session:
            actors = session.execute(
                select(col(AuditEvent.actor), col(AuditEvent.action)).where(col(AuditEvent.incident_id) == incident)
            ).all()
    finally:
        store.dispose()
    assert ("servers", "note") in actors and ("lead", "open") in actors
    # --as cannot name someone else: the role decides.
    code, _, err = as_role("alice", "--as", "lead", "incident", "note", str(incident), "as the lead")
    assert code == 1 and "you act as your database role's login" in err
    # Nor can a well-formed event written by SQL.
    told = refused(
        deployed,
        "alice",
        "INSERT INTO audit_events (chain, incident_id, seq, at, actor, action, details, prev_hash, hash) "
        "VALUES (%s, %s, 999, now(), 'lead', 'level', '{}', 'x', 'y')",
        [f"incident:{incident}", incident],
    )
    assert "alice may not write as 'lead': database role alice acts as servers" in told


def test_an_operators_role_cannot_import_the_roster_or_apply_the_policy(
    deployed: pg_server.Server, as_role: Any
) -> None:
    told = refused(deployed, "alice", "UPDATE roster_members SET permission = 'lead' WHERE login = 'servers'")
    assert "roster import is for leads" in told
    told = refused(deployed, "alice", "UPDATE policy_versions SET source = source")
    assert "policy apply is for leads" in told
    assert "contacts import is for leads" in refused(
        deployed,
        "alice",
        "INSERT INTO contacts (key, name, kind, phone, email, channels, note) "
        "VALUES ('x', 'x', 'vendor', '', '', '{}', '')",
    )
    assert "systems import is for leads" in refused(
        deployed, "alice", "INSERT INTO systems (name, maintenance_contract, description) VALUES ('x', false, '')"
    )
    sql(deployed, "postgres", "INSERT INTO alert_sources (name, kind, token_hash, created_at, created_by, accepted, "
        "rejected) VALUES ('zbx', 'json', 'h', now(), 'lead', 0, '{}')")  # fmt: skip
    told = refused(deployed, "alice", "UPDATE alert_sources SET token_hash = 'mine'")
    assert "sources add, rotate and remove is for leads" in told
    refused(deployed, "alice", "UPDATE alert_sources SET accepted = accepted + 1")
    sql(deployed, "opsdeck_worker", "UPDATE alert_sources SET accepted = accepted + 1")  # the receiver counts
    refused(deployed, "opsdeck_worker", "UPDATE alert_sources SET token_hash = 'mine'")
    # ... but may go on duty, as the CLI lets them.
    code, _, err = as_role("alice", "roster", "duty", "servers", "on")
    assert code == 0, err
    refused(deployed, "alice", "UPDATE roster_members SET on_duty = true WHERE login = 'dns'")


def test_the_workers_role_escalates_and_a_persons_role_may_not_act_as_the_worker(
    deployed: pg_server.Server, as_role: Any
) -> None:
    incident = opened(as_role, "IV")
    store = open_store(deployed.url())  # a superuser's session: moves the facts 3 h back
    back = timedelta(hours=3)
    with Session(store._write_engine) as session, session.begin():
        session.execute(delete(IncidentDeadline).where(col(IncidentDeadline.incident_id) == incident))
        found = session.get(Incident, incident)
        assert found is not None
        for name in ("reported_at", "outage_started_at", "classified_at", "level_since"):
            if getattr(found, name) is not None:
                setattr(found, name, getattr(found, name) - back)
        found.last_activity_at = found.next_due_at = found.reported_at
    code, _, err = as_role("alice", "escalate")
    assert code == 1 and "alice may not write as 'system:worker@" in err
    code, out, err = as_role("opsdeck_worker", "escalate", "--json")
    assert code == 0, err
    assert f'"incident_id": {incident}' in out
    with store.read() as session:
        actors = set(
            session.execute(
                select(col(AuditEvent.actor)).where(
                    col(AuditEvent.incident_id) == incident, col(AuditEvent.action) == "escalate"
                )
            ).scalars()
        )
    store.dispose()
    assert actors and all(a.startswith("system:worker@") for a in actors)


def test_db_check_reports_people_holding_the_owner_role_or_write_grants(
    deployed: pg_server.Server, as_role: Any
) -> None:
    code, out, _ = as_role("postgres", "db", "check")
    assert code == 0 and "alice acts as servers" in out
    sql(deployed, "postgres", "CREATE ROLE mallory LOGIN")
    sql(deployed, "postgres", "GRANT opsdeck_owner TO mallory")
    sql(deployed, "postgres", "GRANT UPDATE ON incidents TO alice")
    try:
        code, out, _ = as_role("postgres", "db", "check")
        assert code == 1
        assert "problem: mallory holds the owner role opsdeck_owner" in out
        assert "problem: alice holds UPDATE on incidents directly, besides opsdeck_members" in out
    finally:
        sql(deployed, "postgres", "REVOKE UPDATE ON incidents FROM alice")
        sql(deployed, "postgres", "DROP ROLE mallory")


def test_an_unmapped_role_is_told_how_to_be_mapped(deployed: pg_server.Server, as_role: Any) -> None:
    sql(deployed, "postgres", "CREATE ROLE eve LOGIN IN ROLE opsdeck_members")
    deployed.set_password("eve", "pw-eve")
    try:
        code, _, err = as_role("eve", "incident", "list")
        assert code == 1 and "database role eve is not mapped to a roster login" in err
        assert "opsdeck db roles add eve LOGIN" in err
        assert "not mapped" in refused(deployed, "eve", "UPDATE incidents SET title = 'x'")
    finally:
        sql(deployed, "postgres", "DROP ROLE eve")


def test_the_workers_role_may_record_as_its_receiver_and_the_receivers_role_not_as_the_worker(
    deployed: pg_server.Server,
) -> None:
    """A worker with `[receive] listen` runs the receiver, which records as system:receiver."""
    deployed.set_password("opsdeck_receiver", "pw-receiver")
    insert = (
        "INSERT INTO changes (seq, at, entity, entity_id, action, actor) VALUES (-1, now(), 'system', '0', 'probe', %s)"
    )
    with psycopg.connect(deployed.libpq("opsdeck_worker")) as worker:
        worker.execute(insert, ["system:worker@probe1"])
        worker.rollback()
        worker.execute(insert, ["system:receiver@probe1"])
        worker.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            worker.execute(insert, ["servers"])
    told = refused(deployed, "opsdeck_receiver", insert, ["system:worker@probe1"])
    assert "database role opsdeck_receiver acts as system:receiver" in told


def test_mapping_a_role_is_audited_and_removing_it_locks_it_out(deployed: pg_server.Server, as_role: Any) -> None:
    sql(deployed, "postgres", "CREATE ROLE dana LOGIN")
    deployed.set_password("dana", "pw-dana")
    try:
        code, out, err = as_role("postgres", "db", "roles", "add", "dana", "dns")
        assert code == 0 and "database role dana acts as dns" in out, err
        code, out, err = as_role("dana", "incident", "open", "--title", "dns slow", "--json")
        assert code == 0, err
        code, out, err = as_role("postgres", "db", "roles", "remove", "dana")
        assert code == 0 and "no longer mapped" in out, err
        code, _, err = as_role("dana", "incident", "open", "--title", "again")
        assert code == 1 and "database role dana is not mapped" in err
        code, out, _ = as_role("postgres", "db", "roles", "init")
        assert code == 0 and "everything was in place already" in out
        store = open_store(deployed.url())
        try:
            with store.read() as session:
                events = session.execute(
                    select(col(AuditEvent.action), col(AuditEvent.details)).where(
                        col(AuditEvent.action).in_(["roles.add", "roles.remove"])
                    )
                ).all()
        finally:
            store.dispose()
        said = [(action, details) for action, details in events if '"dana"' in details]
        assert [a for a, _ in said] == ["roles.add", "roles.remove"]
        assert all('"login":"dns"' in d.replace(" ", "") for _, d in said)
    finally:
        sql(deployed, "postgres", "DROP OWNED BY dana")
        sql(deployed, "postgres", "DROP ROLE dana")


def test_roles_are_for_postgresql(cli: CLI, sqlite_url: str) -> None:
    code, _, err = cli("--db", sqlite_url, "db", "roles", "init")
    assert code == 2 and "database roles are for PostgreSQL stores; this one is SQLite" in err
    code, out, _ = cli("--db", sqlite_url, "db", "check")
    assert code == 0 and "the OS decides who writes" in out


def test_an_operators_day_through_the_cli_passes_every_check(deployed: pg_server.Server, as_role: Any) -> None:
    """What the CLI lets an operator do, the server lets their role do: each step exits 0."""
    code, out, err = as_role("alice", "incident", "open", "--title", "web slow", "--json")
    assert code == 0, err
    import json

    incident = str(json.loads(out)["id"])
    steps = [
        ("incident", "ack", incident),
        ("incident", "classify", incident, "--category", "server_fault", "--level", "IV"),
        ("incident", "level", incident, "--level", "III", "--reason", "more users"),
        ("incident", "assign", incident, "servers"),
        ("incident", "note", incident, "restarted the pool"),
        ("incident", "resolve", incident, "--resolution", "pool restarted"),
        ("incident", "close", incident, "--false-alarm", "--reason", "a load test"),
        ("roster", "duty", "servers", "off"),
    ]
    for step in steps:
        code, _, err = as_role("alice", *step)
        assert code == 0, (step, err)
    _, out, _ = as_role("vic", "audit", "verify")  # other tests' forged events are named; not this one's
    assert f"incident:{incident} " not in out and f"incident {incident}:" not in out, out


def test_an_upgrade_brings_a_new_table_under_the_checks(deployed: pg_server.Server, as_role: Any) -> None:
    """What a later migration creates is owned, granted and checked when the upgrade ends
    (backend/schema.py runs pg_roles.after_upgrade in the upgrade's transaction)."""
    from opsdeck.backend import pg_roles

    sql(deployed, "postgres", "CREATE TABLE later_things (id integer PRIMARY KEY, note text)")
    try:
        code, out, _ = as_role("postgres", "db", "check")
        assert code == 1 and "problem: postgres owns table later_things" in out
        store = open_store(deployed.url())
        with store._write_engine.begin() as conn:
            pg_roles.after_upgrade(conn)
        store.dispose()
        code, out, _ = as_role("postgres", "db", "check")
        assert code == 0, out
        assert "viewers change nothing" in refused(deployed, "vic", "INSERT INTO later_things VALUES (1, 'x')")
        sql(deployed, "alice", "INSERT INTO later_things VALUES (1, 'x')")
    finally:
        sql(deployed, "postgres", "DROP TABLE later_things")


def test_the_workers_role_takes_in_probe_results_and_opens_an_incident(
    deployed: pg_server.Server, as_role: Any, tmp_path: Any
) -> None:
    """Ingest opens incidents inside a savepoint: the checks hold there too."""
    spool = tmp_path / "spool"
    spool.mkdir()
    for run in range(3):
        (spool / "pg-roles-ping.out").write_text(f"PING CRITICAL - 100% loss (run {run})\n")
        (spool / "pg-roles-ping.rc").write_text("2\n")
        code, _, err = as_role("opsdeck_worker", "ingest", "--spool", str(spool), "--once")
        assert code == 0, err
    store = open_store(deployed.url())
    try:
        with store.read() as session:
            opened = session.execute(
                select(col(Incident.id), col(Incident.reporter)).where(col(Incident.title).startswith("pg-roles-ping"))
            ).all()
    finally:
        store.dispose()
    assert len(opened) == 1 and opened[0][1].startswith("system:worker@")
    (spool / "pg-roles-ping.out").write_text("PING CRITICAL - 100% loss (alice)\n")
    (spool / "pg-roles-ping.rc").write_text("2\n")
    code, out, err = as_role("alice", "ingest", "--spool", str(spool), "--once")
    assert "alice may not write as 'system:worker@" in out + err


def test_the_receivers_role_takes_in_an_alert_and_the_leads_role_added_its_source(
    deployed: pg_server.Server, tmp_path: Any
) -> None:
    from ..receive_helpers import add_source, am_alert, am_body, running

    deployed.set_password("opsdeck_receiver", "pw-receiver")
    as_lead, as_receiver = open_store(deployed.url("boss")), open_store(deployed.url("opsdeck_receiver"))
    try:
        with pytest.raises(Exception, match="sources add, rotate and remove is for leads"):
            add_source(as_receiver, "promx", "alertmanager")  # the receiver's role adds no source
        token = add_source(as_lead, "promx", "alertmanager")
        with running(as_receiver, tmp_path) as rx:
            took = rx.post("/sources/promx", am_body(am_alert(instance="pg-roles:9100")), token)
        assert took.status_code == 200 and took.json()["alerts"] == 1, took.text
        with as_lead.read() as session:
            reporters = session.execute(
                select(col(Incident.reporter)).where(col(Incident.title).contains("pg-roles:9100"))
            ).scalars()
            assert [r.split("@")[0] for r in reporters] == ["system:receiver"]
    finally:
        as_lead.dispose()
        as_receiver.dispose()
