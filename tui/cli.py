"""The `opsdeck` command line: the contract scripts and other tools call.

Importing this module must stay cheap: it never imports Textual. Only the commands
that draw (the dashboard, `wall`, `serve`) import the UI, inside their handlers.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from opsdeck.backend.cells import cell_len, char_width
from opsdeck.backend.errors import InvalidInput, OpsdeckError
from opsdeck.backend.i18n import _
from opsdeck.backend.sanitize import clean
from opsdeck.tui.argtypes import incident_id as _incident_id
from opsdeck.tui.argtypes import incident_or_system as _incident_or_system
from opsdeck.tui.argtypes import seconds
from opsdeck.tui.argtypes import trail_id as _trail_id
from opsdeck.tui.argtypes import version as _version


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


Group = argparse._SubParsersAction  # type: ignore[type-arg]


class _Builder:
    """Adds subcommands that all accept the global options after the command too."""

    def __init__(self) -> None:
        self.common = Parser(add_help=False)
        _globals(self.common, suppress=True)

    def group(self, parent: Group, name: str, help_text: str) -> Group:
        sub = parent.add_parser(name, help=help_text, description=help_text, parents=[self.common])
        return sub.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)

    def leaf(self, group: Group, name: str, help_text: str, *, json_flag: bool = True) -> Parser:
        sub: Parser = group.add_parser(name, help=help_text, description=help_text, parents=[self.common])
        if json_flag:
            sub.add_argument("--json", action="store_true", help=_("print JSON"))
        return sub


def build_parser() -> Parser:
    b = _Builder()
    parser = Parser(prog="opsdeck", description=_("The emergency plan's incidents, clocks, probes and roster."))
    _globals(parser, suppress=False)
    parser.add_argument("--demo", action="store_true", help=_("the board on a fresh demo store"))
    top = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    _incident_commands(b, b.group(top, "incident", _("open, list and act on incidents")))
    for kind, what, add, listed in (
        (
            "roster",
            _("the emergency group"),
            _("add or update the emergency group from a TOML, JSON or CSV file (leads)"),
            _("list the emergency group"),
        ),
        (
            "contacts",
            _("people told or escalated to"),
            _("add or update people told or escalated to from a TOML, JSON or CSV file (leads)"),
            _("list people told or escalated to"),
        ),
        (
            "systems",
            _("the system catalog"),
            _("add or update the system catalog from a TOML, JSON or CSV file (leads)"),
            _("list the system catalog"),
        ),
    ):
        group = b.group(top, kind, what)
        b.leaf(group, "import", add).add_argument("file")
        b.leaf(group, "list", listed)
        if kind == "roster":
            p = b.leaf(group, "duty", _("put LOGIN on or off duty (LOGIN themself, or a lead)"))
            p.add_argument("login")
            p.add_argument("state", choices=["on", "off"])

    audit = b.group(top, "audit", _("the audit trail"))
    b.leaf(audit, "show", _("an incident's audit trail (a warning's: W3; or `system`), oldest first")).add_argument(
        "id", metavar="ID|W3|system", type=_incident_or_system
    )
    p = b.leaf(audit, "verify", _("check every hash chain; exit 1 naming the first broken link"))
    p.add_argument(
        "--anchor", metavar="TOKEN", help=_("also check the history against a token `audit anchor` printed earlier")
    )
    p = b.leaf(
        audit,
        "export",
        _("an incident's (or a warning's: W3) trail with its hash chain, as JSON evidence"),
        json_flag=False,
    )
    p.add_argument("id", metavar="ID|W3", type=_trail_id)
    p.add_argument("--output", "-o", metavar="FILE", help=_("write to FILE instead of standard output"))
    b.leaf(audit, "anchor", _("print a token fixing every chain's head now: keep it somewhere else"))

    p = b.leaf(
        top, "wall", _("the board for a wall screen: read-only, big clock and countdowns, flashes"), json_flag=False
    )
    p.add_argument("--no-bell", action="store_true", help=_("flash only; never ring the terminal bell"))
    p.add_argument(
        "--page-seconds", type=seconds(2, 86400), default=10.0, metavar="S", help=_("turn pages every S s (default 10)")
    )
    p = b.leaf(top, "serve", _("the wall in a web browser (textual-serve), for wall TVs"), json_flag=False)
    p.add_argument(
        "--host", default="127.0.0.1", help=_("the address to listen on (default 127.0.0.1: this host only)")
    )
    p.add_argument("--port", type=int, default=8000, help=_("the port (default 8000)"))
    p.add_argument("--public-url", metavar="URL", help=_("the URL browsers use, when behind a reverse proxy"))

    p = b.leaf(top, "board", _("the board as text: now, or as it stood at a past moment (--at)"))
    p.add_argument("--at", metavar="TIME", help=_("replay the board at TIME (08:30, -2h, 2026-11-28T08:30:00+08:00)"))

    calls = b.group(top, "calls", _("the service desk's call log: calls about an incident, call-backs owed"))
    p = b.leaf(calls, "add", _("log a call about incident ID (as it comes in, or later from the paper log: --at)"))
    p.add_argument("id", type=_incident_id)
    p.add_argument("--caller", required=True, metavar="NAME")
    p.add_argument("--contact", required=True, metavar="PHONE|EMAIL", help=_("personal data: shown masked"))
    p.add_argument("--need", required=True, metavar="TEXT", help=_("what the caller needed"))
    p.add_argument("--callback", action="store_true", help=_("a call-back is owed after recovery"))
    p.add_argument("--at", metavar="TIME", help=_("when the call came in (09:40, -20m, ...); default now"))
    p = b.leaf(calls, "list", _("the calls (of incident ID), contacts masked"))
    p.add_argument("id", nargs="?", type=_incident_id)
    p.add_argument("--owed", action="store_true", help=_("only call-backs still owed: the worklist after recovery"))
    p.add_argument("--unmask", action="store_true", help=_("show contacts whole (roster members; audited)"))
    p = b.leaf(calls, "done", _("the call-back owed on call CALL is made"))
    p.add_argument("call", type=_incident_id, metavar="CALL")
    p.add_argument("--note", metavar="T")

    rep = b.group(top, "report", _("the post-incident record: draft, edit, file"))
    p = b.leaf(rep, "show", _("the filed record, or a draft from the stored facts and the audit trail"))
    p.add_argument("id", type=_incident_id)
    p.add_argument("--format", choices=["md", "json"], default="md", help=_("Markdown (default) or JSON"))
    p = b.leaf(rep, "edit", _("write the stored draft (in $EDITOR, or from FILE) without filing it"))
    p.add_argument("id", type=_incident_id)
    p.add_argument("--from", dest="source", metavar="FILE", help=_("the draft's text, UTF-8 (- reads standard input)"))
    p = b.leaf(rep, "file", _("file the record (from FILE, or the draft edited in $EDITOR) and close the incident"))
    p.add_argument("id", type=_incident_id)
    p.add_argument("--from", dest="source", metavar="FILE", help=_("the record's text, UTF-8 (- reads standard input)"))
    p.add_argument(
        "--if-version", type=_version, metavar="N", help=_("refuse if the incident is no longer at version N")
    )

    from opsdeck.tui import stats_commands  # the monthly report with the figures (one block)

    stats_commands.add_report_parsers(b, rep)
    pol = b.group(top, "policy", _("playbooks and deadline rules"))
    b.leaf(pol, "apply", _("validate FILE (TOML) and store it as a new policy version (leads)")).add_argument("file")
    b.leaf(pol, "show", _("the current policy"))

    p = b.leaf(top, "init", _("set up a store shared by every login of a group on this host (as root)"))
    p.add_argument(
        "--system", action="store_true", required=True, help=_("the shared store (the only kind needing init)")
    )
    p.add_argument("--dir", metavar="DIR", default="/var/lib/opsdeck", help=_("where the store and spool live"))
    p.add_argument(
        "--group", metavar="G", default="opsdeck", help=_("the group of logins sharing it (default opsdeck)")
    )

    db = b.group(top, "db", _("the store itself"))
    b.leaf(db, "backup", _("copy a SQLite store while it is in use")).add_argument("dest")
    b.leaf(db, "upgrade", _("upgrade the schema (PostgreSQL: once every host runs this version)"))
    b.leaf(db, "status", _("where the store is and its schema version"))
    p = b.leaf(db, "allow-as", _("let --as act as another login on this store (leads; audited)"))
    p.add_argument("state", choices=("on", "off"), help=_("on or off"))
    p = b.leaf(db, "roles", _("PostgreSQL: a database role per person, every write checked by the server (superuser)"))
    p.add_argument("step", choices=("init", "add", "remove"), help=_("init, add ROLE LOGIN, or remove ROLE"))
    p.add_argument("role", nargs="?", metavar="ROLE", help=_("the database role (add, remove)"))
    p.add_argument("member", nargs="?", metavar="LOGIN", help=_("the roster login ROLE acts as (add)"))
    b.leaf(db, "check", _("PostgreSQL: who holds the owner role or write grants around the checks"))

    p = b.leaf(top, "escalate", _("escalate every breached deadline once (the worker does this continuously)"))
    p.add_argument("--once", action="store_true", help=_("one sweep, then exit (the default)"))
    p = b.leaf(
        top,
        "worker",
        _("run the worker: escalations, the spool, probe health (a second worker stands by)"),
        json_flag=False,
    )
    p.add_argument("--interval", type=float, default=1.0, metavar="S", help=_("seconds between sweeps (default 1)"))
    p.add_argument(
        "--duties",
        default="escalate,ingest,probes,http,notify,maintain",
        metavar="LIST",
        help=_("comma-separated duties (default: all of escalate,ingest,probes,http,notify,maintain)"),
    )
    p.add_argument("--spool", metavar="DIR", help=_("the spool probes write into (default: config spool)"))
    p.add_argument(
        "--metrics-listen",
        metavar="HOST:PORT",
        help=_("serve Prometheus metrics at http://HOST:PORT/metrics (default: not served)"),
    )

    p = b.leaf(top, "ingest", _("take in probe result files from the spool (the worker's ingest duty)"))
    p.add_argument("--spool", metavar="DIR", help=_("the spool (default: config spool)"))
    p.add_argument("--once", action="store_true", help=_("one scan, print the counts, exit"))
    p.add_argument("--encoding", metavar="E", help=_("text encoding of probe files (default: config spool_encoding)"))

    notify = b.group(top, "notify", _("notifications: the outbox"))
    p = b.leaf(notify, "list", _("messages with their state, attempts and last error (secrets redacted)"))
    p.add_argument("--state", metavar="S", help=_("pending, sending, sent, failed or dead"))
    b.leaf(notify, "retry", _("send a failed or dead message again now")).add_argument("id", type=_incident_id)
    b.leaf(notify, "test", _("send a test message to a channel now")).add_argument("channel")
    channels = b.group(top, "channels", _("channels and notification routes"))
    b.leaf(channels, "apply", _("validate FILE (TOML) and store it as a new routing version (leads)")).add_argument(
        "file"
    )
    b.leaf(channels, "list", _("channels (URLs redacted) and routes"))

    p = b.leaf(top, "handover", _("the shift handover: open incidents by urgency, breaches, obligations, probes"))
    p.add_argument("--since", default="8h", metavar="DURATION", help=_("breaches since (default 8h)"))

    probe = b.group(top, "probe", _("probes and their health"))
    b.leaf(probe, "list", _("every probe with its state, age and last output"))
    b.leaf(probe, "show", _("one probe with its recent results")).add_argument("name")
    p = b.leaf(probe, "silence", _("a maintenance window: results stored, no incident opens"))
    p.add_argument("name", nargs="?", help=_("the probe (or --system S for all of a system's probes)"))
    p.add_argument("--system", metavar="S")
    p.add_argument("--for", dest="duration", required=True, metavar="DURATION", help=_("2h, 30m, 1d; 0 lifts it"))
    p.add_argument("--reason", required=True, metavar="R")

    from opsdeck.tui import receive_commands  # the alert receiver and its sources (one block)

    receive_commands.add_parsers(b, top)
    from opsdeck.tui import schedule_commands  # the duty schedule (one block)

    schedule_commands.add_parsers(b, top)

    from opsdeck.tui import template_commands  # the messages notifications are written in (one block)

    template_commands.add_parsers(b, top)
    from opsdeck.tui import check_command  # the NOC's Monitoring Plugins check (one block)

    check_command.add_parsers(b, top)
    from opsdeck.tui import metrics_command  # Prometheus metrics for node_exporter (one block)

    metrics_command.add_parsers(b, top)
    from opsdeck.tui import warning_commands  # warnings (预警) before an incident (one block)

    warning_commands.add_parsers(b, top)
    from opsdeck.tui import stats_commands  # figures for a period (one block)

    stats_commands.add_parsers(b, top)

    for name, help_text in (
        ("demo", _("seed a fresh temporary store with demo data and print the board")),
        ("config", _("show the configuration in effect and where it came from")),
    ):
        sub = top.add_parser(name, help=help_text, description=help_text, parents=[b.common])
        if name == "config":
            sub.add_argument("--json", action="store_true", help=_("print JSON"))
    return parser


def _incident_commands(b: _Builder, inc: Group) -> None:
    p = b.leaf(inc, "open", _("report a new incident; prints its id"))
    p.add_argument("--title", required=True)
    p.add_argument("--description", default="")
    p.add_argument("--system", metavar="NAME")
    p.add_argument("--category", metavar="K")
    p.add_argument("--level", metavar="L")
    p.add_argument("--reason", metavar="R")
    p.add_argument("--outage-start", metavar="TIME", help=_("RFC 3339 or relative like -15m (default: now)"))

    p = b.leaf(inc, "list", _("list incidents (open ones by default)"))
    p.add_argument(
        "--status",
        default="open",
        metavar="S",
        help=_("open (not closed, the default), reported, acknowledged, resolved, closed or all"),
    )
    for flag in ("level", "category", "system", "owner"):
        p.add_argument(f"--{flag}", metavar=flag.upper())
    p.add_argument("--grep", metavar="TEXT", help=_("in title or description, any case"))
    p.add_argument("--since", metavar="TIME")
    p.add_argument("--until", metavar="TIME")

    b.leaf(inc, "show", _("one incident with notes and playbook")).add_argument("id", type=_incident_id)

    def action(name: str, help_text: str) -> Parser:
        sub = b.leaf(inc, name, help_text)
        sub.add_argument("id", type=_incident_id)
        sub.add_argument(
            "--if-version", type=_version, metavar="N", help=_("refuse if the incident is no longer at version N")
        )
        return sub

    action("ack", _("acknowledge: someone is on it"))
    p = action("classify", _("set category and level (a re-grade needs --reason)"))
    p.add_argument("--category", required=True, metavar="K")
    p.add_argument("--level", required=True, metavar="L")
    p.add_argument("--reason", metavar="R")
    p = action("level", _("change the level (lowering it is for leads)"))
    p.add_argument("--level", required=True, metavar="L")
    p.add_argument("--reason", metavar="R")
    action("assign", _("make LOGIN the owner")).add_argument("login")
    action("note", _("add a note")).add_argument("text")
    p = action("step", _("tick a playbook step (or --skip it with --reason)"))
    p.add_argument("key")
    p.add_argument("--skip", action="store_true")
    p.add_argument("--reason", metavar="R")
    action("cause", _("mark the cause located")).add_argument("--note", metavar="T")
    action("resolve", _("service is back; says how")).add_argument("--resolution", required=True, metavar="T")
    p = action("close", _("close: resolved with a record, a false alarm, or a duplicate"))
    p.add_argument("--false-alarm", action="store_true")
    p.add_argument("--reason", metavar="R")
    p.add_argument("--duplicate-of", type=_incident_id, metavar="ID")
    action("reopen", _("reopen a resolved incident (a closed one opens a new, linked one)")).add_argument(
        "--reason", required=True, metavar="R"
    )
    p = action("outage", _("correct when the outage started"))
    p.add_argument("--started", required=True, metavar="TIME")
    p.add_argument("--reason", required=True, metavar="R")

    b.leaf(inc, "deadlines", _("the plan's clocks for one incident, with their state now")).add_argument(
        "id", type=_incident_id
    )
    p = b.leaf(inc, "attest", _("record a level III+ obligation as met (who, when, how)"))
    p.add_argument("id", type=_incident_id)
    p.add_argument("obligation", help=_("leadership_informed, departments_notified, notices_posted, ..."))
    p.add_argument(
        "--via",
        required=True,
        metavar="CHANNEL",
        help=_("phone, sms, email, web, im, in_person, meeting, notice, other"),
    )
    p.add_argument("--note", metavar="T")
    p.add_argument("--who", metavar="NAME", help=_("the person designated (spokesperson_named)"))
    p.add_argument(
        "--if-version", type=_version, metavar="N", help=_("refuse if the incident is no longer at version N")
    )
    p = action("regrade", _("the outage passed the level's bound: confirm the next level or decline"))
    way = p.add_mutually_exclusive_group(required=True)
    way.add_argument("--confirm", action="store_true")
    way.add_argument("--decline", action="store_true")
    p.add_argument("--reason", required=True, metavar="R")


TIME_OPTIONS = ("--outage-start", "--since", "--until", "--started", "--at")
_RELATIVE = re.compile(r"^-(\d+[smhdw])+$")  # -15m, -1h30m: a value, not an option


def _rewrite_aliases(argv: list[str]) -> list[str]:
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


def main(argv: Sequence[str] | None = None) -> int:
    args_list = _rewrite_aliases(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in args_list
    from opsdeck.tui.check_command import is_check, refused

    plugin = is_check(args_list)  # `opsdeck check` answers with the plugin's exit codes
    try:
        _choose_language(args_list)
        _refuse_undecodable(args_list)
        args = build_parser().parse_args(args_list)
        from opsdeck.tui import commands

        return commands.run(args)
    except OpsdeckError as error:
        if debug:
            raise
        if plugin:
            return refused(error)
        _report(str(error))
        return int(error.kind)
    except SystemExit as done:
        # `check --help`: a plugin's help answers UNKNOWN, as the Monitoring Plugins' own do
        if plugin and done.code in (0, None):
            return 3
        raise
    except KeyboardInterrupt:
        # 130 is the shell's convention, but opsdeck's codes stay within 0-5 (README)
        _report(_("interrupted — nothing was left half-done (each change is one transaction): run it again"))
        return 3 if plugin else 1
    except BrokenPipeError:
        # `opsdeck incident list | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as error:  # a bug: say so plainly, traceback only with --debug
        if debug:
            raise
        if plugin:
            return refused(error)
        _report(
            _("internal error: {kind}: {error} — rerun with --debug and report it").format(
                kind=type(error).__name__, error=error
            )
        )
        return 1  # a bug; the message says so (the codes stay within 0-5: README)


def _refuse_undecodable(argv: list[str]) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates: refuse them here, named,
    rather than fail wherever the text is stored or printed."""
    from opsdeck.backend.errors import InvalidInput
    from opsdeck.backend.sanitize import clean

    for number, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = clean(arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            raise InvalidInput(
                "bad_utf8",
                _("argument {number} ({text!r}) is not valid UTF-8").format(number=number, text=shown[:60]),
                _("give text in UTF-8 (check the terminal's or the script's encoding)"),
            ) from None


def _choose_language(argv: list[str]) -> None:
    """Before the parser is built (its help is translated) and before any screen is
    imported. JSON output, errors included, is always English: scripts read it."""
    from opsdeck.backend import config as config_mod
    from opsdeck.backend.i18n import choose, set_language

    _speak_argparse()
    if _prints_json(argv):
        set_language("en")
        return
    try:
        configured = config_mod.load({}, checked=False).language  # the command checks it all
    except OpsdeckError:  # the command reports a broken config itself, once the language is known
        configured = os.environ.get("OPSDECK_LANG")
    try:
        set_language(choose(configured, os.environ))
    except OpsdeckError:
        set_language("en")


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


def _speak_argparse() -> None:
    """Point argparse's lookups at opsdeck's catalog, so a Chinese session does not get
    "the following arguments are required" in the middle of a Chinese error. Words
    argparse has that are not listed above stay English."""
    from opsdeck.backend.i18n import lookup

    def plural(singular: str, many: str, count: int) -> str:
        return lookup(singular if count == 1 else many)

    argparse._ = lookup  # type: ignore[attr-defined]
    argparse.ngettext = plural  # type: ignore[attr-defined]


def _prints_json(argv: list[str]) -> bool:
    """`--json`, or `report show --format json`: the same test as `commands.wants_json`,
    on the words, before they are parsed."""
    if "--json" in argv or "--format=json" in argv:
        return True
    return any(word == "--format" and nxt == "json" for word, nxt in itertools.pairwise(argv))


def _report(message: str) -> None:
    first = message.strip().splitlines()[0] if message.strip() else "error"
    first = clean(first)  # a bad argument or login is echoed: never an escape sequence
    print(f"opsdeck: error: {first}", file=sys.stderr)


if __name__ == "__main__":  # `python -m opsdeck.tui.cli`: how `opsdeck serve` starts each wall
    sys.exit(main())
