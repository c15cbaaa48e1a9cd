"""The audit trail: append-only in the database, one hash chain per incident, and
`audit verify` names the first edited, removed or reordered event."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from opsdeck.backend.audit import verify
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from .. import pg_roles_mode

# Also with database roles on, each write as its actor's role (tests/pg_roles_mode.py).
pytestmark = pytest.mark.pg_roles

As = Callable[[str], Service]


def history(as_: As) -> int:
    incident = as_("servers").open("Payment run failed")
    assert incident.id is not None
    as_("servers").classify(incident.id, category="software_fault", level="IV")
    as_("servers").note(incident.id, "looking at the logs")
    as_("servers").resolve(incident.id, resolution="config rolled back")
    return incident.id


def problems(store: Store) -> list:
    with store.read() as session:
        return verify(session)[2]


def tamper(store: Store, *statements: str) -> None:
    """What someone with write access to the database file could do: drop the guard first."""
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        for statement in statements:
            conn.execute(text(statement))


def test_an_untouched_store_verifies(seeded: Store, as_: As) -> None:
    history(as_)
    with seeded.read() as session:
        chains, events, found = verify(session)
    assert found == []
    assert chains == 2  # the system chain (seed, imports) and the incident's
    allow_as = 1 if seeded.dialect == "postgresql" else 0  # tests/conftest.py allow_as_on_postgresql
    roles = pg_roles_mode.INIT_EVENTS if isinstance(seeded, pg_roles_mode.RoleStore) else 0
    assert events == 4 + 4 + allow_as + roles  # policy seed + 3 imports, and open/classify/note/resolve


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"])
def test_the_database_refuses_to_change_audit_rows(seeded: Store, as_: As, statement: str) -> None:
    history(as_)
    with pytest.raises(DBAPIError, match="append-only"), seeded.engine.begin() as conn:
        conn.execute(text(statement))
    assert problems(seeded) == []


def test_an_edited_event_is_named(seeded: Store, as_: As) -> None:
    incident_id = history(as_)
    tamper(
        seeded,
        f'UPDATE audit_events SET details = \'{{"text":"nothing to see"}}\' '
        f"WHERE chain = 'incident:{incident_id}' AND seq = 3",
    )
    [found] = problems(seeded)
    assert found.problem == "edited" and found.seq == 3 and found.chain == f"incident:{incident_id}"
    assert "event #3" in found.message and "note" in found.message


def test_a_removed_event_is_named(seeded: Store, as_: As) -> None:
    incident_id = history(as_)
    tamper(seeded, f"DELETE FROM audit_events WHERE chain = 'incident:{incident_id}' AND seq = 2")
    [found] = problems(seeded)
    assert found.problem == "removed" and found.seq == 2
    assert "#2 was removed" in found.message


def test_a_removed_last_event_is_caught_by_the_chain_head(seeded: Store, as_: As) -> None:
    incident_id = history(as_)
    tamper(seeded, f"DELETE FROM audit_events WHERE chain = 'incident:{incident_id}' AND seq = 4")
    [found] = problems(seeded)
    assert found.problem == "removed" and "ends at #3" in found.message


def test_reordered_events_are_named(seeded: Store, as_: As) -> None:
    incident_id = history(as_)
    chain = f"incident:{incident_id}"
    # Swap two events' positions, re-hashing nothing: the links no longer match.
    tamper(
        seeded,
        f"UPDATE audit_events SET seq = -2 WHERE chain = '{chain}' AND seq = 2",
        f"UPDATE audit_events SET seq = 2 WHERE chain = '{chain}' AND seq = 3",
        f"UPDATE audit_events SET seq = 3 WHERE chain = '{chain}' AND seq = -2",
    )
    [found] = problems(seeded)
    assert found.seq == 2 and found.problem in ("edited", "reordered")


def test_chains_are_independent(seeded: Store, as_: As) -> None:
    first = history(as_)
    second = history(as_)
    tamper(seeded, f"DELETE FROM audit_events WHERE chain = 'incident:{first}' AND seq = 1")
    found = problems(seeded)
    assert [p.chain for p in found] == [f"incident:{first}"]
    assert f"incident:{second}" not in {p.chain for p in found}


def test_audit_verify_cli_exits_1_naming_the_event(sqlite_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.backend.schema import open_store

    from ..conftest import demo_fixture

    assert cli("--db", sqlite_url, "roster", "import", str(demo_fixture("roster.toml")))[0] == 0
    code, out, _ = cli("--db", sqlite_url, "--as", "servers", "incident", "open", "--title", "x")
    incident_id = int(out)
    cli("--db", sqlite_url, "--as", "servers", "incident", "note", out.strip(), "first")
    assert cli("--db", sqlite_url, "audit", "verify")[0] == 0
    store = open_store(sqlite_url)
    tamper(store, f"UPDATE audit_events SET actor = 'ghost' WHERE chain = 'incident:{incident_id}' AND seq = 2")
    store.dispose()
    code, out, err = cli("--db", sqlite_url, "audit", "verify")
    assert code == 1
    assert f"incident:{incident_id} event #2" in out and "was edited" in out
    assert err.startswith("opsdeck: error: ") and err.count("\n") == 1
