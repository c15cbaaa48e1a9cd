"""English mode shows English rule names (issue #19, item 8): the detail's deadlines and
obligations and the attest picker in the policy's English words, never a rule's id
(ack_lease) or the Chinese beside it. The real app, headless."""

from __future__ import annotations

from opsdeck.backend import queries
from opsdeck.screens.forms import ActionForm
from opsdeck.screens.incident import IncidentScreen

from ..board_fixtures import make_app, until
from .test_board_ux import on, screen


async def test_the_detail_and_the_attest_picker_name_rules_in_english(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 80)) as pilot:
        await on(pilot, app, ids["portal"])  # II: the leadership and departments clocks, obligations
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
        await pilot.pause(0.3)
        shown = screen(app)
        deadlines = shown.split("Deadlines")[1].split("Playbook")[0]
        assert "Report to leadership" in deadlines and "Notify every business department" in deadlines
        for said in ("leadership_report", "departments_notified", "ack_lease", "报告所领导", "通知各业务部室"):
            assert said not in deadlines, said
        obligations = shown.split("Obligations, level III and above")[1].split("Notes")[0]
        assert "[ ] Leadership informed" in obligations and "已报告所领导" not in obligations
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ActionForm) and "Leadership informed" in screen(app))
        picker = screen(app)
        assert "[ ] Leadership informed" in picker and "leadership_report" not in picker and "已报告" not in picker
        await pilot.press("enter", *"phone", "enter")
        await until(pilot, lambda: not isinstance(app.screen, ActionForm))
        with store.read() as session:
            attested = [o["key"] for o in queries.obligations(session, ids["portal"]) if o["attested"]]
        assert attested == ["leadership_informed"]
