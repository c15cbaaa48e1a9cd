"""Statements for thousands of rows at once, as a probe storm writes them.

SQLAlchemy runs an executemany by building every row's parameters through the compiled
statement (`construct_params`) and then each column's bind processor, a dozen Python
calls a row: in a storm of 10,000 results that was most of the transaction, several
times the driver's own time for the same rows (`python -m bench --only ingest.storm_rate`).
`Bulk` keeps what SQLAlchemy decides, the statement as compiled for the connection's
dialect and the columns' own bind processors, and does only the per-row part itself:
each processor applied down its column, the rows handed to the driver as positional
tuples through `Connection.exec_driver_sql`. The stored values are those SQLAlchemy
would have bound (tests/store/test_bulk.py reads them back through the models on both
dialects).

On SQLite the statement goes to the sqlite3 cursor of the transaction's own connection
(`_to_sqlite`), not through `exec_driver_sql`: an open is eight statements, and
SQLAlchemy's work around each (its execution context, its result object) was a tenth
of the action (`python -m bench --only store.open`). What SQLAlchemy does there that
anyone relies on is kept: the engine's cursor events fire (tests and the bench count
statements by them), a driver error is raised wrapped as SQLAlchemy wraps it (so
`translate_db_error` words it), and what a statement returns is read to its end before
the cursor closes. PostgreSQL keeps SQLAlchemy's path, which also tells a lost
connection from a failed statement (the pool must not hand it out again).

`Read` sends a SELECT the same way and processes what it returns with each column's own
result processor: the one read an action on an incident starts with, and a batch's read
of its probes by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.selectable import Select

_NAMED = re.compile(r"%\((\w+)\)s")  # PostgreSQL's (psycopg's pyformat) placeholders
PAGE = 500  # rows per multi-row INSERT: 500 x 8 columns stays far below each driver's limit


@dataclass(frozen=True)
class _Compiled:
    sql: str  # positional placeholders (`?` or `%s`)
    order: tuple[int, ...]  # for each placeholder in `sql`, the row's column it binds
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, its bind processor)
    values: str | None  # an INSERT's one row of placeholders, "(?, ?)", to repeat for many
    direct: bool  # sent to the driver's cursor itself (SQLite's sqlite3), not through SQLAlchemy


class Returned:
    """What a statement returned, read to its end: its rows as the driver gives them."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[Sequence[Any]]) -> None:
        self.rows = rows

    def fetchall(self) -> list[Sequence[Any]]:
        return self.rows

    def one(self) -> Sequence[Any]:
        """The one row; as SQLAlchemy's, an error if there is not exactly one."""
        if len(self.rows) != 1:
            raise NoResultFound("no row was returned") if not self.rows else MultipleResultsFound("more than one row")
        return self.rows[0]

    def scalar_one(self) -> Any:
        return self.one()[0]


