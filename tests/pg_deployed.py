"""A deployment of a test module's own for the database-roles suites (#15): a PostgreSQL
server (tests/pg_server.py: initdb, scram-sha-256, a free port), the demo roster, `opsdeck
db roles init`, and a database role per person with a password in the passfile."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from . import pg_server
from .conftest import demo_fixture

CLI = Callable[..., tuple[int, str, str]]
PEOPLE = {"alice": "servers", "vic": "auditor", "boss": "lead"}  # database role -> roster login


@contextmanager
def deployment() -> Iterator[pg_server.Server]:
    """The shared deployment of docs/operations.md, roles initialised, a role per person."""
    reason = pg_server.unavailable()
    if reason:
        pytest.skip(reason)
    with pg_server.running() as server:
        opsdeck = str(Path(sys.executable).with_name("opsdeck"))
        for args in (
            ("roster", "import", str(demo_fixture("roster.toml"))),
            ("db", "roles", "init"),
            *(("db", "roles", "add", role, login) for role, login in PEOPLE.items()),
        ):
            done = subprocess.run(
                [opsdeck, "--db", server.url(), *args], capture_output=True, text=True, env=env(), check=False
            )
            assert done.returncode == 0, done.stderr
        for role in (*PEOPLE, "opsdeck_worker"):
            server.set_password(role, f"pw-{role}")
        yield server


def env() -> dict[str, str]:
    return {**os.environ, "OPSDECK_CONFIG": "/nonexistent/opsdeck.toml", "OPSDECK_TIMEZONE": "UTC"}


def cli_as(server: pg_server.Server, cli: CLI, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """`run("alice", "incident", "note", ...)`: the CLI connecting as that role."""

    def run(role: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setenv("OPSDECK_DB", server.url(role))
        return cli(*args)

    return run


def sql(server: pg_server.Server, role: str, statement: str, params: Any = None) -> None:
    """One statement as `role`, as psql would send it."""
    with psycopg.connect(server.libpq(role)) as conn:
        conn.execute(statement, params)
        conn.commit()


def refused(server: pg_server.Server, role: str, statement: str, params: Any = None) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        sql(server, role, statement, params)
    return str(caught.value)
