"""The architecture, enforced: backend/ never imports Textual, and neither do the CLI
commands that do not draw (they must not pay its start-up time and memory)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def loaded_modules(code: str, env: dict[str, str] | None = None) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_importing_every_backend_module_loads_no_textual() -> None:
    names = sorted(
        "opsdeck.backend." + p.relative_to(ROOT / "backend").with_suffix("").as_posix().replace("/", ".")
        for p in (ROOT / "backend").rglob("*.py")
        if "migrations" not in p.parts and p.name != "__init__.py"
    )
    modules = loaded_modules("\n".join(f"import {name}" for name in names))
    assert "opsdeck.backend.service" in modules
    assert not {m for m in modules if m == "textual" or m.startswith("textual.")}


def test_no_backend_source_imports_textual() -> None:
    for path in (ROOT / "backend").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "textual" or n.startswith("textual.") for n in names), path


def test_tui_package_init_imports_nothing() -> None:
    tree = ast.parse((ROOT / "tui" / "__init__.py").read_text("utf-8"))
    assert not [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]


GROUPS = {p.stem for p in (ROOT / "cli").glob("*.py")} - {
    "__init__",
    "__main__",
    "argtypes",
    "collector",
    "context",
    "logfile",
    "output",
    "parser",
    "registry",
}


def test_help_loads_no_command_group_and_no_store(tmp_path: Path) -> None:
    """`opsdeck --help` reads the top-level words from one table (cli/registry.py TOP)."""
    modules = loaded_modules(
        "from opsdeck.cli.__main__ import main\nimport contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit as done:\n        assert done.code == 0",
        {"OPSDECK_CONFIG": str(tmp_path / "none.toml")},
    )
    assert {m for m in modules if m.removeprefix("opsdeck.cli.") in GROUPS} == set()
    assert "sqlalchemy" not in modules and "textual" not in modules


def test_the_app_and_the_screens_never_import_the_cli() -> None:
    """cli/ sits above the app: tui/ and screens/ hold no command and import none."""
    wrong = []
    for folder in ("tui", "screens"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                wrong += [
                    f"{path.relative_to(ROOT)}: {n}"
                    for n in names
                    if n == "opsdeck.cli" or n.startswith("opsdeck.cli.")
                ]
    assert wrong == []
