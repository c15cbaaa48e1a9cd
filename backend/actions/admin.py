"""The roster, contacts, systems, policy, channels, templates, `--as`, and the outbox's retry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from .. import directory, documents, policy, vouch
from ..errors import DomainError, InvalidInput, NotFound
from ..i18n import _
from ..models import (
    Contact,
    PolicyVersion,
    RosterMember,
    System,
)
from ..store import UnitOfWork
from .base import ImportResult, ServiceBase


class AdminActions(ServiceBase):
    """The roster, contacts, systems, policy, channels, templates, `--as`, and the outbox's retry."""

    def roster_duty(self, login: str, on: bool) -> RosterMember:
        with self._write() as uow:
            if self.read_only or login != self.login:
                self._lead(
                    uow.session,
                    f"putting {login} {'on' if on else 'off'} duty",
                    shown=(_("putting {login} on duty") if on else _("putting {login} off duty")).format(login=login),
                )
            member = uow.session.scalars(select(RosterMember).where(col(RosterMember.login) == login)).one_or_none()
            if member is None:
                raise NotFound(
                    "no_member",
                    _("{login!r} is not on the roster").format(login=login),
                    _("see `opsdeck roster list`"),
                )
            from ..schedule_edit import take  # a shift taken is an override on the schedule

            if take(uow, member, on) or member.on_duty != on:
                member.on_duty = on
                uow.record("duty", {"login": login, "on_duty": on}, entity="roster", entity_id=login)
        return member

    def import_records(self, kind: str, path: Path, progress: Callable[[int, int], None] | None = None) -> ImportResult:
        parsed = directory.parse_file(path, kind)
        with self._write() as uow:
            self._lead(uow.session, f"{kind} import", bootstrap=True)
            result = _IMPORTERS[kind](uow, parsed, progress)
            if result.added or result.updated:
                vouched = _roster_rows(uow, result.added + result.updated) if kind == "roster" else {}
                uow.record(
                    f"{kind}_import",
                    {
                        "file": str(path),
                        **result.counts(),
                        "added": result.added,
                        "updated": result.updated,
                        **vouched,
                    },
                    entity=kind,
                    entity_id=str(path.name),
                )
                for name in result.added + result.updated:
                    uow.changed(kind, name, "import")
        return result

    def apply_channels(self, path: Path) -> tuple[int, bool]:
        """Channels and routes from a TOML file, as a new version (leads); secrets stay out
        of the audit trail: it records the hash and the channel names only."""
        from .. import routing
        from ..models import RoutingVersion

        document = routing.load_file(path)
        summary = {
            "channels": [c["name"] for c in document.get("channel", [])],
            "routes": len(document.get("route", [])),
        }
        return self._new_version(RoutingVersion, "channels", document, documents.document_hash(document), path, summary)

    def set_allow_as(self, on: bool) -> None:
        """The store's allow-as setting (leads): whether `--as` may act as another login
        here. The event is the setting (backend/identity.py reads the newest one)."""
        from ..identity import ALLOW_AS_ACTION

        with self._write() as uow:
            self._lead(uow.session, "allow-as", shown=_("changing the allow-as setting"))
            uow.record(ALLOW_AS_ACTION, {"allow_as": on}, entity="setting", entity_id="allow_as")

    def apply_templates(self, path: Path) -> tuple[int, bool]:
        """Message templates from a TOML file, merged over the shipped ones and checked
        whole (every template rendered in every format) before it is stored (leads)."""
        from .. import templates
        from ..models import TemplateVersion

        document = templates.load_file(path)
        summary = {"events": sorted(templates.events_in(path))}
        return self._new_version(
            TemplateVersion, "templates", document, documents.document_hash(document), path, summary
        )

    def retry_message(self, message_id: int) -> None:
        """A failed or dead message goes out again now (same idempotency key)."""
        from ..models import OutboxMessage

        with self._write() as uow:
            self._writer(uow.session, "retrying a notification")
            message = uow.session.get(OutboxMessage, message_id)
            if message is None:
                raise NotFound(
                    "no_message",
                    _("no notification #{id}").format(id=message_id),
                    _("see `opsdeck notify list`"),
                )
            if message.state not in ("failed", "dead"):
                raise DomainError(
                    "not_failed",
                    _("notification #{id} is {state}").format(id=message_id, state=message.state),
                    _("only failed or dead ones are retried"),
                )
            message.state, message.next_attempt_at, message.lease_until = "pending", uow.now, None
            uow.record(
                "notify_retry",
                {"message": message_id, "key": message.idempotency_key},
                entity="outbox",
                entity_id=message_id,
            )

    def apply_policy(self, path: Path) -> tuple[int, bool]:
        """Store the file as a new policy version; (version, whether it changed)."""
        document = policy.merged_with_defaults(policy.load_file(path))
        return self._new_version(PolicyVersion, "policy", document, documents.document_hash(document), path, {})

    def _new_version(
        self, model: Any, kind: str, document: dict[str, Any], digest: str, path: Path, summary: dict[str, Any]
    ) -> tuple[int, bool]:
        """A versioned document (the policy, the routing): lead-only, stored once per
        content, audited in the system chain with its hash (never its secrets)."""
        with self._write() as uow:
            self._lead(uow.session, f"{kind} apply", bootstrap=True)
            latest = uow.session.execute(select(model).order_by(col(model.version).desc()).limit(1)).scalars().first()
            if latest is not None and latest.hash == digest:
                return int(latest.version), False
            version = (latest.version if latest else 0) + 1
            uow.session.add(
                model(
                    version=version,
                    created_at=uow.now,
                    actor=self.login,
                    source=str(path),
                    hash=digest,
                    document=document,
                )
            )
            uow.session.flush()
            stored = uow.session.get(model, version)
            uow.record(
                f"{kind}_applied",
                {
                    "version": version,
                    "hash": digest,
                    "source": str(path),
                    **summary,
                    "row": vouch.version_state(stored, vouch.store_key(uow.session)),
                },
                entity=kind,
                entity_id=version,
            )
        return version, True


