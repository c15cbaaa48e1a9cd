"""Column helpers every table uses: aware UTC times, JSON lists and dicts, a model's Core table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Table,
)
from sqlmodel import Field, SQLModel

from ..sqltypes import UTCDateTime


def utc(*, nullable: bool = True, index: bool = False) -> Any:
    default = None if nullable else ...
    return Field(default=default, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def table_of(model: type[SQLModel]) -> Table:
    """The Core `Table` of a table model, for Core queries and ON CONFLICT inserts."""
    table: Table = model.__table__  # type: ignore[attr-defined]  # set by SQLAlchemy's mapping; SQLModel omits it
    return table
