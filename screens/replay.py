"""`@` on the board: the board as it stood at a past moment, rebuilt from the audit
trail (backend/replay.py), for handovers and audits. Left and right step ten minutes;
`t` takes a time (08:30, -2h, 2026-11-28T08:30:00+08:00). Read-only by nature."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from opsdeck.backend.board_text import render_replay
from opsdeck.backend.handover_lines import open_warning_lines
from opsdeck.backend.i18n import _
from opsdeck.backend.replay import board_at
from opsdeck.backend.sanitize import clean
from opsdeck.backend.timeutil import TimeFormatError, format_local, parse_time
from opsdeck.backend.warning_trail import warnings_at
from opsdeck.tui.board_words import board_text
from opsdeck.tui.context import BoardContext
from opsdeck.tui.widgets.keyhints import KeyHints

STEP = timedelta(minutes=10)


class ReplayScreen(Screen[None]):
    AUTO_FOCUS = None  # the time field is hidden until `t`; the keys step through time
    BINDINGS = [
        Binding("escape,q", "back", _("Back"), id="replay.back"),
        Binding("left,minus", "step(-1)", _("10 min earlier"), id="replay.earlier"),
        Binding("right,plus", "step(1)", _("10 min later"), id="replay.later"),
        Binding("t", "ask_time", _("Time"), id="replay.time"),
    ]
    DEFAULT_CSS = """
    ReplayScreen #replay-title { height: auto; background: $warning-darken-3; color: $text; padding: 0 1; }
    ReplayScreen #replay-error { height: auto; color: $error; text-style: bold; padding: 0 1; }
    ReplayScreen #replay-error.-empty { display: none; }
    ReplayScreen #replay-at { display: none; }
    ReplayScreen #replay-at.-asking { display: block; }
    ReplayScreen #replay-body { height: 1fr; }
    ReplayScreen #replay-board { text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(self, context: BoardContext, at: datetime | None = None) -> None:
        super().__init__()
        self.ctx = context
        self.at = at or context.clock() - timedelta(hours=1)

    def compose(self) -> ComposeResult:
        yield Static(id="replay-title")
        yield Static(id="replay-error", classes="-empty")
        yield Input(id="replay-at", placeholder=_("when: 08:30, -2h, 2026-11-28T08:30:00+08:00 (enter)"), disabled=True)
        with VerticalScroll(id="replay-body", can_focus=False):
            yield Static(id="replay-board")
        yield KeyHints()

    def on_mount(self) -> None:
        self._title()
        self.load(self.at)

    def _title(self) -> None:
        title = Text.assemble(
            (_("REPLAY") + " ", "bold reverse"),
            " " + _("as it stood at {time} (from the audit trail)").format(time=format_local(self.at, self.ctx.zone)),
        )
        self.query_one("#replay-title", Static).update(title)

    @work(thread=True, exclusive=True, group="replay", exit_on_error=False)
    def load(self, at: datetime) -> str:
        with self.ctx.store.read() as session:
            rows = board_at(session, at, now=self.ctx.clock())
            warned = warnings_at(session, at, self.ctx.zone)
        board = render_replay(rows, at, self.ctx.zone, width=max(60, self.size.width - 2))
        return board + "".join(line + "\n" for line, _style in open_warning_lines(warned))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "replay":
            return
        error = self.query_one("#replay-error", Static)
        if event.worker.state == WorkerState.SUCCESS:
            error.set_class(True, "-empty")
            board = str(event.worker.result).split("\n", 2)[-1]  # the title line is ours
            self.query_one("#replay-board", Static).update(Text(board, no_wrap=True, overflow="crop"))
        elif event.worker.state == WorkerState.ERROR:
            what = event.worker.error
            message = board_text(what, self.ctx.zone)
            error.update(Text(clean(message)))
            error.set_class(False, "-empty")

    def action_step(self, direction: int) -> None:
        later = self.at + STEP * direction
        if later > self.ctx.clock():
            self.app.notify(_("That is the future: the live board shows now"), timeout=3)
            return
        self.at = later
        self._title()
        self.load(self.at)

    def action_ask_time(self) -> None:
        field = self.query_one("#replay-at", Input)
        field.disabled = False
        field.set_class(True, "-asking")
        field.focus()

    @on(Input.Submitted, "#replay-at")
    def _time_given(self, event: Input.Submitted) -> None:
        try:
            at = parse_time(event.value, self.ctx.clock(), self.ctx.zone)
        except TimeFormatError as error:
            self.app.notify(
                _("{error}: try 08:30, -2h or 2026-11-28T08:30:00+08:00").format(error=error),
                severity="error",
                timeout=5,
            )
            return
        event.input.set_class(False, "-asking")
        event.input.value = ""
        event.input.disabled = True
        self.at = at
        self._title()
        self.load(at)

    def action_back(self) -> None:
        field = self.query_one("#replay-at", Input)
        if field.has_class("-asking"):
            field.set_class(False, "-asking")
            field.disabled = True
            return
        self.app.pop_screen()
