"""A keymap file remaps keys by binding id; a bad one is refused whole, naming the file,
the binding and the fix, before the dashboard starts; so is an unknown theme."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsdeck.backend.errors import InvalidInput
from opsdeck.tui import keymap

from ..conftest import FakeClock

OPSDECK = str(Path(sys.executable).parent / "opsdeck")


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


def _dashboard(db: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`opsdeck` in a terminal (a pty), as an operator starts the board."""
    import pty

    environ = {**os.environ, "OPSDECK_CONFIG": "/nonexistent", "TERM": "xterm", **env}
    leader, follower = pty.openpty()
    try:
        return subprocess.run(
            [OPSDECK, "--db", db, "--as", "lead", "--read-only"],
            stdin=follower,
            stdout=follower,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
            timeout=30,  # a board that started anyway would sit here: the test fails
        )
    finally:
        os.close(follower)
        os.close(leader)


def test_the_dashboard_refuses_to_start_with_a_conflicting_keymap_or_an_unknown_theme(
    sqlite_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    from ..board_fixtures import seeded_store

    seeded_store(sqlite_url, clock).dispose()
    path = write(tmp_path, '[keys]\n"board.sort" = "q"\n')
    result = _dashboard(sqlite_url, OPSDECK_KEYMAP=str(path))
    assert result.returncode == 2
    assert "'q' would be both board.sort and board.quit" in result.stderr and "give one of them" in result.stderr
    result = _dashboard(sqlite_url, OPSDECK_THEME="solarised")
    assert result.returncode == 2
    assert "no theme named 'solarised'" in result.stderr and "textual-light" in result.stderr
