"""The post-incident record: drafted from the stored facts and the audit trail (a golden
file for a scripted incident on an injected clock), filed as written with its hash in
the audit trail, through the service and the CLI (the $EDITOR path in a pseudo-terminal:
tests/e2e/test_record_editor.py; the record screen: tests/ui/test_record_screen.py)."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC
from pathlib import Path

import pytest

from opsdeck.backend import queries, record
from opsdeck.backend.errors import DomainError, InvalidInput
from opsdeck.backend.models import Incident
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock
from ..records import resolved_store, scripted

GOLDEN = Path(__file__).parents[1] / "golden" / "record.md"


def test_the_draft_of_a_scripted_incident_matches_the_golden_file(seeded: Store, clock: FakeClock) -> None:
    incident_id = scripted(seeded, clock)
    with seeded.read() as session:
        text = record.markdown(record.draft(session, incident_id, clock.now), UTC)
    if os.environ.get("OPSDECK_REGEN_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), "regenerate with OPSDECK_REGEN_GOLDEN=1 and review the diff"


def test_the_draft_says_what_a_record_must(seeded: Store, clock: FakeClock) -> None:
    """Independent of the golden file's layout: the facts the plan asks for are in it."""
    incident_id = scripted(seeded, clock)
    with seeded.read() as session:
        draft = record.draft(session, incident_id, clock.now)
    text = record.markdown(draft, UTC)
    assert [(g["from_level"], g["level"], g["reason"]) for g in draft.gradings] == [
        (None, "IV", None),
        ("IV", "III", "every branch affected"),
    ]
    assert "connection pool exhausted after a config push" in text  # the cause
    assert "config rolled back, pool resized, runs re-queued" in text  # the resolution
    assert "Director Huang" in text and "via phone" in text  # an obligation: who, when, how
    assert "(skipped: no spare disk on site)" in text
    breached = [d for d in draft.deadlines if d["state"] in ("breached", "met_late")]
    assert breached, draft.deadlines
    assert any("escalated to" in e["what"] for e in draft.timeline)
    assert "vendor engineer on the way, <b>ETA</b> 40 min" in text  # stored text, as written
    assert any(f.startswith("obligation not attested") for f in draft.follow_ups)


def test_filing_keeps_the_record_as_written_and_its_hash_in_the_trail(seeded: Store, clock: FakeClock) -> None:
    incident_id = scripted(seeded, clock)
    written = (
        "# Record\n\n## Summary\n\nThe pool ran out.  Two spaces, a tab\there, 中文 too.\n\n"
        "## Cause\n\nA config push.\n\n## Resolution\n\nRolled back.\n\n## Lessons\n\nReview pushes.\n"
    )
    Service(seeded, "lead").close(incident_id, record=written)
    with seeded.read() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        trail = queries.audit_trail(session, incident_id)
        deadlines = queries.incident_deadlines(session, incident_id, clock.now)
    assert incident.record == written.strip()
    assert incident.status == "closed" and incident.record_filed_at == clock.now
    close = trail[-1]
    assert close["action"] == "close" and close["details"]["record_as"] == "edited"
    assert close["details"]["record_sha256"] == hashlib.sha256(written.strip().encode()).hexdigest()
    assert next(d for d in deadlines if d["key"] == "record")["state"] == "met"


def test_a_record_for_an_unresolved_incident_is_refused_and_nothing_changes(seeded: Store, clock: FakeClock) -> None:
    incident = Service(seeded, "servers").open("still down", category="server_fault", level="IV")
    assert incident.id is not None
    with pytest.raises(DomainError, match="it is not resolved"):
        Service(seeded, "servers").close(incident.id, record="# too early")
    with pytest.raises(InvalidInput, match="a record is required"):
        Service(seeded, "servers").close(incident.id, record="   ")
    with seeded.read() as session:
        after = queries.get_incident(session, incident.id)
    assert after["status"] == incident.status and after["version"] == incident.version


# -- the CLI ----------------------------------------------------------------------------------


@pytest.fixture
def resolved(sqlite_url: str, clock: FakeClock) -> tuple[str, int]:
    return resolved_store(sqlite_url, clock)


def test_cli_shows_the_draft_then_files_an_edited_copy(resolved: tuple[str, int], cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, incident_id = resolved
    code, draft, err = cli("--db", url, "--as", "servers", "report", str(incident_id))
    assert code == 0, err
    assert draft.startswith(f"# Post-incident record: #{incident_id} Benefits DB refuses connections")
    code, out, _ = cli("--db", url, "--as", "servers", "report", "show", str(incident_id), "--format", "json")
    data = json.loads(out)
    assert data["format"] == "opsdeck-record/1" and data["filed"] is None
    assert data["cause"] == "connection pool exhausted after a config push"

    edited = tmp_path / "record.md"
    lessons = "(What to change so it does not happen again.)"
    assert lessons in draft
    placeholder = tmp_path / "placeholder.md"
    placeholder.write_text(draft, "utf-8")
    code, out, err = cli("--db", url, "--as", "servers", "report", "file", str(incident_id), "--from", str(placeholder))
    assert code == 1 and "Lessons empty or still the draft's placeholder" in err, err
    code, out, _ = cli("--db", url, "--as", "auditor", "incident", "show", str(incident_id), "--json")
    assert json.loads(out)["status"] == "resolved"  # nothing was filed
    written = draft.replace(lessons, "Alert on pool use.")
    edited.write_text(written.replace("Payment runs fail for every branch.", "Every branch down 2 h."), "utf-8")
    code, out, err = cli("--db", url, "--as", "servers", "report", "file", str(incident_id), "--from", str(edited))
    assert code == 0, err
    assert f"#{incident_id} record filed, closed" in out
    code, shown, _ = cli("--db", url, "--as", "auditor", "report", str(incident_id))
    assert "Every branch down 2 h." in shown and "Payment runs fail" not in shown
    code, out, _ = cli("--db", url, "--as", "auditor", "report", str(incident_id), "--json")
    filed = json.loads(out)["filed"]
    assert filed["sha256"] == hashlib.sha256(filed["text"].encode()).hexdigest()
    assert filed["text"] == edited.read_text("utf-8").strip()


def test_cli_refuses_a_missing_or_non_utf8_file_and_a_viewer(resolved: tuple[str, int], cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, incident_id = resolved
    code, _, err = cli("--db", url, "--as", "servers", "report", "file", str(incident_id), "--from", "nope.md")
    assert code == 2 and "nope.md does not exist — give the path" in err
    latin = tmp_path / "latin.md"
    latin.write_bytes("Störung".encode("latin-1"))
    code, _, err = cli("--db", url, "--as", "servers", "report", "file", str(incident_id), "--from", str(latin))
    assert code == 2 and "is not UTF-8" in err and "save the record as UTF-8" in err
    good = tmp_path / "good.md"
    good.write_text("# fine\n", "utf-8")
    code, _, err = cli("--db", url, "--as", "auditor", "report", "file", str(incident_id), "--from", str(good))
    assert code != 0 and "viewer" in err, err
    code, out, _ = cli("--db", url, "--as", "auditor", "incident", "show", str(incident_id), "--json")
    assert json.loads(out)["status"] == "resolved"  # nothing was filed
