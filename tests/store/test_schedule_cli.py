"""`opsdeck schedule ...` as a user runs it, on SQLite and PostgreSQL: rotations,
overrides, swaps, who is on duty (text and JSON), who may edit, bad input, the audit
trail, `roster duty` as a take, and a store from before the schedule upgraded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from opsdeck.backend import schema
from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service

from ..conftest import FakeClock, allow_as_on_postgresql, demo_fixture

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def db(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    store = open_store(store_url)
    Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    allow_as_on_postgresql(store)  # the CLI runs --as the demo logins
    store.dispose()
    monkeypatch.setenv("OPSDECK_DB", store_url)
    return store_url


def who(cli, *args: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    code, out, err = cli("schedule", "who", "--json", *args)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def on(rows: list[dict[str, object]], duty: str) -> list[object]:
    return [r["login"] for r in rows if r["duty"] == duty]


def test_rotation_override_swap_and_who_as_a_user_sees_them(cli, db: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPSDECK_TIMEZONE", "Asia/Shanghai")
    # the demo roster: lead (command, lead), dns, servers on duty by the old flag
    before = who(cli)
    assert on(before, "dns") == ["dns"] and on(before, "web") == [None] and on(before, "lead") == ["lead"]
    assert {r["source"] for r in before if r["login"]} == {"override"}
    assert cli("roster", "duty", "dns", "off", "--as", "dns")[0] == 0
    assert on(who(cli), "dns") == [None]

    code, out, err = cli(
        "schedule", "rotation", "dns-day", "--duty", "dns", "--members", "dns,lead", "--shift", "12h",
        "--handoff", "2026-01-01 09:00", "--as", "lead",
    )  # fmt: skip
    assert code == 1 and "lead does not hold the duty dns" in err and "roster" in err
    code, out, err = cli(
        "schedule", "rotation", "dns-day", "--duty", "dns", "--members", "dns", "--shift", "12h",
        "--handoff", "2026-01-01 09:00", "--as", "lead",
    )  # fmt: skip
    assert (code, out.strip()) == (0, "rotation dns-day added"), err
    now = datetime.now(UTC)
    rows = who(cli, "--duty", "dns")
    assert rows == [
        {"duty": "dns", "login": "dns", "from": rows[0]["from"], "until": rows[0]["until"], "source": "dns-day"}
    ]
    assert rows[0]["until"] is None  # one member: no hand-off to anybody else within the 35 days looked at

    # web nobody covers: one entry, login null, source gap
    [gap] = who(cli, "--duty", "web")
    assert gap["login"] is None and gap["source"] == "gap"

    # an operator covers for themselves tonight (the policy allows it by default) ...
    code, out, err = cli(
        "schedule", "override", "add", "--duty", "telecom", "--from", "20:00", "--to", "08:00", "--as", "telecom"
    )
    assert code == 0 and "covers telecom" in out, err
    # `--from 20:00` is the next 20:00 in the center's zone (today's until it has passed)
    start = datetime.combine(now.astimezone(SH).date(), datetime.min.time(), tzinfo=SH) + timedelta(hours=20)
    if start <= now:
        start += timedelta(days=1)
    tonight = start + timedelta(hours=1)
    at = tonight.isoformat()
    assert on(who(cli, "--at", at), "telecom") == ["telecom"]
    assert on(who(cli, "--at", (tonight + timedelta(hours=12)).isoformat()), "telecom") == [None]
    # ... but not for someone else
    code, _out, err = cli(
        "schedule", "override", "add", "--duty", "dns", "--login", "dns", "--to", "+2h", "--as", "telecom"
    )
    assert code == 1 and "for leads" in err

    # a lead's override replaces the rotation, and is removed again
    code, out, err = cli(
        "schedule", "override", "add", "--duty", "command", "--login", "lead", "--from", "+1h", "--to", "+3h",
        "--as", "lead", "--json",
    )  # fmt: skip
    assert code == 0, err
    override_id = json.loads(out)["id"]
    assert on(who(cli, "--at", "+2h"), "command") == ["lead"]
    assert cli("schedule", "override", "remove", str(override_id), "--as", "lead")[0] == 0
    code, _out, err = cli("schedule", "override", "remove", str(override_id), "--as", "lead")
    assert code == 4 and "schedule show" in err

    code, out, err = cli("schedule", "show", "--duty", "dns", "--to", "+1d")
    assert code == 0 and "dns-day" in out and "coverage" in out, err
    shown = json.loads(cli("schedule", "show", "--json")[1])
    assert [r["name"] for r in shown["rotations"]] == ["dns-day"]
    assert any(s["kind"] == "override" and s["login"] == "telecom" for s in shown["slots"])

    # every change is on the audit trail
    code, out, _err = cli("audit", "show", "system", "--json")
    actions = [e["action"] for e in json.loads(out)]
    for action in ("schedule_rotation", "schedule_override", "schedule_override_removed", "duty"):
        assert action in actions


def test_swap_trades_two_members_and_text_output(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(db)
    Service(store, "lead").import_records("roster", _roster_with_second_servers(tmp_path))
    store.dispose()
    assert cli("roster", "duty", "servers", "off", "--as", "servers")[0] == 0
    code, _out, err = cli(
        "schedule", "rotation", "srv", "--duty", "servers", "--members", "servers,servers2", "--shift", "1w",
        "--handoff", "2020-01-06 00:00", "--as", "lead",
    )  # fmt: skip
    assert code == 0, err
    now_member = on(who(cli, "--duty", "servers"), "servers")
    assert now_member in (["servers"], ["servers2"])
    other = "servers2" if now_member == ["servers"] else "servers"
    code, out, err = cli(
        "schedule", "swap", "servers", "servers2", "--duty", "servers", "--from", "+1m",
        "--to", "+2d", "--as", str(now_member[0]),
    )  # fmt: skip
    assert code == 0 and "trade servers" in out, err
    rows = who(cli, "--duty", "servers", "--at", "+1h")
    assert [(r["login"], r["source"]) for r in rows] == [(other, "swap")]
    code, out, _err = cli("schedule", "who", "--at", "+1h")
    assert code == 0 and "servers" in out and "(nobody: a gap)" in out and "swap" in out


def _roster_with_second_servers(folder: Path) -> Path:
    base = demo_fixture("roster.toml").read_text(encoding="utf-8")
    extra = '\n[[member]]\nlogin = "servers2"\nname = "Sun Li 孙丽"\npermission = "operator"\nduties = ["servers"]\n'
    path = folder / "roster2.toml"
    path.write_text(base + extra, encoding="utf-8")
    return path


def test_viewers_and_bad_input_are_refused_with_the_fix(cli, db: str) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = cli(
        "schedule", "rotation", "x", "--duty", "dns", "--members", "dns", "--shift", "1w", "--handoff", "09:00",
        "--as", "auditor",
    )  # fmt: skip
    assert code == 1 and "viewer" in err
    code, _out, err = cli("schedule", "rotation", "x", "--duty", "dns", "--members", "dns", "--as", "lead")
    assert code == 2 and "--shift is required" in err
    code, _out, err = cli(
        "schedule", "rotation", "x", "--duty", "dnss", "--members", "dns", "--shift", "1w", "--handoff", "09:00",
        "--as", "lead",
    )  # fmt: skip
    assert code == 2 and "'dnss' is not a duty" in err and "command, web, dns, servers, telecom, lead" in err
    code, _out, err = cli(
        "schedule", "rotation", "x", "--duty", "dns", "--members", "dns", "--shift", "30m", "--handoff", "09:00",
        "--as", "lead",
    )  # fmt: skip
    assert code == 2 and "from 1 hour to 8 weeks" in err
    code, _out, err = cli(
        "schedule", "rotation", "x", "--duty", "dns", "--members", "nobody", "--shift", "1d", "--handoff", "09:00",
        "--as", "lead",
    )  # fmt: skip
    assert code == 4 and "'nobody' is not a member" in err
    code, _out, err = cli(
        "schedule", "rotation", "x", "--duty", "dns", "--members", "dns", "--shift", "1d", "--handoff", "09:00",
        "--days", "mon-fry", "--as", "lead",
    )  # fmt: skip
    assert code == 2 and "mon-fri" in err
    code, _out, err = cli("schedule", "override", "add", "--duty", "dns", "--from=-2h", "--to", "+1h", "--as", "dns")
    assert code == 2 and "past is not rewritten" in err
    code, _out, err = cli("schedule", "override", "add", "--duty", "dns", "--from", "+3h", "--to", "+1h", "--as", "dns")
    assert code == 2 and "before it starts" in err
    code, _out, err = cli("schedule", "who", "--at", "soon")
    assert code == 2 and "--at" in err
    code, _out, err = cli("schedule", "rotation", "ghost", "--remove", "--as", "lead")
    assert code == 4 and "no rotation named 'ghost'" in err
    code, out, _err = cli("audit", "show", "system", "--json")
    assert not [e for e in json.loads(out) if e["action"].startswith("schedule")]  # nothing half-done


def test_an_edit_never_rewrites_the_past_in_the_store(store_url: str) -> None:
    from opsdeck.backend import schedule, schedule_edit

    clock = FakeClock(datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    store = open_store(store_url, clock=clock)
    Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    Service(store, "dns").roster_duty("dns", False)
    spec = schedule_edit.RotationSpec("r", "dns", ("dns",), 24 * 60, datetime(2026, 3, 1, 9), "Asia/Shanghai")
    assert schedule_edit.set_rotation(store, "lead", spec) is True
    clock.advance(days=5)
    schedule_edit.remove_rotation(store, "lead", "r")
    clock.advance(days=1)
    with store.read() as session:
        sched = schedule.load(session, clock.now)
    assert sched.logins("dns", datetime(2026, 3, 3, tzinfo=UTC)) == ["dns"]  # as it stood then
    assert sched.logins("dns", clock.now) == []
    with store.read() as session:
        assert schedule.on_duty(session, "dns", datetime(2026, 3, 2, tzinfo=UTC), clock.now) == ["dns"]
    store.dispose()


def test_a_store_from_before_the_schedule_keeps_who_was_on_duty(sqlite_url: str) -> None:
    """Upgraded from 0015 with members on duty by the flag: each keeps their shift as a
    take on their duties (a lead also on the group lead's)."""
    from alembic import command
    from sqlalchemy import create_engine

    Path(sqlite_url[10:]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), "0015")
        for login, permission, duties, flag in (
            ("boss", "lead", '["command"]', 1),
            ("wang", "operator", '["dns", "web"]', 1),
            ("li", "operator", '["dns"]', 0),
        ):
            conn.execute(
                text(
                    "INSERT INTO roster_members (login, name, permission, duties, phone, email, on_duty, channels, demo) "
                    "VALUES (:l, :l, :p, :d, '', '', :f, '{}', 0)"
                ),
                {"l": login, "p": permission, "d": duties, "f": flag},
            )
    engine.dispose()
    store = open_store(sqlite_url)
    assert schema.current_revision(store) == schema.SCHEMA_HEAD
    from opsdeck.backend import schedule

    with store.read() as session:
        sched = schedule.load(session, datetime.now(UTC) + timedelta(seconds=1))
    at = datetime.now(UTC) + timedelta(seconds=1)
    assert {d: sched.logins(d, at) for d in schedule.DUTIES} == {
        "command": ["boss"],
        "web": ["wang"],
        "dns": ["wang"],
        "servers": [],
        "telecom": [],
        "lead": ["boss"],
    }
    store.dispose()
