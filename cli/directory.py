"""The roster, contacts and systems: `import`, `list`, `roster duty`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from opsdeck.backend import queries, words
from opsdeck.backend.cells import fit
from opsdeck.backend.i18n import N_, _
from opsdeck.backend.progress import Progress
from opsdeck.backend.rows import ContactRow, RosterRow, SystemRow
from opsdeck.backend.sanitize import clean
from opsdeck.cli.context import Context
from opsdeck.cli.output import emit_json
from opsdeck.cli.registry import MEMBER, arg, command


def _directory(kind: str) -> str:
    labels = {"roster": _("roster"), "contacts": _("contacts"), "systems": _("systems")}
    return labels.get(kind, kind)


def directory_import(ctx: Context) -> int:
    kind = ctx.args.command
    progress = Progress(_("importing {what}").format(what=_directory(kind)))
    result = ctx.service.import_records(kind, Path(ctx.args.file), progress)
    progress.done()
    if ctx.args.json:
        emit_json({"kind": kind, **result.counts(), "added_keys": result.added, "updated_keys": result.updated})
    else:
        c = result.counts()
        print(
            _("{what}: {added} added, {updated} updated, {unchanged} unchanged").format(
                what=_directory(kind), added=c["added"], updated=c["updated"], unchanged=c["unchanged"]
            )
        )
    return 0


def directory_list(ctx: Context) -> int:
    kind = ctx.args.command
    rows: list[RosterRow] | list[ContactRow] | list[SystemRow]
    lines: Iterator[str]
    with ctx.store.read() as session:
        if kind == "roster":
            members = queries.roster(session)
            rows, lines = members, (_member_line(m) for m in members)
        elif kind == "contacts":
            contacts = queries.contacts(session)
            rows, lines = contacts, (_contact_line(c) for c in contacts)
        else:
            systems = queries.systems(session)
            rows, lines = systems, (_system_line(s) for s in systems)
    if ctx.args.json:
        emit_json(rows)
        return 0
    if not rows:
        print(_("(no {what} yet: opsdeck {kind} import FILE)").format(what=_directory(kind), kind=kind))
    for line in lines:
        print(line)
    return 0


def _member_line(row: RosterRow) -> str:
    duty = _("ON DUTY") if row["on_duty"] else _("off")
    open_count = _("{count} open").format(count=row["open_incidents"])
    duties = clean(",".join(row["duties"])) or "-"
    return (
        f"{fit(clean(row['login']), 12)} {fit(clean(row['name']), 28)} {fit(words.permission(row['permission']), 9)} "
        f"{fit(duties, 16)} {fit(duty, 8)} {open_count}  {clean(row['phone'])}"
    )


def _contact_line(row: ContactRow) -> str:
    return f"{fit(clean(row['key']), 16)} {fit(clean(row['kind']), 24)} {fit(clean(row['name']), 36)} {clean(row['phone'])}"


def _system_line(row: SystemRow) -> str:
    """Every field as the file imported it: shown cleaned, as all stored text is."""
    contract = _("contract") if row["maintenance_contract"] else _("no contract")
    name, area, parent, vendor = (clean(row[k]) or "-" for k in ("name", "duty_area", "parent", "vendor_contact"))
    return f"{fit(name, 16)} {fit(area, 10)} {fit(parent, 14)} {fit(vendor, 14)} {contract}"


def roster_duty(ctx: Context) -> int:
    member = ctx.service.roster_duty(ctx.args.login, ctx.args.state == "on")
    if ctx.args.json:
        emit_json({"login": member.login, "on_duty": member.on_duty})
    else:
        said = _("{login} is on duty") if member.on_duty else _("{login} is off duty")
        print(said.format(login=member.login))
    return 0


# The three directories, in `opsdeck --help` order: (kind, import's help, list's help).
for _kind, _adds, _lists in (
    (
        "roster",
        N_("add or update the emergency group from a TOML, JSON or CSV file (leads)"),
        N_("list the emergency group"),
    ),
    (
        "contacts",
        N_("add or update people told or escalated to from a TOML, JSON or CSV file (leads)"),
        N_("list people told or escalated to"),
    ),
    (
        "systems",
        N_("add or update the system catalog from a TOML, JSON or CSV file (leads)"),
        N_("list the system catalog"),
    ),
):
    command(_kind, "import", _adds, writes=MEMBER, example=(f"{_kind}.toml",), args=(arg("file"),))(directory_import)
    command(_kind, "list", _lists)(directory_list)
    if _kind == "roster":
        command(
            "roster",
            "duty",
            N_("put LOGIN on or off duty (LOGIN themself, or a lead)"),
            writes=MEMBER,
            example=("servers", "on"),
            args=(arg("login"), arg("state", choices=["on", "off"])),
        )(roster_duty)
