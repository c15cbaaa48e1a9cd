"""The worker's upkeep: results and done files pruned by retention (never incidents or
the audit trail), the WAL checkpointed, and told when readers block it."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from opsdeck.backend import claims, clocks, maintenance
from opsdeck.backend.audit import verify
from opsdeck.backend.ingest import Ingester, SpoolSettings
from opsdeck.backend.metrics import registry_for
from opsdeck.backend.models import AuditEvent, Incident, IngestedFile, ProbeResult
from opsdeck.backend.probe_health import Incoming, apply
from opsdeck.backend.store import Store

from ..conftest import FakeClock

WORKER = "system:worker@test"


def results(store: Store) -> list[tuple[str, str, bool]]:
    """(probe, state, opened an incident) of every stored result, oldest first."""
    from opsdeck.backend.models import Probe

    with store.read() as session:
        rows = session.execute(
            select(Probe.name, ProbeResult.state, ProbeResult.incident_id)
            .join(Probe, Probe.id == ProbeResult.probe_id)
            .order_by(ProbeResult.id)
        )
        return [(name, state, incident_id is not None) for name, state, incident_id in rows]


def feed(store: Store, clock: FakeClock, probe: str, state: str) -> None:
    with store.write(WORKER) as uow:
        apply(
            uow, [Incoming(probe, state, f"{probe} {state}", clock.now, "test")], clocks.load_policy(uow.session).probes
        )


def test_old_results_go_but_each_probes_newest_and_those_that_opened_incidents_stay(
    seeded: Store, clock: FakeClock
) -> None:
    for _ in range(3):
        feed(seeded, clock, "web01-load", "OK")
        feed(seeded, clock, "db01-disk", "OK")
        clock.advance(minutes=5)
    for _ in range(3):  # CRITICAL long enough to open an incident
        feed(seeded, clock, "db01-disk", "CRITICAL")
        clock.advance(minutes=5)
    with seeded.read() as session:
        incidents = session.execute(select(func.count()).select_from(Incident)).scalar_one()
    assert incidents == 1 and any(opened for *_, opened in results(seeded))
    before = results(seeded)
    clock.advance(days=31)
    feed(seeded, clock, "web01-load", "OK")  # web01 keeps reporting; db01 went quiet a month ago

    pruned = maintenance.prune_results(seeded, WORKER, timedelta(days=30))

    kept = results(seeded)
    assert pruned == len(before) + 1 - len(kept) and pruned > 0
    assert [r for r in kept if r[0] == "web01-load"] == [("web01-load", "OK", False)]  # only the fresh one
    db = [r for r in kept if r[0] == "db01-disk"]
    assert ("db01-disk", "CRITICAL", True) in db  # opened the incident: kept with it
    assert db[-1][1] == "CRITICAL"  # db01's newest result stays however old
    with seeded.read() as session:
        assert session.execute(select(func.count()).select_from(Incident)).scalar_one() == 1
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "results_pruned")).one()
        assert f'"count":{pruned}' in event.details.replace(" ", "")
        assert verify(session)[2] == []
    assert maintenance.prune_results(seeded, WORKER, timedelta(days=30)) == 0  # nothing left to prune


def test_processed_spool_files_go_after_their_retention(tmp_path: Path) -> None:
    done = tmp_path / "spool" / "done"
    done.mkdir(parents=True)
    old, fresh = done / "old.out", done / "fresh.out"
    old.write_text("x")
    fresh.write_text("y")
    eight_days_ago = time.time() - 8 * 86400
    os.utime(old, (eight_days_ago, eight_days_ago))
    assert maintenance.prune_done(tmp_path / "spool", timedelta(days=7)) == 1
    assert sorted(p.name for p in done.iterdir()) == ["fresh.out"]
    assert maintenance.prune_done(tmp_path / "nowhere", timedelta(days=7)) == 0


def _pair(spool: Path, name: str, output: str) -> None:
    for suffix, text in ((".out", output), (".rc", "0\n")):
        (spool / f"{name}{suffix}.tmp").write_text(text)
        os.replace(spool / f"{name}{suffix}.tmp", spool / f"{name}{suffix}")


def _claims(store: Store) -> list[tuple[str, str]]:
    """(spool's folder, file name) of every claim."""
    with store.read() as session:
        rows = session.execute(select(IngestedFile.spool, IngestedFile.name).order_by(IngestedFile.name))
        return [(spool.rsplit("/", 1)[-1], name) for spool, name in rows]


def test_claims_of_files_gone_from_the_spool_go_and_what_was_taken_in_is_still_counted(
    seeded: Store, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file version taken in is claimed, so it is never taken twice; a claim can go
    once its file is neither in the spool nor in done/ and `keep_done` has passed, and
    only then. `opsdeck_ingested_files` does not shrink with the claims."""
    spool, other = tmp_path / "spool", tmp_path / "other-spool"
    for folder in (spool, other):
        folder.mkdir()
    for name in ("gone", "in-done"):
        _pair(spool, name, f"OK - {name}\n")
    _pair(other, "gone-too", "OK - another spool's\n")
    (spool / "node.prom").write_text('opsdeck_probe_status{probe="node-disk"} 0\n')  # a state file: it stays
    settings = {"settle_s": 0.0}
    assert Ingester(seeded, SpoolSettings(spool, **settings), actor=WORKER).scan().ingested == 3
    assert Ingester(seeded, SpoolSettings(other, **settings), actor=WORKER).scan().ingested == 1
    for folder, name in ((spool, "gone"), (other, "gone-too")):
        for suffix in (".out", ".rc"):
            (folder / "done" / f"{name}{suffix}").unlink()  # as prune_done takes them
    counted = _counted(seeded)
    assert counted == {"ingested": 4}
    assert _pruned(seeded, spool) == 0  # gone, but taken in now
    clock.advance(days=8)
    monkeypatch.setattr(claims, "CLAIM_BATCH", 1)  # a batch a claim: kept ones between pruned ones

    assert _pruned(seeded, spool) == 1

    assert _claims(seeded) == [("other-spool", "gone-too.out"), ("spool", "in-done.out"), ("spool", "node.prom")]
    assert _counted(seeded) == counted
    with seeded.read() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "claims_pruned")).one()
        assert '"count":1' in event.details.replace(" ", "") and str(spool.resolve()) in event.details
        assert verify(session)[2] == []
    stored = len(results(seeded))
    again = Ingester(seeded, SpoolSettings(spool, **settings), actor=WORKER).scan()
    assert (again.ingested, len(results(seeded))) == (0, stored)  # the state file still there: taken once
    assert _pruned(seeded, spool) == 0
    (spool / "node.prom").write_text('opsdeck_probe_status{probe="node-disk"} 2\n')  # a new version, the old gone
    clock.advance(minutes=1)
    assert Ingester(seeded, SpoolSettings(spool, **settings), actor=WORKER).scan().ingested == 1
    clock.advance(days=8)
    assert _pruned(seeded, spool) == 1  # the old version's
    assert _counted(seeded) == {"ingested": 5}


def test_a_version_read_before_its_claim_went_is_looked_at_again_and_not_taken_twice(
    seeded: Store, clock: FakeClock, tmp_path: Path
) -> None:
    """An ingester read a state file; before it claims what it read, the writer rewrites
    the file and the upkeep, seeing the old version gone, deletes its claim. The ingester
    looks at its files again before claiming: the old version is not taken in twice, the
    new one is taken at the next scan."""
    spool = tmp_path / "spool"
    spool.mkdir()
    state = spool / "node.prom"
    state.write_text('opsdeck_probe_status{probe="node-disk"} 0\n')
    (spool / "other.prom").write_text('opsdeck_probe_status{probe="other-disk"} 0\n')  # stays as it is
    settings = SpoolSettings(spool, settle_s=0.0)
    assert Ingester(seeded, settings, actor=WORKER).scan().ingested == 2
    clock.advance(days=8)
    restarted = Ingester(seeded, settings, actor=WORKER)  # remembers no file: reads node.prom again
    commit = restarted._commit

    def rewritten_and_pruned_meanwhile(units: list[Any]) -> Any:
        state.write_text('opsdeck_probe_status{probe="node-disk"} 2  \n')
        assert _pruned(seeded, spool) == 1
        return commit(units)

    restarted._commit = rewritten_and_pruned_meanwhile  # type: ignore[method-assign]
    report = restarted.scan()
    assert (report.ingested, report.results) == (0, 0)
    assert results(seeded) == [("node-disk", "OK", False), ("other-disk", "OK", False)]  # once, not twice
    restarted._commit = commit  # type: ignore[method-assign]
    clock.advance(minutes=1)
    assert restarted.scan().ingested == 1  # the new version
    assert results(seeded)[-1] == ("node-disk", "CRITICAL", False) and len(results(seeded)) == 3


def test_the_spools_upkeep_keeps_the_claims_of_a_spool_not_there_and_goes_on_where_it_stopped(
    seeded: Store, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty folder in the spool's place (a disk not mounted; the ingest makes the
    spool and done/ again) shows none of the files the spool took in last: no claim goes.
    A pass stopped by its time budget goes on where it stopped, past the claims it keeps."""
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "node.prom").write_text('opsdeck_probe_status{probe="node-disk"} 0\n')  # its claim is kept
    for index in range(3):
        _pair(spool, f"pair-{index}", f"OK - {index}\n")
    assert Ingester(seeded, SpoolSettings(spool, settle_s=0.0), actor=WORKER).scan().ingested == 4
    shutil.rmtree(spool / "done")  # the pairs' files gone
    clock.advance(days=8)
    spool.rename(tmp_path / "away")
    (spool / "done").mkdir(parents=True)  # as the ingest makes them again
    unmounted = claims.prune_claims(seeded, WORKER, spool, timedelta(days=7))
    assert (unmounted.count, unmounted.recognised) == (0, False) and len(_claims(seeded)) == 4
    shutil.rmtree(spool)
    (tmp_path / "away").rename(spool)
    (spool / "done").mkdir()
    link = tmp_path / "spool-link"
    link.symlink_to(spool)  # the configured path may be a link to the spool

    monkeypatch.setattr(claims, "CLAIM_BATCH", 1)
    monkeypatch.setattr(maintenance, "CLAIM_BUDGET_S", 0.0)  # one batch a call
    upkeep = maintenance.SpoolUpkeep(seeded, WORKER, maintenance.Retention(), link)
    # node.prom first (its claim kept), then a pair a call, then the end of the pass
    assert [upkeep() for _ in range(5)] == [(0, 0), (0, 1), (0, 1), (0, 1), (0, 0)]  # not waiting `every`
    assert upkeep() is None and _claims(seeded) == [("spool", "node.prom")]
    with seeded.read() as session:
        counted = session.scalars(select(AuditEvent.details).where(AuditEvent.action == "claims_pruned")).all()
    assert len(counted) == 3 and all('"count":1' in d.replace(" ", "") for d in counted)


def _pruned(store: Store, spool: Path) -> int:
    """One whole pass of `prune_claims` with `keep_done` at 7 days: how many claims went."""
    pruned = claims.prune_claims(store, WORKER, spool, timedelta(days=7))
    assert pruned.stopped_at is None and pruned.recognised
    return pruned.count


def _counted(store: Store) -> dict[str, float]:
    """`opsdeck_ingested_files` as a scrape shows it."""
    text = generate_latest(registry_for(store)).decode()
    return {
        s.labels["outcome"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "opsdeck_ingested_files_total"
    }


def test_the_checkpoint_shrinks_the_wal_and_says_when_a_reader_blocks_it(
    seeded: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    if seeded.dialect != "sqlite":
        assert maintenance.checkpoint(seeded) is None  # PostgreSQL manages its own WAL
        return
    assert seeded.path is not None
    wal = Path(f"{seeded.path}-wal")
    for n in range(40):
        feed(seeded, clock, f"probe-{n}", "OK")
    reader = sqlite3.connect(seeded.path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM probe_results").fetchone()  # a dashboard holding a read
    feed(seeded, clock, "one-more", "OK")  # a page the reader's snapshot does not see
    duty = maintenance.MaintainDuty(seeded, WORKER, maintenance.Retention())
    with caplog.at_level(logging.WARNING, logger="opsdeck.worker"):
        upkeep = duty()
    assert upkeep is not None and upkeep.checkpoint is not None and upkeep.checkpoint["busy"] == 1
    assert any("readers kept" in r.getMessage() for r in caplog.records)
    assert duty() is None  # not again before `every`
    reader.rollback()
    reader.close()
    done = maintenance.checkpoint(seeded)
    assert done == {"busy": 0, "wal_pages": 0, "checkpointed": 0}  # TRUNCATE: the WAL is empty
    assert wal.stat().st_size == 0
