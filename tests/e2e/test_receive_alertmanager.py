"""End to end with the real sender: Debian's Alertmanager and amtool post to a real
receiver (webhook_configs and pagerduty_configs), a storm arrives whole, and silences go
both ways."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..alertmanager_helpers import alertmanager, amtool, free_port, wait
from ..conftest import demo_fixture
from ..receive_helpers import add_source, alerts, incidents, probe, running

pytestmark = pytest.mark.slow


@pytest.fixture
def live_store(sqlite_url: str) -> Iterator[Store]:
    """A store on the real clock: Alertmanager's times are now."""
    store = open_store(sqlite_url)
    yield store
    store.dispose()


def webhook(url: str, token: str, max_alerts: int = 200) -> str:
    return f"""receivers:
- name: opsdeck
  webhook_configs:
  - url: {url}
    send_resolved: true
    max_alerts: {max_alerts}
    http_config:
      authorization:
        credentials: {token}
"""


def results(store: Store) -> int:
    with store.read() as session:
        return int(session.execute(text("SELECT count(*) FROM probe_results")).scalar_one())


def test_amtool_alert_opens_one_incident_repeats_add_nothing_end_marks_it_ok(live_store: Store, tmp_path: Path) -> None:
    token = add_source(live_store, "prom", "alertmanager")
    with running(live_store, tmp_path) as rx, alertmanager(tmp_path, webhook(rx.base + "/sources/prom", token)) as am:
        labels = ["alertname=DiskFull", "instance=db1:9100", "severity=critical"]
        amtool(am, "alert", "add", *labels, "--annotation=summary=disk 97% full")
        assert wait(lambda: len(incidents(live_store)) == 1)
        time.sleep(5)  # repeat_interval 2s: Alertmanager sends it again, twice or more
        assert len(incidents(live_store)) == 1 and results(live_store) == 1
        ended = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        amtool(am, "alert", "add", *labels, "--annotation=summary=disk 97% full", f"--end={ended}")
        assert wait(lambda: probe(live_store, "prom/DiskFull").state == "OK")
    [incident] = incidents(live_store)
    assert incident.title == "prom/DiskFull CRITICAL: DiskFull: disk 97% full"
    [alert] = alerts(live_store)
    assert (alert.firing, alert.labels["instance"]) == (False, "db1:9100")


def test_alertmanager_pagerduty_configs_pointed_at_opsdeck(live_store: Store, tmp_path: Path) -> None:
    key = add_source(live_store, "am-pd", "events")
    with running(live_store, tmp_path) as rx:
        receivers = f"""receivers:
- name: opsdeck
  pagerduty_configs:
  - routing_key: {key}
    url: {rx.base}/v2/enqueue
    send_resolved: true
    severity: critical
"""
        with alertmanager(tmp_path, receivers) as am:
            labels = ["alertname=LinkDown", "instance=core-sw01"]
            amtool(am, "alert", "add", *labels, "--annotation=summary=uplink down")
            assert wait(lambda: len(incidents(live_store)) == 1)
            ended = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            amtool(am, "alert", "add", *labels, f"--end={ended}")
            assert wait(lambda: [a.firing for a in alerts(live_store)] == [False])
        rx.receiver._flush()
    [incident] = incidents(live_store)
    assert "CRITICAL" in incident.title and incident.reporter.startswith("system:receiver@")
    from opsdeck.backend.alerts import sources

    [row] = sources.listing(live_store)
    assert row["accepted"] >= 2 and row["rejected"] == {}


def test_a_storm_through_alertmanager_arrives_whole(live_store: Store, tmp_path: Path) -> None:
    token = add_source(live_store, "prom", "alertmanager")
    with running(live_store, tmp_path) as rx, alertmanager(tmp_path, webhook(rx.base + "/sources/prom", token)) as am:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        storm = [
            {
                "labels": {
                    "alertname": f"Storm{g}",
                    "instance": f"host{n:03d}",
                    "severity": "warning" if n % 2 else "critical",
                },
                "annotations": {"summary": f"host{n:03d} unreachable"},
                "startsAt": now,
            }
            for g in range(3)
            for n in range(150)
        ]
        httpx.post(f"{am}/api/v2/alerts", json=storm, timeout=30).raise_for_status()
        assert wait(lambda: len(alerts(live_store)) == 450, 60), len(alerts(live_store))
    groups = {probe(live_store, f"prom/Storm{g}").state for g in range(3)}
    assert groups == {"CRITICAL"}
    assert len(incidents(live_store)) == 3  # one per (source, group)
    assert {a.firing for a in alerts(live_store)} == {True}


def test_probe_silence_creates_the_silence_in_alertmanager_and_lifting_expires_it(
    live_store: Store,
    tmp_path: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    Service(live_store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    monkeypatch.setenv("OPSDECK_DB", live_store.url.render_as_string(hide_password=False))
    port = free_port()
    token = add_source(live_store, "prom", "alertmanager", alertmanager_url=f"http://127.0.0.1:{port}")
    with (
        running(live_store, tmp_path) as rx,
        alertmanager(tmp_path, webhook(rx.base + "/sources/prom", token), port=port) as am,
    ):
        amtool(am, "alert", "add", "alertname=NodeDown", "instance=app7", "job=node")
        assert wait(lambda: len(incidents(live_store)) == 1)
        code, out, err = cli(
            "probe", "silence", "prom/NodeDown", "--for", "2h", "--reason", "kernel update", "--as", "servers"
        )
        assert code == 0, err
        assert "silenced in Alertmanager too" in out
        [silence] = [
            s for s in httpx.get(f"{am}/api/v2/silences", timeout=10).json() if s["status"]["state"] == "active"
        ]
        assert {m["name"]: m["value"] for m in silence["matchers"]} == {
            "alertname": "NodeDown",
            "instance": "app7",
            "job": "node",
        }
        assert silence["comment"] == "kernel update"
        code, out, err = cli("probe", "silence", "prom/NodeDown", "--for", "0", "--reason", "done", "--as", "servers")
        assert code == 0, err
        assert "silence expired in Alertmanager too" in out
        state = httpx.get(f"{am}/api/v2/silence/{silence['id']}", timeout=10).json()["status"]["state"]
        assert state == "expired"


def test_an_unreachable_alertmanager_leaves_the_silence_here_and_warns(
    live_store: Store,
    tmp_path: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    Service(live_store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    monkeypatch.setenv("OPSDECK_DB", live_store.url.render_as_string(hide_password=False))
    token = add_source(live_store, "prom", "alertmanager", alertmanager_url=f"http://127.0.0.1:{free_port()}")
    with running(live_store, tmp_path) as rx:
        from ..receive_helpers import am_alert, am_body

        assert (
            rx.post("/sources/prom", am_body(am_alert(starts=datetime.now(UTC).isoformat())), token).status_code == 200
        )
    code, out, err = cli("probe", "silence", "prom/InstanceDown", "--for", "1h", "--reason", "r", "--as", "servers")
    assert code == 0
    assert "warning: not mirrored in Alertmanager" in err and "the silence here stands" in err
    assert probe(live_store, "prom/InstanceDown").silenced_until is not None
