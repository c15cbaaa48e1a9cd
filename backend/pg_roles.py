"""PostgreSQL deployments where roles hold: a database role per person, mapped to a roster
login, and the server checking every write (docs/postgres-roles.md).

Opt-in: `opsdeck db roles init` (a database superuser) makes the owner role (nobody logs
in as it) own every table, creates the system roles and the members' group, grants, and
puts the checks (backend/pg_triggers.py) on the tables. Until then a store runs as it
always did. `db roles add|remove` map a database role to a roster login, in the mapping
table and in the audit trail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from . import pg_triggers
from .engines import null_pool_engine, parse_url
from .errors import DomainError, InvalidInput, NotFound
from .i18n import _
from .identity import check_login
from .store import Store

SETTING = "pg_roles"  # store_settings: present once roles are initialised; the value is the prefix
PREFIX = "opsdeck"
ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# The system roles and the login each acts as (its actors are LOGIN@HOST). The sender is
# the worker's notify duty, so it acts as the worker.
SYSTEM_ROLES = {"worker": "system:worker", "receiver": "system:receiver", "sender": "system:worker"}


def owner_role(prefix: str = PREFIX) -> str:
    return f"{prefix}_owner"


def members_role(prefix: str = PREFIX) -> str:
    return f"{prefix}_members"


@dataclass(frozen=True)
class Caller:
    """Who the server says this connection is."""

    db_role: str
    roles_on: bool
    login: str | None  # the mapped roster login (None: not mapped)
    admin: bool  # a superuser or a member of the owner role: the server does not check it


def caller(db_url: str) -> Caller | None:
    """The connection's `session_user` and its mapping; None when not PostgreSQL, or the
    store cannot be read yet (its own open reports why)."""
    url = parse_url(db_url)
    if url.get_backend_name() != "postgresql":
        return None
    engine = null_pool_engine(url)
    try:
        with engine.connect() as conn:
            role = str(conn.execute(text("SELECT session_user")).scalar_one())
            try:
                return read_caller(conn)
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) == "42501":
                    # May not read the store at all: outside the members' group (unmapped).
                    return Caller(role, True, None, False)
                raise
    except DBAPIError:
        return None
    finally:
        engine.dispose()


def read_caller(conn: Connection) -> Caller:
    role, superuser = conn.execute(
        text("SELECT session_user, rolsuper FROM pg_roles WHERE rolname = session_user")
    ).one()
    has_map = conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": pg_triggers.MAP_TABLE}).scalar_one()
    if not has_map:
        return Caller(role, False, None, bool(superuser))
    prefix = conn.execute(text("SELECT value FROM store_settings WHERE key = :k"), {"k": SETTING}).scalar()
    login = conn.execute(text(f"SELECT login FROM {pg_triggers.MAP_TABLE} WHERE db_role = session_user")).scalar()
    admin = bool(superuser)
    if prefix is not None and not admin:
        admin = bool(
            conn.execute(
                text("SELECT pg_has_role(session_user, :owner, 'MEMBER')"), {"owner": owner_role(prefix)}
            ).scalar()
        )
    return Caller(role, prefix is not None, login, admin)


def acting_login(found: Caller, as_login: str | None) -> str | None:
    """The login of a session on a store with roles on: the role's mapped login (None for
    an unmapped administrator, who acts as their OS login as before)."""
    if found.login is not None:
        if as_login and as_login != found.login:
            raise DomainError(
                "as_refused",
                _("--as {login}: on this store you act as your database role's login").format(login=as_login),
                _("connect as that login's database role instead"),
            )
        return found.login
    if found.admin:
        return None
    raise DomainError(
        "role_not_mapped",
        _("database role {role} is not mapped to a roster login on this store").format(role=found.db_role),
        _("a database superuser maps it: opsdeck db roles add {role} LOGIN").format(role=found.db_role),
    )


def check_role(name: str) -> str:
    if ROLE.match(name):
        return name
    raise InvalidInput(
        "bad_role",
        _("{role!r} is not a database role name opsdeck creates").format(role=name),
        _("use lower-case letters, digits and _ (at most 63), not starting with a digit"),
    )


def _need_postgres(store: Store) -> None:
    if store.dialect != "postgresql":
        raise InvalidInput(
            "not_postgresql",
            _("database roles are for PostgreSQL stores; this one is SQLite"),
            _("on a shared SQLite file the OS decides who writes (see docs/operations.md#one-host-many-logins-sqlite)"),
        )


def _need_admin(conn: Connection) -> None:
    if not conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = session_user")).scalar():
        raise DomainError(
            "not_superuser",
            _("db roles: database role {role} is not a superuser").format(
                role=conn.execute(text("SELECT session_user")).scalar()
            ),
            _("run it with --db (or OPSDECK_DB) naming a superuser, e.g. postgresql+psycopg://postgres@HOST/DB"),
        )


def _prefix(conn: Connection) -> str | None:
    return conn.execute(text("SELECT value FROM store_settings WHERE key = :k"), {"k": SETTING}).scalar()


def _tables(conn: Connection) -> list[str]:
    return list(
        conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
        ).scalars()
    )


def _ensure_role(conn: Connection, name: str, *, login: bool) -> bool:
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}).first():
        return False
    conn.execute(text(f'CREATE ROLE "{check_role(name)}" {"LOGIN" if login else "NOLOGIN"}'))
    return True


def install(conn: Connection, prefix: str) -> None:
    """Ownership, grants and triggers for every table of the store (idempotent: run by
    `db roles init` and again after each upgrade, so new tables are covered)."""
    owner, members = owner_role(prefix), members_role(prefix)
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    tables = _tables(conn)
    for statement in pg_triggers.functions(schema):
        conn.execute(text(statement))
    conn.execute(text(f'ALTER SCHEMA "{schema}" OWNER TO "{owner}"'))
    conn.execute(text(f'REVOKE CREATE ON SCHEMA "{schema}" FROM PUBLIC'))
    conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{members}"'))
    for table in tables:
        conn.execute(text(f'ALTER TABLE "{table}" OWNER TO "{owner}"'))
        conn.execute(text(f'REVOKE ALL ON "{table}" FROM PUBLIC, "{members}"'))
        conn.execute(text(f'GRANT SELECT ON "{table}" TO "{members}"'))
        if table not in pg_triggers.NOT_WRITTEN:
            writes = "INSERT, UPDATE, DELETE" if table in pg_triggers.DELETABLE else "INSERT, UPDATE"
            conn.execute(text(f'GRANT {writes} ON "{table}" TO "{members}"'))
    for function in pg_triggers.FUNCTIONS:
        conn.execute(text(f'ALTER FUNCTION {function} OWNER TO "{owner}"'))
    conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{members}"'))
    for statement in pg_triggers.triggers(tables):
        conn.execute(text(statement))


def after_upgrade(conn: Connection) -> None:
    """The checks follow the code: new functions, and new tables owned, granted, checked."""
    if conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": pg_triggers.MAP_TABLE}).scalar_one():
        prefix = _prefix(conn)
        if prefix is not None:
            install(conn, prefix)
        else:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            for statement in pg_triggers.functions(schema):
                conn.execute(text(statement))


def init(store: Store, actor: str, prefix: str = PREFIX) -> list[str]:
    """`opsdeck db roles init`: what it did, one line each."""
    _need_postgres(store)
    check_role(owner_role(prefix))
    done: list[str] = []
    with store.write(actor) as uow:
        conn = uow.session.connection()
        _need_admin(conn)
        if _ensure_role(conn, owner_role(prefix), login=False):
            done.append(_("created the owner role {role} (nobody logs in as it)").format(role=owner_role(prefix)))
        if _ensure_role(conn, members_role(prefix), login=False):
            done.append(_("created the members' group {role}").format(role=members_role(prefix)))
        for kind, login in SYSTEM_ROLES.items():
            role = f"{prefix}_{kind}"
            if _ensure_role(conn, role, login=True):
                done.append(_("created the system role {role} (acts as {login})").format(role=role, login=login))
            if _map(conn, role, login, prefix):
                uow.record("roles.add", {"db_role": role, "login": login}, entity="db_role", entity_id=role)
        if _prefix(conn) is None:
            conn.execute(text("INSERT INTO store_settings (key, value) VALUES (:k, :v)"), {"k": SETTING, "v": prefix})
            uow.record("roles.init", {"prefix": prefix}, entity="setting", entity_id=SETTING)
            done.append(_("database roles are on: the server checks every write"))
        install(conn, _prefix(conn) or prefix)
    return done


def _map(conn: Connection, role: str, login: str, prefix: str) -> bool:
    """Map `role` to `login` and put it in the members' group; whether anything changed."""
    conn.execute(text(f'GRANT "{members_role(prefix)}" TO "{role}"'))
    before = conn.execute(text(f"SELECT login FROM {pg_triggers.MAP_TABLE} WHERE db_role = :r"), {"r": role}).scalar()
    if before == login:
        return False
    conn.execute(
        text(
            f"INSERT INTO {pg_triggers.MAP_TABLE} (db_role, login) VALUES (:r, :l) "
            "ON CONFLICT (db_role) DO UPDATE SET login = EXCLUDED.login"
        ),
        {"r": role, "l": login},
    )
    return True


