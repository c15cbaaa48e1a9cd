"""`W` on the board: the open warnings (预警), most urgent clock first; Pilot and pictures
at 80x24 and wide, in English and Chinese, on a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsdeck.backend.early_warning import Warnings
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.screens.warnings import WarningsScreen
from opsdeck.tui.widgets.incident_list import IncidentList

from ..board_fixtures import HOSTILE, board_incidents, make_app, seeded_store, until
from ..conftest import FakeClock

SIZES = [(80, 24), (140, 44)]


def raise_warnings(store: Store, clock: FakeClock) -> dict[str, int]:
    w = Warnings(Service(store, "servers"))
    storm = w.add("external", "Typhoon warning: power may fail Friday", source="weather bureau", serious=True)
    clock.advance(minutes=10)
    scan = w.add("internal", "Vulnerability scan: OpenSSL on portal", systems=["portal"])
    hostile = w.add("internal", HOSTILE)
    passed = w.add("external", "Carrier maintenance done")
    assert storm.id and scan.id and hostile.id and passed.id
    w.measure(scan.id, "confirm")
    w.close(passed.id, reason="no impact")
    clock.advance(minutes=65)  # the storm's analysis 15 min overdue, the scans' 5
    return {"storm": storm.id, "scan": scan.id, "hostile": hostile.id, "passed": passed.id}


@pytest.fixture
def world(sqlite_url: str) -> Iterator[tuple[Store, FakeClock, dict[str, int]]]:
    clock = FakeClock()
    store = seeded_store(sqlite_url, clock)
    ids = board_incidents(store, clock)
    ids.update(raise_warnings(store, clock))
    yield store, clock, ids
    store.dispose()


async def test_w_shows_the_open_warnings_most_urgent_first(world) -> None:  # type: ignore[no-untyped-def]
    store, clock, ids = world
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(app.screen.query_one(IncidentList).rows))
        await pilot.press("W")
        await until(pilot, lambda: isinstance(app.screen, WarningsScreen))
        title = lambda: str(app.screen.query_one("#warnings-title").render())  # noqa: E731
        await until(pilot, lambda: "Open warnings (3):" in title())
        options = app.screen.query_one("#warnings")
        text = "\n".join(str(options.get_option_at_index(n).prompt) for n in range(options.option_count))
        assert text.index(f"W{ids['storm']}") < text.index(f"W{ids['scan']}")  # breached first
        assert "! Typhoon warning" in text and "measures 1/4" in text
        assert "Carrier maintenance done" not in text
        assert "\x1b" not in text  # the hostile title reached the screen as text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, WarningsScreen))


def on_warnings():  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        for _ in range(200):
            if pilot.app.screen.query(IncidentList) and pilot.app.screen.query_one(IncidentList).rows:
                break
            await pilot.pause(0.05)
        await pilot.press("W")
        for _ in range(200):
            screen = pilot.app.screen
            if isinstance(screen, WarningsScreen) and screen.query_one("#warnings").option_count:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_warnings_picture(world, snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    store, clock, _ids = world
    assert snap_compare(make_app(store, clock, login="servers"), terminal_size=size, run_before=on_warnings())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_warnings_picture_in_chinese(world, snap_compare, size, in_chinese) -> None:  # type: ignore[no-untyped-def]
    store, clock, _ids = world
    assert snap_compare(make_app(store, clock, login="servers"), terminal_size=size, run_before=on_warnings())
