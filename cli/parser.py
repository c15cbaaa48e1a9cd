"""The parser: the global options, every top-level word, and the arguments of the one
command a command line names, from the declarations in the group modules; the help
formatter that wraps Chinese by terminal cells; argparse's own words translated.

Importing this module stays cheap: it never imports a group module until a command
line names its word, and never Textual.
"""

from __future__ import annotations

import argparse
import itertools
import re
from collections.abc import Sequence
from typing import Any, NoReturn

from opsdeck.backend.cells import cell_len, char_width
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import _, lookup
from opsdeck.cli.registry import TOP, Arg, Command, OneOf, Text, group


class UsageError(InvalidInput):
    pass


_CLOSING = frozenset("，。、；：！？）》」』")  # never starts a line
_OPENING = frozenset("（《「『")  # never ends one


def _wrap_cells(text: str, width: int) -> list[str]:
    """Lines of at most `width` terminal cells (a Chinese character takes two). A line
    may break at a space or between two Chinese characters, never inside a word."""
    units: list[tuple[str, bool]] = []  # (a word or one Chinese character, a space before it)
    space = False
    for char in text:
        if char.isspace():
            space = True
            continue
        if units and not space:
            last, before = units[-1]
            ascii_word = char_width(char) == 1 and char_width(last[-1]) == 1
            if char in _CLOSING or last[-1] in _OPENING or ascii_word:
                units[-1] = (last + char, before)
                continue
        units.append((char, space))
        space = False
    lines: list[str] = []
    line = ""
    for word, before in units:
        joined = f"{line} {word}" if before and line else line + word
        if line and cell_len(joined) > width:
            lines.append(line)
            line = word
        else:
            line = joined
    return [*lines, line] if line else lines


class _HelpFormatter(argparse.HelpFormatter):
    """argparse wraps by characters; Chinese help is wrapped by cells instead (English as before)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        if text.isascii():
            return super()._split_lines(text, width)
        return _wrap_cells(" ".join(text.split()), width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.isascii():
            return super()._fill_text(text, width, indent)
        return "\n".join(indent + line for line in _wrap_cells(" ".join(text.split()), width - len(indent)))


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one `opsdeck: error:` line, exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError("usage", message, _("see `{prog} --help`").format(prog=self.prog))


def _globals(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help=_("the store: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB (never with a password here)"),
    )
    parser.add_argument(
        "--as",
        dest="as_login",
        metavar="LOGIN",
        default=default,
        help=_("act as LOGIN: only on a SQLite store you alone own, or where a lead ran `opsdeck db allow-as on`"),
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help=_("act as a viewer for this invocation: change nothing"),
    )
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS if suppress else False, help=_("show tracebacks")
    )


def build_parser(argv: Sequence[str] = (), *, whole: bool = False) -> Parser:
    """Every top-level word with its line in `opsdeck --help`, and the arguments of the one
    `argv` names (importing only the module that declares it); `whole`: of every one."""
    common = Parser(add_help=False)
    _globals(common, suppress=True)
    parser = Parser(prog="opsdeck", description=_("The emergency plan's incidents, clocks, probes and roster."))
    _globals(parser, suppress=False)
    parser.add_argument("--demo", action="store_true", help=_("the board on a fresh demo store"))
    top = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    chosen = command_word(argv)
    for word, entry in TOP.items():
        line = lookup(entry.help)
        if word != chosen and not whole:
            top.add_parser(word, help=line)  # only listed: its arguments are not needed
            continue
        sub = top.add_parser(word, help=line, description=line, parents=[common])
        commands = group(word)
        if len(commands) == 1 and commands[0].words[1] is None:
            _add_arguments(sub, commands[0])
            continue
        actions = sub.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
        for found in commands:
            text = _text(found.help)
            leaf = actions.add_parser(str(found.words[1]), help=text, description=text, parents=[common])
            _add_arguments(leaf, found)
    return parser


def _text(text: Text) -> str:
    return text() if callable(text) else lookup(text)


def _add_arguments(parser: argparse.ArgumentParser, found: Command) -> None:
    if found.json:
        parser.add_argument("--json", action="store_true", help=_("print JSON"))
    for item in found.args:
        if isinstance(item, OneOf):
            exclusive = parser.add_mutually_exclusive_group(required=item.required)
            for one in item.args:
                _add_argument(exclusive, one)
        else:
            _add_argument(parser, item)


def _add_argument(parser: Any, item: Arg) -> None:
    options = dict(item.options)
    if "help" in options:
        options["help"] = _text(options["help"])
    parser.add_argument(*item.flags, **options)


_VALUED = ("--db", "--as")  # the global options that take a value
_GLOBAL = (*_VALUED, "--read-only", "--debug", "--demo", "--help")


def command_word(argv: Sequence[str]) -> str | None:
    """The top-level word a command line names, as argparse finds it: the first word that
    is not a global option (or an unambiguous abbreviation of one) or its value."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word.startswith("-"):
            named = [o for o in _GLOBAL if o.startswith(word)] if word.startswith("--") and "=" not in word else []
            skip = len(named) == 1 and named[0] in _VALUED
        else:
            return word
    return None


