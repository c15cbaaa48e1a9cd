"""No traps on the board (issue #19): pickers start on the current value and show it by
shape; the real app, headless, read off the screen as drawn and off the store."""

from __future__ import annotations

import pytest

from opsdeck.backend import queries
from opsdeck.screens.forms import ActionForm
from opsdeck.tui.app import OpsdeckApp
from opsdeck.tui.widgets.incident_list import IncidentList

from ..board_fixtures import make_app, until
from ..conftest import FakeClock
from .test_wall import svg_lines


def screen(app: OpsdeckApp) -> str:
    return "\n".join(line.rstrip() for line in svg_lines(app.export_screenshot()))


async def on(pilot, app: OpsdeckApp, incident_id: int) -> IncidentList:  # type: ignore[no-untyped-def]
    incident_list = app.screen.query_one(IncidentList)
    await until(pilot, lambda: incident_id in incident_list.order and incident_id in incident_list.rows)
    incident_list.cursor = incident_list.order.index(incident_id)
    await pilot.pause(0.05)
    return incident_list


def level_of(store, incident_id: int) -> str | None:  # type: ignore[no-untyped-def]
    with store.read() as session:
        return queries.get_incident(session, incident_id)["level"]


async def test_the_level_picker_starts_on_the_incidents_level_and_shows_it_by_shape(board) -> None:  # type: ignore[no-untyped-def]
    """#1 is level III. The picker's cursor is on III (`>`), III is chosen (`●`), the others
    are not (`○`); one step down is IV, not II or I."""
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await on(pilot, app, ids["switch"])
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.pause(0.2)
        text = screen(app)
        line = next(line for line in text.splitlines() if "III" in line and "IV" in line and "▌" in line)
        assert "> ▐●▌ III" in line and "▐○▌ I " in line and "▐○▌ IV" in line, line
        await pilot.press("down")
        await pilot.pause(0.1)
        line = next(line for line in screen(app).splitlines() if "III" in line and "IV" in line and "▌" in line)
        assert "> ▐○▌ IV" in line and "▐●▌ III" in line, line
        await pilot.press("enter")
        await pilot.press("tab", *"lower impact than thought", "ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, ActionForm))
        await until(pilot, lambda: level_of(store, ids["switch"]) == "IV")


async def test_enter_on_the_level_picker_keeps_the_level(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await on(pilot, app, ids["portal"])
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("enter", "tab", *"same", "ctrl+s")
        await pilot.pause(0.5)
        assert level_of(store, ids["portal"]) == "II"


async def test_the_category_and_owner_pickers_mark_the_highlighted_choice(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await on(pilot, app, ids["switch"])
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.pause(0.2)
        marked = [line for line in screen(app).splitlines() if "> " in line and "network_" in line]
        assert len(marked) == 1 and "network_fault" in marked[0], marked
        await pilot.press("escape", "o")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.pause(0.3)
        marked = [line for line in screen(app).splitlines() if "> " in line and "open" in line]
        assert len(marked) == 1 and "telecom" in marked[0], marked


def status_line(app: OpsdeckApp) -> str:
    from opsdeck.tui.widgets.status_line import StatusLine

    return str(app.screen.query_one(StatusLine).render())


async def filter_by(pilot, app: OpsdeckApp, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("slash", "ctrl+u", *text, "enter")
    await pilot.pause(0.3)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("cat:network", ["switch"]),  # the board's own label, the prompt's own example
        ("cat:net", ["switch", "portal"]),  # a start: every category it starts
        ("cat:网络故障", ["switch"]),  # the Chinese label
        ("cat:网络", ["switch", "portal"]),
        ("level:3", ["switch"]),
        ("level:III!", ["switch"]),
        ("lvl:较大", ["switch"]),
    ],
)
async def test_filters_take_what_the_screen_shows(board, typed: str, shown: list[str]) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(160, 40)) as pilot:
        incident_list = await on(pilot, app, ids["switch"])
        await filter_by(pilot, app, typed)
        await until(pilot, lambda: sorted(incident_list.order) == sorted(ids[n] for n in shown))
        assert not app.screen.query_one("#filter").display
        assert f"— {len(shown)} of 5, esc clears" in status_line(app)


async def test_the_status_line_says_filter_sort_marks_duty_and_store(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(160, 40)) as pilot:
        incident_list = await on(pilot, app, ids["switch"])
        # "on duty" comes with the panels' read, after the first page is drawn
        await until(pilot, lambda: status_line(app) == "all 5 open · sort: due · on duty · test store")
        await pilot.press("space", "space", "s")
        await until(pilot, lambda: "2 marked" in status_line(app))
        assert status_line(app) == "all 5 open · sort: level · 2 marked · on duty · test store"
        await filter_by(pilot, app, "level:III")
        await until(pilot, lambda: len(incident_list.order) == 1)
        assert status_line(app).startswith("filter level:III — 1 of 5, esc clears · sort: level")
        await pilot.press("escape")
        await until(pilot, lambda: len(incident_list.order) == 5)
        assert status_line(app).startswith("all 5 open")
    app = make_app(store, store.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        incident_list = await on(pilot, app, ids["switch"])
        await filter_by(pilot, app, "level:III")
        await until(pilot, lambda: len(incident_list.order) == 1)
        assert status_line(app) == "level:III 1/5 esc · by due · on duty · test store"
        assert "level:III 1/5 esc" in screen(app)


async def test_a_refused_filter_says_why_above_the_input_and_keeps_it(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        incident_list = await on(pilot, app, ids["switch"])
        await filter_by(pilot, app, "level:9")
        text = screen(app).splitlines()
        assert app.screen.query_one("#filter").display
        error_at = next(n for n, line in enumerate(text) if "'9' is not a level" in line)
        assert "level:9" in text[error_at + 2]  # the line above the input's box
        assert len(incident_list.order) == 5
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert "is not a level" not in screen(app)


async def test_the_filter_prompt_speaks_chinese(board, in_chinese: None) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await on(pilot, app, ids["switch"])
        await pilot.press("slash")
        await pilot.pause(0.2)
        assert "过滤" in screen(app) or "筛选" in screen(app)
        assert "lead (组长)" in screen(app) and "(lead)" not in screen(app)  # the header's permission, translated


def steps_of(store, incident_id: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with store.read() as session:
        return {s["key"]: s["state"] for s in queries.incident_detail(session, incident_id)["playbook"]}


async def test_space_ticks_only_a_step_in_view_and_the_screen_follows_the_step(board) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.screens.incident import IncidentScreen, Playbook

    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await on(pilot, app, ids["portal"])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
        await pilot.pause(0.3)
        playbook = app.screen.query_one(Playbook)
        keys = list(steps_of(store, ids["portal"]))
        assert len(keys) >= 4
        await pilot.press(*"j" * (len(keys) - 1))  # the last step: below the fold at first
        await pilot.pause(0.3)
        last = len(keys) - 1
        fourth = str(playbook.get_option_at_index(last).prompt).split("] ", 1)[1]
        assert fourth in screen(app)  # the screen followed the step
        # read back up until the step scrolls away below (what follows it may be too
        # short at 80x24 for paging down to hide it)
        for _ in range(6):
            if fourth not in screen(app) and not playbook.in_view():
                break
            await pilot.press("pageup")
            await pilot.pause(0.3)
        assert fourth not in screen(app) and not playbook.in_view()
        await pilot.press("space")
        await pilot.pause(0.5)
        assert all(state == "pending" for state in steps_of(store, ids["portal"]).values())  # nothing ticked unseen
        assert fourth in screen(app)
        assert any("out of view" in n.message for n in app._notifications)
        await pilot.press("space")
        await until(pilot, lambda: steps_of(store, ids["portal"])[keys[last]] == "done")
        assert [k for k, state in steps_of(store, ids["portal"]).items() if state != "pending"] == [keys[last]]


async def test_after_p_the_list_has_the_keys_and_hidden_rows_take_no_action(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        incident_list = await on(pilot, app, ids["hostile"])
        await pilot.press("p")  # the panels over the list
        await pilot.pause(0.2)
        await pilot.press("a")  # would acknowledge a row nobody can see
        await pilot.pause(0.5)
        with store.read() as session:
            assert queries.get_incident(session, ids["hostile"])["status"] == "reported"
        await pilot.press("p", "g", "j")  # the list back, and its keys work at once
        await pilot.pause(0.2)
        assert incident_list.has_focus and incident_list.cursor == 1


async def test_single_keys_act_on_the_cursor_row_and_marks_survive_them(board) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.screens.forms import TextForm

    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 30)) as pilot:
        incident_list = await on(pilot, app, ids["hostile"])
        await pilot.press("space")  # mark #3, the cursor moves to the next row
        await until(pilot, lambda: incident_list.marked == {ids["hostile"]})
        cursor_id = incident_list.selected_id
        assert cursor_id != ids["hostile"]
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, TextForm))
        assert f"#{cursor_id}" in screen(app)
        await pilot.press(*"checked the cables", "ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, TextForm))
        with store.read() as session:
            notes = {i: queries.incident_detail(session, i)["notes"] for i in (cursor_id, ids["hostile"])}
        assert [n["text"] for n in notes[cursor_id]] == ["checked the cables"] and notes[ids["hostile"]] == []
        await pilot.pause(0.3)
        assert incident_list.marked == {ids["hostile"]}  # the mark survived the note
        assert "1 marked" in status_line(app)
        await pilot.press("a")  # a bulk key: the marked row, then the marks go
        await until(pilot, lambda: not incident_list.marked)
        with store.read() as session:
            assert queries.get_incident(session, ids["hostile"])["status"] == "acknowledged"


async def test_a_first_run_on_an_empty_store_says_what_to_do(sqlite_url: str, clock: FakeClock) -> None:
    from opsdeck.backend.schema import open_store

    store = open_store(sqlite_url, clock=clock)  # no roster, no incidents
    app = make_app(store, clock, login="someone", read_only=False)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: getattr(app.screen, "panels", None) is not None)
            await pilot.pause(0.3)
            text = screen(app)
            assert "No roster yet" in text
            assert "opsdeck roster import roster.toml" in text
            assert "opsdeck --demo" in text
            assert "not on the roster" in status_line(app)
    finally:
        store.dispose()


async def test_arrivals_are_announced_named_and_flashed(board) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.backend.service import Service

    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 30)) as pilot:
        incident_list = await on(pilot, app, ids["switch"])
        await until(pilot, lambda: getattr(app.screen, "panels", None) is not None)
        await pilot.pause(0.3)
        assert not app._notifications  # what was there at the start is not news
        new = Service(store, "servers").open("Payment gateway timeouts", category="software_fault", level="III").id
        await until(pilot, lambda: any(f"New incident #{new} III!" in n.message for n in app._notifications))
        assert new in incident_list.flashing
        store.clock.advance(minutes=5, seconds=1)  # #3's classify clock runs out
        await pilot.pause(2)
        await until(
            pilot, lambda: any(f"#{ids['hostile']} breached: classify" in n.message for n in app._notifications)
        )
        assert ids["hostile"] in incident_list.flashing