class Bulk:
    """One INSERT or UPDATE for many rows given as tuples in `columns` order (an UPDATE's
    `bindparam` names among them). In the `repeating` columns the rows share a few
    hashable values (a flag, the transaction's time): each is processed once. In the
    `shared` columns several rows hold the very same object, unhashable (a message's
    payload, one dict for each of its recipients): each object is processed once. The
    columns of an `alike` group, all of one type, often hold the very same object in one
    row (a new probe's times are those of its one result): each object is processed once
    across the group."""

    def __init__(
        self,
        statement: Insert | Update,
        columns: Sequence[str],
        *,
        repeating: Sequence[str] = (),
        shared: Sequence[str] = (),
        alike: Sequence[Sequence[str]] = (),
    ) -> None:
        self.statement = statement
        self.columns = tuple(columns)
        self.repeating = frozenset(self.columns.index(name) for name in repeating)
        self.shared = frozenset(self.columns.index(name) for name in shared)
        self.alike = tuple(tuple(self.columns.index(name) for name in group) for group in alike)
        self._in_alike = {index: group for group in self.alike for index in group}
        for group in alike:
            if len({repr(statement.table.c[name].type) for name in group}) != 1:  # the type and its arguments
                raise ValueError(f"the alike columns {tuple(group)} must be of one type")
        self._compiled: WeakKeyDictionary[Dialect, _Compiled] = WeakKeyDictionary()

    def execute(self, connection: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """The driver's executemany of `rows`."""
        if not rows:
            return
        compiled = self._compile(connection.dialect)
        _send(connection, compiled.direct, compiled.sql, self._bound(compiled, rows), many=True)

    def one(self, connection: Connection, row: Sequence[Any]) -> Returned:
        """The driver's execute of one row: a write's own rows (its incident, its audit
        event, the change counter), each a statement, where SQLAlchemy's per-execute work
        was several times the driver's. What an UPDATE or INSERT returns comes back as
        the driver gives it, unprocessed."""
        compiled = self._compile(connection.dialect)
        values = list(row)
        if len(values) != len(self.columns):
            raise ValueError(f"a row of {len(values)} values for the {len(self.columns)} columns {self.columns}")
        for index, process in compiled.processors:
            values[index] = process(values[index])
        return _send(connection, compiled.direct, compiled.sql, tuple([values[index] for index in compiled.order]))

    def returning(self, connection: Connection, rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        """An INSERT with RETURNING for `rows`, `PAGE` rows to a statement (neither
        sqlite3's nor SQLAlchemy's executemany returns rows: SQLAlchemy batches them the
        same way). The returned values are as the driver gives them, unprocessed."""
        compiled = self._compile(connection.dialect)
        assert compiled.values is not None, "RETURNING for an INSERT only"
        bound = self._bound(compiled, rows)
        returned: list[Sequence[Any]] = []
        for start in range(0, len(bound), PAGE):
            page = bound[start : start + PAGE]
            sql = compiled.sql.replace(compiled.values, ", ".join([compiled.values] * len(page)), 1)
            returned.extend(_send(connection, compiled.direct, sql, tuple(chain.from_iterable(page))).rows)
        return returned

    def _bound(self, compiled: _Compiled, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The rows as the driver takes them: processed column by column, in placeholder order."""
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * len(self.columns)
        alike: dict[tuple[int, ...], dict[int, Any]] = {group: {} for group in self.alike}
        for index, process in compiled.processors:
            if index in self._in_alike:
                columns[index] = _by_identity(process, columns[index], alike[self._in_alike[index]])
            elif index in self.repeating:
                seen: dict[Any, Any] = {}
                columns[index] = [seen[v] if v in seen else seen.setdefault(v, process(v)) for v in columns[index]]
            elif index in self.shared:
                columns[index] = _by_identity(process, columns[index])
            else:
                columns[index] = [process(value) for value in columns[index]]
        return list(zip(*(columns[index] for index in compiled.order), strict=True))

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = self._compile_for(dialect)
        return compiled

    def _compile_for(self, dialect: Dialect) -> _Compiled:
        statement = self.statement.compile(dialect=dialect, column_keys=list(self.columns), for_executemany=True)
        assert isinstance(statement, SQLCompiler)
        position = {name: index for index, name in enumerate(self.columns)}
        if statement.positiontup is not None:  # qmark (SQLite)
            sql, names = statement.string, list(statement.positiontup)
        else:  # pyformat (psycopg): the same statement with %s, in the order they appear
            sql, names = _NAMED.sub("%s", statement.string), _NAMED.findall(statement.string)
        if set(names) != set(self.columns):
            raise ValueError(f"the statement binds {sorted(names)}, the rows hold {sorted(self.columns)}")
        processors = []
        for name, process in statement._bind_processors.items():
            if not callable(process):  # a tuple-valued parameter's processors: none here
                raise ValueError(f"{name}: one processor per column expected")
            processors.append((position[name], process))
        many = statement._insertmanyvalues
        values = None
        if many is not None:
            one_row = _NAMED.sub("%s", many.single_values_expr)
            values = f"({one_row})"
            placeholder = "?" if statement.positiontup is not None else "%s"
            if sql.count(values) != 1 or one_row.count(placeholder) != len(names):
                raise ValueError(f"cannot tell the one row of values (and only it) in {sql!r}")
        return _Compiled(sql, tuple(position[name] for name in names), tuple(processors), values, _direct(dialect))


class Read:
    """One SELECT sent as `Bulk` sends its statements, each value it returns processed by
    its column's result processor, as SQLAlchemy's result processes it: for the one read
    every action on an incident starts with (backend/clocks.py) and a batch's read of its
    probes (backend/probe_rows.py), where the ORM's query and loading, or an expanding
    IN rendered at each execution, cost several times the statement. `params` names the statement's
    parameters in the order `rows` is given them; none may need a bind processor."""

    def __init__(self, statement: Select[Any], params: Sequence[str]) -> None:
        self.statement = statement
        self.params = tuple(params)
        self._compiled: WeakKeyDictionary[Dialect, tuple[_Compiled, tuple[Callable[[Any], Any] | None, ...]]] = (
            WeakKeyDictionary()
        )

    def rows(self, connection: Connection, params: Sequence[Any]) -> list[Sequence[Any]]:
        """The rows as the driver returns them: `values` processes the columns wanted."""
        compiled, _processors = self._compile(connection.dialect)
        return _send(connection, compiled.direct, compiled.sql, tuple([params[i] for i in compiled.order])).rows

    def values(self, connection: Connection, row: Sequence[Any], start: int, stop: int) -> list[Any]:
        """Columns `start` to `stop` (not included) of a returned row, each processed as
        SQLAlchemy's result processes it (only those wanted: a join repeats its left
        side's columns in every row)."""
        processors = self._compile(connection.dialect)[1]
        return [
            value if process is None else process(value)
            for process, value in zip(processors[start:stop], row[start:stop], strict=True)
        ]

    def _compile(self, dialect: Dialect) -> tuple[_Compiled, tuple[Callable[[Any], Any] | None, ...]]:
        found = self._compiled.get(dialect)
        if found is None:
            found = self._compiled[dialect] = self._compile_for(dialect)
        return found

    def _compile_for(self, dialect: Dialect) -> tuple[_Compiled, tuple[Callable[[Any], Any] | None, ...]]:
        statement = self.statement.compile(dialect=dialect)
        assert isinstance(statement, SQLCompiler)
        if statement.positiontup is not None:  # qmark (SQLite)
            sql, names = statement.string, list(statement.positiontup)
        else:  # pyformat (psycopg)
            sql, names = _NAMED.sub("%s", statement.string), _NAMED.findall(statement.string)
        if set(names) != set(self.params) or statement._bind_processors:
            raise ValueError(f"the statement binds {sorted(names)} (none processed); given {sorted(self.params)}")
        order = tuple(self.params.index(name) for name in names)
        processors = tuple(entry.type._cached_result_processor(dialect, None) for entry in statement._result_columns)
        return _Compiled(sql, order, (), None, _direct(dialect)), processors


def driver_sql(connection: Connection, sql: str, params: tuple[Any, ...] = ()) -> Returned:
    """One statement in the driver's own SQL, sent as `Bulk` sends its rows (the head
    read and `PRAGMA data_version` every SQLite write starts with)."""
    return _send(connection, _direct(connection.dialect), sql, params)


def _direct(dialect: Dialect) -> bool:
    return dialect.name == "sqlite" and dialect.driver == "pysqlite"


def _send(connection: Connection, direct: bool, sql: str, params: Any, *, many: bool = False) -> Returned:
    """`sql` with `params` (a list of rows when `many`) on the transaction's connection."""
    if not direct:
        result = connection.exec_driver_sql(sql, params)
        return Returned(list(result.fetchall()) if result.returns_rows else [])
    return _to_sqlite(connection, sql, params, many)


def _to_sqlite(connection: Connection, sql: str, params: Any, many: bool) -> Returned:
    """The statement on the sqlite3 cursor of `connection` (inside its transaction, begun
    by SQLAlchemy), with the engine's cursor events around it and a driver error raised
    as SQLAlchemy raises it."""
    dialect = connection.dialect
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    events = connection._has_events or connection.engine._has_events
    try:
        if events:
            connection.dispatch.before_cursor_execute(connection, cursor, sql, params, None, many)
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        rows: list[Sequence[Any]] = list(cursor.fetchall()) if cursor.description is not None else []
        if events:
            connection.dispatch.after_cursor_execute(connection, cursor, sql, params, None, many)
    except dialect.loaded_dbapi.Error as error:
        wrapped = DBAPIError.instance(sql, params, error, dialect.loaded_dbapi.Error, dialect=dialect, ismulti=many)
        raise wrapped from error
    finally:
        cursor.close()
    return Returned(rows)


def _by_identity(process: Callable[[Any], Any], values: Sequence[Any], seen: dict[int, Any] | None = None) -> list[Any]:
    """`process` of each value, once per distinct object (by id: every value is alive for
    the whole call, so no two distinct objects share one); `seen` carries what one column
    processed over to the next of its `alike` group."""
    if seen is None:
        seen = {}
    out = []
    for value in values:
        key = id(value)
        if key not in seen:
            seen[key] = process(value)
        out.append(seen[key])
    return out
