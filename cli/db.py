"""The store itself and its policy: `db ...`, `init --system`, `policy apply|show`, `config`."""

from __future__ import annotations

from pathlib import Path

from opsdeck.backend import config as config_mod
from opsdeck.backend import identity, pg_roles, words
from opsdeck.backend.engines import parse_url
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import N_, _, pick
from opsdeck.backend.progress import Progress
from opsdeck.backend.schema import current_revision, head_revision, sqlite_backup, upgrade_store
from opsdeck.backend.service import Service
from opsdeck.backend.setup import init_system as setup
from opsdeck.cli.context import Context, Told
from opsdeck.cli.output import applied, emit_json, ljust, policy_version
from opsdeck.cli.registry import MEMBER, SYSTEM, arg, command


@command(
    "policy",
    "apply",
    N_("validate FILE (TOML) and store it as a new policy version (leads)"),
    writes=MEMBER,
    example=("policy.toml",),
    args=(arg("file"),),
)
def policy_apply(ctx: Context) -> int:
    return applied(ctx, policy_version, ctx.service.apply_policy(Path(ctx.args.file)))


@command("policy", "show", N_("the current policy"))
def policy_show(ctx: Context) -> int:
    with ctx.store.read() as session:
        policy = Service._policy(session)
    if ctx.args.json:
        emit_json({"version": policy.version, **policy.document})
        return 0
    print(policy_version(policy.version))
    for category, body in policy.document["playbooks"].items():
        print("\n" + _("{category}:").format(category=words.category(category)))
        for step in body["steps"]:
            when = f"  [{step['when']}]" if step.get("when") else ""
            print(f"  {step['key']}: {pick(step['en'], step.get('zh', ''))}{when}")
    return 0


@command(
    "init",
    writes=SYSTEM,
    example=("--system", "--dir", "{tmp}/shared", "--group", "{group}"),
    args=(
        arg("--system", action="store_true", required=True, help=N_("the shared store (the only kind needing init)")),
        arg("--dir", metavar="DIR", default="/var/lib/opsdeck", help=N_("where the store and spool live")),
        arg("--group", metavar="G", default="opsdeck", help=N_("the group of logins sharing it (default opsdeck)")),
    ),
)
def init_system(ctx: Context) -> int:
    done = setup(Path(ctx.args.dir), ctx.args.group, config_mod.site_config_path())
    data = {
        "db": done.db_url,
        "spool": str(done.spool),
        "group": done.group,
        "site_config": str(done.site_config),
        "done": done.done,
    }
    if ctx.args.json:
        emit_json(data)
        return 0
    for line in done.done or [_("everything was in place already")]:
        print(f"  {line}")
    print(
        _(
            "\nEvery login in group {group} now uses {db}.\n"
            "Next: add the operators to the group (usermod -aG {group} LOGIN; they log in again),\n"
            "import the roster (opsdeck roster import roster.toml), and run one worker\n"
            "(opsdeck worker, e.g. as a systemd service of a member of {group})."
        ).format(group=done.group, db=done.db_url)
    )
    return 0


@command(
    "db",
    "backup",
    N_("copy a SQLite store while it is in use"),
    example=("backup.db",),  # reads the store, writes a copy elsewhere
    args=(arg("dest"),),
)
def db_backup(ctx: Context) -> int:
    path = ctx.store.path
    if path is None:
        raise InvalidInput(
            "not_sqlite",
            _("db backup copies SQLite stores"),
            _("for PostgreSQL use pg_dump (it takes a consistent snapshot too)"),
        )
    progress = Progress(_("backing up"))
    sqlite_backup(path, Path(ctx.args.dest), progress)
    progress.done()
    if ctx.args.json:
        emit_json({"source": str(path), "backup": ctx.args.dest})
    else:
        print(_("backed up {path} to {dest}").format(path=path, dest=ctx.args.dest))
    return 0


@command("db", "upgrade", N_("upgrade the schema (PostgreSQL: once every host runs this version)"), writes=SYSTEM)
def db_upgrade(ctx: Context) -> int:
    told = Told()
    try:
        before, after = upgrade_store(ctx.config.db, upgrading=told)
    finally:
        told.end()
    if ctx.args.json:
        emit_json({"from": before, "to": after})
    else:
        if before != after:
            print(_("schema {before} -> {after}").format(before=before or _("(empty)"), after=after))
        else:
            print(_("schema {version}: up to date").format(version=after))
    return 0


@command("db", "status", N_("where the store is and its schema version"))
def db_status(ctx: Context) -> int:
    revision = current_revision(ctx.store)
    data = {
        "db": ctx.store.describe(),
        "dialect": ctx.store.dialect,
        "schema": revision,
        "program_schema": head_revision(),
        "allow_as": identity.allow_as_setting(ctx.config.db),
    }
    if ctx.args.json:
        emit_json(data)
    else:
        labels = {
            "db": _("db"),
            "dialect": _("dialect"),
            "schema": _("schema"),
            "program_schema": _("program_schema"),
            "allow_as": _("allow-as"),
        }
        for key, value in data.items():
            print(f"{ljust(labels[key], 15)} {value}")
    return 0


