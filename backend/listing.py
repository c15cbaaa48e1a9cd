"""The incident listing and one incident's row, on SQLAlchemy Core alone.

`opsdeck incident list` reads through this module on a Core connection, without the
ORM and pydantic: importing SQLModel and the models was most of the command's start
(issue #26). The tables below name only the columns these queries read, with the
models' types; tests/store/test_listing.py holds them to the models (backend/models),
which define the schema. The ORM's sessions read through the same queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias, cast, get_args

from sqlalchemy import Connection, Integer, Row, Select, String, Text, column, func, or_, select, table
from sqlalchemy import cast as sql_cast

from .domain import OPEN_STATUSES, no_incident
from .rows import IncidentRow, Timestamp
from .sqltypes import UTCDateTime
from .timeutil import rfc3339

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# A Core connection (the CLI's listing) or an ORM session (everything else).
Source: TypeAlias = "Connection | Session"

JSON_SCHEMA_VERSION = 1
TIMESTAMPS: tuple[Timestamp, ...] = get_args(Timestamp)
_TIME_KEYS = (*TIMESTAMPS, "next_due_at", "updated_at")

INCIDENTS = table(
    "incidents",
    column("id", Integer),
    column("version", Integer),
    column("title", String),
    column("description", Text),
    column("system_id", Integer),
    column("category", String),
    column("level", String),
    column("status", String),
    column("owner", String),
    column("reporter", String),
    *(column(name, UTCDateTime()) for name in TIMESTAMPS),
    column("resolution", Text),
    column("close_kind", String),
    column("close_reason", Text),
    column("duplicate_of", Integer),
    column("reopened_from", Integer),
    column("warning_id", Integer),
    column("policy_version", Integer),
    column("next_due_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
    column("updated_by", String),
)
SYSTEMS = table("systems", column("id", Integer), column("name", String))
_I = INCIDENTS.c
_S = SYSTEMS.c
_WITH_SYSTEM = INCIDENTS.outerjoin(SYSTEMS, _I.system_id == _S.id)


def dialect_of(source: Source) -> str:
    bind = source if isinstance(source, Connection) else source.get_bind()
    return bind.dialect.name


def _columns(raw_times: bool) -> list[Any]:
    """The listing's columns. With `raw_times` (SQLite) timestamps come back as the
    stored text and `_sqlite_rfc3339` rewrites them: parsing a million datetimes only to
    format them again was half the time of a 100k listing."""

    def ts(name: str) -> Any:
        return sql_cast(_I[name], String).label(name) if raw_times else _I[name]

    return [
        _I.id,
        _I.version,
        _I.title,
        _I.description,
        _I.category,
        _I.level,
        _I.status,
        _I.owner,
        _I.reporter,
        _S.name.label("system"),
        *(ts(name) for name in TIMESTAMPS),
        _I.resolution,
        _I.close_kind,
        _I.close_reason,
        _I.duplicate_of,
        _I.reopened_from,
        _I.warning_id,
        _I.policy_version,
        ts("next_due_at"),
        ts("updated_at"),
        _I.updated_by,
    ]


def _sqlite_rfc3339(text: str | None) -> str | None:
    """`2026-11-28 03:00:00.000000` (UTC, as UTCDateTime stores it) -> `2026-11-28T03:00:00Z`."""
    if text is None:
        return None
    fraction = text[19:]
    return f"{text[:10]}T{text[11:19]}{'' if fraction in ('', '.000000') else fraction}Z"


STATUS_FILTERS = ("open", "reported", "acknowledged", "resolved", "closed", "all")


@dataclass(frozen=True)
class IncidentFilter:
    status: str = "open"
    level: str | None = None
    category: str | None = None
    system: str | None = None
    owner: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    grep: str | None = None


def _base(raw_times: bool = False) -> Select[Any]:
    return select(*_columns(raw_times)).select_from(_WITH_SYSTEM)


def _where(query: Select[Any], f: IncidentFilter) -> Select[Any]:
    if f.status == "open":
        query = query.where(_I.status.in_([s.value for s in OPEN_STATUSES]))
    elif f.status != "all":
        query = query.where(_I.status == f.status)
    if f.level:
        query = query.where(_I.level == f.level)
    if f.category:
        query = query.where(_I.category == f.category)
    if f.system:
        query = query.where(_S.name == f.system)
    if f.owner:
        query = query.where(_I.owner == f.owner)
    if f.since:
        query = query.where(_I.reported_at >= f.since)
    if f.until:
        query = query.where(_I.reported_at < f.until)
    if f.grep:
        pattern = f"%{f.grep.lower()}%"
        query = query.where(or_(func.lower(_I.title).like(pattern), func.lower(_I.description).like(pattern)))
    return query


def incident_row(row: Row[Any], raw_times: bool = False) -> IncidentRow:
    """A row of `_base`'s columns as JSON-ready values: the keys are its labels."""
    data = dict(row._mapping)
    convert = _sqlite_rfc3339 if raw_times else rfc3339
    for key in _TIME_KEYS:
        data[key] = convert(data[key])
    data["schema_version"] = JSON_SCHEMA_VERSION
    return cast(IncidentRow, data)


def iter_incidents(source: Source, f: IncidentFilter, *, batch: int = 2000) -> Iterator[IncidentRow]:
    """Keyset pages by id, so a 100k listing streams in constant memory."""
    raw = dialect_of(source) == "sqlite"
    last = 0
    while True:
        rows = source.execute(_where(_base(raw), f).where(_I.id > last).order_by(_I.id).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield incident_row(row, raw)
        last = rows[-1].id


def count_incidents(source: Source, f: IncidentFilter) -> int:
    query = _where(select(func.count()).select_from(_WITH_SYSTEM), f)
    return int(source.execute(query).scalar_one())


def get_incident(source: Source, incident_id: int) -> IncidentRow:
    row = source.execute(_base().where(_I.id == incident_id)).first()
    if row is None:
        raise no_incident(incident_id)
    return incident_row(row)
