"""The modal forms of the triage actions.

A form runs its action in a thread worker. A refusal (a rule, a permission, a stale
version) is shown inside the form and everything typed stays; a stale write is never
applied silently: the form shows who changed what and applies only when submitted
again, on the version now shown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static
from textual.worker import Worker, WorkerState

from opsdeck.backend.errors import StaleWrite
from opsdeck.backend.i18n import _
from opsdeck.backend.sanitize import clean
from opsdeck.tui.board_words import board_text, local_times
from opsdeck.tui.context import BoardContext

Perform = Callable[[dict[str, Any], int | None], str]


class ActionForm(ModalScreen[str | None]):
    """Fields, an error line, Apply and Cancel. Subclasses add fields and read values."""

    BINDINGS = [
        Binding("escape", "cancel", _("Cancel"), id="form.cancel"),
        Binding("ctrl+s", "submit", _("Apply"), id="form.submit"),
        Binding("f1", "app.help", _("Help"), id="form.help", show=False),  # `?` is text in a field
    ]
    DEFAULT_CSS = """
    ActionForm { align: center middle; }
    ActionForm > VerticalScroll { width: 90%; max-width: 100; height: auto; max-height: 100%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    ActionForm #form-title { text-style: bold; }
    ActionForm RadioSet { layout: horizontal; width: 100%; }
    ActionForm #error { color: $error; text-style: bold; height: auto; }
    ActionForm #buttons { height: 3; align: right middle; }
    ActionForm TextArea { height: 8; }
    ActionForm OptionList { height: auto; max-height: 10; }
    """

    def __init__(self, title: str, perform: Perform, expected_version: int | None = None) -> None:
        super().__init__()
        self.form_title = title
        self.perform = perform
        self.expected_version = expected_version

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(Text(clean(self.form_title)), id="form-title")
            yield from self.fields()
            yield Static("", id="error")
            with Horizontal(id="buttons"):
                yield Button(_("Apply (ctrl+s)"), variant="primary", id="apply")
                yield Button(_("Cancel (esc)"), id="cancel")

    def fields(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        """A steady cursor: a blinking one repaints twice a second over a slow link."""
        for widget in self.query("Input, TextArea"):
            widget.cursor_blink = False  # type: ignore[attr-defined]

    def values(self) -> dict[str, Any]:
        return {}

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        self.query_one("#error", Static).update("")
        self.query_one("#apply", Button).disabled = True
        self._run(self.values(), self.expected_version)

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="form", exit_on_error=False)
    def _run(self, values: dict[str, Any], expected: int | None) -> str:
        return self.perform(values, expected)

    @on(Worker.StateChanged)
    def _done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "form":
            return
        if event.worker.state == WorkerState.SUCCESS:
            self.dismiss(event.worker.result)
        elif event.worker.state == WorkerState.ERROR:
            self.query_one("#apply", Button).disabled = False
            self.refused(event.worker.error)

    def refused(self, error: BaseException | None) -> None:
        context: BoardContext | None = getattr(self.app, "context", None)  # the app's (tui/app.py)
        zone = context.zone if context is not None else UTC
        if isinstance(error, StaleWrite):
            self.expected_version = error.params.get("version")
            message = _("{what}. Submit again to apply on version {version}, or Esc to look first.").format(
                what=local_times(error.what, zone), version=self.expected_version
            )
        else:
            message = board_text(error, zone)
        self.query_one("#error", Static).update(Text(clean(message)))
