"""The screens in Chinese: the real app, headless, read off the screen as drawn. The plan's
terms (网络故障事件, 较大, the policy's Chinese playbook steps, deadline names and
obligations) replace the English ones; forms, refusals and notifications speak Chinese.
Key binding descriptions are fixed at import, in English here: not asserted."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.store import Store
from opsdeck.screens.forms import ActionForm
from opsdeck.screens.help import HelpScreen
from opsdeck.screens.incident import IncidentScreen
from opsdeck.tui import keymap
from opsdeck.tui.app import OpsdeckApp
from opsdeck.tui.palette import screen_commands
from opsdeck.tui.widgets.incident_list import IncidentList

from ..board_fixtures import make_app, until
from ..conftest import FakeClock
from .test_wall import svg_lines


async def on(pilot, app: OpsdeckApp, incident_id: int) -> None:  # type: ignore[no-untyped-def]
    incident_list = app.screen.query_one(IncidentList)
    await until(pilot, lambda: incident_id in incident_list.order and incident_id in incident_list.rows)
    incident_list.cursor = incident_list.order.index(incident_id)
    await pilot.pause(0.05)


def screen(app: OpsdeckApp) -> str:
    """What the terminal shows, line by line (a wide character takes two cells)."""
    return "\n".join(line.rstrip() for line in svg_lines(app.export_screenshot()))


def messages(app: OpsdeckApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_the_detail_shows_the_plan_in_chinese(
    board: tuple[Store, dict[str, int]], clock: FakeClock, in_chinese: None
) -> None:
    store, ids = board
    app = make_app(store, clock, login="telecom")
    async with app.run_test(size=(140, 44)) as pilot:
        await on(pilot, app, ids["switch"])  # network_fault, III, owned by telecom
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
        await pilot.pause(0.3)
        shown = screen(app)
        assert "#1 III 较大 Core switch A lost both uplinks" in shown  # the stored title as it is
        assert "已确认  网络故障事件  负责人 telecom  系统 core-network  版本 2" in shown
        assert "报告时间" in shown and "reported_at" not in shown
        lines = shown.splitlines()
        assert any("已超时" in line and "报告所领导" in line for line in lines)
        assert "leadership_report" not in shown
        assert "处置步骤（空格：完成，x：跳过并说明理由）" in shown
        assert "[ ] 线路负责人检查线路和设备" in shown and "Telecom-lines owner" not in shown
        assert "III 级（较大）及以上的义务（b：登记）" in shown
        assert "[ ] 已报告所领导" in shown and "Leadership informed" not in shown
        assert "客服来电（0 个，待回访 0 个；l：登记）" in shown
        assert "时间线（最新的在前）" in shown

        await pilot.press("down", "x")  # skip the second step: the form, then the step marked in Chinese
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        assert "跳过 #1 的步骤 backup_line" in screen(app) and "跳过理由" in screen(app)
        await pilot.press(*"no backup line", "enter")
        await until(pilot, lambda: "步骤 backup_line 已跳过" in messages(app))
        await until(pilot, lambda: "切换到备用线路  （telecom 已跳过：no backup line）" in screen(app))


async def test_a_form_and_its_refusal_in_chinese(
    board: tuple[Store, dict[str, int]], clock: FakeClock, in_chinese: None
) -> None:
    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(140, 44)) as pilot:
        await on(pilot, app, ids["db"])  # unclassified
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.pause(0.2)
        form = screen(app)
        assert "定类定级 #4" in form and "类别（1-8）" in form
        assert "1  网络攻击事件" in form and "4  网络故障事件" in form and "network_attack" not in form
        assert "级别（I 级最严重）" in form and "I 特别重大" in form
        assert "理由（已定类定级后再调整时必填）" in form
        assert "提交（ctrl+s）" in form and "取消（esc）" in form
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ActionForm))

        await pilot.press("b")  # attest on an unclassified incident: refused with a notification
        await until(pilot, lambda: "#4 低于 III 级（较大）：没有需要登记的义务" in messages(app))


async def test_a_bulk_result_and_the_help_in_chinese(
    board: tuple[Store, dict[str, int]], clock: FakeClock, in_chinese: None
) -> None:
    store, ids = board
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(140, 44)) as pilot:
        incident_list = app.screen.query_one(IncidentList)
        await until(
            pilot, lambda: len(incident_list.order) == 5 and all(i in incident_list.rows for i in incident_list.order)
        )
        for name in ("hostile", "db", "switch"):  # two reported, one acknowledged already
            incident_list.cursor = incident_list.order.index(ids[name])
            await pilot.press("space")
        await pilot.press("a")
        await until(pilot, lambda: any(m.startswith("已确认 2 个，1 个被拒绝（") for m in messages(app)))

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause(0.2)
        shown = screen(app)
        assert "按键" in shown and "图例：严重程度从不只用颜色表示" in shown
        assert "I 级 特别重大：中断超过 24 小时" in shown
        assert "已报告，尚无人确认" in shown

        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        textual_s_own = {(c.title, c.help) for c in app.get_system_commands(app.screen)}
        assert ("主题", "更换当前主题") in textual_s_own and ("退出", "立即退出程序") in textual_s_own
        assert all(not title.isascii() for title, _help in textual_s_own), textual_s_own
        await pilot.press("ctrl+p")
        await until(pilot, lambda: app.screen.query("#--input Input"))
        assert app.screen.query_one("#--input Input", Input).placeholder == "搜索命令…"


def test_a_bad_keymap_is_refused_in_chinese(tmp_path: Path, in_chinese: None) -> None:
    path = tmp_path / "keymap.toml"
    path.write_text('[keys]\n"list.down" = "j,ctrl+q"\n', "utf-8")
    with pytest.raises(InvalidInput) as error:
        keymap.load(path)
    assert str(error.value) == f"{path}：list.down = 'ctrl+q'，但 ctrl+q 已用于退出 — 请换一个按键"


def test_the_command_palette_offers_chinese(in_chinese: None) -> None:
    assert ("new_incident", "报告新事件", "手工录入的外部预警") in screen_commands()
