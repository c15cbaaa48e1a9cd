"""`opsdeck schedule ...`: the duty schedule (排班), rotations, overrides, swaps, who is on
duty.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from opsdeck.backend import schedule, schedule_edit, schedule_import
from opsdeck.backend.cells import fit
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.handover_lines import coverage_lines
from opsdeck.backend.i18n import N_, _
from opsdeck.backend.sanitize import clean
from opsdeck.backend.schedule import _CLOCK, DUTIES, parse_when
from opsdeck.backend.schedule_edit import check_duty, zone_name
from opsdeck.backend.schedule_import import ICS_HORIZON, export_csv, export_ics
from opsdeck.backend.schedule_views import CoverageAhead, coverage_ahead
from opsdeck.backend.timeutil import TimeFormatError, parse_duration, rfc3339
from opsdeck.cli.argtypes import MAX_ID, whole_number
from opsdeck.cli.output import emit_json, write_bytes
from opsdeck.cli.registry import MEMBER, OneOf, arg, command

if TYPE_CHECKING:
    from opsdeck.cli.context import Context

WEEK = timedelta(days=7)


def _when(ctx: Context, text: str | None, what: str, *, after: datetime | None = None) -> datetime | None:
    """A future-pointing time field: `20:00` is the next one (after `after` if given)."""

    if text is None:
        return None
    try:
        moment: datetime = parse_when(text, ctx.store.clock(), ctx.zone, after=after)
    except TimeFormatError as error:
        raise InvalidInput("bad_time", f"{what}: {error}", _("e.g. 21:00, 2026-12-05 20:00, +2h")) from None
    if not 1970 <= moment.year <= 2200:  # the schedule looks weeks around a moment: keep clear of the calendar's ends
        raise InvalidInput(
            "bad_time", _("{what}: {text!r} is too far from now").format(what=what, text=text), _("give a nearer time")
        )
    return moment


def _local(value: datetime | None, ctx: Context) -> str:
    return value.astimezone(ctx.zone).strftime("%Y-%m-%d %H:%M") if value else "…"


def _load(ctx: Context) -> Any:
    now = ctx.store.clock()
    with ctx.store.read() as session:
        return schedule.load(session, now), now


def _duties(ctx: Context) -> tuple[str, ...]:
    return (check_duty(ctx.args.duty),) if ctx.args.duty else DUTIES


@command(
    "schedule",
    "who",
    N_("who is on duty for each duty at a moment (now, or --at)"),
    args=(
        arg("--at", metavar="TIME", help=N_("the moment (21:00 is the next one, 2026-12-05 20:00, +3d, RFC 3339)")),
        arg("--duty", metavar="D", help=N_("only this duty")),
    ),
)
def who(ctx: Context) -> int:
    duties = _duties(ctx)
    sched, now = _load(ctx)
    at = _when(ctx, ctx.args.at, "--at") or now
    rows = sched.who(at, duties)
    if ctx.args.json:
        emit_json([row.to_json() for row in rows])
        return 0
    print(_("on duty at {at}").format(at=_local(at, ctx)))
    for row in rows:
        who_text = clean(row.login) if row.login else _("(nobody: a gap)")
        source = row.source if row.login else "-"
        print(
            f"{fit(row.duty, 9)} {fit(who_text, 16)} {fit(clean(source), 16)} "
            f"{_local(row.since, ctx)} → {_local(row.until, ctx)}"
        )
    return 0


@command(
    "schedule",
    "show",
    N_("the rotations and overrides in force, and who covers each duty over a range"),
    args=(
        arg("--duty", metavar="D", help=N_("only this duty")),
        arg("--from", dest="start", metavar="TIME", help=N_("from (default now)")),
        arg("--to", dest="end", metavar="TIME", help=N_("until (default a week after --from)")),
    ),
)
def show(ctx: Context) -> int:
    duties = _duties(ctx)
    sched, now = _load(ctx)
    start = _when(ctx, ctx.args.start, "--from") or now
    end = _when(ctx, ctx.args.end, "--to", after=start) or start + WEEK
    if end <= start:
        raise InvalidInput("bad_range", _("--to is not after --from"), _("give --to after --from"))
    if end - start > timedelta(days=92):
        raise InvalidInput("long_range", _("the range is over 92 days"), _("show at most a quarter at a time"))
    view = sched.view(now)
    rotations = [r for d in duties for r in view.rotations.get(d, ())]
    slots = sorted(
        (
            s
            for s in sched.slots
            if s.duty in duties and s.retired_at is None and (s.ends_at is None or s.ends_at > start)
        ),
        key=lambda s: (s.starts_at, s.id),
    )
    slots = [s for s in slots if s.starts_at < end]
    segments = {d: sched.segments(d, start, end) for d in duties}
    if ctx.args.json:
        emit_json(
            {
                "from": rfc3339(start),
                "until": rfc3339(end),
                "rotations": [
                    {
                        "name": r.name,
                        "duty": r.duty,
                        "layer": r.layer,
                        "members": list(r.members),
                        "shift_minutes": int(r.shift.total_seconds() // 60),
                        "handoff": r.handoff.isoformat(timespec="minutes"),
                        "zone": str(r.zone),
                        "days": sorted(r.days),
                        "hours": "" if r.hours is None else f"{r.hours[0]:%H:%M}-{r.hours[1]:%H:%M}",
                        "holidays": r.holidays,
                    }
                    for r in rotations
                ],
                "slots": [
                    {
                        "id": s.id,
                        "kind": s.kind,
                        "duty": s.duty,
                        "login": s.login,
                        "other": s.other,
                        "from": rfc3339(s.starts_at),
                        "until": rfc3339(s.ends_at),
                        "note": s.note,
                    }
                    for s in slots
                ],
                "coverage": [
                    {"duty": d, "from": rfc3339(a), "until": rfc3339(b), "logins": [login for login, _s in c]}
                    for d in duties
                    for a, b, c in segments[d]
                ],
            }
        )
        return 0
    print(_("rotations"))
    if not rotations:
        print("  " + _("(none: add one with `opsdeck schedule rotation NAME --duty D --members A,B --shift 12h`)"))
    for r in rotations:
        limits = " ".join(
            x
            for x in (
                ",".join(("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d - 1] for d in sorted(r.days)),
                "" if r.hours is None else f"{r.hours[0]:%H:%M}-{r.hours[1]:%H:%M}",
                "" if r.holidays == "any" else _("holidays: {mode}").format(mode=r.holidays),
            )
            if x
        )
        hours = int(r.shift.total_seconds() // 3600)
        print(
            f"  {fit(clean(r.name), 16)} {fit(r.duty, 9)} L{r.layer} {hours:>4}h "
            f"{_('from')} {r.handoff:%Y-%m-%d %H:%M}  {clean(','.join(r.members))}  {limits}".rstrip()
        )
    print(_("overrides and swaps"))
    if not slots:
        print("  " + _("(none)"))
    for s in slots:
        who_text = f"{s.login}⇄{s.other}" if s.kind == "swap" else s.login
        print(
            f"  #{s.id:<5} {fit(s.kind, 8)} {fit(s.duty, 9)} {fit(clean(who_text), 20)} "
            f"{_local(s.starts_at, ctx)} → {_local(s.ends_at, ctx)}  {clean(s.note)}".rstrip()
        )
    print(_("coverage {start} → {end}").format(start=_local(start, ctx), end=_local(end, ctx)))
    for d in duties:
        for a, b, covered in segments[d]:
            names = ", ".join(clean(login) for login, _s in covered) or _("(nobody: a gap)")
            print(f"  {fit(d, 9)} {_local(a, ctx)} → {_local(b, ctx)}  {names}")
    return 0


@command(
    "schedule",
    "gaps",
    N_("coverage ahead: duties nobody covers, members over the policy's hours or short of rest"),
    args=(arg("--days", type=int, metavar="N", help=N_("look N days ahead (default: the policy's ahead_days, 14)")),),
)
def gaps(ctx: Context) -> int:
    days = ctx.args.days
    if days is not None and not 1 <= days <= 92:
        raise InvalidInput("bad_days", _("--days must be from 1 to 92"), _("give e.g. --days 14"))
    with ctx.store.read() as session:
        data = coverage_ahead(session, ctx.store.clock(), ctx.zone, days)
    if ctx.args.json:
        emit_json(data)
        return 0
    if not data["planned"]:
        print(_("no rotation or shift is planned: nothing to check (see `opsdeck schedule rotation`)"))
        return 0
    print_coverage(ctx, data)
    return 0


def print_coverage(ctx: Context, data: CoverageAhead) -> None:
    for line, _style in coverage_lines(data, ctx.zone):
        print(line)


@command(
    "schedule",
    "import",
    N_("add a schedule from a TOML, CSV (排班表) or iCalendar file; again replaces what it added (leads)"),
    writes=MEMBER,
    example=("schedule.csv",),
    args=(
        arg("file"),
        arg("--duty", metavar="D", help=N_("iCalendar: every event is a shift of this duty")),
        arg("--login", metavar="LOGIN", help=N_("iCalendar: every event is a shift of this member")),
    ),
)
def import_file(ctx: Context) -> int:
    path = Path(ctx.args.file)
    parsed = schedule_import.parse_file(
        path, zone_name(ctx.config.timezone), ctx.store.clock(), duty=ctx.args.duty, login=ctx.args.login
    )
    counts = schedule_import.import_parsed(ctx.store, ctx.login, str(path.resolve()), parsed)
    if ctx.args.json:
        emit_json({"file": str(path), **counts})
    else:
        print(
            _("{file}: {rotations} rotations, {shifts} shifts, {overrides} overrides, {holidays} holidays").format(
                file=path, **counts
            )
            + (
                "  " + _("({replaced} from its last import retired)").format(replaced=counts["replaced"])
                if counts["replaced"]
                else ""
            )
        )
    return 0


@command(
    "schedule",
    "export",
    N_("the coverage over a range as a CSV 排班表 or an iCalendar feed"),
    example=("--csv",),
    json=False,
    args=(
        OneOf(
            (
                arg("--csv", action="store_true", help=N_("as CSV (what `schedule import` reads back)")),
                arg(
                    "--ics",
                    action="store_true",
                    help=N_("as iCalendar: one member's (--login) or some duties' calendar"),
                ),
            ),
            required=True,
        ),
        arg("--login", metavar="LOGIN", help=N_("--ics: only this member's time on duty")),
        arg("--duty", metavar="D", help=N_("only this duty")),
        arg("--from", dest="start", metavar="TIME", help=N_("from (default now)")),
        arg("--to", dest="end", metavar="TIME", help=N_("until (default 28 days after --from)")),
        arg("--output", "-o", metavar="FILE", help=N_("write to FILE instead of standard output")),
        arg(
            "--dir",
            metavar="DIR",
            help=N_("--ics: one calendar per member (member-LOGIN.ics) and per duty (duty-DUTY.ics) in DIR"),
        ),
    ),
)
def export(ctx: Context) -> int:
    duties = _duties(ctx)
    now = ctx.store.clock()
    start = _when(ctx, ctx.args.start, "--from") or now
    default = ICS_HORIZON if ctx.args.ics else timedelta(days=28)
    end = _when(ctx, ctx.args.end, "--to", after=start) or start + default
    if end <= start or end - start > timedelta(days=366):
        raise InvalidInput("bad_range", _("--to must be after --from, within a year"), _("give --to after --from"))
    if ctx.args.login and not ctx.args.ics:
        raise InvalidInput("ics_only", _("--login is for --ics"), _("leave it out, or export --ics"))
    if ctx.args.dir:
        if not ctx.args.ics or ctx.args.output or ctx.args.login:
            raise InvalidInput(
                "dir_ics_only", _("--dir writes one calendar per member and duty"), _("use it with --ics alone")
            )
        return _export_dir(ctx, now, start, end, duties)
    if ctx.args.ics:
        data = export_ics(ctx.store, now, start, end, duties=duties, login=ctx.args.login)
    else:
        data = export_csv(ctx.store, now, start, end, ctx.zone, duties).encode("utf-8")
    if ctx.args.output:
        try:
            Path(ctx.args.output).write_bytes(data)
        except OSError as error:
            raise InvalidInput(
                "cannot_write",
                _("{where}: {what}").format(where=ctx.args.output, what=error.strerror),
                _("give a file in a folder you can write"),
            ) from None
    else:
        write_bytes(data)
    return 0


def _export_dir(ctx: Context, now: datetime, start: datetime, end: datetime, duties: tuple[str, ...]) -> int:
    """Every member's calendar and every duty's, regenerated whole (run it again, e.g.
    daily, to roll the horizon on); the files a calendar app subscribes to."""

    folder = Path(ctx.args.dir)
    with ctx.store.read() as session:
        sched = schedule.load(session, now)
    logins = sorted({login for d in duties for _a, _b, c in sched.segments(d, start, end) for login, _s in c})
    files: list[tuple[str, bytes]] = [
        (f"duty-{duty}.ics", export_ics(ctx.store, now, start, end, duties=(duty,), login=None)) for duty in duties
    ]
    for login in logins:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", login)
        files.append((f"member-{safe}.ics", export_ics(ctx.store, now, start, end, duties=duties, login=login)))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files:
            (folder / name).write_bytes(data)
    except OSError as error:
        raise InvalidInput(
            "cannot_write",
            _("{where}: {what}").format(where=folder, what=error.strerror),
            _("give a folder you can write"),
        ) from None
    print(_("{count} calendars written to {dir}").format(count=len(files), dir=folder))
    return 0


@command(
    "schedule",
    "rotation",
    N_("add a rotation, or replace the one of that NAME from now on (leads)"),
    writes=MEMBER,
    example=("dns-week", "--duty", "dns", "--members", "dns", "--shift", "1w", "--handoff", "09:00"),
    args=(
        arg("name"),
        arg("--duty", metavar="D", help=N_("the duty it covers: command, web, dns, servers, telecom or lead")),
        arg("--members", metavar="LOGIN,...", help=N_("the members in turn")),
        arg("--shift", metavar="DURATION", help=N_("each member's turn: 8h, 12h, 1d, 1w")),
        arg(
            "--handoff",
            metavar="TIME",
            help=N_("the first hand-off in the center's zone: 2026-12-01 09:00 (or 09:00 today)"),
        ),
        arg(
            "--layer",
            type=whole_number(1, 1000, N_("a layer")),
            default=1,
            metavar="N",
            help=N_("where layers overlap the highest wins (default 1)"),
        ),
        arg("--days", default="", metavar="DAYS", help=N_("only these weekdays: mon-fri, sat,sun")),
        arg("--hours", default="", metavar="HH:MM-HH:MM", help=N_("only these hours each day: 09:00-18:00")),
        arg(
            "--holidays",
            default="any",
            choices=["any", "only", "skip"],
            help=N_("cover holidays too, only them, or skip them"),
        ),
        arg("--remove", action="store_true", help=N_("retire the rotation from now on")),
    ),
)
def rotation(ctx: Context) -> int:
    a = ctx.args
    if a.remove:
        schedule_edit.remove_rotation(ctx.store, ctx.login, a.name)
        if a.json:
            emit_json({"name": a.name, "removed": True})
        else:
            print(_("rotation {name} retired from now on").format(name=a.name))
        return 0
    for flag, value in (("--duty", a.duty), ("--members", a.members), ("--shift", a.shift), ("--handoff", a.handoff)):
        if not value:
            raise InvalidInput(
                "missing_option",
                _("{flag} is required to add a rotation").format(flag=flag),
                _("e.g. opsdeck schedule rotation dns-week --duty dns --members wang,li --shift 1w --handoff 09:00"),
            )
    try:
        shift = parse_duration(a.shift)
    except TimeFormatError as error:
        raise InvalidInput("bad_shift", f"--shift: {error}", _("give e.g. --shift 12h or 1w")) from None
    if shift % timedelta(minutes=1):
        raise InvalidInput("bad_shift", _("--shift must be whole minutes"), _("give e.g. --shift 12h or 1w"))
    zone = schedule_edit.zone_name(ctx.config.timezone)
    spec = schedule_edit.RotationSpec(
        name=a.name,
        duty=schedule_edit.check_duty(a.duty),
        members=tuple(m.strip() for m in a.members.split(",") if m.strip()),
        shift_minutes=int(shift.total_seconds() // 60),
        handoff=_handoff(a.handoff, ctx, zone),
        zone=zone,
        layer=a.layer,
        days=tuple(schedule_edit.parse_days(a.days)),
        hours=a.hours.strip(),
        holidays=a.holidays,
    )
    added = schedule_edit.set_rotation(ctx.store, ctx.login, spec)
    if a.json:
        emit_json({"name": spec.name, "duty": spec.duty, "added": added, "replaced": not added})
    else:
        said = _("rotation {name} added") if added else _("rotation {name} replaced from now on")
        print(said.format(name=spec.name))
    return 0


def _handoff(text: str, ctx: Context, zone: str) -> datetime:
    """The first hand-off as a wall-clock time of `zone` (naive)."""

    tz = ZoneInfo(zone)
    match = _CLOCK.match(text)
    try:
        if match:
            today = ctx.store.clock().astimezone(tz).date()
            return datetime.combine(today, datetime.strptime(text.strip(), "%H:%M").time())
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            "bad_handoff",
            _("--handoff {text!r} is not a time").format(text=text),
            _("give the first hand-off as 2026-12-01 09:00, or 09:00 for today"),
        ) from None
    value = value.astimezone(tz).replace(tzinfo=None) if value.tzinfo else value
    if not 1970 <= value.year <= 2200:
        raise InvalidInput(
            "bad_handoff",
            _("--handoff {text!r} is too far from now").format(text=text),
            _("give the first hand-off as 2026-12-01 09:00, or 09:00 for today"),
        )
    return value


@command(
    "schedule",
    "override",
    N_("someone covers a duty for a time range, or remove an override (ID)"),
    writes=MEMBER,
    example=("add", "--duty", "dns", "--login", "dns", "--to", "+8h"),
    args=(
        arg("op", choices=["add", "remove"]),
        arg(
            "id",
            nargs="?",
            type=whole_number(1, MAX_ID, N_("an id")),
            help=N_("the override or swap to remove (ids in `schedule show`)"),
        ),
        arg("--duty", metavar="D"),
        arg("--login", metavar="LOGIN", help=N_("who covers (default you)")),
        arg("--from", dest="start", metavar="TIME", help=N_("from (default now; 20:00 is the next one)")),
        arg("--to", dest="end", metavar="TIME", help=N_("until (08:00 is the next one after --from)")),
        arg("--note", default="", metavar="TEXT"),
    ),
)
def override(ctx: Context) -> int:
    a = ctx.args
    if a.op == "remove":
        if a.id is None:
            raise InvalidInput(
                "missing_id", _("which override?"), _("give its id: opsdeck schedule override remove ID")
            )
        slot = schedule_edit.remove_slot(ctx.store, ctx.login, a.id)
        if a.json:
            emit_json({"id": a.id, "removed": True, "until": _iso(slot.ends_at)})
        else:
            print(_("override #{id} removed from now on").format(id=a.id))
        return 0
    if not a.duty or not a.end:
        raise InvalidInput(
            "missing_option",
            _("--duty and --to are required to add an override"),
            _("e.g. opsdeck schedule override add --duty dns --login li --from 20:00 --to 08:00"),
        )
    start = _when(ctx, a.start, "--from") or ctx.store.clock()
    end = _when(ctx, a.end, "--to", after=start)
    assert end is not None
    login = a.login or ctx.login
    slot_id = schedule_edit.add_override(ctx.store, ctx.login, a.duty, login, start, end, a.note)
    if a.json:
        emit_json({"id": slot_id, "duty": a.duty, "login": login, "from": _iso(start), "until": _iso(end)})
    else:
        print(
            _("override #{id}: {login} covers {duty} {start} → {end}").format(
                id=slot_id, login=login, duty=a.duty, start=_local(start, ctx), end=_local(end, ctx)
            )
        )
    return 0


@command(
    "schedule",
    "swap",
    N_("two members trade their scheduled time on a duty within a range"),
    writes=MEMBER,
    example=("dns", "lead", "--duty", "dns", "--from", "+1h", "--to", "+2h"),
    args=(
        arg("first", metavar="LOGIN"),
        arg("second", metavar="LOGIN"),
        arg("--duty", metavar="D", required=True),
        arg("--from", dest="start", metavar="TIME", required=True),
        arg("--to", dest="end", metavar="TIME", required=True),
    ),
)
def swap(ctx: Context) -> int:
    a = ctx.args
    start = _when(ctx, a.start, "--from")
    end = _when(ctx, a.end, "--to", after=start)
    assert start is not None and end is not None
    slot_id = schedule_edit.add_swap(ctx.store, ctx.login, a.duty, a.first, a.second, start, end)
    if a.json:
        emit_json(
            {"id": slot_id, "duty": a.duty, "logins": [a.first, a.second], "from": _iso(start), "until": _iso(end)}
        )
    else:
        print(
            _("swap #{id}: {first} and {second} trade {duty} {start} → {end}").format(
                id=slot_id,
                first=a.first,
                second=a.second,
                duty=a.duty,
                start=_local(start, ctx),
                end=_local(end, ctx),
            )
        )
    return 0


def _iso(value: datetime | None) -> str | None:
    text: str | None = rfc3339(value)
    return text
