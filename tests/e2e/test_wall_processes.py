"""The wall (`opsdeck wall`) following writes from other processes: `opsdeck incident ...`
run as another process flashes and rings a row until a person acts on it. The wall itself
is driven with Pilot (tests/ui/test_wall.py holds the rest of it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.tui.app import WallApp

from ..board_fixtures import board_incidents, seeded_store, until
from ..cli_process import opsdeck
from ..conftest import FakeClock
from ..wall_helpers import count_bells, flashing, loaded, make_wall, row_of, shown_ids


@pytest.fixture
def live_board(sqlite_url: str) -> Iterator[tuple[Store, dict[str, int], FakeClock]]:
    """The board's data on a clock an hour behind the real one: another process writes at
    the real time, which must come after everything this store has seen."""
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
    store = seeded_store(sqlite_url, clock)
    ids = board_incidents(store, clock)
    yield store, ids, clock
    store.dispose()


@pytest.fixture
def bells(monkeypatch: pytest.MonkeyPatch) -> Callable[[WallApp], list[int]]:
    """Count the app's `bell()` calls: `rung = bells(app)`."""
    return partial(count_bells, monkeypatch)


async def test_a_new_level_iii_incident_from_another_process_flashes_and_rings_once_until_acknowledged(  # type: ignore[no-untyped-def]
    live_board, sqlite_url: str, bells
) -> None:
    store, ids, clock = live_board
    app = make_wall(store, clock)
    rung = bells(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: loaded(app) and len(shown_ids(app)) == 5)
        await pilot.pause(0.3)
        assert len(rung) == 1  # the two breaches already there: one ring for the first look
        opened = await asyncio.to_thread(
            opsdeck,
            sqlite_url,
            *("incident", "open", "--title", "T", "--category", "server_fault", "--level", "III"),
        )
        assert opened.returncode == 0, opened.stderr
        new_id = int(opened.stdout)
        await until(pilot, lambda: flashing(app, new_id), timeout=5)
        row = row_of(app, new_id)
        assert row is not None and "NEW" in str(row.query_one(".badge").render())
        assert row.has_class("-flash")  # the frozen clock is in the flash's "on" half-second
        clock.advance(seconds=0.5)
        await until(pilot, lambda: not row.has_class("-flash"), timeout=2)
        clock.advance(seconds=0.5)
        await until(pilot, lambda: row.has_class("-flash"), timeout=2)
        await pilot.pause(0.5)
        assert len(rung) == 2  # once for this event

        # Opening at level III already set acknowledged_at (classifying implies it), so
        # `incident ack` has nothing to do; a person acting on it is what says it was seen.
        refused = await asyncio.to_thread(opsdeck, sqlite_url, "--as", "lead", "incident", "ack", str(new_id))
        assert refused.returncode != 0 and "nothing to acknowledge" in refused.stderr
        noted = await asyncio.to_thread(opsdeck, sqlite_url, "--as", "lead", "incident", "note", str(new_id), "on it")
        assert noted.returncode == 0, noted.stderr
        await until(pilot, lambda: not flashing(app, new_id), timeout=5)
        await pilot.pause(0.6)
        assert row_of(app, new_id) is not None and not row_of(app, new_id).has_class("-flash")  # type: ignore[union-attr]
        assert len(rung) == 2
        assert flashing(app, ids["switch"])  # another incident's alert is not acknowledged by it


async def test_a_breach_flashes_and_rings_until_its_clock_is_met_or_someone_acts(  # type: ignore[no-untyped-def]
    live_board, sqlite_url: str, bells
) -> None:
    store, ids, clock = live_board
    app = make_wall(store, clock)
    rung = bells(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: loaded(app) and len(shown_ids(app)) == 5)
        assert flashing(app, ids["switch"]) and flashing(app, ids["portal"])
        assert not flashing(app, ids["hostile"])
        # The hostile incident's classify clock (30 min after its report) breaches as time passes.
        clock.advance(minutes=6)
        await until(pilot, lambda: flashing(app, ids["hostile"]), timeout=3)
        await pilot.pause(0.3)
        assert len(rung) == 2
        # Classifying meets the breached clock (in this process: "anywhere").
        clock.advance(seconds=1)
        Service(store, "lead").classify(ids["hostile"], category="other", level="IV")
        await until(pilot, lambda: not flashing(app, ids["hostile"]), timeout=3)
        # Attesting the leadership report from another process: a person acted after the breach.
        attested = await asyncio.to_thread(
            opsdeck,
            sqlite_url,
            "--as",
            "lead",
            "incident",
            "attest",
            str(ids["portal"]),
            "leadership_informed",
            "--via",
            "phone",
        )
        assert attested.returncode == 0, attested.stderr
        await until(pilot, lambda: not flashing(app, ids["portal"]), timeout=5)
        assert flashing(app, ids["switch"])
        await pilot.pause(0.3)
        assert len(rung) == 2
