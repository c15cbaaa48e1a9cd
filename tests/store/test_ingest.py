"""The spool against a real store: every format taken in exactly once, bad input
quarantined with its reason, probe health and the incidents it opens."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from opsdeck.backend import audit, probe_queries, queries
from opsdeck.backend.ingest import Ingester, SpoolSettings
from opsdeck.backend.models import AuditEvent, Incident, Probe, ProbeResult
from opsdeck.backend.service import Service
from opsdeck.backend.spool_report import spool_summary
from opsdeck.backend.store import Store

from ..conftest import FakeClock

# Also with database roles on, each write as its actor's role (tests/pg_roles_mode.py).
pytestmark = pytest.mark.pg_roles

FIXTURES = Path(__file__).parents[2] / "fixtures" / "probes"
WORKER = "system:worker@test"


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    path = tmp_path / "spool"
    path.mkdir()
    return path


def ingester(store: Store, spool: Path, **settings: object) -> Ingester:
    return Ingester(store, SpoolSettings(spool, **{"settle_s": 0.2, **settings}), actor=WORKER)  # type: ignore[arg-type]


def copy(folder: str, spool: Path, *names: str) -> None:
    for name in names or os.listdir(FIXTURES / folder):
        shutil.copy2(FIXTURES / folder / name, spool / name)


def probes(store: Store) -> dict[str, dict]:
    with store.read() as session:
        return {p["name"]: p for p in probe_queries.probes(session, store.clock())}


def result_count(store: Store) -> int:
    with store.read() as session:
        return session.execute(select(func.count()).select_from(ProbeResult)).scalar_one()


def plugin(spool: Path, name: str, output: str, rc: int | None) -> None:
    """As a probe writes: the output, then the exit code (the commit marker), each atomically."""
    (spool / f"{name}.out.tmp").write_text(output)
    os.replace(spool / f"{name}.out.tmp", spool / f"{name}.out")
    if rc is not None:
        (spool / f"{name}.rc.tmp").write_text(f"{rc}\n")
        os.replace(spool / f"{name}.rc.tmp", spool / f"{name}.rc")


def test_every_good_file_is_taken_in_once(store: Store, spool: Path) -> None:
    copy("good", spool)
    first = ingester(store, spool).scan()
    assert first.quarantined == 0
    assert first.waiting >= 1  # cWAIT01 has no .ok marker
    stored = result_count(store)
    assert stored == first.results > 30
    again = ingester(store, spool).scan()  # a new process: nothing remembered in memory
    assert (again.ingested, again.results) == (0, 0)
    assert result_count(store) == stored
    left = sorted(os.listdir(spool))
    assert "cWAIT01" in left and "web01-load.out" not in left  # drop files moved to done/
    assert "web01-load.out" in os.listdir(spool / "done") and "local-checks.prom" in left  # state files stay


def test_a_storm_read_in_small_windows_and_chunks_takes_every_pair_once(store: Store, spool: Path) -> None:
    """The listing is read a window of names at a time and committed a chunk at a time:
    a pair whose .out and .rc fall in different windows is still taken once, together,
    and nothing is left behind or quarantined as an orphan."""
    copy("good", spool)  # every format, .ok markers and state files among the pairs
    for index in range(23):
        plugin(spool, f"storm-{index:02d}", f"OK - answer {index}\n", 0)
    report = Ingester(store, SpoolSettings(spool, settle_s=0.2), actor=WORKER, window=3, batch=2).scan()
    whole = ingester(store, spool).scan()  # what one window would still have found
    assert report.quarantined == 0
    assert (whole.ingested, whole.results, whole.quarantined) == (0, 0, 0)
    assert result_count(store) == report.results > 23 + 30
    left = [n for n in os.listdir(spool) if n.startswith("storm-")]
    assert left == []
    assert sorted(n for n in os.listdir(spool / "done") if n.startswith("storm-")) == sorted(
        f"storm-{i:02d}{suffix}" for i in range(23) for suffix in (".out", ".rc")
    )
    assert probes(store)["storm-07"]["output"] == "OK - answer 7"


def test_the_probe_naming_contract(store: Store, spool: Path) -> None:
    copy("good", spool)
    ingester(store, spool).scan()
    names = set(probes(store))
    assert {"core-sw01/LAN uplink traffic", "core-sw01", "web01-load", "blackbox-dns"} <= names
    assert {"https://portal.example.org/", "lan-traffic-floor3", "portal", "backup-storage"} <= names
    assert probes(store)["nas01-backup-volume"]["state"] == "CRITICAL"
    assert probes(store)["web01-load"]["state"] == "OK"


def test_plugin_output_without_exit_code_waits_then_reads_its_status_word(store: Store, spool: Path) -> None:
    plugin(spool, "disk-root", "DISK CRITICAL - / 97% used\n", None)
    first = ingester(store, spool).scan()
    assert (first.ingested, first.waiting) == (0, 1)
    time.sleep(0.3)
    ingest = ingester(store, spool)
    ingest.scan()  # sees it once more: unchanged for the settle time
    time.sleep(0.05)
    ingest.scan()
    assert probes(store)["disk-root"]["state"] == "CRITICAL"


def test_a_long_running_ingester_forgets_the_files_that_waited_and_went(store: Store, spool: Path) -> None:
    """Sizes are kept only for names still waiting to settle: a worker that saw thousands
    of files wait and then vanish (taken by a standby, removed) holds none of them.

    The settle time is long enough that writing the 300 files on a loaded machine cannot
    outlast it (at 0.2 s some settled before the first scan); the last file is aged by
    its mtime instead of by sleeping."""
    ingest = ingester(store, spool, settle_s=30.0)
    for n in range(300):
        plugin(spool, f"gone-{n}", "DISK OK\n", None)  # output without exit code: waits
    assert ingest.scan().waiting == 300
    for n in range(300):
        os.remove(spool / f"gone-{n}.out")
    plugin(spool, "disk-root", "DISK CRITICAL - / 97% used\n", None)
    assert ingest.scan().waiting == 1
    assert set(ingest._sizes) == {"disk-root.out"}
    aged = time.time() - 60
    os.utime(spool / "disk-root.out", (aged, aged))  # as if written a minute ago
    ingest.scan()  # its mtime moved: seen again, not yet settled
    ingest.scan()  # settles: its size and mtime from the scan before are kept
    ingest.scan()
    assert probes(store)["disk-root"]["state"] == "CRITICAL" and not ingest._sizes


def test_a_crash_between_moving_a_pairs_two_files_is_finished_not_quarantined(store: Store, spool: Path) -> None:
    """Killed after moving the .out to done/ but before the .rc: the next scan moves the
    .rc after it at once (its pair is on record), and takes nothing twice."""
    plugin(spool, "web-ping", "PING OK - 3 ms\n", 0)
    ingester(store, spool).scan()
    os.replace(spool / "done" / "web-ping.rc", spool / "web-ping.rc")  # as the crash left it
    stored = result_count(store)
    again = ingester(store, spool).scan()
    assert (again.ingested, again.quarantined) == (0, 0)
    assert sorted(os.listdir(spool / "done")) == ["web-ping.out", "web-ping.rc"]
    assert "web-ping.rc" not in os.listdir(spool) and result_count(store) == stored


def test_a_new_exit_code_is_not_mistaken_for_last_runs_leftover(store: Store, spool: Path) -> None:
    """Last run's pair is in done/ under the same name; a new .rc (its .out not written
    yet) is not that pair's and must not be swept into done/ with it."""
    plugin(spool, "web-ping", "PING OK - 3 ms\n", 0)
    ingester(store, spool).scan()
    (spool / "web-ping.rc").write_text("2\n")  # a new run, written out of order
    ingester(store, spool).scan()
    assert "web-ping.rc" in os.listdir(spool)  # waits for its own .out
    plugin(spool, "web-ping", "PING CRITICAL - timeout\n", None)
    ingester(store, spool).scan()
    assert probes(store)["web-ping"]["state"] == "CRITICAL"  # the new pair, exit code and all


