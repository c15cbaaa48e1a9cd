"""What the audit trail vouches for: the rows as their events left them.

Every event that changes an incident carries the incident's state after the change
(`row`); a roster import carries each member it added or changed (`roster_rows`); a
policy or channels version carries its version and a digest of its document (`row`).
An upgrade to schema 0013 writes one `baseline` event per existing row. `check_rows`
then compares the current rows with the newest state the trail holds for each, and
names every difference ("incident 5: level is IV, the trail says II").

Personal data and secrets never go into the trail in clear: phone numbers, e-mail
addresses and channel documents (their URLs hold tokens) go in as an HMAC-SHA256
keyed with the store's own key (`store_settings`, made by the 0013 upgrade), so the
trail can vouch for them without showing them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select, text
from sqlmodel import Session, col

from .i18n import _
from .models import AuditEvent, Incident, PolicyVersion, RosterMember, RoutingVersion

KEY_SETTING = "audit_hmac_key"
INCIDENT_FIELDS = ("title", "status", "level", "category", "owner", "system_id")
MEMBER_FIELDS = ("name", "permission", "duties", "phone", "email")
_SECRET_MEMBER_FIELDS = ("phone", "email")
VERSIONED = {"policy": PolicyVersion, "channels": RoutingVersion}


def store_key(session: Session) -> bytes | None:
    """The store's HMAC key; None before the 0013 upgrade made one."""
    if not inspect(session.connection()).has_table("store_settings"):
        return None
    value = session.execute(
        text("SELECT value FROM store_settings WHERE key = :k"), {"k": KEY_SETTING}
    ).scalar_one_or_none()
    return None if value is None else bytes.fromhex(str(value))


def digest(key: bytes | None, value: Any) -> str | None:
    """`hmac-sha256:<hex>` of a value's canonical JSON; None and "" stay as they are."""
    if value is None or value == "":
        return value  # type: ignore[no-any-return]
    if key is None:
        return None
    body = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "hmac-sha256:" + hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def incident_state(incident: Incident) -> dict[str, Any]:
    held = incident.__dict__  # the values the ORM holds, without its descriptors (twice an event)
    return {name: held[name] if name in held else getattr(incident, name) for name in INCIDENT_FIELDS}


def member_state(member: RosterMember, key: bytes | None) -> dict[str, Any]:
    state: dict[str, Any] = {name: getattr(member, name) for name in MEMBER_FIELDS}
    state["duties"] = sorted(state["duties"] or [])
    for name in _SECRET_MEMBER_FIELDS:
        state[name] = digest(key, state[name])
    return state


def version_state(row: Any, key: bytes | None) -> dict[str, Any]:
    return {"version": row.version, "document": digest(key, row.document)}


@dataclass(frozen=True)
class RowProblem:
    entity: str  # incident:5, roster:alice, policy, channels
    field: str | None
    message: str


@dataclass
class _Vouched:
    incidents: dict[int, dict[str, Any]]
    members: dict[str, dict[str, Any]]
    versions: dict[str, dict[str, Any]]


def _vouched(events: Iterable[AuditEvent]) -> _Vouched:
    found = _Vouched({}, {}, {})
    for event in events:
        try:
            details = json.loads(event.details)
        except ValueError:
            continue  # an edited event: `verify` names it
        if not isinstance(details, dict):
            continue
        state = details.get("row")
        if event.incident_id is not None and isinstance(state, dict):
            found.incidents[event.incident_id] = state
        members = details.get("roster_rows")
        if isinstance(members, dict):
            found.members.update({k: v for k, v in members.items() if isinstance(v, dict)})
        for kind in VERSIONED:
            if (
                event.incident_id is None
                and isinstance(state, dict)
                and event.action in (f"{kind}_applied", f"{kind}_baseline")
            ):
                found.versions[kind] = state
    return found


def check_rows(session: Session) -> list[RowProblem]:
    """Every difference between the rows and what their newest events say."""
    if store_key(session) is None:
        return []  # a store before 0013: its events do not carry values yet
    key = store_key(session)
    events = session.execute(select(AuditEvent).order_by(col(AuditEvent.chain), col(AuditEvent.seq))).scalars()
    vouched = _vouched(events)
    problems: list[RowProblem] = []
    for incident in session.execute(select(Incident).order_by(col(Incident.id))).scalars():
        assert incident.id is not None
        said = vouched.incidents.get(incident.id)
        entity = f"incident:{incident.id}"
        if said is None:
            problems.append(
                RowProblem(
                    entity,
                    None,
                    _("incident {id}: no event vouches for it: it was added outside opsdeck").format(id=incident.id),
                )
            )
            continue
        for name, value in incident_state(incident).items():
            if said.get(name) != value:
                problems.append(
                    RowProblem(
                        entity,
                        name,
                        _("incident {id}: {field} is {value}, the trail says {said}").format(
                            id=incident.id, field=name, value=_shown(value), said=_shown(said.get(name))
                        ),
                    )
                )
    members = {m.login: m for m in session.execute(select(RosterMember).order_by(col(RosterMember.login))).scalars()}
    for login, member in members.items():
        said = vouched.members.get(login)
        entity = f"roster:{login}"
        if said is None:
            problems.append(
                RowProblem(
                    entity,
                    None,
                    _("roster member {login}: no event vouches for them: added outside opsdeck").format(login=login),
                )
            )
            continue
        for name, value in member_state(member, key).items():
            if said.get(name) != value:
                secret = name in _SECRET_MEMBER_FIELDS
                problems.append(
                    RowProblem(
                        entity,
                        name,
                        _("roster member {login}: {field} differs from the trail (kept as a digest)").format(
                            login=login, field=name
                        )
                        if secret
                        else _("roster member {login}: {field} is {value}, the trail says {said}").format(
                            login=login, field=name, value=_shown(value), said=_shown(said.get(name))
                        ),
                    )
                )
    for login in sorted(vouched.members.keys() - members.keys()):
        problems.append(
            RowProblem(
                f"roster:{login}",
                None,
                _("roster member {login}: the trail has them, the roster does not: removed outside opsdeck").format(
                    login=login
                ),
            )
        )
    for kind, model in VERSIONED.items():
        newest = session.execute(select(model).order_by(model.version.desc()).limit(1)).scalars().first()  # type: ignore[attr-defined]
        said = vouched.versions.get(kind)
        if newest is None and said is None:
            continue
        now = version_state(newest, key) if newest is not None else None
        if now != said:
            problems.append(RowProblem(kind, None, _version_message(kind, now, said)))
    return problems


def _version_message(kind: str, now: dict[str, Any] | None, said: dict[str, Any] | None) -> str:
    what = _("the policy") if kind == "policy" else _("the channels")
    if now is None or said is None or now["version"] != said.get("version"):
        return _("{what}: the newest version is {version}, the trail says {said}").format(
            what=what,
            version=_shown(now["version"] if now else None),
            said=_shown(said.get("version") if said else None),
        )
    return _("{what}: version {version} was edited outside opsdeck: its document differs from the trail").format(
        what=what, version=now["version"]
    )


def _shown(value: Any) -> str:
    if value is None:
        return _("(none)")
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or _("(none)")
    return str(value)
