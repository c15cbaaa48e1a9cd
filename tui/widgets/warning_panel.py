"""The open warnings (预警, docs/plan.md#warnings) beside the probes: on a wide board always,
on a narrow one with the panels (`p`). Hidden while no warning is open. Each line: the
warning, the countdown to its next clock (red once breached), its measures done of all,
its title (a serious one marked `!`). `W` lists them and opens one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from opsdeck.backend.i18n import _
from opsdeck.backend.rows import OpenWarning
from opsdeck.backend.timeutil import format_countdown, parse_time

from ..text import cell

LINES = 6  # warnings shown; the rest are counted


class WarningPanel(Static):
    DEFAULT_CSS = """
    WarningPanel { height: auto; border-top: solid $primary; padding: 0 1; }
    WarningPanel.-empty { display: none; }
    """

    def show(self, rows: Sequence[OpenWarning], now: datetime, width: int) -> None:
        # (text, style) segments per line: only the countdown carries the clock's colour
        lines: list[list[tuple[str, str]]] = [[(_("Warnings {count} open (W: list)").format(count=len(rows)), "bold")]]
        names = {"analysed": _("analysis"), "leadership_told": _("leadership")}
        for row in rows[:LINES]:
            due = row["next_clock"]
            if due:
                left = (parse_time(due["due_at"], now) - now).total_seconds()
                when = f"{format_countdown(left)} {cell(names.get(due['key'], due['key']), 10)}"
                style = "bold red" if left < 0 else ("bold yellow" if due["state"] == "warning" else "")
            else:
                when, style = " " * 18, ""
            measures = cell(f"{row['measures_done']}/{row['measures_total']}", 5)
            title = ("! " if row["serious"] else "") + str(row["title"])
            room = max(0, width - 4 - 5 - 1 - 18 - 1 - 5 - 1)  # the border and the padding
            lines.append(
                [
                    (cell("W" + str(row["id"]), 5) + " ", "bold"),
                    (when, style),
                    (f" {measures} ", "dim"),
                    (cell(title, room), ""),
                ]
            )
        if len(rows) > LINES:
            lines.append([(_("… {count} more: W lists them all").format(count=len(rows) - LINES), "dim")])
        key = tuple(tuple(line) for line in lines)
        if key == getattr(self, "_shown", None):
            return  # unchanged: nothing to repaint
        self._shown = key
        self.set_class(not rows, "-empty")
        text = Text(no_wrap=True, overflow="ellipsis")
        for n, line in enumerate(lines):
            if n:
                text.append("\n")
            for segment, style in line:
                text.append(segment, style)
        self.update(text)
