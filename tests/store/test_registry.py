"""The registry of commands and bindings is whole, and a viewer is refused every
writing one: a new command or key cannot slip past."""

from __future__ import annotations

import grp
import importlib
import inspect
import logging
import os
import pkgutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from opsdeck.backend.models import AuditEvent, Change
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.cli.registry import Writes, every_command
from opsdeck.tui import registry

from ..board_fixtures import make_app, seeded_store, until
from ..conftest import FakeClock, demo_fixture
from ..ui.test_triage import ready

COMMANDS = every_command()
WRITING = sorted((k for k, c in COMMANDS.items() if c.writes is not Writes.NO), key=str)
READING = sorted((k for k, c in COMMANDS.items() if c.writes is Writes.NO), key=str)


def all_bindings() -> dict[str, str]:
    """Binding id -> the class that declares it, across every screen and widget."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    import opsdeck.screens
    import opsdeck.tui

    found: dict[str, str] = {}
    for package in (opsdeck.screens, opsdeck.tui):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if inspect.isclass(obj) and issubclass(obj, DOMNode) and obj.__module__ == module.__name__:
                    for binding in obj.__dict__.get("BINDINGS", []):
                        assert isinstance(binding, Binding) and binding.id, f"{obj.__name__}: a binding without an id"
                        found[binding.id] = obj.__name__
    return found


def test_every_cli_command_is_declared_once_where_its_top_word_says() -> None:
    """Each command is declared in a module TOP names for its word, and every word has one."""
    from opsdeck.cli.registry import TOP

    assert {words[0] for words in COMMANDS} == set(TOP)
    for words, command in COMMANDS.items():
        module = command.handler.__module__.removeprefix("opsdeck.cli.")
        assert module in TOP[words[0]].modules, f"{command.name}: declared in {module}"


def test_every_binding_is_in_the_registry() -> None:
    found = all_bindings()
    assert set(found) == set(registry.BINDINGS), (
        f"missing: {sorted(set(found) - set(registry.BINDINGS))}; stale: {sorted(set(registry.BINDINGS) - set(found))}"
    )


def state(store: Store) -> tuple[int, int]:
    with store.read() as session:
        return (
            session.execute(select(func.count()).select_from(Change)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        )


def example(command: tuple[str, str | None], incident_id: int, tmp_path: Path) -> list[str]:
    words = [w for w in command if w]
    group = grp.getgrgid(os.getgid()).gr_name
    args = [
        a.replace("{id}", str(incident_id)).replace("{tmp}", str(tmp_path)).replace("{group}", group)
        for a in COMMANDS[command].example
    ]
    for kind in ("roster", "contacts", "systems"):  # imports need a real file to be refused with
        if args == [f"{kind}.toml"]:
            args = [str(demo_fixture(f"{kind}.toml"))]
    if args in (["policy.toml"], ["channels.toml"]):
        path = tmp_path / args[0]
        path.write_text("# whatever it says, a viewer may not apply it\n")
        args = [str(path)]
    return [*words, *args]


@pytest.mark.parametrize("command", WRITING, ids=lambda c: " ".join(w for w in c if w))
@pytest.mark.parametrize("who", [("--as", "auditor"), ("--as", "lead", "--read-only")], ids=["viewer", "read-only"])
def test_a_viewer_is_refused_every_writing_command(
    seeded: Store, store_url: str, cli, command, who, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    incident = Service(seeded, "servers").open("something to refuse changes to")
    before = state(seeded)
    with caplog.at_level(logging.WARNING, logger="opsdeck.access"):
        code, out, err = cli("--db", store_url, *who, *example(command, incident.id, tmp_path))
    assert code == 1, (out, err)
    assert ("is a viewer" in err) if who[1] == "auditor" else ("read-only" in err), err
    assert state(seeded) == before  # nothing changed, and the refusal is not in any audit trail
    assert any("refused" in r.getMessage() for r in caplog.records)  # it is in the log


@pytest.mark.parametrize(
    "command",
    # demo seeds a store of its own; backup writes a file; wall and serve run until stopped; check exits with
    # the plugin codes (tests of their own: test_check.py)
    [
        c
        for c in READING
        if c not in {("demo", None), ("db", "backup"), ("wall", None), ("serve", None), ("check", None)}
    ],
    ids=lambda c: " ".join(w for w in c if w),
)
def test_a_viewer_may_run_every_reading_command(seeded: Store, store_url: str, cli, command, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    incident = Service(seeded, "servers").open("something to look at")
    code, out, err = cli("--db", store_url, "--as", "auditor", *example(command, incident.id, tmp_path))
    assert code in (0, 4), err  # 4: a demo name the store does not hold (probe show)
    assert "viewer" not in err


async def test_a_viewer_on_the_board_has_no_writing_key(sqlite_url: str, clock: FakeClock) -> None:
    """Every writing key, pressed by a viewer on the board and in the detail screen: no
    form opens, nothing changes."""
    from opsdeck.screens.incident import IncidentScreen

    store = seeded_store(sqlite_url, clock)
    incident = Service(store, "servers").open("a viewer looks at this")
    before = state(store)
    keys = {"board.new": "n", "board.shift": "T", "detail.tick": "space", "detail.skip": "x"}
    from opsdeck.tui.triage import ACTIONS

    keys |= {f"incident.{a.name}": a.key for a in ACTIONS if a.writes}
    writing = {i for i, w in registry.BINDINGS.items() if w} - {"form.submit"}  # inside a form only
    # the week grid's `o` is hidden from a viewer there: tests/ui/test_schedule_grid.py
    # the warning screen's keys: tests/ui/test_warning_screen.py (a viewer has none)
    warning = {i for i in writing if i.startswith(("warning.", "warnings."))}
    assert writing == set(keys) | {"record.file", "schedule.override"} | warning, (
        "a new writing binding: add its key here"
    )
    app = make_app(store, clock, login="auditor", read_only=True)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await ready(pilot, app, incident.id)
            board = app.screen
            for binding_id, key in keys.items():
                if binding_id.startswith("detail."):
                    continue
                await pilot.press(key)
                await pilot.pause(0.1)
                assert app.screen is board, f"{binding_id} ({key}) opened {type(app.screen).__name__}"
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
            detail = app.screen
            for binding_id, key in keys.items():
                if binding_id.startswith("board."):
                    continue
                await pilot.press(key)
                await pilot.pause(0.1)
                assert app.screen is detail, f"{binding_id} ({key}) opened {type(app.screen).__name__}"
            # The record is for reading too; filing it is not.
            from opsdeck.screens.record import RecordScreen

            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, RecordScreen) and app.screen.loaded is not None)
            record_screen = app.screen
            from opsdeck.tui.widgets.keyhints import KeyHints

            hints = str(record_screen.query_one(KeyHints).render())
            assert "Back" in hints and "File record" not in hints  # hidden from a viewer
            await pilot.press("ctrl+s")
            await pilot.pause(0.3)
            assert app.screen is record_screen
        assert state(store) == before
    finally:
        store.dispose()
