"""Column helpers the tables share: aware UTC times, JSON lists and dicts, text, a row's
parent, a model's Core table.

Each helper gives SQLModel the column's type and options rather than a built `Column`, so
SQLModel builds a column of its own for every table: the helpers serve in a mixin that
several tables inherit (trail.py's `AppliedVersion`) as well as in one table.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ConfigDict
from sqlalchemy import JSON, Integer, String, Table, Text
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Field, SQLModel

from ..sqltypes import UTCDateTime


class TableModel(SQLModel):
    """What every table's model inherits. A table model is never validated (SQLModel
    builds its rows without pydantic's validator, and so does `construct`), so pydantic
    builds its schema, validator and serializer only if one is ever asked for
    (`defer_build`): 41 of them were a fifth of the models' import, paid by every start
    (bench board_pty.start_to_first_row)."""

    model_config = ConfigDict(defer_build=True)  # type: ignore[assignment]  # SQLModelConfig is private: sqlmodel._compat


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


M = TypeVar("M", bound=SQLModel)
# Defaults used as they are (pydantic copies only mutable ones): the rest are copied or made per row.
_AS_IS = (type(None), bool, int, float, str, bytes, tuple, frozenset)
_SPECS: dict[type[SQLModel], tuple[list[str], list[tuple[str, bool, Any]]]] = {}


def _made_per_row(field: Any) -> bool:
    """A default each row gets its own of: a factory's, or a mutable value copied."""
    return field.default_factory is not None or not isinstance(field.default, _AS_IS)


def construct(model: type[M], **values: Any) -> M:
    """A new row as `model(**values)` builds it, for the write path's hot rows (an
    incident, its clocks): the same fields, in the same order (those given, then the
    defaults), the same fields marked set. SQLModel's `__init__` instead sets each field
    through the ORM's attribute events and pydantic's `__setattr__` (a table model is not
    validated either way); for a row of twenty fields that was a quarter of an open in a
    burst. The ORM builds a row it loads the same way: state first, then the values
    straight into the instance's dict."""
    spec = _SPECS.get(model)
    if spec is None:
        fields = model.model_fields
        optional = [(name, _made_per_row(field), field) for name, field in fields.items() if not field.is_required()]
        spec = _SPECS[model] = (list(fields), optional)
    names, optional = spec
    row: M = sa_inspect(model).class_manager.new_instance()
    stored = row.__dict__
    for name in names:
        if name in values:
            stored[name] = values[name]
    for name, per_row, field in optional:
        if name not in values:
            stored[name] = field.get_default(call_default_factory=True) if per_row else field.default
    object.__setattr__(row, "__pydantic_fields_set__", {name for name in values if name in stored})
    return row
