"""The PostgreSQL suites with database roles on (#15): `store_url`'s `postgresql-roles`
variant (tests/conftest.py). The store is the test's own schema with `opsdeck db roles
init` run on it, and every write connects as the database role of its actor:

- a roster login: a role of its own, mapped to that login (made on first use);
- `system:worker@HOST` and `system:receiver@HOST`: the system roles;
- anyone else (the seed's `system:opsdeck`): the superuser the suites connect as, as
  the administrator who sets a store up does.

Roles are per cluster, and the shared test server serves every test process at once:
each process names its roles with a prefix of its own (`odt<hex>_...`) and drops them
at the end. Reads stay the superuser's (plain SELECTs, as every mapped role may make).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from opsdeck.backend import pg_roles, pg_triggers
from opsdeck.backend.identity import LOGIN
from opsdeck.backend.schema import SEED_ACTOR
from opsdeck.backend.store import _WRITE, Store, pg_engine
from opsdeck.backend.timeutil import Clock, utcnow

# The events `db roles init` writes on the system chain: a `roles.add` per system role,
# and `roles.init`.
INIT_EVENTS = len(pg_roles.SYSTEM_ROLES) + 1


class Roles:
    """One test process's roles on the shared server: the prefix, and who exists."""

    def __init__(self, admin_libpq: str) -> None:
        self.prefix = f"odt{uuid.uuid4().hex[:8]}"
        self.admin_libpq = admin_libpq
        self.made: set[str] = set()

    def person(self, login: str) -> str:
        """The database role a roster login connects as."""
        slug = re.sub(r"[^a-z0-9_]", "_", login)[:40]
        return f"{self.prefix}_p_{slug}_{uuid.uuid5(uuid.NAMESPACE_OID, login).hex[:6]}"

    def system(self, actor: str) -> str | None:
        for kind, login in pg_roles.SYSTEM_ROLES.items():
            if kind != "sender" and actor.startswith(login + "@"):
                return f"{self.prefix}_{kind}"
        return None

    def drop_all(self) -> None:
        with psycopg.connect(self.admin_libpq, autocommit=True) as conn:
            names = [
                r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", [self.prefix + "\\_%"])
            ]
            for name in sorted(names, key=lambda n: n.endswith(("_owner", "_members"))):
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


class RoleStore(Store):
    """A store whose writes connect as their actor's database role."""

    def __init__(self, store: Store, roles: Roles, schema: str) -> None:
        super().__init__(store.engine, store.url, store.clock)
        self.roles, self.schema = roles, schema
        self._engines: dict[str, Engine] = {}

    def _writer(self, actor: str) -> Engine:
        role = self.roles.system(actor)
        if role is None and not actor.startswith("system:") and LOGIN.match(actor):
            role = self._mapped(actor)
        if role is None:  # the administrator's own writes (the seed)
            return super()._writer(actor)
        if role not in self._engines:
            url = self.url.set(username=role)
            self._engines[role] = pg_engine(url, pool_size=2, max_overflow=2).execution_options(**{_WRITE: True})
        return self._engines[role]

    def url_as(self, actor: str) -> str:
        """The URL a process acting as `actor` connects with (its role's)."""
        role = self.roles.system(actor) or self._mapped(actor)
        return self.url.set(username=role).render_as_string(hide_password=False)

    def _mapped(self, login: str) -> str:
        role = self.roles.person(login)
        with psycopg.connect(self.roles.admin_libpq, autocommit=True) as conn:
            if role not in self.roles.made:
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone() is None:
                    conn.execute(
                        sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
                            sql.Identifier(role), sql.Identifier(pg_roles.members_role(self.roles.prefix))
                        )
                    )
                self.roles.made.add(role)
            conn.execute(
                sql.SQL("INSERT INTO {}.{} (db_role, login) VALUES (%s, %s) ON CONFLICT DO NOTHING").format(
                    sql.Identifier(self.schema), sql.Identifier(pg_triggers.MAP_TABLE)
                ),
                [role, login],
            )
        return role

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        super().dispose()


def schema_of(url: str) -> str:
    options = make_url(url).query.get("options", "")
    found = re.search(r"search_path=(\w+)", options if isinstance(options, str) else options[0])
    assert found, url
    return found.group(1)


def open_with_roles(url: str, clock: Clock, roles: Roles, opener: Callable[..., Store]) -> RoleStore:
    """The store at `url` (a superuser's), roles initialised, writes as their actors' roles."""
    store = opener(url, clock=clock)
    pg_roles.init(store, SEED_ACTOR, roles.prefix)
    if clock is not utcnow:  # the tests' own clock dates events days before the server's now()
        with store._write_engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION opsdeck_time_checked() RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT false $$"
            )
    return RoleStore(store, roles, schema_of(url))


@contextmanager
def session_roles(admin_libpq: str) -> Iterator[Roles]:
    roles = Roles(admin_libpq)
    try:
        yield roles
    finally:
        roles.drop_all()