def _roles_on(conn: Connection) -> str:
    prefix = _prefix(conn)
    if prefix is None:
        raise DomainError(
            "roles_off",
            _("database roles are not initialised on this store"),
            _("run `opsdeck db roles init` first (as a database superuser)"),
        )
    return prefix


def add(store: Store, actor: str, role: str, login: str) -> bool:
    """`opsdeck db roles add ROLE LOGIN`: whether the role was created (LOGIN, no password:
    set one with psql's \\password, or use peer or certificate authentication)."""
    _need_postgres(store)
    check_role(role)
    check_login(login, "LOGIN")
    with store.write(actor) as uow:
        conn = uow.session.connection()
        _need_admin(conn)
        prefix = _roles_on(conn)
        if role in (owner_role(prefix), members_role(prefix)):
            raise InvalidInput(
                "bad_role",
                _("{role} is one of opsdeck's own roles").format(role=role),
                _("give the person a role of their own, e.g. their login"),
            )
        on_roster = conn.execute(text("SELECT 1 FROM roster_members WHERE login = :l"), {"l": login}).first()
        if on_roster is None:
            raise NotFound(
                "no_member",
                _("{login!r} is not on the roster").format(login=login),
                _("import the roster with that login first (opsdeck roster import FILE)"),
            )
        created = _ensure_role(conn, role, login=True)
        if _map(conn, role, login, prefix):
            uow.record("roles.add", {"db_role": role, "login": login}, entity="db_role", entity_id=role)
    return created


