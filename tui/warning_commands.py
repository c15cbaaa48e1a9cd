"""`opsdeck warning add|list|show|note|measure|attest|promote|close`: warnings (预警).

Declared here in one block (arguments and handlers); `cli.build_parser` and
`commands.HANDLERS` take them from this module. Importing it stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsdeck.backend.i18n import _
from opsdeck.tui.argtypes import warning_id as _warning_id

if TYPE_CHECKING:
    from opsdeck.tui.cli_context import Context


def add_parsers(b: Any, top: Any) -> None:
    """The commands' arguments (`b` is cli._Builder, `top` the subcommands)."""
    group = b.group(top, "warning", _("warnings (预警): signs before an incident, analysed and prepared for"))
    p = b.leaf(group, "add", _("raise a warning; prints its id (W and a number)"))
    p.add_argument("--kind", required=True, metavar="K", help=_("external (outside our systems) or internal"))
    p.add_argument("--title", required=True)
    p.add_argument("--source", default="", metavar="TEXT", help=_("where it came from: a bulletin, a probe, an alert"))
    p.add_argument("--known", default="", metavar="TEXT", help=_("what is known"))
    p.add_argument(
        "--system", action="append", default=[], metavar="NAME", help=_("a system it may affect (repeatable)")
    )
    p.add_argument("--serious", action="store_true", help=_("serious: leadership must be told the same day"))
    p = b.leaf(group, "list", _("list warnings (open ones by default)"))
    p.add_argument("--status", default="open", metavar="S", help=_("open (the default), promoted, passed or all"))
    b.leaf(group, "show", _("one warning: measures, who was told, clocks, audit trail")).add_argument(
        "id", type=_warning_id
    )
    p = b.leaf(group, "note", _("add a note to a warning (--analysis: it is the analysis)"))
    p.add_argument("id", type=_warning_id)
    p.add_argument("text")
    p.add_argument("--analysis", action="store_true", help=_("the group's analysis: meets the analysis clock"))
    p = b.leaf(group, "measure", _("tick a preparatory measure done (--undo: not done)"))
    p.add_argument("id", type=_warning_id)
    p.add_argument("key")
    p.add_argument("--undo", action="store_true")
    p = b.leaf(group, "attest", _("record who was told: a department to prepare, or leadership"))
    p.add_argument("id", type=_warning_id)
    p.add_argument("told", choices=("department", "leadership"))
    p.add_argument("--via", required=True, metavar="CHANNEL", help=_("phone, sms, email, im, meeting, notice..."))
    p.add_argument("--who", metavar="NAME", help=_("the department (required for department)"))
    p.add_argument("--note", metavar="T")
    p = b.leaf(group, "promote", _("it became an incident: open it (its clocks start now); prints the incident id"))
    p.add_argument("id", type=_warning_id)
    p.add_argument("--category", metavar="K")
    p.add_argument("--level", metavar="L")
    p.add_argument("--reason", metavar="R")
    p.add_argument("--system", metavar="NAME", help=_("the incident's system (default: the first it may affect)"))
    p = b.leaf(group, "close", _("close a warning as passed: nothing came of it"))
    p.add_argument("id", type=_warning_id)
    p.add_argument("--reason", required=True, metavar="R")


def _warnings(ctx: Context) -> Any:
    from opsdeck.backend.early_warning import Warnings

    return Warnings(ctx.service)


def _show_json(ctx: Context, warning_id: int) -> None:
    from opsdeck.backend import early_warning
    from opsdeck.tui.cli_context import emit_json

    with ctx.store.read() as session:
        emit_json(early_warning.detail(session, warning_id, ctx.zone, ctx.store.clock()))


def warning_add(ctx: Context) -> int:
    a = ctx.args
    row = _warnings(ctx).add(a.kind, a.title, source=a.source, known=a.known, systems=a.system, serious=a.serious)
    if a.json:
        _show_json(ctx, row.id)
    else:
        print(row.id)
    return 0


def _kind(kind: str) -> str:
    return str({"external": _("external"), "internal": _("internal")}.get(kind, kind))


def _status(status: str) -> str:
    return str({"open": _("open"), "promoted": _("promoted"), "passed": _("passed")}.get(status, status))


def _local(ctx: Context, value: str | None) -> str:
    from opsdeck.backend.timeutil import format_local

    if not value:
        return "-"
    return str(format_local(datetime.fromisoformat(value.replace("Z", "+00:00")), ctx.zone))


def warning_list(ctx: Context) -> int:
    from opsdeck.backend import early_warning
    from opsdeck.backend.cells import fit
    from opsdeck.backend.sanitize import clean
    from opsdeck.tui.cli_context import _width, emit_json

    with ctx.store.read() as session:
        rows = early_warning.list_warnings(session, ctx.args.status)
    if ctx.args.json:
        emit_json(rows)
        return 0
    title_width = max(10, _width() - (6 + 9 + 10 + 12 + 17))
    print(f"{fit(_('ID'), 6)} {fit(_('KIND'), 9)} {fit(_('STATUS'), 10)} {fit(_('TITLE'), title_width)} {_('RAISED')}")
    for r in rows:
        title = ("! " if r["serious"] else "") + clean(r["title"])
        if r["incident_id"]:
            title += f" -> #{r['incident_id']}"
        print(
            f"{fit('W' + str(r['id']), 6)} {fit(_kind(r['kind']), 9)} {fit(_status(r['status']), 10)} "
            f"{fit(title, title_width)} {_local(ctx, r['raised_at'])}"
        )
    if not rows:
        print(_("(no warnings match)"))
    return 0


