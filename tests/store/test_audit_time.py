"""One time per write transaction: never before the newest event, the server's clock on
PostgreSQL; and `audit verify` names an event dated before the one it follows."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

from sqlalchemy import select, text

from opsdeck.backend import audit
from opsdeck.backend.models import AuditEvent, AuditHead, IncidentNote
from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock, demo_fixture


def trail(store: Store, incident_id: int) -> list[AuditEvent]:
    with store.read() as session:
        return list(
            session.execute(
                select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(AuditEvent.seq)  # type: ignore[arg-type]
            ).scalars()
        )


def test_a_host_whose_clock_is_behind_never_dates_an_event_back(
    seeded: Store, store_url: str, clock: FakeClock
) -> None:
    """Two hosts on one store, the second's clock a minute behind: its write takes the
    newest event's time, for the event and the facts alike, and the chain verifies."""
    incident = Service(seeded, "servers").open("Payment API down")
    assert incident.id is not None
    opened_at = trail(seeded, incident.id)[-1].at
    behind = open_store(store_url, clock=FakeClock(clock() - timedelta(minutes=1)))
    try:
        Service(behind, "web").note(incident.id, "written on the host that is behind")
        with behind.read() as session:
            note = session.execute(select(IncidentNote)).scalars().one()
    finally:
        behind.dispose()
    last = trail(seeded, incident.id)[-1]
    assert last.action == "note" and last.at == opened_at and note.at == opened_at
    with seeded.read() as session:
        assert audit.verify(session)[2] == []


def test_a_clock_set_back_between_two_writes_of_one_store_never_dates_an_event_back(
    seeded: Store, clock: FakeClock
) -> None:
    """The same store (on SQLite, the same connection, which keeps the newest event's
    time between its writes) after its clock went back: the next write takes the time of
    the event it wrote last."""
    service = Service(seeded, "servers")
    incident = service.open("Payment API down")
    assert incident.id is not None
    clock.advance(minutes=5)
    service.note(incident.id, "five minutes on")
    noted_at = trail(seeded, incident.id)[-1].at
    clock.advance(minutes=-3)  # the host's clock corrected backwards
    service.note(incident.id, "after the clock went back")
    last = trail(seeded, incident.id)[-1]
    assert last.action == "note" and last.at == noted_at
    with seeded.read() as session:
        assert audit.verify(session)[2] == []


