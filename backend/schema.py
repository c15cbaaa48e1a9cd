"""Opening a store: create or migrate its schema (Alembic), refuse a newer one.

- A missing SQLite file (and its folder) is created and migrated by the first command
  that opens it. An older SQLite store is backed up, then upgraded.
- A PostgreSQL database must exist; an empty one is migrated; an older one is upgraded
  only by `opsdeck db upgrade` (other hosts may still run the old program).
- A store written by a newer program is refused and never written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, inspect, select, text
from sqlalchemy.engine import URL
from sqlmodel import Session, col

from .engines import disposed_on_error, make_engine, parse_url
from .errors import InvalidInput, StoreUnavailable
from .i18n import _
from .reader import SCHEMA_HEAD as SCHEMA_HEAD  # the newest migration (backend/reader.py)
from .reader import Upgrading, revision
from .store import Store, UnitOfWork
from .timeutil import Clock, utcnow

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
SEED_ACTOR = "system:opsdeck"
Progress = Callable[[int, int], None]


def _alembic_config(
    connection: Connection | None = None, *, on_version_apply: Callable[..., None] | None = None
) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["on_version_apply"] = on_version_apply  # migrations/env.py
    return config


def head_revision() -> str:
    """Alembic's own idea of the head (slow: for tests and `db status`)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def open_store(
    url: str | URL,
    *,
    clock: Clock = utcnow,
    upgrade: bool = False,
    upgrading: Upgrading | None = None,
    create: bool = True,
) -> Store:
    """Open `url`, creating or migrating it as the rules above say (`create` False: a
    missing SQLite file is an error, for commands that only read). An older SQLite store
    is backed up, then upgraded, `upgrading` told before, as it goes and once it is in."""
    parsed = parse_url(url) if isinstance(url, str) else url
    engine = make_engine(parsed, create=create)
    store = Store(engine, parsed, clock)
    with disposed_on_error(engine, parsed):
        _ensure_schema(store, upgrade=upgrade, upgrading=upgrading or Upgrading())
    return store


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return revision(conn)


def _ensure_schema(store: Store, *, upgrade: bool, upgrading: Upgrading) -> None:
    current = current_revision(store)
    if current == SCHEMA_HEAD:
        return
    head = head_revision()
    _refuse_newer(current, store)
    if current is not None and store.dialect == "postgresql" and not upgrade:
        raise StoreUnavailable(
            "schema_old",
            _("the store at {store} has schema {current}; this opsdeck needs {head}").format(
                store=store.describe(), current=current, head=head
            ),
            _("run `opsdeck db upgrade` once every host runs this version"),
        )
    backup: Path | None = None
    if current is not None and store.path is not None:
        backup = backup_path(store.path, current)
        upgrading.starting(current, head, backup)
        sqlite_backup(store.path, backup, partial(upgrading.progress, "backup"))
    # BEGIN IMMEDIATE (SQLite) or an advisory lock (PostgreSQL) makes concurrent first
    # opens queue; the second re-reads the revision and finds nothing left to do.
    with store._write_engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7276150001)"))
        current = revision(conn)
        if current != head:  # else another process's open did it meanwhile
            _upgrade(conn, store, current, head, partial(upgrading.progress, "upgrade"))
    if backup is not None:
        upgrading.finished(backup)


def _upgrade(conn: Connection, store: Store, current: str | None, head: str, progress: Progress) -> None:
    """Create (`current` None) or upgrade the store to `head`, inside the caller's lock.
    An upgrade counts its steps to `progress`: each migration, then each re-derivation
    of what an old schema lacked (a store being created is quick and counts nothing)."""
    _refuse_newer(current, store)
    if current is None:
        _refuse_foreign(conn, store)
    applied = _applied(current, head) if current is not None else set()
    after: list[Callable[[Connection, Store], None]] = []
    if current is not None and current < "0002":
        after.append(_derive_clocks)
    if "0015" in applied:
        after.append(_settle_closed_clocks)
    if "0013" in applied:
        after.append(_baseline)
    total = len(applied) + len(after)
    done = 0

    def stepped(**_told: object) -> None:  # Alembic's on_version_apply, once a migration is in
        nonlocal done
        done += 1
        if current is not None:
            progress(done, total)

    from alembic import command

    command.upgrade(_alembic_config(conn, on_version_apply=stepped), "head")
    if store.dialect == "postgresql":  # database roles on: new tables owned, granted, checked
        from . import pg_roles

        pg_roles.after_upgrade(conn)
    _seed(conn, store)
    for derive in after:
        derive(conn, store)
        stepped()


def _refuse_newer(current: str | None, store: Store) -> None:
    if current is not None and current not in _known_revisions():
        raise StoreUnavailable(
            "schema_too_new",
            _(
                "the store at {store} was written by a newer opsdeck (schema {current}); this one knows up to {head}"
            ).format(store=store.describe(), current=current, head=head_revision()),
            _("upgrade opsdeck on this host; the store was not touched"),
        )


def _refuse_foreign(conn: Connection, store: Store) -> None:
    tables = set(inspect(conn).get_table_names())
    if tables - {"alembic_version"}:
        raise InvalidInput(
            "not_a_store",
            _("{store} holds other tables ({tables}...) and no opsdeck schema").format(
                store=store.describe(), tables=", ".join(sorted(tables)[:3])
            ),
            _("point --db at an empty database or at an opsdeck store"),
        )


