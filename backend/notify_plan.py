"""Who must be told, written as outbox rows in the transaction of the cause.

The routes come from the stored routing version (`opsdeck channels apply`; a new store
has the plan's defaults, docs/plan.md#notifications): a new incident goes to the operators on duty; a
classification at level III or above to the group lead(s), leadership (所领导) and
every business department (各业务部室); each escalation to its rule's targets. One row
per recipient, even when the recipient has no channel yet: the sender then marks it
failed, "no channel for RECIPIENT", and nothing is lost.
"""

from __future__ import annotations

from typing import Any, TypedDict

from sqlalchemy import select
from sqlmodel import Session, col

from . import clocks, memo, routing
from .domain import Level
from .models import Incident, IncidentDeadline, RosterMember, RoutingVersion, table_of
from .recipients import ROSTER_TABLES, resolve_targets
from .store import UnitOfWork
from .timeutil import rfc3339


def after(uow: UnitOfWork, action: str, incident: Incident, details: dict[str, Any], seq: int) -> None:
    """The notification events a service action causes."""
    if action == "open":
        route(uow, "new_incident", incident, seq)
    if action in ("open", "classify", "level", "regrade") and _reached_level_iii(incident, details):
        route(uow, "level_iii", incident, seq)
    if action == "resolve":
        route(uow, "resolved", incident, seq)


def _reached_level_iii(incident: Incident, details: dict[str, Any]) -> bool:
    if not incident.level or Level(incident.level).rank < Level.III.rank:
        return False
    before = details.get("from_level")
    return before is None or Level(before).rank < Level.III.rank


def load(session: Session) -> routing.Routing:
    """The current routing version, read once per transaction (backend/memo.py)."""
    return memo.remembered(session, ("routing",), ("routing_versions",), lambda: _read(session))


_PARSED: dict[tuple[int, str], routing.Routing] = {}  # versions never change once stored


def _read(session: Session) -> routing.Routing:
    table = table_of(RoutingVersion).c
    newest = session.execute(select(table.version, table.hash).order_by(table.version.desc()).limit(1)).first()
    if newest is None:
        return routing.parse({}, 0)
    version, digest = newest
    found = _PARSED.get((version, digest))
    if found is None:
        document = session.execute(select(table.document).where(table.version == version)).scalar_one()
        found = _PARSED[(version, digest)] = routing.parse(document, version)
    return found


def route(
    uow: UnitOfWork,
    event: str,
    incident: Incident,
    seq: int,
    *,
    rule_targets: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Write one outbox row per recipient the matching routes name; returns how many."""
    routes = load(uow.session).routes
    system = memo.system(uow.session, incident.system_id)
    # Read once, not once a route: each read of an ORM attribute goes through its descriptor.
    level, category, system_name = incident.level, incident.category, system.name if system else None
    recipients: list[dict[str, str]] = []
    for r in routes:
        if not r.matches(event, level, category, system_name):
            continue
        specs = tuple(t for t in r.to if t != "rule")
        if "rule" in r.to:
            recipients += rule_targets or []
        recipients += resolve_targets(uow.session, incident, specs, fallback=False, at=uow.now) if specs else []
    payload = {"event": event, "incident": incident_payload(uow.session, incident), **(extra or {})}
    return write_rows(
        uow, event, recipients, payload, incident_id=incident.id, key=f"incident-{incident.id}-{seq}-{event}"
    )


def write_rows(
    uow: UnitOfWork,
    event: str,
    recipients: list[dict[str, str]],
    payload: dict[str, Any],
    *,
    incident_id: int | None,
    key: str,
) -> int:
    """One outbox row per distinct recipient, each keyed `KEY-KIND-TO` (the idempotency key
    a receiver sees); returns how many."""
    seen: set[tuple[str, str]] = set()
    for target in recipients:
        pair = (target["kind"], target["to"])
        if pair in seen:
            continue
        seen.add(pair)
        uow.outbox(
            event_name=event,
            recipient_kind=target["kind"],
            recipient=target["to"],
            incident_id=incident_id,
            payload=payload,
            key=f"{key}-{target['kind']}-{target['to']}",
        )
    return len(seen)


class NextDue(TypedDict):
    """The earliest clock still running, as a message names it."""

    rule: str
    name: str
    name_zh: str
    due_at: str


class IncidentPayload(TypedDict):
    """The incident in a message's payload: the webhook's JSON, the templates' fields."""

    id: int | None  # as the model has it: set once the incident is flushed
    title: str
    category: str
    level: str | None
    status: str
    owner: str | None
    owner_name: str | None
    system: str | None
    reported_at: str
    next_due: NextDue | None


def incident_payload(session: Session, incident: Incident) -> IncidentPayload:
    """The incident as a message tells it: the webhook's JSON and the templates' fields
    (system and owner by name, the next deadline due with its name in both languages)."""
    system = memo.system(session, incident.system_id)
    owner = _member_name(session, incident.owner) if incident.owner else None
    return {
        "id": incident.id,
        "title": incident.title,
        "category": incident.category,
        "level": incident.level,
        "status": incident.status,
        "owner": incident.owner,
        "owner_name": owner,
        "system": system.name if system else None,
        "reported_at": rfc3339(incident.reported_at),
        "next_due": _next_due(session, incident),
    }


def _member_name(session: Session, login: str) -> str | None:
    """A member's name, read once per transaction (a sweep tells of many incidents of
    one owner): read again if the transaction writes the roster (backend/memo.py)."""
    return memo.remembered(
        session,
        ("member_name", login),
        ROSTER_TABLES,
        lambda: session.execute(select(col(RosterMember.name)).where(col(RosterMember.login) == login)).scalar(),
    )


def _next_due(session: Session, incident: Incident) -> NextDue | None:
    """The earliest clock still running: what is due, and by when."""
    held = clocks.held_rows(session, incident.id)
    if held is not None:  # as the query below, without asking the store again
        live = [r for r in held if r.met_at is None and r.superseded_at is None]
        row = min(live, key=lambda r: r.due_at) if live else None
    else:
        row = _first_running(session, incident)
    if row is None:
        return None
    rule = clocks.load_policy(session, incident.policy_version).deadlines.rule(row.rule)
    return {
        "rule": row.rule,
        "name": rule.name if rule else row.rule,
        "name_zh": rule.name_zh if rule else "",
        "due_at": rfc3339(row.due_at),
    }


def _first_running(session: Session, incident: Incident) -> IncidentDeadline | None:
    return (
        session.execute(
            select(IncidentDeadline)
            .where(
                col(IncidentDeadline.incident_id) == incident.id,
                col(IncidentDeadline.met_at).is_(None),
                col(IncidentDeadline.superseded_at).is_(None),
            )
            .order_by(col(IncidentDeadline.due_at), col(IncidentDeadline.id))  # ties in the order they were set
            .limit(1)
        )
        .scalars()
        .first()
    )
