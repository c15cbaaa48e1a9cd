"""The board, driven with Pilot against a real store: loading, filtering, sorting, the
cursor under changes, banners (another process's change appearing live:
tests/e2e/test_board_processes.py)."""

from __future__ import annotations

import os
from pathlib import Path

from opsdeck.backend import queries
from opsdeck.backend.service import Service
from opsdeck.tui.widgets.incident_list import IncidentList
from opsdeck.tui.widgets.panels import Banners, BoardHeader

from ..board_fixtures import lines, make_app, seeded_store, shown, until
from ..conftest import FakeClock


async def test_breached_first_then_by_due_time(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(shown(app)) == 5)
        order = shown(app)
        # 35 min in: the switch's and portal's leadership reports are overdue (15 min grace);
        # the hostile and db incidents' classify clocks are next; the minor one was classified.
        assert order[:2] == [ids["switch"], ids["portal"]]
        assert order.index(ids["hostile"]) < order.index(ids["db"])
        await until(pilot, lambda: "#" in "".join(lines(app)) and "…" not in lines(app)[0])
        first = lines(app)[0]
        assert first.startswith("III!") and "-20:00" in first  # report due at 15 min: 20 min overdue


async def test_hostile_titles_are_shown_as_text(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock)
    async with app.run_test(size=(160, 30)) as pilot:
        await until(pilot, lambda: any("evil" in line for line in lines(app)))
        text = "\n".join(lines(app))
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "evil" in text and "门户网站首页被篡改" in text


async def test_filter_by_level_and_text_then_escape_clears(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(shown(app)) == 5)
        await pilot.press("slash")
        await pilot.press(*"level:ii")
        await pilot.press("enter")
        await until(pilot, lambda: shown(app) == [ids["portal"]])
        await pilot.press("slash", "ctrl+u", *"disk", "enter")
        await until(pilot, lambda: shown(app) == [ids["db"]])
        await pilot.press("slash", "ctrl+u", *"owner:nobody", "enter")
        await until(pilot, lambda: shown(app) == [])
        assert "No open incidents match: owner:nobody" in "\n".join(lines(app))
        await pilot.press("escape")
        await until(pilot, lambda: len(shown(app)) == 5)