def _seed(conn: Connection, store: Store) -> None:
    """A new store holds the default policy as version 1, in the system audit chain."""
    from . import documents, policy, vouch  # a new store only: not on every command's open (CLI start)
    from .models import PolicyVersion

    with Session(bind=conn, expire_on_commit=False) as session:
        if session.execute(select(col(PolicyVersion.version))).first() is not None:
            return
        uow = UnitOfWork(session=session, actor=SEED_ACTOR, now=store.clock(), dialect=store.dialect)
        document = policy.default_document()
        digest = documents.document_hash(document)
        session.add(
            PolicyVersion(
                version=1,
                created_at=uow.now,
                actor=SEED_ACTOR,
                source="(built-in defaults)",
                hash=digest,
                document=document,
            )
        )
        session.flush()
        seeded = session.get(PolicyVersion, 1)
        row = vouch.version_state(seeded, vouch.store_key(session))
        uow.record(
            "policy_applied",
            {"version": 1, "hash": digest, "source": "(built-in defaults)", "row": row},
            entity="policy",
            entity_id=1,
        )
        uow._finish()
        session.flush()


def _baseline(conn: Connection, store: Store) -> None:
    """The upgrade to 0013: one `baseline` event per existing row (every incident, roster
    member, and the newest policy and channels versions) carrying the values the trail
    vouches for from now on (backend/vouch.py), written as any other event."""
    from . import audit, vouch
    from .models import AuditEvent, Incident, PolicyVersion, RosterMember, RoutingVersion

    with Session(bind=conn, expire_on_commit=False) as session:
        key = vouch.store_key(session)
        uow = UnitOfWork(session=session, actor=SEED_ACTOR, now=store._transaction_time(session), dialect=store.dialect)
        # Times are checked from here on (backend/audit.py, TIMES_ORDERED): the events
        # before took each client's clock and may go back honestly.
        newest = session.execute(select(func.max(col(AuditEvent.id)))).scalar_one_or_none() or 0
        uow.record(audit.TIMES_ORDERED, {"from_id": newest + 1})
        for incident_id in session.execute(select(col(Incident.id)).order_by(col(Incident.id))).scalars():
            uow.record("baseline", {}, incident_id=incident_id)
        for member in session.execute(select(RosterMember).order_by(col(RosterMember.login))).scalars():
            rows = {"roster_rows": {member.login: vouch.member_state(member, key)}}
            uow.record("roster_baseline", rows, entity="roster", entity_id=member.login)
        for kind, model in (("policy", PolicyVersion), ("channels", RoutingVersion)):
            newest = session.execute(select(model).order_by(col(model.version).desc()).limit(1)).scalars().first()
            if newest is not None:
                row = vouch.version_state(newest, key)
                uow.record(f"{kind}_baseline", {"row": row}, entity=kind, entity_id=newest.version)
        uow._finish()
        session.flush()


def _derive_clocks(conn: Connection, store: Store) -> None:
    """Stores from before the deadline engine: give every open incident its clocks."""
    from . import clocks
    from .models import Incident

    with Session(bind=conn, expire_on_commit=False) as session:
        now = store.clock()
        for incident in session.execute(select(Incident).where(col(Incident.status) != "closed")).scalars():
            clocks.sync(session, incident, now)
        session.flush()


def _applied(before: str, head: str) -> set[str]:
    """The revisions an upgrade from `before` to `head` ran."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    return {s.revision for s in script.iterate_revisions(head, before)}


def _settle_closed_clocks(conn: Connection, store: Store) -> None:
    """Stores from before 0015 counted every clock still running at a close as met at the
    close. Re-derive the closed incidents' clocks: one met only by the close is waived if
    it was not yet due then, and breached if it was (docs/plan.md#deadlines)."""
    from . import clocks
    from .models import Incident, IncidentDeadline

    with Session(bind=conn, expire_on_commit=False) as session:
        now = store.clock()
        closed = select(Incident).where(col(Incident.status) == "closed", col(Incident.closed_at).is_not(None))
        for incident in session.execute(closed).scalars():
            rows = session.execute(
                select(IncidentDeadline).where(col(IncidentDeadline.incident_id) == incident.id)
            ).scalars()
            for row in rows:
                if row.superseded_at is None and row.met_at is not None and row.met_at >= incident.closed_at:
                    row.met_at = None  # met by the close alone: decided again below
            session.flush()
            clocks.sync(session, incident, now)
        session.flush()


def backup_path(path: Path, revision: str) -> Path:
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return path.with_name(f"{path.name}.bak-{revision}-{stamp}")


def sqlite_backup(source: Path, dest: Path, progress: Progress | None = None) -> None:
    """A consistent copy while others keep writing (SQLite online backup API)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        raise InvalidInput("dest_exists", _("{dest} already exists").format(dest=dest), _("choose a new file name"))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(dest)
    try:

        def report(_status: int, remaining: int, total: int) -> None:
            if progress:
                progress(total - remaining, total)

        src.backup(dst, pages=256, progress=report)
    finally:
        dst.close()
        src.close()


def upgrade_store(url: str | URL, clock: Clock = utcnow, upgrading: Upgrading | None = None) -> tuple[str | None, str]:
    """`opsdeck db upgrade`: (revision before, revision after)."""
    parsed = parse_url(url) if isinstance(url, str) else url
    engine = make_engine(parsed)
    probe = Store(engine, parsed, clock)
    try:
        before = current_revision(probe)
    finally:
        engine.dispose()
    store = open_store(parsed, clock=clock, upgrade=True, upgrading=upgrading)
    after = current_revision(store)
    store.dispose()
    assert after is not None
    return before, after
