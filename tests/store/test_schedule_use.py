"""How the product reads the schedule: escalation picks the scheduled member (with a gap,
the group lead, and says why), notifications to whoever is on duty, the roster list and
the board's roster panel (now, next and when), the wall's on-duty list. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console

from opsdeck.backend import board, escalation, queries, schedule_edit
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock, allow_as_on_postgresql, demo_fixture

SH = ZoneInfo("Asia/Shanghai")
WORKER = "system:worker@test"
CLASSIFY_TO_SERVERS = """
[[deadlines.rule]]
key = "classify"
name = "Classify: category and level"
name_zh = "初步判别,确定故障分类级别"
starts = "reported"
after = "30m"
met_by = ["classified"]
escalate_to = ["duty:servers"]
"""


def _second_servers(store: Store, tmp_path: Path) -> None:
    extra = '\n[[member]]\nlogin = "servers2"\nname = "孙丽 Sun Li"\npermission = "operator"\nduties = ["servers"]\n'
    path = tmp_path / "roster.toml"
    path.write_text(demo_fixture("roster.toml").read_text(encoding="utf-8") + extra, encoding="utf-8")
    Service(store, "lead").import_records("roster", path)


def _office_hours(store: Store) -> None:
    """servers2 covers servers 09:00-18:00 Shanghai time, every day; nobody else."""
    Service(store, "servers").roster_duty("servers", False)
    spec = schedule_edit.RotationSpec(
        "srv-day", "servers", ("servers2",), 24 * 60, datetime(2026, 11, 1, 9, 0), "Asia/Shanghai", hours="09:00-18:00"
    )
    schedule_edit.set_rotation(store, "lead", spec)


def test_escalation_picks_the_scheduled_member_and_with_a_gap_the_lead(
    seeded: Store, clock: FakeClock, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(CLASSIFY_TO_SERVERS, encoding="utf-8")
    Service(seeded, "lead").apply_policy(policy)
    _second_servers(seeded, tmp_path)
    _office_hours(seeded)
    assert clock.now.astimezone(SH).hour == 11  # the clock: 2026-11-28 11:00 in Shanghai

    day = Service(seeded, "web").open("at 11:00: office hours")
    clock.advance(minutes=31)
    [done] = [d for d in escalation.sweep(seeded, WORKER) if d.incident_id == day.id]
    assert done.targets == [{"kind": "member", "to": "servers2", "via": "duty:servers"}]

    clock.now = datetime(2026, 11, 28, 19, 0, tzinfo=SH)  # after 18:00: a gap on servers
    night = Service(seeded, "web").open("at 19:00: nobody on servers")
    clock.advance(minutes=31)
    [done] = [d for d in escalation.sweep(seeded, WORKER) if d.incident_id == night.id]
    # the group lead: whoever the schedule has on `lead` (the demo lead's shift, a take)
    assert done.targets == [{"kind": "member", "to": "lead", "via": "duty:servers: nobody on duty, group lead"}]
    with seeded.read() as session:
        from sqlalchemy import select

        from opsdeck.backend.models import Escalation

        recorded = session.execute(select(Escalation).where(Escalation.incident_id == night.id)).scalars().one()
        assert "nobody on duty" in str(recorded.targets)


def test_new_incidents_are_told_to_whoever_the_schedule_has_on_duty(
    seeded: Store, clock: FakeClock, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from opsdeck.backend.models import OutboxMessage

    _second_servers(seeded, tmp_path)
    _office_hours(seeded)
    for login in ("lead", "dns"):
        Service(seeded, login).roster_duty(login, False)
    incident = Service(seeded, "web").open("told to the schedule")
    with seeded.read() as session:
        told = sorted(
            session.execute(
                select(OutboxMessage.recipient).where(
                    OutboxMessage.incident_id == incident.id, OutboxMessage.event == "new_incident"
                )
            ).scalars()
        )
    assert told == ["servers2"]


def test_the_roster_list_and_panel_read_the_schedule(seeded: Store, clock: FakeClock, tmp_path: Path) -> None:
    from opsdeck.tui.widgets.panels import RosterPanel
    from opsdeck.tui.widgets.wall import on_duty

    _second_servers(seeded, tmp_path)
    _office_hours(seeded)
    with seeded.read() as session:
        members = {m["login"]: m for m in queries.roster(session, clock.now)}
        panels = board.load_panels(session, clock.now)
    assert members["servers2"]["on_duty"] is True and members["servers2"]["on_duty_for"] == ["servers"]
    assert members["servers"]["on_duty"] is False  # ended their shift
    assert members["lead"]["on_duty_for"] == ["command", "lead"]
    assert [m["login"] for m in on_duty(panels.roster)] == ["dns", "lead", "servers2"]  # the wall's list
    lines = {line.duty: line for line in panels.duty}
    assert lines["servers"].now == ("servers2",) and lines["servers"].next == ()
    assert lines["servers"].next_at == datetime(2026, 11, 28, 18, 0, tzinfo=SH)
    assert lines["web"].now == () and panels.duty_changes_at == datetime(2026, 11, 28, 18, 0, tzinfo=SH)

    panel = RosterPanel()
    rendered: list[object] = []
    panel.update = lambda content, **_kw: rendered.append(content)  # type: ignore[method-assign]
    panel.show(panels, SH)
    console = Console(width=60, record=True)
    console.print(rendered[0])
    text = [" ".join(line.split()) for line in console.export_text().splitlines()]
    assert "servers servers2 → GAP 11-28 18:00" in text
    assert "web GAP" in text
    assert "Schedule now → next" in text


def test_without_rotations_the_panel_has_no_schedule_lines(seeded: Store, clock: FakeClock) -> None:
    with seeded.read() as session:
        panels = board.load_panels(session, clock.now)
    assert panels.duty == () and panels.duty_changes_at is None
    assert [m["login"] for m in panels.roster if m["on_duty"]] == ["dns", "lead", "servers"]
    clock.advance(days=1)  # the demo's takes run until ended
    with seeded.read() as session:
        assert [m["login"] for m in queries.roster(session, clock.now) if m["on_duty"]] == ["dns", "lead", "servers"]


def test_gaps_and_overloads_ahead_in_the_cli_and_the_handover(cli, store_url: str, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    from opsdeck.backend.schema import SEED_ACTOR, open_store

    monkeypatch.setenv("OPSDECK_DB", store_url)
    monkeypatch.setenv("OPSDECK_TIMEZONE", "Asia/Shanghai")
    store = open_store(store_url)
    Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    allow_as_on_postgresql(store)  # the CLI runs --as the demo logins
    store.dispose()
    code, out, _err = cli("schedule", "gaps")
    assert code == 0 and "nothing to check" in out  # takes alone: the old flag, no plan
    # servers 24/7 by one member (over 60 h a week); dns 09:00-21:00 only, its take ended
    for args in (
        ("srv", "--duty", "servers", "--members", "servers", "--shift", "1d", "--handoff", "09:00"),
        (
            "dns-day",
            "--duty",
            "dns",
            "--members",
            "dns",
            "--shift",
            "1d",
            "--handoff",
            "09:00",
            "--hours",
            "09:00-21:00",
        ),
    ):
        assert cli("schedule", "rotation", *args, "--as", "lead")[0] == 0
    assert cli("roster", "duty", "dns", "off", "--as", "dns")[0] == 0
    code, out, err = cli("schedule", "gaps", "--days", "14", "--json")
    assert code == 0, err
    data = json.loads(out)
    dns_gaps = [g for g in data["gaps"] if g["duty"] == "dns"]
    assert len(dns_gaps) >= 2 and all(g["hours"] <= 12 for g in dns_gaps)
    assert {g["duty"] for g in data["gaps"]} >= {"web", "telecom", "dns"}
    assert any(o["login"] == "servers" and o["kind"] == "week_hours" and o["hours"] > 60 for o in data["overloads"])
    assert any(o["login"] == "dns" and o["kind"] == "week_hours" and o["hours"] == 84 for o in data["overloads"])
    assert not [o for o in data["overloads"] if o["kind"] == "rest"]  # 12 h between dns's shifts
    code, out, _err = cli("handover")
    assert "Coverage gaps ahead" in out and "nobody on duty" in out and "h planned that week" in out
    # a policy raising the limit clears the overload; a bad value is refused naming the key
    policy = tmp_path / "policy.toml"
    policy.write_text("[schedule]\nmax_hours_week = 168\nahead_days = 3\n", encoding="utf-8")
    assert cli("policy", "apply", str(policy), "--as", "lead")[0] == 0
    assert json.loads(cli("schedule", "gaps", "--json")[1])["overloads"] == []
    policy.write_text("[schedule]\nmax_hours_week = 0\n", encoding="utf-8")
    code, _out, err = cli("policy", "apply", str(policy), "--as", "lead")
    assert code == 2 and "schedule.max_hours_week" in err and "from 1 to 168" in err
    policy.write_text("[schedule]\nself_override = false\n", encoding="utf-8")
    assert cli("policy", "apply", str(policy), "--as", "lead")[0] == 0
    code, _out, err = cli("schedule", "override", "add", "--duty", "dns", "--to", "+2h", "--as", "dns")
    assert code == 1 and "for leads" in err


def test_board_at_shows_who_was_on_duty_under_the_schedule_in_force_then(
    cli, store_url: str, monkeypatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import json
    from datetime import UTC, timedelta

    from opsdeck.backend.schema import SEED_ACTOR, open_store

    now = datetime.now(UTC)
    past = FakeClock(now - timedelta(days=3))
    store = open_store(store_url, clock=past)
    Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    _second_servers(store, tmp_path)
    Service(store, "servers").roster_duty("servers", False)
    zone = "Asia/Shanghai"
    spec = schedule_edit.RotationSpec("srv", "servers", ("servers",), 24 * 60, datetime(2026, 1, 1, 0, 0), zone)
    schedule_edit.set_rotation(store, "lead", spec)
    past.advance(days=2)  # a day ago the lead gave the rotation to servers2, from then on
    schedule_edit.set_rotation(store, "lead", spec.__class__(**{**spec.__dict__, "members": ("servers2",)}))
    store.dispose()
    monkeypatch.setenv("OPSDECK_DB", store_url)
    then = (now - timedelta(days=2)).isoformat()
    code, out, err = cli("board", "--at", then, "--json")
    assert code == 0, err
    assert [e["login"] for e in json.loads(out)["on_duty"] if e["duty"] == "servers"] == ["servers"]
    code, out, err = cli("board", "--at", then)
    assert "On duty then:" in out and "servers: servers" in out and "servers2" not in out
    code, out, err = cli("board", "--at", (now - timedelta(hours=1)).isoformat(), "--json")
    assert [e["login"] for e in json.loads(out)["on_duty"] if e["duty"] == "servers"] == ["servers2"]


def test_a_gap_ahead_is_told_to_the_leads_once_however_many_sweep(
    seeded: Store, clock: FakeClock, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from opsdeck.backend import schedule_notice
    from opsdeck.backend.models import AuditEvent, OutboxMessage

    assert schedule_notice.sweep(seeded, WORKER) == []  # nothing planned: no gap is called one
    _second_servers(seeded, tmp_path)
    _office_hours(seeded)  # servers: 09:00-18:00 only, so every evening is a gap
    for login in ("dns",):
        Service(seeded, login).roster_duty(login, False)
    told = schedule_notice.sweep(seeded, WORKER)
    servers = [g for g in told if g["duty"] == "servers"]
    assert servers[0] == {
        "duty": "servers",
        "from": "2026-11-28T10:00:00Z",
        "until": "2026-11-29T01:00:00Z",
        "to": ["lead"],
    }
    assert len(servers) == 14  # every evening of the 14 days ahead
    assert {g["duty"] for g in told} == {"web", "dns", "servers", "telecom"}  # command and lead: the lead's take
    assert schedule_notice.sweep(seeded, WORKER) == []  # told once
    other = Store(seeded.engine, seeded.url, clock=clock)
    assert schedule_notice.sweep(other, "system:worker@other") == []
    clock.advance(days=1)
    assert [g["from"] for g in schedule_notice.sweep(seeded, WORKER) if g["duty"] == "servers"] == [
        "2026-12-12T10:00:00Z"
    ]  # the new day at the end of the window
    with seeded.read() as session:
        rows = session.execute(
            select(OutboxMessage.recipient, OutboxMessage.payload).where(OutboxMessage.event == "coverage_gap")
        ).all()
        audited = session.execute(select(AuditEvent.action).where(AuditEvent.action == "coverage_gap")).scalars().all()
    assert {recipient for recipient, _payload in rows} == {"lead"} and len(rows) == len(told) + 1
    assert {
        "event": "coverage_gap",
        "gap": {"duty": "servers", "start": "2026-11-28T10:00:00Z", "end": "2026-11-29T01:00:00Z"},
    } in [payload for _recipient, payload in rows]
    assert len(audited) == len(rows)


def test_the_gap_message_reads_in_the_leads_language(seeded: Store, clock: FakeClock, tmp_path: Path) -> None:
    from sqlalchemy import select

    from opsdeck.backend import schedule_notice, templates
    from opsdeck.backend.models import OutboxMessage

    _second_servers(seeded, tmp_path)
    _office_hours(seeded)
    schedule_notice.sweep(seeded, WORKER)
    with seeded.read() as session:
        payload = next(
            p
            for p in session.execute(
                select(OutboxMessage.payload).where(OutboxMessage.event == "coverage_gap")
            ).scalars()
            if p["gap"]["duty"] == "servers"
        )
        words = templates.load(session)
    zh = words.message("coverage_gap", "text", payload, "zh_CN", "lead")
    assert zh.title == "【排班缺口】servers 11-28 18:00 起无人值班"
    en = words.message("coverage_gap", "text", payload, "en", "lead")
    assert "Nobody is on duty for servers from 11-28 18:00 to 11-29 09:00" in en.body


def test_escalate_json_lists_the_gaps_it_told(seeded: Store, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """`escalate --once --json` says what it told, coverage gaps included (once each)."""
    import json

    _second_servers(seeded, tmp_path)
    _office_hours(seeded)
    url = seeded.url.render_as_string(hide_password=False)
    code, out, err = cli("--db", url, "escalate", "--once", "--json")
    assert code == 0, err
    gaps = [item for item in json.loads(out) if "coverage_gap" in item]
    assert gaps and {g["coverage_gap"] for g in gaps} >= {"servers"}
    assert all(g["coverage_gap"] == g["duty"] and g["to"] == ["lead"] for g in gaps)
    code, out, err = cli("--db", url, "escalate", "--once", "--json")
    assert code == 0 and not [item for item in json.loads(out) if "coverage_gap" in item]  # told once
    code, out, err = cli("--db", url, "escalate", "--once")
    assert code == 0 and "nothing to escalate" in out
