"""The escalation sweep in real processes, on SQLite and PostgreSQL (and with database
roles on, each write as its actor's role: tests/pg_roles_mode.py): three `opsdeck escalate`
at once record each escalation once, for incidents and for warnings; a worker killed with
-9 is replaced by its standby (tests/store/test_escalation.py and test_warning_escalation.py
test the sweep in this process)."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlmodel import col

from opsdeck.backend import queries
from opsdeck.backend.audit import verify
from opsdeck.backend.early_warning import Warnings
from opsdeck.backend.models import Escalation, Incident, IncidentDeadline, WarningEscalation, WorkerHeartbeat
from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store, worker_actor
from opsdeck.backend.timeutil import utcnow

from ..cli_process import OPSDECK, past_incidents, process_env, wait_for

pytestmark = pytest.mark.pg_roles


def escalations(store: Store) -> list[Escalation]:
    with store.read() as session:
        return list(session.execute(select(Escalation).order_by(Escalation.id)).scalars())


@pytest.mark.slow
def test_three_processes_sweeping_at_once_record_one_escalation_each(
    seeded: Store, store_url: str, url_as: Callable[[str], str]
) -> None:
    past_incidents(store_url, 20)
    procs = [
        subprocess.Popen(
            [OPSDECK, "--db", url_as(worker_actor()), "escalate", "--once", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=process_env(),
        )
        for _ in range(3)
    ]
    recorded = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        recorded.extend(json.loads(out))
    rows = escalations(seeded)
    keys = [(e.incident_id, e.rule, e.clock_key) for e in rows]
    assert len(keys) == len(set(keys)) == 20 * 3  # regrade, supervisor, ack_lease for each
    assert sorted((r["incident_id"], r["rule"], r["clock"]) for r in recorded) == sorted(keys)
    with seeded.read() as session:
        trail_events = sum(
            1 for i in range(1, 21) for e in queries.audit_trail(session, i) if e["action"] == "escalate"
        )
    assert trail_events == 60


def _heartbeats(store: Store) -> dict[int, list[str]]:
    with store.read() as session:
        return {h.pid: list(h.duties) for h in session.execute(select(WorkerHeartbeat)).scalars()}


@pytest.mark.slow
def test_a_worker_killed_with_9_is_replaced_by_the_standby(
    seeded: Store, store_url: str, url_as: Callable[[str], str]
) -> None:
    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [OPSDECK, "--db", url_as(worker_actor()), "worker", "--interval", "0.2", "--duties", "escalate"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=process_env(),
        )

    # The incident is reported three hours ago before anyone escalates: a write is never
    # dated before the newest event, so none can be back-dated once the worker has written.
    past_incidents(store_url, 1)
    first = start()
    second: subprocess.Popen[str] | None = None
    try:
        assert wait_for(lambda: _heartbeats(seeded).get(first.pid) == ["escalate"]), "first worker never led"
        second = start()
        assert wait_for(lambda: second.pid in _heartbeats(seeded))
        assert _heartbeats(seeded)[second.pid] == []  # standing by
        assert wait_for(lambda: len(escalations(seeded)) == 3)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert wait_for(lambda: _heartbeats(seeded).get(second.pid) == ["escalate"]), "standby never took over"
        # Work for the standby: the first clocks run out again (as the administrator: no
        # one's database role may delete escalations).
        with seeded.write(SEED_ACTOR) as uow:
            uow.session.execute(update(IncidentDeadline).values(escalated_at=None))
            uow.session.execute(delete(Escalation))
            uow.session.execute(update(Incident).values(next_due_at=col(Incident.reported_at)))
        assert wait_for(lambda: len(escalations(seeded)) == 3)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (first, second):  # never leave a worker running after the test
            if proc is not None:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    assert second.returncode == 0  # SIGTERM: a clean exit


@pytest.mark.slow
def test_three_processes_sweeping_at_once_escalate_each_warning_once(seeded: Store, store_url: str) -> None:
    """Real `opsdeck escalate` processes on the machine's clock, against warnings raised
    two hours ago: each analysis clock escalated once, whoever got there first."""
    then = utcnow() - timedelta(hours=2)
    past = open_store(store_url, clock=lambda: then)
    ids = [Warnings(Service(past, "web")).add("internal", f"scan finding {n}").id for n in range(10)]
    past.dispose()
    procs = [
        subprocess.Popen(
            [OPSDECK, "--db", store_url, "escalate", "--once", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=process_env(),
        )
        for _ in range(3)
    ]
    recorded = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        recorded.extend(item for item in json.loads(out) if "warning_id" in item)
    assert sorted((r["warning_id"], r["clock"]) for r in recorded) == sorted((i, "analysed") for i in ids)
    with seeded.read() as session:
        assert len(session.execute(select(WarningEscalation)).all()) == 10
        _chains, _events, problems = verify(session)
    assert problems == []
