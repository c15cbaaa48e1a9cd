"""`opsdeck check`, the NOC's Monitoring Plugins check, run as the real command: its exit
codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) and its output, read back by the same
plugin-output parser the ingest uses (backend/probes/plugin.py)."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from opsdeck.backend.leases import make_lease
from opsdeck.backend.models import OutboxMessage
from opsdeck.backend.probes.plugin import split_output, status_word
from opsdeck.backend.schema import SCHEMA_HEAD, open_store
from opsdeck.backend.store import Store
from opsdeck.backend.timeutil import utcnow
from opsdeck.backend.worker import DUTIES

from ..cli_process import past_incidents, process_env, wait_for
from .test_lease_liveness import stop_all

OPSDECK = str(Path(sys.executable).with_name("opsdeck"))
FIRST_LINE = re.compile(r"^OPSDECK (OK|WARNING|CRITICAL|UNKNOWN) - [^|\n]+( \| [^\n]+)?$")


def check(store_url: str, *args: str, spool: Path | None = None, heartbeat: str = "3600,3600") -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `opsdeck check` in a process of its own (the leases
    `live_leases` wrote age while the test runs: only the worker test holds them to 15 s)."""
    words = [OPSDECK, "--db", store_url, "check", "--heartbeat", heartbeat, *args]
    if spool is not None:
        words += ["--spool", str(spool)]
    done = subprocess.run(words, capture_output=True, text=True, env=process_env(), timeout=60)
    return done.returncode, done.stdout, done.stderr


def parsed(out: str) -> tuple[str | None, dict[str, float | None]]:
    """The state and perfdata values as a monitoring system reads them."""
    first = out.splitlines()[0]
    assert FIRST_LINE.match(first), first
    output, perfdata = split_output(out)
    return status_word(output.partition("\n")[0]), {p.label: p.value for p in perfdata}


def live_leases(store_url: str) -> None:
    """Every duty just renewed by a worker (one that does nothing else), on the real clock."""
    store = open_store(store_url)
    try:
        for duty in DUTIES:
            assert make_lease(store, duty, holder="test-host:1").try_acquire()
    finally:
        store.dispose()


def outbox(store: Store, state: str, age: timedelta, n: int) -> None:
    with store.write("system:test") as uow:
        for i in range(n):
            uow.session.add(
                OutboxMessage(
                    created_at=utcnow() - age,
                    event="new_incident",
                    recipient_kind="login",
                    recipient="servers",
                    idempotency_key=f"test:{state}:{age}:{i}",
                    state=state,
                )
            )


