"""The baselines' side: plain sqlite3 on the same files, with the durability the store
uses (WAL, synchronous=NORMAL, `BEGIN IMMEDIATE` ... `COMMIT` around each write)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def raw_connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, as the store does for writes.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def one_transaction(conn: sqlite3.Connection, sql: str, row: tuple[Any, ...]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    cursor = conn.execute(sql, row)
    if cursor.rowcount != 1:
        raise RuntimeError(f"bench: raw baseline changed {cursor.rowcount} rows, expected 1: {sql}")
    conn.execute("COMMIT")


def table_ddl(conn: sqlite3.Connection, table: str) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements of `table`, table first: a copy keeps the
    same B-trees to maintain."""
    rows = conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type DESC", (table,)
    ).fetchall()
    return [sql for (sql,) in rows]


def stored_rows(
    conn: sqlite3.Connection, table: str, where: str, args: Sequence[Any], columns: str | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Rows as opsdeck stored them (id left out unless asked: the table assigns it)."""
    if columns is None:
        names = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")') if row[1] != "id"]
        columns = ", ".join(names)
    cursor = conn.execute(f'SELECT {columns} FROM "{table}" WHERE {where} ORDER BY id', tuple(args))
    return [d[0] for d in cursor.description], cursor.fetchall()


def insert_sql(table: str, columns: Sequence[str]) -> str:
    return f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'


def table_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        names = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
    finally:
        conn.close()


def count_changes(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}


def sqlite_time(value: datetime) -> str:
    """A UTC time as the store keeps it in SQLite text, so raw SQL compares it the same way."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
