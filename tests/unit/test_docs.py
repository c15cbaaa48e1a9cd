"""The project's own documentation holds: nothing in the product points outside the
repository, every link into `docs/` names a file and a heading that exist, and the
commands, options and keys the docs name are the ones the program has."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
# What ships or is read as the product's own words: code, messages, data, docs.
PRODUCT = ("backend", "tui", "screens", "fixtures", "docs", "README.md", "pyproject.toml")
# Files outside the repository that product text must never send a reader to.
OUTSIDE = (b"domain.md", b"style.md", b"../shared")
# Where a link into docs/ may be written: the product, and the tests and bench that cite it.
CITING = (*PRODUCT, "tests", "bench", ".ci")


def files(roots: tuple[str, ...]) -> Iterator[Path]:
    for name in roots:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts)


def test_no_product_file_points_outside_the_repository() -> None:
    found = []
    for path in files(PRODUCT):
        for number, line in enumerate(path.read_bytes().lower().splitlines(), 1):
            found += [f"{path.relative_to(ROOT)}:{number}: {name.decode()}" for name in OUTSIDE if name in line]
    assert found == [], "point at docs/plan.md (or docs/architecture.md) instead"


# -- links into docs/ ---------------------------------------------------------------------


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def prose(text: str) -> str:
    """The text outside fenced code blocks."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def anchors(path: Path) -> list[str]:
    return [slug(m[1]) for m in re.finditer(r"^#{1,6} +(.+)$", prose(path.read_text("utf-8")), re.MULTILINE)]


def test_every_docs_heading_has_its_own_anchor() -> None:
    for path in sorted(DOCS.glob("*.md")):
        found = anchors(path)
        assert len(found) == len(set(found)), f"{path.name}: two headings give one anchor (GitHub would number one)"


def links(path: Path) -> Iterator[tuple[str, str | None]]:
    """(docs file name, anchor or None) for every reference into docs/ in a file."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    for match in re.finditer(r"docs/([\w-]+\.md)(?:#([\w-]+))?", text):
        yield match[1], match[2]
    if path.parent == DOCS:  # links between the docs themselves: (#anchor), (plan.md#anchor)
        for match in re.finditer(r"\]\((?:([\w-]+\.md))?(?:#([\w-]+))?\)", text):
            yield match[1] or path.name, match[2]


def test_every_link_into_docs_names_a_file_and_a_heading_that_exist() -> None:
    known = {p.name: set(anchors(p)) for p in DOCS.glob("*.md")}
    assert {"plan.md", "architecture.md"} <= set(known)
    broken = []
    for path in files(CITING):
        if path.suffix in (".md", ".py", ".toml", ".po", ".txt", "") and path.name != "test_docs.py":
            for name, anchor in links(path):
                if name not in known or (anchor is not None and anchor not in known[name]):
                    broken.append(f"{path.relative_to(ROOT)}: docs/{name}#{anchor}")
    assert broken == []


def test_the_plan_has_the_anchors_code_points_at() -> None:
    """The anchors the brief promised code may use: renaming a heading breaks links."""
    assert {
        "systems",
        "categories",
        "levels",
        "incidents",
        "deadlines",
        "obligations",
        "notifications",
        "playbooks",
        "emergency-group",
        "monitoring",
        "warnings",
        "readiness",
        "service-desk",
        "post-incident-record",
        "audit-trail",
        "not-yet",
    } <= set(anchors(DOCS / "plan.md"))


def test_the_readme_links_the_docs() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "](docs/plan.md)" in readme
    assert "](docs/architecture.md)" in readme


# -- what the docs name exists --------------------------------------------------------------

# `opsdeck` where a shell would run it: at the start, after a pipe, `&&`, `$(`, `sudo` or
# an environment assignment, possibly as the last part of a path (.venv/bin/opsdeck).
_COMMAND_AT = re.compile(r"(?:^|\$\(|&&|\|\||[|;(]|\bsudo|\b[A-Z_]+=\S*)\s*(?:[\w.~/-]*/)?$")


def commands(text: str) -> Iterator[str]:
    """The `opsdeck ...` command lines in the code of a Markdown text: inline spans and
    fenced blocks, each cut where the shell would end it."""
    pieces = [m[1] for m in re.finditer(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)]
    pieces = [re.sub(r"(?:^|\s)#.*", "", line) for block in pieces for line in block.splitlines()]
    pieces += re.findall(r"`([^`\n]+)`", prose(text))
    for piece in pieces:
        for match in re.finditer(r"(?<![\w.-])opsdeck(?=\s|$)", piece):
            before = piece[: match.start()]
            if _COMMAND_AT.search(before):
                yield re.split(r"\s(?:#|&&|\|\|?|;|>)|\)", piece[match.end() :])[0]


def path_and_options(line: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`incident attest 12 x --via phone` -> (("incident", "attest"), ("--via",))."""
    path: list[str] = []
    for word in line.split():
        if len(path) == 2 or not re.fullmatch(r"[a-z]+", word):
            break
        path.append(word)
    options = re.findall(r"(?<![\w-])--[a-z][a-z-]*", line)
    return tuple(path), tuple(options)


