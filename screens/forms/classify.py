"""`c` and `v`: the category (by number) and the level, with a reason for a re-grade."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Label, OptionList, RadioSet
from textual.widgets.option_list import Option

from opsdeck.backend.domain import CATEGORY_TERMS, CLASSIFIED_CATEGORIES, Category, Level
from opsdeck.backend.i18n import _
from opsdeck.backend.i18n import current as current_language
from opsdeck.screens.forms.base import ActionForm, Perform
from opsdeck.tui.widgets.choices import Choice, Choices, Picker


class ClassifyForm(ActionForm):
    """The 8 categories (keys 1-8), the level, a reason (needed for a re-grade)."""

    BINDINGS = [Binding(str(n), f"category({n})", show=False, id=f"form.category{n}") for n in range(1, 9)]

    def __init__(
        self,
        title: str,
        perform: Perform,
        expected_version: int | None,
        *,
        category: str,
        level: str | None,
        with_category: bool = True,
    ) -> None:
        super().__init__(title, perform, expected_version)
        self.category, self.level, self.with_category = category, level, with_category

    def fields(self) -> ComposeResult:
        if self.with_category:
            yield Label(_("Category (1-8)"))
            options = [
                Option(Text(f"{n}  {_category_choice(c)}"), id=c.value) for n, c in enumerate(CLASSIFIED_CATEGORIES, 1)
            ]
            yield Picker(*options, id="category")
        yield Label(_("Level (I is the most severe)"))
        with Choices(id="level"):
            for level in Level:
                yield Choice(f"{level.value} {level.term.zh}", value=level.value == self.level, name=level.value)
        yield Label(_("Reason"))
        yield Input(id="reason", placeholder=_("why (needed when it was classified already)"))

    def on_mount(self) -> None:
        if self.with_category:
            option_list = self.query_one("#category", OptionList)
            keys = [c.value for c in CLASSIFIED_CATEGORIES]
            option_list.highlighted = keys.index(self.category) if self.category in keys else 0
            option_list.focus()
        else:
            self.query_one("#level", RadioSet).focus()

    def action_category(self, number: int) -> None:
        if self.with_category:
            self.query_one("#category", OptionList).highlighted = number - 1
            self.query_one("#level", RadioSet).focus()

    def values(self) -> dict[str, Any]:
        pressed = self.query_one("#level", RadioSet).pressed_button
        values: dict[str, Any] = {
            "level": pressed.name if pressed else None,
            "reason": self.query_one("#reason", Input).value,
        }
        if self.with_category:
            option_list = self.query_one("#category", OptionList)
            index = option_list.highlighted
            values["category"] = option_list.get_option_at_index(index).id if index is not None else None
        return values

    @on(Input.Submitted, "#reason")
    def _enter(self) -> None:
        self.action_submit()


def _category_choice(category: Category) -> str:
    """In English the key scripts use and the plan's Chinese term; in Chinese the term."""
    term = CATEGORY_TERMS[category]
    if current_language() == "zh_CN":
        return term.shown
    return f"{category.value:<17} {term.zh}"
