"""A batch's probe rows as `probe_health.apply` reads and creates them: each probe's
health as plain values (`Health`), read by name in one statement, and the probes a
batch names for the first time, created in one statement (PostgreSQL) or given the ids
SQLite would give them and inserted with their first results' moves (`reserve`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from .bulk import Bulk, Read, driver_sql
from .models import Probe, ProbeResult, table_of
from .probe_config import ProbePolicy
from .store import UnitOfWork

if TYPE_CHECKING:
    from .probe_health import Opening

EVENT_KIND = "alert"  # probes fed by the receiver's alert sources: events, never stale by silence

# What applying results moves on a probe: written back in one statement per batch.
MOVED = (
    "interval_s",
    "state",
    "stale",
    "output",
    "last_result_at",
    "last_success_at",
    "state_since",
    "consecutive",
    "last_ok_at",
    "recovery_noted",
)
# Moved times that often hold one object, the last result's time (an OK one is all three
# on a new probe): bound once each (backend/bulk.py).
TIMES = ("last_result_at", "state_since", "last_ok_at")


@dataclass(slots=True)
class Health:
    """A probe as `apply` reads and moves it: the row's fields, plain. A storm moves
    thousands of probes; as ORM objects their attribute events and the flush cost more
    than the rest of the transaction, so the moved fields go back in one executemany.
    The defaults are a new probe's, as `create` and `reserve` make it."""

    id: int
    name: str
    system_id: int | None = None
    silenced_until: datetime | None = None
    interval_s: int | None = None
    state: str = "UNKNOWN"
    stale: bool = False
    output: str = ""
    last_result_at: datetime | None = None
    last_success_at: datetime | None = None
    state_since: datetime | None = None
    consecutive: int = 0
    last_ok_at: datetime | None = None
    recovery_noted: bool = False


@dataclass(frozen=True, slots=True)
class NewProbe:
    """A probe this write creates: its health (its id 0 until it has one) and its kind."""

    health: Health
    kind: str


# A new probe, as `create` inserts it.
NEW_PROBE_COLUMNS = (
    "name",
    "system_id",
    "interval_s",
    "created_at",
    "kind",
    "state",
    "stale",
    "output",
    "consecutive",
    "recovery_noted",
)
_READ = [getattr(Probe, f.name) for f in fields(Health)]  # in the order `Health` takes them
# SQLite: the names as one JSON array, so the statement is compiled once: an IN of 500
# parameters is compiled again at each execution, a tenth of a storm's transaction.
_READ_BY_NAMES = Read(
    select(*(table_of(Probe).c[f.name] for f in fields(Health))).where(
        table_of(Probe).c.name.in_(
            select(func.json_each(bindparam("names", type_=String)).table_valued("value").c.value)
        )
    ),
    ["names"],
)


def read_healths(uow: UnitOfWork, names: set[str]) -> dict[str, Health]:
    """The probes of these names, as plain `Health`. What the session holds is written
    first, as the ORM's own query would (autoflush)."""
    if not names:
        return {}
    session = uow.session
    if uow.dialect != "sqlite":  # ORM columns, not the table's: the session flushes first, as for select(Probe)
        return {row.name: Health(*row) for row in session.execute(select(*_READ).where(col(Probe.name).in_(names)))}
    if session.autoflush:
        session.flush()
    read, connection = _READ_BY_NAMES, uow.connection
    found = read.rows(connection, (json.dumps(sorted(names)),))
    return {row[1]: Health(*read.values(connection, row, 0, len(row))) for row in found}


def _new(
    uow: UnitOfWork, missing: set[str], policy: ProbePolicy, openings: dict[str, Opening] | None
) -> list[NewProbe]:
    """New probes for results of unknown names, in name order, their ids still 0: the
    system and interval their settings (or their alert mapping) give them."""
    if not missing:
        return []
    # Plain values, as the driver gives them: `read_healths` has just written what the session held.
    systems: dict[str, int] = {
        name: system_id for name, system_id in driver_sql(uow.connection, "SELECT name, id FROM systems").rows
    }
    new = []
    for name in sorted(missing):
        settings = policy.settings_for(name)
        opening = (openings or {}).get(name)
        system = opening.system if opening else settings.system
        interval = int(settings.interval.total_seconds()) if settings.interval else None
        health = Health(0, name, system_id=systems.get(system) if system else None, interval_s=interval)
        new.append(NewProbe(health, EVENT_KIND if opening and opening.event else ""))
    return new


def create(
    uow: UnitOfWork, missing: set[str], policy: ProbePolicy, openings: dict[str, Opening] | None
) -> dict[str, Health]:
    """Probes for results of unknown names, all in one statement (ON CONFLICT DO NOTHING:
    another ingester may create them at the same time); returns those this one created."""
    new = {made.health.name: made for made in _new(uow, missing, policy, openings)}
    if not new:
        return {}
    rows = []
    for made in new.values():
        h = made.health
        rows.append(
            (
                h.name,
                h.system_id,
                h.interval_s,
                uow.now,
                made.kind,
                h.state,
                h.stale,
                h.output,
                h.consecutive,
                h.recovery_noted,
            )
        )
    created = {}
    for probe_id, name in _CREATE[uow.dialect].returning(uow.connection, rows):
        created[name] = new[name].health
        created[name].id = probe_id
    return created


def reserve(
    uow: UnitOfWork, missing: set[str], policy: ProbePolicy, openings: dict[str, Opening] | None
) -> list[NewProbe]:
    """New probes on SQLite, each with the id SQLite would give it (the next after the
    highest, in name order, as `create` inserts them), inserted later by the context's
    first write-back. This write holds SQLite's write lock since its BEGIN IMMEDIATE
    (backend/engines.py): no one else can insert a probe meanwhile, so the names read as
    missing stay missing and the ids stay free."""
    new = _new(uow, missing, policy, openings)
    if new:
        highest = driver_sql(uow.connection, "SELECT max(id) FROM probes").scalar_one()
        for offset, made in enumerate(new, start=(highest or 0) + 1):
            made.health.id = offset
    return new


def _create_statement(insert: Any) -> Bulk:
    table = table_of(Probe)
    statement = insert(table).on_conflict_do_nothing(index_elements=["name"]).returning(table.c.id, table.c.name)
    return Bulk(statement, NEW_PROBE_COLUMNS, repeating=("created_at", "stale", "recovery_noted"))


_CREATE = {"postgresql": _create_statement(pg_insert), "sqlite": _create_statement(sqlite_insert)}


def existing_keys(uow: UnitOfWork, keys: list[str | None], *, source: str | None = None) -> set[str]:
    """Which of `keys` a stored result holds (only results from `source`, if given)."""
    wanted = [k for k in keys if k]
    if not wanted:
        return set()
    found: set[str] = set()
    results = table_of(ProbeResult).c
    for start in range(0, len(wanted), 500):  # Core: results are only ever written through Core
        query = select(results.result_key).where(results.result_key.in_(wanted[start : start + 500]))
        if source is not None:
            query = query.where(results.source == source)
        found.update(uow.connection.execute(query).scalars())
    return found
