"""`t`, `l`: a few labelled fields (an outage start, a call from the service desk)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label

from opsdeck.screens.forms.base import ActionForm, Perform


class FieldsForm(ActionForm):
    """A few one-line fields (a time and a reason); enter in the last one applies."""

    def __init__(
        self, title: str, perform: Perform, expected_version: int | None, *, fields: Sequence[tuple[str, str, str]]
    ) -> None:
        super().__init__(title, perform, expected_version)
        self.field_specs = fields  # (name, label, placeholder)

    def fields(self) -> ComposeResult:
        for name, label, placeholder in self.field_specs:
            yield Label(label)
            yield Input(id=name, placeholder=placeholder)

    def on_mount(self) -> None:
        self.query_one(f"#{self.field_specs[0][0]}", Input).focus()

    def values(self) -> dict[str, Any]:
        return {name: self.query_one(f"#{name}", Input).value for name, _, _ in self.field_specs}

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        if event.input.id == self.field_specs[-1][0]:
            self.action_submit()
        else:
            self.focus_next()
