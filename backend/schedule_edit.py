"""Changing the duty schedule: rotations, overrides, swaps, takes. Each change is one
write with its audit event; rows are retired, never rewritten (see `schedule.py`).

Leads edit everything. A member may add or remove an override for themselves and swap
their own shifts when the policy allows (`[schedule] self_override`, on by default).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlmodel import Session, col

from . import clocks
from .domain import Permission
from .errors import DomainError, InvalidInput, NotFound
from .i18n import _
from .models import RosterMember, ScheduleRotation, ScheduleSlot
from .policy import policy_of
from .schedule import DUTIES, HOLIDAY_MODES, LEAD_DUTY, NO_AREA, parse_hours
from .service import Service
from .store import Store, UnitOfWork
from .timeutil import rfc3339

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PAST_SLACK = timedelta(minutes=2)  # "now" typed a moment ago is not the past
LONGEST_SLOT = timedelta(days=366)


def zone_name(configured: str | None) -> str:
    """The center's zone as an IANA name, stored with each rotation (a later change of
    the config must not move past hand-offs). None: this machine's zone, else UTC."""
    if configured:
        return configured
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = os.path.realpath("/etc/localtime")
            name = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""
        except OSError:
            name = ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name or "UTC"


def check_duty(duty: str) -> str:
    key = (duty or "").strip().lower()
    if key not in DUTIES:
        raise InvalidInput(
            "bad_duty",
            _("{duty!r} is not a duty").format(duty=duty),
            _("use one of {duties}").format(duties=", ".join(DUTIES)),
        )
    return key


def parse_days(text: str) -> list[int]:
    """`mon-fri`, `sat,sun`, `mon,wed-fri`; "" for every day. ISO numbers 1-7."""
    if not text.strip():
        return []
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _sep, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise InvalidInput(
                "bad_days",
                _("{text!r} is not a list of weekdays").format(text=text),
                _("write e.g. mon-fri or sat,sun"),
            )
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
        days.update(i + 1 for i in span)
    return sorted(days)


def _member(session: Session, login: str, duty: str) -> RosterMember:
    member = session.scalars(select(RosterMember).where(col(RosterMember.login) == login)).one_or_none()
    if member is None:
        raise NotFound(
            "no_member",
            _("{login!r} is not a member of the emergency group").format(login=login),
            _("see `opsdeck roster list`; add them with `opsdeck roster import FILE`"),
        )
    if member.permission == Permission.VIEWER.value:
        raise DomainError(
            "viewer_on_duty",
            _("{login!r} is a viewer: a viewer holds no duty and cannot be on a schedule").format(login=login),
            _("make them an operator in the roster file and import it, or schedule someone who holds the duty"),
        )
    holds = member.permission == Permission.LEAD.value if duty == LEAD_DUTY else duty in member.duties
    if not holds:
        raise DomainError(
            "duty_not_held",
            _("{login} does not hold the duty {duty}").format(login=login, duty=duty),
            _("give {login} the duty in the roster file and import it, or schedule someone who holds it").format(
                login=login
            ),
        )
    return member


def self_override_allowed(session: Session) -> bool:
    return policy_of(clocks.load_policy(session).document).self_override


def _editor(session: Session, service: Service, what: str, shown: str, *, own: tuple[str, ...] = ()) -> None:
    """Leads edit; a member may change what concerns only themselves if the policy allows."""
    actor = service.actor(session)
    if actor.is_lead:
        return
    if actor.can_write and service.login in own and self_override_allowed(session):
        return
    service._lead(session, what, shown=shown, bootstrap=True)


def _range(start: datetime, end: datetime | None, now: datetime) -> None:
    if start < now - PAST_SLACK:
        raise InvalidInput(
            "past_start",
            _("the range starts in the past ({start}); the schedule of the past is not rewritten").format(
                start=rfc3339(start)
            ),
            _("start it now or later (--from now)"),
        )
    if end is not None and end <= start:
        raise InvalidInput(
            "bad_range",
            _("the range ends ({end}) before it starts ({start})").format(end=rfc3339(end), start=rfc3339(start)),
            _("give --to after --from"),
        )
    if end is not None and end - start > LONGEST_SLOT:
        raise InvalidInput("long_range", _("the range is over a year long"), _("give a shorter range, or a rotation"))


