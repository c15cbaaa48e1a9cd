"""The `opsdeck` command line: the contract scripts and other tools call.

Importing this module must stay cheap: it never imports Textual. Only the commands
that draw (the dashboard, `wall`, `serve`) import the UI, inside their handlers.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from opsdeck.backend.errors import InvalidInput, OpsdeckError


class UsageError(InvalidInput):
    pass


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one `opsdeck: error:` line, exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError("usage", message, f"see `{self.prog} --help`")


def _globals(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="the store: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB (never with a password here)",
    )
    parser.add_argument(
        "--as",
        dest="as_login",
        metavar="LOGIN",
        default=default,
        help="act as LOGIN (only when config allow_as = true or OPSDECK_ALLOW_AS=1)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="act as a viewer for this invocation: change nothing",
    )
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS if suppress else False, help="show tracebacks"
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
            sub.add_argument("--json", action="store_true", help="print JSON")
        return sub


def build_parser() -> Parser:
    b = _Builder()
    parser = Parser(prog="opsdeck", description="The emergency plan's incidents, clocks, probes and roster.")
    _globals(parser, suppress=False)
    parser.add_argument("--demo", action="store_true", help="the board on a fresh demo store")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    _incident_commands(b, b.group(top, "incident", "open, list and act on incidents"))
    for kind, what in (
        ("roster", "the emergency group"),
        ("contacts", "people told or escalated to"),
        ("systems", "the system catalog"),
    ):
        group = b.group(top, kind, what)
        b.leaf(group, "import", f"add or update {what} from a TOML, JSON or CSV file (leads)").add_argument("file")
        b.leaf(group, "list", f"list {what}")
        if kind == "roster":
            p = b.leaf(group, "duty", "put LOGIN on or off duty (LOGIN themself, or a lead)")
            p.add_argument("login")
            p.add_argument("state", choices=["on", "off"])

    audit = b.group(top, "audit", "the audit trail")
    b.leaf(audit, "show", "an incident's audit trail (or `system`), oldest first").add_argument(
        "id", metavar="ID|system"
    )
    p = b.leaf(audit, "verify", "check every hash chain; exit 1 naming the first broken link")
    p.add_argument(
        "--anchor", metavar="TOKEN", help="also check the history against a token `audit anchor` printed earlier"
    )
    p = b.leaf(audit, "export", "an incident's trail with its hash chain, as JSON evidence", json_flag=False)
    p.add_argument("id", type=_incident_id)
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    b.leaf(audit, "anchor", "print a token fixing every chain's head now: keep it somewhere else")

    p = b.leaf(
        top, "wall", "the board for a wall screen: read-only, big clock and countdowns, flashes", json_flag=False
    )
    p.add_argument("--no-bell", action="store_true", help="flash only; never ring the terminal bell")
    p.add_argument("--page-seconds", type=float, default=10.0, metavar="S", help="turn pages every S s (default 10)")
    p = b.leaf(top, "serve", "the wall in a web browser (textual-serve), for wall TVs", json_flag=False)
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this host only)")
    p.add_argument("--port", type=int, default=8000, help="the port (default 8000)")
    p.add_argument("--public-url", metavar="URL", help="the URL browsers use, when behind a reverse proxy")

    p = b.leaf(top, "board", "the board as text: now, or as it stood at a past moment (--at)")
    p.add_argument("--at", metavar="TIME", help="replay the board at TIME (08:30, -2h, 2026-11-28T08:30:00+08:00)")

    calls = b.group(top, "calls", "the service desk's call log: calls about an incident, call-backs owed")
    p = b.leaf(calls, "add", "log a call about incident ID (as it comes in, or later from the paper log: --at)")
    p.add_argument("id", type=_incident_id)
    p.add_argument("--caller", required=True, metavar="NAME")
    p.add_argument("--contact", required=True, metavar="PHONE|EMAIL", help="personal data: shown masked")
    p.add_argument("--need", required=True, metavar="TEXT", help="what the caller needed")
    p.add_argument("--callback", action="store_true", help="a call-back is owed after recovery")
    p.add_argument("--at", metavar="TIME", help="when the call came in (09:40, -20m, ...); default now")
    p = b.leaf(calls, "list", "the calls (of incident ID), contacts masked")
    p.add_argument("id", nargs="?", type=_incident_id)
    p.add_argument("--owed", action="store_true", help="only call-backs still owed: the worklist after recovery")
    p.add_argument("--unmask", action="store_true", help="show contacts whole (roster members; audited)")
    p = b.leaf(calls, "done", "the call-back owed on call CALL is made")
    p.add_argument("call", type=int, metavar="CALL")
    p.add_argument("--note", metavar="T")

    rep = b.group(top, "report", "the post-incident record: draft, edit, file")
    p = b.leaf(rep, "show", "the filed record, or a draft from the stored facts and the audit trail")
    p.add_argument("id", type=_incident_id)
    p.add_argument("--format", choices=["md", "json"], default="md", help="Markdown (default) or JSON")
    p = b.leaf(rep, "file", "file the record (from FILE, or the draft edited in $EDITOR) and close the incident")
    p.add_argument("id", type=_incident_id)
    p.add_argument("--from", dest="source", metavar="FILE", help="the record's text, UTF-8 (- reads standard input)")
    p.add_argument("--if-version", type=int, metavar="N", help="refuse if the incident is no longer at version N")

    pol = b.group(top, "policy", "playbooks and deadline rules")
    b.leaf(pol, "apply", "validate FILE (TOML) and store it as a new policy version (leads)").add_argument("file")
    b.leaf(pol, "show", "the current policy")

    p = b.leaf(top, "init", "set up a store shared by every login of a group on this host (as root)")
    p.add_argument("--system", action="store_true", required=True, help="the shared store (the only kind needing init)")
    p.add_argument("--dir", metavar="DIR", default="/var/lib/opsdeck", help="where the store and spool live")
    p.add_argument("--group", metavar="G", default="opsdeck", help="the group of logins sharing it (default opsdeck)")

    db = b.group(top, "db", "the store itself")
    b.leaf(db, "backup", "copy a SQLite store while it is in use").add_argument("dest")
    b.leaf(db, "upgrade", "upgrade the schema (PostgreSQL: once every host runs this version)")
    b.leaf(db, "status", "where the store is and its schema version")

    p = b.leaf(top, "escalate", "escalate every breached deadline once (the worker does this continuously)")
    p.add_argument("--once", action="store_true", help="one sweep, then exit (the default)")
    p = b.leaf(
        top,
        "worker",
        "run the worker: escalations, the spool, probe health (a second worker stands by)",
        json_flag=False,
    )
    p.add_argument("--interval", type=float, default=1.0, metavar="S", help="seconds between sweeps (default 1)")
    p.add_argument(
        "--duties",
        default="escalate,ingest,probes,http,notify,maintain",
        metavar="LIST",
        help="comma-separated duties (default: all of escalate,ingest,probes,http,notify,maintain)",
    )
    p.add_argument("--spool", metavar="DIR", help="the spool probes write into (default: config spool)")

    p = b.leaf(top, "ingest", "take in probe result files from the spool (the worker's ingest duty)")
    p.add_argument("--spool", metavar="DIR", help="the spool (default: config spool)")
    p.add_argument("--once", action="store_true", help="one scan, print the counts, exit")
    p.add_argument("--encoding", metavar="E", help="text encoding of probe files (default: config spool_encoding)")

    notify = b.group(top, "notify", "notifications: the outbox")
    p = b.leaf(notify, "list", "messages with their state, attempts and last error (secrets redacted)")
    p.add_argument("--state", metavar="S", help="pending, sending, sent, failed or dead")
    b.leaf(notify, "retry", "send a failed or dead message again now").add_argument("id", type=_incident_id)
    b.leaf(notify, "test", "send a test message to a channel now").add_argument("channel")
    channels = b.group(top, "channels", "channels and notification routes")
    b.leaf(channels, "apply", "validate FILE (TOML) and store it as a new routing version (leads)").add_argument("file")
    b.leaf(channels, "list", "channels (URLs redacted) and routes")

    p = b.leaf(top, "handover", "the shift handover: open incidents by urgency, breaches, obligations, probes")
    p.add_argument("--since", default="8h", metavar="DURATION", help="breaches since (default 8h)")

    probe = b.group(top, "probe", "probes and their health")
    b.leaf(probe, "list", "every probe with its state, age and last output")
    b.leaf(probe, "show", "one probe with its recent results").add_argument("name")
    p = b.leaf(probe, "silence", "a maintenance window: results stored, no incident opens")
    p.add_argument("name", nargs="?", help="the probe (or --system S for all of a system's probes)")
    p.add_argument("--system", metavar="S")
    p.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="2h, 30m, 1d; 0 lifts it")
    p.add_argument("--reason", required=True, metavar="R")

    for name, help_text in (
        ("demo", "seed a fresh temporary store with demo data and print the board"),
        ("config", "show the configuration in effect and where it came from"),
    ):
        sub = top.add_parser(name, help=help_text, description=help_text, parents=[b.common])
        if name == "config":
            sub.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _incident_commands(b: _Builder, inc: Group) -> None:
    p = b.leaf(inc, "open", "report a new incident; prints its id")
    p.add_argument("--title", required=True)
    p.add_argument("--description", default="")
    p.add_argument("--system", metavar="NAME")
    p.add_argument("--category", metavar="K")
    p.add_argument("--level", metavar="L")
    p.add_argument("--reason", metavar="R")
    p.add_argument("--outage-start", metavar="TIME", help="RFC 3339 or relative like -15m (default: now)")

    p = b.leaf(inc, "list", "list incidents (open ones by default)")
    p.add_argument(
        "--status",
        default="open",
        metavar="S",
        help="open (not closed, the default), reported, acknowledged, resolved, closed or all",
    )
    for flag in ("level", "category", "system", "owner"):
        p.add_argument(f"--{flag}", metavar=flag.upper())
    p.add_argument("--grep", metavar="TEXT", help="in title or description, any case")
    p.add_argument("--since", metavar="TIME")
    p.add_argument("--until", metavar="TIME")

    b.leaf(inc, "show", "one incident with notes and playbook").add_argument("id", type=_incident_id)

    def action(name: str, help_text: str) -> Parser:
        sub = b.leaf(inc, name, help_text)
        sub.add_argument("id", type=_incident_id)
        sub.add_argument("--if-version", type=int, metavar="N", help="refuse if the incident is no longer at version N")
        return sub

    action("ack", "acknowledge: someone is on it")
    p = action("classify", "set category and level (a re-grade needs --reason)")
    p.add_argument("--category", required=True, metavar="K")
    p.add_argument("--level", required=True, metavar="L")
    p.add_argument("--reason", metavar="R")
    p = action("level", "change the level (lowering it is for leads)")
    p.add_argument("--level", required=True, metavar="L")
    p.add_argument("--reason", metavar="R")
    action("assign", "make LOGIN the owner").add_argument("login")
    action("note", "add a note").add_argument("text")
    p = action("step", "tick a playbook step (or --skip it with --reason)")
    p.add_argument("key")
    p.add_argument("--skip", action="store_true")
    p.add_argument("--reason", metavar="R")
    action("cause", "mark the cause located").add_argument("--note", metavar="T")
    action("resolve", "service is back; says how").add_argument("--resolution", required=True, metavar="T")
    p = action("close", "close: resolved with a record, a false alarm, or a duplicate")
    p.add_argument("--false-alarm", action="store_true")
    p.add_argument("--reason", metavar="R")
    p.add_argument("--duplicate-of", type=_incident_id, metavar="ID")
    action("reopen", "reopen a resolved incident (a closed one opens a new, linked one)").add_argument(
        "--reason", required=True, metavar="R"
    )
    p = action("outage", "correct when the outage started")
    p.add_argument("--started", required=True, metavar="TIME")
    p.add_argument("--reason", required=True, metavar="R")

    b.leaf(inc, "deadlines", "the plan's clocks for one incident, with their state now").add_argument(
        "id", type=_incident_id
    )
    p = b.leaf(inc, "attest", "record a level III+ obligation as met (who, when, how)")
    p.add_argument("id", type=_incident_id)
    p.add_argument("obligation", help="leadership_informed, departments_notified, notices_posted, ...")
    p.add_argument(
        "--via", required=True, metavar="CHANNEL", help="phone, sms, email, web, im, in_person, meeting, notice, other"
    )
    p.add_argument("--note", metavar="T")
    p.add_argument("--who", metavar="NAME", help="the person designated (spokesperson_named)")
    p = action("regrade", "the outage passed the level's bound: confirm the next level or decline")
    way = p.add_mutually_exclusive_group(required=True)
    way.add_argument("--confirm", action="store_true")
    way.add_argument("--decline", action="store_true")
    p.add_argument("--reason", required=True, metavar="R")


def _incident_id(text: str) -> int:
    try:
        value = int(text.lstrip("#"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an incident id (a positive whole number)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an incident id (a positive whole number)")
    return value


TIME_OPTIONS = ("--outage-start", "--since", "--until", "--started", "--at")
_RELATIVE = re.compile(r"^-\d+[smhdw]$")


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
            if nxt.lstrip("#").isdigit() or (word == "audit" and nxt == "system"):
                return [*argv[: index + 1], "show", *argv[index + 1 :]]
            break
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    args_list = _rewrite_aliases(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in args_list
    try:
        args = build_parser().parse_args(args_list)
        from opsdeck.tui import commands

        return commands.run(args)
    except OpsdeckError as error:
        if debug:
            raise
        _report(str(error))
        return int(error.kind)
    except KeyboardInterrupt:
        _report("interrupted")
        return 130
    except BrokenPipeError:
        # `opsdeck incident list | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as error:  # a bug: say so plainly, traceback only with --debug
        if debug:
            raise
        _report(f"internal error: {type(error).__name__}: {error} — rerun with --debug and report it")
        return 70


def _report(message: str) -> None:
    first = message.strip().splitlines()[0] if message.strip() else "error"
    print(f"opsdeck: error: {first}", file=sys.stderr)


if __name__ == "__main__":  # `python -m opsdeck.tui.cli`: how `opsdeck serve` starts each wall
    sys.exit(main())
