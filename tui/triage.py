"""The actions an operator takes on incidents, in one registry: the keys on the board
and in the detail screen, the command palette, and whether each one writes (viewers
and read-only sessions see none of those); and what decides their outcome (a bulk
action's partial success, the values a form gives) without drawing anything.

The screens' side (the forms each action opens, the workers it runs in) is
`screens/incident_actions.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypeAlias

from textual.binding import Binding

from opsdeck.backend.domain import CATEGORY_DUTY, Category
from opsdeck.backend.errors import InvalidInput, OpsdeckError, StaleWrite
from opsdeck.backend.i18n import _
from opsdeck.backend.timeutil import TimeFormatError, parse_time
from opsdeck.tui.board_words import board_text

if TYPE_CHECKING:
    from opsdeck.backend.service import Service

Target = tuple[int, int | None]  # an incident and the version the screen shows of it
Call: TypeAlias = "Callable[[Service, int, int | None], Any]"


@dataclass(frozen=True)
class IncidentAction:
    name: str  # the action: `action_<name>` on the screens
    key: str
    label: str
    help: str
    writes: bool = True
    bulk: bool = False  # works on the marked rows of the board

    @property
    def binding(self) -> Binding:
        return Binding(self.key, self.name, self.label, id=f"incident.{self.name}", show=False)


ACTIONS: tuple[IncidentAction, ...] = (
    IncidentAction("ack", "a", _("Acknowledge"), _("someone is on it"), bulk=True),
    IncidentAction("classify", "c", _("Classify"), _("category and level (a re-grade needs a reason)")),
    IncidentAction("level", "v", _("Level"), _("change the level (lowering it is for leads)")),
    IncidentAction("assign", "o", _("Assign"), _("make a roster member the owner"), bulk=True),
    IncidentAction("note", "m", _("Note"), _("add a note ($EDITOR with ctrl+e)")),
    IncidentAction("cause", "u", _("Cause located"), _("the cause is known (meets the vendor clock)")),
    IncidentAction("outage", "t", _("Outage start"), _("correct when the outage started")),
    IncidentAction("attest", "b", _("Attest"), _("a level III+ obligation is met: who, when, how")),
    IncidentAction("regrade", "e", _("Re-grade"), _("the outage passed the level's bound: confirm or decline")),
    IncidentAction("resolve", "r", _("Resolve"), _("service is back: say how")),
    IncidentAction("close", "C", _("Close"), _("with the record, as a false alarm, or as a duplicate"), bulk=True),
    IncidentAction("reopen", "R", _("Reopen"), _("a resolved one comes back; a closed one opens a linked new one")),
    IncidentAction("call", "l", _("Log call"), _("the service desk logs a call about it (call-back owed: y)")),
    IncidentAction(
        "record", "w", _("Record"), _("the post-incident record: the draft to edit and file, or as filed"), writes=False
    ),
)
BY_NAME = {a.name: a for a in ACTIONS}
WRITING = frozenset(a.name for a in ACTIONS if a.writes) | {"new_incident", "tick", "skip", "duty"}


# -- what decides an action's outcome ----------------------------------------------------


def run_bulk(service: Service, done_as: str, call: Call, targets: list[Target], zone: tzinfo) -> str:
    """Each incident on its own version; report partial success as it is. `done_as`
    says how many were done, e.g. "{count} closed" (already looked up); a refusal is
    told in the board's words, its times in `zone`."""
    done = stale = refused = 0
    last = ""
    for incident_id, version in targets:
        try:
            call(service, incident_id, version)
            done += 1
        except StaleWrite:
            stale += 1
        except OpsdeckError as error:
            refused += 1
            last = board_text(error, zone)
    parts = [done_as.format(count=done)]
    if stale:
        parts.append(_("{count} changed by others: reloaded, not changed").format(count=stale))
    if refused:
        parts.append(_("{count} refused ({error})").format(count=refused, error=last))
    return _(", ").join(parts)


def performed(result: Any, message: str, *, reopened: int | None = None) -> str:
    """What an action says it did. `reopened`: the incident a reopen was asked of; a
    closed one is final, and the service opens a new one linked to it."""
    new_id = getattr(result, "id", None)
    if reopened is not None and new_id and new_id != reopened:
        return _("{message}: a closed incident is final, so #{new_id} was opened, linked to it").format(
            message=message, new_id=new_id
        )
    return message


def owner_duties(category: str, system_duty: str | None) -> set[str]:
    """The duties whose members are suggested first as an incident's owner: its
    system's and its category's."""
    category_duty = CATEGORY_DUTY.get(Category(category))
    return {d for d in (system_duty, category_duty.value if category_duty else None) if d}


def outage_start(text: str, now: datetime, zone: tzinfo) -> datetime:
    try:
        return parse_time(text, now, zone)
    except TimeFormatError as error:
        raise InvalidInput("bad_time", str(error), _("e.g. -40m or 2026-11-28T03:10:00+08:00")) from None


def call_answers(callback: str, at: str, now: datetime, zone: tzinfo) -> tuple[bool, datetime | None]:
    """A logged call's form: whether a call-back is owed (y/n, empty: no) and when it
    came in (empty: now)."""
    answer = callback.strip().lower()
    if answer not in ("", "y", "yes", "n", "no"):
        raise InvalidInput(
            "bad_answer",
            _("call-back owed: {answer!r} is not y or n").format(answer=answer),
            _("answer y or n"),
        )
    when = None
    if at.strip():
        try:
            when = parse_time(at, now, zone)
        except TimeFormatError as error:
            raise InvalidInput("bad_time", str(error), _("e.g. -20m or 09:40, or leave it empty: now")) from None
    return answer in ("y", "yes"), when


def closing(values: dict[str, Any], zone: tzinfo) -> Call:
    """How the close form's answer closes one incident: with the record, as a false
    alarm, or as a duplicate."""
    kind = values["kind"]
    original = int(values["original"]) if values["original"] else None

    def close(s: Service, i: int, v: int | None) -> Any:
        if kind == "false_alarm":
            return s.close(i, false_alarm_reason=values["reason"] or "", expected_version=v)
        if kind == "duplicate":
            return s.close(i, duplicate_of=original, expected_version=v)
        return s.close(i, zone=zone, expected_version=v)

    return close
