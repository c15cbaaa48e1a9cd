"""The write path's honest baseline: raw sqlite3 writing exactly the rows an action wrote.

An action through the unit of work writes more than its incident row: the clocks, the
audit event and its chain head, the change-feed entry and the counter, the outbox. This
reads every row an action left, per incident, from the store it was done on, and
replays them on a copy of that store taken before the actions (same tables, indexes,
triggers and foreign keys) with plain sqlite3: one `BEGIN IMMEDIATE` ... `COMMIT` per
action, an INSERT per new row and an UPDATE of only the columns that changed per
changed row. No reads: what is left is what SQLite itself must do for those rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# Every table an incident action writes, and how to find one incident's rows in it.
TABLES: tuple[tuple[str, str, str], ...] = (  # (table, its key column, rows of incident ?)
    ("incidents", "id", "id = ?"),
    ("playbook_steps", "id", "incident_id = ?"),
    ("incident_deadlines", "id", "incident_id = ?"),
    ("audit_events", "id", "incident_id = ?"),
    ("audit_heads", "chain", "chain = 'incident:' || ?"),
    ("changes", "seq", "entity = 'incident' AND entity_id = CAST(? AS TEXT)"),
    ("outbox", "id", "incident_id = ?"),
)
Rows = dict[tuple[str, Any], dict[str, Any]]  # (table, key) -> the row, column by column


def snapshot(conn: sqlite3.Connection, incident_ids: Sequence[int]) -> dict[int, Rows]:
    """Every row of each incident, as stored now."""
    found: dict[int, Rows] = {}
    for incident_id in incident_ids:
        rows: Rows = {}
        for table, key, where in TABLES:
            cursor = conn.execute(f'SELECT * FROM "{table}" WHERE {where}', (incident_id,))
            names = [d[0] for d in cursor.description]
            for values in cursor.fetchall():
                row = dict(zip(names, values, strict=True))
                rows[(table, row[key])] = row
        found[incident_id] = rows
    return found


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[Any, ...]


def statements(before: Rows, after: Rows) -> list[Statement]:
    """What turns `before` into `after`: an INSERT per new row, an UPDATE of the changed
    columns per changed row, and the change counter moved past the new feed entries."""
    out: list[Statement] = []
    keys = {table: key for table, key, _ in TABLES}
    feed = 0
    for (table, key_value), row in after.items():
        old = before.get((table, key_value))
        if old is None:
            names = list(row)
            out.append(
                Statement(
                    f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({", ".join("?" * len(names))})',
                    tuple(row[n] for n in names),
                )
            )
            feed += table == "changes"
            continue
        changed = [n for n in row if row[n] != old.get(n)]
        if changed:
            out.append(
                Statement(
                    f'UPDATE "{table}" SET {", ".join(f"{n} = ?" for n in changed)} WHERE {keys[table]} = ?',
                    (*(row[n] for n in changed), key_value),
                )
            )
    if feed:
        out.append(Statement("UPDATE change_counter SET seq = seq + ? WHERE id = 1", (feed,)))
    return out


def count_rows(actions: Sequence[Sequence[Statement]]) -> tuple[int, int]:
    """(rows inserted, rows updated) over all the actions."""
    inserts = sum(s.sql.startswith("INSERT") for action in actions for s in action)
    return inserts, sum(len(action) for action in actions) - inserts


def replay(conn: sqlite3.Connection, actions: Sequence[Sequence[Statement]], tick: Callable[[int], None]) -> None:
    """One transaction per action, each row written as the action wrote it."""
    for index, action in enumerate(actions):
        conn.execute("BEGIN IMMEDIATE")
        for statement in action:
            cursor = conn.execute(statement.sql, statement.params)
            if cursor.rowcount != 1:
                raise RuntimeError(f"bench: the same-rows baseline changed {cursor.rowcount} rows: {statement.sql}")
        conn.execute("COMMIT")
        tick(index + 1)
