"""The server's checks on PostgreSQL (docs/postgres-roles.md), generated from the one
table of lead-only transitions (backend/transitions.py).

`functions()` are created by the 0021 migration (and again after every upgrade, so they
follow the code); `triggers()` are put on the tables by `opsdeck db roles init` only: a
store whose roles are not initialised runs exactly as before.

Every function pins its search_path (the store's schema first, pg_temp last), so a
caller's temporary table named `roster_members` cannot stand in for the real one.
The caller is `session_user` (SET ROLE changes `current_user`, not it; SET SESSION
AUTHORIZATION needs a superuser). Members of a table's owner role, superusers among
them, are not checked: they could drop the triggers anyway.
"""

from __future__ import annotations

from . import pg_chain, pg_clocks, pg_outbox
from .pg_sql import ident, quote, refuse
from .transitions import CLOSE_NEEDS_LEAD, CLOSED, LEAD_TABLES, LEVEL_RANK, LeadTable
from .vouch import INCIDENT_FIELDS

MAP_TABLE = "opsdeck_role_logins"
# Tables people never write (the owner and the admin do: migrations, `db roles`).
NOT_WRITTEN = ("alembic_version", "store_settings", MAP_TABLE)
# The only tables the service deletes from (presence, pruned results and claims of
# spool files gone, a replaced playbook, a removed alert source): people get DELETE on
# these alone, so a role in psql cannot delete a clock, an escalation or a queued message.
DELETABLE = ("presence", "probe_results", "ingested_files", "playbook_steps", "alert_sources")
# Tables whose rows name their writer: the actor must be the caller's mapped login.
ACTOR_TABLES = ("audit_events", "changes")
# A system login also acts as these (the worker runs the receiver when `[receive] listen`
# is set, and that receiver records as system:receiver@HOST).
SYSTEM_ALSO: dict[str, tuple[str, ...]] = {"system:worker": ("system:receiver",)}
FUNCTIONS = (
    "opsdeck_is_admin(oid)",
    "opsdeck_caller()",
    "opsdeck_check_writer()",
    "opsdeck_check_incident()",
    "opsdeck_check_lead_table()",
    "opsdeck_check_actor()",
    "opsdeck_check_vouched()",
    *pg_chain.FUNCTIONS,
    *pg_outbox.FUNCTIONS,
    *pg_clocks.FUNCTIONS,
)
# The session setting that remembers "not an administrator" (see opsdeck_is_admin).
ADMIN_SETTING = "opsdeck.not_admin"
# The incident fields whose JSON values are numbers (the rest are text or null).
_NUMERIC = ("system_id",)


def _rank_sql(column: str) -> str:
    cases = " ".join(f"WHEN {quote(level)} THEN {rank}" for level, rank in LEVEL_RANK.items())
    return f"(CASE {column} {cases} ELSE 0 END)"


def _in_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(quote(v) for v in values) + ")"


