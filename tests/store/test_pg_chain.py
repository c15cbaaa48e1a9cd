"""The server keeps the audit chain on a store whose database roles are on (#15,
backend/pg_chain.py): an operator's role writing SQL as an attacker would, with the
published recipe in hand. Hand-made events with a wrong seq, a wrong prev_hash, a wrong
hash, another person as actor, another incident's chain or an earlier date are each
refused by the server with a message saying why; events and the change feed are never
updated; a chain head names its newest event only; and `audit verify` stays intact."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from opsdeck.backend import audit, pg_chain

from .. import pg_deployed, pg_server

sql, refused = pg_deployed.sql, pg_deployed.refused
INSERT = (
    "INSERT INTO audit_events (chain, incident_id, seq, at, actor, action, details, prev_hash, hash) "
    "VALUES (%(chain)s, %(incident_id)s, %(seq)s, %(at)s, %(actor)s, %(action)s, %(details)s, %(prev_hash)s, %(hash)s)"
)
AWKWARD = [
    "plain",
    'a "quote" and a \\ backslash',
    "".join(chr(c) for c in range(1, 0x20)) + "\x7f",
    "中文 😀 \u2028\u2029 é",
    '{"row":{"title":"x"}}',
]


@pytest.mark.postgres
def test_the_servers_recipe_is_the_audit_recipe(pg_url: str) -> None:
    """The SQL copy of the hash (the migration creates it) and backend/audit.py agree on
    awkward text, on times with and without a fraction, whatever the session's zone."""
    from opsdeck.backend.schema import open_store

    open_store(pg_url).dispose()
    libpq = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        conn.execute("SET TIME ZONE 'Asia/Shanghai'")
        for text in AWKWARD:
            for at in (datetime(2026, 11, 28, 3, 0, tzinfo=UTC), datetime(2026, 11, 28, 3, 0, 0, 120, tzinfo=UTC)):
                for incident_id in (None, 42):
                    fields = dict(
                        chain=f"incident:{text}",
                        seq=7,
                        at=at,
                        actor=text,
                        action=text[:40],
                        incident_id=incident_id,
                        details=text,
                        prev_hash=text,
                    )
                    row = conn.execute(
                        "SELECT opsdeck_event_hash(%s, %s, %s, %s, %s, %s, %s, %s)",
                        [fields[name] for name in audit.HASHED_FIELDS],
                    ).fetchone()
                    assert row is not None and row[0] == audit.event_hash(**fields), (text, at, incident_id)  # type: ignore[arg-type]


def _opened(as_role: Callable[..., Any]) -> int:
    code, out, err = as_role("alice", "incident", "open", "--title", "disk full", "--json")
    assert code == 0, err
    return int(json.loads(out)["id"])


