"""What the server's checks cost (docs/postgres-roles.md): write actions per second on a
PostgreSQL store with database roles on, an operator's own role writing, against the same
actions on a store of the same server without them (the current shared-role path).

The server is the bench's own (tests/pg_server.py: initdb in a temporary folder,
scram-sha-256, a free port, fsync off for both stores alike), because `db roles init`
creates roles for the whole cluster. Without initdb (or a postgres OS user when run as
root) the figure is skipped, saying why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

from opsdeck.backend import pg_roles as roles
from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from .figure import Figure
from .harness import Run

LOGIN = "servers"  # an operator in the demo roster
ROLE = "bench_operator"
WARMUP = 20
ROUND = 50


@dataclass(frozen=True)
class Rates:
    checked: float  # actions/s as ROLE with the checks on
    plain: float  # actions/s on a store without roles


def open_rate(run: Run) -> Figure | None:
    rates = run.once("pg_roles", lambda: _measure(run))
    if isinstance(rates, str):
        run.progress.stage(rates)
        return None
    return Figure(
        name="PostgreSQL write actions/s with database roles on (open, an operator's role)",
        value=rates.checked,
        unit="actions/s",
        baseline=rates.plain,
        baseline_label="the same opens on a store without `db roles init` (one shared role)",
        note=f"{run.sizes.write_actions:,} opens each; the bench's own server, fsync off",
    )


def _measure(run: Run) -> Rates | str:
    from tests import pg_server

    reason = pg_server.unavailable()
    if reason:
        return reason
    with pg_server.running() as server:
        import psycopg

        with psycopg.connect(server.libpq(db="postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE plain")
        plain = open_store(server.url(db="plain"))
        _roster(plain)
        admin = open_store(server.url())
        _roster(admin)
        roles.init(admin, SEED_ACTOR)
        roles.add(admin, SEED_ACTOR, ROLE, LOGIN)
        admin.dispose()
        server.set_password(ROLE, "bench-password")
        checked = open_store(server.url(ROLE))
        try:
            return _interleaved(run, Service(plain, LOGIN), Service(checked, LOGIN))
        finally:
            plain.dispose()
            checked.dispose()


def _interleaved(run: Run, plain: Service, checked: Service) -> Rates:
    """Rounds of ROUND opens on each store in turn: a shared machine's load drifts, and
    both sides see the same drift."""
    for index in range(WARMUP):
        _open(plain, f"warm-up {index}")
        _open(checked, f"warm-up {index}")
    tick = run.progress.stage("opening incidents, in turn without and with roles", 2 * run.sizes.write_actions)
    spent = {"plain": 0.0, "checked": 0.0}
    done = 0
    for start in range(0, run.sizes.write_actions, ROUND):
        count = min(ROUND, run.sizes.write_actions - start)
        for name, service in (("plain", plain), ("checked", checked)):
            began = time.perf_counter()
            for index in range(start, start + count):
                _open(service, f"bench {index}")
            spent[name] += time.perf_counter() - began
            done += count
            tick(done)
    return Rates(checked=run.sizes.write_actions / spent["checked"], plain=run.sizes.write_actions / spent["plain"])


def _roster(store: Store) -> None:
    with as_file(files("opsdeck.fixtures").joinpath("demo", "roster.toml")) as roster:
        Service(store, SEED_ACTOR).import_records("roster", Path(roster))


def _open(service: Service, title: str) -> None:
    service.open(title=title, category="server_fault", level="III")