def functions(schema: str) -> list[str]:
    """CREATE OR REPLACE statements for the check functions, in `schema`."""
    path = f"SET search_path = {ident(schema)}, pg_catalog, pg_temp"
    not_mapped = refuse(
        "database role %s is not mapped to a roster login",
        "a database superuser maps it: opsdeck db roles add ROLE LOGIN",
        "session_user",
    )
    lead_self = "\n".join(_lead_table_case(t) for t in LEAD_TABLES)
    return [
        # Is the caller a member of the table's owner (a superuser among them)? Asked by
        # every check, so the answer "no" is remembered for the session in a setting
        # (ADMIN_SETTING) naming the role and the store's schema: a caller who sets it
        # by hand can only have themself checked, never skip a check, and a "yes" is
        # never remembered. No pinned search_path (a function with one is planned and
        # entered anew on every call, which was most of the checks' cost): every name is
        # schema-qualified, and the checks that call it pin the store's schema.
        f"""CREATE OR REPLACE FUNCTION opsdeck_is_admin(rel oid) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE me text := session_user || ' in ' || pg_catalog.current_schema();
BEGIN
  IF pg_catalog.current_setting({quote(ADMIN_SETTING)}, true) = me THEN RETURN false; END IF;
  IF pg_catalog.pg_has_role(session_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel), 'MEMBER') THEN
    RETURN true;
  END IF;
  PERFORM pg_catalog.set_config({quote(ADMIN_SETTING)}, me, false);
  RETURN false;
END $$""",
        # The caller's login and what it may do: lead, operator, system, viewer, none
        # (not on the roster) or bootstrap (not a viewer, and nobody leads yet: whoever
        # may write sets the store up, as the CLI lets them). NULL: the role is not mapped.
        f"""CREATE OR REPLACE FUNCTION opsdeck_caller(OUT login text, OUT permission text)
LANGUAGE plpgsql STABLE {path} AS $$
BEGIN
  SELECT m.login INTO login FROM {MAP_TABLE} m WHERE m.db_role = session_user;
  IF login IS NULL THEN RETURN; END IF;
  IF login LIKE 'system:%' THEN permission := 'system'; RETURN; END IF;
  SELECT r.permission INTO permission FROM roster_members r WHERE r.login = opsdeck_caller.login;
  IF permission IS DISTINCT FROM 'viewer' AND permission IS DISTINCT FROM 'lead'
     AND NOT EXISTS (SELECT 1 FROM roster_members WHERE roster_members.permission = 'lead') THEN
    permission := 'bootstrap';
  END IF;
  permission := coalesce(permission, 'none');
END $$""",
        f"""CREATE OR REPLACE FUNCTION opsdeck_check_writer() RETURNS trigger LANGUAGE plpgsql {path} AS $$
DECLARE c record;
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NULL; END IF;
  c := opsdeck_caller();
  IF c.login IS NULL THEN {not_mapped} END IF;
  IF c.permission NOT IN ('lead', 'operator', 'system', 'bootstrap') THEN
    {refuse("%s is a viewer here, and viewers change nothing (%s on %s)", "ask a lead to make %s an operator on the roster", "c.login", "TG_OP", "TG_TABLE_NAME")}
  END IF;
  RETURN NULL;
END $$""",
        f"""CREATE OR REPLACE FUNCTION opsdeck_check_incident() RETURNS trigger LANGUAGE plpgsql {path} AS $$
DECLARE c record;
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN coalesce(NEW, OLD); END IF;
  c := opsdeck_caller();
  IF c.permission IN ('lead', 'bootstrap') THEN RETURN coalesce(NEW, OLD); END IF;
  IF TG_OP = 'DELETE' THEN
    {refuse("incident #%s: incidents are never deleted", "close it: opsdeck incident close", "OLD.id")}
  END IF;
  IF TG_OP = 'UPDATE' AND {_rank_sql("NEW.level")} < {_rank_sql("OLD.level")} THEN
    {refuse("lowering #%s from level %s to %s is for leads", "ask a lead", "OLD.id", "OLD.level", "NEW.level")}
  END IF;
  IF NEW.status = {quote(CLOSED)} AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM {quote(CLOSED)})
     AND coalesce(CASE WHEN TG_OP = 'UPDATE' THEN OLD.level END, NEW.level) IN {_in_list(CLOSE_NEEDS_LEAD)} THEN
    {refuse("closing #%s (level %s) is for leads", "ask a lead", "NEW.id", "coalesce(CASE WHEN TG_OP = 'UPDATE' THEN OLD.level END, NEW.level)")}
  END IF;
  RETURN NEW;
END $$""",
        f"""CREATE OR REPLACE FUNCTION opsdeck_check_lead_table() RETURNS trigger LANGUAGE plpgsql {path} AS $$
DECLARE c record;
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN coalesce(NEW, OLD); END IF;
  c := opsdeck_caller();
  IF c.permission IN ('lead', 'bootstrap') THEN RETURN coalesce(NEW, OLD); END IF;
{lead_self}
  {refuse("%s is for leads (%s on %s by %s)", "ask a lead", "TG_ARGV[0]", "TG_OP", "TG_TABLE_NAME", "coalesce(c.login, session_user)")}
END $$""",
        f"""CREATE OR REPLACE FUNCTION opsdeck_check_actor() RETURNS trigger LANGUAGE plpgsql {path} AS $$
DECLARE c record;
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NEW; END IF;
  c := opsdeck_caller();
  IF c.login IS NULL THEN {not_mapped} END IF;
  IF NEW.actor = c.login OR (c.permission = 'system' AND left(NEW.actor, length(c.login) + 1) = c.login || '@') THEN
    RETURN NEW;
  END IF;
{_system_also()}
  {refuse("%s may not write as %s: database role %s acts as %s", "act as yourself (your database role's login)", "session_user", "quote_literal(NEW.actor)", "session_user", "c.login")}
END $$""",
        _vouched_sql().format(path=path),
        *pg_chain.functions(path),
        *pg_outbox.functions(path),
        *pg_clocks.functions(path),
    ]


