"""`n`: an incident reported by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input

from opsdeck.backend.i18n import _
from opsdeck.screens.forms.base import ActionForm, Perform


class NewIncidentForm(ActionForm):
    """`n`: an external warning reported by hand (docs/plan.md#warnings)."""

    def __init__(self, title: str, perform: Perform, *, systems: Sequence[str]) -> None:
        super().__init__(title, perform, None)
        self.systems = systems

    def fields(self) -> ComposeResult:
        yield Input(id="title", placeholder=_("title: what is wrong, as reported"))
        yield Input(id="description", placeholder=_("details (optional)"))
        yield Input(
            id="system", placeholder=_("system (optional): {systems}").format(systems=", ".join(self.systems[:6]))
        )

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    def values(self) -> dict[str, Any]:
        return {name: self.query_one(f"#{name}", Input).value for name in ("title", "description", "system")}

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_submit()
