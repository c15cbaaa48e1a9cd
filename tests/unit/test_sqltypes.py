"""Times are stored as SQLite's DATETIME stores them, whatever writes them: the
processor opsdeck binds them with (backend/sqltypes.py) writes the same text as
SQLAlchemy's own, refuses what it refuses, and reads back the same instant."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATETIME

from opsdeck.backend.sqltypes import UTCDateTime

DIALECT = sqlite.dialect()
TYPE = UTCDateTime()
BIND = TYPE._cached_bind_processor(DIALECT)
RESULT = TYPE._cached_result_processor(DIALECT, None)
SQLALCHEMYS = DATETIME().bind_processor(DIALECT)  # what SQLite's DATETIME writes of a naive UTC time

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
aware = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets)


@given(aware)
def test_a_time_binds_as_sqlalchemy_writes_it_and_reads_back_the_same_instant(value: datetime) -> None:
    assert SQLALCHEMYS is not None and RESULT is not None
    text = BIND(value)
    assert text == SQLALCHEMYS(value.astimezone(UTC).replace(tzinfo=None))
    back = RESULT(text)
    assert back == value and back.tzinfo is UTC


def test_what_a_store_holds_sorts_as_the_times_do() -> None:
    """SQLite compares the text: one fixed width, microseconds always written."""
    times = [datetime(2026, 12, 5, 1, 2, 3, micro, tzinfo=UTC) for micro in (0, 5, 500_000)]
    times.append(datetime(2026, 12, 5, 9, 2, 3, tzinfo=timezone(timedelta(hours=8))))  # 01:02:03 UTC
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (at TEXT)")
    connection.executemany("INSERT INTO t VALUES (?)", [(BIND(t),) for t in times])
    stored = [row[0] for row in connection.execute("SELECT at FROM t ORDER BY at")]
    assert stored == [
        "2026-12-05 01:02:03.000000",
        "2026-12-05 01:02:03.000000",
        "2026-12-05 01:02:03.000005",
        "2026-12-05 01:02:03.500000",
    ]


def test_a_naive_time_and_a_non_time_are_refused_and_none_is_null() -> None:
    with pytest.raises(ValueError, match="naive datetime refused"):
        BIND(datetime(2026, 12, 5))
    with pytest.raises(TypeError, match="expected a datetime"):
        BIND("2026-12-05 01:02:03")
    assert BIND(None) is None
