"""ORM rows written through Core statements, as the unit of work writes an action's
incident and clock rows (backend/store.py, `UnitOfWork.insert` and `flush`): the INSERT
or UPDATE a model's row takes, built once, and each row left as the ORM's own flush
leaves one it wrote. The ORM's flush of an ack's incident UPDATE and clock INSERT was a
fifth of the ack (`python -m bench`'s write profile)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, update
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, SQLModel

from .bulk import Bulk
from .models import Incident, IncidentDeadline, table_of

M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True)
class _Insert:
    """A model's INSERT ... RETURNING (`returned`), and its mapped columns but the primary
    key: (column, attribute) in the statement's order."""

    statement: Bulk
    attributes: tuple[str, ...]


_INSERTS: dict[tuple[type[SQLModel], tuple[str, ...]], _Insert] = {}


def insert_of(model: type[SQLModel], returned: tuple[str, ...] = ("id",)) -> _Insert:
    """The INSERT `UnitOfWork.insert` and the clock rows use, built once per model."""
    found = _INSERTS.get((model, returned))
    if found is None:
        table = table_of(model)
        attrs = [a for a in sa_inspect(model).column_attrs if not a.columns[0].primary_key]
        statement = insert(table).returning(*(table.c[name] for name in returned))
        found = _INSERTS[(model, returned)] = _Insert(
            Bulk(statement, [a.columns[0].key for a in attrs]), tuple(a.key for a in attrs)
        )
    return found


def values_of(row: SQLModel, attributes: tuple[str, ...]) -> list[Any]:
    """A new row's values (every field is set when a row is built: `construct` or SQLModel's
    __init__), read from the instance's dict, not through the ORM's descriptors."""
    stored = row.__dict__
    return [stored[name] if name in stored else getattr(row, name) for name in attributes]


# What a clock row's INSERT returns: its id, by its unique key.
CLOCK_KEY = ("id", "incident_id", "rule", "clock_key")
# The rows `UnitOfWork.flush` writes through Core, in the flush's order of their tables.
CORE_FLUSHED = {Incident: 0, IncidentDeadline: 1}
_UPDATES: dict[tuple[type[SQLModel], tuple[str, ...]], Bulk] = {}


def flush_order(row: SQLModel) -> tuple[int, int]:
    return CORE_FLUSHED[type(row)], row.id  # type: ignore[attr-defined]


def changed_columns(row: SQLModel) -> dict[str, Any]:
    """The columns the flush's UPDATE would set: each attribute set since the row was
    read or last written whose value differs from the stored one (these tables' columns
    are named as their attributes)."""
    state = sa_inspect(row)
    values = state.dict
    return {name: values[name] for name, stored in state.committed_state.items() if stored != values[name]}


def update_of(model: type[SQLModel], columns: tuple[str, ...]) -> Bulk:
    """UPDATE ... SET `columns` WHERE id = :_id (rows: the columns' values, then the id),
    built once per set of columns."""
    key = (model, columns)
    statement = _UPDATES.get(key)
    if statement is None:
        table = table_of(model)
        statement = _UPDATES[key] = Bulk(
            update(table).where(table.c.id == bindparam("_id")).values({c: bindparam(c) for c in columns}),
            (*columns, "_id"),
        )
    return statement


def as_stored(session: Session, row: SQLModel) -> None:
    """The row as the flush leaves one it wrote: persistent, its values the stored ones,
    nothing to write."""
    state = sa_inspect(row)
    # What the flush itself does to each row it wrote (a public make_transient,
    # make_transient_to_detached and add cost five times the calls).
    state._commit_all(state.dict, session.identity_map)


def as_pending(session: Session, rows: list[Any]) -> None:
    """New rows into the session as `session.add` puts them (pending, in the order given),
    without its walk of their relationships' cascades: these models have none."""
    for row in rows:
        session._save_impl(sa_inspect(row))


def as_inserted(session: Session, rows: list[Any], ids: list[Any]) -> None:
    """Each row as the ORM's flush leaves a row it inserted: its id in the instance's dict
    (where the flush puts it), persistent in the session, and one of the transaction's
    new rows (a rollback makes it transient again). A row not yet in the session goes in
    as pending first, as `session.add` puts it. These are the flush's own steps (private
    to SQLAlchemy: tests/store/test_unit_of_work.py holds them to the flush's outcome);
    detaching, re-adding and setting the id through the model cost five times the calls."""
    states = set()
    for row, new_id in zip(rows, ids, strict=True):
        state = sa_inspect(row)
        state.dict["id"] = new_id
        if state.session_id != session.hash_key:
            session._save_impl(state)
        states.add(state)
    session._register_persistent(states)


def held_already(session: Session, model: type[SQLModel], ids: list[Any]) -> bool:
    """Whether the session holds any of these rows, or might not load one plainly (a
    listener on the model's loading, or the session's): then only the ORM's own load
    knows what to do with them (it keeps an object the session holds, unrefreshed)."""
    mapper = sa_inspect(model)
    if mapper.class_manager.dispatch.load or session.dispatch.loaded_as_persistent:
        return True
    identity_map = session.identity_map
    return any(mapper.identity_key_from_primary_key((row_id,)) in identity_map for row_id in ids)


def as_loaded(session: Session, model: type[M], values: dict[str, Any]) -> M:
    """A row read through Core as the ORM's load leaves the object it makes of it: built
    without `__init__`, its values straight into the instance's dict, persistent in the
    session under its identity, nothing changed. The caller checks `held_already` first.
    These are the load's own steps (private to SQLAlchemy: tests/store/test_unit_of_work.py
    holds them to the ORM's load)."""
    mapper = sa_inspect(model)
    row: M = mapper.class_manager.new_instance()
    state = sa_inspect(row)
    state.dict.update(values)
    key = mapper.identity_key_from_primary_key((values["id"],))
    state.key, state.identity_token, state.session_id = key, None, session.hash_key
    session.identity_map._add_unpresent(state, key)
    return row
