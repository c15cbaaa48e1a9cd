"""The second-OS-user harness itself: a login that is not root runs the installed opsdeck
as itself, from a folder it owns."""

from __future__ import annotations

import pwd

from ..os_users import OSUsers


def test_a_second_login_runs_opsdeck_as_itself(os_users: OSUsers) -> None:
    alice = os_users.user("odk_alice")
    folder = os_users.folder(alice)
    assert os_users.run_command(alice, ["id", "-un"]).stdout.strip() == "odk_alice"
    made = os_users.run_command(alice, ["touch", str(folder / "mine")])
    assert made.returncode == 0, made.stderr
    assert pwd.getpwuid((folder / "mine").stat().st_uid).pw_name == "odk_alice"
    r = os_users.run(alice, ["--help"])
    assert r.returncode == 0, r.stderr
    assert "usage" in r.stdout
    # The install is this tree's, not an editable link into a folder the login cannot read.
    where = os_users.run_command(
        alice, [str(os_users.python), "-c", "import opsdeck.backend; print(opsdeck.backend.__file__)"]
    )
    assert where.stdout.strip().startswith(str(os_users.venv)), where.stdout + where.stderr
