"""The schedule on the screens, in the real app (Textual pilot): at a hand-off the
incoming member is told which duties they now hold and the handover opens for them; the
roster panel shows who is next; the board re-reads the panels at the hand-off by itself."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from textual.widgets import Static

from opsdeck.backend import schedule_edit
from opsdeck.backend.service import Service

from ..board_fixtures import make_app, seeded_store, until
from ..conftest import FakeClock, demo_fixture

SH = ZoneInfo("Asia/Shanghai")


async def test_at_a_hand_off_the_incoming_member_gets_the_handover(
    sqlite_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    from opsdeck.screens.handover import HandoverScreen
    from opsdeck.tui.widgets.panels import RosterPanel

    clock.now = datetime(2026, 11, 28, 8, 59, 0, tzinfo=SH)
    store = seeded_store(sqlite_url, clock)
    extra = '\n[[member]]\nlogin = "servers2"\nname = "孙丽"\npermission = "operator"\nduties = ["servers"]\n'
    roster = tmp_path / "roster.toml"
    roster.write_text(demo_fixture("roster.toml").read_text(encoding="utf-8") + extra, encoding="utf-8")
    Service(store, "lead").import_records("roster", roster)
    Service(store, "servers").roster_duty("servers", False)
    spec = schedule_edit.RotationSpec(
        "srv-day", "servers", ("servers2",), 24 * 60, datetime(2026, 11, 1, 9, 0), "Asia/Shanghai", hours="09:00-18:00"
    )
    schedule_edit.set_rotation(store, "lead", spec)
    incident = Service(store, "web").open("disk full on web01", category="server_fault", level="III")

    app = make_app(store, clock, login="servers2")
    async with app.run_test(size=(140, 40)) as pilot:

        def roster_text() -> str:
            return str(app.screen.query_one(RosterPanel).render())

        await until(pilot, lambda: "servers2" in roster_text() and "09:00" in roster_text())
        assert "servers   GAP" in " ".join(roster_text().split("\n")) or "GAP" in roster_text()
        assert not isinstance(app.screen, HandoverScreen)
        clock.now = datetime(2026, 11, 28, 9, 0, 1, tzinfo=SH)  # the hand-off passes
        await until(pilot, lambda: isinstance(app.screen, HandoverScreen))
        await until(pilot, lambda: f"#{incident.id}" in str(app.screen.query_one("#handover", Static).render()))
        assert any("on duty for servers" in str(n.message) for n in app._notifications)
        await pilot.press("escape")
        await until(pilot, lambda: "18:00" in roster_text())  # next: the gap at 18:00
    store.dispose()


async def test_the_roster_panel_shows_the_gaps_ahead(sqlite_url: str, clock: FakeClock, tmp_path: Path) -> None:
    """The coverage gaps ahead (within the policy's `ahead_days`) on the board's roster
    panel, each on a line of its own, the rest counted."""
    from opsdeck.tui.widgets.panels import RosterPanel

    clock.now = datetime(2026, 11, 28, 10, 0, 0, tzinfo=SH)  # a Saturday
    store = seeded_store(sqlite_url, clock)
    Service(store, "servers").roster_duty("servers", False)
    spec = schedule_edit.RotationSpec(
        "srv-day", "servers", ("servers",), 24 * 60, datetime(2026, 11, 1, 8, 0), "Asia/Shanghai", hours="08:00-20:00"
    )
    schedule_edit.set_rotation(store, "lead", spec)

    app = make_app(store, clock, login="lead")
    async with app.run_test(size=(140, 50)) as pilot:

        def lines() -> list[str]:
            return [" ".join(line.split()) for line in str(app.screen.query_one(RosterPanel).render()).splitlines()]

        await until(pilot, lambda: any(line.startswith("gap:") for line in lines()))
        shown = lines()
        gaps = [line for line in shown if line.startswith("gap:")]
        # web and the other unstaffed duties from now to the horizon (14 days: a date),
        # servers each night; the earliest first, four lines, the rest counted.
        assert "gap: servers Sat 20:00–Sun 08:00" in gaps
        assert "gap: web Sat 10:00–12-12 10:00" in gaps
        assert len(gaps) == 4
        assert any(line.startswith("… ") and line.endswith("more gaps: opsdeck schedule gaps") for line in shown)
    store.dispose()
