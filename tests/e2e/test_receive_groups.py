"""A group probe's state over many POSTs, against a model of the rule: each alert's
result is the worst state of the group's alerts firing once that alert is counted, and
its output says how many fire. Random Alertmanager batches (repeats, resolutions, new
firings, info alerts) over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from opsdeck.backend.models import ProbeResult
from opsdeck.backend.store import Store

from ..receive_helpers import add_source, am_alert, am_body, incidents, probe, running

pytestmark = pytest.mark.postgres

RANK = {"OK": 0, "WARNING": 2, "CRITICAL": 3}
STATE = {"critical": "CRITICAL", "warning": "WARNING", "info": "OK", "page": "CRITICAL"}  # unknown: CRITICAL
STARTS = ("2026-11-28T02:59:00Z", "2026-11-28T04:10:00.5Z")

alert = st.tuples(
    st.integers(1, 4),  # which instance
    st.sampled_from(("firing", "firing", "resolved")),
    st.sampled_from(tuple(STATE)),
    st.sampled_from(STARTS),
)
batches = st.lists(st.lists(alert, min_size=1, max_size=6), min_size=1, max_size=6)


@dataclass
class Model:
    firing: dict[int, str] = field(default_factory=dict)  # instance -> state, for those firing and not OK
    seen: set[tuple[int, str, str]] = field(default_factory=set)  # (instance, status, startsAt): a repeat

    def take(self, instance: int, status: str, severity: str, starts: str) -> tuple[str, int, str] | None:
        """(the group's result, how many fire, the alert's own state), or None for a repeat."""
        if (instance, status, starts) in self.seen:
            return None
        self.seen.add((instance, status, starts))
        state = STATE[severity] if status == "firing" else "OK"
        self.firing.pop(instance, None)
        if state != "OK":
            self.firing[instance] = state
        worst = max(self.firing.values(), key=RANK.__getitem__, default="OK")
        return worst, len(self.firing), state


_sources = itertools.count(1)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(posts=batches)
def test_each_result_is_the_worst_firing_state_and_its_count(
    store: Store, tmp_path: Path, posts: list[list[tuple[int, str, str, str]]]
) -> None:
    name = f"g{next(_sources)}"  # a source of its own each example: its own group probe
    token = add_source(store, name, "alertmanager")
    model, expected = Model(), []
    with running(store, tmp_path) as rx:
        for batch in posts:
            body: list[dict[str, Any]] = []
            for instance, status, severity, starts in batch:
                body.append(am_alert(instance=f"db{instance}:9100", status=status, severity=severity, starts=starts))
                taken = model.take(instance, status, severity, starts)
                if taken is not None:
                    expected.append(taken)
            reply = rx.post(f"/sources/{name}", am_body(*body), token)
            assert reply.status_code == 200, reply.text
    group = probe(store, f"{name}/InstanceDown")
    with store.read() as session:
        stored = session.execute(
            select(ProbeResult.state, ProbeResult.output)
            .where(ProbeResult.probe_id == group.id)
            .order_by(ProbeResult.id)  # type: ignore[arg-type]
        ).all()
    assert [state for state, _output in stored] == [worst for worst, _n, _own in expected]
    for (_state, output), (_worst, count, own) in zip(stored, expected, strict=True):
        said = f"[{count} alert(s) of the group firing]"
        assert output.endswith(said) == (count > 1 or (count == 1 and own == "OK")), (output, count, own)
    assert group.state == (expected[-1][0] if expected else "OK")


def test_two_sources_with_the_same_alert_each_store_it(store: Store, tmp_path: Path) -> None:
    """Two Alertmanagers watching the same host send the same labels (so the same
    fingerprint): each source's alert is its own news, and each opens its own incident.
    The same notification twice to one source (a retry, an HA peer's copy) counts once."""
    east, west = add_source(store, "east", "alertmanager"), add_source(store, "west", "alertmanager")
    with running(store, tmp_path) as rx:
        first = rx.post("/sources/east", am_body(am_alert()), east).json()
        other = rx.post("/sources/west", am_body(am_alert()), west).json()
        peer = rx.post("/sources/west", am_body(am_alert()), west).json()
    assert (first["alerts"], first["duplicates"]) == (1, 0)
    assert (other["alerts"], other["duplicates"]) == (1, 0)
    assert (peer["alerts"], peer["duplicates"]) == (0, 1)
    assert sorted(i.title.split(" ")[0] for i in incidents(store)) == ["east/InstanceDown", "west/InstanceDown"]