def _roster_rows(uow: UnitOfWork, logins: list[str]) -> dict[str, Any]:
    """What a roster import set, member by member: the values the trail vouches for,
    phone and e-mail as keyed digests (backend/vouch.py)."""
    uow.session.flush()
    key = vouch.store_key(uow.session)
    members = uow.session.execute(select(RosterMember).where(col(RosterMember.login).in_(logins))).scalars()
    return {"roster_rows": {m.login: vouch.member_state(m, key) for m in members}}


def _upsert(
    uow: UnitOfWork,
    model: Any,
    ident: str,
    rows: list[dict[str, Any]],
    progress: Callable[[int, int], None] | None,
) -> ImportResult:
    existing = {getattr(r, ident): r for r in uow.session.execute(select(model)).scalars()}
    added, updated, unchanged = [], [], []
    for index, data in enumerate(rows):
        key = data[ident]
        row = existing.get(key)
        if row is None:
            uow.session.add(model(**data))
            added.append(key)
        elif any(getattr(row, k) != v for k, v in data.items()):
            for k, v in data.items():
                setattr(row, k, v)
            updated.append(key)
        else:
            unchanged.append(key)
        if progress:
            progress(index + 1, len(rows))
    return ImportResult(model.__tablename__, added, updated, unchanged)


Parsed = list[tuple[directory.Record, dict[str, Any]]]


def _import_roster(uow: UnitOfWork, parsed: Parsed, progress: Any) -> ImportResult:
    result = _upsert(uow, RosterMember, "login", [data for _, data in parsed], progress)
    from ..schedule_edit import take  # the file's on_duty is a take on the schedule (docs/plan.md#duty-schedule)

    uow.session.flush()
    for _record, data in parsed:
        if "on_duty" in data:
            member = uow.session.scalars(select(RosterMember).where(col(RosterMember.login) == data["login"])).one()
            take(uow, member, bool(data["on_duty"]))
    return result


def _import_contacts(uow: UnitOfWork, parsed: Parsed, progress: Any) -> ImportResult:
    return _upsert(uow, Contact, "key", [data for _, data in parsed], progress)


def _import_systems(uow: UnitOfWork, parsed: Parsed, progress: Any) -> ImportResult:
    """Systems name a parent system and a vendor contact: both must resolve, no cycles."""
    rows = [data for _, data in parsed]
    contacts = set(uow.session.execute(select(col(Contact.key))).scalars())
    known = set(uow.session.execute(select(col(System.name))).scalars()) | {r["name"] for r in rows}
    for record, row in parsed:
        if row["vendor_contact"] and row["vendor_contact"] not in contacts:
            raise InvalidInput(
                "no_contact",
                _("{where}: vendor_contact: for system {name!r}, vendor_contact {contact!r} is not a contact").format(
                    where=record.where, name=row["name"], contact=row["vendor_contact"]
                ),
                _("import contacts first (opsdeck contacts import FILE) or fix the key"),
            )
        if row["parent"] and row["parent"] not in known:
            raise InvalidInput(
                "no_parent",
                _("{where}: parent: for system {name!r}, parent {parent!r} is not a system").format(
                    where=record.where, name=row["name"], parent=row["parent"]
                ),
                _("add the parent to the file or the catalog"),
            )
    where = {data["name"]: record.where for record, data in parsed}
    parents = {r["name"]: r.pop("parent") for r in rows}
    result = _upsert(uow, System, "name", rows, progress)
    uow.session.flush()
    ids: dict[str, int] = dict(uow.session.execute(select(col(System.name), col(System.id))).all())
    graph: dict[int, int | None] = dict(uow.session.execute(select(col(System.id), col(System.parent_id))).all())
    changed_parent = []
    for name, parent in parents.items():
        parent_id = ids[parent] if parent else None
        if graph.get(ids[name]) != parent_id:
            graph[ids[name]] = parent_id
            changed_parent.append(name)
    _refuse_cycles(graph, {v: k for k, v in ids.items()}, where)
    for name in changed_parent:
        system = uow.session.get(System, ids[name])
        assert system is not None
        system.parent_id = graph[ids[name]]
        if name in result.unchanged:
            result.unchanged.remove(name)
            result.updated.append(name)
    return result


def _refuse_cycles(graph: dict[int, int | None], names: dict[int, str], where: dict[str, str]) -> None:
    for start in graph:
        seen = {start}
        node = graph.get(start)
        while node is not None:
            if node in seen:
                name = names[start]
                raise InvalidInput(
                    "parent_cycle",
                    _("{where}: parent: system {name!r} is its own ancestor").format(
                        where=where[name] if name in where else _("catalog"), name=name
                    ),
                    _("fix the parent chain in the file"),
                )
            seen.add(node)
            node = graph.get(node)


_IMPORTERS = {"roster": _import_roster, "contacts": _import_contacts, "systems": _import_systems}
