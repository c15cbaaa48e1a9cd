"""No internal errors: each case a user (or a script) can cause gets its exit code
(0-5, never 70) and one `opsdeck: error: what — fix` line, and a command that only
reads never creates a store."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..conftest import demo_fixture
from ..os_users import OSUsers

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store" / "opsdeck.db"
    monkeypatch.setenv("OPSDECK_DB", f"sqlite:///{path}")
    return path


def one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("opsdeck: error: ") and " — " in lines[0], err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


def opened(cli: Cli) -> int:
    code, out, err = cli("incident", "open", "--title", "core switch down", "--as", "lead", "--json")
    assert code == 0, err
    return int(json.loads(out)["id"])


@pytest.fixture
def lead(cli: Cli, db: Path) -> None:
    code, _out, err = cli("roster", "import", str(demo_fixture("roster.toml")), "--as", "lead")
    assert code == 0, err


def test_a_file_that_is_not_a_store_names_backup_and_restore(cli: Cli, db: Path) -> None:
    db.parent.mkdir()
    db.write_bytes(b"this is a spreadsheet, not a store\n" * 100)
    code, _out, err = cli("incident", "list")
    line = one_error(err)
    assert code == 5 and "not an opsdeck store, or damaged" in line and "backup" in line and "restore" in line


def test_a_store_path_under_a_regular_file(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plain").write_text("x")
    monkeypatch.setenv("OPSDECK_DB", f"sqlite:///{tmp_path / 'plain' / 'opsdeck.db'}")
    code, _out, err = cli("incident", "open", "--title", "x", "--as", "lead")
    assert code == 2 and "must be a folder" in one_error(err)
    code, _out, err = cli("incident", "list")
    assert code == 4 and "no store at" in one_error(err)


def test_a_spool_that_cannot_be_a_folder_is_named_with_the_fix(cli: Cli, db: Path, tmp_path: Path) -> None:
    """Found by tests/e2e/test_cli_property.py: `ingest --spool FILE` was an internal error."""
    plain = tmp_path / "roster.toml"
    plain.write_text("x")
    for spool, why in ((plain, "it is not a folder"), (plain / "spool", "Not a directory")):
        code, _out, err = cli("ingest", "--spool", str(spool), "--once")
        what, fix = one_error(err).split(" — ")
        assert code == 2 and f"the spool {spool} cannot be opened as a folder: {why}" in what, err
        assert "--spool" in fix and "folder" in fix
    assert plain.read_text() == "x"


def test_a_store_path_with_escapes_is_named_as_given(cli: Cli, tmp_path: Path) -> None:
    code, _out, err = cli("--db", f"sqlite:///{tmp_path}/\x1b[31mred.db", "incident", "list")
    assert code == 4 and f"there is no store at '{tmp_path}/\\x1b[31mred.db'" in one_error(err)
    assert "\x1b" not in err


def test_a_mistyped_store_on_a_read_command_creates_nothing(cli: Cli, db: Path) -> None:
    for args in (("incident", "list"), ("board",), ("audit", "verify"), ("probe", "list"), ("db", "status")):
        code, out, err = cli(*args)
        assert code == 4 and "there is no store at" in one_error(err), (args, out)
    assert not db.exists() and not db.parent.exists()


def test_an_incident_id_past_the_stores_integers(cli: Cli, db: Path, lead: None) -> None:
    code, _out, err = cli("incident", "show", "99999999999999999999999")
    assert code == 2 and "is not an incident id" in one_error(err)
    code, _out, err = cli("incident", "ack", "1", "--if-version", "99999999999999999999999", "--as", "lead")
    assert code == 2 and "is not a version" in one_error(err)


def test_a_time_past_the_calendars_end(cli: Cli, db: Path, lead: None) -> None:
    incident = opened(cli)
    code, _out, err = cli(
        "incident", "outage", str(incident), "--started", "9999-12-31T23:59:59-23:59", "--reason", "r", "--as", "lead"
    )
    assert code == 2 and "outside the calendar" in one_error(err)
    code, _out, err = cli("incident", "list", "--since", "9999-12-31T23:59:59-23:59")
    assert code == 2 and "outside the calendar" in one_error(err)


def test_a_title_with_an_invalid_utf8_byte(cli: Cli, db: Path, lead: None) -> None:
    title = b"core \xff switch".decode("utf-8", "surrogateescape")  # as Python hands such argv over
    code, _out, err = cli("incident", "open", "--title", title, "--as", "lead")
    line = one_error(err)
    assert code == 2 and "not valid UTF-8" in line and "\udcff" not in line


@pytest.mark.parametrize("interval", ["inf", "nan", "-1", "0", "1e9"])
def test_a_worker_interval_that_is_not_a_sane_number(cli: Cli, db: Path, interval: str) -> None:
    code, _out, err = cli("worker", "--duties", "escalate", "--interval", interval)
    assert code == 2
    assert "--interval must be between 0 and 3600 seconds" in err and "internal error" not in err


def test_if_version_is_honoured_by_note_step_and_attest(cli: Cli, db: Path, lead: None) -> None:
    incident = opened(cli)
    code, out, _err = cli("incident", "show", str(incident), "--json")
    version = json.loads(out)["version"]
    stale = str(version - 1)
    for args in (
        ("note", str(incident), "seen it", "--if-version", stale),
        ("step", str(incident), "assess", "--if-version", stale),
        ("attest", str(incident), "leadership_informed", "--via", "phone", "--if-version", stale),
    ):
        code, _out, err = cli("incident", *args, "--as", "lead")
        assert code == 3, (args, err)
        one_error(err)
    code, _out, err = cli("incident", "note", str(incident), "seen it", "--if-version", str(version), "--as", "lead")
    assert code == 0, err


ESCAPED_IN_JSON = {*range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def test_json_and_audit_export_escape_c1_and_bidi_controls(cli: Cli, db: Path, lead: None, tmp_path: Path) -> None:
    title = "evil \x9b31m title \x85 abc\u202eexe.txt\u202c \u2066x\u2069"
    code, out, err = cli("incident", "open", "--title", title, "--as", "lead", "--json")
    assert code == 0, err
    incident = json.loads(out)["id"]
    for args in (("incident", "show", str(incident), "--json"), ("incident", "list", "--json"), ("board", "--json")):
        code, out, _err = cli(*args)
        assert code == 0 and not any(ord(c) in ESCAPED_IN_JSON for c in out), args
        assert "\\u009b" in out and "\\u202e" in out
        assert title in json.dumps(json.loads(out), ensure_ascii=False)  # escaped, not lost
    code, out, _err = cli("audit", "export", str(incident))
    assert code == 0 and not any(ord(c) in ESCAPED_IN_JSON for c in out) and "\\u202e" in out


@pytest.mark.parametrize("text", ["\x1b[2J\x1b[H", "\x01\x02", "\u202e\u200b", "\x1b]0;owned\x07", "\ufeff \u200d"])
def test_a_title_or_a_note_that_shows_nothing_is_refused(cli: Cli, db: Path, lead: None, text: str) -> None:
    code, _out, err = cli("incident", "open", "--title", text, "--as", "lead")
    line = one_error(err)
    assert code == 2 and "the title shows nothing" in line and "give a title" in line
    incident = opened(cli)
    code, _out, err = cli("incident", "note", str(incident), text, "--as", "lead")
    assert code == 2 and "the note shows nothing" in one_error(err)
    code, out, _err = cli("incident", "show", str(incident), "--json")
    assert json.loads(out)["notes"] == []
    code, out, _err = cli("incident", "list", "--json")
    assert [row["id"] for row in json.loads(out)] == [incident]  # the refused title stored nothing


# -- what the store's host says: read-only, full ---------------------------------------


def test_a_store_this_login_may_not_write_says_so(os_users: OSUsers) -> None:
    owner = os_users.user("odk_owner")
    reader = os_users.user("odk_reader")
    folder = os_users.folder(owner)
    env = {"OPSDECK_DB": f"sqlite:///{folder / 'opsdeck.db'}"}
    made = os_users.run(owner, ["incident", "open", "--title", "x", "--as", "someone"], env=env)
    assert "internal error" not in made.stderr
    r = os_users.run(reader, ["incident", "open", "--title", "y"], env=env)
    assert r.returncode == 5, r.stderr
    line = one_error(r.stderr)
    assert "may read the store but not write it" in line and "check the URL" not in line


def test_a_store_outside_this_logins_group_says_permission_denied(os_users: OSUsers) -> None:
    """A shared store in a folder of mode 2770: a login outside its group may not even
    look inside. Said, with the path and the fix, not an internal error."""
    owner = os_users.user("odk_owner")
    outsider = os_users.user("odk_outsider")
    folder = os_users.folder(owner, mode=0o2770)
    env = {"OPSDECK_DB": f"sqlite:///{folder / 'opsdeck.db'}"}
    os_users.run(owner, ["incident", "open", "--title", "x"], env=env)  # refused (not on a roster), store made
    assert (folder / "opsdeck.db").exists()
    for args in (["incident", "list"], ["incident", "open", "--title", "y"]):
        r = os_users.run(outsider, args, env=env)
        line = one_error(r.stderr)
        assert r.returncode == 1 and f"permission denied: {folder}" in line and "group" in line, r.stderr


@pytest.fixture
def full_disk(os_users: OSUsers) -> Iterator[Path]:
    where = os_users.folder(None)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_full_disk_under_the_store_says_so(cli: Cli, full_disk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSDECK_DB", f"sqlite:///{full_disk / 'opsdeck.db'}")
    code, _out, err = cli("incident", "open", "--title", "x", "--as", "lead")
    assert "internal error" not in err
    fd = os.open(full_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 65536):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    code, _out, err = cli("incident", "open", "--title", "y " * 20000, "--as", "lead")
    line = one_error(err)
    assert code == 5 and "is full" in line and "check the URL" not in line


def test_ctrl_c_mid_command_exits_within_the_table_and_changes_nothing(
    db: Path, cli: Cli, lead: None, tmp_path: Path
) -> None:
    """SIGINT while `report edit --from -` waits for its text: exit 1 (the codes stay
    within 0-5; the shell's 130 is not one of them), one line, no draft saved."""
    import signal
    import sys
    import time

    incident = opened(cli)
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("opsdeck")),
            "report",
            "edit",
            str(incident),
            "--from",
            "-",
            "--as",
            "lead",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPSDECK_CONFIG": str(tmp_path / "none.toml")},
    )
    time.sleep(3)  # started, and reading standard input
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, (out, err)
    assert one_error(err).startswith("opsdeck: error: interrupted")
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM record_drafts").fetchone() == (0,)


@pytest.mark.parametrize(
    ("host", "said"),
    [("99999999999999999999999", "not an address to listen on"), ("192.0.2.1", "cannot listen on 192.0.2.1")],
)
def test_serve_on_a_host_it_cannot_listen_on_says_so(db: Path, cli: Cli, host: str, said: str) -> None:
    """Found by the property test: a --host that does not resolve was an internal error."""
    code, _out, err = cli("serve", "--host", host, "--port", "18766")
    assert code == 2 and said in one_error(err)


def test_a_silence_past_the_calendars_end_is_refused_with_the_longest(cli: Cli, db: Path, lead: None) -> None:
    code, _out, err = cli("probe", "silence", "web01-load", "--for", "99999999d", "--reason", "r", "--as", "lead")
    assert code == 2 and "a silence lasts 366 days at the most" in one_error(err)