TIME_OPTIONS = ("--outage-start", "--since", "--until", "--started", "--at")
_RELATIVE = re.compile(r"^-(\d+[smhdw])+$")  # -15m, -1h30m: a value, not an option


def rewrite_aliases(argv: list[str]) -> list[str]:
    """`opsdeck audit 12` means `opsdeck audit show 12` (`report 12`: `report show 12`); `--since -15m` means `--since=-15m`
    (argparse would take `-15m` for an option)."""
    joined: list[str] = []
    for word in argv:
        if joined and joined[-1] in TIME_OPTIONS and _RELATIVE.match(word):
            joined[-1] = f"{joined[-1]}={word}"
        else:
            joined.append(word)
    argv = joined
    for index, word in enumerate(argv):
        if word in ("audit", "report") and index + 1 < len(argv):
            nxt = argv[index + 1]
            warning = word == "audit" and nxt[:1] in ("W", "w") and nxt[1:].isdigit()
            if nxt.lstrip("#").isdigit() or warning or (word == "audit" and nxt == "system"):
                return [*argv[: index + 1], "show", *argv[index + 1 :]]
            break
    return argv


# argparse's own words, which it looks up through its module's `_` and `ngettext` when it
# builds a parser or refuses a command line (`--help` and the `opsdeck: error:` line).
ARGPARSE_MESSAGES = (
    "usage: ",
    "positional arguments",
    "options",
    "show this help message and exit",
    "the following arguments are required: %s",
    "unrecognized arguments: %s",
    "argument %(argument_name)s: %(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)",
    "expected one argument",
    "expected at most one argument",
    "expected at least one argument",
    "expected %s argument",
    "expected %s arguments",
    "invalid %(type)s value: %(value)r",
    "one of the arguments %s is required",
    "not allowed with argument %s",
    "ambiguous option: %(option)s could match %(matches)s",
    "ignored explicit argument %r",
)


def speak_argparse() -> None:
    """Point argparse's lookups at opsdeck's catalog, so a Chinese session does not get
    "the following arguments are required" in the middle of a Chinese error. Words
    argparse has that are not listed above stay English."""

    def plural(singular: str, many: str, count: int) -> str:
        return lookup(singular if count == 1 else many)

    argparse._ = lookup  # type: ignore[attr-defined]
    argparse.ngettext = plural  # type: ignore[attr-defined]


def prints_json(argv: list[str]) -> bool:
    """`--json`, or `report show --format json`: the same test as `context.wants_json`,
    on the words, before they are parsed."""
    if "--json" in argv or "--format=json" in argv:
        return True
    return any(word == "--format" and nxt == "json" for word, nxt in itertools.pairwise(argv))
