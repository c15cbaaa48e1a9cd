"""The post-incident record: `report show|edit|file`."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TypedDict

from opsdeck.backend import drafts, record
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import N_, _
from opsdeck.backend.models import Incident
from opsdeck.backend.sanitize import clean
from opsdeck.backend.timeutil import (
    rfc3339,
)
from opsdeck.cli.argtypes import incident_id
from opsdeck.cli.context import Context
from opsdeck.cli.incident import IF_VERSION, _incident_out
from opsdeck.cli.output import emit_json
from opsdeck.cli.registry import MEMBER, arg, command


class _Filed(TypedDict):
    at: str | None
    sha256: str
    text: str


class _StoredDraft(TypedDict):
    version: int
    updated_at: str
    updated_by: str
    missing: list[str]  # required sections still missing, empty or placeholders
    text: str


class _ReportJson(record.RecordJson):
    """`report show --json`: the draft's data, the filed record and the draft being written."""

    filed: _Filed | None
    stored_draft: _StoredDraft | None


@command(
    "report",
    "show",
    N_("the filed record, or a draft from the stored facts and the audit trail"),
    example=("{id}",),
    args=(
        arg("id", type=incident_id),
        arg("--format", choices=["md", "json"], default="md", help=N_("Markdown (default) or JSON")),
    ),
)
def report_show(ctx: Context) -> int:
    with ctx.store.read() as session:
        draft = record.draft(session, ctx.args.id, ctx.store.clock())
        incident = session.get(Incident, ctx.args.id)
        assert incident is not None
        filed = incident.record if incident.record_filed_at and incident.record else None
        filed_at = incident.record_filed_at
        stored = drafts.stored(session, ctx.args.id)
    if ctx.args.json or ctx.args.format == "json":
        out: _ReportJson = {
            **record.as_json(draft),
            "filed": None
            if filed is None
            else {"at": rfc3339(filed_at), "sha256": record.record_hash(filed), "text": filed},
            "stored_draft": None
            if stored is None
            else {
                "version": stored.version,
                "updated_at": rfc3339(stored.updated_at),
                "updated_by": stored.updated_by,
                "missing": record.missing_sections(stored.text),
                "text": stored.text,
            },
        }
        emit_json(out)
        return 0
    shown = filed if filed is not None else stored.text if stored is not None else record.markdown(draft, ctx.zone)
    print(clean(shown, one_line=False))
    return 0


@command(
    "report",
    "edit",
    N_("write the stored draft (in $EDITOR, or from FILE) without filing it"),
    writes=MEMBER,
    example=("{id}", "--from", "{tmp}/record.md"),
    args=(
        arg("id", type=incident_id),
        arg("--from", dest="source", metavar="FILE", help=N_("the draft's text, UTF-8 (- reads standard input)")),
    ),
)
def report_edit(ctx: Context) -> int:
    """The stored draft, written in $EDITOR (or taken from --from) and saved, not filed."""

    a = ctx.args
    kept: Path | None = None
    if a.source:
        with ctx.store.read() as session:
            seen = drafts.current(session, a.id, ctx.store.clock(), ctx.zone)[1]
        text = sys.stdin.read() if a.source == "-" else _read_record(Path(a.source))
    else:
        text, kept, seen = _edit_draft(ctx, _("nothing saved"))
    row = ctx.service.save_draft(a.id, text, seen=seen)
    if kept is not None:
        kept.unlink(missing_ok=True)
    missing = record.missing_sections(row.text)
    if a.json:
        emit_json({"id": a.id, "version": row.version, "missing": missing})
    elif missing:
        print(
            _("#{id} draft saved (version {version}); still to write: {sections}").format(
                id=a.id, version=row.version, sections=record.section_names(missing)
            )
        )
    else:
        print(
            _("#{id} draft saved (version {version}); written: opsdeck incident close {id} files it").format(
                id=a.id, version=row.version
            )
        )
    return 0


@command(
    "report",
    "file",
    N_("file the record (from FILE, or the draft edited in $EDITOR) and close the incident"),
    writes=MEMBER,
    example=("{id}", "--from", "{tmp}/record.md"),
    args=(
        arg("id", type=incident_id),
        arg("--from", dest="source", metavar="FILE", help=N_("the record's text, UTF-8 (- reads standard input)")),
        IF_VERSION,
    ),
)
def report_file(ctx: Context) -> int:
    a = ctx.args
    kept: Path | None = None
    if a.source == "-":
        text = sys.stdin.read()
    elif a.source:
        text = _read_record(Path(a.source))
    else:
        text, kept, seen = _edit_draft(ctx, _("nothing filed"))
        ctx.service.save_draft(a.id, text, seen=seen)  # kept across sessions, filed or not
        kept.unlink(missing_ok=True)
    try:
        ctx.service.close(a.id, record=text, zone=ctx.zone, expected_version=a.if_version)
    except Exception:
        if kept is not None:
            told = _("nothing filed; your text is saved as the draft (opsdeck report edit {id})").format(id=a.id)
            print(f"opsdeck: {told}", file=sys.stderr)
        raise
    return _incident_out(ctx, a.id, _("record filed, closed"))


def _read_record(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(
            "no_file", _("{path} does not exist").format(path=path), _("give the path of the record's text")
        ) from None
    except UnicodeDecodeError as error:
        raise InvalidInput(
            "not_utf8",
            _("{path} is not UTF-8 (byte {byte})").format(path=path, byte=error.start),
            _("save the record as UTF-8 and file it again"),
        ) from None
    except OSError as error:
        raise InvalidInput(
            "unreadable",
            _("cannot read {path}: {reason}").format(path=path, reason=error.strerror),
            _("check the path"),
        ) from None


def _edit_draft(ctx: Context, outcome: str) -> tuple[str, Path, int]:
    """The stored draft in the user's editor: what they saved, where, and the draft version
    it was edited from. `outcome` says what a failed editor means ("nothing filed")."""

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor or not sys.stdin.isatty():
        raise InvalidInput(
            "no_editor",
            _("no record text given, and no editor to write one in"),
            _("give --from FILE (or --from - for standard input), or set EDITOR and run it in a terminal"),
        )
    with ctx.store.read() as session:
        draft, seen = drafts.current(session, ctx.args.id, ctx.store.clock(), ctx.zone)
    handle, name = tempfile.mkstemp(prefix=f"opsdeck-record-{ctx.args.id}-", suffix=".md")
    path = Path(name)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(draft)
    status = subprocess.call([*shlex.split(editor), str(path)])
    if status != 0:
        raise InvalidInput(
            "editor_failed",
            _("the editor exited with {status}: {outcome}").format(status=status, outcome=outcome),
            _("your text is kept at {path}").format(path=path),
        )
    return _read_record(path), path, seen
