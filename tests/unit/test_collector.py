"""The collector while a command starts (cli/collector.py): off while the command's
modules load and its context is made (and, for the board, its store opens), on while
the command works, and on again after `main()` returns whatever happened, unless the
caller had turned it off itself."""

from __future__ import annotations

import dataclasses
import gc
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opsdeck.cli import registry

from ..conftest import demo_fixture

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the store is (not yet made), as OPSDECK_DB names it to the commands."""
    monkeypatch.setenv("OPSDECK_DB", sqlite_url)
    return Path(sqlite_url.removeprefix("sqlite:///"))


@pytest.fixture
def store(cli: Cli, db: Path) -> Path:
    code, _out, err = cli("roster", "import", str(demo_fixture("roster.toml")), "--as", "lead")
    assert code == 0, err
    return db


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    assert gc.isenabled()  # as every test starts
    yield
    gc.enable()  # a failed assertion must not leave the session without it


def _watch(monkeypatch: pytest.MonkeyPatch, word: str, action: str | None, seen: dict[str, Any]) -> None:
    """Record the collector's state when the command's handler starts, then run it."""
    found = registry.find(word, action)

    def handler(ctx: Any) -> int:
        seen["at_work"] = gc.isenabled()
        return found.handler(ctx)

    monkeypatch.setitem(registry.DECLARED, (word, action), dataclasses.replace(found, handler=handler))


def _watch_start(monkeypatch: pytest.MonkeyPatch, seen: dict[str, Any]) -> None:
    """Record the collector's state while the command's context is made (`Context`)."""
    from opsdeck.cli.context import Context

    made = Context.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        seen["at_start"] = gc.isenabled()
        made(self, *args, **kwargs)

    monkeypatch.setattr(Context, "__init__", init)


def test_a_command_starts_without_the_collector_and_works_with_it(
    cli: Cli, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    _watch(monkeypatch, "incident", "list", seen)
    _watch_start(monkeypatch, seen)
    code, out, err = cli("incident", "list", "--json")
    assert code == 0, err
    assert out.strip() == "[]"  # no incident yet
    assert seen == {"at_start": False, "at_work": True}
    assert gc.isenabled()


def test_the_collector_is_on_after_a_refused_command_line(cli: Cli, db: Path) -> None:
    code, _out, err = cli("incident", "list", "--no-such-option")
    assert code == 2 and "--no-such-option" in err
    assert gc.isenabled()


def test_the_collector_is_on_after_a_command_refused_before_its_work(
    cli: Cli, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "opsdeck.toml"
    broken.write_text("timezone = [broken\n")
    monkeypatch.setenv("OPSDECK_CONFIG", str(broken))  # refused while the context is made: before release()
    seen: dict[str, Any] = {}
    _watch(monkeypatch, "incident", "list", seen)
    code, _out, err = cli("incident", "list")
    assert code == 2 and "not valid TOML" in err
    assert seen == {}  # the handler never ran
    assert gc.isenabled()


def test_the_board_runs_with_the_collector_on(cli: Cli, store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The board is the command that runs for days: its start releases the collector
    before the app runs, not `main()`'s way out."""
    from opsdeck.cli import collector
    from opsdeck.cli.__main__ import main
    from opsdeck.tui.app import OpsdeckApp

    seen: dict[str, Any] = {}

    def run(app: OpsdeckApp, *args: Any, **kwargs: Any) -> None:
        seen["running"] = gc.isenabled()
        seen["background started"] = [item.thread.ident is not None for item in app.context.background]

    monkeypatch.setattr(OpsdeckApp, "run", run)
    monkeypatch.setattr("opsdeck.cli.views.log_to_file", lambda: None)  # the session's logging stays
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["--read-only"]) == 0
    assert seen == {"running": True, "background started": []}
    assert gc.isenabled() and not collector._held


def test_the_collector_is_on_after_a_command_that_raises(cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = registry.find("incident", "list")

    def broken(ctx: Any) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setitem(registry.DECLARED, ("incident", "list"), dataclasses.replace(found, handler=broken))
    code, _out, err = cli("incident", "list")
    assert code == 1 and "internal error: RuntimeError: a bug" in err
    assert gc.isenabled()


def test_a_caller_that_turned_the_collector_off_keeps_it_off(
    cli: Cli, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    _watch(monkeypatch, "incident", "list", seen)
    gc.disable()
    code, _out, err = cli("incident", "list", "--json")
    assert code == 0, err
    assert seen == {"at_work": False}  # the caller's choice holds inside the command too
    assert not gc.isenabled()


def test_a_command_process_ends_its_start_frozen_and_the_collector_on(store: Path) -> None:
    """In a process of its own (not the test session's), `main()` leaves what the start
    built out of later collections, and the collector on."""
    probe = (
        "import gc, sys\n"
        "from opsdeck.cli.__main__ import main\n"
        "assert gc.get_freeze_count() == 0\n"
        f"code = main(['--db', 'sqlite:///{store}', 'incident', 'list', '--json'])\n"
        "print(code, gc.isenabled(), gc.get_freeze_count() > 10000, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.split() == ["0", "True", "True"]


def test_a_process_that_collects_on_its_own_keeps_its_heap_unfrozen(cli: Cli, store: Path) -> None:
    """This test session collects and freezes between tests (tests/conftest.py): `main()`
    run in it turns the collector back on but freezes nothing of the test's."""
    gc.collect()
    before = gc.get_freeze_count()
    code, _out, err = cli("incident", "list", "--json")
    assert code == 0, err
    # Nothing more frozen (a frozen object the command let go of leaves the count: fewer is fine).
    assert gc.isenabled() and gc.get_freeze_count() <= before


def test_the_opsdeck_program_ends_with_its_heap_frozen_and_main_s_exit_code(store: Path) -> None:
    """`opsdeck` (the console script's `entry`) returns `main()`'s code and ends with
    everything alive frozen and the collector off: the interpreter's last collection
    has nothing to walk (a board unfreezes its heap when it unmounts; that walk was half
    of a quit). Its output still reaches a pipe whole, and atexit handlers still run."""
    probe = (
        "import atexit, gc, sys\n"
        "from opsdeck.cli.__main__ import entry\n"
        "atexit.register(lambda: print('at exit:', gc.isenabled(), gc.get_freeze_count() > 10000, file=sys.stderr))\n"
        f"sys.argv = ['opsdeck', '--db', 'sqlite:///{store}', *sys.argv[1:]]\n"
        "sys.exit(entry())\n"
    )
    listed = subprocess.run(
        [sys.executable, "-c", probe, "roster", "list", "--json"], capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    assert '"login": "lead"' in listed.stdout and listed.stdout.rstrip().endswith("]")
    assert listed.stderr.splitlines()[-1] == "at exit: False True"
    refused = subprocess.run(
        [sys.executable, "-c", probe, "incident", "show", "999"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 4, refused.stderr  # not found (docs/cli.md#exit-codes-and-errors): main()'s code
    assert "opsdeck: error:" in refused.stderr and refused.stderr.splitlines()[-1] == "at exit: False True"
