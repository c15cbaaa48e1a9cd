"""The CLI contract: output, JSON shapes, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsdeck.backend import identity

from ..conftest import demo_fixture
from ..records import filled


@pytest.fixture
def db(sqlite_url: str, cli) -> str:  # type: ignore[no-untyped-def]
    """A store with the demo roster, contacts and systems, imported through the CLI."""
    for kind in ("roster", "contacts", "systems"):
        code, out, err = cli("--db", sqlite_url, "--as", "lead", kind, "import", str(demo_fixture(f"{kind}.toml")))
        assert code == 0, err
    return sqlite_url


def test_round_trip(db: str, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli(
        "--db",
        db,
        "--as",
        "servers",
        "incident",
        "open",
        "--title",
        "Payment API down",
        "--system",
        "benefits-app",
        "--outage-start",
        "-20m",
    )
    assert code == 0 and out.strip().isdigit()
    incident_id = out.strip()
    steps = [
        ("incident", "classify", incident_id, "--category", "software_fault", "--level", "III", "--reason", "app"),
        ("incident", "assign", incident_id, "servers"),
        ("incident", "note", incident_id, "rolling back"),
        ("incident", "step", incident_id, "restart"),
        ("incident", "cause", incident_id, "--note", "bad deploy"),
        ("incident", "resolve", incident_id, "--resolution", "rolled back to 4.2"),
    ]
    for args in steps:
        code, out, err = cli("--db", db, "--as", "servers", *args)
        assert (code, err) == (0, ""), args
        assert out.startswith(f"#{incident_id} ")
    code, out, err = cli("--db", db, "--as", "servers", "incident", "close", incident_id)
    assert code == 1 and "Summary, Lessons empty or still the draft's placeholder" in err, err
    code, draft, _ = cli("--db", db, "report", incident_id)
    record = tmp_path / "record.md"
    record.write_text(filled(draft), "utf-8")
    code, out, err = cli("--db", db, "--as", "servers", "report", "file", incident_id, "--from", str(record))
    assert (code, err) == (0, "") and out.startswith(f"#{incident_id} ")
    code, out, _ = cli("--db", db, "incident", "show", incident_id, "--json")
    data = json.loads(out)
    assert data["status"] == "closed" and data["close_kind"] == "resolved"
    assert data["record_filed_at"] and data["closed_at"] and data["schema_version"] == 1
    assert [n["text"] for n in data["notes"]] == ["rolling back", "bad deploy"]
    code, out, _ = cli("--db", db, "audit", incident_id, "--json")
    actions = [e["action"] for e in json.loads(out)]
    assert actions == ["open", "classify", "assign", "note", "step", "cause", "resolve", "close"]
    assert set(json.loads(out)[0]) >= {"seq", "at", "actor", "action", "details"}
    code, out, _ = cli("--db", db, "audit", "verify")
    assert code == 0 and out.startswith("ok:")


def test_incident_json_has_the_contract_keys(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("--db", db, "--as", "servers", "incident", "open", "--title", "t", "--json")
    data = json.loads(out)
    required = {
        "id",
        "version",
        "title",
        "category",
        "level",
        "status",
        "owner",
        "reporter",
        "system",
        "reported_at",
        "outage_started_at",
        "acknowledged_at",
        "classified_at",
        "cause_located_at",
        "resolved_at",
        "record_filed_at",
        "closed_at",
        "schema_version",
    }
    assert required <= set(data)
    assert data["reported_at"].endswith("Z")
    code, out, _ = cli("--db", db, "roster", "list", "--json")
    member = json.loads(out)[0]
    assert {"login", "name", "permission", "duties", "on_duty", "phone"} <= set(member)


def test_list_filters(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    def open_(*args: str) -> str:
        return cli("--db", db, "--as", "servers", "incident", "open", *args)[1].strip()

    a = open_(
        "--title", "Core switch down", "--category", "network_fault", "--level", "III", "--system", "core-network"
    )
    b = open_("--title", "portal slow", "--category", "other", "--level", "iv")
    c = open_("--title", "Disk alarm")
    cli("--db", db, "--as", "servers", "incident", "close", c, "--false-alarm", "--reason", "sensor")

    def ids(*filters: str) -> list[str]:
        code, out, err = cli("--db", db, "incident", "list", "--json", *filters)
        assert code == 0, err
        return [str(r["id"]) for r in json.loads(out)]

    assert ids() == [a, b]
    assert ids("--status", "all") == [a, b, c]
    assert ids("--status", "closed") == [c]
    assert ids("--level", "iii") == [a]
    assert ids("--category", "other") == [b]
    assert ids("--system", "core-network") == [a]
    assert ids("--grep", "SWITCH") == [a]
    assert ids("--since", "-1h") == [a, b]
    assert ids("--until", "-1h") == []
    assert ids("--owner", "nobody") == []


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("incident", "show", "999"), 4, "incident #999 does not exist"),
        (("incident", "show", "abc"), 2, "is not an incident id"),
        (("incident", "list", "--status", "pending"), 2, "is not a status filter"),
        (("incident", "list", "--level", "V"), 2, "is not a level"),
        (("incident", "list", "--since", "yesterday"), 2, "is not a time"),
        (("incident", "classify", "1", "--category", "x"), 2, "required: --level"),
        (("incident", "frobnicate", "1"), 2, "invalid choice"),
        (("--as", "auditor", "incident", "open", "--title", "x"), 1, "auditor is a viewer"),
        (("--read-only", "--as", "lead", "incident", "open", "--title", "x"), 1, "read-only"),
        (("--as", "servers", "incident", "close", "1", "--reason", "x"), 2, "--reason goes with --false-alarm"),
        (("--as", "servers", "incident", "close", "1", "--false-alarm"), 2, "--false-alarm needs --reason"),
        (("--as", "servers", "incident", "step", "1", "restart", "--skip"), 2, "--skip needs --reason"),
    ],
)
def test_errors_are_one_line_with_the_contract_exit_code(db: str, cli, args: tuple, code: int, says: str) -> None:  # type: ignore[no-untyped-def]
    cli("--db", db, "--as", "servers", "incident", "open", "--title", "one")
    got, out, err = cli("--db", db, *args)
    assert got == code, err
    assert err.startswith("opsdeck: error: ") and err.count("\n") == 1
    assert says in err
    assert " — " in err  # every error names the fix


def test_stale_write_exits_3(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    incident_id = cli("--db", db, "--as", "servers", "incident", "open", "--title", "x")[1].strip()
    assert cli("--db", db, "--as", "servers", "incident", "ack", incident_id, "--if-version", "1")[0] == 0
    code, _, err = cli("--db", db, "--as", "dns", "incident", "assign", incident_id, "dns", "--if-version", "1")
    assert code == 3 and "changed by servers" in err


def test_global_options_after_the_command(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("incident", "open", "--title", "late globals", "--db", db, "--as", "servers")
    assert code == 0 and out.strip().isdigit()


def test_as_works_on_a_store_of_ones_own_only_or_where_a_lead_allows_it(db: str, cli, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Path(db.removeprefix("sqlite:///"))
    # Another login could write this file: --as would grant whoever runs it every login.
    store.chmod(0o664)
    code, _, err = cli("--db", db, "--as", "lead", "incident", "list")
    assert code == 1 and "not yours alone" in err and "opsdeck db allow-as on" in err
    # The old switches grant nothing, and say so in one line.
    monkeypatch.setenv("OPSDECK_ALLOW_AS", "1")
    code, _, err = cli("--db", db, "--as", "lead", "incident", "list")
    warning = [line for line in err.splitlines() if "warning" in line]
    assert code == 1 and len(warning) == 1 and "OPSDECK_ALLOW_AS grants nothing" in warning[0]
    monkeypatch.delenv("OPSDECK_ALLOW_AS")
    # A lead (this process's own login on the roster) turns the store's setting on.
    me = identity.os_login()
    roster = tmp_path / "me.toml"
    roster.write_text(f'[[member]]\nlogin = "{me}"\nname = "Me"\npermission = "lead"\n')
    store.chmod(0o600)
    assert cli("--db", db, "--as", "lead", "roster", "import", str(roster))[0] == 0
    store.chmod(0o664)
    code, _, err = cli("--db", db, "--as", "servers", "db", "allow-as", "on")
    assert code == 1 and "not yours alone" in err  # --as cannot turn on --as
    assert cli("--db", db, "db", "allow-as", "on")[0] == 0
    code, out, err = cli("--db", db, "--as", "servers", "incident", "open", "--title", "t", "--json")
    assert code == 0, err
    code, out, _ = cli("--db", db, "audit", "show", str(json.loads(out)["id"]), "--json")
    opened = json.loads(out)[0]
    assert opened["actor"] == "servers" and opened["details"]["by"] == me
    code, out, _ = cli("--db", db, "audit", "show", "system", "--json")
    setting = json.loads(out)[-1]
    assert (setting["actor"], setting["action"], setting["details"]) == (me, "setting.allow_as", {"allow_as": True})
    assert cli("--db", db, "db", "allow-as", "off")[0] == 0
    assert cli("--db", db, "--as", "servers", "incident", "list")[0] == 1
    # Whoever may write the file could put the setting's event in by hand: unlinked, it grants nothing.
    import sqlite3

    with sqlite3.connect(store) as conn:
        conn.execute(
            "INSERT INTO audit_events (chain, seq, at, actor, action, details, prev_hash, hash) "
            "SELECT 'system', max(seq) + 1, '2026-12-01 00:00:00', 'lead', 'setting.allow_as', '{\"allow_as\": true}', "
            "'x', 'y' FROM audit_events WHERE chain = 'system'"
        )
    code, _, err = cli("--db", db, "--as", "servers", "incident", "list")
    assert code == 1 and "not yours alone" in err


def test_logins_are_checked_and_never_echoed_raw(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("--db", db, "--as", "x\x1b]52;c;ZWNobyBoaQ==\x07", "incident", "list")
    assert code == 2 and "is not a login" in err and "\x1b" not in err and "\x07" not in err
    assert "'x\\x1b]52;c;ZWNobyBoaQ==\\x07' is not a login" in err  # what was given, escaped: not just 'x'
    code, _, err = cli("--db", db, "--as", "system:worker@host", "incident", "list")
    assert code == 2 and "is not a login" in err
    code, _, err = cli("--db", db, "incident", "list", "\x1b[2J\x1b]0;pwned\x07")
    assert code == 2 and "unrecognized arguments" in err and "\x1b" not in err and "\x07" not in err


def test_a_password_on_the_command_line_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("--db", "postgresql+psycopg://ops:s3cret@127.0.0.1/test", "incident", "list")
    assert code == 2 and "visible to every user" in err and "PGPASSFILE" in err
    assert "s3cret" not in err


def test_store_unavailable_exits_5(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("--db", "postgresql+psycopg://nobody@127.0.0.1:1/x?connect_timeout=2", "incident", "list")
    assert code == 5 and "store unavailable" in err


def test_imports_report_counts_and_refuse_operators_once_a_lead_exists(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("--db", db, "--as", "lead", "roster", "import", str(demo_fixture("roster.toml")))
    assert (code, out.strip()) == (0, "roster: 0 added, 0 updated, 6 unchanged")
    code, _, err = cli("--db", db, "--as", "servers", "roster", "import", str(demo_fixture("roster.toml")))
    assert code == 1 and "for leads" in err and "ask a lead: lead" in err


def test_roster_duty(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--db", db, "--as", "telecom", "roster", "duty", "telecom", "on")[1] == "telecom is on duty\n"
    code, _, err = cli("--db", db, "--as", "telecom", "roster", "duty", "dns", "off")
    assert code == 1 and "for leads" in err
    code, out, _ = cli("--db", db, "roster", "list", "--json")
    assert {m["login"]: m["on_duty"] for m in json.loads(out)}["telecom"] is True


def test_human_output_never_carries_escape_sequences(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    hostile = "evil\x1b]52;c;cm0gLXJmIH4=\x07 title\x1b[2J\x9b31m"
    incident_id = cli("--db", db, "--as", "servers", "incident", "open", "--title", hostile)[1].strip()
    cli("--db", db, "--as", "servers", "incident", "note", incident_id, "note\x1b]0;pwned\x07 here")
    for args in (("incident", "list"), ("incident", "show", incident_id), ("audit", incident_id)):
        code, out, _ = cli("--db", db, *args)
        assert code == 0
        assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
        assert "evil" in out
    code, out, _ = cli("--db", db, "incident", "show", incident_id, "--json")
    assert json.loads(out)["title"] == hostile  # JSON carries the stored text


def test_policy_show_and_db_status(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("--db", db, "policy", "show", "--json")
    assert json.loads(out)["version"] == 1
    code, out, _ = cli("--db", db, "db", "status", "--json")
    status = json.loads(out)
    assert status["schema"] == status["program_schema"]


def test_db_backup(db: str, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dest = tmp_path / "copy.db"
    code, out, _ = cli("--db", db, "db", "backup", str(dest))
    assert code == 0 and dest.exists()
    code, out, _ = cli("--db", f"sqlite:///{dest}", "roster", "list", "--json")
    assert len(json.loads(out)) == 6


def test_deadline_commands(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    incident_id = cli(
        "--db",
        db,
        "--as",
        "servers",
        "incident",
        "open",
        "--title",
        "lines down",
        "--category",
        "network_fault",
        "--level",
        "III",
        "--outage-start",
        "-3h",
    )[1].strip()
    code, out, _ = cli("--db", db, "incident", "deadlines", incident_id, "--json")
    items = {d["key"]: d for d in json.loads(out)}
    assert set(items) == {"leadership_report", "departments_notified", "classify", "supervisor", "regrade", "ack_lease"}
    first = items["leadership_report"]
    assert {"key", "name", "name_zh", "clock_start", "due_at", "state", "remaining_s", "escalate_to"} <= set(first)
    assert first["name_zh"] == "报告所领导" and first["state"] == "pending" and 0 < first["remaining_s"] <= 900
    assert items["classify"]["state"] == "met"
    code, out, _ = cli("--db", db, "incident", "deadlines", incident_id)  # English, with no Chinese left in it
    assert code == 0 and "at once in " in out and "立即" not in out
    code, out, _ = cli(
        "--db",
        db,
        "--as",
        "servers",
        "incident",
        "attest",
        incident_id,
        "leadership_informed",
        "--via",
        "phone",
        "--note",
        "told the director",
    )
    assert code == 0
    code, out, _ = cli("--db", db, "incident", "show", incident_id, "--json")
    shown = json.loads(out)
    assert {d["key"]: d["state"] for d in shown["deadlines"]}["leadership_report"] == "met"
    assert shown["next_deadline"]["key"] == "departments_notified"
    assert shown["obligations"][0]["attested"][0]["note"] == "told the director"
    code, out, _ = cli("--db", db, "escalate", "--once", "--json")
    assert (code, json.loads(out)) == (0, [])  # nothing breached yet: 3 h is inside III's 12 h


def test_escalate_once_prints_what_it_recorded_and_nothing_the_second_time(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    incident_id = cli(
        "--db",
        db,
        "--as",
        "servers",
        "incident",
        "open",
        "--title",
        "long outage",
        "--category",
        "network_fault",
        "--level",
        "IV",
        "--outage-start",
        "-3h",
    )[1].strip()
    code, out, _ = cli("--db", db, "escalate", "--once", "--json")
    [item] = json.loads(out)
    assert (item["incident_id"], item["rule"]) == (int(incident_id), "regrade")
    assert item["targets"] == [{"kind": "member", "to": "lead", "via": "permission:lead"}]
    assert 3599 < item["late_s"] < 3700
    code, out, _ = cli("--db", db, "escalate", "--once")
    assert (code, out) == (0, "nothing to escalate\n")


def test_list_and_show_agree_on_every_timestamp(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    """The listing formats stored times on a fast path; it must print what `show` prints."""
    incident_id = cli("--db", db, "--as", "servers", "incident", "open", "--title", "t", "--outage-start", "-7m")[1]
    cli("--db", db, "--as", "servers", "incident", "resolve", incident_id.strip(), "--resolution", "r")
    listed = json.loads(cli("--db", db, "incident", "list", "--json")[1])[0]
    shown = json.loads(cli("--db", db, "incident", "show", incident_id.strip(), "--json")[1])
    assert {k: v for k, v in shown.items() if k in listed} == listed


def test_a_probe_named_with_control_characters_is_addressed_as_listed(db: str, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A probe may write its name with an escape or a newline in it; `probe list` shows it
    cleaned, and that is the name an operator can type back."""
    spool = tmp_path / "spool"
    spool.mkdir()
    hostile = "evil\nname\x1b[31m"
    (spool / f"{hostile}.out").write_text("CRITICAL - down \x1b]0;owned\x07 since 03:00\nlong output\n")
    (spool / f"{hostile}.rc").write_text("2\n")
    code, _out, err = cli("--db", db, "--as", "servers", "ingest", "--once", "--spool", str(spool))
    assert code == 0, err
    code, out, _err = cli("--db", db, "probe", "list")
    [line] = [line for line in out.splitlines() if "evil name" in line]
    assert "CRITICAL - down  since 03:00" in line and "long output" not in line and "\x1b" not in out
    code, out, err = cli("--db", db, "probe", "show", "evil name", "--json")
    assert code == 0 and json.loads(out)["name"] == hostile, err
    code, out, err = cli("--db", db, "--as", "servers", "probe", "silence", "evil name", "--for", "1h", "--reason", "m")
    assert code == 0 and "silenced for 1h" in out, err
    code, out, _err = cli("--db", db, "probe", "list", "--json")
    assert [p["silenced_until"] is not None for p in json.loads(out) if p["name"] == hostile] == [True]
    code, _out, err = cli("--db", db, "probe", "show", "no such probe")
    assert code == 4 and "no probe named 'no such probe'" in err


