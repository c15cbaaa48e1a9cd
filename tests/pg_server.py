"""A PostgreSQL server of a test's own: initdb in a temporary folder, scram-sha-256 for
every TCP connection (its own pg_hba.conf), a free port, stopped at the end.

initdb refuses to run as root, so the server runs as the `postgres` OS user when the
tests run as root; the superuser's password is written to a passfile (never a command
line). Skips, saying why, where the binaries or that user are missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(os.environ.get("OPSDECK_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"
SUPER_PASSWORD = "super-secret-test"
HBA = """\
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
"""


def unavailable() -> str | None:
    if not (BIN / "initdb").exists():
        return f"no initdb in {BIN} (set OPSDECK_PG_BIN)"
    if os.getuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no postgres OS user to run a server as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    folder: Path
    port: int
    passfile: Path
    passwords: dict[str, str] = field(default_factory=dict)

    def url(self, role: str = SUPERUSER, db: str = "opsdeck") -> str:
        return f"postgresql+psycopg://{role}@127.0.0.1:{self.port}/{db}"

    def libpq(self, role: str = SUPERUSER, db: str = "opsdeck") -> str:
        return f"postgresql://{role}@127.0.0.1:{self.port}/{db}"

    def set_password(self, role: str, password: str) -> None:
        """As a superuser would in psql (`\\password`): the passfile gets the line."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.libpq(), autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        self.passwords[role] = password
        self._write_passfile()

    def _write_passfile(self) -> None:
        lines = [f"127.0.0.1:{self.port}:*:{r}:{p}" for r, p in self.passwords.items()]
        self.passfile.write_text("\n".join(lines) + "\n")
        self.passfile.chmod(0o600)


def _as_postgres() -> dict[str, object]:
    if os.getuid() != 0:
        return {}
    entry = pwd.getpwnam("postgres")
    return {"user": entry.pw_uid, "group": entry.pw_gid}


@contextmanager
def running() -> Iterator[Server]:
    folder = Path(tempfile.mkdtemp(prefix="opsdeck-pg-"))
    folder.chmod(0o755)
    data = folder / "data"
    data.mkdir()
    pwfile = folder / "pw"
    pwfile.write_text(SUPER_PASSWORD + "\n")
    who = _as_postgres()
    if who:
        for path in (folder, data, pwfile):
            os.chown(path, who["user"], who["group"])  # type: ignore[arg-type]
    port = _free_port()
    run = {"check": True, "capture_output": True, **who}
    subprocess.run(  # type: ignore[call-overload]
        [
            str(BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        **run,
    )
    (data / "pg_hba.conf").write_text(HBA)
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([str(BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l", str(folder / "log"), "start"], **run)  # type: ignore[call-overload]
    passfile = folder / "pgpass"
    server = Server(folder, port, passfile, {SUPERUSER: SUPER_PASSWORD})
    server._write_passfile()
    old = os.environ.get("PGPASSFILE")
    os.environ["PGPASSFILE"] = str(passfile)
    try:
        import psycopg

        deadline = time.monotonic() + 20
        while True:
            try:
                with psycopg.connect(server.libpq(db="postgres"), autocommit=True) as conn:
                    conn.execute("CREATE DATABASE opsdeck")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        if old is None:
            os.environ.pop("PGPASSFILE", None)
        else:
            os.environ["PGPASSFILE"] = old
        subprocess.run(
            [str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True, **who
        )  # type: ignore[call-overload]
        shutil.rmtree(folder, ignore_errors=True)
