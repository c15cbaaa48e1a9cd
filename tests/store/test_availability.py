"""Probe availability (issue #23): the share of time each system's probes were OK, from
results worked out by hand; the upkeep sums every finished day before pruning, so the
figure is the same after the results are gone; stats and the monthly report show it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from opsdeck.backend import availability
from opsdeck.backend.maintenance import prune_results
from opsdeck.backend.models import Probe, ProbeDay, ProbeResult, System
from opsdeck.backend.store import Store

from ..conftest import FakeClock
from .test_stats import _url

H = timedelta(hours=1)


def t(day: int, hour: float) -> datetime:
    """Day 1 is 29 November 2026 (after the seeded store's own events), day 4 is 2 December."""
    return datetime(2026, 11, 28, tzinfo=UTC) + timedelta(days=day, hours=hour)


def test_a_state_holds_until_the_next_result_but_not_longer_than_the_hold() -> None:
    points = [(t(1, 0), "OK"), (t(1, 6), "CRITICAL"), (t(1, 7), "OK")]  # silent after 07:00
    ok, known = availability.totals(points, t(1, 0), t(2, 0), hold=2 * H)
    # 00-02 OK (held 2 h of 6), 06-07 CRITICAL, 07-09 OK (held 2 h): known 5 h, OK 4 h
    assert (ok, known) == (4 * 3600, 5 * 3600)
    before = [(t(1, 23), "CRITICAL"), (t(2, 1), "OK")]  # the state at the start comes from before it
    assert availability.totals(before, t(2, 0), t(2, 3), hold=2 * H) == (2 * 3600, 3 * 3600)


def _probe(store: Store, name: str, system: str | None, results: list[tuple[datetime, str]]) -> None:
    with store.write("system:test") as uow:
        system_id = None
        if system is not None:
            system_id = uow.session.execute(select(System.id).where(System.name == system)).scalar_one()
        probe = Probe(name=name, system_id=system_id, interval_s=3600, state=results[-1][1], created_at=results[0][0])
        uow.session.add(probe)
        uow.session.flush()
        for at, state in results:
            uow.session.add(ProbeResult(probe_id=probe.id, at=at, received_at=at, state=state, output=""))


def test_the_upkeep_sums_days_so_availability_survives_pruning(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    # db-cluster: hourly, OK but 3 failing hours on the 2nd. benefits-app: OK all along.
    db = [(t(1, 0) + n * H, "CRITICAL" if 30 <= n < 33 else "OK") for n in range(72)]
    _probe(seeded, "db-check", "db-cluster", db)
    _probe(seeded, "app-check", "benefits-app", [(t(1, 0) + n * H, "OK") for n in range(72)])
    clock.now = t(4, 0) + 30 * timedelta(minutes=1)
    with seeded.read() as session:
        before = availability.by_system(session, t(1, 0), t(4, 0), clock.now)
    assert before["db-cluster"]["known_s"] == 72 * 3600
    assert before["db-cluster"]["ok_share"] == round(69 / 72, 4)
    assert before["benefits-app"]["ok_share"] == 1.0

    assert availability.summarize(seeded, "system:worker@test") == 6  # three finished days each
    assert availability.summarize(seeded, "system:worker@test") == 0  # each day once
    assert prune_results(seeded, "system:worker@test", timedelta(hours=1)) > 100
    with seeded.read() as session:
        left = session.execute(select(func.count()).select_from(ProbeResult)).scalar_one()
        days = session.execute(select(func.count()).select_from(ProbeDay)).scalar_one()
        after = availability.by_system(session, t(1, 0), t(4, 0), clock.now)
    assert left == 2 and days == 6  # each probe's newest result stays
    assert after == before

    url = _url(seeded)
    code, out, err = cli("--db", url, "stats", "--since", "2026-11-29", "--until", "2026-12-02", "--json")
    assert code == 0, err
    assert json.loads(out)["availability"]["db-cluster"]["ok_share"] == round(69 / 72, 4)
    code, out, err = cli("--db", url, "report", "month", "2026-11")
    assert code == 0, err
    assert "| db-cluster | 93.75% | 48h00m | 1 |" in out  # 29 and 30 November: 3 of 48 hours failing