def test_bad_input_is_quarantined_with_its_reason_and_nothing_else_stops(store: Store, spool: Path) -> None:
    copy("broken", spool)
    plugin(spool, "fine", "OK - all good\n", 0)
    time.sleep(0.3)
    ingest = ingester(store, spool)
    ingest.scan()
    ingest.scan()
    assert probes(store)["fine"]["state"] == "OK"
    quarantine = spool / "quarantine"
    reasons = {p.name[: -len(".reason")]: p.read_text() for p in quarantine.glob("*.reason")}
    assert "line 3" in reasons["bad-line.prom"]
    assert "client-side timestamp" in reasons["client-timestamps.prom"]
    assert "binary" in reasons["binary-nul.out"]
    assert "without host_name" in reasons["cNOHST1"]
    assert (quarantine / "truncated.json").exists() and not (spool / "truncated.json").exists()
    assert (spool / "bad-line.prom").exists()  # a state file belongs to its writer: copied, not moved
    assert spool_summary(store)["quarantined"] == len(reasons)


def test_a_file_over_the_size_limit_and_a_symlink_are_quarantined(store: Store, spool: Path, tmp_path: Path) -> None:
    (spool / "big.json").write_bytes(b'{"status": "pass", "output": "' + b"x" * 2000 + b'"}')
    outside = tmp_path / "secret.json"
    outside.write_text('{"status": "pass"}')
    (spool / "link.json").symlink_to(outside)
    report = ingester(store, spool, max_bytes=1000).scan()
    assert report.quarantined == 2
    assert "over 1000 bytes" in (spool / "quarantine" / "big.json.reason").read_text()
    assert "a symbolic link: not followed" in (spool / "quarantine" / "link.json.reason").read_text()
    assert not (spool / "quarantine" / "link.json").exists()  # nothing of what it points to is copied
    assert not (spool / "link.json").is_symlink()  # the link is removed, not what it points to
    assert outside.read_text() == '{"status": "pass"}'
    assert len((spool / "quarantine" / "big.json").read_bytes()) == 2032  # copied whole


