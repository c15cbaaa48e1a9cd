"""A batch reads its probes' health by name in one statement (backend/probe_rows.py): on
SQLite the names travel as one JSON array. Whatever a name holds, each probe is found
as stored, field by field, and what the session holds unflushed is read as changed."""

from __future__ import annotations

from dataclasses import astuple
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from opsdeck.backend.models import Probe
from opsdeck.backend.probe_rows import Health, read_healths
from opsdeck.backend.store import Store

from ..conftest import FakeClock

pytestmark = pytest.mark.pg_roles

NAMES = [
    "db-ping",
    'quote"d',
    "back\\slash",
    "new\nline",
    "数据库/主库",
    "tab\there",
    "emoji-🔥",
    "percent%_under",
    "a" * 200,
]
WORKER = "system:worker@test"


def _stored(store: Store, clock: FakeClock) -> dict[str, Health]:
    """Each probe written through the ORM, with every field that `Health` reads set."""
    now = clock()
    with store.write(WORKER) as uow:
        for index, name in enumerate(NAMES):
            uow.session.add(
                Probe(
                    name=name,
                    created_at=now,
                    interval_s=60 + index if index % 2 else None,
                    state=("OK", "CRITICAL", "WARNING")[index % 3],
                    stale=bool(index % 2),
                    output=f"output of {name}",
                    last_result_at=now - timedelta(seconds=index),
                    last_success_at=now - timedelta(minutes=index) if index % 3 else None,
                    state_since=now - timedelta(hours=index),
                    consecutive=index,
                    last_ok_at=now if index % 2 else None,
                    recovery_noted=not index % 2,
                    silenced_until=now + timedelta(days=1) if index == 4 else None,
                )
            )
    with store.read() as session:
        rows = session.execute(select(Probe)).scalars().all()
        return {p.name: Health(*(getattr(p, f) for f in Health.__dataclass_fields__)) for p in rows}


def test_every_name_is_found_with_every_field_as_stored(seeded: Store, clock: FakeClock) -> None:
    expected = _stored(seeded, clock)
    with seeded.write(WORKER) as uow:
        found = read_healths(uow, {*NAMES, "not-a-probe", '["db-ping"]'})
    assert sorted(found) == sorted(NAMES)
    for name in NAMES:
        assert astuple(found[name]) == astuple(expected[name]), name
        assert found[name].last_result_at is not None and found[name].last_result_at.tzinfo is not None


def test_what_the_session_holds_unflushed_is_read_as_changed(seeded: Store, clock: FakeClock) -> None:
    _stored(seeded, clock)
    with seeded.write(WORKER) as uow:
        probe = uow.session.execute(select(Probe).where(col(Probe.name) == "db-ping")).scalar_one()
        probe.state, probe.consecutive = "UNKNOWN", 42
        uow.session.add(Probe(name="added, unflushed", created_at=clock()))
        found = read_healths(uow, {"db-ping", "added, unflushed"})
    assert (found["db-ping"].state, found["db-ping"].consecutive) == ("UNKNOWN", 42)
    assert found["added, unflushed"].state == "UNKNOWN" and found["added, unflushed"].id > 0
