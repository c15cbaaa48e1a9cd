"""Counts that only grow, for the Prometheus counters no row can give (backend/metrics.py).

A delivery attempt's outcome leaves no row of its own: a failed message later sent is
one `sent` row, and a dead one retried is dead no more. So the sender adds to a counter
in the transaction that records the outcome: rolled back with it, never counted twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlmodel import col

from .bulk import Bulk
from .models import MetricCounter, table_of

DELIVERIES = "notification_deliveries"  # label: sent, failed, dead
# label: ingested, quarantined. The claims themselves are pruned once their files are gone
# (backend/maintenance.py): the count of what was taken in must not shrink with them.
INGESTED = "ingested_files"
# label "": claims deleted by the upkeep, ever. An ingester reads it before it reads a
# chunk of files and again when it claims them: changed, it looks at the files again.
CLAIMS_PRUNED = "ingested_files_pruned"


def add(session: Session, name: str, label: str, n: int = 1) -> None:
    """Add `n` to a counter, creating it at `n` (one statement: no read-modify-write race).
    Compiled once, bound by the driver (backend/bulk.py): the ingest adds to one in every
    transaction of a storm, and building the statement each time cost a millisecond."""
    connection = session.connection()
    _ADD[connection.dialect.name].one(connection, (name, label, n))


def _add_statement(dialect: Any) -> Bulk:
    table = table_of(MetricCounter)
    insert = dialect.insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=["name", "label"], set_={"value": table.c.value + insert.excluded.value}
    )
    return Bulk(statement, ("name", "label", "value"))


_ADD = {"postgresql": _add_statement(postgresql), "sqlite": _add_statement(sqlite)}


def read(session: Session, name: str) -> dict[str, int]:
    """label -> value for one counter."""
    rows = session.execute(
        select(col(MetricCounter.label), col(MetricCounter.value)).where(col(MetricCounter.name) == name)
    )
    return {label: int(value) for label, value in rows}