BAD_STATE_FILES = {
    "malformed": b'opsdeck_probe_status{probe="p" 0\n',
    "binary": b"\x00\x01\x02garbage\x00" * 20,
    "over the size limit": b"".join(b'opsdeck_probe_status{probe="p%d"} 0\n' % i for i in range(100)),
}


@pytest.mark.parametrize("bad", BAD_STATE_FILES)
def test_a_bad_state_file_is_quarantined_once_until_its_writer_changes_it(store: Store, spool: Path, bad: str) -> None:
    """A .prom is read in place, never moved: a bad one copied to quarantine/ at every scan
    (every two seconds under the worker) would fill the disk."""
    (spool / "bad.prom").write_bytes(BAD_STATE_FILES[bad])
    quarantine = spool / "quarantine"
    ingest = ingester(store, spool, max_bytes=1000)
    scans = [ingest.scan() for _ in range(3)]
    restarted = ingester(store, spool, max_bytes=1000).scan()  # nothing remembered in memory
    assert [r.quarantined for r in (*scans, restarted)] == [1, 0, 0, 0]
    assert sorted(os.listdir(quarantine)) == ["bad.prom", "bad.prom.reason"]
    assert spool_summary(store)["quarantined"] == 1
    assert (spool / "bad.prom").exists()  # its writer's file: left where it is
    (spool / "bad.prom").write_bytes(BAD_STATE_FILES[bad] + b"\x00")  # rewritten, still bad: said again, once
    assert [ingest.scan().quarantined for _ in range(2)] == [1, 0]
    assert len(list(quarantine.glob("*.reason"))) == 2


def test_gb18030_is_read_with_the_spool_encoding(store: Store, spool: Path) -> None:
    copy("gb18030", spool)
    report = ingester(store, spool, encoding="gb18030").scan()
    assert report.quarantined == 0
    [probe] = probes(store).values()
    assert "病毒" in probe["output"] or "防" in probe["output"]


def test_undecodable_bytes_are_replaced_and_flagged_not_quarantined(store: Store, spool: Path) -> None:
    copy("hostile", spool, "c1-raw-byte.out", "c1-raw-byte.rc")
    ingester(store, spool).scan()
    with store.read() as session:
        [row] = session.execute(select(ProbeResult)).scalars().all()
    assert row.flags == ["decode_replaced"] and "\ufffd" in row.output


def test_hostile_text_is_stored_as_received(store: Store, spool: Path) -> None:
    copy("hostile", spool, "escapes.out", "escapes.rc")
    ingester(store, spool).scan()
    output = probes(store)["escapes"]["output"]
    assert "\x1b]52;c;" in output  # stored as received: the screen neutralizes it