async def test_a_bad_filter_says_what_is_wrong(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, _ = board
    app = make_app(store, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(shown(app)) == 5)
        await pilot.press("slash", *"level:V", "enter")
        await pilot.pause(0.1)
        from opsdeck.tui.widgets.status_line import StatusLine

        # On the status line just above the input (a toast hid behind it), the input kept.
        assert "'V' is not a level" in str(app.screen.query_one(StatusLine).render())
        assert app.screen.query_one("#filter").display
        assert len(shown(app)) == 5  # nothing lost


async def test_sort_keys_cycle(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(shown(app)) == 5)
        by_due = shown(app)
        with store.read() as session:
            by_age = [
                r["id"]
                for r in sorted(
                    queries.iter_incidents(session, queries.IncidentFilter(status="open")),
                    key=lambda r: (r["reported_at"], r["id"]),
                )
            ]
        await pilot.press("s")  # by level
        assert shown(app)[0] == ids["portal"]  # level II
        await pilot.press("s")  # by age: oldest first (the keys held due times: read anew)
        await until(pilot, lambda: shown(app) == by_age)
        assert shown(app)[0] == ids["switch"]
        await pilot.press("s")  # by id
        assert shown(app) == sorted(ids.values())
        await pilot.press("s")  # back to due: read anew again
        await until(pilot, lambda: shown(app) == by_due)


async def test_the_cursor_follows_its_incident_and_keeps_its_row(sqlite_url: str, clock: FakeClock) -> None:
    store = seeded_store(sqlite_url, clock)
    ops = Service(store, "servers")
    for n in range(60):
        ops.open(f"incident {n}")
        clock.advance(seconds=30)
    app = make_app(store, clock)
    async with app.run_test(size=(100, 20)) as pilot:
        await until(pilot, lambda: len(shown(app)) == 60)
        incident_list = app.screen.query_one(IncidentList)
        for _ in range(35):
            await pilot.press("j")
        selected = incident_list.selected_id
        before = shown(app).index(selected)
        screen_row = incident_list.cursor - int(incident_list.scroll_offset.y)
        assert incident_list.scroll_offset.y > 0
        # Another writer classifies an incident above the cursor: its classify clock is met,
        # so it sorts to the end and every row below it moves up one.
        ops.classify(shown(app)[3], category="other", level="IV")
        await until(pilot, lambda: shown(app).index(selected) == before - 1)
        assert incident_list.selected_id == selected
        assert incident_list.cursor - int(incident_list.scroll_offset.y) == screen_row
    store.dispose()


async def test_no_worker_banner_until_a_heartbeat(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.backend.worker import Worker

    store, _ = board
    app = make_app(store, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        banners = app.screen.query_one(Banners)
        await until(pilot, lambda: "no worker running" in str(banners.render()))
        Worker(store, {}).beat()
        Service(store, "servers").open("a change, so the board reloads its panels")
        await until(pilot, lambda: "no worker running" not in str(banners.render()))


async def test_the_boards_own_worker_gets_time_to_beat_before_the_banner(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    """A board that runs its own worker starts it with the board: until its first
    heartbeat, "no worker running" would be a false alarm at every start. Its worker
    gets 30 s; one that never beats is then said to be missing."""
    import threading
    import time

    from opsdeck.tui.app import Background

    store, _ = board
    app = make_app(store, clock)
    silent = Background("opsdeck-worker", lambda stop: stop.wait(), escalates=True)  # never beats
    app.context.background.append(silent)
    async with app.run_test(size=(120, 30)) as pilot:
        banners = app.screen.query_one(Banners)
        await until(pilot, lambda: silent.thread.is_alive() and app.screen.panels is not None)
        app.screen._banners(clock())
        assert "no worker running" not in str(banners.render())
        assert silent.started_at is not None
        silent.started_at = time.monotonic() - 31
        Service(store, "servers").open("a change, so the board reloads its panels")
        await until(pilot, lambda: "no worker running" in str(banners.render()))
    assert not any(t.name == "opsdeck-worker" and t.is_alive() for t in threading.enumerate())


async def test_a_store_that_cannot_be_read_shows_since_when(board, sqlite_url: str, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, _ = board
    app = make_app(store, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(shown(app)) == 5)
        path = Path(sqlite_url.removeprefix("sqlite:///"))
        garbage = path.with_name("garbage")
        garbage.write_bytes(b"this is not a database " * 500)
        os.replace(garbage, path)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        store.engine.dispose()
        banners = app.screen.query_one(Banners)
        await until(pilot, lambda: "store not readable since" in str(banners.render()), timeout=8)
        assert len(shown(app)) == 5  # what it showed stays


async def test_help_lists_every_key_and_the_legend(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, _ = board
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: getattr(app.screen, "figures", None) is not None)  # the legend is drawn
        await pilot.pause(0.2)
        text = app.export_screenshot().replace("&#160;", " ")
        for words in ("Filter", "Sort", "Quit", "breached", "level I", "SILENCED", "stale"):
            assert words in text
        await pilot.press("escape")
        assert type(app.screen).__name__ == "BoardScreen"


async def test_the_legend_names_the_numbers_of_the_policy_in_force(  # type: ignore[no-untyped-def]
    board, clock: FakeClock, tmp_path: Path
) -> None:
    store, _ = board
    policy = tmp_path / "policy.toml"
    policy.write_text("[deadlines]\nwarning_band = 0.25\n")
    Service(store, "lead").apply_policy(policy)
    app = make_app(store, clock)
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: getattr(app.screen, "figures", None) is not None)
        await pilot.pause(0.2)
        text = app.export_screenshot().replace("&#160;", " ")
        assert "the last 25 % of its time" in text and "the last 20 %" not in text
        assert "due within 30 min of the report" in text  # the classify clock, as the policy still says


async def test_q_quits(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, _ = board
    app = make_app(store, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("q")
        await pilot.pause(0.1)
    assert app.return_code == 0 or app.return_code is None


async def test_failed_notifications_show_in_the_header(board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.backend.notify import Sender

    store, _ = board
    Sender(store, "system:worker@test").run_once()  # nobody has a channel: every message fails
    app = make_app(store, clock)
    async with app.run_test(size=(160, 30)) as pilot:
        header = app.screen.query_one(BoardHeader)
        await until(pilot, lambda: "notifications failed" in str(header.render()))
