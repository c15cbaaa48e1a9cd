"""`opsdeck incident ...`: open, list, show, the clocks and every action on one incident."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from opsdeck.backend import listing, words
from opsdeck.backend.cells import fit
from opsdeck.backend.domain import Category, Level, parse_enum
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import N_, _, pick
from opsdeck.backend.rows import AttestationRow, ClockItem, IncidentRow, IncidentShow, PlaybookStepRow
from opsdeck.backend.sanitize import clean
from opsdeck.backend.timeutil import (
    format_age,
    format_countdown,
    format_local,
)
from opsdeck.cli.argtypes import incident_id, version
from opsdeck.cli.context import Context
from opsdeck.cli.output import emit_json, emit_json_array, ljust, opened, term_width
from opsdeck.cli.registry import MEMBER, OneOf, arg, command

ID = arg("id", type=incident_id)
IF_VERSION = arg("--if-version", type=version, metavar="N", help=N_("refuse if the incident is no longer at version N"))
ACTION = (ID, IF_VERSION)  # every action on one incident


def _incident_out(ctx: Context, incident_id: int, summary: str) -> int:
    with ctx.store.read() as session:
        data = listing.get_incident(session, incident_id)
    if ctx.args.json:
        emit_json(data)
    else:
        print(
            _("#{id} {summary} (version {version}, {status})").format(
                id=incident_id, summary=summary, version=data["version"], status=words.status(data["status"])
            )
        )
    return 0


@command(
    "incident",
    "open",
    N_("report a new incident; prints its id"),
    writes=MEMBER,
    example=("--title", "x"),
    args=(
        arg("--title", required=True),
        arg("--description", default=""),
        arg("--system", metavar="NAME"),
        arg("--category", metavar="K"),
        arg("--level", metavar="L"),
        arg("--reason", metavar="R"),
        arg("--outage-start", metavar="TIME", help=N_("RFC 3339 or relative like -15m (default: now)")),
    ),
)
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
    return opened(ctx, incident.id)


def _status_filter(text: str) -> str:
    if text not in listing.STATUS_FILTERS:
        raise InvalidInput(
            "bad_status",
            _("{status!r} is not a status filter").format(status=text),
            _("use one of {choices}").format(choices=", ".join(listing.STATUS_FILTERS)),
        )
    return text


def _level_filter(text: str) -> str:
    try:
        return Level.parse(text).value
    except ValueError as error:
        raise InvalidInput("bad_filter", str(error), _("fix the filter")) from None


def _category_filter(text: str) -> str:
    try:
        return parse_enum(Category, text, "category").value
    except ValueError as error:
        raise InvalidInput("bad_filter", str(error), _("fix the filter")) from None


@command(
    "incident",
    "list",
    N_("list incidents (open ones by default)"),
    args=(
        arg(
            "--status",
            default="open",
            metavar="S",
            type=_status_filter,
            help=N_("open (not closed, the default), reported, acknowledged, resolved, closed or all"),
        ),
        arg("--level", metavar="LEVEL", type=_level_filter),
        arg("--category", metavar="CATEGORY", type=_category_filter),
        arg("--system", metavar="SYSTEM"),
        arg("--owner", metavar="OWNER"),
        arg("--grep", metavar="TEXT", help=N_("in title or description, any case")),
        arg("--since", metavar="TIME"),
        arg("--until", metavar="TIME"),
    ),
)
def incident_list(ctx: Context) -> int:
    a = ctx.args
    filt = listing.IncidentFilter(
        status=a.status,
        level=a.level,
        category=a.category,
        system=a.system,
        owner=a.owner,
        since=ctx.time(a.since, "--since"),
        until=ctx.time(a.until, "--until"),
        grep=a.grep,
    )
    with ctx.reader.connection() as connection:
        rows = listing.iter_incidents(connection, filt)
        if a.json:
            emit_json_array(rows)
        else:
            _print_incident_table(rows, ctx)
    return 0


def _print_incident_table(rows: Iterable[IncidentRow], ctx: Context) -> None:
    width = term_width()
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


@command("incident", "show", N_("one incident with notes and playbook"), example=("{id}",), args=(ID,))
def incident_show(ctx: Context) -> int:
    from opsdeck.backend import queries  # the ORM and the models: not for a listing (CLI start)

    with ctx.store.read() as session:
        detail = queries.incident_detail(session, ctx.args.id)
        clocks = queries.incident_deadlines(session, ctx.args.id, ctx.store.clock())
        data: IncidentShow = {
            **detail,
            "deadlines": clocks,
            "next_deadline": queries.next_deadline(clocks),
            "obligations": queries.obligations(session, ctx.args.id),
        }
    if ctx.args.json:
        emit_json(data)
        return 0
    z = ctx.zone
    shown = {"status": words.status(data["status"]), "category": words.category(data["category"])}
    print(f"#{data['id']} {clean(data['title'])}")
    for key in ("status", "category", "level", "owner", "reporter", "system", "version"):
        value = shown.get(key, data[key])
        print(f"  {ljust(words.incident_field(key), 18)} {clean(str(value if value is not None else '-'))}")
    if data.get("warning_id"):  # promoted from a warning (docs/plan.md#warnings)
        print(f"  {ljust(_('from warning'), 18)} W{data['warning_id']}")
    for key in listing.TIMESTAMPS:
        if stamp := data[key]:
            at = format_local(datetime.fromisoformat(stamp.replace("Z", "+00:00")), z)
            print(f"  {ljust(words.incident_field(key), 18)} {at}")
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


def _answer(ctx: Context, result: Any, summary: str) -> int:
    """What an action prints: the incident as it now stands (a reopened closed one: the new one)."""
    incident_id = getattr(result, "id", None) or ctx.args.id
    said = summary if incident_id == ctx.args.id else _("reopened as #{id}").format(id=incident_id)
    return _incident_out(ctx, incident_id, said)


@command("incident", "ack", N_("acknowledge: someone is on it"), writes=MEMBER, example=("{id}",), args=ACTION)
def incident_ack(ctx: Context) -> int:
    return _answer(ctx, ctx.service.ack(ctx.args.id, expected_version=ctx.args.if_version), _("acknowledged"))


@command(
    "incident",
    "classify",
    N_("set category and level (a re-grade needs --reason)"),
    writes=MEMBER,
    example=("{id}", "--category", "server_fault", "--level", "IV"),
    args=(
        *ACTION,
        arg("--category", required=True, metavar="K"),
        arg("--level", required=True, metavar="L"),
        arg("--reason", metavar="R"),
    ),
)
def incident_classify(ctx: Context) -> int:
    a = ctx.args
    done = ctx.service.classify(
        a.id, category=a.category, level=a.level, reason=a.reason, expected_version=a.if_version
    )
    return _answer(ctx, done, _("classified"))


@command(
    "incident",
    "level",
    N_("change the level (lowering it is for leads)"),
    writes=MEMBER,
    example=("{id}", "--level", "III", "--reason", "r"),
    args=(*ACTION, arg("--level", required=True, metavar="L"), arg("--reason", metavar="R")),
)
def incident_level(ctx: Context) -> int:
    a = ctx.args
    done = ctx.service.set_level(a.id, level=a.level, reason=a.reason, expected_version=a.if_version)
    return _answer(ctx, done, _("level changed"))


@command(
    "incident",
    "assign",
    N_("make LOGIN the owner"),
    writes=MEMBER,
    example=("{id}", "servers"),
    args=(*ACTION, arg("login")),
)
def incident_assign(ctx: Context) -> int:
    a = ctx.args
    return _answer(ctx, ctx.service.assign(a.id, a.login, expected_version=a.if_version), _("assigned"))


@command("incident", "note", N_("add a note"), writes=MEMBER, example=("{id}", "a note"), args=(*ACTION, arg("text")))
def incident_note(ctx: Context) -> int:
    a = ctx.args
    return _answer(ctx, ctx.service.note(a.id, a.text, expected_version=a.if_version), _("note added"))


@command(
    "incident",
    "step",
    N_("tick a playbook step (or --skip it with --reason)"),
    writes=MEMBER,
    example=("{id}", "any-step"),
    args=(*ACTION, arg("key"), arg("--skip", action="store_true"), arg("--reason", metavar="R")),
)
def incident_step(ctx: Context) -> int:
    a = ctx.args
    if a.skip and not a.reason:
        raise InvalidInput("missing_reason", _("--skip needs --reason"), _("say why the step is skipped"))
    ctx.service.step(a.id, a.key, skip=a.skip, reason=a.reason, expected_version=a.if_version)
    return _answer(ctx, None, _("step recorded"))


@command(
    "incident",
    "cause",
    N_("mark the cause located"),
    writes=MEMBER,
    example=("{id}",),
    args=(*ACTION, arg("--note", metavar="T")),
)
def incident_cause(ctx: Context) -> int:
    a = ctx.args
    return _answer(ctx, ctx.service.cause(a.id, note=a.note, expected_version=a.if_version), _("cause located"))


@command(
    "incident",
    "resolve",
    N_("service is back; says how"),
    writes=MEMBER,
    example=("{id}", "--resolution", "fixed"),
    args=(*ACTION, arg("--resolution", required=True, metavar="T")),
)
def incident_resolve(ctx: Context) -> int:
    a = ctx.args
    done = ctx.service.resolve(a.id, resolution=a.resolution, zone=ctx.zone, expected_version=a.if_version)
    return _answer(ctx, done, _("resolved"))


@command(
    "incident",
    "close",
    N_("close: resolved with a record, a false alarm, or a duplicate"),
    writes=MEMBER,
    example=("{id}", "--false-alarm", "--reason", "r"),
    args=(
        *ACTION,
        arg("--false-alarm", action="store_true"),
        arg("--reason", metavar="R"),
        arg("--duplicate-of", type=incident_id, metavar="ID"),
    ),
)
def incident_close(ctx: Context) -> int:
    a = ctx.args
    if a.false_alarm and not a.reason:
        raise InvalidInput("missing_reason", _("--false-alarm needs --reason"), _("say why it was a false alarm"))
    if a.reason and not a.false_alarm:
        raise InvalidInput(
            "stray_reason", _("--reason goes with --false-alarm"), _("add --false-alarm or drop --reason")
        )
    done = ctx.service.close(
        a.id,
        false_alarm_reason=a.reason if a.false_alarm else None,
        duplicate_of=a.duplicate_of,
        zone=ctx.zone,
        expected_version=a.if_version,
    )
    return _answer(ctx, done, _("closed"))


@command(
    "incident",
    "reopen",
    N_("reopen a resolved incident (a closed one opens a new, linked one)"),
    writes=MEMBER,
    example=("{id}", "--reason", "r"),
    args=(*ACTION, arg("--reason", required=True, metavar="R")),
)
def incident_reopen(ctx: Context) -> int:
    a = ctx.args
    return _answer(ctx, ctx.service.reopen(a.id, reason=a.reason, expected_version=a.if_version), _("reopened"))


@command(
    "incident",
    "outage",
    N_("correct when the outage started"),
    writes=MEMBER,
    example=("{id}", "--started", "10:00", "--reason", "r"),
    args=(*ACTION, arg("--started", required=True, metavar="TIME"), arg("--reason", required=True, metavar="R")),
)
def incident_outage(ctx: Context) -> int:
    a = ctx.args
    started = ctx.time(a.started, "--started")
    assert started is not None
    done = ctx.service.outage(a.id, started=started, reason=a.reason, expected_version=a.if_version)
    return _answer(ctx, done, _("outage start set"))


@command(
    "incident",
    "deadlines",
    N_("the plan's clocks for one incident, with their state now"),
    example=("{id}",),
    args=(ID,),
)
def incident_deadlines(ctx: Context) -> int:
    from opsdeck.backend import queries  # the ORM and the models: not for a listing (CLI start)

    with ctx.store.read() as session:
        items = queries.incident_deadlines(session, ctx.args.id, ctx.store.clock())
    if ctx.args.json:
        emit_json(items)
    elif items:
        _print_deadlines(items)
    else:
        print(_("#{id} has no clocks running").format(id=ctx.args.id))
    return 0


@command(
    "incident",
    "attest",
    N_("record a level III+ obligation as met (who, when, how)"),
    writes=MEMBER,
    example=("{id}", "leadership_report", "--via", "phone"),
    args=(
        ID,
        arg("obligation", help=N_("leadership_informed, departments_notified, notices_posted, ...")),
        arg(
            "--via",
            required=True,
            metavar="CHANNEL",
            help=N_("phone, sms, email, web, im, in_person, meeting, notice, other"),
        ),
        arg("--note", metavar="T"),
        arg("--who", metavar="NAME", help=N_("the person designated (spokesperson_named)")),
        IF_VERSION,
    ),
)
def incident_attest(ctx: Context) -> int:
    a = ctx.args
    ctx.service.attest(a.id, a.obligation, via=a.via, note=a.note, who=a.who, expected_version=a.if_version)
    return _incident_out(ctx, a.id, _("{obligation} attested").format(obligation=a.obligation))


@command(
    "incident",
    "regrade",
    N_("the outage passed the level's bound: confirm the next level or decline"),
    writes=MEMBER,
    example=("{id}", "--confirm", "--reason", "r"),
    args=(
        *ACTION,
        OneOf((arg("--confirm", action="store_true"), arg("--decline", action="store_true")), required=True),
        arg("--reason", required=True, metavar="R"),
    ),
)
def incident_regrade(ctx: Context) -> int:
    a = ctx.args
    done = ctx.service.regrade(a.id, confirm=a.confirm, reason=a.reason, expected_version=a.if_version)
    return _answer(ctx, done, _("re-grade answered"))


def _step_by(step: PlaybookStepRow) -> str:
    """`  (done by lead: why)` after a ticked or skipped playbook step."""
    if not step["by"]:
        return ""
    state = {"done": _("done"), "skipped": _("skipped")}.get(step["state"], step["state"])
    if step["reason"]:
        text = _("({state} by {by}: {reason})").format(state=state, by=clean(step["by"]), reason=clean(step["reason"]))
    else:
        text = _("({state} by {by})").format(state=state, by=clean(step["by"]))
    return "  " + text


def _attested(done: AttestationRow | None) -> str:
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


def _print_deadlines(items: list[ClockItem]) -> None:
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
            when = (_("at once ") if d["immediate"] else "") + (
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
