"""Alembic environment: always run in-process by `opsdeck.backend.schema` on a
connection it passes in (never from an alembic.ini)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlmodel import SQLModel

from opsdeck.backend import models
from opsdeck.backend.sqltypes import UTCDateTime


def render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Migrations must not import app types (they change; old migrations must not)."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


models.load_all()  # every table in the metadata autogenerate compares
connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite alters tables by copying them; batch mode does that, and migrations
    # that touch audit_events must re-create its triggers afterwards.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
    on_version_apply=context.config.attributes.get("on_version_apply"),  # an upgrade's progress
)
with context.begin_transaction():
    context.run_migrations()