async def test_a_burst_of_news_is_one_toast_that_counts_it(board) -> None:  # type: ignore[no-untyped-def]
    """A receiver's burst opens many incidents in one write, and their clocks then run out
    in the same second: one toast each time, naming the first few by number and counting
    the rest, instead of a screen buried in toasts; every one of those rows flashes."""
    from opsdeck.backend.actions.incidents import IncidentActions

    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 30)) as pilot:
        incident_list = await on(pilot, app, ids["switch"])
        await until(pilot, lambda: getattr(app.screen, "panels", None) is not None)
        await pilot.pause(0.3)
        store.clock.advance(minutes=1)  # off the minute the fixture's incidents were opened on
        with store.write("servers") as uow:
            opened = [IncidentActions.open_in(uow, f"Probe web{n:02} down") for n in range(8)]
        burst = sorted(int(incident.id or 0) for incident in opened)
        named = ", ".join(f"#{i}" for i in burst[:5])
        await until(pilot, lambda: any("new incidents" in n.message for n in app._notifications))
        messages = [n.message for n in app._notifications]
        assert messages == [f"8 new incidents: {named} and 3 more"]
        assert set(burst) <= set(incident_list.flashing)

        store.clock.advance(minutes=29)  # the fixture's clocks that run out first (#2, #5): one toast each
        await pilot.pause(1.5)
        app.clear_notifications()
        store.clock.advance(minutes=1, seconds=1)  # the burst's eight classify clocks run out
        await until(pilot, lambda: any("clocks ran out" in n.message for n in app._notifications))
        await pilot.pause(0.3)
        ran_out = [n.message for n in app._notifications if "ran out" in n.message or "breached" in n.message]
        assert ran_out == [f"8 clocks ran out: {named} and 3 more"]
        assert set(burst) <= set(incident_list.flashing)


