"""The unit of work writes an incident and its clock rows itself (backend/store.py), not
through the ORM's flush: it must leave them as that flush leaves rows it inserted. An
action reads them itself too (backend/clocks.py): it must make the objects the ORM's
load makes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlmodel import col

from opsdeck.backend import clocks
from opsdeck.backend.actions.incidents import IncidentActions
from opsdeck.backend.models import Attestation, Incident, IncidentDeadline
from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock, demo_fixture

LOGIN = "servers"


@pytest.fixture
def rostered(store: Store) -> Store:
    Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    return store


def test_inserted_rows_are_persistent_with_their_stored_ids_and_nothing_left_to_flush(rostered: Store) -> None:
    with rostered.write(LOGIN) as uow:
        incidents = [IncidentActions.open_in(uow, f"opened {i}") for i in range(3)]
        uow.flush()  # the clock rows go in here
        session = uow.session
        clocks = [row for row in session.identity_map.values() if isinstance(row, IncidentDeadline)]
        assert not session.new and not session.dirty
        for row in [*incidents, *clocks]:
            state = inspect(row)
            assert state.persistent and not state.modified
            assert session.identity_map.get(state.key) is row
        assert len(clocks) >= 3
        stored = session.execute(select(col(IncidentDeadline.id), col(IncidentDeadline.incident_id))).all()
        assert sorted((c.id, c.incident_id) for c in clocks) == sorted(tuple(r) for r in stored)
        for incident in incidents:  # read again: the same object, nothing read
            assert session.get(Incident, incident.id) is incident
    with rostered.read() as session:
        titles = session.execute(select(col(Incident.id), col(Incident.title)).order_by(col(Incident.id))).all()
    assert [tuple(r) for r in titles] == [(i.id, i.title) for i in incidents]


def test_a_new_incidents_clock_rows_wait_pending_as_session_add_leaves_them(rostered: Store) -> None:
    """They go in with the write's next flush (`orm_rows.as_pending` puts them in the
    session without `session.add`'s walk of cascades): pending until then, in the order
    derived, seen by the session's listeners as `add` would have them seen."""
    seen: list[object] = []
    with rostered.write(LOGIN) as uow:
        event.listen(uow.session, "transient_to_pending", lambda _session, row: seen.append(row))
        IncidentActions.open_in(uow, "the first: its routes are read, and the read flushes what is pending")
        seen.clear()
        incident = IncidentActions.open_in(uow, "clocks pending")
        rows = clocks.held_rows(uow.session, incident.id)
        assert rows
        states = [inspect(row) for row in rows]
        # PostgreSQL writes what is pending before each audit event (backend/store.py, `_append`).
        assert all(state.persistent if uow.dialect == "postgresql" else state.pending for state in states)
        assert [state.insert_order for state in states] == sorted(state.insert_order for state in states)
        added = [row for row in seen if isinstance(row, IncidentDeadline)]
        assert [row is held for row, held in zip(added, rows, strict=True)] == [True] * len(rows)
        assert all(row.incident_id == incident.id for row in rows)
    with rostered.read() as session:
        stored = session.execute(
            select(col(IncidentDeadline.rule)).where(col(IncidentDeadline.incident_id) == incident.id)
        ).scalars()
        assert sorted(stored) == sorted(row.rule for row in rows)


def test_a_write_rolled_back_leaves_its_inserted_rows_transient_and_stores_nothing(rostered: Store) -> None:
    with pytest.raises(RuntimeError), rostered.write(LOGIN) as uow:
        incident = IncidentActions.open_in(uow, "rolled back")
        uow.flush()
        clocks = [row for row in uow.session.identity_map.values() if isinstance(row, IncidentDeadline)]
        raise RuntimeError("after the rows went in")
    for row in [incident, *clocks]:
        assert inspect(row).transient
    with rostered.read() as session:
        assert session.execute(select(Incident)).first() is None
        assert session.execute(select(IncidentDeadline)).first() is None


