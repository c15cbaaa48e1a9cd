"""The durations `stats` ranks, stored on each incident and kept by the database itself.

Each is `later - earlier` in seconds, computed by the database the way `stats` always
computed it (julianday on SQLite, the epoch of the interval on PostgreSQL), written by a
trigger in the same statement that writes the timestamps, so a stored duration cannot
drift from its facts whoever writes them. Autogenerate does not see triggers, and a SQLite
batch migration of `incidents` drops them with the copied table: every such migration
calls `create_span_triggers()` again (as audit_guard.py's triggers are).
"""

from __future__ import annotations

import re

from alembic import op

# column: (later, earlier), both SQL over the incident's own columns
SPANS = {
    "time_to_ack_s": ("acknowledged_at", "reported_at"),
    "time_to_classify_s": ("classified_at", "reported_at"),
    "time_to_cause_s": ("cause_located_at", "reported_at"),
    "time_to_resolve_s": ("resolved_at", "reported_at"),
    "outage_s": ("resolved_at", "coalesce(outage_started_at, reported_at)"),
    "record_after_s": ("record_filed_at", "resolved_at"),
}
# the incident's timestamps those read, in the order they first appear: a write of any
# of them recomputes the spans
FACTS = tuple(dict.fromkeys(re.findall(r"\b\w+_at\b", " ".join(" ".join(pair) for pair in SPANS.values()))))


def sqlite_seconds(later: str, earlier: str) -> str:
    return f"(julianday({later}) - julianday({earlier})) * 86400.0"


def _sqlite_sets() -> str:
    return ", ".join(f"{name} = {sqlite_seconds(later, earlier)}" for name, (later, earlier) in SPANS.items())


def _postgresql_sets() -> str:
    facts = re.compile(r"\b(" + "|".join(FACTS) + r")\b")

    def new(sql: str) -> str:
        return facts.sub(r"NEW.\1", sql)

    return " ".join(
        f"NEW.{name} := extract(epoch FROM {new(later)} - {new(earlier)});" for name, (later, earlier) in SPANS.items()
    )


def backfill_sql(dialect: str) -> str:
    """Every incident's durations from its timestamps (the upgrade, and a bench's raw fill)."""
    if dialect == "postgresql":
        sets = ", ".join(
            f"{name} = extract(epoch FROM {later} - {earlier})" for name, (later, earlier) in SPANS.items()
        )
        return f"UPDATE incidents SET {sets}"
    return f"UPDATE incidents SET {_sqlite_sets()}"


def trigger_sql(dialect: str) -> list[str]:
    if dialect == "postgresql":
        # BEFORE each row, whatever the statement changes: nothing written by hand survives.
        return [
            "CREATE OR REPLACE FUNCTION opsdeck_incident_spans() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {_postgresql_sets()} RETURN NEW; END $$",
            "DROP TRIGGER IF EXISTS incidents_spans ON incidents",
            "CREATE TRIGGER incidents_spans BEFORE INSERT OR UPDATE ON incidents "
            "FOR EACH ROW EXECUTE FUNCTION opsdeck_incident_spans()",
        ]
    # SQLite cannot change NEW: the row is updated after it is written, by its id. Only a
    # change of a timestamp fires the update (the trigger's own UPDATE does not fire it).
    facts = ", ".join(FACTS)
    return [
        "DROP TRIGGER IF EXISTS incidents_spans_insert",
        "CREATE TRIGGER incidents_spans_insert AFTER INSERT ON incidents "
        f"BEGIN UPDATE incidents SET {_sqlite_sets()} WHERE id = NEW.id; END",
        "DROP TRIGGER IF EXISTS incidents_spans_update",
        f"CREATE TRIGGER incidents_spans_update AFTER UPDATE OF {facts} ON incidents "
        f"BEGIN UPDATE incidents SET {_sqlite_sets()} WHERE id = NEW.id; END",
    ]


def create_span_triggers() -> None:
    for statement in trigger_sql(op.get_bind().dialect.name):
        op.execute(statement)
