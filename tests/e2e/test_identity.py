"""Who acts, tried as hostile local users would on a shared store: real second OS users,
each running the installed opsdeck as itself (tests/os_users.py).

The login is the process's real uid, never LOGNAME or USER; `--as` grants nothing the
caller could not already do; OPSDECK_ALLOW_AS and the user-config key grant nothing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..os_users import OSUser, OSUsers

GROUP = "odk_ops"
OSC52 = "x\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J"


@dataclass
class Shared:
    """A SQLite store shared by a group, as `opsdeck init --system` leaves one."""

    users: OSUsers
    db: str
    path: Path
    lead: OSUser
    op: OSUser
    viewer: OSUser
    stranger: OSUser

    def run(self, user: OSUser, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return self.users.run(user, ["--db", self.db, *args], env=env)

    def trail(self, target: str) -> list[dict[str, object]]:
        r = self.run(self.lead, "audit", "show", target, "--json")
        assert r.returncode == 0, r.stderr
        return list(json.loads(r.stdout))


@pytest.fixture
def shared(os_users: OSUsers) -> Shared:
    lead, op, viewer, stranger = (
        os_users.user(name, groups=[GROUP]) for name in ("odk_lead", "odk_op", "odk_view", "odk_stranger")
    )
    folder = os_users.folder(lead, mode=0o2770, group=GROUP)
    files = os_users.folder(lead)
    roster = files / "roster.toml"
    roster.write_text(
        "".join(
            f'[[member]]\nlogin = "{login}"\nname = "{login}"\npermission = "{permission}"\n\n'
            for login, permission in (("odk_lead", "lead"), ("odk_op", "operator"), ("odk_view", "viewer"))
        )
    )
    roster.chmod(0o644)
    db = f"sqlite:///{folder / 'opsdeck.db'}"
    s = Shared(os_users, db, folder / "opsdeck.db", lead, op, viewer, stranger)
    r = s.run(lead, "roster", "import", str(roster))
    assert r.returncode == 0, r.stderr
    (folder / "opsdeck.db").chmod(0o660)
    r = s.run(lead, "incident", "open", "--title", "Payment API down", "--level", "II", "--category", "server_fault")
    assert r.returncode == 0, r.stderr
    return s


def test_logname_names_nobody_the_uid_does(shared: Shared) -> None:
    """A viewer with LOGNAME and USER set to a lead is still the viewer, and refused."""
    pose = {"LOGNAME": "odk_lead", "USER": "odk_lead"}
    r = shared.run(shared.viewer, "incident", "level", "1", "--level", "IV", "--reason", "quiet", env=pose)
    assert r.returncode == 1 and "odk_view is a viewer" in r.stderr, r.stderr
    r = shared.run(shared.op, "incident", "level", "1", "--level", "IV", "--reason", "quiet", env=pose)
    assert r.returncode == 1 and "is for leads" in r.stderr, r.stderr
    assert [(e["actor"], e["action"]) for e in shared.trail("1")][-1] == ("odk_lead", "open")
    # The worker's actors never come from a login's environment: LOGNAME=system:x is a stranger.
    r = shared.run(shared.stranger, "incident", "open", "--title", "x", env={"LOGNAME": "system:x", "USER": "system:x"})
    assert r.returncode == 1 and "odk_stranger is a viewer" in r.stderr, r.stderr
    r = shared.run(shared.op, "incident", "note", "1", "mine", env={"LOGNAME": "system:worker@here"})
    assert r.returncode == 0, r.stderr
    assert shared.trail("1")[-1]["actor"] == "odk_op"


def test_allow_as_switches_grant_nothing_and_warn_once(shared: Shared) -> None:
    config = shared.op.home / ".config" / "opsdeck"
    for env in ({"OPSDECK_ALLOW_AS": "1"}, {}):
        if not env:  # the user's own config file next
            shared.users.run_command(shared.op, ["mkdir", "-p", str(config)])
            shared.users.run_command(shared.op, ["sh", "-c", f"echo 'allow_as = true' > {config}/config.toml"])
        r = shared.run(
            shared.op, "--as", "odk_lead", "incident", "level", "1", "--level", "IV", "--reason", "q", env=env
        )
        warnings = [line for line in r.stderr.splitlines() if line.startswith("opsdeck: warning:")]
        assert r.returncode == 1 and "not yours alone" in r.stderr, r.stderr
        assert len(warnings) == 1 and "grants nothing" in warnings[0] and "allow-as on" in warnings[0], r.stderr
    assert [e["actor"] for e in shared.trail("1")] == ["odk_lead"]


def test_as_on_a_shared_store_needs_the_leads_setting_and_names_who_used_it(shared: Shared) -> None:
    r = shared.run(shared.op, "--as", "odk_view", "incident", "note", "1", "hi")
    assert r.returncode == 1 and "not yours alone" in r.stderr
    r = shared.run(shared.op, "db", "allow-as", "on")
    assert r.returncode == 1 and "for leads" in r.stderr, r.stderr
    r = shared.run(shared.lead, "db", "allow-as", "on")
    assert r.returncode == 0, r.stderr
    assert shared.trail("system")[-1]["actor"] == "odk_lead"
    r = shared.run(shared.op, "--as", "odk_view", "incident", "note", "1", "said by a viewer's name")
    assert r.returncode == 1 and "odk_view is a viewer" in r.stderr, r.stderr  # the other login's rights, not more
    r = shared.run(shared.viewer, "--as", "odk_op", "incident", "note", "1", "typed by the viewer")
    assert r.returncode == 0, r.stderr
    last = shared.trail("1")[-1]
    assert last["actor"] == "odk_op" and last["details"]["by"] == "odk_view"  # type: ignore[index]
    r = shared.run(shared.lead, "db", "allow-as", "off")
    assert r.returncode == 0 and shared.run(shared.viewer, "--as", "odk_op", "incident", "list").returncode == 1


def test_as_on_a_store_one_owns_alone(os_users: OSUsers) -> None:
    alone = os_users.user("odk_alone")
    folder = os_users.folder(alone)
    db = f"sqlite:///{folder / 'mine.db'}"
    roster = folder / "roster.toml"
    roster.write_text('[[member]]\nlogin = "someone"\nname = "S"\npermission = "lead"\n')
    roster.chmod(0o644)
    r = os_users.run(alone, ["--db", db, "--as", "someone", "roster", "import", str(roster)])
    assert r.returncode == 0, r.stderr
    r = os_users.run(alone, ["--db", db, "--as", "someone", "incident", "open", "--title", "rehearsal"])
    assert r.returncode == 0, r.stderr
    r = os_users.run(alone, ["--db", db, "audit", "show", "1", "--json"])
    [opened] = json.loads(r.stdout)
    assert opened["actor"] == "someone" and opened["details"]["by"] == "odk_alone"


def test_escape_sequences_never_reach_the_terminal(shared: Shared) -> None:
    r = shared.run(shared.op, "incident", "note", "1", "hello", env={"LOGNAME": OSC52, "USER": OSC52})
    assert r.returncode == 0, r.stderr
    # A store written before logins were checked: an author with an escape in it.
    with sqlite3.connect(shared.path) as conn:
        conn.execute("UPDATE incident_notes SET author = ? WHERE text = 'hello'", (OSC52,))
    r = shared.run(shared.viewer, "incident", "show", "1", env={"LOGNAME": OSC52})
    assert r.returncode == 0, r.stderr
    assert "hello" in r.stdout and "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert "x]52;c;ZWNobyBwd25lZA==" not in r.stdout
    for argv in (["--as", OSC52, "incident", "list"], ["incident", "list", OSC52], ["incident", "show", OSC52]):
        r = shared.run(shared.viewer, *argv)
        assert r.returncode == 2 and "\x1b" not in r.stderr and "\x07" not in r.stderr, (argv, r.stderr)


def test_a_members_own_edit_of_the_file_is_named_by_verify(shared: Shared) -> None:
    """Every member can write the shared file: an operator makes itself a lead and quiets
    the incident with sqlite3. `audit verify` names both rows."""
    script = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "c.execute(\"UPDATE roster_members SET permission = 'lead' WHERE login = 'odk_op'\"); "
        "c.execute(\"UPDATE incidents SET level = 'IV', status = 'closed' WHERE id = 1\"); c.commit()"
    )
    r = shared.users.run_command(shared.op, [str(shared.users.python), "-c", script, str(shared.path)])
    assert r.returncode == 0, r.stderr
    r = shared.run(shared.lead, "audit", "verify")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "BROKEN roster member odk_op: permission is lead, the trail says operator" in r.stdout
    assert "BROKEN incident 1: level is IV, the trail says II" in r.stdout
    assert "BROKEN incident 1: status is closed, the trail says acknowledged" in r.stdout
