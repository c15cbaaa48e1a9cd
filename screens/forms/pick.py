"""`o`, `b`, `e`: one choice from a list (an owner, an obligation, an answer), with extra fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from opsdeck.backend.domain import CHANNELS
from opsdeck.backend.i18n import _, pick
from opsdeck.backend.rows import ObligationRow, RosterRow
from opsdeck.backend.sanitize import clean
from opsdeck.screens.forms.base import ActionForm, Perform
from opsdeck.tui.text import cell
from opsdeck.tui.widgets.choices import Picker


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


def owner_choices(roster: Sequence[RosterRow], suggested_duties: set[str]) -> list[tuple[str, str]]:
    """Members who may own incidents: those whose duties fit the category or the system
    first, then whoever is on duty, then the least loaded."""
    members = [m for m in roster if m["permission"] != "viewer"]

    def fits(member: RosterRow) -> bool:
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


def obligation_choices(obligations: Sequence[ObligationRow]) -> list[tuple[str, str]]:
    return [(o["key"], f"{'[x]' if o['attested'] else '[ ]'} {pick(o['en'], o['zh'])}") for o in obligations]


def channel_hint() -> str:
    return _("channel: {channels}").format(channels=", ".join(CHANNELS))
