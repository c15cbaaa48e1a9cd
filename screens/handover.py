"""`H`: the shift handover (交接班), as `opsdeck handover` prints it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from opsdeck.backend.handover import handover
from opsdeck.backend.i18n import _, pick
from opsdeck.backend.timeutil import format_countdown, format_local
from opsdeck.tui.text import cell
from opsdeck.tui.widgets.keyhints import KeyHints

if TYPE_CHECKING:
    from opsdeck.tui.app import BoardContext


class HandoverScreen(Screen[None]):
    BINDINGS = [Binding("escape,q", "back", _("Back"), id="handover.back")]

    def __init__(self, context: BoardContext, since: timedelta = timedelta(hours=8)) -> None:
        super().__init__()
        self.ctx, self.since = context, since

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(_("loading…"), id="handover")
        yield KeyHints()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        with self.ctx.store.read() as session:
            data = handover(session, self.ctx.clock(), self.since, self.ctx.zone)
        self.app.call_from_thread(self.show, data)

    def show(self, data: dict[str, Any]) -> None:
        text = Text()
        hours = int(self.since.total_seconds() // 3600)
        text.append(_("Handover: the last {hours} h").format(hours=hours) + "\n\n", "bold")
        heading = _("Open incidents ({count}), most urgent first").format(count=len(data["open_incidents"]))
        text.append(heading + "\n", "bold")
        # id, level, countdown and deadline, then the title in what the width leaves, then the owner
        title_w = min(50, max(12, self.size.width - 60))
        for item in data["open_incidents"]:
            due = item["next_deadline"]
            name = pick(due["key"], due.get("name_zh", "")) if due else ""
            when = f"{format_countdown(due['remaining_s'])} {cell(name, 20)}" if due else " " * 30
            style = "bold red" if due and due["remaining_s"] < 0 else ""
            text.append(f"  #{item['id']:<5} {cell(item['level'] or '--', 4)} ")
            text.append(when, style)
            text.append(f" {cell(item['title'], title_w)} {cell(item['owner'] or '-', 10)}\n")
        text.append("\n" + _("Breaches escalated ({count})").format(count=len(data["breaches_since"])) + "\n", "bold")
        for b in data["breaches_since"]:
            to = _("to {targets}").format(targets=cell(", ".join(b["to"]) or _("nobody (met late)"), 40))
            text.append(f"  #{b['incident_id']:<5} {cell(b['rule'], 22)} {to}\n")
        unattested = _("Unattested obligations ({count})").format(count=len(data["unattested_obligations"]))
        text.append("\n" + unattested + "\n", "bold")
        for u in data["unattested_obligations"]:
            text.append(f"  #{u['incident_id']:<5} {cell(', '.join(u['missing']), 90)}\n")
        text.append("\n" + _("Stale probes:") + " ", "bold")
        text.append(cell(", ".join(data["stale_probes"]) or _("none"), 120) + "\n")
        text.append(_("Silenced probes:") + " ", "bold")
        text.append(cell(", ".join(p["name"] for p in data["silenced_probes"]) or _("none"), 120) + "\n")
        from opsdeck.tui.handover_lines import coverage_lines  # the duty schedule's gaps ahead

        for line, style in coverage_lines(data["coverage"], self.ctx.zone):
            text.append(cell(line, 120) + "\n", style)
        from opsdeck.tui.handover_lines import open_warning_lines, shift_warning_lines  # warnings (预警)

        def local(value: str | None) -> str:
            return format_local(datetime.fromisoformat(value.replace("Z", "+00:00")), self.ctx.zone) if value else "-"

        for line, style in open_warning_lines(data["open_warnings"]) + shift_warning_lines(data, local):
            text.append(cell(line, 120) + "\n", style)
        self.query_one("#handover", Static).update(text)

    def action_back(self) -> None:
        self.app.pop_screen()
