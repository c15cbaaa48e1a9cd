"""The board as it was at a past moment (`opsdeck board --at TIME`), for handovers and
audits: rebuilt from the incidents' audit trails, not from what the store holds now.

What is rebuilt, and how:

- Which incidents were on the board: those reported at or before the moment and not
  closed by then (`reported_at` and `closed_at` are written once and never change).
  Resolved incidents count, as on the live board.
- Status, category, level and owner: each incident's audit events up to the moment,
  replayed in chain order (`seq`). The chain is read up to its first event after the
  moment, so a host with a skewed clock cannot make a later change count earlier.
- The clocks: the stored `IncidentDeadline` rows are not used. They hold only their
  latest values (a re-pin to a new policy moves `due_at`; a clock re-derived after a
  level change gets its `met_at` and `superseded_at` overwritten) and no creation
  time. Instead the deadline engine is run again: after each replayed event, the
  incident's facts as of that event go through `deadlines.derive` and the rules of
  `clocks.sync`, under the policy version the incident was pinned to then. Escalation
  times come from the `escalate` events. The states are `deadlines.state` at the
  moment, and `next_deadline` is `queries.next_deadline`'s pick.

What cannot be rebuilt exactly, and the choice made:

- The policy version an incident was pinned to when it opened is not in its `open`
  event: it is the `from` of its first re-pin (classify, level, reopen, outage,
  regrade), else the version the incident holds now.
- An incident reopened from a closed one copies the original's category, level and
  owner, which the `open` event does not repeat: they are read from the original,
  which has not changed since it was closed (a closed incident is final).
- Titles and systems are read from the store: no action changes them.
- Actions this module does not know (calls, call-backs, anything added later) are
  taken as changing none of the board's facts. An action that does must be taught
  to `_changes`.
- Stores upgraded from before the deadline engine got their clocks at the upgrade;
  the replay shows them as if the engine had always run.

A moment before the store's first audit event, or after `now`, is refused with
`InvalidInput`: the store recorded nothing then, so an empty board would be a claim
it cannot make, and the future is the live board's business.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypedDict

from sqlalchemy import Row, Select, func, or_, select
from sqlmodel import Session

from . import clocks, deadlines, queries, ranking
from .board import OPEN
from .domain import SYSTEM_ACTOR_PREFIX, Category, CloseKind, Status
from .errors import InvalidInput
from .i18n import _
from .models import AuditEvent, Incident, System, table_of
from .rows import ClockItem, NextDeadline
from .timeutil import as_utc, rfc3339, utcnow

# Actions that re-pin the incident to the current policy (`Service._repin`).
REPIN_ACTIONS = ("classify", "level", "reopen", "outage", "regrade")
# Actions that are activity (`Service._touched`): they renew the acknowledgement lease.
# A note by a machine (a probe's or an alert source's recovery) is not (`machine_note`).
ACTIVITY_ACTIONS = frozenset(
    (
        "open",
        "ack",
        "classify",
        "level",
        "assign",
        "note",
        "step",
        "cause",
        "resolve",
        "close",
        "reopen",
        "outage",
        "attest",
        "regrade",
    )
)
_NEVER = datetime.max.replace(tzinfo=UTC)

__all__ = ["board_at"]

_I = table_of(Incident).c
_E = table_of(AuditEvent).c


@dataclass(frozen=True)
class Event:
    seq: int
    at: datetime
    action: str
    details: dict[str, Any]
    actor: str = ""


@dataclass
class ClockRow:
    """One clock as `clocks.sync` would have stored it at the time replayed so far."""

    rule: str
    clock_key: str
    clock_start: datetime
    due_at: datetime
    warn_at: datetime
    order: int  # creation order: the live board breaks due-time ties by row id
    met_at: datetime | None = None
    next_level: str | None = None
    superseded_at: datetime | None = None
    waived_at: datetime | None = None
    waived_by: str | None = None
    escalated_at: datetime | None = None
    escalated_to: list[Any] = field(default_factory=list)


@dataclass
class Replay:
    """One incident, replayed event by event."""

    id: int
    facts: deadlines.Facts
    policy_version: int
    owner: str | None = None
    clocks: dict[tuple[str, str], ClockRow] = field(default_factory=dict)
    running: set[tuple[str, str]] = field(default_factory=set)  # neither met nor superseded


Rules = Callable[[int], deadlines.DeadlinePolicy]


class ReplayRow(TypedDict):
    """One incident on the board as it stood (`board_at`; `board --at --json`)."""

    id: int
    title: str
    system: str | None
    status: str
    category: str
    level: str | None
    owner: str | None
    reported_at: str
    policy_version: int
    deadlines: list[ClockItem]
    next_deadline: NextDeadline | None


def board_at(session: Session, at: datetime, *, now: datetime | None = None) -> list[ReplayRow]:
    """Every incident on the board at `at`, as it stood then, in the live board's order.

    Each row: `id`, `title`, `system`, `reported_at`, and as of `at` its `status`,
    `category`, `level`, `owner`, `policy_version`, `deadlines` (the clocks that
    applied then, shaped as `queries.incident_deadlines` shapes them, states at `at`)
    and `next_deadline` (`queries.next_deadline` of those, or None). Times are RFC 3339.

    `now` (default: the wall clock; pass the store's clock) bounds the moment: a
    later one is refused, as is one before the store's first audit event."""
    at = _check_moment(session, at, now)
    incidents = session.execute(_open_at(at)).all()
    if not incidents:
        return []
    ids = _open_ids(at)
    trails = _trails(session, ids, at)
    first_pins = _first_pins(session, ids)
    policies: dict[int, deadlines.DeadlinePolicy] = {}

    def rules(version: int) -> deadlines.DeadlinePolicy:
        if version not in policies:
            policies[version] = clocks.load_policy(session, version).deadlines
        return policies[version]

    board = []
    for incident in incidents:
        replay = _replay_incident(incident, trails.get(incident.id, []), first_pins, rules)
        if replay is not None and replay.facts.status in OPEN:
            board.append((_board_order(replay, at), _row(replay, incident, rules(replay.policy_version), at)))
    board.sort(key=lambda pair: pair[0])
    return [row for _, row in board]


# -- the moment and the reads ------------------------------------------------------------


def _check_moment(session: Session, at: datetime, now: datetime | None) -> datetime:
    try:
        at = as_utc(at)
    except ValueError:
        raise InvalidInput(
            "naive_time", _("the moment has no time zone"), _("give an offset: ...Z or ...+08:00")
        ) from None
    now = as_utc(now) if now is not None else utcnow()
    if at > now:
        raise InvalidInput(
            "future_moment",
            _("{at} has not happened yet (now is {now})").format(at=rfc3339(at), now=rfc3339(now)),
            _("give a past time, e.g. -2h; the live board shows now"),
            at=rfc3339(at),
        )
    # The earliest time on record, not the first row: imports and the demo write events
    # stamped before the roster import that came first (an index on `at` keeps this cheap).
    first = session.execute(select(func.min(_E.at))).scalar_one_or_none()
    if first is None:
        raise InvalidInput(
            "before_history", _("the store has recorded nothing yet"), _("replay once something happened")
        )
    if at < first:
        raise InvalidInput(
            "before_history",
            _("the store recorded nothing before {start}; {at} is earlier").format(
                start=rfc3339(first), at=rfc3339(at)
            ),
            _("give a time at or after {start}").format(start=rfc3339(first)),
            at=rfc3339(at),
            start=rfc3339(first),
        )
    return at


def _open_ids(at: datetime) -> Select[Any]:
    """Reported by `at` and not closed by then (both columns are written once)."""
    return select(_I.id).where(_I.reported_at <= at, or_(_I.closed_at.is_(None), _I.closed_at > at))


def _open_at(at: datetime) -> Select[Any]:
    systems, originals = table_of(System).c, table_of(Incident).alias("original")
    original = originals.c
    joined = (
        table_of(Incident)
        .outerjoin(table_of(System), _I.system_id == systems.id)
        .outerjoin(originals, _I.reopened_from == original.id)
    )
    return (
        select(
            _I.id,
            _I.title,
            _I.reported_at,
            _I.policy_version,
            systems.name.label("system"),
            original.category.label("original_category"),
            original.level.label("original_level"),
            original.owner.label("original_owner"),
        )
        .select_from(joined)
        .where(_I.id.in_(_open_ids(at)))
    )


def _trails(session: Session, ids: Select[Any], at: datetime) -> dict[int, list[Event]]:
    """Each chain up to its first event after `at`: one query for every incident."""
    rows = session.execute(
        select(_E.incident_id, _E.seq, _E.at, _E.action, _E.details, _E.actor)
        .where(_E.incident_id.in_(ids), _E.at <= at)
        .order_by(_E.incident_id, _E.seq)
    )
    trails: dict[int, list[Event]] = {}
    for row in rows:
        trail = trails.setdefault(row.incident_id, [])
        # Contiguous from seq 1 only: past a gap, a later link was stamped after `at`.
        if len(trail) + 1 == row.seq:
            trail.append(Event(row.seq, row.at, row.action, json.loads(row.details), row.actor))
    return trails


def _first_pins(session: Session, ids: Select[Any]) -> dict[int, int]:
    """The policy version each incident opened under, where a later re-pin says it."""
    rows = session.execute(
        select(_E.incident_id, _E.details)
        .where(
            _E.incident_id.in_(ids),
            _E.action.in_(REPIN_ACTIONS),
            _E.details.like('%"policy_version"%'),
        )
        .order_by(_E.incident_id, _E.seq)
    )
    pins: dict[int, int] = {}
    for incident_id, details in rows:
        pinned = json.loads(details).get("policy_version")
        if isinstance(pinned, dict) and incident_id not in pins:
            pins[incident_id] = int(pinned["from"])
    return pins


# -- replaying one incident --------------------------------------------------------------


def _replay_incident(
    incident: Row[Any], trail: Sequence[Event], first_pins: dict[int, int], rules: Rules
) -> Replay | None:
    """The incident after its `trail` (its chain from `open`), clocks and all."""
    if not trail or trail[0].action != "open":
        return None
    replay = _opened(incident, trail[0], first_pins.get(incident.id, incident.policy_version))
    _sync(replay, rules(replay.policy_version), trail[0].at)
    for event in trail[1:]:
        before = (replay.facts, replay.policy_version)
        _apply(replay, event)
        if (replay.facts, replay.policy_version) != before:
            _sync(replay, rules(replay.policy_version), event.at)
    return replay


def _opened(incident: Row[Any], event: Event, version: int) -> Replay:
    """The facts `Service.open_in` (or `_reopen_closed`) wrote."""
    at, details = event.at, event.details
    facts = deadlines.Facts(reported_at=at, outage_started_at=at, last_activity_at=at, system=incident.system)
    if "reopened_from" in details:  # a closed incident reopened as this one
        category = incident.original_category or Category.UNCLASSIFIED.value
        level = incident.original_level
        classified = at if level and category != Category.UNCLASSIFIED else None
        facts = replace(
            facts,
            status=Status.ACKNOWLEDGED.value,
            acknowledged_at=at,
            category=category,
            level=level,
            classified_at=classified,
            level_since=at if level else None,
        )
        return Replay(incident.id, facts, version, owner=incident.original_owner)
    if details.get("outage_started_at"):
        facts = replace(facts, outage_started_at=_time(details["outage_started_at"]))
    if details.get("category"):
        facts = replace(facts, category=details["category"])
    if details.get("level"):
        facts = replace(facts, level=details["level"], level_since=at)
        if details.get("category"):
            facts = replace(facts, classified_at=at)
    facts = replace(facts, **_acknowledged(facts, details, at))
    return Replay(incident.id, facts, version)


def _apply(replay: Replay, event: Event) -> None:
    at, details = event.at, event.details
    if event.action == "assign":
        replay.owner = details["owner"]
    if event.action == "escalate":
        _escalated(replay, details, at)
    pinned = details.get("policy_version")
    if event.action in REPIN_ACTIONS and isinstance(pinned, dict):
        replay.policy_version = int(pinned["to"])
    changes = _changes(replay.facts, event.action, details, at)
    if event.action in ACTIVITY_ACTIONS and not machine_note(event):
        changes["last_activity_at"] = at
    if changes:
        replay.facts = replace(replay.facts, **changes)


def machine_note(event: Event) -> bool:
    """A note the worker or the receiver wrote (probe_health, alerts.intake)."""
    return event.action == "note" and event.actor.startswith(SYSTEM_ACTOR_PREFIX)


def _changes(facts: deadlines.Facts, action: str, details: dict[str, Any], at: datetime) -> dict[str, Any]:
    """What `action` changed in the facts the clocks read (see `Service`)."""
    if action == "ack":
        return {"status": Status.ACKNOWLEDGED.value, "acknowledged_at": at}
    if action == "classify":
        changes = {"category": details["category"], "classified_at": facts.classified_at or at}
        if details["level"] != facts.level:
            changes |= {"level": details["level"], "level_since": at}
        return changes | _acknowledged(facts, details, at)
    if action == "level":
        changes = {"level": details["level"], "level_since": at}
        if facts.classified_at is None and facts.category != Category.UNCLASSIFIED:
            changes["classified_at"] = at
        return changes | _acknowledged(facts, details, at)
    if action in ("assign", "note"):
        return _acknowledged(facts, details, at)
    if action == "cause":
        return {"cause_located_at": at}
    if action == "resolve":
        return {"status": Status.RESOLVED.value, "resolved_at": at, "acknowledged_at": facts.acknowledged_at or at}
    if action == "close":
        filed = at if details.get("kind") == CloseKind.RESOLVED else facts.record_filed_at
        return {"status": Status.CLOSED.value, "closed_at": at, "record_filed_at": filed}
    if action == "reopen":
        return {"status": Status.ACKNOWLEDGED.value, "resolved_at": None, "reopened_at": at}
    if action == "outage":
        return {"outage_started_at": _time(details["outage_started_at"])}
    if action == "attest":
        return {"attested": _attested(facts, details["obligation"], at)}
    if action == "regrade" and details.get("confirmed"):
        return {"level": details["level"], "level_since": at}
    if action == "regrade":
        return {"attested": _attested(facts, f"regrade@{details['bound_hours']}h", at)}
    if action == "escalate" and "regraded" in details:
        return {"level": details["regraded"]["to"], "level_since": at}
    return {}


def _acknowledged(facts: deadlines.Facts, details: dict[str, Any], at: datetime) -> dict[str, Any]:
    """`Service._ack_implied`: the action acknowledged a reported incident."""
    if details.get("acknowledged") and facts.status == Status.REPORTED:
        return {"status": Status.ACKNOWLEDGED.value, "acknowledged_at": at}
    return {}


def _attested(facts: deadlines.Facts, key: str, at: datetime) -> dict[str, tuple[datetime, ...]]:
    return {**facts.attested, key: tuple(sorted((*facts.attested.get(key, ()), at)))}


def _escalated(replay: Replay, details: dict[str, Any], at: datetime) -> None:
    clock = replay.clocks.get((details["rule"], details["clock"]))
    if clock is not None and clock.escalated_at is None:
        clock.escalated_at, clock.escalated_to = at, list(details.get("targets", []))


def _sync(replay: Replay, rules: deadlines.DeadlinePolicy, now: datetime) -> None:
    """`clocks.sync` on the replayed facts: add, update, meet or supersede clocks.

    Only running clocks are looked at again (as `clocks.sync` skips met and superseded
    ones), so an incident with a thousand notes stays linear."""
    facts, stored, running = replay.facts, replay.clocks, replay.running
    derived = {(c.rule, c.clock_key): c for c in deadlines.derive(facts, rules)}
    for key, clock in derived.items():
        row = stored.get(key)
        if row is None:
            row = ClockRow(clock.rule, clock.clock_key, clock.clock_start, clock.due_at, clock.warn_at, len(stored))
            stored[key] = row
        row.due_at, row.warn_at, row.met_at = clock.due_at, clock.warn_at, clock.met_at
        row.next_level, row.superseded_at = clock.next_level, None
        row.waived_at, row.waived_by = clock.waived_at, clock.waived_by
        (running.add if clocks.running(row) else running.discard)(key)
    for key in running - derived.keys():
        row = stored[key]
        row.met_at, row.waived_at, row.waived_by = deadlines.ended(rules.rule(row.rule), facts, row)
        if row.met_at is None and row.waived_at is None:
            if facts.closed_at is not None:
                continue  # overdue at the close: stays breached
            row.superseded_at = now
        running.discard(key)


# -- the board row -----------------------------------------------------------------------


def _row(replay: Replay, incident: Row[Any], rules: deadlines.DeadlinePolicy, at: datetime) -> ReplayRow:
    items = _deadline_items(replay, rules, at)
    return {
        "id": replay.id,
        "title": incident.title,
        "system": incident.system,
        "status": replay.facts.status,
        "category": replay.facts.category,
        "level": replay.facts.level,
        "owner": replay.owner,
        "reported_at": rfc3339(incident.reported_at),
        "policy_version": replay.policy_version,
        "deadlines": items,
        "next_deadline": queries.next_deadline(items),
    }


def _deadline_items(replay: Replay, rules: deadlines.DeadlinePolicy, at: datetime) -> list[ClockItem]:
    """The clocks at `at`, replaced ones included, shaped as `queries.incident_deadlines`
    shapes them."""
    shown = sorted(replay.clocks.values(), key=lambda c: (c.due_at, c.order))
    return [queries.clock_item(clock, rules.rule(clock.rule), at, clock.escalated_to) for clock in shown]


def _board_order(replay: Replay, at: datetime) -> tuple[bool, bool, Any, int, int]:
    """The live board's default sort (`board.load_keys`, "due"; backend/ranking.py) at
    `at`: pressing reporting clocks first, then the clock that ranks each incident by due
    time, so breached ones lead; then the most severe; then id. Incidents with no clock
    running come last."""
    clock, pressing = ranking.ranking_clock(
        [c for c in replay.clocks.values() if clocks.running(c)],
        rule=lambda c: c.rule,
        due=lambda c: c.due_at,
        pressing=lambda c: at >= c.warn_at,
    )
    return ranking.order_key(pressing, clock.due_at if clock else None, replay.facts.level, replay.id)


def _time(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))
