"""The commands that do not draw, run against a real store in a fresh interpreter, load
neither Textual nor any command group but their own (tests/unit/test_layering.py holds the
rest of the layering)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsdeck.backend.schema import open_store

from ..unit.test_layering import GROUPS, loaded_modules


@pytest.mark.parametrize(
    ("argv", "group"),
    [
        (["incident", "list"], "incident"),
        (["incident", "list", "--json"], "incident"),
        (["roster", "list"], "directory"),
        (["audit", "verify"], "audit"),
    ],
)
def test_non_drawing_commands_never_import_textual(argv: list[str], group: str, tmp_path: Path) -> None:
    """Nor any command group but their own (cli/registry.py TOP: a command loads its module only)."""
    env = {"OPSDECK_CONFIG": str(tmp_path / "none.toml"), "OPSDECK_DB": f"sqlite:///{tmp_path / 's.db'}"}
    open_store(env["OPSDECK_DB"]).dispose()  # a read command never creates a store
    modules = loaded_modules(
        f"from opsdeck.cli.__main__ import main\nimport contextlib, io\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    assert main({argv!r}) == 0",
        env,
    )
    assert {m.removeprefix("opsdeck.cli.") for m in modules if m.removeprefix("opsdeck.cli.") in GROUPS} == {group}
    assert "textual" not in modules and "rich" not in modules


# What `incident list` must not load (issue #26, CLI start): the write side, the
# notification machinery, the schema tooling, and the tables a listing never reads.
NOT_FOR_A_LISTING = (
    "alembic",
    "jinja2",
    "prometheus_client",
    "httpx",
    "icalendar",
    "opsdeck.backend.service",
    "opsdeck.backend.actions",
    "opsdeck.backend.routing",
    "opsdeck.backend.notify_plan",
    "opsdeck.backend.messages",
    "opsdeck.backend.policy",
    "opsdeck.backend.memo",
    "opsdeck.backend.pg_roles",
    "opsdeck.backend.models.early_warnings",
    "opsdeck.backend.models.schedule",
    "opsdeck.backend.models.runtime",
)


@pytest.mark.parametrize("argv", [["incident", "list"], ["incident", "list", "--json"]])
def test_incident_list_loads_only_what_it_reads(argv: list[str], tmp_path: Path) -> None:
    env = {"OPSDECK_CONFIG": str(tmp_path / "none.toml"), "OPSDECK_DB": f"sqlite:///{tmp_path / 's.db'}"}
    open_store(env["OPSDECK_DB"]).dispose()
    modules = loaded_modules(
        f"from opsdeck.cli.__main__ import main\nimport contextlib, io\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    assert main({argv!r}) == 0",
        env,
    )
    loaded = {m for m in modules for heavy in NOT_FOR_A_LISTING if m == heavy or m.startswith(f"{heavy}.")}
    assert loaded == set()
