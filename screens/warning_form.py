"""`n` on the warnings list: raise a warning (预警) from the board, as `opsdeck warning add`
does: its kind, title, source, what is known, the systems it may affect, serious or not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, RadioButton, RadioSet

from opsdeck.backend.i18n import _

from .forms import ActionForm, Perform


class RaiseWarningForm(ActionForm):
    DEFAULT_CSS = """
    RaiseWarningForm RadioSet { border: none; height: 1; }
    RaiseWarningForm Checkbox { border: none; height: 1; }
    """

    def __init__(self, perform: Perform, *, systems: Sequence[str]) -> None:
        super().__init__(_("Raise a warning (预警): a sign before an incident"), perform, None)
        self.systems = systems

    def fields(self) -> ComposeResult:
        with RadioSet(id="kind"):
            yield RadioButton(_("external"), True, name="external")
            yield RadioButton(_("internal"), name="internal")
        yield Input(id="title", placeholder=_("title: what the warning says"))
        yield Input(id="source", placeholder=_("source (optional): who issued it, where it came from"))
        yield Input(id="known", placeholder=_("what is known (optional)"))
        hint = _("systems it may affect (optional, a, b)")
        if self.systems:
            hint += ": " + ", ".join(self.systems[:5])
        yield Input(id="systems", placeholder=hint)
        yield Checkbox(_("serious: leadership must be told today"), id="serious")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    def values(self) -> dict[str, Any]:
        pressed = self.query_one("#kind", RadioSet).pressed_button
        return {
            "kind": pressed.name if pressed else "external",
            **{name: self.query_one(f"#{name}", Input).value for name in ("title", "source", "known")},
            "systems": [s.strip() for s in self.query_one("#systems", Input).value.split(",") if s.strip()],
            "serious": self.query_one("#serious", Checkbox).value,
        }

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_submit()