@dataclass(frozen=True)
class RotationSpec:
    name: str
    duty: str
    members: tuple[str, ...]
    shift_minutes: int
    handoff: datetime  # naive local
    zone: str
    layer: int = 1
    days: tuple[int, ...] = ()
    hours: str = ""
    holidays: str = "any"

    def validate(self, where: str = "") -> None:
        def bad(code: str, what: str, fix: str) -> InvalidInput:
            return InvalidInput(code, f"{where}{what}", fix)

        if not NAME.match(self.name):
            raise bad(
                "bad_rotation_name",
                _("{name!r} is not a rotation name").format(name=self.name),
                _("use up to 64 lower-case letters, digits, ., - and _"),
            )
        check_duty(self.duty)
        if not self.members:
            raise bad("no_members", _("a rotation needs members"), _("give --members LOGIN,LOGIN,..."))
        if self.shift_minutes < 60 or self.shift_minutes > 60 * 24 * 56:
            raise bad("bad_shift", _("a shift must last from 1 hour to 8 weeks"), _("give e.g. --shift 12h or 1w"))
        if not 1 <= self.layer <= 9:
            raise bad("bad_layer", _("the layer must be from 1 to 9"), _("higher layers win; give e.g. --layer 2"))
        if self.holidays not in HOLIDAY_MODES:
            raise bad(
                "bad_holidays",
                _("{value!r} is not a holiday mode").format(value=self.holidays),
                _("use one of {modes}").format(modes=", ".join(HOLIDAY_MODES)),
            )
        try:
            parse_hours(self.hours)
        except ValueError as error:
            raise bad("bad_hours", str(error), _("write e.g. --hours 09:00-18:00")) from None
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise bad(
                "bad_zone",
                _("unknown time zone {name!r}").format(name=self.zone),
                _("use an IANA name like Asia/Shanghai"),
            ) from None


def _add_rotation(uow: UnitOfWork, spec: RotationSpec, actor: str, source: str) -> ScheduleRotation:
    for login in spec.members:
        _member(uow.session, login, spec.duty)
    row = ScheduleRotation(
        name=spec.name,
        duty=spec.duty,
        layer=spec.layer,
        members=list(spec.members),
        shift_minutes=spec.shift_minutes,
        handoff=spec.handoff.replace(tzinfo=None).isoformat(timespec="minutes"),
        zone=spec.zone,
        days=list(spec.days),
        hours=spec.hours,
        holidays=spec.holidays,
        source=source,
        created_by=actor,
        recorded_at=uow.now,
    )
    uow.session.add(row)
    return row


def _live_rotation(session: Session, name: str) -> ScheduleRotation | None:
    return session.scalars(
        select(ScheduleRotation).where(col(ScheduleRotation.name) == name, col(ScheduleRotation.retired_at).is_(None))
    ).first()


def _rotation_details(spec: RotationSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "duty": spec.duty,
        "members": list(spec.members),
        "shift_minutes": spec.shift_minutes,
        "handoff": spec.handoff.isoformat(timespec="minutes"),
        "zone": spec.zone,
        "layer": spec.layer,
        "days": list(spec.days),
        "hours": spec.hours,
        "holidays": spec.holidays,
    }


def set_rotation(store: Store, login: str, spec: RotationSpec) -> bool:
    """Add the rotation, or replace the one of that name from now on; True if it was new."""
    spec.validate()
    service = Service(store, login)
    with store.write(login) as uow:
        _editor(uow.session, service, "schedule rotation", _("changing the duty schedule"))
        old = _live_rotation(uow.session, spec.name)
        if old is not None:
            old.retired_at = uow.now
        _add_rotation(uow, spec, login, "")
        uow.record(
            "schedule_rotation",
            {**_rotation_details(spec), "replaced": old is not None},
            entity="schedule",
            entity_id=spec.duty,
        )
    return old is None


def remove_rotation(store: Store, login: str, name: str) -> None:
    service = Service(store, login)
    with store.write(login) as uow:
        _editor(uow.session, service, "schedule rotation remove", _("changing the duty schedule"))
        old = _live_rotation(uow.session, name)
        if old is None:
            raise NotFound(
                "no_rotation",
                _("no rotation named {name!r}").format(name=name),
                _("see `opsdeck schedule show`"),
            )
        old.retired_at = uow.now
        uow.record("schedule_rotation_removed", {"name": name, "duty": old.duty}, entity="schedule", entity_id=old.duty)


