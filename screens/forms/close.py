"""`C`: close with the record, as a false alarm, or as a duplicate of another incident."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Label, OptionList, RadioSet
from textual.widgets.option_list import Option

from opsdeck.backend.i18n import _
from opsdeck.backend.sanitize import clean
from opsdeck.screens.forms.base import ActionForm, Perform
from opsdeck.tui.widgets.choices import Choice, Choices, Picker


class CloseForm(ActionForm):
    """Close: with the record (resolved and classified), as a false alarm, or as a duplicate."""

    # Three long choices: one per line, so each reads whole at 80 columns.
    DEFAULT_CSS = "CloseForm #kind { layout: vertical; }"

    def __init__(
        self, title: str, perform: Perform, expected_version: int | None, *, originals: Sequence[tuple[str, str]]
    ) -> None:
        super().__init__(title, perform, expected_version)
        self.originals = originals

    def fields(self) -> ComposeResult:
        with Choices(id="kind"):
            yield Choice(_("with the record (resolved and classified)"), value=True, name="record")
            yield Choice(_("false alarm (say why)"), name="false_alarm")
            yield Choice(_("duplicate of another incident (pick it)"), name="duplicate")
        yield Input(id="reason", placeholder=_("why it was a false alarm"))
        yield Label(_("Original (for a duplicate)"))
        yield Picker(*[Option(Text(clean(text)), id=key) for key, text in self.originals], id="original")

    def on_mount(self) -> None:
        self.query_one("#kind", RadioSet).focus()

    def values(self) -> dict[str, Any]:
        pressed = self.query_one("#kind", RadioSet).pressed_button
        option_list = self.query_one("#original", OptionList)
        index = option_list.highlighted
        return {
            "kind": pressed.name if pressed else "record",
            "reason": self.query_one("#reason", Input).value,
            "original": option_list.get_option_at_index(index).id if index is not None else None,
        }
