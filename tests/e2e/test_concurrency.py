"""Two real processes racing on one incident through the service layer: every write
either lands or is refused as stale; none is lost, none is doubled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from opsdeck.backend import queries
from opsdeck.backend.audit import verify
from opsdeck.backend.models import AuditEvent
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

# Also with database roles on, each write as its actor's role (tests/pg_roles_mode.py).
pytestmark = pytest.mark.pg_roles

ROUNDS = 1000


@pytest.mark.slow
def test_two_processes_assigning_lose_no_update(seeded: Store, url_as: Callable[[str], str], tmp_path: Path) -> None:
    incident = Service(seeded, "lead").open("contended")
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.race_worker", url_as(login), str(incident.id), str(ROUNDS), login, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for login in ("lead", "servers")
    ]
    time.sleep(1.0)  # both processes have opened the store and wait at the line
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    successes = sum(r["ok"] for r in results)
    refusals = sum(r["stale"] for r in results)
    assert successes + refusals == 2 * ROUNDS
    assert all(r["ok"] > 0 for r in results), results  # both really raced
    with seeded.read() as session:
        final = queries.get_incident(session, incident.id)
        assigns = session.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.incident_id == incident.id, AuditEvent.action == "assign")
        ).scalar_one()
        assert verify(session)[2] == []
    assert final["version"] == 1 + successes
    assert assigns == successes