def named_commands() -> dict[tuple[tuple[str, ...], tuple[str, ...]], str]:
    found: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
    for path in (*sorted(DOCS.glob("*.md")), ROOT / "README.md"):
        for line in commands(path.read_text("utf-8")):
            found.setdefault(path_and_options(line), f"{path.name}: opsdeck{line}")
    return found


def test_commands_are_found_in_the_docs() -> None:
    """The extraction itself: spans, blocks, pipes and comments, and no false commands."""
    text = (
        "Run `opsdeck incident ack 12` or `opsdeck`.\n"
        "```sh\n"
        "id=$(opsdeck incident open --title x) && opsdeck audit $id  # then\n"
        "sudo -u postgres createdb -O opsdeck opsdeck\n"
        ".venv/bin/opsdeck --demo | head\n"
        "OPSDECK_LANG=zh_CN opsdeck incident list > out\n"
        "```\n"
        "`python -m opsdeck.backend.i18n` and `opsdeck-anchor-1:...`\n"
    )
    assert [path_and_options(c) for c in commands(text)] == [
        (("incident", "open"), ("--title",)),
        (("audit",), ()),
        ((), ("--demo",)),
        (("incident", "list"), ()),
        (("incident", "ack"), ()),
        ((), ()),
    ]


Help = Callable[[tuple[str, ...]], str | None]


@pytest.fixture
def opsdeck_help(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Help:
    """`opsdeck WORDS --help` through the installed console script: its help text, or None
    when the words are not a command."""
    monkeypatch.setenv("OPSDECK_LANG", "en")
    monkeypatch.setenv("OPSDECK_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COLUMNS", "200")
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "opsdeck"]
    main = script.load()

    def run(words: tuple[str, ...]) -> str | None:
        try:
            code = main([*words, "--help"])
        except SystemExit as done:
            code = done.code
        out = capsys.readouterr().out
        # `check --help` answers 3 UNKNOWN, as the Monitoring Plugins' own checks do
        helped = code == 0 or (words[:1] == ("check",) and code == 3)
        return out if helped and out.startswith("usage:") else None

    return run


def test_every_command_and_option_the_docs_name_exists(opsdeck_help: Help) -> None:
    named = named_commands()
    assert len(named) > 60  # the docs and README name this many distinct commands
    wrong = []
    for (path, options), where in sorted(named.items()):
        shown = opsdeck_help(path)
        if shown is None:
            wrong.append(f"{where}: no command `opsdeck {' '.join(path)}`")
            continue
        missing = [o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", shown)]
        if missing:
            wrong.append(f"{where}: `opsdeck {' '.join(path)}` has no {', '.join(missing)}")
    assert wrong == []


def bound_keys() -> set[str]:
    """Every key of every binding of every screen and widget, as Textual names it."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    import opsdeck.screens
    import opsdeck.tui

    keys: set[str] = set()
    for package in (opsdeck.screens, opsdeck.tui):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if inspect.isclass(obj) and issubclass(obj, DOMNode):
                    for binding in obj.__dict__.get("BINDINGS", []):
                        if isinstance(binding, Binding):
                            keys.update(binding.key.split(","))
    return keys


TEXTUAL_NAMES = {"/": "slash", "?": "question_mark", "@": "at", "[": "left_square_bracket", "]": "right_square_bracket"}


def test_every_key_the_docs_name_is_bound() -> None:
    keys = bound_keys()
    named = {
        (path.name, key)
        for path in sorted(DOCS.glob("*.md"))
        for key in re.findall(r"<kbd>([^<]+)</kbd>", path.read_text("utf-8"))
    }
    assert len(named) > 20
    assert [f"{name}: <kbd>{key}</kbd>" for name, key in sorted(named) if TEXTUAL_NAMES.get(key, key) not in keys] == []
