"""Honest compliance (issue #17): what the records an auditor reads say is true.

Closing meets no obligation (a clock not yet due is waived, an overdue one stays
breached); a re-grade does not hide a breach. Asserted on the store, on
`opsdeck incident deadlines --json` and on the filed record."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from opsdeck.backend import board, drafts, queries, record, replay
from opsdeck.backend.errors import DomainError, StaleWrite
from opsdeck.backend.ingest import Ingester, SpoolSettings
from opsdeck.backend.models import Incident
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import T0, FakeClock
from ..records import RECORD, filled


def level_iii(store: Store, clock: FakeClock, level: str = "III") -> int:
    """A server fault reported at level `level`, leadership informed, nothing else attested."""
    incident = Service(store, "servers").open(
        "Benefits DB refuses connections", category="server_fault", level=level, outage_start=clock.now
    )
    assert incident.id is not None
    clock.advance(minutes=2)
    Service(store, "lead").attest(incident.id, "leadership_informed", via="phone", note="director told")
    return incident.id


def clocks_of(store: Store, incident_id: int, clock: FakeClock) -> dict[str, dict]:  # type: ignore[type-arg]
    with store.read() as session:
        items = queries.incident_deadlines(session, incident_id, clock.now)
    return {d["key"]: d for d in items if not d.get("superseded_at")}


def _url(store: Store) -> str:
    return store.url.render_as_string(hide_password=False)


def deadlines_json(cli, store: Store, incident_id: int) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    code, out, err = cli("--db", _url(store), "incident", "deadlines", str(incident_id), "--json")
    assert code == 0, err
    return json.loads(out)


def test_closing_before_a_clock_is_due_waives_it_and_meets_nothing(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    i = level_iii(seeded, clock)
    clock.advance(minutes=5)
    Service(seeded, "servers").resolve(i, resolution="pool resized")
    clock.advance(minutes=3)  # 10 min after the level was set: departments are due at 15
    closed_at = clock.now
    with seeded.read() as session:
        draft = record.markdown(record.draft(session, i, clock.now), UTC)
    Service(seeded, "lead").close(i, record=filled(draft))

    shown = clocks_of(seeded, i, clock)
    departments = shown["departments_notified"]
    assert (departments["state"], departments["met_at"]) == ("waived", None)
    assert departments["waived_by"] == "lead" and departments["waived_at"] == closed_at.isoformat().replace(
        "+00:00", "Z"
    )
    assert shown["leadership_report"]["state"] == "met"  # attested: a real fact
    assert shown["record"]["state"] == "met"  # the record was filed
    assert shown["vendor"]["state"] == "met"  # resolved within the hour: a real fact
    clock.advance(days=3)  # a waiver does not turn into a breach later
    assert clocks_of(seeded, i, clock)["departments_notified"]["state"] == "waived"

    from_cli = {d["key"]: d for d in deadlines_json(cli, seeded, i)}
    assert from_cli["departments_notified"]["state"] == "waived"
    assert from_cli["departments_notified"]["waived_by"] == "lead"

    with seeded.read() as session:
        incident = session.get(Incident, i)
        assert incident is not None and incident.record is not None
        text = incident.record
    line = next(x for x in text.splitlines() if x.startswith("- departments_notified"))
    assert "met" not in line, line  # the draft as it stood: still pending then
    assert "NOT ATTESTED" in text


def test_closing_after_a_clock_was_due_leaves_it_breached(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    i = level_iii(seeded, clock)
    clock.advance(minutes=40)  # departments were due 15 min after the level was set
    Service(seeded, "lead").close(i, false_alarm_reason="the probe was misconfigured")
    clock.advance(days=30)  # read a month later: as late as it was at the close, not more
    shown = clocks_of(seeded, i, clock)
    assert shown["departments_notified"]["state"] == "breached"
    assert shown["departments_notified"]["remaining_s"] == -27 * 60  # due 03:15, closed 03:42
    assert shown["departments_notified"]["met_at"] is None and shown["departments_notified"]["waived_at"] is None
    assert shown["leadership_report"]["state"] == "met"
    assert shown["supervisor"]["state"] == "waived"  # 60 min: not yet due at the close
    from_cli = {d["key"]: d["state"] for d in deadlines_json(cli, seeded, i)}
    assert from_cli["departments_notified"] == "breached"


def test_filing_a_record_late_leaves_the_unattested_obligation_breached(seeded: Store, clock: FakeClock) -> None:
    """`report file` after the departments were due: breached, never met_late by the filing."""
    i = level_iii(seeded, clock)
    clock.advance(minutes=10)
    Service(seeded, "servers").resolve(i, resolution="pool resized")
    clock.advance(minutes=20)
    Service(seeded, "lead").close(i, record=RECORD)
    shown = clocks_of(seeded, i, clock)
    assert shown["departments_notified"]["state"] == "breached"
    assert shown["record"]["state"] == "met"


def test_a_regrade_keeps_a_breached_clock_beside_its_successor(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    incident = Service(seeded, "servers").open(
        "Benefits DB refuses connections", category="server_fault", level="II", outage_start=clock.now
    )
    i = incident.id
    assert i is not None
    clock.advance(hours=10, minutes=12)  # the leadership report (due at 15 min) is 9:57 overdue
    Service(seeded, "lead").set_level(i, level="III", reason="fewer branches affected than feared")

    with seeded.read() as session:
        items = queries.incident_deadlines(session, i, clock.now)
        nxt = queries.next_deadline(items)
    reports = sorted((d for d in items if d["key"] == "leadership_report"), key=lambda d: d["clock_start"])
    assert [(d["state"], bool(d.get("superseded_at"))) for d in reports] == [("breached", True), ("pending", False)]
    assert reports[0]["remaining_s"] == -(9 * 3600 + 57 * 60)  # as overdue as it was when replaced
    assert reports[0]["clock_start"] != reports[1]["clock_start"]
    clock.advance(hours=1)
    with seeded.read() as session:
        later = queries.incident_deadlines(session, i, clock.now)
    old = next(d for d in later if d["key"] == "leadership_report" and d["superseded_at"])
    assert old["state"] == "breached" and old["remaining_s"] == -(9 * 3600 + 57 * 60)
    assert nxt is not None and not (nxt["key"] == "leadership_report" and nxt["state"] == "breached")

    # The CLI reads at the wall clock, days after the fake one: compare times, not states.
    from_cli = [d for d in deadlines_json(cli, seeded, i) if d["key"] == "leadership_report"]
    assert len({d["clock_start"] for d in from_cli}) == 2
    [replaced] = [d for d in from_cli if d["superseded_at"]]
    assert replaced["state"] == "breached"
    code, out, err = cli("--db", _url(seeded), "incident", "show", str(i), "--json")
    assert code == 0, err
    assert json.loads(out)["next_deadline"]["due_at"] != replaced["due_at"]


def _store_at_0012_with_a_closed_incident(url: str) -> None:
    """A store as the program before 0015 left it: a level III incident resolved at
    03:10 and closed with its record at 03:20, whose close marked every running clock met."""
    from alembic import command
    from sqlalchemy import MetaData, Table, create_engine

    from opsdeck.backend import schema
    from opsdeck.backend.timeutil import utcnow

    t0 = T0
    path = schema.parse_url(url).database
    if url.startswith("sqlite") and path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), "0012")
        probe = Store(engine, schema.parse_url(url), utcnow)
        schema._seed(conn, probe)
        meta = MetaData()
        incidents, deadlines, attestations = (
            Table(name, meta, autoload_with=conn) for name in ("incidents", "incident_deadlines", "attestations")
        )
        closed = t0 + timedelta(minutes=20)
        conn.execute(
            incidents.insert().values(
                id=1,
                version=9,
                title="old",
                description="",
                category="server_fault",
                level="III",
                status="closed",
                reporter="servers",
                reported_at=t0,
                outage_started_at=t0,
                acknowledged_at=t0,
                classified_at=t0,
                level_since=t0,
                resolved_at=t0 + timedelta(minutes=10),
                record_filed_at=closed,
                closed_at=closed,
                close_kind="resolved",
                record="# Record\n\nwritten\n",
                last_activity_at=closed,
                policy_version=1,
                updated_at=closed,
                updated_by="lead",
            )
        )
        conn.execute(
            attestations.insert().values(
                incident_id=1,
                key="leadership_informed",
                at=t0 + timedelta(minutes=5),
                by="lead",
                channel="phone",
                note="",
                who="",
            )
        )

        alarm = t0 + timedelta(minutes=8)  # a false alarm closed before anything was due
        conn.execute(
            incidents.insert().values(
                id=2,
                version=3,
                title="false alarm",
                description="",
                category="server_fault",
                level="III",
                status="closed",
                reporter="servers",
                reported_at=t0,
                outage_started_at=t0,
                acknowledged_at=t0,
                classified_at=t0,
                level_since=t0,
                closed_at=alarm,
                close_kind="false_alarm",
                close_reason="probe misconfigured",
                last_activity_at=alarm,
                policy_version=1,
                updated_at=alarm,
                updated_by="lead",
            )
        )

        def clock(rule: str, key: str, start: timedelta, due: timedelta, met: timedelta | None, i: int = 1) -> dict:  # type: ignore[type-arg]
            return {
                "incident_id": i,
                "rule": rule,
                "clock_key": key,
                "clock_start": t0 + start,
                "due_at": t0 + due,
                "warn_at": t0 + due,
                "met_at": None if met is None else t0 + met,
            }

        m = timedelta(minutes=1)
        start = "2026-11-28T03:00:00Z"
        conn.execute(
            deadlines.insert(),
            [
                clock("classify", start, 0 * m, 30 * m, 0 * m),
                clock("leadership_report", start, 0 * m, 15 * m, 5 * m),
                clock("departments_notified", start, 0 * m, 15 * m, 20 * m),  # "met late" by the close
                clock("supervisor", start, 0 * m, 60 * m, 10 * m),
                clock("vendor", start, 0 * m, 60 * m, 10 * m),
                clock("regrade", start + "@12h", 0 * m, 720 * m, 10 * m),
                clock("record", "2026-11-28T03:10:00Z", 10 * m, 1450 * m, 20 * m),
                clock("ack_lease", start, 0 * m, 30 * m, 5 * m),
                clock("ack_lease", "2026-11-28T03:05:00Z", 5 * m, 35 * m, 10 * m),
                *(
                    clock(rule, start + ("@12h" if rule == "regrade" else ""), 0 * m, due * m, met * m, i=2)
                    for rule, due, met in (
                        ("classify", 30, 0),
                        ("leadership_report", 15, 8),
                        ("departments_notified", 15, 8),
                        ("supervisor", 60, 8),
                        ("vendor", 60, 8),
                        ("regrade", 720, 8),
                        ("ack_lease", 30, 8),
                    )
                ),
            ],
        )
    engine.dispose()


def test_the_upgrade_re_derives_the_clocks_of_closed_incidents(store_url: str, clock: FakeClock) -> None:
    from opsdeck.backend.schema import open_store, upgrade_store

    _store_at_0012_with_a_closed_incident(store_url)
    clock.advance(days=2)  # read well after both closes
    if store_url.startswith("postgresql"):
        upgrade_store(store_url, clock)
    store = open_store(store_url, clock=clock)
    try:
        with store.read() as session:
            items = queries.incident_deadlines(session, 1, clock.now)
            alarm = queries.incident_deadlines(session, 2, clock.now)
    finally:
        store.dispose()
    states = sorted((d["key"], d["state"]) for d in items)
    assert states == [
        ("ack_lease", "met"),
        ("ack_lease", "met"),
        ("classify", "met"),
        ("departments_notified", "breached"),  # due 03:15, never attested, closed 03:20
        ("leadership_report", "met"),
        ("record", "met"),
        ("regrade", "met"),  # resolved inside the 12 h bound
        ("supervisor", "met"),
        ("vendor", "met"),
    ]
    assert sorted((d["key"], d["state"], d["waived_by"]) for d in alarm) == [
        ("ack_lease", "waived", "lead"),
        ("classify", "met", None),
        ("departments_notified", "waived", "lead"),
        ("leadership_report", "waived", "lead"),
        ("regrade", "waived", "lead"),
        ("supervisor", "waived", "lead"),
        ("vendor", "waived", "lead"),
    ]


def test_a_placeholder_is_never_filed_as_the_record(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    """A plain close exits 1 naming the empty sections; `report file` refuses the draft as
    drafted; nothing is filed and the record clock is not met."""
    i = level_iii(seeded, clock)
    Service(seeded, "servers").resolve(i, resolution="pool resized")
    code, out, err = cli("--db", _url(seeded), "--as", "lead", "incident", "close", str(i))
    assert code == 1, (out, err)
    assert "Summary, Cause, Lessons empty or still the draft's placeholder" in err
    assert f"opsdeck report edit {i}" in err
    code, draft, err = cli("--db", _url(seeded), "report", "show", str(i))
    assert code == 0 and "(What happened and its impact, in your words.)" in draft
    with seeded.read() as session:
        incident = session.get(Incident, i)
        assert incident is not None and incident.status == "resolved" and incident.record is None
    assert clocks_of(seeded, i, clock)["record"]["state"] in ("pending", "warning")
    with_summary = draft.replace("(What happened and its impact, in your words.)", "Every branch down.")
    for text, missing in ((draft, "Summary, Cause, Lessons"), (with_summary, "Cause, Lessons")):
        with pytest.raises(DomainError, match=f"{missing} empty"):
            Service(seeded, "lead").close(i, record=text)
    Service(seeded, "lead").close(i, record=filled(draft))
    assert clocks_of(seeded, i, clock)["record"]["state"] == "met"


# -- machine notes and the acknowledgement lease ---------------------------------------------

WORKER = "system:worker@test"


def _probe_result(spool: Path, ingest: Ingester, clock: FakeClock, state: int) -> None:
    clock.advance(minutes=1)
    words = {0: "OK", 2: "CRITICAL"}
    (spool / "db-ping.out.tmp").write_text(f"PING {words[state]} - 100% loss\n")
    (spool / "db-ping.out.tmp").replace(spool / "db-ping.out")
    (spool / "db-ping.rc.tmp").write_text(f"{state}\n")
    (spool / "db-ping.rc.tmp").replace(spool / "db-ping.rc")
    ingest.scan()


def test_a_flapping_probe_renews_no_acknowledgement_lease(seeded: Store, clock: FakeClock, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    spool = tmp_path / "spool"
    spool.mkdir()
    ingest = Ingester(seeded, SpoolSettings(spool, settle_s=0.2), actor=WORKER)
    for _ in range(3):
        _probe_result(spool, ingest, clock, 2)
    with seeded.read() as session:
        [i] = session.execute(select(col(Incident.id)).where(col(Incident.status) != "closed")).scalars()
    Service(seeded, "servers").ack(i)
    acked = clock.now
    for _ in range(10):  # recovered (a note each time), then critical again: 40 minutes
        for state in (0, 0, 0, 2):
            _probe_result(spool, ingest, clock, state)
    with seeded.read() as session:
        notes = queries.incident_detail(session, i)["notes"]
        items = queries.incident_deadlines(session, i, clock.now)
        [row] = replay.board_at(session, clock.now, now=clock.now)
    assert len(notes) == 10 and all("consider resolving" in n["text"] for n in notes)
    leases = [d for d in items if d["key"] == "ack_lease"]
    assert [(d["clock_start"], d["state"]) for d in leases] == [
        (acked.isoformat().replace("+00:00", "Z"), "breached")
    ], leases
    replayed = [(d["clock_start"], d["state"]) for d in row["deadlines"] if d["key"] == "ack_lease"]
    assert replayed == [(d["clock_start"], d["state"]) for d in leases]
    from_cli = [d for d in deadlines_json(cli, seeded, i) if d["key"] == "ack_lease"]
    assert [d["state"] for d in from_cli] == ["breached"]
    Service(seeded, "servers").note(i, "swapped the cable; watching it")  # a person's note renews it
    with seeded.read() as session:
        states = [d["state"] for d in queries.incident_deadlines(session, i, clock.now) if d["key"] == "ack_lease"]
    assert states == ["met_late", "pending"]


# -- the stored draft ----------------------------------------------------------------------


def test_the_draft_is_stored_at_resolve_written_by_people_and_filed_by_a_plain_close(
    seeded: Store, clock: FakeClock, cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    db = _url(seeded)
    i = level_iii(seeded, clock)
    Service(seeded, "servers").resolve(i, resolution="pool resized")
    code, out, err = cli("--db", db, "report", "show", str(i), "--json")
    stored = json.loads(out)["stored_draft"]
    assert (stored["version"], stored["updated_by"]) == (1, "servers")
    assert stored["missing"] == ["summary", "cause", "lessons"]
    draft = stored["text"]

    # One operator writes part of it, in one sitting...
    partial = tmp_path / "partial.md"
    partial.write_text(draft.replace("(What happened and its impact, in your words.)", "Every branch down."), "utf-8")
    code, out, err = cli("--db", db, "--as", "servers", "report", "edit", str(i), "--from", str(partial))
    assert code == 0, err
    assert out.strip() == f"#{i} draft saved (version 2); still to write: Cause, Lessons"
    code, out, err = cli("--db", db, "--as", "lead", "incident", "close", str(i))
    assert code == 1 and "Cause, Lessons empty or still the draft's placeholder" in err
    assert f"opsdeck report edit {i}" in err

    # ...another finishes it later; the plain close files it as they wrote it.
    code, shown, err = cli("--db", db, "report", "show", str(i))
    assert "Every branch down." in shown
    whole = tmp_path / "whole.md"
    whole.write_text(filled(shown), "utf-8")
    code, out, err = cli("--db", db, "--as", "lead", "report", "edit", str(i), "--from", str(whole))
    assert code == 0 and "written: opsdeck incident close" in out, err
    code, out, err = cli("--db", db, "--as", "lead", "incident", "close", str(i))
    assert code == 0, err
    with seeded.read() as session:
        incident = session.get(Incident, i)
        assert incident is not None and incident.status == "closed"
        assert incident.record == whole.read_text("utf-8").strip()
        trail = queries.audit_trail(session, i)
    assert [e["actor"] for e in trail if e["action"] == "draft"] == ["servers", "lead"]
    assert trail[-1]["details"]["record_as"] == "draft"


def test_two_people_saving_the_same_draft_version_cannot_overwrite_each_other(seeded: Store, clock: FakeClock) -> None:
    i = level_iii(seeded, clock)
    Service(seeded, "servers").resolve(i, resolution="pool resized")
    Service(seeded, "servers").save_draft(i, filled(RECORD), seen=1)
    with pytest.raises(StaleWrite, match="was saved by servers"):
        Service(seeded, "lead").save_draft(i, "## Summary\n\nmine\n", seen=1)
    with seeded.read() as session:
        assert drafts.current(session, i, clock.now, UTC) == (filled(RECORD).strip(), 2)


# -- a probe critical again under a resolved incident ------------------------------------------


def _resolved_probe_incident(store: Store, clock: FakeClock, tmp_path: Path) -> tuple[int, Path, Ingester]:
    spool = tmp_path / "spool"
    spool.mkdir()
    ingest = Ingester(store, SpoolSettings(spool, settle_s=0.2), actor=WORKER)
    for _ in range(3):
        _probe_result(spool, ingest, clock, 2)
    with store.read() as session:
        [i] = session.execute(select(col(Incident.id)).where(col(Incident.status) != "closed")).scalars()
    Service(store, "servers").resolve(i, resolution="restarted the router")
    _probe_result(spool, ingest, clock, 0)
    return i, spool, ingest


def test_a_probe_critical_again_under_a_resolved_incident_leaves_a_note_and_a_mark(
    seeded: Store, clock: FakeClock, tmp_path: Path
) -> None:
    i, spool, ingest = _resolved_probe_incident(seeded, clock, tmp_path)
    for _ in range(5):
        _probe_result(spool, ingest, clock, 2)
    with seeded.read() as session:
        detail = queries.incident_detail(session, i)
        [row] = board.load_rows(session, [i]).values()
    notes = [n["text"] for n in detail["notes"]]
    assert notes == ["probe db-ping CRITICAL again after this incident was resolved: PING CRITICAL - 100% loss"]
    assert detail["status"] == "resolved" and row.probe_critical
    _probe_result(spool, ingest, clock, 0)
    with seeded.read() as session:
        [row] = board.load_rows(session, [i]).values()
    assert not row.probe_critical  # recovered: the mark goes, the note stays


def test_critical_after_resolve_reopen_reopens_the_incident(seeded: Store, clock: FakeClock, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[probes]\ncritical_after_resolve = "reopen"\n')
    Service(seeded, "lead").apply_policy(policy)
    i, spool, ingest = _resolved_probe_incident(seeded, clock, tmp_path)
    for _ in range(3):
        _probe_result(spool, ingest, clock, 2)
    with seeded.read() as session:
        detail = queries.incident_detail(session, i)
        trail = queries.audit_trail(session, i)
    assert detail["status"] == "acknowledged" and detail["resolved_at"] is None
    assert trail[-1]["action"] == "reopen" and trail[-1]["actor"] == WORKER
    assert trail[-1]["details"]["reason"].startswith("probe db-ping CRITICAL again")


def test_critical_after_resolve_takes_note_or_reopen_only(seeded: Store, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[probes]\ncritical_after_resolve = "page"\n')
    with pytest.raises(Exception, match="critical_after_resolve.*'page' is not note or reopen"):
        Service(seeded, "lead").apply_policy(policy)


async def test_the_detail_screen_shows_waived_and_replaced_breaches(sqlite_url: str, clock: FakeClock) -> None:
    """enter on the board: a closed incident's departments clock reads waived, and a
    re-graded one shows its replaced breach beside the new clock."""
    from textual.widgets import Static

    from opsdeck.screens.incident import IncidentScreen

    from ..board_fixtures import make_app, seeded_store, until

    store = seeded_store(sqlite_url, clock)
    try:
        closed = level_iii(store, clock)
        Service(store, "lead").close(closed, false_alarm_reason="the probe was misconfigured")
        regraded = Service(store, "servers").open("Core switch down", category="network_fault", level="II").id
        assert regraded is not None
        clock.advance(hours=1)
        Service(store, "lead").set_level(regraded, level="III", reason="one building only")
        app = make_app(store, clock, login="lead")
        async with app.run_test(size=(120, 40)) as pilot:
            for incident_id in (closed, regraded):
                app.push_screen(IncidentScreen(app.context, incident_id))  # type: ignore[arg-type]
                await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen.detail is not None)
                text = str(app.screen.query_one("#deadlines", Static).render())
                # the rules by the names the English detail shows (departments_notified, leadership_report)
                notify, report = "Notify every business department", "Report to leadership"
                lines = [x for x in text.splitlines() if notify in x or report in x]
                if incident_id == closed:
                    assert any("waived" in x and notify in x for x in lines), text
                    assert not any(" met " in f" {x} " and notify in x for x in lines), text
                else:
                    reports = [x for x in lines if report in x]
                    assert len(reports) == 2 and sum("breached" in x for x in reports) == 1, text
                await pilot.press("escape")
                await until(pilot, lambda: not isinstance(app.screen, IncidentScreen))
    finally:
        store.dispose()