def test_postgresql_takes_the_servers_clock_not_the_transactions_start(pg_url: str) -> None:
    store = open_store(pg_url)  # the real clock: no test hook
    try:
        with store.read() as session:
            before = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        Service(store, "system:opsdeck").import_records("roster", demo_fixture("roster.toml"))
        with store.read() as session:
            after = session.execute(text("SELECT clock_timestamp()")).scalar_one()
            at = session.execute(select(AuditEvent.at).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()  # type: ignore[attr-defined]
    finally:
        store.dispose()
    assert before <= at <= after


def test_an_event_forged_with_an_earlier_date_after_an_anchor_is_named(seeded: Store, store_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    incident = Service(seeded, "servers").open("Payment API down")
    Service(seeded, "servers").note(incident.id, "first look")  # type: ignore[arg-type]
    code, anchor, _ = cli("--db", store_url, "audit", "anchor")
    assert code == 0
    chain = audit.incident_chain(incident.id)  # type: ignore[arg-type]
    with seeded.read() as session:
        head = session.get(AuditHead, chain)
        assert head is not None
        last = trail(seeded, incident.id)[-1]  # type: ignore[arg-type]
    at = last.at - timedelta(hours=2)  # "the level was lowered before anyone looked"
    details = audit.canonical_json({"from": "II", "to": "IV", "reason": "quiet"})
    digest = audit.event_hash(
        chain=chain,
        seq=head.seq + 1,
        at=at,
        actor="lead",
        action="level",
        incident_id=incident.id,
        details=details,
        prev_hash=head.hash,
    )
    with seeded.write("lead") as uow:  # a well-formed event, the head moved on: every hash agrees
        uow.session.add(
            AuditEvent(
                chain=chain,
                incident_id=incident.id,
                seq=head.seq + 1,
                at=at,
                actor="lead",
                action="level",
                details=details,
                prev_hash=head.hash,
                hash=digest,
            )
        )
        row = uow.session.get(AuditHead, chain)
        assert row is not None
        row.seq, row.hash = head.seq + 1, digest
    code, out, err = cli("--db", store_url, "audit", "verify", "--json")
    assert code == 1
    [problem] = json.loads(out)["problems"]
    assert problem["problem"] == "time_back" and problem["chain"] == chain and problem["seq"] == head.seq + 1
    assert "is dated before #2" in err and "forged or back-dated" in err
    code, _, _ = cli("--db", store_url, "audit", "verify", "--anchor", anchor.strip())
    assert code == 0  # the anchor vouches for what came before it; verify catches this one


def test_an_upgraded_store_keeps_its_honest_past_and_checks_times_from_the_upgrade_on(
    store_url: str,
    tmp_path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    """Before 0013 each client dated events by its own clock: two hosts a few seconds
    apart could write an event dated before the one it follows. After the upgrade
    `audit verify` does not call that past forged (the upgrade marks the first event whose
    time it checks), yet names a back-dated event written after the upgrade, and a
    marker appended later to move that line changes nothing."""
    from datetime import datetime

    from alembic import command
    from sqlalchemy import create_engine
    from sqlmodel import Session

    from opsdeck.backend import schema

    if store_url.startswith("sqlite"):
        (tmp_path / "store").mkdir(exist_ok=True)
    engine = create_engine(store_url)
    with engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), "0018")  # the revision before 0013
    chain = "incident:1"
    with Session(engine) as session:
        session.execute(
            text(
                "INSERT INTO incidents (title, description, status, category, level, reporter, version, updated_at, "
                "updated_by, reported_at, policy_version) VALUES ('Core switch down', '', 'reported', "
                "'network_fault', 'III', 'servers', 1, '2026-03-01 09:00:05', 'servers', '2026-03-01 09:00:05', 1)"
            )
        )
        prev = audit.GENESIS
        # Host A (ahead) opened it; host B, 3 s behind, added a note a second later.
        for seq, (at, actor, action) in enumerate(
            [
                (datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC), "servers", "open"),
                (datetime(2026, 3, 1, 9, 0, 3, tzinfo=UTC), "web", "note"),
            ],
            start=1,
        ):
            details = audit.canonical_json({"text": "seen from host B"} if action == "note" else {})
            digest = audit.event_hash(
                chain=chain, seq=seq, at=at, actor=actor, action=action, incident_id=1, details=details, prev_hash=prev
            )
            session.add(
                AuditEvent(
                    chain=chain,
                    incident_id=1,
                    seq=seq,
                    at=at,
                    actor=actor,
                    action=action,
                    details=details,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
        session.add(AuditHead(chain=chain, seq=2, hash=prev))
        session.commit()
    engine.dispose()

    store = open_store(store_url, clock=FakeClock(), upgrade=True)  # `opsdeck db upgrade` on PostgreSQL
    try:
        code, out, err = cli("--db", store_url, "audit", "verify", "--json")
        assert code == 0, (out, err)
        assert json.loads(out)["problems"] == []
        code, out, _ = cli("--db", store_url, "audit", "export", "1")
        assert code == 0 and json.loads(out)["verified"] is True

        # After the upgrade: an event back-dated on the same chain is forged, and named.
        with store.read() as session:
            head = session.get(AuditHead, chain)
            assert head is not None
            head_seq, head_hash = head.seq, head.hash
        at = datetime(2026, 3, 1, 9, 0, 4, tzinfo=UTC)
        forged = audit.canonical_json({"from": "III", "to": "IV", "reason": "quiet"})
        digest = audit.event_hash(
            chain=chain,
            seq=head_seq + 1,
            at=at,
            actor="lead",
            action="level",
            incident_id=1,
            details=forged,
            prev_hash=head_hash,
        )
        with store.write("lead") as uow:
            uow.session.add(
                AuditEvent(
                    chain=chain,
                    incident_id=1,
                    seq=head_seq + 1,
                    at=at,
                    actor="lead",
                    action="level",
                    details=forged,
                    prev_hash=head_hash,
                    hash=digest,
                )
            )
            row = uow.session.get(AuditHead, chain)
            assert row is not None
            row.seq, row.hash = head_seq + 1, digest
        code, out, _ = cli("--db", store_url, "audit", "verify", "--json")
        assert code == 1
        assert [p["problem"] for p in json.loads(out)["problems"]] == ["time_back"]

        # A second marker, appended to push the line past the forged event, is ignored.
        with store.write("lead") as uow:
            uow.record(audit.TIMES_ORDERED, {"from_id": 10**9})
        code, out, _ = cli("--db", store_url, "audit", "verify", "--json")
        assert code == 1 and [p["problem"] for p in json.loads(out)["problems"]] == ["time_back"]
    finally:
        store.dispose()
