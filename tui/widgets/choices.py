"""Choosing in a form by shape, not colour alone: radio buttons and an option list
with a `>` cursor (screens/forms/).
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.widgets import OptionList, RadioButton, RadioSet
from textual.widgets.option_list import Option

CURSOR, NO_CURSOR = "> ", "  "


class Choice(RadioButton):
    """A radio button whose state is a shape, not a colour alone: `●` chosen, `○` not,
    and `>` before the one the cursor is on (enter or space chooses it)."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "●" if self.value else "○"
        return super()._button

    def render(self) -> Content:
        return Content.assemble(CURSOR if self.has_class("-selected") else NO_CURSOR, super().render())


class Choices(RadioSet):
    """A radio set whose cursor starts on the chosen button: the arrows move from the
    current value, and enter keeps it (a level picker never starts on I)."""

    def on_mount(self) -> None:
        self.call_later(self._start_on_choice)  # after RadioSet's own mount, which moves to the first

    def _start_on_choice(self) -> None:
        self._selected = max(0, self.pressed_index)


class Picker(OptionList):
    """An option list that marks the highlighted option with `>`, not by colour alone."""

    def __init__(self, *options: Option, id: str | None = None) -> None:
        super().__init__(*options, id=id)
        self._prompts = [o.prompt for o in options]

    def on_mount(self) -> None:
        self._mark(self.highlighted)

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        self._mark(highlighted)

    def _mark(self, highlighted: int | None) -> None:
        for index, prompt in enumerate(getattr(self, "_prompts", ())):  # () while __init__ runs
            mark = CURSOR if index == highlighted else NO_CURSOR
            self.replace_option_prompt_at_index(index, Text.assemble(mark, prompt))
