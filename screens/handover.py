"""`H`: the shift handover (交接班), as `opsdeck handover` prints it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from opsdeck.backend import ranking, words
from opsdeck.backend.handover import Handover, handover
from opsdeck.backend.handover_lines import coverage_lines, open_warning_lines, shift_warning_lines
from opsdeck.backend.i18n import _, pick
from opsdeck.backend.timeutil import format_countdown, format_local
from opsdeck.tui.text import cell
from opsdeck.tui.widgets.keyhints import KeyHints

if TYPE_CHECKING:
    from opsdeck.tui.context import BoardContext


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

    def show(self, data: Handover) -> None:
        def local(value: str | None) -> str:
            return format_local(datetime.fromisoformat(value.replace("Z", "+00:00")), self.ctx.zone) if value else "-"

        def short(value: str | None) -> str:  # month, day and time: a shift is hours long
            if not value:
                return "-".ljust(11)
            return (
                datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(self.ctx.zone).strftime("%m-%d %H:%M")
            )

        text = Text()
        hours = int(self.since.total_seconds() // 3600)
        text.append(_("Handover: the last {hours} h").format(hours=hours) + "\n\n", "bold")
        heading = _("Open incidents ({count}), most urgent first").format(count=len(data["open_incidents"]))
        text.append(heading + "\n", "bold")
        # id, level, countdown and deadline, then the title in what the width leaves, then the owner
        title_w = min(50, max(12, self.size.width - 60))
        for item in data["open_incidents"]:
            due = item["next_deadline"]
            name = clock_name(due["key"], due.get("name_zh", "")) if due else ""
            when = f"{format_countdown(due['remaining_s'])} {cell(name, 20)}" if due else " " * 30
            style = "bold red" if due and due["remaining_s"] < 0 else ""
            text.append(f"  #{item['id']:<5} {cell(item['level'] or '--', 4)} ")
            text.append(when, style)
            text.append(f" {cell(item['title'], title_w)} {cell(item['owner'] or '-', 10)}\n")
        ended = _("Resolved and closed this shift ({count})").format(count=len(data["ended_since"]))
        text.append("\n" + ended + "\n", "bold")
        for e in data["ended_since"]:
            status = words.status(e["status"])
            text.append(f"  #{e['id']:<5} {cell(status, 10)} {short(e['at'])} {cell(e['title'], title_w + 16)}\n")
        owed = _("Call-backs owed ({count})").format(count=len(data["callbacks_owed"]))
        text.append("\n" + owed + "\n", "bold")
        for c in data["callbacks_owed"]:
            text.append(f"  #{c['incident_id']:<5} {short(c['at'])} {cell(c['caller'], 40)}\n")
        not_ok = ", ".join(f"{p['name']} {words.probe_state(p['state'])}" for p in data["probes_not_ok"])
        text.append("\n" + _("Probes not OK:") + " ", "bold")
        text.append(cell(not_ok or _("none"), 200) + "\n")
        text.append("\n" + _("Breaches escalated ({count})").format(count=len(data["breaches_since"])) + "\n", "bold")
        for b in data["breaches_since"]:
            to = _("to {targets}").format(targets=cell(", ".join(b["to"]) or _("nobody (met late)"), 40))
            text.append(f"  #{b['incident_id']:<5} {cell(clock_name(b['rule'], ''), 22)} {to}\n")
        unattested = _("Unattested obligations ({count})").format(count=len(data["unattested_obligations"]))
        text.append("\n" + unattested + "\n", "bold")
        for u in data["unattested_obligations"]:
            names = [pick(en, zh) for en, zh in zip(u["missing_en"], u["missing_zh"], strict=True)]
            text.append(f"  #{u['incident_id']:<5} {cell(', '.join(names), max(20, self.size.width - 12))}\n")
        text.append("\n" + _("Stale probes:") + " ", "bold")
        text.append(cell(", ".join(data["stale_probes"]) or _("none"), 120) + "\n")
        text.append(_("Silenced probes:") + " ", "bold")
        text.append(cell(", ".join(p["name"] for p in data["silenced_probes"]) or _("none"), 120) + "\n")

        for line, style in coverage_lines(data["coverage"], self.ctx.zone):
            text.append(cell(line, 120) + "\n", style)

        for line, style in open_warning_lines(data["open_warnings"]) + shift_warning_lines(data, local):
            text.append(cell(line, 120) + "\n", style)
        self.query_one("#handover", Static).update(text)

    def action_back(self) -> None:
        self.app.pop_screen()


def clock_name(rule: str, name_zh: str) -> str:
    """A deadline as the board names it in English (never the rule's id), the plan's term in Chinese."""
    return pick(ranking.clock_label(rule), name_zh)