def warning_show(ctx: Context) -> int:
    from opsdeck.backend import early_warning
    from opsdeck.backend.i18n import pick
    from opsdeck.backend.sanitize import clean
    from opsdeck.tui.cli_context import _ljust, emit_json

    with ctx.store.read() as session:
        data = early_warning.detail(session, ctx.args.id, ctx.zone, ctx.store.clock())
    if ctx.args.json:
        emit_json(data)
        return 0
    print(f"W{data['id']} {clean(data['title'])}")
    fields: list[tuple[str, str]] = [
        (_("kind"), _kind(data["kind"])),
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
        print(f"  {_ljust(label, 16)} {value}")
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
        line = f"  {_ljust(names.get(c['key'], c['key']), 26)} {_local(ctx, c['due_at'])}  {c['state']}  {escalated}"
        print(line.rstrip())
    if data["notes"]:
        print("\n" + _("notes:"))
        for n in data["notes"]:
            print(f"  {_local(ctx, n['at'])} {clean(n['author'])}: {clean(n['text'])}")
    return 0


def warning_note(ctx: Context) -> int:
    _warnings(ctx).note(ctx.args.id, ctx.args.text, analysis=ctx.args.analysis)
    return _done(ctx, ctx.args.id, _("analysis recorded") if ctx.args.analysis else _("note added"))


def warning_measure(ctx: Context) -> int:
    _warnings(ctx).measure(ctx.args.id, ctx.args.key, undo=ctx.args.undo)
    return _done(ctx, ctx.args.id, _("measure not done") if ctx.args.undo else _("measure done"))


def warning_attest(ctx: Context) -> int:
    a = ctx.args
    _warnings(ctx).attest(a.id, a.told, via=a.via, who=a.who, note=a.note)
    return _done(ctx, a.id, _("told recorded"))


def warning_promote(ctx: Context) -> int:
    a = ctx.args
    _row, incident = _warnings(ctx).promote(a.id, category=a.category, level=a.level, reason=a.reason, system=a.system)
    if a.json:
        from opsdeck.backend import queries
        from opsdeck.tui.cli_context import emit_json

        with ctx.store.read() as session:
            emit_json(queries.get_incident(session, incident.id))
    else:
        print(incident.id)
    return 0


def warning_close(ctx: Context) -> int:
    _warnings(ctx).close(ctx.args.id, reason=ctx.args.reason)
    return _done(ctx, ctx.args.id, _("closed as passed"))


def _done(ctx: Context, warning_id: int, said: str) -> int:
    if ctx.args.json:
        _show_json(ctx, warning_id)
        return 0
    from opsdeck.backend.models import WarningRecord

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


def open_warning_lines(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The handover's lines for the open warnings (none: no lines), with a style each."""
    from opsdeck.backend.sanitize import clean
    from opsdeck.backend.timeutil import format_countdown

    if not rows:
        return []
    names = {"analysed": _("analysis due"), "leadership_told": _("leadership due")}
    lines = [("", ""), (_("Open warnings ({count}):").format(count=len(rows)), "bold")]
    for r in rows:
        due = r["next_clock"]
        when = f"{format_countdown(due['remaining_s']).strip()} {names.get(due['key'], due['key'])}" if due else "-"
        measures = _("measures {done}/{total}").format(done=r["measures_done"], total=r["measures_total"])
        title = ("! " if r["serious"] else "") + clean(r["title"])
        style = "bold red" if due and due["state"] == "breached" else ""
        lines.append((f"  W{r['id']:<5} {_kind(r['kind'])} {when}  {measures}  {title}", style))
    return lines


def shift_warning_lines(data: dict[str, Any], local: Callable[[str | None], str]) -> list[tuple[str, str]]:
    """The handover's lines for the warnings escalated and ended during the shift."""
    from opsdeck.backend.sanitize import clean

    lines: list[tuple[str, str]] = []
    breaches, ended = data.get("warning_breaches_since", []), data.get("warnings_ended_since", [])
    if breaches:
        lines += [("", ""), (_("Warning clocks escalated since ({count}):").format(count=len(breaches)), "bold")]
        for b in breaches:
            to = ", ".join(b["to"]) or _("nobody")
            said = _("{clock} escalated {at} to {to}").format(clock=b["clock"], at=local(b["escalated_at"]), to=to)
            lines.append((f"  W{b['warning_id']:<5} {said}  {clean(b['title'])}", "bold red"))
    if ended:
        lines += [("", ""), (_("Warnings ended since ({count}):").format(count=len(ended)), "bold")]
        for w in ended:
            if w["status"] == "promoted":
                how = _("promoted to incident #{id}").format(id=w["incident_id"])
            else:
                how = _("passed: {reason}").format(reason=clean(w["reason"] or ""))
            lines.append((f"  W{w['id']:<5} {local(w['closed_at'])} {clean(w['title'])}: {how}", ""))
    return lines


def print_open_warnings(ctx: Context, data: dict[str, Any]) -> None:
    for line, _style in open_warning_lines(data["open_warnings"]):
        print(line)
    for line, _style in shift_warning_lines(data, lambda value: _local(ctx, value)):
        print(line)


HANDLERS: dict[tuple[str, str | None], Callable[[Context], int]] = {
    ("warning", "add"): warning_add,
    ("warning", "list"): warning_list,
    ("warning", "show"): warning_show,
    ("warning", "note"): warning_note,
    ("warning", "measure"): warning_measure,
    ("warning", "attest"): warning_attest,
    ("warning", "promote"): warning_promote,
    ("warning", "close"): warning_close,
}

__all__ = ["HANDLERS", "add_parsers"]
