"""Every CLI command, declared once beside its handler, and the registry built from them.

A group module (`cli/incident.py`, ...) declares each of its commands with `@command`:
its words, its help, the permission it needs, an example for the viewer walk, its
arguments and whether it draws. The parser, the dispatch and the permission checks
read what is declared; nothing else lists commands. `TOP` names each top-level word,
the module that declares it and its line in `opsdeck --help`, so that `--help` imports
no group module and a command imports only its own (docs/architecture.md).

The CLI refuses a writing command for a read-only session or a roster viewer before it
runs (the service layer refuses again underneath). Tests walk every writing command as
a viewer. No Textual here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from opsdeck.backend.i18n import N_

if TYPE_CHECKING:
    from opsdeck.cli.context import Context


class Writes(Enum):
    NO = "no"  # reads only (or writes only a file or store of its own)
    MEMBER = "member"  # a change by a roster member: operators and leads
    SYSTEM = "system"  # the plan's machinery (worker, ingest, escalations, schema): any non-viewer login


NO, MEMBER, SYSTEM = Writes.NO, Writes.MEMBER, Writes.SYSTEM

# What a person reads in a declaration: English marked with N_() (looked up in the
# chosen language when the parser is built), or a function giving the text then.
Text = str | Callable[[], str]


@dataclass(frozen=True)
class Arg:
    """One `add_argument(*flags, **options)`; `help` is a Text."""

    flags: tuple[str, ...]
    options: Mapping[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


@dataclass(frozen=True)
class OneOf:
    """Arguments that exclude each other (`add_mutually_exclusive_group`)."""

    args: tuple[Arg, ...]
    required: bool = False


Handler = Callable[["Context"], int]
Key = tuple[str, str | None]


@dataclass(frozen=True)
class Command:
    words: Key  # ("incident", "ack"); ("wall", None) for a top-level command
    handler: Handler
    help: Text  # "" for a top-level command: its line in TOP
    writes: Writes
    example: tuple[str, ...] = ()  # arguments after the words, for the viewer walk ("{id}": an incident)
    args: tuple[Arg | OneOf, ...] = ()
    json: bool = True  # takes --json
    draws: bool = False  # loads Textual (the dashboard, wall, serve)
    logs: bool = False  # sets up its own logging (else its log lines go to the dashboard's log file)

    @property
    def name(self) -> str:
        return " ".join(w for w in self.words if w)


DECLARED: dict[Key, Command] = {}


def command(
    word: str,
    action: str | None = None,
    help: Text = "",
    *,
    writes: Writes = NO,
    example: tuple[str, ...] = (),
    args: tuple[Arg | OneOf, ...] = (),
    json: bool = True,
    draws: bool = False,
    logs: bool = False,
) -> Callable[[Handler], Handler]:
    """Declare the command `opsdeck WORD [ACTION]` handled by the decorated function."""

    def declare(handler: Handler) -> Handler:
        key = (word, action)
        if key in DECLARED and DECLARED[key].handler is not handler:
            raise RuntimeError(f"opsdeck {word} {action or ''}: declared twice")
        DECLARED[key] = Command(key, handler, help, writes, example, args, json, draws, logs)
        return handler

    return declare


@dataclass(frozen=True)
class Top:
    modules: tuple[str, ...]  # under opsdeck.cli, imported in this order
    help: str = field(default="")  # N_()-marked


# The top-level words in `opsdeck --help` order.
TOP: dict[str, Top] = {
    "incident": Top(("incident",), N_("open, list and act on incidents")),
    "roster": Top(("directory",), N_("the emergency group")),
    "contacts": Top(("directory",), N_("people told or escalated to")),
    "systems": Top(("directory",), N_("the system catalog")),
    "audit": Top(("audit",), N_("the audit trail")),
    "wall": Top(("views",), N_("the board for a wall screen: read-only, big clock and countdowns, flashes")),
    "serve": Top(("views",), N_("the wall in a web browser (textual-serve), for wall TVs")),
    "board": Top(("views",), N_("the board as text: now, or as it stood at a past moment (--at)")),
    "calls": Top(("calls",), N_("the service desk's call log: calls about an incident, call-backs owed")),
    "report": Top(("report", "stats"), N_("the post-incident record: draft, edit, file")),
    "policy": Top(("db",), N_("playbooks and deadline rules")),
    "init": Top(("db",), N_("set up a store shared by every login of a group on this host (as root)")),
    "db": Top(("db",), N_("the store itself")),
    "escalate": Top(("runtime",), N_("escalate every breached deadline once (the worker does this continuously)")),
    "worker": Top(("runtime",), N_("run the worker: escalations, the spool, probe health (a second worker stands by)")),
    "ingest": Top(("runtime",), N_("take in probe result files from the spool (the worker's ingest duty)")),
    "notify": Top(("notify",), N_("notifications: the outbox")),
    "channels": Top(("notify",), N_("channels and notification routes")),
    "handover": Top(("views",), N_("the shift handover: open incidents by urgency, breaches, obligations, probes")),
    "probe": Top(("probe",), N_("probes and their health")),
    "receive": Top(("receive",), N_("receive alerts over HTTP from Alertmanager, Grafana, Zabbix, Icinga, scripts")),
    "sources": Top(("receive",), N_("the monitoring systems allowed to post alerts to the receiver")),
    "schedule": Top(("schedule",), N_("the duty schedule (排班): rotations, overrides, who is on duty when")),
    "templates": Top(("template",), N_("the messages notifications are written in")),
    "check": Top(("check",), N_("a Monitoring Plugins check: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN")),
    "metrics": Top(
        ("metrics",), N_("opsdeck's state as Prometheus metrics (printed, or a textfile for node_exporter)")
    ),
    "warning": Top(("warning",), N_("warnings (预警): signs before an incident, analysed and prepared for")),
    "stats": Top(("stats",), N_("incidents, response times and deadline compliance for a period")),
    "demo": Top(("views",), N_("seed a fresh temporary store with demo data and print the board")),
    "config": Top(("db",), N_("show the configuration in effect and where it came from")),
}


def group(word: str) -> list[Command]:
    """The commands under a top-level word, in declaration order (importing only their modules)."""
    for module in TOP[word].modules:
        __import__(f"opsdeck.cli.{module}")  # not importlib.import_module: -X importtime names what it loads
    return [c for key, c in DECLARED.items() if key[0] == word]


def find(word: str, action: str | None) -> Command:
    group(word)
    found = DECLARED.get((word, action))
    if found is None:
        raise KeyError(f"opsdeck {word} {action or ''}: not declared (cli/registry.py TOP names its module)")
    return found


def every_command() -> dict[Key, Command]:
    """Every command (importing every group module): for the tests' walks and the docs."""
    for word in TOP:
        group(word)
    return {key: DECLARED[key] for word in TOP for key in DECLARED if key[0] == word}


def writes(word: str, action: str | None) -> Writes:
    return find(word, action).writes