def test_a_tampered_title_full_of_escapes_is_quoted_without_them(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    """audit verify quotes the stored title the trail vouches for: on stdout and in its
    error line, as text, never as escape sequences for the terminal."""
    import sqlite3

    hostile = "RED \x1b[31mtitle\x1b[0m \x1b]0;pwned\x07\x1b[2J"
    code, out, err = cli("--db", db, "--as", "servers", "incident", "open", "--title", hostile)
    assert code == 0, err
    path = db.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE incidents SET title = 'forged' WHERE id = ?", (int(out),))
    code, out, err = cli("--db", db, "audit", "verify")
    assert code == 1 and "title is forged, the trail says RED title" in err, err
    assert "\x1b" not in out + err and "\x07" not in out + err


def test_the_roster_list_shows_a_phone_without_its_escapes(db: str, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    roster = tmp_path / "roster.toml"
    roster.write_text(  # TOML's \u001b is ESC, \u0007 BEL
        '[[member]]\nlogin = "mallory"\nname = "M"\npermission = "operator"\n'
        'phone = "+86 \\u001b[31m\\u001b]0;pwned\\u0007 1"\nemail = "m@example.org"\n',
        encoding="utf-8",
    )
    code, _out, err = cli("--db", db, "--as", "lead", "roster", "import", str(roster))
    assert code == 0, err
    code, out, _err = cli("--db", db, "roster", "list")
    [line] = [line for line in out.splitlines() if line.startswith("mallory")]
    assert line.endswith("+86  1") and "\x1b" not in out and "\x07" not in out
