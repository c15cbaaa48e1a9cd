"""Deterministic boards for Pilot and snapshot tests: a store seeded at a frozen time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from opsdeck.backend.config import Config
from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.tui.app import OpsdeckApp, build_app
from opsdeck.tui.widgets.incident_list import CountdownColumn, IncidentList, LevelColumn

from .conftest import FakeClock, allow_as_on_postgresql, demo_fixture

HOSTILE = "evil\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07 title\x1b]0;pwned\x07\x1b[2J\u202eReversed"


def seeded_store(url: str, clock: FakeClock) -> Store:
    store = open_store(url, clock=clock)
    Service(store, "system:opsdeck").import_records("roster", demo_fixture("roster.toml"))
    Service(store, "lead").import_records("contacts", demo_fixture("contacts.toml"))
    Service(store, "lead").import_records("systems", demo_fixture("systems.toml"))
    allow_as_on_postgresql(store)
    return store


def board_incidents(store: Store, clock: FakeClock) -> dict[str, int]:
    """A small realistic board: every level, a breach, a warning, Chinese and hostile titles."""
    ops, lead = Service(store, "servers"), Service(store, "lead")
    ids = {}
    ids["switch"] = ops.open(
        "Core switch A lost both uplinks", system="core-network", category="network_fault", level="III"
    ).id
    clock.advance(minutes=5)
    ids["portal"] = ops.open(
        "门户网站首页被篡改 (portal defaced)", system="portal", category="network_attack", level="II"
    ).id
    clock.advance(minutes=5)
    ids["hostile"] = ops.open(HOSTILE).id
    clock.advance(minutes=5)
    ids["db"] = ops.open("Disk latency alarms on db-cluster node 2", system="db-cluster").id
    lead.assign(ids["switch"], "telecom")
    clock.advance(minutes=20)
    ids["minor"] = ops.open("Printer queue stuck on floor 3", category="other", level="IV").id
    assert all(ids.values())
    probe_results(store, clock)
    return ids


def probe_results(store: Store, clock: FakeClock) -> None:
    """A few probes: fine, failing with hostile output, readiness of every age."""
    from opsdeck.backend import clocks
    from opsdeck.backend.probe_health import Incoming, apply

    now = clock.now
    results = [
        Incoming("web01-load", "OK", "LOAD OK - load average 0.42", now - timedelta(seconds=40), "t"),
        Incoming("db01-mysql", "CRITICAL", "MYSQL CRITICAL \x1b]52;c;cGF5bG9hZA==\x07\x1b[31m refused", now, "t"),
        Incoming("core-sw01/LAN uplink traffic", "WARNING", "TRAFFIC WARNING - 81%", now, "t"),
    ]
    ages = {
        "backup-os-config-local": 3,
        "backup-os-config-remote": 4,
        "backup-os-config-offsite": 30,
        "backup-app-data-local": 2,
        "backup-app-data-remote": 5,
        "backup-app-data-offsite": 60,
        "spare-server-test": 24 * 9,
        "spare-domain": 20,
    }
    results += [
        Incoming(name, "UNKNOWN", "", now, "t", last_success=now - timedelta(hours=hours))
        for name, hours in ages.items()
    ]
    with store.write("system:worker@test") as uow:
        apply(uow, results, clocks.load_policy(uow.session).probes)


NO_KEYMAP = Path(__file__).with_name("no-keymap.toml")  # never there: the default keys


def center_config(**fields: Any) -> Config:
    """A config as a test center's: Shanghai time, the default keys, and `fields`."""
    return Config(**{"timezone": "Asia/Shanghai", "keymap": str(NO_KEYMAP), **fields})


def make_app(
    store: Store, clock: FakeClock, *, login: str = "lead", read_only: bool = False, **config: Any
) -> OpsdeckApp:
    """The app as the CLI builds it (tui/app.py build_app), for `login` as the roster has
    it; the store's clock is `clock`."""
    assert store.clock is clock
    return build_app(center_config(**config), store, login, read_only=read_only, where="test store")


__all__ = ["timedelta"]


async def until(pilot, predicate: Callable[[], bool], timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until `predicate` holds (workers load in threads)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("never got there")
        await pilot.pause(0.05)


def reporting_scenario(store: Store, clock: FakeClock) -> dict[str, int]:
    """Three incidents, the clock ending at N: #A a level IV printer jam acknowledged 45:06
    ago, its ack lease 15:06 overdue (its supervisor clock still pending); #B a level II
    defacement classified 12:07 ago, its leadership report due in 2:53 (in its warning
    band); #C unclassified, 5 minutes old. The plan ranks #B first (backend/ranking.py)."""
    ops = Service(store, "servers")
    ids = {"A": ops.open("Printer queue stuck", category="other", level="IV").id}
    clock.advance(minutes=32, seconds=59)  # N-12:07
    ids["B"] = ops.open("门户网站首页被篡改 portal defaced", category="network_attack", level="II").id
    clock.advance(minutes=7, seconds=7)  # N-5:00
    ids["C"] = ops.open("Disk latency alarms").id
    clock.advance(minutes=5)
    return ids


def lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The board's incident rows as drawn: the level column, the countdown column, then the list."""
    screen = app.screen
    incident_list, levels, countdowns = (screen.query_one(w) for w in (IncidentList, LevelColumn, CountdownColumn))
    return [
        levels.render_line(y).text + countdowns.render_line(y).text + incident_list.render_line(y).text
        for y in range(incident_list.size.height)
    ]


def shown(app) -> list[int]:  # type: ignore[no-untyped-def]
    """The board's incident ids in the order it shows them."""
    return list(app.screen.query_one(IncidentList).order)
