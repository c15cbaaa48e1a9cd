"""The post-incident record: drafted from the stored facts and the audit trail (a golden
file for a scripted incident on an injected clock), filed as written with its hash in
the audit trail, through the service and the CLI, including the $EDITOR path in a
pseudo-terminal."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from opsdeck.backend import drafts, queries, record
from opsdeck.backend.errors import DomainError, InvalidInput
from opsdeck.backend.escalation import sweep
from opsdeck.backend.models import Incident
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock

GOLDEN = Path(__file__).parents[1] / "golden" / "record.md"
OPSDECK = str(Path(sys.executable).parent / "opsdeck")


def scripted(store: Store, clock: FakeClock) -> int:
    """A level III server fault, handled over two hours by the demo roster."""
    servers, lead = Service(store, "servers"), Service(store, "lead")
    incident = servers.open(
        "Benefits DB refuses connections",
        description="Payment runs fail for every branch.",
        system="db-cluster",
        outage_start=clock.now,
    )
    assert incident.id is not None
    i = incident.id
    clock.advance(minutes=4)
    servers.ack(i)
    lead.classify(i, category="server_fault", level="IV")
    clock.advance(minutes=9)
    lead.classify(i, category="server_fault", level="III", reason="every branch affected")
    clock.advance(minutes=2)
    lead.attest(i, "leadership_informed", via="phone", note="director on the line", who="Director Huang")
    servers.step(i, "inspect")
    servers.step(i, "image_backup", skip=True, reason="no spare disk on site")
    servers.note(i, "vendor engineer on the way, <b>ETA</b> 40 min")
    desk = Service(store, "web")
    desk.add_call(i, caller="Branch 7 counter", contact="+86 10 5550 7777", need="cannot pay benefits", callback=True)
    desk.add_call(
        i,
        caller="Ms Chen",
        contact="chen.li@example.org",
        need="asks when it is back",
        callback=False,
        at=clock.now - timedelta(minutes=10),  # from the paper log, entered later
    )
    clock.advance(minutes=70)  # past the ack lease and more: the worker escalates
    sweep(store, "system:worker@test")
    clock.advance(minutes=5)
    servers.cause(i, note="connection pool exhausted after a config push")
    clock.advance(minutes=10)
    servers.resolve(i, resolution="config rolled back, pool resized, runs re-queued")
    clock.advance(minutes=20)
    desk.called_back(1, note="told them payments run again")
    return i


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
    from ..board_fixtures import seeded_store

    store = seeded_store(sqlite_url, clock)
    try:
        return sqlite_url, scripted(store, clock)
    finally:
        store.dispose()


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


def _run_in_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """The CLI with a pseudo-terminal as its standard input, as an operator runs it."""
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(args, stdin=follower, capture_output=True, text=True, env=env, timeout=60)
    finally:
        os.close(follower)
        os.close(leader)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_editor_path_files_what_the_operator_saved(resolved: tuple[str, int], tmp_path: Path) -> None:
    url, incident_id = resolved
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('(What to change so it does not happen again.)', 'Alert on pool use.'))\n"
    )
    env = {
        **os.environ,
        "OPSDECK_CONFIG": "/nonexistent",
        "OPSDECK_TIMEZONE": "UTC",
        "EDITOR": f"{sys.executable} {editor}",
    }
    env.pop("VISUAL", None)
    base = [OPSDECK, "--db", url, "--as", "servers", "report"]
    code, out = _run_in_a_terminal([*base, "file", str(incident_id)], env)
    assert code == 0, out
    code, out = _run_in_a_terminal([*base, "show", str(incident_id)], env)
    assert "## Lessons\n\nAlert on pool use." in out


def test_a_failing_editor_files_nothing_and_keeps_the_text(resolved: tuple[str, int], tmp_path: Path) -> None:
    url, incident_id = resolved
    env = {**os.environ, "OPSDECK_CONFIG": "/nonexistent", "EDITOR": "false"}
    env.pop("VISUAL", None)
    code, out = _run_in_a_terminal([OPSDECK, "--db", url, "--as", "servers", "report", "file", str(incident_id)], env)
    assert code == 2, out
    assert "the editor exited with 1: nothing filed" in out
    kept = Path(out.split("your text is kept at ")[1].split()[0])
    assert kept.read_text("utf-8").startswith(f"# Post-incident record: #{incident_id}")
    kept.unlink()


# -- the dashboard ------------------------------------------------------------------------------


async def test_on_the_dashboard_the_draft_is_edited_and_filed(resolved: tuple[str, int], clock: FakeClock) -> None:
    """Board -> enter (detail) -> w (record) -> type -> ctrl+s: the incident is closed with
    the text as typed. Before that, an operator's ctrl+s on an unresolved incident is
    refused on the screen and the text stays."""
    from opsdeck.backend.schema import open_store
    from opsdeck.screens.incident import IncidentScreen
    from opsdeck.screens.record import RecordScreen

    from ..board_fixtures import make_app, until

    url, incident_id = resolved
    store = open_store(url, clock=clock)
    still_open = Service(store, "servers").open("still down", category="server_fault", level="IV")
    try:
        app = make_app(store, clock, login="servers")
        async with app.run_test(size=(100, 30)) as pilot:
            from textual.widgets import Static, TextArea

            # The unresolved one first: refused, shown, kept.
            app.push_screen(IncidentScreen(app.context, still_open.id))  # type: ignore[arg-type]
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, RecordScreen) and app.screen.loaded is not None)
            area = app.screen.query_one(TextArea)
            area.insert("Typed before resolving.\n", (0, 0))
            await pilot.press("ctrl+s")
            error = app.screen.query_one("#record-error", Static)
            await until(pilot, lambda: "not resolved" in str(error.render()))
            assert "your text is kept" in str(error.render())
            assert area.text.startswith("Typed before resolving.")
            with store.read() as session:  # saved as the draft, though not filed
                assert drafts.current(session, still_open.id, clock.now, UTC)[0].startswith("Typed before resolving.")  # type: ignore[arg-type]
            area.insert("And more.\n", (0, 0))
            await pilot.press("escape")  # edited since the save: the first esc warns
            assert isinstance(app.screen, RecordScreen)
            await pilot.press("escape")
            await pilot.press("escape")
            # Then the resolved one: edited, filed, closed.
            app.push_screen(IncidentScreen(app.context, incident_id))  # type: ignore[arg-type]
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, RecordScreen) and app.screen.loaded is not None)
            area = app.screen.query_one(TextArea)
            assert area.text.startswith(f"# Post-incident record: #{incident_id} Benefits DB refuses connections")
            area.insert("Filed from the dashboard.\n\n", (0, 0))
            await pilot.press("ctrl+s")  # the lessons are still the placeholder: refused, kept
            error = app.screen.query_one("#record-error", Static)
            await until(pilot, lambda: "Lessons empty or still the draft's placeholder" in str(error.render()))
            assert isinstance(app.screen, RecordScreen) and area.text.startswith("Filed from the dashboard.")
            await pilot.press("escape")  # saved: leaves at once; w again finds the draft as written
            await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, RecordScreen) and app.screen.loaded is not None)
            area = app.screen.query_one(TextArea)
            assert area.text.startswith("Filed from the dashboard.")
            area.text = area.text.replace("(What to change so it does not happen again.)", "Alert on pool use.")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, RecordScreen))
        with store.read() as session:
            incident = session.get(Incident, incident_id)
            assert incident is not None and incident.status == "closed"
            assert incident.record is not None and incident.record.startswith("Filed from the dashboard.")
            assert "Benefits DB refuses connections" in incident.record and "Alert on pool use." in incident.record
            unresolved = queries.get_incident(session, still_open.id)  # type: ignore[arg-type]
        assert unresolved["status"] == still_open.status
    finally:
        store.dispose()
