"""`opsdeck metrics --textfile DIR`, run as the real command, read by prometheus_client's
parser and by node_exporter itself (Debian's prometheus-node-exporter): a textfile it
refuses (node_textfile_scrape_error 1) fails the test."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from opsdeck.backend.store import Store

from ..cli_process import past_incidents, process_env, wait_for
from .test_check import live_leases, outbox
from .test_lease_liveness import stop_all

OPSDECK = str(Path(sys.executable).with_name("opsdeck"))
NODE_EXPORTER = Path("/usr/bin/prometheus-node-exporter")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_textfile_holds_the_stores_state(seeded: Store, store_url: str, tmp_path: Path) -> None:
    live_leases(store_url)
    past_incidents(store_url, 2)
    subprocess.run(
        [OPSDECK, "--db", store_url, "escalate", "--once"], env=process_env(), check=True, capture_output=True
    )
    outbox(seeded, "dead", timedelta(minutes=1), 3)
    done = subprocess.run(
        [OPSDECK, "--db", store_url, "metrics", "--textfile", str(tmp_path)],
        env=process_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "opsdeck.prom").read_text()
    assert not list(tmp_path.glob("*.prom.*")), "a temporary file was left behind"
    found = samples(text)
    assert found[("opsdeck_incidents_open", (("level", "IV"), ("status", "acknowledged")))] == 2
    assert found[("opsdeck_notifications", (("state", "dead"),))] == 3
    escalated = {k: v for k, v in found.items() if k[0] == "opsdeck_escalations_total"}
    assert escalated and all(v >= 2 for v in escalated.values())
    assert found[("opsdeck_duty_lease_holder", (("duty", "escalate"), ("holder", "test-host:1")))] == 1
    assert ("opsdeck_duty_lease_renewal_age_seconds", (("duty", "escalate"),)) in found
    assert "# TYPE opsdeck_escalations_total counter" in text and "# HELP opsdeck_incidents_open " in text
    printed = subprocess.run([OPSDECK, "--db", store_url, "metrics"], env=process_env(), capture_output=True, text=True)
    assert printed.returncode == 0
    # the same series, but a lease may have expired in between (its holder is shown only while live)
    assert {k for k in samples(printed.stdout) if k[0] != "opsdeck_duty_lease_holder"} == {
        k for k in found if k[0] != "opsdeck_duty_lease_holder"
    }


def test_a_missing_folder_is_refused_with_the_fix(seeded: Store, store_url: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [OPSDECK, "--db", store_url, "metrics", "--textfile", str(tmp_path / "nope")],
        env=process_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "is not a folder" in done.stderr and "textfile.directory" in done.stderr


def _scrape(folder: Path) -> str:
    port = _free_port()
    exporter = subprocess.Popen(
        [
            str(NODE_EXPORTER),
            "--collector.disable-defaults",
            "--collector.textfile",
            f"--collector.textfile.directory={folder}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        got: list[str] = []

        def scraped() -> bool:
            try:
                got.append(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
            except httpx.HTTPError:
                return False
            return True

        assert wait_for(scraped, timeout=30)
        return got[-1]
    finally:
        stop_all(exporter)  # type: ignore[arg-type]


@pytest.mark.slow
def test_node_exporter_takes_the_textfile(seeded: Store, store_url: str, tmp_path: Path) -> None:
    if not NODE_EXPORTER.exists():
        pytest.skip("node_exporter is not installed here (apt-get install prometheus-node-exporter)")
    live_leases(store_url)
    past_incidents(store_url, 1)
    folder = tmp_path / "textfile"
    folder.mkdir()
    subprocess.run([OPSDECK, "--db", store_url, "metrics", "--textfile", str(folder)], env=process_env(), check=True)
    found = samples(_scrape(folder))
    assert found[("node_textfile_scrape_error", ())] == 0
    assert found[("opsdeck_incidents_open", (("level", "IV"), ("status", "acknowledged")))] == 1
    # the control: a file node_exporter refuses is seen as refused
    (folder / "opsdeck.prom").write_text("# TYPE x counter\nx_total 1 1700000000000\n")
    assert samples(_scrape(folder))[("node_textfile_scrape_error", ())] == 1


@pytest.mark.slow
def test_the_worker_serves_metrics_when_asked(seeded: Store, store_url: str) -> None:
    listen = f"127.0.0.1:{_free_port()}"
    worker = subprocess.Popen(
        [OPSDECK, "--db", store_url, "worker", "--interval", "0.2", "--duties", "escalate", "--metrics-listen", listen],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=process_env(),
    )
    got: list[dict[tuple[str, tuple[tuple[str, str], ...]], float]] = []

    def holder_shown() -> bool:
        try:
            got.append(samples(httpx.get(f"http://{listen}/metrics", timeout=5).text))
        except httpx.HTTPError:
            return False
        return any(k[0] == "opsdeck_duty_lease_holder" and ("duty", "escalate") in k[1] for k in got[-1])

    try:
        assert wait_for(holder_shown, timeout=30)
        assert got[-1][("opsdeck_duty_lease_renewal_age_seconds", (("duty", "escalate"),))] < 15
    finally:
        stop_all(worker)
    done = subprocess.run(
        [OPSDECK, "--db", store_url, "worker", "--duties", "escalate", "--metrics-listen", "nowhere"],
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "'nowhere' is not HOST:PORT" in done.stderr
