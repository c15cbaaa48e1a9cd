"""The wall (`opsdeck wall`), driven with Pilot against a real store: pictures at 80x24
and 200x60, alerts that flash and ring until a person acknowledges them (written from
another process: tests/e2e/test_wall_processes.py), keys that write nothing, pages that
turn, hostile titles as text.
Look at the pictures before accepting them: `pytest tests/ui/test_wall.py --snapshot-update`."""

from __future__ import annotations

import html
import re
import string
import unicodedata
from collections.abc import Callable, Iterator
from functools import partial

import pytest
from sqlalchemy import func, select

from opsdeck.backend import board
from opsdeck.backend.board import BoardFilter
from opsdeck.backend.cells import cell_len
from opsdeck.backend.models import AuditEvent, Change
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.screens.wall import WallScreen
from opsdeck.tui.app import WallApp
from opsdeck.tui.widgets.wall import wall_countdown

from ..board_fixtures import board_incidents, seeded_store, until
from ..conftest import FakeClock
from ..wall_helpers import count_bells, flashing, loaded, make_wall, row_of, shown_ids, wall

LONG_CHINESE = "数据库服务器集群主节点磁盘阵列故障导致核心业务系统全部中断,所有用户无法登录"
HOSTILE = "[bold red]FAKE[/bold red] \x1b[31mred\x1b[0m \x07bell\x1b]0;pwned\x07 \x9b2J\x85tail [link=http://x]y[/link]"


def screen_lines(app: WallApp) -> list[str]:
    """The screen as text, column by column (CJK takes two), from the SVG screenshot."""
    return svg_lines(app.export_screenshot())