def test_an_identical_prom_rewrite_is_a_fresh_result(store: Store, spool: Path, clock: FakeClock) -> None:
    copy("good", spool, "local-checks.prom")
    ingest = ingester(store, spool)
    ingest.scan()
    before = result_count(store)
    clock.advance(minutes=1)
    path = spool / "local-checks.prom"
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    ingest.scan()
    assert result_count(store) == 2 * before
    ingest.scan()  # unchanged since: nothing
    assert result_count(store) == 2 * before


def test_json_lines_are_read_from_a_committed_cursor(store: Store, spool: Path) -> None:
    path = spool / "events.jsonl"
    line = lambda n, status="ok": json.dumps({"probe": f"p{n}", "status": status, "id": f"r{n}"}) + "\n"  # noqa: E731
    path.write_text(line(1) + line(2) + '{"probe": "p3", "sta')  # a half-written last line waits
    ingester(store, spool).scan()
    assert set(probes(store)) == {"p1", "p2"}
    with path.open("a") as handle:
        handle.write('tus": "fail"}\n')
    ingester(store, spool).scan()
    assert probes(store)["p3"]["state"] == "CRITICAL"
    assert result_count(store) == 3
    path.write_text(line(1) + line(4))  # truncated and rewritten: starts again, ids dedupe
    ingester(store, spool).scan()
    assert result_count(store) == 4 and "p4" in probes(store)
    path.unlink()
    path.write_text(line(5))  # a new inode
    ingester(store, spool).scan()
    assert "p5" in probes(store)


def test_nagios_results_older_than_max_result_age_are_stored_stale(store: Store, spool: Path, clock: FakeClock) -> None:
    copy("good", spool, "cLAN001", "cLAN001.ok")
    clock.advance(hours=2)  # file_time is 03:00; the clock reads 05:00
    report = ingester(store, spool).scan()
    assert report.stale == report.results == 3
    assert all(p["last_result_at"] is None for p in probes(store).values())  # not as current


# -- probe health and incidents -------------------------------------------------------------


def crit(spool: Path, ingest: Ingester, clock: FakeClock, name: str = "db-ping", state: int = 2) -> None:
    clock.advance(minutes=1)
    words = {0: "OK", 1: "WARNING", 2: "CRITICAL"}
    plugin(spool, name, f"PING {words[state]} - 100% loss\n", state)
    ingest.scan()


def open_incidents(store: Store) -> list[Incident]:
    with store.read() as session:
        return list(session.execute(select(Incident).where(Incident.status != "closed")).scalars())


def test_three_criticals_open_one_incident_and_later_failures_attach(
    seeded: Store, spool: Path, clock: FakeClock
) -> None:
    ingest = ingester(seeded, spool)
    crit(spool, ingest, clock)
    crit(spool, ingest, clock)
    assert open_incidents(seeded) == []
    crit(spool, ingest, clock)
    [incident] = open_incidents(seeded)
    assert incident.title.startswith("db-ping CRITICAL: PING CRITICAL") and incident.reporter == WORKER
    crit(spool, ingest, clock)
    assert len(open_incidents(seeded)) == 1
    with seeded.read() as session:
        attached = session.execute(
            select(func.count()).select_from(ProbeResult).where(ProbeResult.incident_id == incident.id)
        ).scalar_one()
    assert attached == 2  # the third result that opened it, and the fourth
    for _ in range(3):
        crit(spool, ingest, clock, state=0)
    with seeded.read() as session:
        notes = queries.incident_detail(session, incident.id)["notes"]
    assert len(notes) == 1 and "recovered" in notes[0]["text"]


def test_after_a_resolve_no_new_incident_until_the_probe_recovers(seeded: Store, spool: Path, clock: FakeClock) -> None:
    ingest = ingester(seeded, spool)
    for _ in range(3):
        crit(spool, ingest, clock)
    [incident] = open_incidents(seeded)
    Service(seeded, "servers").resolve(incident.id, resolution="restarted the router")
    Service(seeded, "servers").close(incident.id, false_alarm_reason="flaky link")
    for _ in range(4):
        crit(spool, ingest, clock)
    assert open_incidents(seeded) == []  # held down
    crit(spool, ingest, clock, state=0)
    for _ in range(3):
        crit(spool, ingest, clock)
    assert len(open_incidents(seeded)) == 1


