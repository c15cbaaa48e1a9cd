"""Schedules in and out: TOML (rotations, overrides, holidays), CSV (a 排班表: one row per
shift, as spreadsheets keep it) and CSV out.

A file is read and checked whole before anything is written: an error names the file,
the line (or the record), the field and the fix. Importing a file again replaces what
came from that file (its rows are retired, the new ones added, in one write); the past
stays as it was.
"""

from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import col

from .errors import InvalidInput
from .i18n import _
from .models import ScheduleHoliday, ScheduleRotation, ScheduleSlot
from .schedule import DUTIES
from .schedule_edit import RotationSpec, _add_rotation, _editor, _member, parse_days
from .service import Service
from .store import Store
from .timeutil import TimeFormatError, parse_duration

CSV_COLUMNS = ("date", "start", "end", "duty", "login")
# A sheet kept in Chinese may name its columns so.
CSV_ALIASES = {"日期": "date", "开始": "start", "结束": "end", "职责": "duty", "登录名": "login", "值班人": "login"}
MAX_ROWS = 50_000


@dataclass(frozen=True)
class Item:
    where: str  # "FILE: line 4" or "FILE: override 2"
    kind: str  # rotation, shift, override, holiday
    data: dict[str, Any]


@dataclass
class Parsed:
    rotations: list[tuple[str, RotationSpec]] = field(default_factory=list)
    slots: list[tuple[str, str, str, str, datetime, datetime, str]] = field(default_factory=list)
    holidays: list[tuple[str, date, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        kinds = [s[1] for s in self.slots]
        return {
            "rotations": len(self.rotations),
            "shifts": kinds.count("shift"),
            "overrides": kinds.count("override"),
            "holidays": len(self.holidays),
        }


def _bad(where: str, key: str, what: str, fix: str) -> InvalidInput:
    return InvalidInput(
        "bad_schedule",
        _("{where}: {key}: {what}").format(where=where, key=key, what=what),
        fix,
        where=where,
        key=key,
    )


def read_text(path: Path) -> str:
    """UTF-8 (with or without the BOM spreadsheets write), else GB18030 (what Excel and
    WPS save a Chinese CSV as by default)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput("no_file", _("{path}: no such file").format(path=path), _("check the path")) from None
    except OSError as error:
        raise InvalidInput(
            "unreadable", _("{where}: {what}").format(where=path, what=error.strerror), _("check its permissions")
        ) from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        "bad_encoding", _("{path}: neither UTF-8 nor GB18030 text").format(path=path), _("save the file as UTF-8")
    )


def _clock(where: str, key: str, text: str) -> time:
    try:
        hour, minute = (int(x) for x in text.strip().split(":"))
        if hour == 24 and minute == 0:
            return time(0)
        return time(hour, minute)
    except ValueError:
        raise _bad(
            where, key, _("{text!r} is not a clock time").format(text=text), _("write HH:MM, e.g. 08:30")
        ) from None


def _day(where: str, key: str, text: str) -> date:
    value = text.strip().replace("/", "-").replace(".", "-")
    try:
        year, month, day = (int(x) for x in value.split("-"))
        if not 1970 <= year <= 2200:
            raise ValueError(year)
        return date(year, month, day)
    except ValueError:
        raise _bad(
            where, key, _("{text!r} is not a date").format(text=text), _("write YYYY-MM-DD, e.g. 2026-12-05")
        ) from None


def _local(where: str, key: str, text: str, zone: tzinfo) -> datetime:
    """`2026-12-05 20:00` (or with T, or an offset) in the center's zone, as UTC."""
    try:
        value = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise _bad(
            where, key, _("{text!r} is not a date and time").format(text=text), _("write e.g. 2026-12-05 20:00")
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    if not 1970 <= value.year <= 2200:
        raise _bad(where, key, _("{text!r} is too far from now").format(text=text), _("write e.g. 2026-12-05 20:00"))
    return value.astimezone(UTC)


def _duty(where: str, text: str) -> str:
    duty = str(text).strip().lower()
    if duty not in DUTIES:
        raise _bad(
            where,
            "duty",
            _("{duty!r} is not a duty").format(duty=text),
            _("use one of {duties}").format(duties=", ".join(DUTIES)),
        )
    return duty


def parse_csv(path: Path, text: str, zone: tzinfo) -> Parsed:
    """date,start,end,duty,login per row; an end at or before the start runs past midnight.
    A first row naming the columns is allowed (and then any order of them)."""
    rows = list(csv.reader(io.StringIO(text)))
    parsed = Parsed()
    columns: tuple[str, ...] = CSV_COLUMNS
    first = 0
    header = [CSV_ALIASES.get(c.strip(), c.strip().lower()) for c in rows[0]] if rows else []
    if header[:1] == ["date"]:
        named = tuple(header)
        missing = [c for c in CSV_COLUMNS if c not in named]
        if missing:
            raise _bad(
                _("{path}: line {line}").format(path=path, line=1),
                ",".join(missing),
                _("missing column"),
                _("the columns are {columns}").format(columns=",".join(CSV_COLUMNS)),
            )
        columns, first = named, 1
    if len(rows) > MAX_ROWS:
        raise InvalidInput(
            "too_many_rows", _("{path}: over {limit} rows").format(path=path, limit=MAX_ROWS), _("split the file")
        )
    for number, row in enumerate(rows[first:], start=first + 1):
        if not any(c.strip() for c in row):
            continue
        where = _("{path}: line {line}").format(path=path, line=number)
        if len(row) < len(columns):
            raise _bad(
                where,
                columns[len(row)] if len(row) < len(columns) else "",
                _("missing"),
                _("each row is {columns}").format(columns=",".join(CSV_COLUMNS)),
            )
        value = {name: row[i].strip() for i, name in enumerate(columns) if i < len(row)}
        day = _day(where, "date", value["date"])
        start_t, end_t = _clock(where, "start", value["start"]), _clock(where, "end", value["end"])
        start = datetime.combine(day, start_t).replace(tzinfo=zone).astimezone(UTC)
        end_day = day + timedelta(days=1) if end_t <= start_t else day
        end = datetime.combine(end_day, end_t).replace(tzinfo=zone).astimezone(UTC)
        duty = _duty(where, value["duty"])
        if not value["login"]:
            raise _bad(where, "login", _("missing"), _("give the member's login"))
        parsed.slots.append((where, "shift", duty, value["login"], start, end, ""))
    return parsed


def parse_toml(path: Path, text: str, zone_name: str, zone: tzinfo) -> Parsed:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(
            "bad_toml", _("{path}: not valid TOML ({error})").format(path=path, error=error), _("fix the syntax there")
        ) from None
    known = {"rotation", "override", "shift", "holiday"}
    for key in data:
        if key not in known:
            raise _bad(str(path), key, _("unknown table"), _("use [[rotation]], [[override]], [[shift]], [[holiday]]"))
    parsed = Parsed()
    for index, item in enumerate(_tables(path, data, "rotation"), start=1):
        where = _("{path}: rotation {n}").format(path=path, n=index)
        _only(where, item, {"name", "duty", "members", "shift", "handoff", "layer", "days", "hours", "holidays"})
        for key in ("name", "duty", "members", "shift", "handoff"):
            if key not in item:
                raise _bad(where, key, _("missing"), _("every [[rotation]] has name, duty, members, shift, handoff"))
        members = item["members"]
        if isinstance(members, str):
            members = [m.strip() for m in members.split(",") if m.strip()]
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise _bad(where, "members", _("must be a list of logins"), _('write members = ["wang", "li"]'))
        try:
            shift = parse_duration(str(item["shift"]))
        except TimeFormatError as error:
            raise _bad(where, "shift", str(error), _('write e.g. shift = "12h"')) from None
        handoff = _local(where, "handoff", item["handoff"], zone).astimezone(zone).replace(tzinfo=None)
        try:
            days = tuple(parse_days(str(item.get("days", ""))))
        except InvalidInput as error:
            raise _bad(where, "days", error.what, error.fix) from None
        spec = RotationSpec(
            name=str(item["name"]),
            duty=_duty(where, item["duty"]),
            members=tuple(members),
            shift_minutes=int(shift.total_seconds() // 60),
            handoff=handoff,
            zone=zone_name,
            layer=int(item.get("layer", 1)) if isinstance(item.get("layer", 1), int) else -1,
            days=days,
            hours=str(item.get("hours", "")),
            holidays=str(item.get("holidays", "any")),
        )
        try:
            spec.validate()
        except InvalidInput as error:
            raise InvalidInput(error.code, f"{where}: {error.what}", error.fix) from None
        parsed.rotations.append((where, spec))
    for kind in ("override", "shift"):
        for index, item in enumerate(_tables(path, data, kind), start=1):
            where = _("{path}: {kind} {n}").format(path=path, kind=kind, n=index)
            _only(where, item, {"duty", "login", "from", "until", "note"})
            for key in ("duty", "login", "from", "until"):
                if key not in item:
                    raise _bad(where, key, _("missing"), _("each has duty, login, from and until"))
            start = _local(where, "from", item["from"], zone)
            end = _local(where, "until", item["until"], zone)
            if end <= start:
                raise _bad(where, "until", _("not after from"), _("give an end after the start"))
            parsed.slots.append(
                (where, kind, _duty(where, item["duty"]), str(item["login"]), start, end, str(item.get("note", "")))
            )
    for index, item in enumerate(_tables(path, data, "holiday"), start=1):
        where = _("{path}: holiday {n}").format(path=path, n=index)
        _only(where, item, {"date", "name"})
        if "date" not in item:
            raise _bad(where, "date", _("missing"), _('write date = "2027-01-01"'))
        parsed.holidays.append((where, _day(where, "date", str(item["date"])), str(item.get("name", ""))))
    return parsed


def _tables(path: Path, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = data.get(key, [])
    if not isinstance(found, list) or not all(isinstance(t, dict) for t in found):
        raise _bad(str(path), key, _("must be an array of tables"), _("write [[{key}]]").format(key=key))
    return found


def _only(where: str, item: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(item) - allowed)
    if extra:
        raise _bad(where, extra[0], _("unknown key"), _("use only {keys}").format(keys=", ".join(sorted(allowed))))


def parse_file(
    path: Path, zone_name: str, now: datetime, *, duty: str | None = None, login: str | None = None
) -> Parsed:
    zone = ZoneInfo(zone_name)
    suffix = path.suffix.lower()
    if (duty or login) and suffix not in (".ics", ".ical"):
        raise InvalidInput(
            "ics_only", _("--duty and --login are for iCalendar files"), _("leave them out for TOML and CSV")
        )
    if suffix in (".ics", ".ical"):
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise InvalidInput(
                "unreadable", _("{where}: {what}").format(where=path, what=error.strerror), _("check the path")
            ) from None
        return parse_ics(path, raw, zone, now, duty=duty, login=login)
    text = read_text(path)
    if suffix == ".csv":
        return parse_csv(path, text, zone)
    if suffix == ".toml":
        return parse_toml(path, text, zone_name, zone)
    raise InvalidInput(
        "bad_schedule_format",
        _("{path}: not a schedule file opsdeck reads").format(path=path),
        _("use .toml (rotations, overrides, holidays), .csv (date,start,end,duty,login) or .ics (iCalendar)"),
    )


def import_parsed(store: Store, login: str, source: str, parsed: Parsed) -> dict[str, int]:
    """Replace what came from `source` with `parsed`, in one write; every member checked
    against the roster first (an error names the line)."""
    service = Service(store, login)
    with store.write(login) as uow:
        session = uow.session
        _editor(session, service, "schedule import", _("importing a schedule"))
        for where, spec in parsed.rotations:
            for member in spec.members:
                _checked(where, "members", lambda m=member, d=spec.duty: _member(session, m, d))
        for where, _kind, duty, member, *_rest in parsed.slots:
            _checked(where, "login", lambda m=member, d=duty: _member(session, m, d))
        names = [spec.name for _w, spec in parsed.rotations]
        retired = 0
        for model in (ScheduleRotation, ScheduleSlot, ScheduleHoliday):
            rows = session.scalars(
                select(model).where(col(model.source) == source, col(model.retired_at).is_(None))
            ).all()
            for row in rows:
                row.retired_at = uow.now
                retired += 1
        for row in session.scalars(
            select(ScheduleRotation).where(
                col(ScheduleRotation.name).in_(names), col(ScheduleRotation.retired_at).is_(None)
            )
        ):
            row.retired_at = uow.now
        for _where, spec in parsed.rotations:
            _add_rotation(uow, spec, login, source)
        for _where, kind, duty, member, start, end, note in parsed.slots:
            session.add(
                ScheduleSlot(
                    kind=kind,
                    duty=duty,
                    login=member,
                    starts_at=start,
                    ends_at=end,
                    source=source,
                    note=note[:2000],
                    created_by=login,
                    recorded_at=uow.now,
                )
            )
        for _where, day, name in parsed.holidays:
            session.add(
                ScheduleHoliday(
                    day=day.isoformat(), name=name[:120], source=source, created_by=login, recorded_at=uow.now
                )
            )
        counts = {**parsed.counts(), "replaced": retired}
        uow.record("schedule_import", {"file": source, **counts}, entity="schedule", entity_id=source)
    return counts


def _checked(where: str, key: str, check: Any) -> None:
    try:
        check()
    except InvalidInput as error:
        raise _bad(where, key, error.what, error.fix) from None
    except Exception as error:  # DomainError, NotFound: same message, with the line
        what, fix = getattr(error, "what", str(error)), getattr(error, "fix", "")
        raised = type(error)(getattr(error, "code", "bad_schedule"), f"{where}: {key}: {what}", fix)
        raise raised from None


def export_csv(
    store: Store, now: datetime, start: datetime, end: datetime, zone: tzinfo, duties: tuple[str, ...]
) -> str:
    """The coverage of [start, end) as a 排班表: one row per member and stretch on duty,
    date,start,end,duty,login in the center's zone (what `import` reads back)."""
    from .schedule import load

    with store.read() as session:
        sched = load(session, now)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for duty in duties:
        for a, b, covered in sched.segments(duty, start, end):
            for login, _source in covered:
                for left, right in _by_day(a, b, zone):
                    la, lb = left.astimezone(zone), right.astimezone(zone)
                    writer.writerow([la.date().isoformat(), la.strftime("%H:%M"), lb.strftime("%H:%M"), duty, login])
    return out.getvalue()


def _by_day(a: datetime, b: datetime, zone: tzinfo) -> list[tuple[datetime, datetime]]:
    """Cut [a, b) at each local midnight: a row of the sheet is one day (an end of 00:00
    is the next midnight, as the import reads it)."""
    pieces = []
    left = a
    while left < b:
        day = left.astimezone(zone).date()
        midnight = datetime.combine(day + timedelta(days=1), time(0)).replace(tzinfo=zone).astimezone(UTC)
        right = min(b, midnight)
        pieces.append((left, right))
        left = right
    return pieces


__all__ = ["export_csv", "import_parsed", "parse_file"]


# -- iCalendar (RFC 5545) --------------------------------------------------------------

ICS_HORIZON = timedelta(days=92)  # recurrences are expanded this far ahead of the import


def parse_ics(path: Path, raw: bytes, zone: tzinfo, now: datetime, *, duty: str | None, login: str | None) -> Parsed:
    """Each event, with its recurrences (RRULE, RDATE, EXDATE; through
    recurring-ical-events), from the start of today to ICS_HORIZON ahead, is a shift. Its
    duty and login come from `duty`/`login` (a member's own calendar), else from a
    SUMMARY of `DUTY LOGIN`. A floating time is the center's zone; an all-day event runs
    midnight to midnight there."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(raw)
    except Exception as error:  # ValueError mostly; the library raises others on odd input
        raise InvalidInput(
            "bad_ics", _("{path}: not an iCalendar file ({error})").format(path=path, error=error), _("export it again")
        ) from None
    text = raw.decode("utf-8", "replace")
    for component in calendar.walk("VEVENT"):
        _check_event(_where(path, text, component), component, zone)
    start = datetime.combine(now.astimezone(zone).date(), time(0)).replace(tzinfo=zone)
    end = start + ICS_HORIZON
    parsed = Parsed()
    try:
        events = _expanded(path, text, calendar, start, end)
    except InvalidInput:
        raise
    except Exception as error:  # the library's own errors for a bad RRULE and the like
        raise InvalidInput(
            "bad_ics",
            _("{path}: cannot expand its events ({error})").format(path=path, error=error),
            _("export it again"),
        ) from None
    for event in events:
        summary = str(event.get("SUMMARY", "")).strip()
        where = _where(path, text, event)
        first, last = _moment(event.get("DTSTART"), zone), _moment(event.get("DTEND"), zone)
        assert first is not None  # _check_event
        if last is None:
            length = event.get("DURATION")
            last = first + (length.dt if length is not None else timedelta(days=1))
        if last <= first:
            raise _bad(where, "DTEND", _("not after DTSTART"), _("give the event an end after its start"))
        words = summary.split()
        event_duty = duty or (words[0] if words else "")
        event_login = login or (words[1] if len(words) > 1 else "")
        if not event_duty or not event_login:
            raise _bad(
                where,
                "SUMMARY",
                _("{summary!r} does not name a duty and a login").format(summary=summary),
                _("write the SUMMARY as `DUTY LOGIN` (e.g. dns wang), or give --duty and --login"),
            )
        parsed.slots.append((where, "shift", _duty(where, event_duty), event_login, first, last, summary[:200]))
    return parsed


ICS_MAX_SHIFTS = 10_000  # in ICS_HORIZON: six duties in three shifts a day are 1,656
_TOO_OFTEN = {"SECONDLY", "MINUTELY"}


def _where(path: Path, text: str, event: Any) -> str:
    uid = str(event.get("UID", ""))
    return _("{path}: line {line}").format(path=path, line=_line_of(text, uid)) if uid else str(path)


def _expanded(path: Path, text: str, calendar: Any, start: datetime, end: datetime) -> list[Any]:
    """Every event's shifts in [start, end), each event (with its changed occurrences,
    one UID) expanded on its own, so that a file of more than ICS_MAX_SHIFTS is refused
    with no more than one event's shifts held past the cap."""
    import icalendar
    import recurring_ical_events

    zones = calendar.walk("VTIMEZONE")
    by_uid: dict[str, list[Any]] = {}
    for event in calendar.walk("VEVENT"):
        by_uid.setdefault(str(event.get("UID", "")), []).append(event)
    shifts: list[Any] = []
    for events in by_uid.values():
        alone = icalendar.Calendar()
        for component in (*zones, *events):
            alone.add_component(component)
        shifts.extend(recurring_ical_events.of(alone).between(start, end))
        if len(shifts) > ICS_MAX_SHIFTS:
            raise _bad(
                _where(path, text, events[0]),
                "RRULE",
                _("over {count} shifts in the next {days} days").format(count=ICS_MAX_SHIFTS, days=ICS_HORIZON.days),
                _("a duty calendar repeats daily or weekly: check this event's RRULE, or split the file"),
            )
    return shifts


def _check_event(where: str, event: Any, zone: tzinfo) -> None:
    """What an event must be before its recurrences are expanded: a start, an end after
    it, time zones that exist, and a rule that repeats no more often than hourly."""
    for key in ("DTSTART", "DTEND"):
        prop = event.get(key)
        zone_name = prop.params.get("TZID") if prop is not None else None
        if zone_name and isinstance(prop.dt, datetime) and prop.dt.tzinfo is None:
            raise _bad(
                where,
                key,
                _("unknown time zone {zone!r}").format(zone=str(zone_name)[:60]),
                _("use an IANA zone name (e.g. Asia/Shanghai), or include its VTIMEZONE"),
            )
    first, last = _moment(event.get("DTSTART"), zone), _moment(event.get("DTEND"), zone)
    if first is None:
        raise _bad(where, "DTSTART", _("missing"), _("every event needs a start"))
    if last is not None and last <= first:
        raise _bad(where, "DTEND", _("not after DTSTART"), _("give the event an end after its start"))
    rule = event.get("RRULE")
    if rule is not None and set(rule.get("FREQ", [])) & _TOO_OFTEN:
        raise _bad(
            where,
            "RRULE",
            _("FREQ={freq} repeats too often for a duty shift").format(freq=str(rule.get("FREQ")[0])[:20]),
            _("repeat hourly at the most (FREQ=HOURLY, DAILY or WEEKLY)"),
        )


def _moment(prop: Any, zone: tzinfo) -> datetime | None:
    if prop is None:
        return None
    value = prop.dt
    if not isinstance(value, datetime):  # an all-day date
        value = datetime.combine(value, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _line_of(text: str, uid: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("UID") and line.partition(":")[2].strip() == uid:
            return number
    return 1


def export_ics(
    store: Store, now: datetime, start: datetime, end: datetime, *, duties: tuple[str, ...], login: str | None
) -> bytes:
    """The coverage of [start, end) as an iCalendar feed: one event per stretch on duty,
    SUMMARY `DUTY LOGIN` (what `import` reads back), for one member or some duties."""
    import icalendar

    from .schedule import load

    with store.read() as session:
        sched = load(session, now)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//opsdeck//duty schedule//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"opsdeck {login or ','.join(duties)}")
    for duty in duties:
        for a, b, covered in sched.segments(duty, start, end):
            for member, source in covered:
                if login is not None and member != login:
                    continue
                event = icalendar.Event()
                event.add("uid", f"{duty}-{member}-{a.strftime('%Y%m%dT%H%M%SZ')}@opsdeck")
                event.add("dtstamp", now)
                event.add("dtstart", a)
                event.add("dtend", b)
                event.add("summary", f"{duty} {member}")
                event.add("description", source)
                calendar.add_component(event)
    return bytes(calendar.to_ical())