def remove(store: Store, actor: str, role: str) -> None:
    """`opsdeck db roles remove ROLE`: unmapped and out of the members' group (the role
    itself stays: it may own things elsewhere; DROP ROLE it in psql)."""
    _need_postgres(store)
    check_role(role)
    with store.write(actor) as uow:
        conn = uow.session.connection()
        _need_admin(conn)
        prefix = _roles_on(conn)
        login = conn.execute(
            text(f"DELETE FROM {pg_triggers.MAP_TABLE} WHERE db_role = :r RETURNING login"), {"r": role}
        ).scalar()
        if login is None:
            raise NotFound(
                "no_role",
                _("database role {role} is not mapped on this store").format(role=role),
                _("see `opsdeck db check` for the mapped roles"),
            )
        conn.execute(text(f'REVOKE "{members_role(prefix)}" FROM "{role}"'))
        uow.record("roles.remove", {"db_role": role, "login": login}, entity="db_role", entity_id=role)


@dataclass(frozen=True)
class Finding:
    role: str
    problem: str


def check(store: Store) -> tuple[dict[str, str], list[Finding]] | None:
    """`opsdeck db check`: the mapped roles, and who could write around the checks:
    people holding the owner role or owning the store's schema or tables, direct write
    grants besides the members' group, mapped roles that are superusers. None: roles
    are not initialised (or the store is SQLite), so there is nothing to check."""
    if store.dialect != "postgresql":
        return None
    with store.engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass(:t) IS NULL"), {"t": pg_triggers.MAP_TABLE}).scalar_one():
            prefix = None
        else:
            prefix = _prefix(conn)
        if prefix is None:
            return None
        owner, members = owner_role(prefix), members_role(prefix)
        mapped: dict[str, str] = dict(
            conn.execute(text(f"SELECT db_role, login FROM {pg_triggers.MAP_TABLE} ORDER BY db_role")).all()
        )
        found: list[Finding] = []
        holders = conn.execute(
            text(
                "SELECT rolname FROM pg_roles WHERE rolcanlogin AND NOT rolsuper AND rolname <> :o "
                "AND pg_has_role(oid, :o, 'MEMBER') ORDER BY rolname"
            ),
            {"o": owner},
        ).scalars()
        for role in holders:
            found.append(
                Finding(role, _("holds the owner role {owner}: the server checks nothing it does").format(owner=owner))
            )
        owned = conn.execute(
            text(
                "SELECT r.rolname, c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') "
                "AND r.rolname <> :o ORDER BY 1, 2"
            ),
            {"o": owner},
        )
        for role, table in owned:
            found.append(Finding(role, _("owns table {table} (run `opsdeck db roles init` again)").format(table=table)))
        grants = conn.execute(
            text(
                "SELECT coalesce(g.rolname, 'PUBLIC'), c.relname, a.privilege_type FROM pg_class c "
                "CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee "
                "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') "
                "AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE') AND a.grantee <> c.relowner "
                "AND coalesce(g.rolname, 'PUBLIC') NOT IN (:o, :m) ORDER BY 1, 2, 3"
            ),
            {"o": owner, "m": members},
        )
        for role, table, privilege in grants:
            found.append(
                Finding(
                    role,
                    _("holds {privilege} on {table} directly, besides {members}").format(
                        privilege=privilege, table=table, members=members
                    ),
                )
            )
        supers = conn.execute(
            text("SELECT rolname FROM pg_roles WHERE rolsuper AND rolname = ANY(:r) ORDER BY 1"), {"r": list(mapped)}
        ).scalars()
        for role in supers:
            found.append(Finding(role, _("is a superuser: the server checks nothing it does")))
    return mapped, found
