"""A keymap file remaps keys by binding id; a bad one is refused whole, naming the file,
the binding and the fix, before the dashboard starts (opsdeck in a terminal:
tests/e2e/test_keymap_start.py); so is an unknown theme."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsdeck.backend.errors import InvalidInput
from opsdeck.tui import keymap

from ..conftest import FakeClock


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keymap.toml"
    path.write_text(text, "utf-8")
    return path


def test_a_missing_file_is_no_keymap(tmp_path: Path) -> None:
    assert keymap.load(tmp_path / "none.toml") == {}


def test_keys_are_read_and_normalised(tmp_path: Path) -> None:
    path = write(tmp_path, '[keys]\n"board.filter" = "f"\n"list.down" = "j, down, ctrl+n"\n')
    assert keymap.load(path) == {"board.filter": "f", "list.down": "j,down,ctrl+n"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[keys]\n"board.filtre" = "f"\n', "no binding has the id 'board.filtre' — use one of: "),
        ('[keys]\n"board.filter" = ""\n', "board.filter: keys must be text"),
        ('[keys]\n"board.filter" = "ctlr+f"\n', "board.filter: 'ctlr+f' is not a key — write a letter"),
        ('[keys]\n"board.sort" = "n"\n', "'n' would be both board.new and board.sort on the board screen"),
        ('[keys]\n"list.down" = "j,ctrl+q"\n', "list.down = 'ctrl+q', but ctrl+q is quit — choose another key"),
        ('[keys]\n"detail.tick" = "a"\n', "would be both detail.tick and incident.ack on the detail screen"),
        ("[colours]\nx = 1\n", "unknown section 'colours' — put bindings under [keys]"),
        ("[keys\n", "not valid TOML"),
    ],
)
def test_a_bad_keymap_is_refused_naming_what_and_how_to_fix(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidInput) as error:
        keymap.load(path)
    assert str(path) in str(error.value) and message in str(error.value)


async def test_a_remapped_key_works_and_the_old_one_does_not(sqlite_url: str, clock: FakeClock, tmp_path: Path) -> None:
    from textual.widgets import Input

    from ..board_fixtures import board_incidents, make_app, seeded_store, until

    store = seeded_store(sqlite_url, clock)
    board_incidents(store, clock)
    app = make_app(store, clock)
    app.context.keymap = keymap.load(write(tmp_path, '[keys]\n"board.filter" = "f"\n'))
    app.set_keymap(app.context.keymap)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: len(app.screen.query_one("IncidentList").order) == 5)  # type: ignore[attr-defined]
            filter_input = app.screen.query_one("#filter", Input)
            await pilot.press("slash")
            await pilot.pause(0.2)
            assert not filter_input.display  # "/" is no longer the filter
            await pilot.press("f")
            await until(pilot, lambda: bool(filter_input.display) and filter_input.has_focus)
            await pilot.press("escape", "escape", "question_mark")  # the help shows the key as remapped
            await pilot.pause(0.3)
            from rich.console import Console

            from opsdeck.screens.help import HelpScreen

            assert isinstance(app.screen, HelpScreen)
            console = Console(width=100, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
            console.print(app.screen._keys())
            shown = [line.split() for line in console.export_text().splitlines()]
            pairs = {(w[i], w[i + 1]) for w in shown for i in range(len(w) - 1)}
            assert ("f", "Filter") in pairs, shown
            assert not any("/" in words for words in shown)
    finally:
        store.dispose()
