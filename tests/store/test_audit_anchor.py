"""Audit evidence and anchors: an incident's trail exported as JSON that anyone can
re-check without opsdeck, and a one-line anchor that catches what `verify` cannot, a
trail rewritten with every later hash recomputed."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from opsdeck.backend.audit import anchor, check_anchor, export_trail, verify
from opsdeck.backend.errors import ErrorKind, InvalidInput, NotFound
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock, demo_fixture

# Also with database roles on, each write as its actor's role (tests/pg_roles_mode.py).
pytestmark = pytest.mark.pg_roles

As = Callable[[str], Service]

HASHED = ("chain", "seq", "at", "actor", "action", "incident_id", "details", "prev_hash")
NOTE = 'Überlast im Zahlungslauf — „Batch 7“ hängt\nzweite Zeile, "zitiert", Backslash \\ und Tab\t. 支付'
TOKEN = re.compile(r"opsdeck-anchor-1:(\d+):([0-9a-f]{64})")


def history(as_: As, note: str = NOTE) -> int:
    incident = as_("servers").open("Payment run failed")
    assert incident.id is not None
    as_("servers").classify(incident.id, category="software_fault", level="IV")
    as_("servers").note(incident.id, note)
    as_("servers").resolve(incident.id, resolution="config rolled back")
    return incident.id


def sha256_json(value: Any) -> str:
    """The recipe `how_to_check` gives, written out here instead of calling opsdeck."""
    body = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def recheck(export: dict[str, Any]) -> list[str]:
    """What an auditor without opsdeck does with an export: recompute every link."""
    found: list[str] = []
    seq, prev = 0, "0" * 64
    for event in export["events"]:
        if sha256_json({k: event[k] for k in HASHED}) != event["hash"]:
            found.append(f"#{event['seq']} hash")
        if event["seq"] != seq + 1:
            found.append(f"#{event['seq']} seq")
        if event["prev_hash"] != prev:
            found.append(f"#{event['seq']} prev_hash")
        seq, prev = event["seq"], event["hash"]
    if export["head"] != {"seq": seq, "hash": prev}:
        found.append("head")
    return found


def tamper(store: Store, *statements: tuple[str, dict[str, Any]]) -> None:
    """Someone with write access to the database: drop the guard, then change rows."""
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        for statement, params in statements:
            conn.execute(text(statement), params)


def rewrite(store: Store, incident_id: int, seq: int, details: dict[str, Any]) -> None:
    """A wholesale rewrite: new details for event #seq, then every later hash and the
    chain head recomputed, so each link agrees again."""
    with store.read() as session:
        events = export_trail(session, incident_id)["events"]
    statements: list[tuple[str, dict[str, Any]]] = []
    prev = events[seq - 2]["hash"] if seq > 1 else "0" * 64
    for event in events[seq - 1 :]:
        if event["seq"] == seq:
            event["details"] = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        event["prev_hash"] = prev
        event["hash"] = prev = sha256_json({k: event[k] for k in HASHED})
        statements.append(
            (
                "UPDATE audit_events SET details = :details, prev_hash = :prev_hash, hash = :hash WHERE id = :id",
                {k: event[k] for k in ("details", "prev_hash", "hash", "id")},
            )
        )
    statements.append(
        (
            "UPDATE audit_heads SET seq = :seq, hash = :hash WHERE chain = :chain",
            {"seq": events[-1]["seq"], "hash": prev, "chain": f"incident:{incident_id}"},
        )
    )
    tamper(store, *statements)


def verify_messages(store: Store) -> list[str]:
    with store.read() as session:
        return [p.message for p in verify(session)[2]]


def take_anchor(store: Store) -> str:
    with store.read() as session:
        return anchor(session)


def check(store: Store, token: str) -> list[str]:
    with store.read() as session:
        return check_anchor(session, token)


def export(store: Store, incident_id: int) -> dict[str, Any]:
    with store.read() as session:
        data = export_trail(session, incident_id)
    return json.loads(json.dumps(data))  # what a third party reads back from the file


def anchored_id(token: str) -> int:
    match = TOKEN.fullmatch(token)
    assert match, token
    return int(match.group(1))


# -- export ------------------------------------------------------------------------------


def test_an_export_is_evidence_a_third_party_can_recheck(seeded: Store, as_: As) -> None:
    first = history(as_)
    other = history(as_, note="someone else's incident")
    data = export(seeded, first)
    assert data["format"] == "opsdeck-audit-export/1"
    assert data["chain"] == f"incident:{first}" and data["incident_id"] == first
    assert data["verified"] is True and data["problems"] == []
    assert [e["action"] for e in data["events"]] == ["open", "classify", "note", "resolve"]
    assert {e["chain"] for e in data["events"]} == {f"incident:{first}"}
    note = data["events"][2]
    assert isinstance(note["details"], str) and json.loads(note["details"])["text"] == NOTE
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", e["at"]) for e in data["events"])
    assert data["head"] == {"seq": 4, "hash": data["events"][-1]["hash"]}
    assert recheck(data) == []
    for field in (*HASHED, "sha256", "sort", "prev_hash", "64 zeros", "head"):
        assert field.lower() in data["how_to_check"].lower()
    assert export(seeded, other)["events"][0]["id"] > data["events"][0]["id"]


@pytest.mark.parametrize(
    ("statement", "message", "independent"),
    [
        (
            'UPDATE audit_events SET details = \'{"text":"nothing to see"}\' WHERE chain = :chain AND seq = 3',
            "event #3 (id {id}, note at",
            ["#3 hash"],
        ),
        (
            "UPDATE audit_events SET actor = 'ghost' WHERE chain = :chain AND seq = 1",
            "event #1 (id {id}, open at",
            ["#1 hash"],
        ),
        ("DELETE FROM audit_events WHERE chain = :chain AND seq = 4", "ends at #3", ["head"]),
        ("DELETE FROM audit_events WHERE chain = :chain AND seq = 2", "#2 was removed", ["#3 seq", "#3 prev_hash"]),
    ],
    ids=["edited-note", "edited-actor", "removed-last", "removed-middle"],
)
def test_an_export_of_a_tampered_trail_says_so_and_names_the_event(
    seeded: Store, as_: As, statement: str, message: str, independent: list[str]
) -> None:
    incident_id = history(as_)
    ids = {e["seq"]: e["id"] for e in export(seeded, incident_id)["events"]}
    tamper(seeded, (statement, {"chain": f"incident:{incident_id}"}))
    data = export(seeded, incident_id)
    assert data["verified"] is False
    [problem] = data["problems"]
    seq = int(re.search(r"#(\d)", message).group(1))  # type: ignore[union-attr]
    assert message.format(id=ids.get(seq)) in problem
    assert data["problems"] == verify_messages(seeded)  # the same words as `audit verify`
    assert recheck(data) == independent  # and the auditor's own check agrees


def test_an_incident_whose_whole_trail_was_deleted_exports_as_unverified(seeded: Store, as_: As) -> None:
    incident_id = history(as_)
    chain = {"chain": f"incident:{incident_id}"}
    tamper(
        seeded,
        ("DELETE FROM audit_events WHERE chain = :chain", chain),
        ("DELETE FROM audit_heads WHERE chain = :chain", chain),
    )
    data = export(seeded, incident_id)
    assert data["verified"] is False and data["events"] == [] and data["head"] is None
    assert "every event was removed" in data["problems"][0]


def test_exporting_an_unknown_incident_is_not_found(seeded: Store, as_: As) -> None:
    history(as_)
    with pytest.raises(NotFound) as caught, seeded.read() as session:
        export_trail(session, 999)
    assert caught.value.kind == ErrorKind.NOT_FOUND and caught.value.code == "no_incident"
    assert "incident #999 does not exist" in str(caught.value)
    assert "opsdeck incident list" in str(caught.value)


# -- anchors -----------------------------------------------------------------------------


def test_the_anchor_is_the_documented_digest(seeded: Store, as_: As) -> None:
    history(as_)
    history(as_)
    token = take_anchor(seeded)
    with seeded.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, chain, seq, hash FROM audit_events")).all()
    newest: dict[str, tuple[int, str]] = {}
    for _, chain, seq, digest in rows:
        if seq > newest.get(chain, (0, ""))[0]:
            newest[chain] = (seq, digest)
    links = [{"chain": c, "seq": s, "hash": h} for c, (s, h) in sorted(newest.items())]
    assert token == f"opsdeck-anchor-1:{max(r[0] for r in rows)}:{sha256_json(links)}"
    assert len(newest) == 3  # system and both incidents


def test_writes_after_the_anchor_do_not_matter(seeded: Store, as_: As) -> None:
    first = history(as_)
    token = take_anchor(seeded)
    as_("servers").note(first, "after the anchor")
    history(as_)
    Service(seeded, "lead").import_records("contacts", demo_fixture("contacts.toml"))  # the system chain
    assert take_anchor(seeded) != token
    assert check(seeded, token) == []
    assert check(seeded, f"  {token.upper().replace('OPSDECK-ANCHOR', 'opsdeck-anchor')}\n") == []
    assert verify_messages(seeded) == []


def test_a_wholesale_rewrite_passes_verify_but_not_the_anchor(seeded: Store, as_: As) -> None:
    incident_id = history(as_)
    token = take_anchor(seeded)
    as_("servers").note(incident_id, "written after the anchor")  # the rewrite spans both sides
    rewrite(seeded, incident_id, 3, {"text": "nothing to see"})
    assert verify_messages(seeded) == []  # every link agrees again
    data = export(seeded, incident_id)
    assert data["verified"] is True and recheck(data) == []  # so does the export
    assert json.loads(data["events"][2]["details"]) == {"text": "nothing to see"}
    [problem] = check(seeded, token)
    assert f"the audit trail up to event id {anchored_id(token)} no longer matches the anchor" in problem
    assert "opsdeck audit export" in problem


def test_removing_the_last_events_is_caught_even_with_the_head_fixed(seeded: Store, as_: As) -> None:
    incident_id = history(as_)
    token = take_anchor(seeded)
    events = export(seeded, incident_id)["events"]
    chain = f"incident:{incident_id}"
    tamper(
        seeded,
        ("DELETE FROM audit_events WHERE chain = :chain AND seq = 4", {"chain": chain}),
        (
            "UPDATE audit_heads SET seq = 3, hash = :hash WHERE chain = :chain",
            {"chain": chain, "hash": events[2]["hash"]},
        ),
    )
    assert verify_messages(seeded) == []  # verify trusts the head it was given
    [problem] = check(seeded, token)
    # the resolve event was the newest of all, so the trail now ends before the anchor
    assert events[3]["id"] == anchored_id(token)
    assert f"before the anchor's id {anchored_id(token)}: events were removed from the end" in problem


def test_removing_a_whole_chain_is_caught(seeded: Store, as_: As) -> None:
    first = history(as_)
    history(as_)
    token = take_anchor(seeded)
    chain = {"chain": f"incident:{first}"}
    tamper(
        seeded,
        ("DELETE FROM audit_events WHERE chain = :chain", chain),
        ("DELETE FROM audit_heads WHERE chain = :chain", chain),
    )
    assert verify_messages(seeded) == []  # no head, no events: verify never hears of the chain
    [problem] = check(seeded, token)
    assert "no longer matches the anchor" in problem


def test_a_plain_edit_under_the_anchor_is_named(seeded: Store, as_: As) -> None:
    incident_id = history(as_)
    token = take_anchor(seeded)
    tamper(
        seeded,
        (
            "UPDATE audit_events SET actor = 'ghost' WHERE chain = :chain AND seq = 2",
            {"chain": f"incident:{incident_id}"},
        ),
    )
    [problem] = check(seeded, token)  # the stored hashes are unchanged, the links are not
    assert f"incident:{incident_id} event #2" in problem and "was edited" in problem


def test_what_an_anchor_does_not_see(seeded: Store, as_: As) -> None:
    first = history(as_)
    rewrite(seeded, first, 3, {"text": "rewritten before the anchor"})
    token = take_anchor(seeded)
    assert check(seeded, token) == []  # it vouches for the trail as it was when taken
    second = history(as_)
    tamper(
        seeded,
        ("UPDATE audit_events SET actor = 'ghost' WHERE chain = :chain AND seq = 2", {"chain": f"incident:{second}"}),
    )
    assert check(seeded, token) == []  # events after the anchor are verify's business
    assert [m for m in verify_messages(seeded) if f"incident:{second} event #2" in m]


def test_malformed_anchors_say_what_is_wrong_and_how_to_fix_it(seeded: Store) -> None:
    digest = "ab" * 32
    cases = {
        "": "no anchor was given",
        "   \n": "no anchor was given",
        "hello": "'hello' is not an opsdeck anchor",
        f"opsdeck-anchor-2:5:{digest}": "'opsdeck-anchor-2' is an anchor format this opsdeck does not read",
        f"opsdeck-anchor-1:5{digest}": "has 2 parts separated by colons, not 3",
        f"opsdeck-anchor-1:5:{digest}:x": "has 4 parts",
        f"opsdeck-anchor-1:five:{digest}": "event id 'five' is not a whole number",
        f"opsdeck-anchor-1:-5:{digest}": "event id '-5' is not a whole number",
        f"opsdeck-anchor-1:{'9' * 30}:{digest}": "event id has 30 digits",
        f"opsdeck-anchor-1:5:{digest[:40]}": "has 40 hex digits, not 64: it was cut short",
        f"opsdeck-anchor-1:5:{'g' * 64}": "characters other than hex digits",
    }
    for token, what in cases.items():
        with pytest.raises(InvalidInput) as caught, seeded.read() as session:
            check_anchor(session, token)
        assert caught.value.code == "bad_anchor" and caught.value.kind == ErrorKind.INVALID
        assert what in str(caught.value), token
        assert "copy the whole line `opsdeck audit anchor` printed" in str(caught.value)
        assert "\n" not in str(caught.value)


@pytest.mark.postgres
def test_an_anchor_taken_during_a_slow_write_still_checks(pg_url: str, clock: FakeClock) -> None:
    """PostgreSQL hands out ids at insert, not commit: a slow write can commit id N after
    a quick one committed N+1. The anchor waits for it instead of missing it. (SQLite has
    one writer at a time, so its ids commit in order: nothing to test there.)"""
    from ..board_fixtures import seeded_store

    seeded = seeded_store(pg_url, clock)
    try:
        _slow_write_and_anchor(seeded, lambda login: Service(seeded, login))
    finally:
        seeded.dispose()


def _slow_write_and_anchor(seeded: Store, as_: As) -> None:
    slow, quick = history(as_), history(as_)
    results: list[str | BaseException] = []
    waited = False

    def take() -> None:
        try:
            results.append(take_anchor(seeded))
        except BaseException as error:  # pragma: no cover - reported below
            results.append(error)

    as_("servers").note(quick, "quick")
    with seeded.write("servers") as uow:
        # Writes through opsdeck queue on one lock (one time per transaction), so ids
        # commit in order; a writer outside opsdeck can still hold one back: the anchor
        # waits for any write in flight.
        uow.record("note", {"text": "slow"}, incident_id=slow)  # id N, not yet committed
        thread = threading.Thread(target=take)
        thread.start()
        deadline = time.monotonic() + 10
        with seeded.engine.connect() as conn:
            while thread.is_alive() and time.monotonic() < deadline and not waited:
                waited = bool(
                    conn.execute(
                        text("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'audit_events'::regclass")
                    ).scalar()
                )
                conn.rollback()
                time.sleep(0.01)
    thread.join(timeout=15)
    [token] = results
    assert isinstance(token, str)
    assert waited, "the anchor did not wait for the write in flight"
    assert check(seeded, token) == []
    assert export(seeded, slow)["events"][-1]["id"] <= anchored_id(token)


# -- the CLI ----------------------------------------------------------------------------------


def test_cli_export_anchor_and_verify_against_the_anchor(seeded: Store, as_: As, store_url: str, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    incident_id = history(as_)
    out_file = tmp_path / "evidence.json"
    code, out, err = cli("--db", store_url, "--as", "auditor", "audit", "export", str(incident_id), "-o", str(out_file))
    assert code == 0, err
    assert f"#{incident_id}: " in out and "chain intact" in out
    evidence = json.loads(out_file.read_text("utf-8"))
    assert recheck(evidence) == [] and evidence["verified"] is True
    code, _, err = cli("--db", store_url, "--as", "auditor", "audit", "export", str(incident_id), "-o", str(out_file))
    assert code == 2 and "already exists" in err and "never overwritten" in err  # evidence is never replaced

    code, token, err = cli("--db", store_url, "--as", "auditor", "audit", "anchor")
    assert code == 0, err
    token = token.strip()
    as_("servers").note(incident_id, "written after the anchor")
    code, out, err = cli("--db", store_url, "--as", "auditor", "audit", "verify", "--anchor", token)
    assert code == 0 and out.startswith("ok: every chain holds the history"), err

    rewrite(seeded, incident_id, 2, {"note": "history rewritten"})
    code, out, _ = cli("--db", store_url, "--as", "auditor", "audit", "verify")
    assert code == 0  # a wholesale rewrite passes the chain check alone ...
    code, out, err = cli("--db", store_url, "--as", "auditor", "audit", "verify", "--anchor", token)
    assert code == 1 and "BROKEN" in out and "restore the store from a backup" in err  # ... not the anchor

    code, _, err = cli("--db", store_url, "--as", "auditor", "audit", "verify", "--anchor", "opsdeck-anchor-1:x")
    assert code == 2 and "copy the whole line" in err