@command(
    "db",
    "allow-as",
    N_("let --as act as another login on this store (leads; audited)"),
    writes=MEMBER,
    example=("on",),
    args=(arg("state", choices=("on", "off"), help=N_("on or off")),),
)
def db_allow_as(ctx: Context) -> int:
    on = ctx.args.state == "on"
    ctx.service.set_allow_as(on)
    if ctx.args.json:
        emit_json({"allow_as": on})
    elif on:
        print(_("--as may now act as any login on this store (recorded with who used it)"))
    else:
        print(_("--as is off on this store unless the store is yours alone"))
    return 0


@command(
    "db",
    "roles",
    N_("PostgreSQL: a database role per person, every write checked by the server (superuser)"),
    writes=SYSTEM,
    example=("init",),
    args=(
        arg("step", choices=("init", "add", "remove"), help=N_("init, add ROLE LOGIN, or remove ROLE")),
        arg("role", nargs="?", metavar="ROLE", help=N_("the database role (add, remove)")),
        arg("member", nargs="?", metavar="LOGIN", help=N_("the roster login ROLE acts as (add)")),
    ),
)
def db_roles(ctx: Context) -> int:
    """`db roles init|add|remove` (docs/postgres-roles.md), as a database superuser."""
    a = ctx.args
    if a.step == "init":
        if a.role or a.member:
            raise InvalidInput("bad_usage", _("db roles init takes no ROLE or LOGIN"), _("run: opsdeck db roles init"))
        done = pg_roles.init(ctx.store, ctx.login)
        if a.json:
            emit_json({"done": done})
        for line in [] if a.json else done or [_("everything was in place already")]:
            print(f"  {line}")
        return 0
    if not a.role or (a.step == "add") != bool(a.member):
        usage = "opsdeck db roles add ROLE LOGIN" if a.step == "add" else "opsdeck db roles remove ROLE"
        raise InvalidInput(
            "bad_usage",
            _("db roles {step}: wrong arguments").format(step=a.step),
            _("run: {usage}").format(usage=usage),
        )
    if a.step == "add":
        created = pg_roles.add(ctx.store, ctx.login, a.role, a.member)
        told = _("database role {role} acts as {login}").format(role=a.role, login=a.member)
        if created:
            told += "; " + _("created it without a password: set one with psql's \\password, or use peer or cert")
    else:
        pg_roles.remove(ctx.store, ctx.login, a.role)
        told = _("database role {role} is no longer mapped and left the members' group").format(role=a.role)
    if a.json:
        emit_json({"step": a.step, "role": a.role, "login": a.member})
    else:
        print(told)
    return 0


@command("db", "check", N_("PostgreSQL: who holds the owner role or write grants around the checks"))
def db_check(ctx: Context) -> int:
    """`db check`: 0 when nobody can write around the server's checks, 1 with the findings
    (0 with a notice where roles are off: nothing to check)."""
    checked = pg_roles.check(ctx.store)
    if checked is None:
        if ctx.args.json:
            emit_json({"roles_on": False, "mapped": {}, "problems": []})
        elif ctx.store.dialect == "postgresql":
            print(_("database roles are not initialised: any role that may write the tables can write anything"))
            print(_("run `opsdeck db roles init` as a database superuser"))
        else:
            print(
                _(
                    "on a shared SQLite file the OS decides who writes (see docs/operations.md#one-host-many-logins-sqlite)"
                )
            )
        return 0
    mapped, found = checked
    if ctx.args.json:
        problems = [{"role": f.role, "problem": f.problem} for f in found]
        emit_json({"roles_on": True, "mapped": mapped, "problems": problems})
        return 1 if found else 0
    for role, login in mapped.items():
        print(_("{role} acts as {login}").format(role=role, login=login))
    for finding in found:
        print(_("problem: {role} {problem}").format(role=finding.role, problem=finding.problem))
    if not found:
        print(_("no role holds the owner role or writes around the checks"))
    return 1 if found else 0


@command("config")
def show_config(ctx: Context) -> int:
    c = ctx.config
    data = {
        "db": parse_url(c.db).render_as_string(hide_password=True),
        "timezone": c.timezone,
        "allow_as": c.allow_as,
        "language": c.language,
        "theme": c.theme,
        "keymap": c.keymap,
        "bell": c.bell,
        "ascii": c.ascii,
        "files": list(c.sources),
        "site_config": str(config_mod.site_config_path()),
        "user_config": str(config_mod.user_config_path()),
        "login": ctx.login,
    }
    if ctx.args.json:
        emit_json(data)
    else:
        for key, value in data.items():
            print(f"{key:<12} {value}")
    return 0