def test_a_silenced_probe_opens_no_incident(seeded: Store, spool: Path, clock: FakeClock) -> None:
    ingest = ingester(seeded, spool)
    crit(spool, ingest, clock)
    Service(seeded, "servers").silence(probe="db-ping", duration=timedelta(hours=2), reason="switch firmware upgrade")
    for _ in range(4):
        crit(spool, ingest, clock)
    assert open_incidents(seeded) == []
    assert probes(seeded)["db-ping"]["silenced_until"] is not None
    assert result_count(seeded) == 5  # results are still stored
    clock.advance(hours=2)
    for _ in range(3):
        crit(spool, ingest, clock)
    assert len(open_incidents(seeded)) == 1


def test_a_probe_whose_parent_system_is_down_opens_no_incident(
    seeded: Store, spool: Path, clock: FakeClock, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[[probes.match]]\npattern = "db-*"\nsystem = "db-cluster"\n\n'
        '[[probes.match]]\npattern = "app-*"\nsystem = "benefits-app"\n'
    )
    Service(seeded, "lead").apply_policy(policy)
    ingest = ingester(seeded, spool)
    crit(spool, ingest, clock, name="db-ping")  # db-cluster is benefits-app's parent
    for _ in range(3):
        crit(spool, ingest, clock, name="app-http")
    assert open_incidents(seeded) == []
    assert probes(seeded)["app-http"]["system"] == "benefits-app"


def test_new_probes_of_one_scan_are_in_the_store_before_anything_reads_it(
    seeded: Store, spool: Path, clock: FakeClock, tmp_path: Path
) -> None:
    """A scan's new probes are created with its results (on SQLite written once, as the
    batch moved them): a parent's first CRITICAL, new in the same scan, already holds its
    child's incident back, and the incident the parent opens points at the parent's row."""
    policy = tmp_path / "policy.toml"
    policy.write_text(
        "[probes]\ncritical_after = 1\n\n"
        '[[probes.match]]\npattern = "a-db-*"\nsystem = "db-cluster"\n\n'
        '[[probes.match]]\npattern = "b-app-*"\nsystem = "benefits-app"\n'
    )
    Service(seeded, "lead").apply_policy(policy)
    clock.advance(minutes=1)
    plugin(spool, "a-db-ping", "PING CRITICAL - 100% loss\n", 2)  # db-cluster is benefits-app's parent
    plugin(spool, "b-app-http", "HTTP CRITICAL - 503\n", 2)
    plugin(spool, "c-web-ok", "HTTP OK - 200\n", 0)
    assert ingester(seeded, spool).scan().results == 3
    [incident] = open_incidents(seeded)
    health = probes(seeded)
    assert incident.title.startswith("a-db-ping CRITICAL") and health["a-db-ping"]["incident_id"] == incident.id
    assert health["b-app-http"]["incident_id"] is None and health["b-app-http"]["system"] == "benefits-app"
    assert [health[n]["state"] for n in ("a-db-ping", "b-app-http", "c-web-ok")] == ["CRITICAL", "CRITICAL", "OK"]
    assert [health[n]["consecutive"] for n in ("a-db-ping", "b-app-http", "c-web-ok")] == [1, 1, 1]
    assert health["c-web-ok"]["state_since"] == health["c-web-ok"]["last_result_at"] is not None
    with seeded.read() as session:
        ids = dict(session.execute(select(Probe.name, Probe.id)).all())
        stored = dict(session.execute(select(ProbeResult.probe_id, ProbeResult.state)).all())
    assert ids["a-db-ping"] < ids["b-app-http"] < ids["c-web-ok"]  # in name order, as one INSERT of them gives
    assert incident.probe_id == ids["a-db-ping"]
    assert stored == {ids["a-db-ping"]: "CRITICAL", ids["b-app-http"]: "CRITICAL", ids["c-web-ok"]: "OK"}


