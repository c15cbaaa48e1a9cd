"""The audit vouches for the rows: events carry the values they set (personal data as a
keyed digest), an upgrade writes a baseline, and `audit verify` names every row that
differs from what its events say."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock, demo_fixture

PHONE = "+86 10 5550 0101"  # web's, in the demo roster


def edit(store: Store, statement: str) -> None:
    """A group member with sqlite3 (or psql) on the store: rows changed, no event."""
    with store.engine.begin() as conn:
        conn.execute(text(statement))


def verify(cli, store_url: str) -> tuple[int, dict, str]:  # type: ignore[no-untyped-def]
    code, out, err = cli("--db", store_url, "audit", "verify", "--json")
    return code, json.loads(out), err


def test_an_untouched_store_verifies_rows_too(seeded: Store, store_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    incident = Service(seeded, "servers").open("Payment API down", level="II", category="server_fault")
    Service(seeded, "lead").assign(incident.id, "web")  # type: ignore[arg-type]
    code, data, _ = verify(cli, store_url)
    assert code == 0 and data["rows"] == [], data


def test_a_permission_edited_outside_opsdeck_is_named(seeded: Store, store_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    edit(seeded, "UPDATE roster_members SET permission = 'lead' WHERE login = 'web'")
    code, data, err = verify(cli, store_url)
    assert code == 1
    assert [r["message"] for r in data["rows"]] == ["roster member web: permission is lead, the trail says operator"]
    assert "roster member web: permission is lead, the trail says operator" in err
    code, out, _ = cli("--db", store_url, "audit", "verify")
    assert code == 1 and "BROKEN roster member web: permission is lead, the trail says operator" in out


def test_an_incident_edited_outside_opsdeck_is_named(seeded: Store, store_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    incident = Service(seeded, "servers").open("Payment API down", level="II", category="server_fault")
    edit(seeded, f"UPDATE incidents SET level = 'IV', status = 'closed' WHERE id = {incident.id}")
    code, data, _ = verify(cli, store_url)
    assert code == 1
    assert sorted(r["message"] for r in data["rows"]) == [
        f"incident {incident.id}: level is IV, the trail says II",
        f"incident {incident.id}: status is closed, the trail says acknowledged",
    ]
    edit(seeded, "INSERT INTO incidents (title, description, status, category, reporter, version, updated_at, "
         "updated_by, reported_at, policy_version) SELECT 'ghost', '', status, category, "
         f"reporter, 1, updated_at, updated_by, reported_at, policy_version "
         f"FROM incidents WHERE id = {incident.id}")  # fmt: skip
    code, data, _ = verify(cli, store_url)
    assert any("no event vouches for it" in r["message"] for r in data["rows"])


def test_events_carry_what_they_set_and_personal_data_only_as_a_digest(seeded: Store, store_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("--db", store_url, "audit", "show", "system", "--json")
    [imported] = [e for e in json.loads(out) if e["action"] == "roster_import"]
    web = imported["details"]["roster_rows"]["web"]
    assert (web["permission"], web["duties"]) == ("operator", ["web"])
    assert web["phone"].startswith("hmac-sha256:") and web["email"].startswith("hmac-sha256:")
    assert PHONE not in out and "web@example.org" not in out
    edit(seeded, "UPDATE roster_members SET phone = '+86 10 0000 0000' WHERE login = 'web'")
    code, data, _ = verify(cli, store_url)
    assert [r["message"] for r in data["rows"]] == [
        "roster member web: phone differs from the trail (kept as a digest)"
    ]
    assert "0000" not in json.dumps(data)


def test_a_policy_edited_in_place_is_named(seeded: Store, store_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    edit(seeded, "UPDATE policy_versions SET source = source")  # harmless: nothing to say
    assert verify(cli, store_url)[0] == 0
    with seeded.read() as session:
        document = session.execute(text("SELECT document FROM policy_versions WHERE version = 1")).scalar_one()
    loaded = json.loads(document) if isinstance(document, str) else document
    loaded["deadlines"]["rule"] = loaded["deadlines"]["rule"][1:]
    with seeded.engine.begin() as conn:
        conn.execute(text("UPDATE policy_versions SET document = :d WHERE version = 1"), {"d": json.dumps(loaded)})
    code, data, _ = verify(cli, store_url)
    assert [r["message"] for r in data["rows"]] == [
        "the policy: version 1 was edited outside opsdeck: its document differs from the trail"
    ]


def test_an_upgrade_writes_one_baseline_event_per_row(store_url: str, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """A store from before 0013, with people and an incident: the upgrade vouches for
    every row as it found it, and later edits outside opsdeck are named."""
    from alembic import command
    from sqlalchemy import create_engine

    from opsdeck.backend import schema

    if store_url.startswith("sqlite"):
        (tmp_path / "store").mkdir(exist_ok=True)
    engine = create_engine(store_url)
    with engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), "0018")  # the revision before 0013
    engine.dispose()
    _fill_before_0013(store_url)
    store = open_store(store_url, clock=FakeClock(), upgrade=True)  # `opsdeck db upgrade` on PostgreSQL
    try:
        with store.read() as session:
            baseline = session.execute(
                text("SELECT chain, action, details FROM audit_events WHERE action LIKE '%baseline' ORDER BY id")
            ).all()
        kinds = sorted((chain.split(":")[0], action) for chain, action, _ in baseline)
        assert (
            kinds == [("incident", "baseline")] + [("system", "policy_baseline")] + [("system", "roster_baseline")] * 6
        )
        assert all(PHONE not in details for _, _, details in baseline)
        assert verify(cli, store_url)[0] == 0
        edit(store, "UPDATE roster_members SET permission = 'lead' WHERE login = 'servers'")
        code, data, _ = verify(cli, store_url)
        assert [r["message"] for r in data["rows"]] == [
            "roster member servers: permission is lead, the trail says operator"
        ]
    finally:
        store.dispose()


def _fill_before_0013(store_url: str) -> None:
    """Rows as an opsdeck before 0013 left them: the roster and one incident, written at
    the schema before 0013 (the events then carried no values)."""
    from sqlalchemy import create_engine

    engine = create_engine(store_url)
    roster = demo_fixture("roster.toml")
    import tomllib

    members = tomllib.loads(roster.read_text("utf-8"))["member"]
    with engine.begin() as conn:
        for m in members:
            conn.execute(
                text(
                    "INSERT INTO roster_members (login, name, permission, duties, phone, email, on_duty, channels, "
                    "demo, lang) VALUES (:login, :name, :permission, :duties, :phone, :email, false, '{}', true, '')"
                ),
                {
                    **{k: m.get(k, "") for k in ("login", "name", "permission", "phone", "email")},
                    "duties": json.dumps(m["duties"]),
                },
            )
        conn.execute(
            text(
                "INSERT INTO incidents (title, description, status, category, level, reporter, version, updated_at, "
                "updated_by, reported_at, policy_version) VALUES ('Core switch down', '', 'reported', "
                "'network_fault', 'III', 'servers', 1, '2026-03-01 09:00:00', 'servers', "
                "'2026-03-01 09:00:00', 1)"
            )
        )
    engine.dispose()
