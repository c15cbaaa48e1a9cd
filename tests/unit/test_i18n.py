"""Languages: English or Simplified Chinese, chosen from config or the environment the way
gettext reads it, without depending on the system locale; every string that goes through
the catalog wrapper has a Chinese translation with the same placeholders."""

from __future__ import annotations

import ast
import gettext
import re
import string
from pathlib import Path

import pytest

from opsdeck.backend import i18n
from opsdeck.backend.errors import InvalidInput

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    ("configured", "environ", "chosen"),
    [
        (None, {}, "en"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        (None, {"LANG": "C.UTF-8"}, "en"),
        (None, {"LC_ALL": "zh_CN.GB18030", "LANG": "en_US.UTF-8"}, "zh_CN"),  # LC_ALL first
        (None, {"LC_ALL": "de_DE.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # the first set one decides
        (None, {"LANGUAGE": "fr:zh_CN:en", "LANG": "C"}, "zh_CN"),  # LANGUAGE lists preferences
        (None, {"LANGUAGE": "fr", "LANG": "zh_SG.UTF-8"}, "zh_CN"),
        ("zh", {"LANG": "en_US.UTF-8"}, "zh_CN"),  # the config wins
        ("en", {"LANG": "zh_CN.UTF-8"}, "en"),
    ],
)
def test_the_language_is_chosen_as_gettext_would(configured: str | None, environ: dict[str, str], chosen: str) -> None:
    assert i18n.choose(configured, environ) == chosen


def test_a_configured_language_opsdeck_does_not_speak_names_the_fix() -> None:
    with pytest.raises(InvalidInput, match="'fr' is not a language opsdeck speaks — set language to one of en, zh_CN"):
        i18n.choose("fr", {})


def _message_of(node: ast.AST) -> ast.expr | None:
    """The message argument of a catalog lookup: `_(message)`, `N_(message)` (looked up
    later) or `say(english, message)`."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in ("_", "N_") and node.args:
            return node.args[0]
        if node.func.id == "say" and len(node.args) > 1:
            return node.args[1]
    return None


def _wrapped() -> dict[str, str]:
    """Every literal looked up in the catalog by the product, with where it is."""
    found: dict[str, str] = {}
    for folder in ("backend", "cli", "tui", "screens"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                message = _message_of(node)
                if isinstance(message, ast.Constant):
                    found.setdefault(message.value, f"{path.relative_to(ROOT)}:{node.lineno}")  # type: ignore[attr-defined]
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_wrapped_string_has_a_chinese_translation_with_the_same_placeholders() -> None:
    catalog = gettext.translation("opsdeck", localedir=ROOT / "backend" / "locale", languages=["zh_CN"])
    wrapped = _wrapped()
    assert len(wrapped) > 90
    missing = [f"{where}: {text!r}" for text, where in wrapped.items() if catalog.gettext(text) == text]
    assert missing == [], (
        "add these to backend/locale/zh_CN/LC_MESSAGES/opsdeck.po, then python -m opsdeck.backend.i18n"
    )
    wrong = [text for text in wrapped if _fields(catalog.gettext(text)) != _fields(text)]
    assert wrong == []


def _product_trees() -> list[tuple[Path, ast.AST]]:
    return [
        (path, ast.parse(path.read_text("utf-8")))
        for folder in ("backend", "cli", "tui", "screens")
        for path in sorted((ROOT / folder).rglob("*.py"))
    ]


def _catalog_entries() -> dict[str, str]:
    from babel.messages.pofile import read_po

    with i18n.catalog_path().open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, locale="zh_CN") if m.id}


def test_the_catalog_holds_nothing_the_product_does_not_say() -> None:
    """An entry nothing looks up any more is a translation nobody checks: remove it."""
    from opsdeck.cli.parser import ARGPARSE_MESSAGES

    unused = set(_catalog_entries()) - set(_wrapped()) - set(ARGPARSE_MESSAGES)
    assert sorted(unused) == []


def test_argparse_s_own_words_are_translated_with_their_placeholders() -> None:
    from opsdeck.cli.parser import ARGPARSE_MESSAGES

    entries = _catalog_entries()
    percent = re.compile(r"%(?:\(\w+\))?[sr]")
    assert [m for m in ARGPARSE_MESSAGES if not entries.get(m)] == []
    assert [m for m in ARGPARSE_MESSAGES if sorted(percent.findall(m)) != sorted(percent.findall(entries[m]))] == []


def test_a_bad_command_line_is_refused_in_chinese(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPSDECK_LANG", "zh_CN")
    code, out, err = cli("incident", "classify", "1", "--category", "other")
    assert (code, out) == (2, "")
    assert err == "opsdeck: error: 缺少必需的参数：--level — 见 `opsdeck incident classify --help`\n"
    code, _out, err = cli("incident", "frob")
    assert code == 2 and err.startswith("opsdeck: error: 参数 ACTION：无效的选项 'frob'（可选：'open', ")
    code, _out, err = cli("incident", "list", "--bogus", "--json")  # scripts read English
    assert err == "opsdeck: error: unrecognized arguments: --bogus — see `opsdeck --help`\n"


def test_only_literals_go_through_the_catalog() -> None:
    """`_(f"...")` or `_(name)` (or `say`'s) is never found in the catalog, so it stays English:
    placeholders belong in the literal, values go in through `.format` afterwards."""
    wrong = [
        f"{path.relative_to(ROOT)}:{node.lineno}"  # type: ignore[attr-defined]
        for path, tree in _product_trees()
        for node in ast.walk(tree)
        if (message := _message_of(node)) is not None
        and not (isinstance(message, ast.Constant) and isinstance(message.value, str))
    ]
    assert wrong == []


def test_no_throwaway_variable_hides_the_catalog_wrapper() -> None:
    """`for _, x in ...` in a function that also calls `_()` makes `_` a local there, and
    the call fails (UnboundLocalError) only when that line runs: in Chinese or English."""
    wrong = []
    for path, tree in _product_trees():
        if not any(isinstance(n, ast.ImportFrom) and any(a.name == "_" for a in n.names) for n in ast.walk(tree)):
            continue
        in_comprehension = {
            id(target) for n in ast.walk(tree) if isinstance(n, ast.comprehension) for target in ast.walk(n.target)
        }
        for node in ast.walk(tree):
            stored = isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store)
            if (stored and id(node) not in in_comprehension) or (isinstance(node, ast.arg) and node.arg == "_"):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}")  # type: ignore[attr-defined]
    assert wrong == []


def test_the_compiled_catalog_is_the_source(tmp_path: Path) -> None:
    """The .mo read at run time says what the .po says (recompile after editing it)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with i18n.catalog_path().open("rb") as handle:
        source = read_po(handle, locale="zh_CN")
    fresh = tmp_path / "opsdeck.mo"
    with fresh.open("wb") as handle:
        write_mo(handle, source)
    shipped = i18n.catalog_path().with_suffix(".mo")
    with fresh.open("rb") as a, shipped.open("rb") as b:
        compiled = gettext.GNUTranslations(a)._catalog  # type: ignore[attr-defined]
        shipped_catalog = gettext.GNUTranslations(b)._catalog  # type: ignore[attr-defined]
    compiled.pop("", None), shipped_catalog.pop("", None)  # the header carries the compile time
    assert compiled == shipped_catalog