def test_probes_without_results_go_stale(seeded: Store, spool: Path, clock: FakeClock) -> None:
    from opsdeck.backend import clocks, probe_stale

    ingest = ingester(seeded, spool)
    crit(spool, ingest, clock, state=0)
    clock.advance(minutes=11)  # new probe: 5 min expected interval, stale after 10
    with seeded.write(WORKER) as uow:
        changed = probe_stale.sweep_stale(uow, clocks.load_policy(uow.session).probes)
    assert changed == ["db-ping"] and probes(seeded)["db-ping"]["stale"] is True


def test_readiness_state_comes_from_the_age_of_the_last_good_run(seeded: Store, spool: Path, clock: FakeClock) -> None:
    from opsdeck.backend import clocks, probe_stale

    copy("good", spool, "readiness-backups.prom")
    ingester(seeded, spool).scan()
    found = probes(seeded)
    assert found["backup-os-config-local"]["readiness_cell"] == "os_config:local"
    assert found["backup-os-config-local"]["state"] == "OK"  # 4 h old
    assert found["backup-app-data-offsite"]["state"] == "WARNING"  # 45 h: past 26 h, not 50 h
    clock.advance(hours=6)  # no new run: the age moves on
    with seeded.write(WORKER) as uow:
        probe_stale.sweep_stale(uow, clocks.load_policy(uow.session).probes)
    assert probes(seeded)["backup-app-data-offsite"]["state"] == "CRITICAL"


def test_a_long_json_lines_backlog_is_read_over_several_scans(store: Store, spool: Path) -> None:
    """Each scan reads at most 16 x max_bytes of a state file; the rest is read by the
    next scans even though the file does not change again."""
    lines = "".join(json.dumps({"probe": f"p{n:03d}", "status": "ok", "id": str(n)}) + "\n" for n in range(120))
    (spool / "backlog.jsonl").write_text(lines)
    ingest = ingester(store, spool, max_bytes=100)  # 1,600 bytes a scan: about 30 lines
    for _ in range(8):
        ingest.scan()
    assert result_count(store) == 120


def test_a_binary_checkresult_with_its_marker_is_quarantined_once(store: Store, spool: Path) -> None:
    (spool / "cBIN001").write_bytes(b"\x00\x01\x02garbage\x00" * 20)
    (spool / "cBIN001.ok").write_bytes(b"")
    ingest = ingester(store, spool)
    first, second = ingest.scan(), ingest.scan()
    assert (first.quarantined, second.quarantined) == (1, 0)
    assert "binary" in (spool / "quarantine" / "cBIN001.reason").read_text()
    assert sorted(os.listdir(spool)) == ["done", "quarantine"]


def test_incidents_opened_in_one_scan_leave_every_chain_whole(seeded: Store, spool: Path, clock: FakeClock) -> None:
    """A scan's write holds its audit events until its end (`defer_events`): every event
    still goes in, in the order recorded, each chain linked and its head on its newest."""
    ingest = ingester(seeded, spool)
    names = [f"web-{index}" for index in range(6)]
    sent: list[tuple[int, bool]] = []  # each INSERT of audit events: its rows, whether an executemany

    def count(_conn: object, _cursor: object, sql: str, params: Any, _context: object, many: bool) -> None:
        if sql.startswith("INSERT INTO audit_events"):
            sent.append((len(params) if many else 1, many))

    for _ in range(3):  # the third CRITICAL of each probe opens its incident, all in one scan
        clock.advance(minutes=1)
        for name in names:
            plugin(spool, name, "HTTP CRITICAL - 503\n", 2)
        sent.clear()
        event.listen(seeded.engine, "before_cursor_execute", count)
        ingest.scan()
        event.remove(seeded.engine, "before_cursor_execute", count)
    if seeded.dialect == "sqlite":  # the scan's events in one executemany at its end (PostgreSQL: each as recorded)
        assert sent == [(6, True)]
    opened = sorted(open_incidents(seeded), key=lambda incident: incident.id or 0)
    assert sorted(incident.title.split(" ")[0] for incident in opened) == names
    with seeded.read() as session:
        _chains, _events, problems = audit.verify(session)
        firsts = session.execute(
            select(AuditEvent.incident_id, AuditEvent.seq, AuditEvent.action)
            .where(AuditEvent.incident_id.in_([incident.id for incident in opened]))  # type: ignore[union-attr]
            .order_by(AuditEvent.id)
        ).all()
    assert problems == []
    assert [tuple(row) for row in firsts] == [(incident.id, 1, "open") for incident in opened]
