"""The incident listing on SQLAlchemy Core (backend/listing.py, backend/reader.py): the
same rows as through the ORM, the models' own columns, and a start that loads neither."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.expression import TableClause
from sqlmodel import SQLModel

from opsdeck.backend import board_page, listing
from opsdeck.backend.reader import Reader, open_reader
from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import demo_fixture

pytestmark = pytest.mark.postgres

# What a listing must never load: the ORM, pydantic, the models (issue #26: most of its start).
ORM = ("sqlmodel", "pydantic", "sqlalchemy.orm", "opsdeck.backend.models", "opsdeck.backend.store")


@pytest.mark.parametrize(
    "light", [*(listing.INCIDENTS, listing.SYSTEMS), *board_page.TABLES], ids=lambda t: f"{t.schema or ''}{t.name}"
)
def test_the_core_tables_name_the_models_columns_with_their_types(light: TableClause) -> None:
    """The models define the schema; the Core tables of the listing and of the board's
    first page may only name what is there, with the models' types."""
    full = SQLModel.metadata.tables[light.name]
    for column in light.columns:
        assert isinstance(column, ColumnClause)
        assert column.name in full.c, f"{full.name}.{column.name} is not a column of the model"
        assert type(column.type) is type(full.c[column.name].type), f"{full.name}.{column.name}"


def test_a_listing_on_a_core_connection_is_the_listing_through_the_orm(seeded: Store) -> None:
    lead, servers = Service(seeded, "lead"), Service(seeded, "servers")
    switch = servers.open("Core switch down", category="network_fault", level="III", system="core-network").id
    servers.open("portal slow", category="other", level="IV")
    alarm = servers.open("Disk alarm").id
    lead.close(alarm, false_alarm_reason="sensor")
    filters = [
        listing.IncidentFilter(),
        listing.IncidentFilter(status="all"),
        listing.IncidentFilter(status="closed"),
        listing.IncidentFilter(system="core-network"),
        listing.IncidentFilter(grep="SWITCH"),
        listing.IncidentFilter(since=seeded.clock()),
    ]
    reader = Reader(seeded.engine, seeded.url, seeded.clock)
    for f in filters:
        with reader.connection() as connection:
            on_core = list(listing.iter_incidents(connection, f, batch=2))
            counted = listing.count_incidents(connection, f)
        with seeded.read() as session:
            through_orm = list(listing.iter_incidents(session, f, batch=2))
        assert on_core == through_orm and counted == len(on_core), f
    with reader.connection() as connection:
        row = listing.get_incident(connection, switch)
    assert (row["system"], row["status"], row["level"]) == ("core-network", "acknowledged", "III")
    assert row["acknowledged_at"] is not None and row["acknowledged_at"].endswith("Z")


def _listing_process(url: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    probe = (
        "import sys\nfrom opsdeck.cli.__main__ import main\n"
        f"code = main(['--db', {url!r}, 'incident', 'list', '--status', 'all', '--json'])\n"
        "sys.stderr.write('MODULES ' + ' '.join(sorted(sys.modules)) + '\\n')\nsys.exit(code)"
    )
    env = {**os.environ, "OPSDECK_CONFIG": str(tmp_path / "none.toml"), "OPSDECK_TIMEZONE": "UTC"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    [modules] = [line for line in done.stderr.splitlines() if line.startswith("MODULES ")]
    return done, set(modules.split()[1:])


def test_incident_list_loads_neither_the_orm_nor_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'opsdeck.db'}"
    store = open_store(url)
    Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    Service(store, "servers").open("UPS on battery", category="server_fault", level="II")
    store.dispose()
    done, modules = _listing_process(url, tmp_path)
    assert done.returncode == 0, done.stderr
    assert [(r["title"], r["level"]) for r in json.loads(done.stdout)] == [("UPS on battery", "II")]
    assert "opsdeck.backend.listing" in modules
    assert sorted(m for m in modules if m.startswith(ORM)) == []


def test_a_store_not_at_this_schema_goes_through_the_full_open(tmp_path: Path) -> None:
    """The reader opens only a store at this program's head: a newer one is refused as
    `open_store` refuses it (and never written), a missing one is not created by a listing."""
    url = f"sqlite:///{tmp_path / 'opsdeck.db'}"
    store = open_store(url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    store.dispose()
    before = (tmp_path / "opsdeck.db").read_bytes()
    done, _modules = _listing_process(url, tmp_path)
    assert done.returncode == 5, done.stderr
    assert "newer opsdeck" in done.stderr and "upgrade opsdeck" in done.stderr
    assert (tmp_path / "opsdeck.db").read_bytes() == before
    done, _modules = _listing_process(f"sqlite:///{tmp_path / 'missing.db'}", tmp_path)
    assert done.returncode == 4 and "there is no store at" in done.stderr
    assert not (tmp_path / "missing.db").exists()


def test_a_reader_over_a_current_store_is_no_store_and_a_store_over_it_shares_its_engine(sqlite_url: str) -> None:
    open_store(sqlite_url).dispose()
    reader = open_reader(sqlite_url, create=False)
    assert type(reader) is Reader
    store = Store.over(reader)
    assert store.engine is reader.engine and Store.over(store) is store
    with store.read() as session:
        assert session.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 0
    reader.dispose()