@pytest.mark.slow
def test_a_worker_that_stops_turns_the_check_critical_and_back(seeded: Store, store_url: str, tmp_path: Path) -> None:
    code, out, err = check(store_url, spool=tmp_path, heartbeat="15,60")
    assert code == 2 and "no worker has ever held a duty" in out, (out, err)
    worker = subprocess.Popen(
        [OPSDECK, "--db", store_url, "worker", "--interval", "0.2", "--duties", "escalate,notify"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=process_env(),
    )
    try:
        assert wait_for(lambda: check(store_url, spool=tmp_path, heartbeat="15,60")[0] == 0, timeout=30)
        code, out, _err = check(store_url, spool=tmp_path, heartbeat="15,60")
        state, perf = parsed(out)
        assert (code, state) == (0, "OK")
        assert perf["heartbeat_escalate"] is not None and perf["heartbeat_escalate"] < 15
        worker.send_signal(signal.SIGSTOP)
        assert wait_for(lambda: check(store_url, "--heartbeat", "1,3", spool=tmp_path)[0] == 2, timeout=30)
        code, out, _err = check(store_url, "--heartbeat", "1,3", spool=tmp_path)
        state, perf = parsed(out)
        assert (code, state) == (2, "CRITICAL")
        assert "duty escalate: no renewal for" in out.splitlines()[0]
        assert (perf["heartbeat_escalate"] or 0) > 3
        worker.send_signal(signal.SIGCONT)
        assert wait_for(lambda: check(store_url, "--heartbeat", "1,3", spool=tmp_path)[0] == 0, timeout=30)
    finally:
        stop_all(worker)


def test_an_outbox_that_fills_warns_then_goes_critical(seeded: Store, store_url: str, tmp_path: Path) -> None:
    live_leases(store_url)
    code, out, _err = check(store_url, spool=tmp_path)
    assert (code, parsed(out)[0]) == (0, "OK"), out
    outbox(seeded, "pending", timedelta(minutes=10), 3)
    code, out, _err = check(store_url, spool=tmp_path)
    state, perf = parsed(out)
    assert (code, state) == (1, "WARNING"), out
    assert "oldest undelivered notification waits" in out.splitlines()[0]
    assert 590 < (perf["oldest_pending"] or 0) < 700
    outbox(seeded, "failed", timedelta(minutes=1), 2)
    code, out, _err = check(store_url, spool=tmp_path)
    assert (code, parsed(out)[1]["failed"]) == (1, 2)
    outbox(seeded, "pending", timedelta(minutes=20), 1)
    code, out, _err = check(store_url, spool=tmp_path)
    assert (code, parsed(out)[0]) == (2, "CRITICAL")
    code, out, _err = check(store_url, "--pending", "3600,7200", "--failed", "5,10", spool=tmp_path)
    assert (code, parsed(out)[0]) == (0, "OK"), out  # thresholds are options
    outbox(seeded, "dead", timedelta(minutes=1), 1)
    code, out, _err = check(store_url, "--pending", "3600,7200", "--failed", "5,10", spool=tmp_path)
    assert code == 2 and "1 notifications dead" in out.splitlines()[0]
    data = json.loads(check(store_url, "--json", spool=tmp_path)[1])
    assert data["state"] == "CRITICAL" and data["exit"] == 2
    assert {m["label"]: m["value"] for m in data["measures"]}["dead"] == 1


def test_a_quarantine_in_the_last_hour_warns(seeded: Store, store_url: str, tmp_path: Path) -> None:
    live_leases(store_url)
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "broken.json").write_text('{"probe": "x", "state": ')
    (spool / "bad.prom").write_text("load 1 2 3 4 5\n")

    def ingested() -> bool:  # files still being written are left for a later scan: scan until both are taken
        done = subprocess.run(
            [OPSDECK, "--db", store_url, "ingest", "--spool", str(spool), "--once"],
            capture_output=True,
            text=True,
            env=process_env(),
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return len(list((spool / "quarantine").glob("*.reason"))) == 2

    assert wait_for(ingested, timeout=30)
    code, out, _err = check(store_url, spool=spool)
    state, perf = parsed(out)
    assert (code, state, perf["quarantined_1h"]) == (1, "WARNING", 2), out
    assert "2 spool files quarantined in the last hour" in out.splitlines()[0]
    assert check(store_url, "--quarantined", "0,1", spool=spool)[0] == 2
    assert check(store_url, "--quarantined", "5,10", spool=spool)[0] == 0


def test_a_breach_nobody_escalated_is_critical_until_escalated(seeded: Store, store_url: str, tmp_path: Path) -> None:
    live_leases(store_url)
    past_incidents(store_url, 1)
    code, out, _err = check(store_url, "--pending", "100000,100000", spool=tmp_path)
    state, perf = parsed(out)
    assert (code, state) == (2, "CRITICAL"), out
    assert (perf["unescalated"] or 0) >= 1 and "breached deadlines not escalated" in out.splitlines()[0]
    subprocess.run(
        [OPSDECK, "--db", store_url, "escalate", "--once"], env=process_env(), check=True, capture_output=True
    )
    code, out, _err = check(store_url, "--pending", "100000,100000", spool=tmp_path)
    assert (code, parsed(out)[1]["unescalated"]) == (0, 0), out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_the_receiver_answering_or_not(seeded: Store, store_url: str, tmp_path: Path) -> None:
    live_leases(store_url)
    listen = f"127.0.0.1:{_free_port()}"
    code, out, _err = check(store_url, "--receiver", listen, spool=tmp_path)
    assert code == 2 and "receiver at http://" in out and "unreachable" in out, out
    receiver = subprocess.Popen(
        [OPSDECK, "--db", store_url, "receive", "--listen", listen],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=process_env(),
    )
    try:
        assert wait_for(lambda: check(store_url, "--receiver", listen, spool=tmp_path)[0] == 0, timeout=30)
    finally:
        stop_all(receiver)


def test_an_unreachable_store_is_critical_and_a_bad_command_line_unknown(tmp_path: Path) -> None:
    for url in (
        "postgresql+psycopg://postgres@127.0.0.1:1/test",
        f"sqlite:///{tmp_path / 'no-such.db'}",
    ):
        code, out, err = check(url, spool=tmp_path)
        assert code == 2, (out, err)
        assert parsed(out)[0] == "CRITICAL" and "store unreachable" in out
    for args in (["--heartbeat", "60"], ["--heartbeat", "60,15"], ["--pending", "nan,1"], ["--no-such-option"]):
        code, out, err = check(f"sqlite:///{tmp_path / 'x.db'}", *args)
        assert code == 3, (args, out, err)
        assert parsed(out)[0] == "UNKNOWN"
        assert "see `opsdeck check --help`" in out  # the fix names the check's own help
    code, out, _err = check("mysql://x@y/z", spool=tmp_path)
    assert code == 3 and out.startswith("OPSDECK UNKNOWN - "), out
    code, out, _err = check(f"sqlite:///{tmp_path / 'x.db'}", "--help")
    assert code == 3 and "WARN,CRIT" in out  # help answers UNKNOWN, as the Monitoring Plugins' do


def test_a_store_on_an_older_schema_is_critical_and_left_as_it_was(
    seeded: Store, store_url: str, tmp_path: Path
) -> None:
    live_leases(store_url)
    with seeded.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0014'"))
    code, out, _err = check(store_url, spool=tmp_path)
    assert (code, parsed(out)[0]) == (2, "CRITICAL"), out
    assert f"this opsdeck needs {SCHEMA_HEAD}" in out and "opsdeck db upgrade" in out
    with seeded.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0014"


NAGIOS = Path("/usr/sbin/nagios4")
NAGIOS_CFG = """log_file={d}/nagios.log
cfg_file={d}/objects.cfg
status_file={d}/status.dat
status_update_interval=1
temp_file={d}/nagios.tmp
temp_path={d}
lock_file={d}/nagios.lock
command_file={d}/nagios.cmd
check_result_path={d}/checkresults
state_retention_file={d}/retention.dat
retain_state_information=0
nagios_user=root
nagios_group=root
check_external_commands=0
interval_length=1
max_service_check_spread=1
max_host_check_spread=1
service_inter_check_delay_method=n
host_inter_check_delay_method=n
check_result_reaper_frequency=1
enable_notifications=0
"""
NAGIOS_OBJECTS = """define command {{
  command_name check_opsdeck
  command_line /usr/bin/env OPSDECK_CONFIG=/nonexistent PYTHONPATH={root} {opsdeck} --db {url} check --spool {d}
}}
define command {{
  command_name check_dummy
  command_line /bin/true
}}
define timeperiod {{
  timeperiod_name always
  alias always
{days}
}}
define contact {{
  contact_name nobody
  host_notifications_enabled 0
  service_notifications_enabled 0
  host_notification_period always
  service_notification_period always
  host_notification_options n
  service_notification_options n
  host_notification_commands check_dummy
  service_notification_commands check_dummy
}}
define host {{
  host_name opsdeck
  address 127.0.0.1
  check_command check_dummy
  max_check_attempts 1
  check_period always
  contacts nobody
  notification_period always
}}
define service {{
  host_name opsdeck
  service_description opsdeck
  check_command check_opsdeck
  max_check_attempts 1
  check_interval 2
  retry_interval 1
  check_period always
  contacts nobody
  notification_period always
}}
"""


def _service_status(status: Path) -> dict[str, str]:
    if not status.exists():
        return {}
    block = status.read_text().partition("servicestatus {")[2].partition("}")[0]
    return dict(line.strip().split("=", 1) for line in block.splitlines() if "=" in line)


@pytest.mark.slow
def test_nagios_runs_the_check_and_reads_its_state_and_perfdata(seeded: Store, store_url: str, tmp_path: Path) -> None:
    """Nagios Core itself (Debian's nagios4) schedules the check and stores what it read."""
    if not NAGIOS.exists():
        pytest.skip("Nagios Core is not installed here (apt-get install nagios4-core)")
    live_leases(store_url)
    outbox(seeded, "dead", timedelta(minutes=1), 1)
    d = tmp_path / "nagios"
    (d / "checkresults").mkdir(parents=True)
    (d / "nagios.cfg").write_text(NAGIOS_CFG.format(d=d))
    days = "\n".join(f"  {day} 00:00-24:00" for day in ("monday", "tuesday", "wednesday", "thursday", "friday"))
    days += "\n  saturday 00:00-24:00\n  sunday 00:00-24:00"
    root = Path(__file__).parents[2]
    (d / "objects.cfg").write_text(NAGIOS_OBJECTS.format(d=d, root=root, opsdeck=OPSDECK, url=store_url, days=days))
    nagios = subprocess.Popen([str(NAGIOS), str(d / "nagios.cfg")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: _service_status(d / "status.dat").get("has_been_checked") == "1", timeout=60), (
            d / "nagios.log"
        ).read_text()
        status = _service_status(d / "status.dat")
    finally:
        nagios.terminate()
        nagios.wait(timeout=20)
    assert status["current_state"] == "2", status
    assert status["plugin_output"].startswith("OPSDECK CRITICAL - 1 notifications dead"), status
    assert "dead=1;0;0;0;" in status["performance_data"] and "heartbeat_escalate=" in status["performance_data"]
