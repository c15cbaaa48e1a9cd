"""The unit of work writes an incident and its clock rows itself (backend/store.py), not
through the ORM's flush: it must leave them as that flush leaves rows it inserted."""

from __future__ import annotations

import pytest
from sqlalchemy import event, inspect, select
from sqlmodel import col

from opsdeck.backend.actions.incidents import IncidentActions
from opsdeck.backend.models import Incident, IncidentDeadline
from opsdeck.backend.schema import SEED_ACTOR
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import demo_fixture

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