async def test_q_asks_once_when_the_board_runs_the_worker(board) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.tui.app import Background

    store, ids = board
    app = make_app(store, store.clock)
    app.context.background.append(Background("opsdeck-worker", lambda stop: stop.wait()).start())
    async with app.run_test(size=(120, 30)) as pilot:
        await on(pilot, app, ids["switch"])
        await pilot.press("q")
        await pilot.pause(0.2)
        assert app.is_running
        assert any("quitting stops escalating deadlines" in n.message for n in app._notifications)
        await pilot.press("q")
        await pilot.pause(0.2)
        assert not app.is_running


async def test_ending_a_shift_with_open_incidents_is_asked_once(board) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.backend.service import Service

    store, ids = board
    Service(store, "lead").assign(ids["portal"], "lead")

    def on_duty() -> bool:
        with store.read() as session:
            return next(m for m in queries.roster(session) if m["login"] == "lead")["on_duty"]

    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await on(pilot, app, ids["switch"])
        await until(pilot, lambda: getattr(app.screen, "panels", None) is not None)
        await pilot.press("T")
        await pilot.pause(0.5)
        assert on_duty()
        assert any("you own 1 open incidents" in n.message for n in app._notifications)
        await pilot.press("T")
        await until(pilot, lambda: not on_duty())


async def test_question_mark_shows_the_keys_on_the_detail_screen_too(board) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.screens.help import HelpScreen
    from opsdeck.screens.incident import IncidentScreen

    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await on(pilot, app, ids["switch"])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Tick step" in screen(app)  # the detail screen's own keys
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))


async def test_the_history_screen_says_what_it_is(board) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.screens.history import HistoryScreen

    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await on(pilot, app, ids["switch"])
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.pause(0.3)
        assert "History: resolved and closed incidents" in screen(app).splitlines()[0]