def test_an_action_reads_the_attestations_only_of_an_incident_that_has_some(rostered: Store) -> None:
    """The action's first query says whether the incident has any (backend/clocks.py)."""
    sent: list[str] = []
    lead = Service(rostered, "lead")
    plain = lead.open(title="nothing attested").id
    attested = lead.open(title="attested", category="network_fault", level="I").id
    assert plain is not None and attested is not None
    lead.attest(attested, "leadership_informed", via="phone", note="told")
    event.listen(rostered.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    lead.ack(plain)
    assert not [s for s in sent if s.startswith("SELECT attestations")]
    lead.note(attested, "after it")
    assert len([s for s in sent if s.startswith("SELECT attestations")]) == 1


def _orm_loaded(store: Store, incident_id: int) -> tuple[dict[str, Any], list[dict[str, Any]], set[str]]:
    """The incident's and its clock rows' values as the ORM's own load leaves them."""
    with store.read() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        rows = session.execute(
            select(IncidentDeadline)
            .where(col(IncidentDeadline.incident_id) == incident_id)
            .order_by(col(IncidentDeadline.id))
        ).scalars()
        return _values(incident), [_values(row) for row in rows], set(incident.__pydantic_fields_set__)


def _values(row: Any) -> dict[str, Any]:
    """Each stored value with its type: an aware time is not a naive one, 1 not True."""
    return {k: (type(v), v) for k, v in row.__dict__.items() if k != "_sa_instance_state"}


def test_rows_read_through_core_are_the_objects_the_orms_load_makes(rostered: Store) -> None:
    """An action's first read (backend/clocks.py, `load_with_clocks`) builds its objects
    itself: each must be what the ORM's load would have made, persistent and unchanged,
    found again by `session.get`, written when changed. (PostgreSQL reads with the lock.)"""
    lead = Service(rostered, "lead")
    incident_id = lead.open(title="read through Core", category="network_fault", level="I").id
    assert incident_id is not None
    lead.attest(incident_id, "leadership_informed", via="phone", note="told")
    lead.note(incident_id, "on it")
    incident_values, clock_values, fields_set = _orm_loaded(rostered, incident_id)
    assert len(clock_values) >= 2
    with rostered.write("lead") as uow:
        session = uow.session
        lock = uow.dialect == "postgresql"
        through_orm: list[object] = []
        event.listen(session, "do_orm_execute", through_orm.append)
        incident = clocks.load_with_clocks(session, uow.connection, incident_id, lock=lock)
        # Read through Core (what this test holds to the ORM's load); only its attestations through the ORM.
        read = [mapper.class_ for state in through_orm for mapper in state.all_mappers]  # type: ignore[attr-defined]
        assert read == [Attestation]
        assert incident is not None
        rows = clocks.held_rows(session, incident_id)
        assert rows is not None
        assert _values(incident) == incident_values
        assert [_values(row) for row in rows] == clock_values
        assert set(incident.__pydantic_fields_set__) == fields_set
        for row in [incident, *rows]:
            state = inspect(row)
            assert state.persistent and not state.modified and not state.expired_attributes
            assert session.identity_map.get(state.key) is row
        assert session.get(Incident, incident_id) is incident
        assert not session.new and not session.dirty
        assert clocks.facts_of(session, incident).attested  # its attestation, read with it
        incident.title = "changed after a Core read"
        assert [row is incident for row in session.dirty] == [True]
    with rostered.read() as session:
        stored = session.get(Incident, incident_id)
        assert stored is not None and stored.title == "changed after a Core read"


def test_a_row_the_session_holds_is_not_read_over(rostered: Store) -> None:
    """The ORM's load keeps an object the session already holds, changes and all; so
    does the Core read (it leaves such a row to the ORM)."""
    incident_id = Service(rostered, "lead").open(title="held").id
    assert incident_id is not None
    with rostered.write("lead") as uow:
        held = uow.session.get(Incident, incident_id)
        assert held is not None
        held.title = "changed, not flushed"
        found = clocks.load_with_clocks(uow.session, uow.connection, incident_id, lock=False)
        assert found is held and found.title == "changed, not flushed"
        assert clocks.held_rows(uow.session, incident_id)


def test_an_attestation_added_unflushed_is_read_with_the_incident(rostered: Store, clock: FakeClock) -> None:
    """As the ORM's query would, the read writes what the session holds first."""
    incident_id = Service(rostered, "lead").open(title="attested in this write").id
    assert incident_id is not None
    with rostered.write("lead") as uow:
        uow.session.add(Attestation(incident_id=incident_id, key="leadership_informed", at=clock(), by="lead"))
        lock = uow.dialect == "postgresql"
        incident = clocks.load_with_clocks(uow.session, uow.connection, incident_id, lock=lock)
        assert incident is not None
        assert list(clocks.facts_of(uow.session, incident).attested) == ["leadership_informed"]


def test_no_such_incident_read_through_core_is_none(rostered: Store) -> None:
    with rostered.write("lead") as uow:
        assert clocks.load_with_clocks(uow.session, uow.connection, 404, lock=False) is None


@pytest.mark.postgres
def test_the_read_locks_the_incidents_row_on_postgresql(pg_url: str, clock: FakeClock) -> None:
    """As `session.get(..., with_for_update=True)` did: no other transaction may take the
    row until the write ends."""
    store = open_store(pg_url, clock=clock)
    try:
        Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
        incident_id = Service(store, "lead").open(title="locked").id
        taking = text("SELECT id FROM incidents WHERE id = :id FOR UPDATE NOWAIT")
        with store.write("lead") as uow, store.engine.connect() as other:
            assert clocks.load_with_clocks(uow.session, uow.connection, incident_id, lock=True) is not None
            with pytest.raises(OperationalError, match="could not obtain lock"):
                other.execute(taking, {"id": incident_id})
        with store.engine.connect() as other:
            assert other.execute(taking, {"id": incident_id}).scalar_one() == incident_id
    finally:
        store.dispose()