def add_override(
    store: Store, login: str, duty: str, member: str, start: datetime, end: datetime, note: str = ""
) -> int:
    """`member` covers `duty` from `start` to `end`, replacing the rotation; the slot's id."""
    duty = check_duty(duty)
    service = Service(store, login)
    with store.write(login) as uow:
        _editor(uow.session, service, "schedule override", _("adding an override for someone else"), own=(member,))
        _range(start, end, uow.now)
        _member(uow.session, member, duty)
        slot = ScheduleSlot(
            kind="override",
            duty=duty,
            login=member,
            starts_at=start,
            ends_at=end,
            note=note.strip()[:2000],
            created_by=login,
            recorded_at=uow.now,
        )
        uow.session.add(slot)
        uow.session.flush()
        uow.record(
            "schedule_override",
            {
                "id": slot.id,
                "duty": duty,
                "login": member,
                "from": rfc3339(start),
                "until": rfc3339(end),
                "note": slot.note,
            },
            entity="schedule",
            entity_id=duty,
        )
        return int(slot.id or 0)


def remove_slot(store: Store, login: str, slot_id: int) -> ScheduleSlot:
    """Retire an override or a swap from now on (its past stays as it was)."""
    service = Service(store, login)
    with store.write(login) as uow:
        slot = uow.session.get(ScheduleSlot, slot_id)
        if slot is None or slot.retired_at is not None or slot.kind not in ("override", "swap"):
            raise NotFound(
                "no_override",
                _("no override or swap #{id} in force").format(id=slot_id),
                _("see the ids in `opsdeck schedule show`"),
            )
        _editor(
            uow.session,
            service,
            "schedule override remove",
            _("removing an override for someone else"),
            own=tuple(x for x in (slot.login, slot.other) if x),
        )
        if slot.ends_at is not None and slot.ends_at <= uow.now:
            raise DomainError(
                "override_over",
                _("override #{id} is over; the past is not rewritten").format(id=slot_id),
                _("nothing to do"),
            )
        if slot.starts_at <= uow.now:
            # Running: it ends now (the part already served stays); the row is kept.
            slot.ends_at = uow.now
        slot.retired_at = uow.now if slot.starts_at > uow.now else None
        uow.record(
            "schedule_override_removed",
            {"id": slot_id, "kind": slot.kind, "duty": slot.duty, "login": slot.login},
            entity="schedule",
            entity_id=slot.duty,
        )
        return slot


def add_swap(store: Store, login: str, duty: str, first: str, second: str, start: datetime, end: datetime) -> int:
    """`first` and `second` trade their scheduled time on `duty` within the range."""
    duty = check_duty(duty)
    if first == second:
        raise InvalidInput("swap_self", _("a swap needs two different members"), _("name the other member"))
    service = Service(store, login)
    with store.write(login) as uow:
        _editor(uow.session, service, "schedule swap", _("swapping others' shifts"), own=(first, second))
        _range(start, end, uow.now)
        _member(uow.session, first, duty)
        _member(uow.session, second, duty)
        slot = ScheduleSlot(
            kind="swap",
            duty=duty,
            login=first,
            other=second,
            starts_at=start,
            ends_at=end,
            created_by=login,
            recorded_at=uow.now,
        )
        uow.session.add(slot)
        uow.session.flush()
        uow.record(
            "schedule_swap",
            {"id": slot.id, "duty": duty, "logins": [first, second], "from": rfc3339(start), "until": rfc3339(end)},
            entity="schedule",
            entity_id=duty,
        )
        return int(slot.id or 0)


def held_duties(member: RosterMember) -> list[str]:
    held = [d for d in member.duties if d in DUTIES]
    if member.permission == Permission.LEAD.value:
        held.append(LEAD_DUTY)
    return held


def take(uow: UnitOfWork, member: RosterMember, on: bool) -> bool:
    """`roster duty LOGIN on|off`, `T`: a take on each of the member's duties from now
    until ended, or end the running ones. True if anything changed."""
    running = list(
        uow.session.scalars(
            select(ScheduleSlot).where(
                col(ScheduleSlot.kind) == "take",
                col(ScheduleSlot.login) == member.login,
                col(ScheduleSlot.ends_at).is_(None),
                col(ScheduleSlot.retired_at).is_(None),
            )
        )
    )
    if on:
        held = set(held_duties(member)) or {NO_AREA}
        missing = sorted(held - {slot.duty for slot in running})
        for duty in missing:
            uow.session.add(
                ScheduleSlot(
                    kind="take",
                    duty=duty,
                    login=member.login,
                    starts_at=uow.now,
                    created_by=uow.actor,
                    recorded_at=uow.now,
                )
            )
        return bool(missing)
    for slot in running:
        slot.ends_at = uow.now
    return bool(running)


def sources_of(path: Path) -> str:
    return str(path.resolve())