def svg_lines(svg: str) -> list[str]:
    cells: dict[int, dict[int, str]] = {}
    pattern = r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" clip-path="url\(#[\w-]*line-(\d+)\)">(.*?)</text>'
    for match in re.finditer(pattern, svg):
        column, line = round(float(match.group(1)) / 12.2), int(match.group(2))
        row = cells.setdefault(line, {})
        for char in html.unescape(match.group(3)).replace("\xa0", " "):
            row[column] = char
            if unicodedata.east_asian_width(char) in ("W", "F"):
                column += 1
                row[column] = ""  # the second cell of a wide character
            column += 1
    return [
        "".join(row.get(c, " ") for c in range(max(row, default=-1) + 1))
        for row in (cells.get(n, {}) for n in range(max(cells, default=-1) + 1))
    ]


def counts(store: Store) -> tuple[int, int]:
    """Change-feed entries and audit events: any write adds to both."""
    with store.read() as session:
        return (
            session.execute(select(func.count()).select_from(Change)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        )


@pytest.fixture
def wall_board(sqlite_url: str, clock: FakeClock) -> Iterator[tuple[Store, dict[str, int]]]:
    store = seeded_store(sqlite_url, clock)
    ids = board_incidents(store, clock)
    yield store, ids
    store.dispose()


@pytest.fixture
def bells(monkeypatch: pytest.MonkeyPatch) -> Callable[[WallApp], list[int]]:
    """Count the app's `bell()` calls: `rung = bells(app)`."""
    return partial(count_bells, monkeypatch)


# -- pictures ------------------------------------------------------------------------------


@pytest.fixture
def pictured(sqlite_url: str) -> Iterator[WallApp]:
    """The board's data, a level I incident with a title too long for any row, and a
    worker heartbeat (no banner): the wall as it hangs in a quiet ops center."""
    from opsdeck.backend.worker import Worker

    clock = FakeClock()
    store = seeded_store(sqlite_url, clock)
    board_incidents(store, clock)
    Service(store, "servers").open(LONG_CHINESE, system="db-cluster", category="server_fault", level="I")
    Worker(store, {}).beat()
    yield make_wall(store, clock)
    store.dispose()


async def settled(pilot) -> None:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: loaded(pilot.app) and len(shown_ids(pilot.app)) == 6)
    await pilot.pause(0.3)


def test_wall_80x24(pictured: WallApp, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(pictured, terminal_size=(80, 24), run_before=settled)


def test_wall_200x60(pictured: WallApp, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(pictured, terminal_size=(200, 60), run_before=settled)


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
def test_wall_in_chinese(pictured: WallApp, snap_compare, in_chinese: None, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(pictured, terminal_size=size, run_before=settled)


def test_wall_in_ascii_mode(pictured: WallApp, snap_compare) -> None:  # type: ignore[no-untyped-def]
    from opsdeck.tui.ascii import AsciiFilter

    pictured.context.ascii = True
    pictured._filters.append(AsciiFilter())  # what OpsdeckApp does for a context with ascii set
    assert snap_compare(pictured, terminal_size=(80, 24), run_before=settled)


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_chinese_titles_keep_the_columns(pictured: WallApp, size: tuple[int, int]) -> None:
    """Every row's countdown, title and (wide) side border sit in the same columns, CJK or not."""
    app = pictured
    async with app.run_test(size=size) as pilot:
        await settled(pilot)
        lines = screen_lines(app)
        assert len(lines) == size[1] and all(cell_len(line) <= size[0] for line in lines)
        titles = [line for line in lines[1:] if re.search(r"#\d+ ", line)]
        assert len(titles) == 6
        assert len({cell_len(line[: line.index("#")]) for line in titles}) == 1
        if size[0] < 120:  # cut on a character, with an ellipsis, at the row's end
            assert any("数据库服务器" in line and line.rstrip().endswith("…") for line in titles)
        else:
            assert any(LONG_CHINESE in line for line in titles)
        assert any("门户网站首页被篡改" in line for line in titles)
        if size[0] >= 120:
            at = [{cell_len(line[:n]) for n, char in enumerate(line) if char == "│"} for line in lines[6:]]
            assert set.intersection(*at), "the side panel's border is not one straight line"


# -- live, alerts and the bell -----------------------------------------------------------------


async def test_order_is_the_boards_breached_first(wall_board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = wall_board
    app = make_wall(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: loaded(app) and len(shown_ids(app)) == 5)
        with store.read() as session:
            expected = [k.id for k in board.load_keys(session, BoardFilter(), "due", now=clock())]
        assert shown_ids(app) == expected
        assert expected[:2] == [ids["switch"], ids["portal"]]
        # Both are 20 and 15 minutes late: a reversed countdown and LATE in words, not colour alone.
        first = row_of(app, ids["switch"])
        assert first is not None and first._countdown == ("-20:00", "-breached")
        assert "LATE" in str(first.query_one(".badge").render()) and "III" in str(first.query_one(".badge").render())


async def test_at_start_a_breach_someone_acted_on_since_does_not_flash(wall_board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = wall_board
    clock.advance(seconds=1)
    Service(store, "lead").note(ids["portal"], "calling the leadership now")  # after its report was due
    app = make_wall(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: loaded(app) and len(shown_ids(app)) == 5)
        assert flashing(app, ids["switch"]) and not flashing(app, ids["portal"])
        assert wall(app).alerts.ids() == [ids["switch"]]


async def test_the_bell_can_be_turned_off(wall_board, clock: FakeClock, bells) -> None:  # type: ignore[no-untyped-def]
    store, ids = wall_board
    app = make_wall(store, clock, bell=False)
    rung = bells(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: loaded(app) and flashing(app, ids["switch"]))
        clock.advance(minutes=6)
        await until(pilot, lambda: flashing(app, ids["hostile"]), timeout=3)
        assert rung == []


# -- read-only ---------------------------------------------------------------------------------


KEYS = [
    *string.ascii_letters,
    *string.digits,
    *"`-=[];',./\\~!@#$%^&*()_+{}|:\"<>?",
    "enter",
    "space",
    "tab",
    "shift+tab",
    "escape",
    "backspace",
    "delete",
    "insert",
    "up",
    "down",
    "left",
    "right",
    "home",
    "end",
    "pageup",
    "pagedown",
    "f1",
    "f2",
    "f10",
    *(f"ctrl+{c}" for c in "abdefghijklmnoprstuvwxyz"),  # not ctrl+c, ctrl+q: those quit
]


async def test_no_key_writes_anything(wall_board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, ids = wall_board
    app = make_wall(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: loaded(app) and len(shown_ids(app)) == 5)
        before = counts(store)
        for key in KEYS:
            await pilot.press(key)
        await pilot.pause(0.5)
        assert counts(store) == before
        assert [type(s).__name__ for s in app.screen_stack] == ["Screen", "WallScreen"]  # no form, palette, help
        assert shown_ids(app)[:2] == [ids["switch"], ids["portal"]]


def test_the_wall_app_has_no_palette_and_no_mouse(wall_board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    assert WallApp.ENABLE_COMMAND_PALETTE is False
    store, _ = wall_board
    mouse: list[bool] = []

    async def look(pilot) -> None:  # type: ignore[no-untyped-def]
        mouse.append(pilot.app._driver._mouse)  # what the terminal driver was started with
        pilot.app.exit()

    make_wall(store, clock).run(headless=True, auto_pilot=look)
    asked: list[bool] = []

    async def look_again(pilot) -> None:  # type: ignore[no-untyped-def]
        asked.append(pilot.app._driver._mouse)
        pilot.app.exit()

    make_wall(store, clock).run(headless=True, mouse=True, auto_pilot=look_again)
    assert (mouse, asked) == ([False], [True])
    assert "BINDINGS" not in vars(WallScreen)  # only Screen's own: focus and copy


async def test_the_wall_not_the_board_is_in_front(wall_board, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store, _ = wall_board
    app = make_wall(store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: loaded(app))
        assert [type(s).__name__ for s in app.screen_stack] == ["Screen", "WallScreen"]  # the default, then ours


# -- pages -------------------------------------------------------------------------------------


async def test_pages_turn_on_a_timer(sqlite_url: str, clock: FakeClock) -> None:
    store = seeded_store(sqlite_url, clock)
    ops = Service(store, "servers")
    for n in range(20):
        ops.open(f"incident {n:02d}", category="other", level="IV")
        clock.advance(seconds=30)
    app = make_wall(store, clock, page_seconds=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: loaded(app) and len(wall(app).order) == 20)
        await pilot.pause(0.2)  # the no-worker banner came: one row fewer fits
        screen = wall(app)
        per_page, pages = screen.per_page, screen.pages
        assert pages == -(-20 // per_page) > 1
        await until(pilot, lambda: screen.page == 0, timeout=3)
        assert shown_ids(app) == screen.order[:per_page]
        await until(pilot, lambda: screen.page == 1, timeout=3)
        assert shown_ids(app) == screen.order[per_page : 2 * per_page]
        assert any(f"page 2/{pages}" in line for line in screen_lines(app))
        await until(pilot, lambda: screen.page == pages - 1, timeout=5)
        assert shown_ids(app) == screen.order[(pages - 1) * per_page :]
        await until(pilot, lambda: screen.page == 0, timeout=3)  # and round again
    store.dispose()


# -- untrusted text ----------------------------------------------------------------------------


async def test_a_hostile_title_is_plain_text(sqlite_url: str, clock: FakeClock) -> None:
    store = seeded_store(sqlite_url, clock)
    incident = Service(store, "servers").open(HOSTILE, category="other", level="IV")
    app = make_wall(store, clock)
    async with app.run_test(size=(160, 30)) as pilot:
        await until(pilot, lambda: loaded(app) and shown_ids(app) == [incident.id])
        row = row_of(app, incident.id)
        assert row is not None
        body = str(row.query_one(".body").render())
        assert "[bold red]FAKE[/bold red]" in body and "[link=http://x]y[/link]" in body
        assert not re.search(r"[\x00-\x1f\x7f-\x9f]", body.replace("\n", ""))
        await until(pilot, lambda: "[bold red]FAKE[/bold red]" in "\n".join(screen_lines(app)))  # once painted
        assert "pwned" not in "\n".join(screen_lines(app))
        assert "\x1b" not in app.export_screenshot()
    store.dispose()


def test_countdowns_are_big_digits_with_units_only_past_100_hours() -> None:
    assert wall_countdown(59) == "00:59"
    assert wall_countdown(-1200) == "-20:00"
    assert wall_countdown(3600 * 2 + 5) == "2:00:05"
    assert wall_countdown(-(3600 * 30 + 61)) == "-30:01:01"
    assert wall_countdown(-(3600 * 99 + 3599)) == "-99:59:59"  # the widest: 27 cells of the row's 29
    assert wall_countdown(-(86400 * 6 + 3 * 3600)) == "-6d 03h"
    assert set("".join(wall_countdown(s) for s in (0, -0.5, 3600 * 99, -3600 * 50))) <= set("-:0123456789")
