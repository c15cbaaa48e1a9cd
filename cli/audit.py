"""The audit trail: `audit show|verify|export|anchor`."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

from opsdeck.backend import early_warning, queries, vouch
from opsdeck.backend.audit import anchor, check_anchor, export_trail, verify
from opsdeck.backend.cells import fit
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import N_, _
from opsdeck.backend.rows import AuditEventRow
from opsdeck.backend.sanitize import clean
from opsdeck.backend.timeutil import (
    format_local,
)
from opsdeck.backend.warning_trail import export
from opsdeck.cli.argtypes import incident_or_system, trail_id
from opsdeck.cli.context import Context
from opsdeck.cli.output import emit_json, json_text
from opsdeck.cli.registry import arg, command


@command(
    "audit",
    "show",
    N_("an incident's audit trail (a warning's: W3; or `system`), oldest first"),
    example=("{id}",),
    args=(arg("id", metavar="ID|W3|system", type=incident_or_system),),
)
def audit_show(ctx: Context) -> int:
    target = str(ctx.args.id)
    if target.startswith("W"):  # a warning's chain (docs/plan.md#warnings)
        with ctx.store.read() as session:
            export(session, int(target[1:]))  # 4 if there is no such warning
            events = queries.audit_trail_of(session, early_warning.chain(int(target[1:])))
        return _print_trail(ctx, events)
    incident_id = None if target == "system" else int(target.lstrip("#"))
    with ctx.store.read() as session:
        if incident_id is not None:
            queries.get_incident(session, incident_id)  # 4 if there is no such incident
        events = queries.audit_trail(session, incident_id)
    return _print_trail(ctx, events)


def _print_trail(ctx: Context, events: list[AuditEventRow]) -> int:
    if ctx.args.json:
        emit_json(events)
        return 0
    for e in events:
        at = format_local(datetime.fromisoformat(e["at"].replace("Z", "+00:00")), ctx.zone)
        details = clean(json.dumps(e["details"], ensure_ascii=False))
        print(f"{e['seq']:>4} {at} {fit(clean(e['actor']), 16)} {fit(e['action'], 14)} {details}")
    return 0


@command(
    "audit",
    "verify",
    N_("check every hash chain; exit 1 naming the first broken link"),
    args=(
        arg(
            "--anchor",
            metavar="TOKEN",
            help=N_("also check the history against a token `audit anchor` printed earlier"),
        ),
    ),
)
def audit_verify(ctx: Context) -> int:
    if ctx.args.anchor:
        return _verify_anchor(ctx, ctx.args.anchor)
    with ctx.store.read() as session:
        chains, events, problems = verify(session)
        rows = vouch.check_rows(session)
    messages = [p.message for p in problems] + [r.message for r in rows]
    if ctx.args.json:
        emit_json(
            {
                "ok": not messages,
                "chains": chains,
                "events": events,
                "problems": [p.__dict__ for p in problems],
                "rows": [r.__dict__ for r in rows],
            }
        )
    elif messages:
        for message in messages:
            print(_("BROKEN {problem}").format(problem=clean(message)))
    else:
        print(_("ok: {chains} chains, {events} events, every link intact").format(chains=chains, events=events))
        print(_("every incident, roster member, policy and channels row is as its events say"))
    if messages:
        said = _(
            "{problem} — restore the store from a backup and find out who had write access to the database"
        ).format(problem=messages[0])
        print(f"opsdeck: error: {clean(said)}", file=sys.stderr)  # quotes stored text: never an escape
        return 1
    return 0


def _write_new(path: Path, text: str) -> None:
    """Write a file the user named, refusing to overwrite one: evidence is never replaced."""
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise InvalidInput(
            "file_exists",
            _("{path} already exists").format(path=path),
            _("name a new file; evidence is never overwritten"),
        ) from None
    except OSError as error:
        raise InvalidInput(
            "unwritable",
            _("cannot write {path}: {reason}").format(path=path, reason=error.strerror),
            _("name a writable path"),
        ) from None


@command(
    "audit",
    "export",
    N_("an incident's (or a warning's: W3) trail with its hash chain, as JSON evidence"),
    example=("{id}",),
    json=False,
    args=(
        arg("id", metavar="ID|W3", type=trail_id),
        arg("--output", "-o", metavar="FILE", help=N_("write to FILE instead of standard output")),
    ),
)
def audit_export(ctx: Context) -> int:
    target = str(ctx.args.id)
    with ctx.store.read() as session:
        if target.startswith("W"):  # a warning's chain
            evidence = export(session, int(target[1:]))
        else:
            evidence = export_trail(session, int(target))
    text = json_text(evidence, indent=2) + "\n"
    if ctx.args.output:
        _write_new(Path(ctx.args.output), text)
        if evidence["verified"]:
            state = _("chain intact")
        else:
            state = _("CHAIN BROKEN: {problems}").format(problems="; ".join(evidence["problems"]))
        print(
            _("{id}: {count} events written to {path} ({state})").format(
                id=target if target.startswith("W") else f"#{target}",
                count=len(evidence["events"]),
                path=ctx.args.output,
                state=state,
            )
        )
    else:
        sys.stdout.write(text)
    return 0 if evidence["verified"] else 1


def _verify_anchor(ctx: Context, token: str) -> int:
    with ctx.store.read() as session:
        problems = check_anchor(session, token)
    if ctx.args.json:
        emit_json({"ok": not problems, "anchor": token, "problems": problems})
    elif not problems:
        print(_("ok: every chain holds the history the anchor fixed"))
    for problem in problems if not ctx.args.json else []:
        print(_("BROKEN {problem}").format(problem=problem))
    if problems:
        said = _(
            "{problem} — the history changed after the anchor was taken: restore the store "
            "from a backup older than the change and find out who had write access to the database"
        ).format(problem=problems[0])
        print(f"opsdeck: error: {clean(said)}", file=sys.stderr)  # quotes stored text: never an escape
        return 1
    return 0


@command("audit", "anchor", N_("print a token fixing every chain's head now: keep it somewhere else"))
def audit_anchor(ctx: Context) -> int:
    with ctx.store.read() as session:
        token = anchor(session)
    if ctx.args.json:
        emit_json({"anchor": token})
    else:
        print(token)
    return 0
