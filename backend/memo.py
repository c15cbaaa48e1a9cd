"""What one transaction reads once: the policy, the channels, the duty schedule, the
roster's leads, the contacts of a kind, a system.

An action (or a sweep of fifty escalations) asks for these again and again; within one
transaction the answer only changes if the transaction itself writes the tables it came
from. So the answer is kept on the session (`session.info`, gone with the session, and
a write transaction has a session of its own) together with the tables it was read
from, and read again as soon as this session writes one of them: such a row added,
changed or deleted (flushed or not), or an INSERT, UPDATE or DELETE statement on such a
table.

A store may also let some answers outlive the transaction (`share`): on SQLite it keeps
them per connection, with the connection's `PRAGMA data_version`, and drops them all as
soon as another connection (any process) has committed anything since (backend/store.py).
This transaction's own writes drop what was read from the tables written, and nothing
read after this transaction wrote its table is shared: it might yet be rolled back.
Only plain values are shared (versions, the schedule's rows, logins), never ORM rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, UOWTransaction, object_session
from sqlalchemy.sql.elements import TextClause
from sqlmodel import Session, SQLModel

from . import models
from .models import System

T = TypeVar("T")
_KEY = "opsdeck.memo"
_SHARED = "opsdeck.memo.shared"  # the answers that outlive the transaction, if the store shares them
_WRITTEN = "opsdeck.memo.written"  # watched tables this transaction wrote
# The answers that may be shared: plain values, the same whichever transaction read them.
SHAREABLE = frozenset({"policy", "routing", "schedule_rows", "members", "leads", "permission", "contacts"})
Shared = dict[tuple[Any, ...], tuple[Any, frozenset[str]]]


# Every table an answer here may come from: a change to one of their rows through the ORM,
# flushed or not, drops the answers read from it.
WATCHED = (
    "policy_versions",
    "routing_versions",
    "schedule_rotations",
    "schedule_slots",
    "schedule_holidays",
    "roster_members",
    "contacts",
    "systems",
    "attestations",
)


def remembered(session: Session, key: tuple[Any, ...], tables: Iterable[str], build: Callable[[], T]) -> T:
    """`build()` the first time this session asks for `key`; the same answer after, until
    the session writes one of `tables`."""
    memo = _memo(session)
    found = memo.get(key)
    if found is not None and not (session.deleted and found[1] & _tables_of(session.deleted)):
        return found[0]  # type: ignore[no-any-return]
    read_from = frozenset(tables)
    shared: Shared | None = session.info.get(_SHARED)
    if shared is not None and (key[0] not in SHAREABLE or read_from & _written(session)):
        shared = None  # not a plain value, or this transaction changed where it comes from
    if shared is not None:
        found = shared.get(key)
        if found is not None:
            memo[key] = found
            return found[0]  # type: ignore[no-any-return]
    value = build()
    memo[key] = (value, read_from)
    if shared is not None:
        shared[key] = (value, read_from)
    return value


def _written(session: Session) -> set[str]:
    """The watched tables this transaction wrote, or is about to (a row deleted, unflushed)."""
    written: set[str] = session.info[_WRITTEN]
    return written | _tables_of(session.deleted) if session.deleted else written


class WriteSession(Session):
    """The session of a write transaction (`Store.write`). The memo's listeners are this
    class's, registered once below: registering them on each session (as on any other
    session that remembers) copies the session's event dispatch, about 170 calls a write.
    They do nothing until the session remembers something."""


def _memo(session: Session) -> dict[tuple[Any, ...], tuple[Any, frozenset[str]]]:
    memo: dict[tuple[Any, ...], tuple[Any, frozenset[str]]] | None = session.info.get(_KEY)
    if memo is None:
        memo = session.info[_KEY] = {}
        session.info.setdefault(_WRITTEN, set())
        if not isinstance(session, WriteSession):
            for name, listener in _LISTENERS:
                event.listen(session, name, listener)
    return memo


def share(session: Session, shared: Shared) -> None:
    """Let this (write) session use and fill `shared`, answers kept by the store beyond
    one transaction; call before the session writes anything."""
    _memo(session)
    session.info[_SHARED] = shared


def system(session: Session, system_id: int | None) -> System | None:
    """An incident's system (None: it names none), held for the transaction: the session
    keeps only objects someone holds, so a second `session.get` would read it again."""
    if system_id is None:
        return None
    return remembered(session, ("system", system_id), ("systems",), lambda: session.get(System, system_id))


def forget(session: Session | None, tables: Iterable[str]) -> None:
    memo = session.info.get(_KEY) if session is not None else None
    if memo is None or session is None:
        return
    written = set(tables) & set(WATCHED)
    if not written:
        return
    session.info[_WRITTEN].update(written)
    for answers in (memo, session.info.get(_SHARED) or {}):
        for key in [k for k, (_, read_from) in answers.items() if read_from & written]:
            del answers[key]


def _tables_of(objects: Iterable[Any]) -> set[str]:
    return {getattr(type(o), "__tablename__", "") for o in objects}


def _added(session: Session, instance: Any) -> None:
    forget(session, _tables_of([instance]))


def _changed(target: Any, *_args: Any) -> None:
    forget(object_session(target), _tables_of([target]))  # type: ignore[arg-type]


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    if _KEY not in session.info:
        return
    # Still the flush's own new, dirty and deleted objects here (SQLAlchemy's contract).
    forget(session, _tables_of((*session.new, *session.dirty, *session.deleted)))


def _on_execute(state: ORMExecuteState) -> None:
    if _KEY not in state.session.info:
        return
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        forget(state.session, {getattr(table, "name", "")})  # type: ignore[arg-type]
    elif isinstance(statement, TextClause):
        sql = statement.text.lower()
        forget(state.session, {t for t in WATCHED if t in sql})  # type: ignore[arg-type]


_LISTENERS = (("after_flush", _after_flush), ("do_orm_execute", _on_execute), ("transient_to_pending", _added))
for _name, _listener in _LISTENERS:
    event.listen(WriteSession, _name, _listener)


def _watch_columns() -> None:
    """An attribute set on a row of a watched table drops what was read from it (a row
    changed and not yet flushed would otherwise be missed)."""
    models.load_all()  # each area loads when first named: every watched table's mapper must exist now
    for mapper in SQLModel._sa_registry.mappers:
        if getattr(mapper.local_table, "name", None) in WATCHED:
            for attribute in mapper.column_attrs:
                event.listen(attribute.class_attribute, "set", _changed)


_watch_columns()
