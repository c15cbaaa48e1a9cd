"""backend/models loads each area's tables when one is first named: an area must bring
the areas its foreign keys point into (the ORM resolves them when it orders a flush),
and `load_all()` must register every table."""

from __future__ import annotations

import subprocess
import sys

import pytest

from opsdeck.backend import models

AREAS = sorted(models._AREAS)


@pytest.mark.parametrize("area", AREAS)
def test_an_area_loads_the_tables_its_foreign_keys_name(area: str) -> None:
    first = models._AREAS[area][0][0]
    probe = (
        "from sqlmodel import SQLModel\n"
        "from opsdeck.backend import models\n"
        f"models.{first}\n"
        "for table in SQLModel.metadata.tables.values():\n"
        "    for key in table.foreign_keys:\n"
        "        key.column  # raises NoReferencedTableError if its table is not loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_every_name_is_in_one_area_and_load_all_registers_every_table() -> None:
    from sqlmodel import SQLModel

    named = [name for names, _ in models._AREAS.values() for name in names]
    helpers = {"json_dict", "json_list", "load_all", "table_of", "utc"}
    assert sorted(named) == sorted(set(models.__all__) - helpers)
    models.load_all()
    tables = {getattr(models, name).__tablename__ for name in named}
    assert tables == set(SQLModel.metadata.tables)


def test_every_table_model_defers_pydantics_build_and_still_serialises() -> None:
    """A table model is never validated: pydantic builds its schema only when asked
    (backend/models/columns.py TableModel); a table that does not inherit it pays for
    it at every start."""
    from datetime import UTC, datetime

    from sqlmodel import SQLModel

    from opsdeck.backend.models.columns import TableModel

    models.load_all()
    tables = [m.class_ for m in SQLModel._sa_registry.mappers]
    assert len(tables) == len(SQLModel.metadata.tables)
    eager = [t.__name__ for t in tables if not issubclass(t, TableModel) or not t.model_config.get("defer_build")]
    assert eager == []
    at = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    row = models.Incident(title="disk full on db-1", category="hardware", level="III", reporter="ops", reported_at=at)
    dumped = row.model_dump()
    assert dumped["title"] == "disk full on db-1" and dumped["reported_at"] == at and dumped["status"] == "reported"
