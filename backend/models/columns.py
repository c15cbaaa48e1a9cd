"""Column helpers the tables share: aware UTC times, JSON lists and dicts, text, a row's
parent, a model's Core table.

Each helper gives SQLModel the column's type and options rather than a built `Column`, so
SQLModel builds a column of its own for every table: the helpers serve in a mixin that
several tables inherit (trail.py's `AppliedVersion`) as well as in one table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Integer, String, Table, Text
from sqlmodel import Field, SQLModel

from ..sqltypes import UTCDateTime


def utc(*, nullable: bool = True, index: bool = False) -> Any:
    default = None if nullable else ...
    return Field(default=default, sa_type=UTCDateTime(), nullable=nullable, index=index)


def json_list() -> Any:
    # the column has no default of its own: the model fills in the empty list
    return Field(default_factory=list, sa_type=JSON, nullable=False, sa_column_kwargs={"default": None})


def json_dict() -> Any:
    return Field(default_factory=dict, sa_type=JSON, nullable=False, sa_column_kwargs={"default": None})


def string(length: int, *, default: str | None = None) -> Any:
    """Text of at most `length` characters, never null; with a default, the model's and the column's."""
    if default is None:
        return Field(sa_type=String(length), nullable=False)
    return Field(default=default, sa_type=String(length), nullable=False)


def long_text(*, default: str | None = None) -> Any:
    """Text of any length, never null; with a default, the model's and the column's."""
    if default is None:
        return Field(sa_type=Text, nullable=False)
    return Field(default=default, sa_type=Text, nullable=False)


def parent(table: str) -> Any:
    """The row this one belongs to: `table`'s id, never null, indexed."""
    return Field(sa_type=Integer, foreign_key=f"{table}.id", nullable=False, index=True)


def table_of(model: type[SQLModel]) -> Table:
    """The Core `Table` of a table model, for Core queries and ON CONFLICT inserts."""
    table: Table = model.__table__  # type: ignore[attr-defined]  # set by SQLAlchemy's mapping; SQLModel omits it
    return table
