"""`opsdeck warning add|list|show|note|measure|attest|promote|close`: warnings (预警)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsdeck.backend import early_warning
from opsdeck.backend.cells import fit
from opsdeck.backend.early_warning import Warnings
from opsdeck.backend.handover import Handover
from opsdeck.backend.handover_lines import kind_name, open_warning_lines, shift_warning_lines
from opsdeck.backend.i18n import N_, _, pick
from opsdeck.backend.models import WarningRecord
from opsdeck.backend.sanitize import clean
from opsdeck.backend.timeutil import format_local
from opsdeck.cli.argtypes import warning_id
from opsdeck.cli.output import emit_json, ljust, opened, term_width
from opsdeck.cli.registry import MEMBER, arg, command

if TYPE_CHECKING:
    from opsdeck.cli.context import Context

WARNING_ID = arg("id", type=warning_id)


def _warnings(ctx: Context) -> Any:
    return Warnings(ctx.service)


def _show_json(ctx: Context, warning_id: int) -> None:
    with ctx.store.read() as session:
        emit_json(early_warning.detail(session, warning_id, ctx.zone, ctx.store.clock()))


@command(
    "warning",
    "add",
    N_("raise a warning; prints its id (W and a number)"),
    writes=MEMBER,
    example=("--kind", "external", "--title", "x"),
    args=(
        arg("--kind", required=True, metavar="K", help=N_("external (outside our systems) or internal")),
        arg("--title", required=True),
        arg("--source", default="", metavar="TEXT", help=N_("where it came from: a bulletin, a probe, an alert")),
        arg("--known", default="", metavar="TEXT", help=N_("what is known")),
        arg("--system", action="append", default=[], metavar="NAME", help=N_("a system it may affect (repeatable)")),
        arg("--serious", action="store_true", help=N_("serious: leadership must be told the same day")),
    ),
)
def warning_add(ctx: Context) -> int:
    a = ctx.args
    row = _warnings(ctx).add(a.kind, a.title, source=a.source, known=a.known, systems=a.system, serious=a.serious)
    if a.json:
        _show_json(ctx, row.id)
    else:
        print(row.id)
    return 0


def _status(status: str) -> str:
    return str({"open": _("open"), "promoted": _("promoted"), "passed": _("passed")}.get(status, status))


def _local(ctx: Context, value: str | None) -> str:
    if not value:
        return "-"
    return str(format_local(datetime.fromisoformat(value.replace("Z", "+00:00")), ctx.zone))


@command(
    "warning",
    "list",
    N_("list warnings (open ones by default)"),
    args=(arg("--status", default="open", metavar="S", help=N_("open (the default), promoted, passed or all")),),
)
def warning_list(ctx: Context) -> int:
    with ctx.store.read() as session:
        rows = early_warning.list_warnings(session, ctx.args.status)
    if ctx.args.json:
        emit_json(rows)
        return 0
    title_width = max(10, term_width() - (6 + 9 + 10 + 12 + 17))
    print(f"{fit(_('ID'), 6)} {fit(_('KIND'), 9)} {fit(_('STATUS'), 10)} {fit(_('TITLE'), title_width)} {_('RAISED')}")
    for r in rows:
        title = ("! " if r["serious"] else "") + clean(r["title"])
        if r["incident_id"]:
            title += f" -> #{r['incident_id']}"
        print(
            f"{fit('W' + str(r['id']), 6)} {fit(kind_name(r['kind']), 9)} {fit(_status(r['status']), 10)} "
            f"{fit(title, title_width)} {_local(ctx, r['raised_at'])}"
        )
    if not rows:
        print(_("(no warnings match)"))
    return 0


@command(
    "warning",
    "show",
    N_("one warning: measures, who was told, clocks, audit trail"),
    example=("1",),
    args=(WARNING_ID,),
)
def warning_show(ctx: Context) -> int:
    with ctx.store.read() as session:
        data = early_warning.detail(session, ctx.args.id, ctx.zone, ctx.store.clock())
    if ctx.args.json:
        emit_json(data)
        return 0
    print(f"W{data['id']} {clean(data['title'])}")
    fields: list[tuple[str, str]] = [
        (_("kind"), kind_name(data["kind"])),
        (_("status"), _status(data["status"])),
        (_("serious"), _("yes") if data["serious"] else _("no")),
        (_("source"), clean(data["source"]) or "-"),
        (_("systems"), clean(", ".join(data["systems"])) or "-"),
        (_("raised"), f"{_local(ctx, data['raised_at'])} {clean(data['raised_by'])}"),
        (_("analysed"), _local(ctx, data["analysed_at"])),
        (_("leadership told"), _("yes") if data["leadership_told"] else _("no")),
    ]
    if data["incident_id"]:
        fields.append((_("incident"), f"#{data['incident_id']}"))
    if data["status"] == "passed":
        fields.append((_("passed"), f"{_local(ctx, data['closed_at'])} {clean(data['close_reason'] or '')}"))
    for label, value in fields:
        print(f"  {ljust(label, 16)} {value}")
    if data["known"]:
        print("\n" + clean(data["known"], one_line=False))
    if data["analysis"]:
        print("\n" + _("analysis: {text}").format(text=clean(data["analysis"], one_line=False)))
    if data["measures"]:
        print("\n" + _("measures:"))
        for m in data["measures"]:
            mark = "[x]" if m["done"] else "[ ]"
            by = f" ({clean(m['done_by'] or '')} {_local(ctx, m['done_at'])})" if m["done"] else ""
            print(f"  {mark} {m['key']}: {clean(pick(m['title'], m['title_zh']))}{by}")
    if data["told"]:
        print("\n" + _("told:"))
        for t in data["told"]:
            whom = _("leadership") if t["told"] == "leadership" else clean(t["who"])
            print(f"  {_local(ctx, t['at'])} {whom} ({t['via']}, {clean(t['by'])}) {clean(t['note'])}".rstrip())
    print("\n" + _("clocks:"))
    names = {"analysed": _("analysed"), "leadership_told": _("leadership told (serious)")}
    for c in data["clocks"]:
        escalated = _("escalated {at}").format(at=_local(ctx, c["escalated_at"])) if c.get("escalated_at") else ""
        line = f"  {ljust(names.get(c['key'], c['key']), 26)} {_local(ctx, c['due_at'])}  {c['state']}  {escalated}"
        print(line.rstrip())
    if data["notes"]:
        print("\n" + _("notes:"))
        for n in data["notes"]:
            print(f"  {_local(ctx, n['at'])} {clean(n['author'])}: {clean(n['text'])}")
    return 0


@command(
    "warning",
    "note",
    N_("add a note to a warning (--analysis: it is the analysis)"),
    writes=MEMBER,
    example=("1", "a note"),
    args=(
        WARNING_ID,
        arg("text"),
        arg("--analysis", action="store_true", help=N_("the group's analysis: meets the analysis clock")),
    ),
)
def warning_note(ctx: Context) -> int:
    _warnings(ctx).note(ctx.args.id, ctx.args.text, analysis=ctx.args.analysis)
    return _done(ctx, ctx.args.id, _("analysis recorded") if ctx.args.analysis else _("note added"))


@command(
    "warning",
    "measure",
    N_("tick a preparatory measure done (--undo: not done)"),
    writes=MEMBER,
    example=("1", "assess"),
    args=(WARNING_ID, arg("key"), arg("--undo", action="store_true")),
)
def warning_measure(ctx: Context) -> int:
    _warnings(ctx).measure(ctx.args.id, ctx.args.key, undo=ctx.args.undo)
    return _done(ctx, ctx.args.id, _("measure not done") if ctx.args.undo else _("measure done"))


@command(
    "warning",
    "attest",
    N_("record who was told: a department to prepare, or leadership"),
    writes=MEMBER,
    example=("1", "leadership", "--via", "phone"),
    args=(
        WARNING_ID,
        arg("told", choices=("department", "leadership")),
        arg("--via", required=True, metavar="CHANNEL", help=N_("phone, sms, email, im, meeting, notice...")),
        arg("--who", metavar="NAME", help=N_("the department (required for department)")),
        arg("--note", metavar="T"),
    ),
)
def warning_attest(ctx: Context) -> int:
    a = ctx.args
    _warnings(ctx).attest(a.id, a.told, via=a.via, who=a.who, note=a.note)
    return _done(ctx, a.id, _("told recorded"))


@command(
    "warning",
    "promote",
    N_("it became an incident: open it (its clocks start now); prints the incident id"),
    writes=MEMBER,
    example=("1",),
    args=(
        WARNING_ID,
        arg("--category", metavar="K"),
        arg("--level", metavar="L"),
        arg("--reason", metavar="R"),
        arg("--system", metavar="NAME", help=N_("the incident's system (default: the first it may affect)")),
    ),
)
def warning_promote(ctx: Context) -> int:
    a = ctx.args
    _row, incident = _warnings(ctx).promote(a.id, category=a.category, level=a.level, reason=a.reason, system=a.system)
    return opened(ctx, incident.id)


@command(
    "warning",
    "close",
    N_("close a warning as passed: nothing came of it"),
    writes=MEMBER,
    example=("1", "--reason", "r"),
    args=(WARNING_ID, arg("--reason", required=True, metavar="R")),
)
def warning_close(ctx: Context) -> int:
    _warnings(ctx).close(ctx.args.id, reason=ctx.args.reason)
    return _done(ctx, ctx.args.id, _("closed as passed"))


def _done(ctx: Context, warning_id: int, said: str) -> int:
    if ctx.args.json:
        _show_json(ctx, warning_id)
        return 0

    with ctx.store.read() as session:
        row = session.get(WarningRecord, warning_id)
        assert row is not None  # the action just wrote it
        version, status = row.version, row.status
    print(
        _("W{id} {summary} (version {version}, {status})").format(
            id=warning_id, summary=said, version=version, status=_status(status)
        )
    )
    return 0


def print_open_warnings(ctx: Context, data: Handover) -> None:
    for line, _style in open_warning_lines(data["open_warnings"]):
        print(line)
    for line, _style in shift_warning_lines(data, lambda value: _local(ctx, value)):
        print(line)
