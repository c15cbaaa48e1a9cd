"""The service desk's call log: `calls add|list|done`."""

from __future__ import annotations

from datetime import datetime

from opsdeck.backend import queries
from opsdeck.backend.calls import calls
from opsdeck.backend.cells import fit
from opsdeck.backend.i18n import N_, _
from opsdeck.backend.sanitize import clean
from opsdeck.backend.timeutil import (
    format_local,
)
from opsdeck.cli.argtypes import incident_id
from opsdeck.cli.context import Context
from opsdeck.cli.output import emit_json
from opsdeck.cli.registry import MEMBER, arg, command


@command(
    "calls",
    "add",
    N_("log a call about incident ID (as it comes in, or later from the paper log: --at)"),
    writes=MEMBER,
    example=("{id}", "--caller", "x", "--contact", "555 0100", "--need", "n"),
    args=(
        arg("id", type=incident_id),
        arg("--caller", required=True, metavar="NAME"),
        arg("--contact", required=True, metavar="PHONE|EMAIL", help=N_("personal data: shown masked")),
        arg("--need", required=True, metavar="TEXT", help=N_("what the caller needed")),
        arg("--callback", action="store_true", help=N_("a call-back is owed after recovery")),
        arg("--at", metavar="TIME", help=N_("when the call came in (09:40, -20m, ...); default now")),
    ),
)
def calls_add(ctx: Context) -> int:
    a = ctx.args
    call = ctx.service.add_call(
        a.id, caller=a.caller, contact=a.contact, need=a.need, callback=a.callback, at=ctx.time(a.at, "--at")
    )
    if a.json:
        emit_json({"id": call.id, "incident_id": a.id, "callback": call.callback})
    else:
        said = _("call {call} logged on #{id}: a call-back is owed") if a.callback else _("call {call} logged on #{id}")
        print(said.format(call=call.id, id=a.id))
    return 0


@command(
    "calls",
    "list",
    N_("the calls (of incident ID), contacts masked"),
    args=(
        arg("id", nargs="?", type=incident_id),
        arg("--owed", action="store_true", help=N_("only call-backs still owed: the worklist after recovery")),
        arg("--unmask", action="store_true", help=N_("show contacts whole (roster members; audited)")),
    ),
)
def calls_list(ctx: Context) -> int:
    a = ctx.args
    if a.unmask:
        ctx.service.unmask_calls(a.id)  # refused for viewers; audited for members
    with ctx.store.read() as session:
        if a.id is not None:
            queries.get_incident(session, a.id)  # 4 if there is no such incident
        rows = calls(session, a.id, owed=a.owed, unmask=a.unmask)
    if a.json:
        emit_json(rows)
        return 0
    if not rows:
        print(_("no call-backs owed") if a.owed else _("no calls logged"))
        return 0
    for r in rows:
        at = format_local(datetime.fromisoformat(r["at"].replace("Z", "+00:00")), ctx.zone)
        if r["called_back_at"]:
            state = _("called back by {login}").format(login=r["called_back_by"])
        elif r["callback"]:
            state = _("CALL BACK") if r["incident_status"] in ("resolved", "closed") else _("call back (still down)")
        else:
            state = "-"
        print(
            f"{r['id']:>5} #{r['incident_id']:<5} {at} {fit(r['caller'], 18)} {fit(r['contact'], 18)} "
            f"{fit(state, 22)} {clean(r['need'])[:60]}"
        )
    return 0


@command(
    "calls",
    "done",
    N_("the call-back owed on call CALL is made"),
    writes=MEMBER,
    example=("1",),
    args=(arg("call", type=incident_id, metavar="CALL"), arg("--note", metavar="T")),
)
def calls_done(ctx: Context) -> int:
    call = ctx.service.called_back(ctx.args.call, note=ctx.args.note)
    if ctx.args.json:
        emit_json({"id": call.id, "incident_id": call.incident_id, "called_back_by": call.called_back_by})
    else:
        print(_("call {call} (#{id}): called back").format(call=call.id, id=call.incident_id))
    return 0
