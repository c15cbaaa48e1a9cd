"""What one transaction reads once: the policy, the channels, the duty schedule, the
roster's leads, a system.

An action (or a sweep of fifty escalations) asks for these again and again; within one
transaction the answer only changes if the transaction itself writes the tables it came
from. So the answer is kept on the session (`session.info`, gone with the session, and
a write transaction has a session of its own) together with the tables it was read
from, and read again as soon as this session writes one of them: such a row added,
changed or deleted (flushed or not), or an INSERT, UPDATE or DELETE statement on such a
table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, UOWTransaction, object_session
from sqlalchemy.sql.elements import TextClause
from sqlmodel import Session, SQLModel

from .models import System

T = TypeVar("T")
_KEY = "opsdeck.memo"


# Every table an answer here may come from: a change to one of their rows through the ORM,
# flushed or not, drops the answers read from it.
WATCHED = (
    "policy_versions",
    "routing_versions",
    "schedule_rotations",
    "schedule_slots",
    "schedule_holidays",
    "roster_members",
    "systems",
    "attestations",
)


def remembered(session: Session, key: tuple[Any, ...], tables: Iterable[str], build: Callable[[], T]) -> T:
    """`build()` the first time this session asks for `key`; the same answer after, until
    the session writes one of `tables`."""
    memo: dict[tuple[Any, ...], tuple[Any, frozenset[str]]] | None = session.info.get(_KEY)
    if memo is None:
        memo = session.info[_KEY] = {}
        event.listen(session, "after_flush", _after_flush)
        event.listen(session, "do_orm_execute", _on_execute)
        event.listen(session, "transient_to_pending", _added)
    found = memo.get(key)
    if found is not None and not (session.deleted and found[1] & _tables_of(session.deleted)):
        return found[0]  # type: ignore[no-any-return]
    value = build()
    memo[key] = (value, frozenset(tables))
    return value


def system(session: Session, system_id: int | None) -> System | None:
    """An incident's system (None: it names none), held for the transaction: the session
    keeps only objects someone holds, so a second `session.get` would read it again."""
    if system_id is None:
        return None
    return remembered(session, ("system", system_id), ("systems",), lambda: session.get(System, system_id))


def forget(session: Session | None, tables: Iterable[str]) -> None:
    memo = session.info.get(_KEY) if session is not None else None
    if not memo:
        return
    written = set(tables)
    for key in [k for k, (_, read_from) in memo.items() if read_from & written]:
        del memo[key]


def _tables_of(objects: Iterable[Any]) -> set[str]:
    return {getattr(type(o), "__tablename__", "") for o in objects}


def _added(session: Session, instance: Any) -> None:
    forget(session, _tables_of([instance]))


def _changed(target: Any, *_args: Any) -> None:
    forget(object_session(target), _tables_of([target]))  # type: ignore[arg-type]


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    # Still the flush's own new, dirty and deleted objects here (SQLAlchemy's contract).
    forget(session, _tables_of((*session.new, *session.dirty, *session.deleted)))


def _on_execute(state: ORMExecuteState) -> None:
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        forget(state.session, {getattr(table, "name", "")})  # type: ignore[arg-type]
    elif isinstance(statement, TextClause):
        sql = statement.text.lower()
        forget(state.session, {t for t in WATCHED if t in sql})  # type: ignore[arg-type]


def _watch_columns() -> None:
    """An attribute set on a row of a watched table drops what was read from it (a row
    changed and not yet flushed would otherwise be missed)."""
    for mapper in SQLModel._sa_registry.mappers:
        if getattr(mapper.local_table, "name", None) in WATCHED:
            for attribute in mapper.column_attrs:
                event.listen(attribute.class_attribute, "set", _changed)


_watch_columns()
