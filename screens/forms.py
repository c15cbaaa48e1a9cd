"""The modal forms of the triage actions.

A form runs its action in a thread worker. A refusal (a rule, a permission, a stale
version) is shown inside the form and everything typed stays; a stale write is never
applied silently: the form shows who changed what and applies only when submitted
again, on the version now shown.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, RadioButton, RadioSet, Static, TextArea
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from opsdeck.backend.domain import CATEGORY_TERMS, CLASSIFIED_CATEGORIES, Category, Level
from opsdeck.backend.errors import StaleWrite
from opsdeck.backend.i18n import _, pick
from opsdeck.backend.i18n import current as current_language
from opsdeck.backend.sanitize import clean
from opsdeck.backend.service import CHANNELS

from ..tui.board_words import board_text, local_times
from ..tui.text import cell

Perform = Callable[[dict[str, Any], int | None], str]
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
        zone = self.app.context.zone
        if isinstance(error, StaleWrite):
            self.expected_version = error.params.get("version")
            message = _("{what}. Submit again to apply on version {version}, or Esc to look first.").format(
                what=local_times(error.what, zone), version=self.expected_version
            )
        else:
            message = board_text(error, zone)
        self.query_one("#error", Static).update(Text(clean(message)))


class TextForm(ActionForm):
    """One piece of text (a note, a resolution, a reason); ctrl+e writes it in $EDITOR."""

    BINDINGS = [Binding("ctrl+e", "editor", _("Edit in $EDITOR"), id="form.editor")]

    def __init__(
        self,
        title: str,
        perform: Perform,
        expected_version: int | None = None,
        *,
        label: str = "",
        text: str = "",
        multiline: bool = True,
    ) -> None:
        super().__init__(title, perform, expected_version)
        self.label, self.text, self.multiline = label or _("Text"), text, multiline

    def fields(self) -> ComposeResult:
        yield Label(_("{label} (ctrl+e: $EDITOR)").format(label=self.label) if self.multiline else self.label)
        if self.multiline:
            yield TextArea(self.text, id="text", soft_wrap=True)
        else:
            yield Input(self.text, id="text")

    def on_mount(self) -> None:
        self.query_one("#text").focus()

    def values(self) -> dict[str, Any]:
        widget = self.query_one("#text")
        value = widget.text if isinstance(widget, TextArea) else widget.value  # type: ignore[attr-defined]
        return {"text": value}

    @on(Input.Submitted, "#text")
    def _enter(self) -> None:
        self.action_submit()

    def action_editor(self) -> None:
        """Long text in the operator's own editor: the app steps aside while it runs."""
        if not self.multiline:
            return
        area = self.query_one("#text", TextArea)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        with tempfile.NamedTemporaryFile("w+", suffix=".txt", delete=False, encoding="utf-8") as handle:
            handle.write(area.text)
            path = Path(handle.name)
        try:
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), str(path)], check=False)
            area.text = path.read_text("utf-8").rstrip("\n")
        except (OSError, ValueError) as error:
            message = _("{editor}: {error} — type the text here instead").format(editor=editor, error=error)
            self.query_one("#error", Static).update(Text(message))
        finally:
            path.unlink(missing_ok=True)


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


class PickForm(ActionForm):
    """Pick one of a list (an owner, an obligation, an original incident), plus text."""

    def __init__(
        self,
        title: str,
        perform: Perform,
        expected_version: int | None,
        *,
        choices: Sequence[tuple[str, str]],
        label: str,
        extra: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(title, perform, expected_version)
        self.choices, self.label, self.extra = choices, label, extra

    def fields(self) -> ComposeResult:
        yield Label(self.label)
        yield Picker(*[Option(Text(clean(text)), id=key) for key, text in self.choices], id="choice")
        for name, placeholder in self.extra:
            yield Input(id=name, placeholder=placeholder)

    def on_mount(self) -> None:
        self.query_one("#choice", OptionList).focus()

    def values(self) -> dict[str, Any]:
        option_list = self.query_one("#choice", OptionList)
        index = option_list.highlighted
        values: dict[str, Any] = {"choice": option_list.get_option_at_index(index).id if index is not None else None}
        for name, _label in self.extra:
            values[name] = self.query_one(f"#{name}", Input).value
        return values

    @on(OptionList.OptionSelected, "#choice")
    def _selected(self) -> None:
        if self.extra:
            self.query_one(f"#{self.extra[0][0]}", Input).focus()
        else:
            self.action_submit()

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_submit()


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


class CloseForm(ActionForm):
    """Close: with the record (resolved and classified), as a false alarm, or as a duplicate."""

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


def owner_choices(roster: Sequence[dict[str, Any]], suggested_duties: set[str]) -> list[tuple[str, str]]:
    """Members who may own incidents: those whose duties fit the category or the system
    first, then whoever is on duty, then the least loaded."""
    members = [m for m in roster if m["permission"] != "viewer"]

    def fits(member: dict[str, Any]) -> bool:
        return bool(suggested_duties & set(member["duties"]))

    members.sort(key=lambda m: (not fits(m), not m["on_duty"], m["open_incidents"], m["login"]))
    return [
        (
            m["login"],
            f"{cell(m['login'], 10)} {cell(','.join(m['duties']) or m['permission'], 14)} "
            f"{cell(_('ON DUTY') if m['on_duty'] else _('off'), 7)} "
            + _("{count} open").format(count=f"{m['open_incidents']:>2}")
            + ("   " + _("<- suggested") if fits(m) else ""),
        )
        for m in members
    ]


def obligation_choices(obligations: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (o["key"], f"{'[x]' if o['attested'] else '[ ]'} {o['key']:<22} {pick(o['en'], o['zh'])}") for o in obligations
    ]


def channel_hint() -> str:
    return _("channel: {channels}").format(channels=", ".join(CHANNELS))


def _category_choice(category: Category) -> str:
    """In English the key scripts use and the plan's Chinese term; in Chinese the term."""
    term = CATEGORY_TERMS[category]
    if current_language() == "zh_CN":
        return term.shown
    return f"{category.value:<17} {term.zh}"
