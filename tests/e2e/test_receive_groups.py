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
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from opsdeck.backend.alerts.formats import alertmanager, dedup_basis, stamp
from opsdeck.backend.models import ProbeResult, table_of
from opsdeck.backend.store import Store

from ..receive_helpers import add_source, am_alert, am_body, incidents, notes, probe, running

pytestmark = pytest.mark.postgres

RANK = {"OK": 0, "WARNING": 2, "CRITICAL": 3}
STATE = {"critical": "CRITICAL", "warning": "WARNING", "info": "OK", "page": "CRITICAL"}  # unknown: CRITICAL
STARTS = ("2026-11-28T02:59:00Z", "2026-11-28T04:10:00.5Z")
GROUPS = ("Db", "Web")  # the POST's group: an alert may move to the other (a changed route)

alert = st.tuples(
    st.integers(1, 4),  # which instance
    st.sampled_from(("firing", "firing", "resolved")),
    st.sampled_from(tuple(STATE)),
    st.sampled_from(STARTS),
)
posts = st.lists(st.tuples(st.sampled_from(GROUPS), st.lists(alert, min_size=1, max_size=6)), min_size=1, max_size=6)


@dataclass
class Model:
    """The rule, kept apart from the code: every alert is in the group it was last posted
    in; within a POST, each group starts from its alerts firing as stored and counts the
    POST's alerts as it goes."""

    stored: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # instance -> (group, state firing)
    seen: set[tuple[int, str, str]] = field(default_factory=set)  # (instance, status, startsAt): a repeat

    def post(self, group: str, batch: list[tuple[int, str, str, str]]) -> list[tuple[str, str, int, str]]:
        """(group, the group's result, how many fire in it, the alert's own state) per alert not a repeat."""
        firing: dict[str, dict[int, str]] = {}
        for instance, (where, state) in self.stored.items():
            if state is not None:
                firing.setdefault(where, {})[instance] = state
        members = firing.setdefault(group, {})
        out = []
        for instance, status, severity, starts in batch:
            if (instance, status, starts) in self.seen:
                continue
            self.seen.add((instance, status, starts))
            state = STATE[severity] if status == "firing" else "OK"
            members.pop(instance, None)
            if state != "OK":
                members[instance] = state
            self.stored[instance] = (group, state if state != "OK" else None)
            worst = max(members.values(), key=RANK.__getitem__, default="OK")
            out.append((group, worst, len(members), state))
        return out


_sources = itertools.count(1)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(batches=posts)
@example(  # db1 fires in Db, then fires anew in Web, where db3 warns: CRITICAL, two firing in Web
    batches=[
        ("Db", [(1, "firing", "critical", STARTS[0]), (2, "firing", "critical", STARTS[0])]),
        ("Web", [(3, "firing", "warning", STARTS[0])]),
        ("Web", [(1, "firing", "critical", STARTS[1])]),
    ]
)
def test_each_result_is_the_worst_firing_state_and_its_count(
    store: Store, tmp_path: Path, batches: list[tuple[str, list[tuple[int, str, str, str]]]]
) -> None:
    name = f"g{next(_sources)}"  # a source of its own each example: its own group probes
    token = add_source(store, name, "alertmanager")
    model, expected = Model(), []
    with running(store, tmp_path) as rx:
        for group, batch in batches:
            body: list[dict[str, Any]] = [
                am_alert(instance=f"db{instance}:9100", status=status, severity=severity, starts=starts)
                for instance, status, severity, starts in batch
            ]
            expected += model.post(group, batch)
            reply = rx.post(f"/sources/{name}", am_body(*body, group=group), token)
            assert reply.status_code == 200, reply.text
    for group in GROUPS:
        wanted = [(worst, count, own) for where, worst, count, own in expected if where == group]
        if not wanted:
            continue
        probe_row = probe(store, f"{name}/{group}")
        with store.read() as session:
            stored = session.execute(
                select(ProbeResult.state, ProbeResult.output)
                .where(ProbeResult.probe_id == probe_row.id)
                .order_by(ProbeResult.id)  # type: ignore[arg-type]
            ).all()
        assert [state for state, _output in stored] == [worst for worst, _n, _own in wanted], group
        for (_state, output), (_worst, count, own) in zip(stored, wanted, strict=True):
            said = f"[{count} alert(s) of the group firing]"
            assert output.endswith(said) == (count > 1 or (count == 1 and own == "OK")), (output, count, own)
        assert probe_row.state == wanted[-1][0]


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


def test_a_repeat_of_an_alert_stored_before_keys_named_the_source_is_still_a_repeat(
    store: Store, tmp_path: Path
) -> None:
    """Results stored while an Alertmanager alert's key was fingerprint, status and
    startsAt alone (no source): after the upgrade, Alertmanager's next repeat of that
    alert adds nothing to this source, and is still news to another source."""
    east, west = add_source(store, "east", "alertmanager"), add_source(store, "west", "alertmanager")
    info = am_alert(severity="info")  # an info alert's news adds a note: a repeat taken as news would add another
    [sent] = alertmanager(am_body(info))
    with running(store, tmp_path) as rx:
        rx.post("/sources/east", am_body(am_alert(instance="db9:9100")), east)  # the group's open incident
        rx.post("/sources/east", am_body(info), east)
        with store.engine.begin() as connection:  # the key as the earlier release stored it
            connection.execute(
                update(table_of(ProbeResult))
                .where(table_of(ProbeResult).c.output.like("info:%"))
                .values(result_key=dedup_basis("alertmanager", sent.key, "firing", stamp(sent.starts_at)))
            )
        repeat = rx.post("/sources/east", am_body(info), east).json()
        elsewhere = rx.post("/sources/west", am_body(info), west).json()
    assert (repeat["alerts"], repeat["duplicates"]) == (0, 1)
    assert (elsewhere["alerts"], elsewhere["duplicates"]) == (1, 0)
    [incident] = incidents(store)  # west's info alert alone opens none
    assert [n for n in notes(store, incident.id or 0) if n.startswith("information")] == [
        "information: InstanceDown (1 alert(s) of the group still firing)"
    ]
