"""Fixtures of the store tier beyond tests/conftest.py: a PostgreSQL server of a module's
own, set up as a deployment with database roles (tests/pg_deployed.py), and the CLI run
as one of its roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .. import pg_deployed, pg_server


@pytest.fixture(scope="module")
def deployed() -> Iterator[pg_server.Server]:
    with pg_deployed.deployment() as server:
        yield server


@pytest.fixture
def as_role(deployed: pg_server.Server, cli: pg_deployed.CLI, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    return pg_deployed.cli_as(deployed, cli, monkeypatch)
