"""A probe or an alert raising a warning (预警) instead of an incident where the probe
policy says so (`raises = "warning"`, docs/plan.md#warnings): real spool files through
the ingester, real HTTP through the receiver, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from opsdeck.backend.early_warning import Warnings
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.models import Incident, ProbeResult, WarningNote, WarningRecord
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock
from ..receive_helpers import add_source, am_alert, am_body, incidents, running
from .test_ingest import crit, ingester, spool  # noqa: F401  (spool: the fixture)

POLICY = """
[[probes.match]]
pattern = "vuln-scan*"
system = "benefits-app"
raises = "warning"
"""


def apply(store: Store, tmp_path: Path, body: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f"[probes]\n{body}", "utf-8")
    Service(store, "lead").apply_policy(path)


def warnings(store: Store) -> list[WarningRecord]:
    with store.read() as session:
        rows = list(session.execute(select(WarningRecord).order_by(WarningRecord.id)).scalars())
        for row in rows:
            session.expunge(row)
        return rows


def open_incidents(store: Store) -> list[Incident]:
    with store.read() as session:
        return list(session.execute(select(Incident).where(Incident.status != "closed")).scalars())


def test_a_probe_the_policy_names_raises_one_warning_not_an_incident(
    seeded: Store,
    as_: Callable[[str], Service],
    spool: Path,  # noqa: F811  (the fixture)
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    apply(seeded, tmp_path, POLICY)
    ingest = ingester(seeded, spool)
    for _ in range(2):
        crit(spool, ingest, clock, name="vuln-scan-portal")
    assert warnings(seeded) == []  # not sustained yet
    crit(spool, ingest, clock, name="vuln-scan-portal")
    [w] = warnings(seeded)
    assert (w.kind, w.status, w.source, w.systems, w.raised_by) == (
        "internal",
        "open",
        "probe vuln-scan-portal",
        ["benefits-app"],
        "system:worker@test",
    )
    assert w.title == "vuln-scan-portal CRITICAL: PING CRITICAL - 100% loss" and "100% loss" in w.known
    for _ in range(3):
        crit(spool, ingest, clock, name="vuln-scan-portal")
    assert len(warnings(seeded)) == 1 and open_incidents(seeded) == []  # one open warning per probe
    for _ in range(3):  # a probe the policy does not name still opens an incident
        crit(spool, ingest, clock, name="db-ping")
    assert [i.title.split()[0] for i in open_incidents(seeded)] == ["db-ping"]

    assert w.id is not None
    for _ in range(3):  # OK three times: a note on the warning, once
        crit(spool, ingest, clock, name="vuln-scan-portal", state=0)
    crit(spool, ingest, clock, name="vuln-scan-portal", state=0)
    with seeded.read() as session:
        notes = list(
            session.execute(select(WarningNote.text, WarningNote.author).where(WarningNote.warning_id == w.id))
        )
    assert [tuple(n) for n in notes] == [
        (
            "probe vuln-scan-portal recovered: 3 consecutive OK results; consider closing this warning",
            "system:worker@test",
        )
    ]
    for _ in range(3):
        crit(spool, ingest, clock, name="vuln-scan-portal")
    assert len(warnings(seeded)) == 1  # still the open one
    Warnings(as_("servers")).close(w.id, reason="scanner false positive")
    for _ in range(4):
        crit(spool, ingest, clock, name="vuln-scan-portal")
    assert len(warnings(seeded)) == 1  # held back until the probe has been OK once
    crit(spool, ingest, clock, name="vuln-scan-portal", state=0)
    for _ in range(3):
        crit(spool, ingest, clock, name="vuln-scan-portal")
    again = warnings(seeded)[-1]
    assert len(warnings(seeded)) == 2 and again.status == "open" and again.id is not None

    # Promoted: its incident watches the probe, and later failures attach to it.
    _row, incident = Warnings(as_("servers")).promote(again.id, category="network_attack", level="IV")
    crit(spool, ingest, clock, name="vuln-scan-portal")
    with seeded.read() as session:
        latest = session.execute(select(ProbeResult).order_by(ProbeResult.id.desc()).limit(1)).scalar_one()
        assert session.get(Incident, incident.id).probe_id == again.probe_id  # type: ignore[union-attr]
    assert latest.incident_id == incident.id
    assert len(warnings(seeded)) == 2


def test_an_alert_mapping_may_raise_a_warning(store: Store, tmp_path: Path) -> None:
    apply(
        store,
        tmp_path,
        """
[[probes.route]]
name = "antivirus"
matchers = ['alertname="MalwareFound"']
raises = "warning"
""",
    )
    token = add_source(store, "av", "alertmanager")
    malware = am_alert(name="MalwareFound", instance="pc-17")
    cleaned = am_alert(name="MalwareFound", instance="pc-17", status="resolved")
    with running(store, tmp_path) as rx:
        first = rx.post("/sources/av", am_body(malware, group="MalwareFound"), token)
        rx.post("/sources/av", am_body(am_alert()), token)  # another group: an incident as before
        rx.post("/sources/av", am_body(cleaned, group="MalwareFound"), token)  # the antivirus cleaned it
    assert first.status_code == 200 and first.json()["opened"] == []
    [w] = warnings(store)
    assert (w.kind, w.title) == ("internal", "av/MalwareFound CRITICAL: MalwareFound: pc-17 is down")
    assert "From alert source av, mapping 'antivirus'." in w.known
    assert [i.title.split()[0] for i in incidents(store)] == ["av/InstanceDown"]
    with store.read() as session:
        notes = list(session.execute(select(WarningNote.text).where(WarningNote.warning_id == w.id)).scalars())
    assert notes == ["no alert of the group is firing at source av; consider closing this warning"]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('[[probes.match]]\npattern = "x*"\nraises = "alarm"\n', "probes.match[0].raises"),
        (
            '[[probes.route]]\nname = "r"\ncategory = "server_fault"\nlevel = "IV"\nclassify = true\nraises = "warning"\n',
            "probes.route[0].classify",
        ),
    ],
)
def test_the_policy_refuses_what_it_cannot_do(seeded: Store, tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        apply(seeded, tmp_path, body)
    assert key in str(refused.value)
