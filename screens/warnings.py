"""`W`: the open warnings (预警), most urgent clock first, as `opsdeck warning list` and the
handover tell them; enter opens one (screens/warning.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from opsdeck.backend import queries
from opsdeck.backend.early_warning import Warnings, open_warnings
from opsdeck.backend.handover_lines import open_warning_lines
from opsdeck.backend.i18n import _
from opsdeck.backend.rows import OpenWarning
from opsdeck.backend.service import Service
from opsdeck.screens.warning import WarningScreen
from opsdeck.screens.warning_form import RaiseWarningForm
from opsdeck.tui.feed import follow_entity
from opsdeck.tui.text import cell
from opsdeck.tui.widgets.keyhints import KeyHints

if TYPE_CHECKING:
    from opsdeck.tui.context import BoardContext


class WarningsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "back", _("Back"), id="warnings.back"),
        Binding("n", "raise_warning", _("Raise"), id="warnings.raise"),
    ]
    DEFAULT_CSS = """
    WarningsScreen #warnings-title { height: auto; padding: 0 1; }
    WarningsScreen #warnings { height: 1fr; border: none; }
    WarningsScreen #warnings-hint { height: auto; padding: 0 1; }
    """

    def __init__(self, context: BoardContext) -> None:
        super().__init__()
        self.ctx = context

    def compose(self) -> ComposeResult:
        yield Static(_("loading…"), id="warnings-title")
        yield OptionList(id="warnings")
        yield Static(Text(_("enter: the warning, its measures, who was told, its clocks"), "dim"), id="warnings-hint")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one("#warnings", OptionList).focus()
        self.load()
        self.watch_feed()

    @work(thread=True, exclusive=True, group="feed", exit_on_error=False)
    def watch_feed(self) -> None:
        follow_entity(self, "warning", self.load)  # raised, promoted or closed by someone

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a viewer raises nothing (and the service refuses anyway)
        return not (action == "raise_warning" and self.ctx.read_only)

    @work(thread=True, group="prepare", exit_on_error=False)
    def action_raise_warning(self) -> None:
        with self.ctx.store.read() as session:  # the systems' names, for the form's hint
            names = [s["name"] for s in queries.systems(session)]
        self.app.call_from_thread(self._raise_form, names)

    def _raise_form(self, systems: list[str]) -> None:
        def perform(v: dict[str, Any], _seen: int | None) -> str:
            service = Service(self.ctx.store, self.ctx.login, read_only=self.ctx.read_only, by=self.ctx.by)
            row = Warnings(service).add(
                v["kind"], v["title"], source=v["source"], known=v["known"], systems=v["systems"], serious=v["serious"]
            )
            return _("W{id} raised: its clocks start now").format(id=row.id)

        def done(result: str | None) -> None:
            if result:
                self.app.notify(result, timeout=4)
                self.load()

        self.app.push_screen(RaiseWarningForm(perform, systems=systems), done)

    def on_screen_resume(self) -> None:
        self.load()  # back from a warning: it may have been promoted or closed

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        with self.ctx.store.read() as session:
            rows = open_warnings(session, self.ctx.clock(), self.ctx.zone)
        self.app.call_from_thread(self.show, rows)

    def show(self, rows: list[OpenWarning]) -> None:
        lines = open_warning_lines(rows)[1:]  # the blank line before it is the handover's
        title = Text(_("No open warnings.") if not rows else lines[0][0], "bold")
        self.query_one("#warnings-title", Static).update(title)
        width = max(20, self.size.width - 2)
        option_list = self.query_one("#warnings", OptionList)
        highlighted = option_list.highlighted
        option_list.clear_options()
        for row, (line, style) in zip(rows, lines[1:], strict=True):
            option_list.add_option(Option(Text(cell(line.lstrip(), width), style), id=str(row["id"])))
        if rows:
            option_list.highlighted = min(highlighted or 0, len(rows) - 1)

    @on(OptionList.OptionSelected, "#warnings")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.app.push_screen(WarningScreen(self.ctx, int(event.option.id)))

    def action_back(self) -> None:
        self.app.pop_screen()
