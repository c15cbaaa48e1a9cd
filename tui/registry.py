"""Every CLI command and every key binding, and whether it writes: one registry.

The CLI refuses a writing command for a read-only session or a roster viewer before
it runs (the service layer refuses again underneath); the screens hide writing keys
from them. Tests hold both lists to the code: a command or a binding that is not
here fails them, and each writing one is walked as a viewer and must be refused.
No Textual here: the CLI imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Writes(Enum):
    NO = "no"  # reads only (or writes only a file or store of its own)
    MEMBER = "member"  # a change by a roster member: operators and leads
    SYSTEM = "system"  # the plan's machinery (worker, ingest, escalations, schema): any non-viewer login


@dataclass(frozen=True)
class Command:
    writes: Writes
    example: tuple[str, ...] = ()  # arguments after the command words, for the viewer walk ("{id}": an incident)


def _cmd(writes: Writes, *example: str) -> Command:
    return Command(writes, example)


NO, MEMBER, SYSTEM = Writes.NO, Writes.MEMBER, Writes.SYSTEM

COMMANDS: dict[tuple[str, str | None], Command] = {
    ("incident", "open"): _cmd(MEMBER, "--title", "x"),
    ("incident", "list"): _cmd(NO),
    ("incident", "show"): _cmd(NO, "{id}"),
    ("incident", "ack"): _cmd(MEMBER, "{id}"),
    ("incident", "classify"): _cmd(MEMBER, "{id}", "--category", "server_fault", "--level", "IV"),
    ("incident", "level"): _cmd(MEMBER, "{id}", "--level", "III", "--reason", "r"),
    ("incident", "assign"): _cmd(MEMBER, "{id}", "servers"),
    ("incident", "note"): _cmd(MEMBER, "{id}", "a note"),
    ("incident", "step"): _cmd(MEMBER, "{id}", "any-step"),
    ("incident", "cause"): _cmd(MEMBER, "{id}"),
    ("incident", "resolve"): _cmd(MEMBER, "{id}", "--resolution", "fixed"),
    ("incident", "close"): _cmd(MEMBER, "{id}", "--false-alarm", "--reason", "r"),
    ("incident", "reopen"): _cmd(MEMBER, "{id}", "--reason", "r"),
    ("incident", "outage"): _cmd(MEMBER, "{id}", "--started", "10:00", "--reason", "r"),
    ("incident", "deadlines"): _cmd(NO, "{id}"),
    ("incident", "attest"): _cmd(MEMBER, "{id}", "leadership_report", "--via", "phone"),
    ("incident", "regrade"): _cmd(MEMBER, "{id}", "--confirm", "--reason", "r"),
    ("roster", "import"): _cmd(MEMBER, "roster.toml"),
    ("roster", "list"): _cmd(NO),
    ("roster", "duty"): _cmd(MEMBER, "servers", "on"),
    ("contacts", "import"): _cmd(MEMBER, "contacts.toml"),
    ("contacts", "list"): _cmd(NO),
    ("systems", "import"): _cmd(MEMBER, "systems.toml"),
    ("systems", "list"): _cmd(NO),
    ("schedule", "who"): _cmd(NO),
    ("schedule", "show"): _cmd(NO),
    ("schedule", "gaps"): _cmd(NO),
    ("schedule", "import"): _cmd(MEMBER, "schedule.csv"),
    ("schedule", "export"): _cmd(NO, "--csv"),
    ("schedule", "rotation"): _cmd(
        MEMBER, "dns-week", "--duty", "dns", "--members", "dns", "--shift", "1w", "--handoff", "09:00"
    ),
    ("schedule", "override"): _cmd(MEMBER, "add", "--duty", "dns", "--login", "dns", "--to", "+8h"),
    ("schedule", "swap"): _cmd(MEMBER, "dns", "lead", "--duty", "dns", "--from", "+1h", "--to", "+2h"),
    ("audit", "show"): _cmd(NO, "{id}"),
    ("audit", "verify"): _cmd(NO),
    ("audit", "export"): _cmd(NO, "{id}"),
    ("audit", "anchor"): _cmd(NO),
    ("board", None): _cmd(NO),
    ("wall", None): _cmd(NO),
    ("serve", None): _cmd(NO),
    ("calls", "add"): _cmd(MEMBER, "{id}", "--caller", "x", "--contact", "555 0100", "--need", "n"),
    ("calls", "list"): _cmd(NO),
    ("calls", "done"): _cmd(MEMBER, "1"),
    ("report", "show"): _cmd(NO, "{id}"),
    ("report", "edit"): _cmd(MEMBER, "{id}", "--from", "{tmp}/record.md"),
    ("report", "file"): _cmd(MEMBER, "{id}", "--from", "{tmp}/record.md"),
    ("report", "month"): _cmd(NO, "2026-11"),
    ("policy", "apply"): _cmd(MEMBER, "policy.toml"),
    ("policy", "show"): _cmd(NO),
    ("db", "backup"): _cmd(NO, "backup.db"),  # reads the store, writes a copy elsewhere
    ("db", "upgrade"): _cmd(SYSTEM),
    ("db", "status"): _cmd(NO),
    ("db", "allow-as"): _cmd(MEMBER, "on"),
    ("db", "roles"): _cmd(SYSTEM, "init"),
    ("db", "check"): _cmd(NO),
    ("init", None): _cmd(SYSTEM, "--system", "--dir", "{tmp}/shared", "--group", "{group}"),
    ("escalate", None): _cmd(SYSTEM),
    ("worker", None): _cmd(SYSTEM),
    ("ingest", None): _cmd(SYSTEM, "--once"),
    ("handover", None): _cmd(NO),
    ("notify", "list"): _cmd(NO),
    ("notify", "retry"): _cmd(MEMBER, "1"),
    ("notify", "test"): _cmd(MEMBER, "ops-webhook"),
    ("channels", "apply"): _cmd(MEMBER, "channels.toml"),
    ("channels", "list"): _cmd(NO),
    ("templates", "show"): _cmd(NO),
    ("templates", "apply"): _cmd(MEMBER, "templates.toml"),
    ("templates", "preview"): _cmd(NO, "new_incident", "--channel", "sms"),
    ("warning", "add"): _cmd(MEMBER, "--kind", "external", "--title", "x"),
    ("warning", "list"): _cmd(NO),
    ("warning", "show"): _cmd(NO, "1"),
    ("warning", "note"): _cmd(MEMBER, "1", "a note"),
    ("warning", "measure"): _cmd(MEMBER, "1", "assess"),
    ("warning", "attest"): _cmd(MEMBER, "1", "leadership", "--via", "phone"),
    ("warning", "promote"): _cmd(MEMBER, "1"),
    ("warning", "close"): _cmd(MEMBER, "1", "--reason", "r"),
    ("stats", None): _cmd(NO),
    ("probe", "list"): _cmd(NO),
    ("probe", "show"): _cmd(NO, "web01-load"),
    ("probe", "silence"): _cmd(MEMBER, "web01-load", "--for", "1h", "--reason", "r"),
    ("demo", None): _cmd(NO),  # seeds a fresh temporary store of its own
    ("config", None): _cmd(NO),
    ("check", None): _cmd(NO),
    ("metrics", None): _cmd(NO),
    ("receive", None): _cmd(SYSTEM),
    ("sources", "add"): _cmd(MEMBER, "zabbix", "--kind", "json"),
    ("sources", "list"): _cmd(NO),
    ("sources", "rotate"): _cmd(MEMBER, "zabbix"),
    ("sources", "remove"): _cmd(MEMBER, "zabbix"),
}

# Binding id -> does pressing it change the store. Forms' own keys (submit, cancel) are
# reached only through a writing key, which a viewer never sees.
BINDINGS: dict[str, bool] = {
    "board.new": True,
    "board.shift": True,
    "board.filter": False,
    "board.clear_filter": False,
    "board.sort": False,
    "board.panels": False,
    "board.help": False,
    "board.history": False,
    "board.handover": False,
    "board.warnings": False,
    "board.schedule": False,
    "board.stats": False,
    "stats.back": False,
    "stats.previous": False,
    "stats.next": False,
    "stats.grouping": False,
    "stats.chart": False,
    "stats.table": False,
    "schedule.back": False,
    "schedule.previous": False,
    "schedule.next": False,
    "schedule.override": True,
    "board.quit": False,
    "board.replay": False,
    "replay.back": False,
    "replay.earlier": False,
    "replay.later": False,
    "replay.time": False,
    "history.back": False,
    "handover.back": False,
    "warnings.back": False,
    "warnings.raise": True,
    "warning.back": False,
    "warning.tick": True,
    "warning.analysis": True,
    "warning.note": True,
    "warning.attest": True,
    "warning.promote": True,
    "warning.close": True,
    "help.close": False,
    "detail.back": False,
    "record.back": False,
    "record.file": True,
    "incident.record": False,
    "detail.tick": True,
    "detail.skip": True,
    "detail.step_down": False,
    "detail.step_up": False,
    "detail.page_down": False,
    "detail.page_up": False,
    "detail.top": False,
    "detail.bottom": False,
    "app.help": False,
    "list.up": False,
    "list.down": False,
    "list.top": False,
    "list.bottom": False,
    "list.page_up": False,
    "list.page_down": False,
    "list.open": False,
    "list.mark": False,
    "form.submit": True,
    "form.cancel": False,
    "form.editor": False,
    **{f"form.category{n}": False for n in range(1, 9)},
    **{
        f"incident.{name}": True
        for name in (
            "ack",
            "classify",
            "level",
            "assign",
            "note",
            "cause",
            "outage",
            "attest",
            "regrade",
            "resolve",
            "close",
            "reopen",
            "call",
        )
    },
}


def writes(command: str, action: str | None) -> Writes:
    """How a command writes; a command missing here is refused (tests keep the list whole)."""
    entry = COMMANDS.get((command, action))
    if entry is None:
        raise KeyError(f"opsdeck {command} {action or ''}: not in tui/registry.py COMMANDS")
    return entry.writes