def _vouched_sql() -> str:
    """At commit: the incident's newest event vouches for the row as it is left (the
    fields of backend/vouch.py), so no change goes in without an event saying it."""
    differs = " OR ".join(
        f"(said ->> {quote(f)}){'::bigint' if f in _NUMERIC else ''} IS DISTINCT FROM cur.{f}" for f in INCIDENT_FIELDS
    )
    told = refuse(
        "incident #%s changed without an audit event saying so (its newest event says %s)",
        "change incidents through opsdeck, which records each change",
        "NEW.id",
        "coalesce(said::text, 'nothing')",
    )
    return f"""CREATE OR REPLACE FUNCTION opsdeck_check_vouched() RETURNS trigger LANGUAGE plpgsql {{path}} AS $$
DECLARE said jsonb; cur record;
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NULL; END IF;
  SELECT * INTO cur FROM incidents WHERE id = NEW.id;
  IF NOT FOUND THEN RETURN NULL; END IF;
  SELECT e.details::jsonb -> 'row' INTO said FROM audit_events e WHERE e.incident_id = NEW.id ORDER BY e.id DESC LIMIT 1;
  IF said IS NULL OR {differs} THEN
    {told}
  END IF;
  RETURN NULL;
END $$"""


def _system_also() -> str:
    lines = []
    for login, also in SYSTEM_ALSO.items():
        for other in also:
            prefix = other + "@"
            lines.append(
                f"  IF c.login = {quote(login)} AND left(NEW.actor, {len(prefix)}) = {quote(prefix)} THEN RETURN NEW; END IF;"
            )
    return "\n".join(lines)


def _lead_table_case(table: LeadTable) -> str:
    """A member may change `self_columns` of their own row (on or off duty), a system role
    `system_columns` (the receiver's counts); nothing else."""
    cases = []
    for columns, who in (
        (table.self_columns, "to_jsonb(OLD) ->> 'login' = c.login"),
        (table.system_columns, "c.permission = 'system'"),
    ):
        if columns:
            minus = " - ".join(quote(c) for c in columns)
            cases.append(
                f"  IF TG_TABLE_NAME = {quote(table.table)} AND TG_OP = 'UPDATE' AND {who}\n"
                f"     AND to_jsonb(NEW) - {minus} = to_jsonb(OLD) - {minus} THEN\n"
                f"    RETURN NEW;\n  END IF;"
            )
    return "\n".join(cases)


def triggers(tables: list[str]) -> list[str]:
    """The triggers on the store's `tables` (drop and create: run again after an upgrade)."""
    out: list[str] = []
    lead = {t.table: t for t in LEAD_TABLES}
    for table in tables:
        if table in NOT_WRITTEN:
            continue
        name = ident(table)
        out += [
            f"DROP TRIGGER IF EXISTS opsdeck_writer ON {name}",
            f"CREATE TRIGGER opsdeck_writer BEFORE INSERT OR UPDATE OR DELETE ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION opsdeck_check_writer()",
        ]
        if table == "incidents":
            columns = ", ".join(INCIDENT_FIELDS)
            out += [
                f"DROP TRIGGER IF EXISTS opsdeck_transitions ON {name}",
                f"CREATE TRIGGER opsdeck_transitions BEFORE INSERT OR UPDATE OR DELETE ON {name} "
                "FOR EACH ROW EXECUTE FUNCTION opsdeck_check_incident()",
                f"DROP TRIGGER IF EXISTS opsdeck_vouched ON {name}",
                f"CREATE CONSTRAINT TRIGGER opsdeck_vouched AFTER INSERT OR UPDATE OF {columns} ON {name} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION opsdeck_check_vouched()",
            ]
        if table in lead:
            out += [
                f"DROP TRIGGER IF EXISTS opsdeck_leads ON {name}",
                f"CREATE TRIGGER opsdeck_leads BEFORE INSERT OR UPDATE OR DELETE ON {name} "
                f"FOR EACH ROW EXECUTE FUNCTION opsdeck_check_lead_table({quote(lead[table].what)})",
            ]
        if table in ACTOR_TABLES:
            out += [
                f"DROP TRIGGER IF EXISTS opsdeck_actor ON {name}",
                f"CREATE TRIGGER opsdeck_actor BEFORE INSERT ON {name} FOR EACH ROW EXECUTE FUNCTION opsdeck_check_actor()",
            ]
        out += pg_chain.triggers(table, name) + pg_outbox.triggers(table, name) + pg_clocks.triggers(table, name)
    return out


def drop_triggers(tables: list[str]) -> list[str]:
    names = (
        "opsdeck_writer",
        "opsdeck_transitions",
        "opsdeck_vouched",
        "opsdeck_leads",
        "opsdeck_actor",
        *pg_chain.TRIGGER_NAMES,
        *pg_outbox.TRIGGER_NAMES,
        *pg_clocks.TRIGGER_NAMES,
    )
    return [f"DROP TRIGGER IF EXISTS {n} ON {ident(t)}" for t in tables for n in names]