def _head(server: pg_server.Server, chain: str) -> tuple[int, str, datetime]:
    with psycopg.connect(server.libpq("alice")) as conn:
        row = conn.execute(
            "SELECT h.seq, h.hash, e.at FROM audit_heads h JOIN audit_events e ON e.chain = h.chain AND e.seq = h.seq "
            "WHERE h.chain = %s",
            [chain],
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def _event(
    server: pg_server.Server, incident: int, hashed: dict[str, Any] | None = None, after: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A note on `incident` by servers (alice's login), made by the recipe to extend the
    head; `hashed` changes fields before the hash is computed, `after` once it is."""
    chain = f"incident:{incident}"
    seq, prev, _ = _head(server, chain)
    with psycopg.connect(server.libpq("alice")) as conn:
        said = conn.execute("SELECT details FROM audit_events WHERE chain = %s AND seq = %s", [chain, seq]).fetchone()
    assert said is not None
    row = json.loads(said[0])["row"]
    event: dict[str, Any] = {
        "chain": chain,
        "incident_id": incident,
        "seq": seq + 1,
        "at": datetime.now(UTC),
        "actor": "servers",
        "action": "note",
        "details": audit.canonical_json({"text": "by hand", "row": row}),
        "prev_hash": prev,
    }
    event.update(hashed or {})
    event["hash"] = audit.event_hash(**{name: event[name] for name in audit.HASHED_FIELDS})
    event.update(after or {})
    return event


def _verified(as_role: Callable[..., Any]) -> None:
    code, out, err = as_role("vic", "audit", "verify")
    assert code == 0, out + err


def test_an_event_made_by_the_recipe_goes_in_and_the_server_moves_the_head(
    deployed: pg_server.Server, as_role: Any
) -> None:
    """What the recipe says is what the server checks: an operator's own note, written by
    SQL with the right seq, prev_hash and hash, is a sound link; the server moves the head."""
    incident = _opened(as_role)
    event = _event(deployed, incident)
    with psycopg.connect(deployed.libpq("alice")) as conn:
        conn.execute(INSERT, event)  # no UPDATE of audit_heads: the server moves it
    assert _head(deployed, f"incident:{incident}")[:2] == (event["seq"], event["hash"])
    _verified(as_role)
    code, out, err = as_role("alice", "incident", "note", str(incident), "after the hand-made one")
    assert code == 0, err  # the service extends the chain from the moved head
    _verified(as_role)


@pytest.mark.parametrize(
    ("hashed", "after", "said"),
    [
        ({"prev_hash": "0" * 64}, {}, "does not extend its chain: its prev_hash '0000000000000000' is not the hash"),
        ({"seq": 1000}, {}, "does not extend its chain: the chain's newest event is #"),
        ({}, {"hash": "f" * 64}, "its hash 'ffffffffffffffff' is not the audit recipe's hash of its fields"),
        ({}, {"details": '{"text":"edited after hashing"}'}, "is not the audit recipe's hash of its fields"),
        ({"at": datetime(2026, 1, 1, tzinfo=UTC)}, {}, "times never go back within a chain"),
        ({"actor": "lead"}, {}, "alice may not write as 'lead': database role alice acts as servers"),
        ({"at": "10 minutes from when the test runs"}, {}, "after the server's time"),
    ],
    ids=[
        "wrong-prev-hash",
        "wrong-seq",
        "wrong-hash",
        "edited-after-hashing",
        "back-dated",
        "actor-spoofed",
        "future-dated",
    ],
)
def test_a_forged_event_is_refused_with_why_and_the_trail_stays_intact(
    deployed: pg_server.Server, as_role: Any, hashed: dict[str, Any], after: dict[str, Any], said: str
) -> None:
    if hashed.get("at") == "10 minutes from when the test runs":  # not from collection: a long run passes it
        hashed = {"at": datetime.now(UTC) + timedelta(minutes=10)}
    incident = _opened(as_role)
    before = _head(deployed, f"incident:{incident}")
    told = refused(deployed, "alice", INSERT, _event(deployed, incident, hashed, after))
    assert said in told
    assert "append events through opsdeck" in told or "act as yourself" in told
    assert _head(deployed, f"incident:{incident}") == before
    _verified(as_role)


def test_an_event_dated_between_the_chains_newest_and_its_own_transaction_is_refused(
    deployed: pg_server.Server, as_role: Any
) -> None:
    """Times never go back within a chain, and no further than the write itself: an
    operator who comes back to an incident cannot date a note (or a fact and its clock)
    into the quiet time since its newest event, to make a deadline look met."""
    incident = _opened(as_role)
    _, _, newest = _head(deployed, f"incident:{incident}")
    time.sleep(pg_chain.FUTURE_SKEW_SECONDS + 1.5)
    before = _head(deployed, f"incident:{incident}")
    told = refused(deployed, "alice", INSERT, _event(deployed, incident, {"at": newest + timedelta(seconds=1)}))
    assert "before its transaction began" in told and "an event is dated when it is written" in told
    assert _head(deployed, f"incident:{incident}") == before
    _verified(as_role)


def test_an_event_on_another_chain_cannot_vouch_for_an_incident(deployed: pg_server.Server, as_role: Any) -> None:
    """An event naming incident A on the system chain (or B's) would make A's newest `row`."""
    incident = _opened(as_role)
    seq, prev, _ = _head(deployed, audit.SYSTEM_CHAIN)
    event = {
        "chain": audit.SYSTEM_CHAIN,
        "incident_id": incident,
        "seq": seq + 1,
        "at": datetime.now(UTC),
        "actor": "servers",
        "action": "edit",
        "details": audit.canonical_json({"row": {"title": "renamed quietly"}}),
        "prev_hash": prev,
    }
    event["hash"] = audit.event_hash(**{name: event[name] for name in audit.HASHED_FIELDS})
    told = refused(deployed, "alice", INSERT, event)
    assert f"an audit event on chain system names incident #{incident}" in told
    _verified(as_role)


def test_events_and_the_feed_are_never_updated_and_a_head_names_its_newest_event(
    deployed: pg_server.Server, as_role: Any
) -> None:
    incident = _opened(as_role)
    code, _, err = as_role("alice", "incident", "note", str(incident), "a second event")
    assert code == 0, err
    chain = f"incident:{incident}"
    told = refused(deployed, "alice", "UPDATE audit_events SET details = '{}' WHERE chain = %s", [chain])
    assert "audit_events is only appended to" in told
    assert "changes is only appended to" in refused(deployed, "alice", "UPDATE changes SET actor = 'lead'")
    seq, digest, _ = _head(deployed, chain)
    for statement, params in (
        ("UPDATE audit_heads SET seq = seq + 1, hash = %s WHERE chain = %s", ["e" * 64, chain]),  # a made-up next
        ("UPDATE audit_heads SET chain = 'incident:0' WHERE chain = %s", [chain]),
        ("INSERT INTO audit_heads (chain, seq, hash) VALUES ('incident:0', 5, %s)", ["a" * 64]),
    ):
        assert "names an event of its chain, not #" in refused(deployed, "alice", statement, params), statement
    back = "UPDATE audit_heads h SET seq = e.seq, hash = e.hash FROM audit_events e WHERE e.chain = h.chain AND e.seq = 1 AND h.chain = %s"
    told = refused(deployed, "alice", back, [chain])  # back to a real, older event: hides the newest
    assert f"the head of chain {chain} names its newest audit event (#{seq}), not #1" in told
    assert _head(deployed, chain)[:2] == (seq, digest)
    # Viewers, as before, write nothing at all.
    assert "viewers change nothing" in refused(deployed, "vic", INSERT, _event(deployed, incident))
    _verified(as_role)


def test_two_roles_racing_to_extend_one_chain_leave_it_whole(deployed: pg_server.Server, as_role: Any) -> None:
    """The server locks the head: of two hand-made events both following the same head,
    the second to commit is refused, not a fork."""
    incident = _opened(as_role)
    first = _event(deployed, incident)
    second = _event(deployed, incident, {"at": first["at"] + timedelta(microseconds=1)})
    with psycopg.connect(deployed.libpq("alice")) as one:
        one.execute(INSERT, first)
        other = psycopg.connect(deployed.libpq("alice"))
        try:
            other.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(INSERT, second)  # waits for the head `one` holds
            other.rollback()
        finally:
            other.close()
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="does not extend its chain"):
        sql(deployed, "alice", INSERT, second)
    _verified(as_role)


# -- the outbox: a person's role cannot hold a message back (backend/pg_outbox.py) --------

QUEUE = (
    "INSERT INTO outbox (created_at, incident_id, event, recipient_kind, recipient, channel, payload, "
    "idempotency_key, state, attempts, next_attempt_at) VALUES (now(), NULL, 'opened', 'member', 'lead', NULL, "
    "'{}', %s, %s, 0, %s) RETURNING id"
)


def _queued(server: pg_server.Server, role: str, key: str, state: str = "pending", due: str = "now()") -> int:
    with psycopg.connect(server.libpq(role)) as conn:
        row = conn.execute(QUEUE.replace("%s) RETURNING", f"{due}) RETURNING"), [key, state]).fetchone()
        conn.commit()
    assert row is not None
    return int(row[0])


def test_an_operators_role_cannot_hold_a_message_back(deployed: pg_server.Server, as_role: Any) -> None:
    deployed.set_password("opsdeck_worker", "pw-opsdeck_worker")
    message = _queued(deployed, "alice", "hold-1")  # queued pending, due at once: as the service does
    for statement in (
        "UPDATE outbox SET next_attempt_at = now() + interval '1 year' WHERE id = %s",
        "UPDATE outbox SET state = 'dead', last_error = 'gave up' WHERE id = %s",
        "UPDATE outbox SET state = 'sending', lease_owner = 'me', lease_until = now() + interval '1 day' WHERE id = %s",
    ):
        told = refused(deployed, "alice", statement, [message])
        assert f"notification #{message} (pending) is changed by the sender, not by servers" in told, statement
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="queued pending and due at once"):
        _queued(deployed, "alice", "hold-2", due="now() + interval '1 year'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="queued pending and due at once"):
        _queued(deployed, "alice", "hold-3", state="sent")
    # The sender's own work is the sender's.
    sql(deployed, "opsdeck_worker", "UPDATE outbox SET state = 'dead', last_error = 'gave up' WHERE id = %s", [message])
    # A retry with no event saying so is refused at commit; `opsdeck notify retry` passes.
    told = refused(
        deployed, "alice", "UPDATE outbox SET state = 'pending', next_attempt_at = now() WHERE id = %s", [message]
    )
    assert f"notification #{message} was put back in the queue without an audit event saying so" in told
    code, _, err = as_role("alice", "notify", "retry", str(message))
    assert code == 0, err
    with psycopg.connect(deployed.libpq("alice")) as conn:
        row = conn.execute("SELECT state FROM outbox WHERE id = %s", [message]).fetchone()
    assert row is not None and row[0] == "pending"
    _verified(as_role)
