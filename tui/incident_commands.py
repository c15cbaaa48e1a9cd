"""`opsdeck incident ...`: open, list, show, the clocks and every action on one incident."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from opsdeck.backend import queries, words
from opsdeck.backend.board_text import render_board
from opsdeck.backend.cells import fit
from opsdeck.backend.domain import Category, Level, parse_enum
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import _, pick
from opsdeck.backend.sanitize import clean
from opsdeck.backend.timeutil import (
    format_age,
    format_countdown,
    format_local,
)
from opsdeck.tui.cli_context import Context, _ljust, _width, emit_json, emit_json_array


def _print_board(ctx: Context, title: str = "") -> None:
    with ctx.store.read() as session:
        sys.stdout.write(render_board(session, ctx.store.clock(), ctx.zone, width=_width(), title=title))


def _incident_out(ctx: Context, incident_id: int, summary: str) -> int:
    with ctx.store.read() as session:
        data = queries.get_incident(session, incident_id)
    if ctx.args.json:
        emit_json(data)
    else:
        print(
            _("#{id} {summary} (version {version}, {status})").format(
                id=incident_id, summary=summary, version=data["version"], status=words.status(data["status"])
            )
        )
    return 0


def incident_open(ctx: Context) -> int:
    a = ctx.args
    incident = ctx.service.open(
        a.title,
        description=a.description,
        system=a.system,
        category=a.category,
        level=a.level,
        reason=a.reason,
        outage_start=ctx.time(a.outage_start, "--outage-start"),
    )
    assert incident.id is not None
    if a.json:
        with ctx.store.read() as session:
            emit_json(queries.get_incident(session, incident.id))
    else:
        print(incident.id)
    return 0


def incident_list(ctx: Context) -> int:
    a = ctx.args
    if a.status not in queries.STATUS_FILTERS:
        raise InvalidInput(
            "bad_status",
            _("{status!r} is not a status filter").format(status=a.status),
            _("use one of {choices}").format(choices=", ".join(queries.STATUS_FILTERS)),
        )
    try:
        level = Level.parse(a.level).value if a.level else None
        category = parse_enum(Category, a.category, "category").value if a.category else None
    except ValueError as error:
        raise InvalidInput("bad_filter", str(error), _("fix the filter")) from None
    filt = queries.IncidentFilter(
        status=a.status,
        level=level,
        category=category,
        system=a.system,
        owner=a.owner,
        since=ctx.time(a.since, "--since"),
        until=ctx.time(a.until, "--until"),
        grep=a.grep,
    )
    with ctx.store.read() as session:
        rows = queries.iter_incidents(session, filt)
        if a.json:
            emit_json_array(rows)
        else:
            _print_incident_table(rows, ctx)
    return 0


def _print_incident_table(rows: Iterable[dict[str, Any]], ctx: Context) -> None:
    width = _width()
    title_width = max(10, width - (6 + 4 + 17 + 10 + 13 + 17 + 6))
    print(
        f"{fit(_('ID'), 6)} {fit(_('LVL'), 4)} {fit(_('CATEGORY'), 17)} {fit(_('TITLE'), title_width)} "
        f"{fit(_('OWNER'), 10)} {fit(_('STATUS'), 13)} {_('REPORTED')}"
    )
    count = 0
    for row in rows:
        count += 1
        reported = datetime.fromisoformat(row["reported_at"].replace("Z", "+00:00"))
        print(
            f"{fit(str(row['id']), 6)} {fit(row['level'] or '-', 4)} {fit(words.category(row['category']), 17)} "
            f"{fit(clean(row['title']), title_width)} {fit(clean(row['owner'] or '-'), 10)} "
            f"{fit(words.status(row['status']), 13)} {reported.astimezone(ctx.zone).strftime('%m-%d %H:%M')}"
        )
    if count == 0:
        print(_("(no incidents match)"))


def incident_show(ctx: Context) -> int:
    with ctx.store.read() as session:
        data = queries.incident_detail(session, ctx.args.id)
        data["deadlines"] = queries.incident_deadlines(session, ctx.args.id, ctx.store.clock())
        data["next_deadline"] = queries.next_deadline(data["deadlines"])
        data["obligations"] = queries.obligations(session, ctx.args.id)
    if ctx.args.json:
        emit_json(data)
        return 0
    z = ctx.zone
    shown = {"status": words.status(data["status"]), "category": words.category(data["category"])}
    print(f"#{data['id']} {clean(data['title'])}")
    for key in ("status", "category", "level", "owner", "reporter", "system", "version"):
        value = shown.get(key, data[key])
        print(f"  {_ljust(words.incident_field(key), 18)} {clean(str(value if value is not None else '-'))}")
    if data.get("warning_id"):  # promoted from a warning (docs/plan.md#warnings)
        print(f"  {_ljust(_('from warning'), 18)} W{data['warning_id']}")
    for key in queries.TIMESTAMPS:
        if data[key]:
            at = format_local(datetime.fromisoformat(data[key].replace("Z", "+00:00")), z)
            print(f"  {_ljust(words.incident_field(key), 18)} {at}")
    if data["description"]:
        print("\n" + clean(data["description"], one_line=False))
    if data["resolution"]:
        print("\n" + _("resolution: {text}").format(text=clean(data["resolution"], one_line=False)))
    if data["playbook"]:
        print("\n" + _("playbook:"))
        for step in data["playbook"]:
            mark = {"done": "[x]", "skipped": "[-]"}.get(step["state"], "[ ]")
            title = clean(pick(step["title"], step["title_zh"]))
            print(f"  {mark} {step['key']}: {title}{_step_by(step)}")
    if data["deadlines"]:
        print("\n" + _("deadlines:"))
        _print_deadlines(data["deadlines"])
    if data["obligations"]:
        print("\n" + _("obligations (level III and above):"))
        for item in data["obligations"]:
            done = item["attested"][-1] if item["attested"] else None
            mark = "[x]" if done else "[ ]"
            print(f"  {mark} {item['key']}: {pick(item['en'], item['zh'])}{_attested(done)}")
    if data["notes"]:
        print("\n" + _("notes:"))
        for note in data["notes"]:
            print(f"  {note['at']} {clean(note['author'])}: {clean(note['text'])}")
    return 0


def _step_by(step: dict[str, Any]) -> str:
    """`  (done by lead: why)` after a ticked or skipped playbook step."""
    if not step["by"]:
        return ""
    state = {"done": _("done"), "skipped": _("skipped")}.get(step["state"], step["state"])
    if step["reason"]:
        text = _("({state} by {by}: {reason})").format(state=state, by=clean(step["by"]), reason=clean(step["reason"]))
    else:
        text = _("({state} by {by})").format(state=state, by=clean(step["by"]))
    return "  " + text


def _attested(done: dict[str, Any] | None) -> str:
    """`  (lead via phone at TIME: who or note)` after an attested obligation."""
    if done is None:
        return ""
    detail = done["who"] or done["note"]
    if detail:
        text = _("({by} via {via} at {at}: {detail})").format(
            by=clean(done["by"]), via=done["via"], at=done["at"], detail=clean(detail)
        )
    else:
        text = _("({by} via {via} at {at})").format(by=clean(done["by"]), via=done["via"], at=done["at"])
    return "  " + text


STATE_MARK = {
    "pending": "  ",
    "warning": "! ",
    "breached": "!!",
    "met": "ok",
    "met_late": "ok",
    "waived": "--",
    "superseded": "--",
}


def _print_deadlines(items: list[dict[str, Any]]) -> None:
    """The newest clock of each rule, and older ones only if they were late."""
    newest = {d["key"]: d for d in sorted(items, key=lambda d: d["clock_start"])}
    shown = [d for d in items if newest[d["key"]] is d or d["state"] in ("breached", "met_late")]
    for d in shown:
        if d["state"] in ("met", "met_late"):
            when = _("met") if d["state"] == "met" else _("met {age} late").format(age=format_age(d["late_s"] or 0))
        elif d["state"] == "waived":
            when = _("closed before due, by {by}").format(by=d["waived_by"] or "-")
        elif d["state"] == "superseded":
            when = _("replaced before due")
        elif d["superseded_at"]:
            when = _("overdue {time} when replaced").format(time=format_countdown(d["remaining_s"]).strip().lstrip("-"))
        else:
            left = format_countdown(d["remaining_s"]).strip()
            when = (_("立即 / at once ") if d["immediate"] else "") + (
                _("overdue {time}").format(time=left.lstrip("-"))
                if d["state"] == "breached"
                else _("in {time}").format(time=left)
            )
        level = (
            _(" (level {level} due)").format(level=d["next_level"])
            if d["next_level"] and d["state"] == "breached"
            else ""
        )
        targets = ", ".join(t["to"] for t in d["escalated_to"])
        escalated = _("; escalated to {targets}").format(targets=targets) if d["escalated_to"] else ""
        state = fit(words.clock_state(d["state"]), 9)
        print(f"  {STATE_MARK[d['state']]} {fit(d['key'], 20)} {state} {when}{level}{escalated}")


def incident_deadlines(ctx: Context) -> int:
    with ctx.store.read() as session:
        items = queries.incident_deadlines(session, ctx.args.id, ctx.store.clock())
    if ctx.args.json:
        emit_json(items)
    elif items:
        _print_deadlines(items)
    else:
        print(_("#{id} has no clocks running").format(id=ctx.args.id))
    return 0


def incident_attest(ctx: Context) -> int:
    a = ctx.args
    ctx.service.attest(a.id, a.obligation, via=a.via, note=a.note, who=a.who, expected_version=a.if_version)
    return _incident_out(ctx, a.id, _("{obligation} attested").format(obligation=a.obligation))


def _action(summary: Callable[[], str], call: Callable[[Context], Any]) -> Callable[[Context], int]:
    """`summary` is looked up when the command runs, in the language chosen by then."""

    def handler(ctx: Context) -> int:
        result = call(ctx)
        incident_id = getattr(result, "id", None) or ctx.args.id
        said = summary() if incident_id == ctx.args.id else _("reopened as #{id}").format(id=incident_id)
        return _incident_out(ctx, incident_id, said)

    return handler


def _v(ctx: Context) -> int | None:
    return ctx.args.if_version  # type: ignore[no-any-return]


def _close(ctx: Context) -> Any:
    a = ctx.args
    if a.false_alarm and not a.reason:
        raise InvalidInput("missing_reason", _("--false-alarm needs --reason"), _("say why it was a false alarm"))
    if a.reason and not a.false_alarm:
        raise InvalidInput(
            "stray_reason", _("--reason goes with --false-alarm"), _("add --false-alarm or drop --reason")
        )
    return ctx.service.close(
        a.id,
        false_alarm_reason=a.reason if a.false_alarm else None,
        duplicate_of=a.duplicate_of,
        zone=ctx.zone,
        expected_version=_v(ctx),
    )


def _step(ctx: Context) -> Any:
    a = ctx.args
    if a.skip and not a.reason:
        raise InvalidInput("missing_reason", _("--skip needs --reason"), _("say why the step is skipped"))
    ctx.service.step(a.id, a.key, skip=a.skip, reason=a.reason, expected_version=a.if_version)
    return None


def _outage(ctx: Context) -> Any:
    started = ctx.time(ctx.args.started, "--started")
    assert started is not None
    return ctx.service.outage(ctx.args.id, started=started, reason=ctx.args.reason, expected_version=_v(ctx))
