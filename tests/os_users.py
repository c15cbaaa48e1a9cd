"""Real second OS users, for the attacks a hostile local user would try.

Creating users needs root. The `os_users` fixture (conftest.py) skips on a machine
without root and says so; CI sets OPSDECK_REQUIRE_ROOT_TESTS=1, so there a missing
root fails the run instead of skipping silently.

The users run opsdeck the way a real login would: from a virtual environment built
from Debian's own /usr/bin/python3 (not the test runner's interpreter, whose folders
they may not be able to read), holding a non-editable install of this tree, in
folders that are 0755 all the way down (pytest's temporary folder is 0700, so a second
user could not even reach a store there).

Usage:

    def test_x(os_users):
        alice = os_users.user("odk_alice")
        home = os_users.folder(alice)              # 0755, owned by alice
        r = os_users.run(alice, ["incident", "list", "--json"], env={"OPSDECK_DB": ...})
        assert r.returncode == 0
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE = Path("/var/tmp/opsdeck-os-tests")
DEBIAN_PYTHON = Path("/usr/bin/python3")
REQUIRE = os.environ.get("OPSDECK_REQUIRE_ROOT_TESTS") == "1"


def unavailable() -> str | None:
    """None when these tests can run here, else why not."""
    if os.geteuid() != 0:
        return "tests with real second OS users need root (CI runs them: OPSDECK_REQUIRE_ROOT_TESTS=1)"
    if not DEBIAN_PYTHON.exists():
        return f"tests with real second OS users need {DEBIAN_PYTHON} (Debian's python3 and python3-venv)"
    if shutil.which("useradd") is None:
        return "tests with real second OS users need useradd (Debian's passwd package)"
    return None


@dataclass(frozen=True)
class OSUser:
    name: str
    uid: int
    gid: int
    home: Path


@dataclass
class OSUsers:
    """Creates users and groups (idempotently), folders they own, and runs opsdeck as them."""

    venv: Path
    run_dir: Path
    made: list[Path] = field(default_factory=list)

    @property
    def opsdeck(self) -> Path:
        return self.venv / "bin" / "opsdeck"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def group(self, name: str) -> int:
        """The gid of group `name`, created if absent."""
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            subprocess.run(["groupadd", name], check=True, capture_output=True)
            return grp.getgrnam(name).gr_gid

    def user(self, name: str, *, groups: Iterable[str] = ()) -> OSUser:
        """The login `name` (no password, no shell login needed), created if absent,
        and a member of exactly the supplementary `groups` given."""
        wanted = sorted(groups)
        for g in wanted:
            self.group(g)
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            home = BASE / "homes" / name
            subprocess.run(
                ["useradd", "--home-dir", str(home), "--no-create-home", "--shell", "/bin/sh", name],
                check=True,
                capture_output=True,
            )
            entry = pwd.getpwnam(name)
        subprocess.run(["usermod", "-G", ",".join(wanted), name], check=True, capture_output=True)
        home = Path(entry.pw_dir)
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, entry.pw_uid, entry.pw_gid)
        home.chmod(0o755)
        return OSUser(name, entry.pw_uid, entry.pw_gid, home)

    def folder(self, owner: OSUser | None = None, *, mode: int = 0o755, group: str | None = None) -> Path:
        """A new folder for this test, `mode` (0755 by default), owned by `owner` (root if
        None) and `group` if given. Removed when the test ends."""
        path = self.run_dir / uuid.uuid4().hex[:10]
        path.mkdir(parents=True)
        uid = owner.uid if owner else 0
        gid = grp.getgrnam(group).gr_gid if group else (owner.gid if owner else 0)
        os.chown(path, uid, gid)
        path.chmod(mode)
        self.made.append(path)
        return path

    def env(self, user: OSUser, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A login's clean environment: its own HOME and XDG folders, no config but its own."""
        env = {
            "PATH": f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(user.home),
            "USER": user.name,
            "LOGNAME": user.name,
            "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": str(user.home / ".config"),
            "XDG_DATA_HOME": str(user.home / ".local" / "share"),
            "XDG_STATE_HOME": str(user.home / ".local" / "state"),
            "XDG_CACHE_HOME": str(user.home / ".cache"),
            "OPSDECK_LANG": "en",
            "OPSDECK_TIMEZONE": "UTC",
        }
        env.update(extra or {})
        return env

    def run(
        self,
        user: OSUser,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """`opsdeck ARGS` run as `user` (its uid, its gid, its supplementary groups)."""
        return self.run_command(user, [str(self.opsdeck), *args], env=env, cwd=cwd, timeout=timeout, stdin=stdin)

    def run_command(
        self,
        user: OSUser,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Any command run as `user`."""
        groups = os.getgrouplist(user.name, user.gid)
        return subprocess.run(
            list(argv),
            user=user.uid,
            group=user.gid,
            extra_groups=groups,
            env=self.env(user, env),
            cwd=str(cwd or user.home),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            input=stdin,
            umask=0o022,
        )

    def popen(
        self, user: OSUser, args: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[str]:
        """`opsdeck ARGS` started as `user` in the background (a worker, a receiver)."""
        groups = os.getgrouplist(user.name, user.gid)
        return subprocess.Popen(
            [str(self.opsdeck), *args],
            user=user.uid,
            group=user.gid,
            extra_groups=groups,
            env=self.env(user, env),
            cwd=str(user.home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            umask=0o022,
        )

    def cleanup(self) -> None:
        for path in self.made:
            shutil.rmtree(path, ignore_errors=True)
        self.made.clear()


def _deps_key() -> str:
    """The dependency venv is rebuilt when the project's declared dependencies change."""
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes())
    digest.update(DEBIAN_PYTHON.resolve().name.encode())
    return digest.hexdigest()[:16]


def _run(argv: Sequence[str]) -> None:
    result = subprocess.run(list(argv), capture_output=True, text=True, umask=0o022)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def build_venv(work: Path) -> Path:
    """A venv from Debian's python3 with opsdeck's dependencies (cached between runs
    by the pyproject's hash) and this tree installed non-editable (every session: the
    code under test is always the tree's)."""
    BASE.mkdir(mode=0o755, exist_ok=True)
    BASE.chmod(0o755)
    venv = BASE / f"venv-{_deps_key()}"
    ready = venv / ".deps-installed"
    if not ready.exists():
        shutil.rmtree(venv, ignore_errors=True)
        _run([str(DEBIAN_PYTHON), "-m", "venv", str(venv)])
        # The dependencies alone: install the project once with them, then replace it below.
        _run([str(venv / "bin" / "pip"), "install", "-q", f"{REPO}[postgres]"])
        ready.write_text("ok\n")
    wheels = work / "wheels"
    # setuptools reuses REPO/build/lib: a module renamed or removed since the last build
    # (a migration renumbered after a merge) would ride along into the wheel.
    shutil.rmtree(REPO / "build", ignore_errors=True)
    _run([str(venv / "bin" / "pip"), "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)])
    wheel = next(wheels.glob("opsdeck-*.whl"))
    _run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--force-reinstall", str(wheel)])
    return venv
