"""`S` on the board: the duty schedule (排班) as a week grid, duties down, days across;
`[` and `]` turn the week, `o` adds an override for the highlighted duty and day."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from opsdeck.backend import queries, schedule, schedule_edit, schedule_views
from opsdeck.backend.i18n import _
from opsdeck.screens.forms import FieldsForm
from opsdeck.tui.text import cell
from opsdeck.tui.widgets.keyhints import KeyHints

if TYPE_CHECKING:
    from opsdeck.tui.context import BoardContext

COLUMN = 16  # cells per day: "09:00 王磊 Wang…" fits; a CJK character takes two


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def short_name(name: str, login: str) -> str:
    """What fits a cell: a name's Chinese part (陈静 of "Chen Jing 陈静"), else the name,
    else the login."""
    found = _CJK.search(name)
    return found.group(0) if found else (name.strip() or login)


def weekdays() -> tuple[str, ...]:
    return (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))


class ScheduleScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "back", _("Back"), id="schedule.back"),
        Binding("left_square_bracket", "previous_week", _("Previous week"), id="schedule.previous"),
        Binding("right_square_bracket", "next_week", _("Next week"), id="schedule.next"),
        Binding("o", "override", _("Override"), id="schedule.override"),
    ]
    DEFAULT_CSS = """
    ScheduleScreen #schedule-title { height: 1; text-style: bold; padding: 0 1; }
    ScheduleScreen DataTable { height: 1fr; }
    """

    def __init__(self, context: BoardContext) -> None:
        super().__init__()
        self.ctx = context
        today = context.clock().astimezone(context.zone).date()
        self.monday = today - timedelta(days=today.weekday())
        self.grid: tuple[tuple[schedule_views.GridCell, ...], ...] = ()
        self.first_shown = True  # the first week drawn opens on today's column

    def compose(self) -> ComposeResult:
        yield Static(_("loading…"), id="schedule-title")
        table: DataTable[Text] = DataTable(id="schedule-grid", cursor_type="cell", zebra_stripes=True)
        table.fixed_columns = 1  # the duty's name stays while the days scroll (80 columns show four)
        yield table
        yield KeyHints()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="schedule", exit_on_error=False)
    def load(self) -> tuple[tuple[tuple[schedule_views.GridCell, ...], ...], dict[str, str]]:
        with self.ctx.store.read() as session:
            grid = schedule_views.week_grid(session, self.ctx.clock(), self.monday, self.ctx.zone)
            names = {m["login"]: m["name"] for m in queries.roster(session, self.ctx.clock())}
        return grid, names

    @on(Worker.StateChanged)
    def _loaded(self, event: Worker.StateChanged) -> None:
        result = event.worker.result
        if event.worker.group == "schedule" and event.worker.state == WorkerState.SUCCESS and result is not None:
            grid, names = result
            self.show(grid, names)

    def show(self, grid: tuple[tuple[schedule_views.GridCell, ...], ...], names: dict[str, str]) -> None:
        self.grid = grid
        sunday = self.monday + timedelta(days=6)
        self.query_one("#schedule-title", Static).update(
            Text(_("Duty schedule {start} – {end}").format(start=self.monday.isoformat(), end=sunday.isoformat()))
        )
        table = self.query_one(DataTable)
        row, column = table.cursor_coordinate
        table.clear(columns=True)
        table.add_column(_("duty"), width=9)
        for index in range(7):
            day = self.monday + timedelta(days=index)
            table.add_column(f"{weekdays()[index]} {day:%m-%d}", width=COLUMN)
        for cells in grid:
            lines = [self._lines(c, names) for c in cells]
            height = max(1, *(len(x) for x in lines))
            texts = []
            for part_lines in lines:
                text = Text(no_wrap=True)
                for number, (line, gap) in enumerate(part_lines):
                    text.append(("\n" if number else "") + line, "bold reverse red" if gap else "")
                texts.append(text)
            table.add_row(Text(cells[0].duty, "bold"), *texts, height=height)
        if grid:
            if self.first_shown:
                today = self.ctx.clock().astimezone(self.ctx.zone).date()
                column = (today - self.monday).days + 1
                self.first_shown = False
            table.move_cursor(row=min(row, len(grid) - 1), column=max(1, column))

    def _lines(self, grid_cell: schedule_views.GridCell, names: dict[str, str]) -> list[tuple[str, bool]]:
        out = []
        for start, _end, logins in grid_cell.parts:
            at = start.astimezone(self.ctx.zone).strftime("%H:%M")
            who = ",".join(short_name(names.get(login, ""), login) for login in logins) if logins else _("GAP")
            out.append((cell(f"{at} {who}", COLUMN), not logins))
        return out

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_previous_week(self) -> None:
        self.monday -= timedelta(days=7)
        self.load()

    def action_next_week(self) -> None:
        self.monday += timedelta(days=7)
        self.load()

    def _slot(self) -> tuple[str, date] | None:
        table = self.query_one(DataTable)
        row, column = table.cursor_coordinate
        if not self.grid or column < 1 or row >= len(self.grid):
            return None
        return self.grid[row][column - 1].duty, self.monday + timedelta(days=column - 1)

    def action_override(self) -> None:
        """Someone covers the highlighted duty on the highlighted day (default: you, all day)."""
        slot = self._slot()
        if slot is None:
            self.app.notify(_("highlight a day of a duty first"))
            return
        duty, day = slot
        zone = self.ctx.zone
        day_start = datetime.combine(day, time(0)).replace(tzinfo=zone)
        now = self.ctx.clock()

        def when(text: str, default: datetime, after: datetime | None) -> datetime:
            if not text.strip():
                return default
            if ":" in text and len(text.strip()) <= 5:  # a clock time: on that day (or the next)
                moment = schedule.parse_when(text, day_start - timedelta(minutes=1), zone, after=after)
                return moment
            return schedule.parse_when(text, now, zone, after=after)

        def perform(values: dict[str, Any], _seen: int | None) -> str:
            login = values["login"].strip() or self.ctx.login
            start = when(values["start"], max(day_start, now), None)
            end = when(values["end"], day_start + timedelta(days=1), start)
            slot_id = schedule_edit.add_override(self.ctx.store, self.ctx.login, duty, login, start, end)
            return _("override #{id}: {login} covers {duty} {start} → {end}").format(
                id=slot_id,
                login=login,
                duty=duty,
                start=start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                end=end.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            )

        title = _("Override {duty} on {day}").format(duty=duty, day=day.isoformat())
        fields = (
            ("login", _("who covers"), self.ctx.login),
            ("start", _("from"), _("HH:MM (default the start of the day, or now)")),
            ("end", _("until"), _("HH:MM (default midnight)")),
        )
        self.app.push_screen(FieldsForm(title, perform, None, fields=fields), self._told)

    def _told(self, result: str | None) -> None:
        if result:
            self.app.notify(result)
            self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # hidden for a viewer: they change nothing (and the service refuses anyway)
        return not (action == "override" and self.ctx.read_only)
