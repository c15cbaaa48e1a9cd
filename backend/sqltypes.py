"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# What SQLite's DATETIME stores when given no storage format of its own.
SQLITE_DATETIME_FORMAT = SQLITE_DATETIME._storage_format


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every dialect.

    Refuses naive datetimes on the way in (a naive time is a bug: whose wall clock?);
    returns aware UTC on the way out, though SQLite keeps no offset and PostgreSQL
    answers in the session's zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware UTC times only")
        in_utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite compares text: one fixed format keeps ORDER BY and <= correct.
            return in_utc.replace(tzinfo=None)
        return in_utc

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        """The type's processor, remembering the last time it bound: a write binds its one
        transaction time in many rows (a probe storm: nine per result), each ~3 us to
        check and format. Times are immutable: the same object binds the same way."""
        process = self._sqlite_text(dialect) or super().bind_processor(dialect)
        assert process is not None
        last: tuple[Any, Any] = (None, None)

        def remembered(value: Any) -> Any:
            nonlocal last
            seen, bound = last  # one tuple: threads sharing the processor read a matching pair
            if value is seen:
                return bound
            bound = process(value)
            last = (value, bound)
            return bound

        return remembered

    def _sqlite_text(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """SQLite: `process_bind_param`, then the text SQLite's DATETIME stores (its default
        storage format, "YYYY-MM-DD HH:MM:SS.ffffff") written by `isoformat`, the same
        text at a fifth of the cost: SQLAlchemy formats it from a dict of the parts,
        and a burst of opens binds four times a clock row."""
        stored = self.impl_instance.dialect_impl(dialect)
        if dialect.name != "sqlite" or getattr(stored, "_storage_format", None) != SQLITE_DATETIME_FORMAT:
            return None
        to_utc = self.process_bind_param

        def process(value: Any) -> str | None:
            in_utc = to_utc(value, dialect)
            return None if in_utc is None else in_utc.isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        """The dialect's own parsing (SQLite's text to a naive datetime), then
        `process_result_value`'s, in one function: TypeDecorator's chains three Python
        calls a value, and a sweep reads some fifty times an escalation."""
        parse = self.impl_instance.result_processor(dialect, coltype)
        if parse is None:  # psycopg hands datetimes over already
            return super().result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            parsed: Any = parse(value)
            stored: datetime = datetime.fromisoformat(parsed) if isinstance(parsed, str) else parsed
            if stored.tzinfo is None:
                return stored.replace(tzinfo=UTC)
            return stored.astimezone(UTC)

        return process
