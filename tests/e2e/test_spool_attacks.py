"""The spool against a hostile local user who may write into it (a member of the spool's
group, a real second OS user), while the worker runs as root, which file permissions do
not stop: planted symlinks in quarantine/ and done/, a file swapped for a symlink
between the listing and the read, a deleted spool, a full disk."""

from __future__ import annotations

import grp
import logging
import os
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsdeck.backend.ingest import Ingester, SpoolSettings
from opsdeck.backend.spool_report import spool_summary
from opsdeck.backend.store import Store

from ..os_users import OSUser, OSUsers

SECRET = "root-only-secret-5f3a"
GROUP = "odk_spool"
pytestmark = pytest.mark.usefixtures("os_users")


@pytest.fixture
def mallory(os_users: OSUsers) -> OSUser:
    return os_users.user("odk_mallory", groups=[GROUP])


@pytest.fixture
def spool(os_users: OSUsers) -> Path:
    """As `init --system` makes it: the group's, setgid, 2770, in a folder only root owns."""
    root = os_users.folder(None, mode=0o755)
    path = root / "spool"
    path.mkdir()
    os.chown(path, 0, os_users.group(GROUP))
    path.chmod(0o2770)
    return path


@pytest.fixture
def secret(os_users: OSUsers) -> Path:
    """A file only root may read, in a folder only root may write."""
    folder = os_users.folder(None, mode=0o755)
    path = folder / "shadow"
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    return path


def ingester(store: Store, spool: Path) -> Ingester:
    return Ingester(store, SpoolSettings(spool, settle_s=0.0, group=GROUP), actor="system:worker@test")


def as_user(os_users: OSUsers, user: OSUser, script: str, timeout: float = 60) -> None:
    result = os_users.run_command(user, [str(os_users.python), "-c", script], timeout=timeout)
    assert result.returncode == 0, result.stderr


def everything_under(folder: Path) -> Iterator[tuple[Path, bytes]]:
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path, path.read_bytes()


def test_symlinks_planted_in_quarantine_are_never_written_through(
    store: Store, spool: Path, secret: Path, mallory: OSUser, os_users: OSUsers
) -> None:
    created = secret.parent / "created-by-root"
    as_user(  # the writer makes quarantine/ before the worker's first scan
        os_users,
        mallory,
        f"""
import os
q = {str(spool / "quarantine")!r}
os.mkdir(q)
os.symlink({str(secret)!r}, q + "/bad.json.reason")       # overwrite a file
os.symlink({str(created)!r}, q + "/bad.json")             # dangling: create a file
os.symlink({str(created)!r}, q + "/bad.json.1.reason")
open({str(spool / "bad.json")!r}, "w").write("{{not json")
""",
    )
    report = ingester(store, spool).scan()
    assert report.quarantined == 1
    assert secret.read_text() == SECRET + "\n" and stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert not created.exists()
    quarantine = spool / "quarantine"
    moved = [p for p in quarantine.iterdir() if p.is_file() and not p.is_symlink() and not p.name.endswith(".reason")]
    assert [p.read_text() for p in moved] == ["{not json"]
    reason = moved[0].with_name(moved[0].name + ".reason")
    assert not reason.is_symlink() and "JSON" in reason.read_text()
    assert not (spool / "bad.json").exists()


def test_a_symlink_in_the_spool_is_not_followed_and_its_target_not_copied(
    store: Store, spool: Path, secret: Path, mallory: OSUser, os_users: OSUsers
) -> None:
    as_user(os_users, mallory, f"import os; os.symlink({str(secret)!r}, {str(spool / 'metrics.prom')!r})")
    report = ingester(store, spool).scan()
    assert report.quarantined == 1
    assert "a symbolic link: not followed" in (spool / "quarantine" / "metrics.prom.reason").read_text()
    assert not os.path.lexists(spool / "metrics.prom")  # the link is gone, its target is not
    assert secret.read_text() == SECRET + "\n"
    assert not [p for p, data in everything_under(spool) if SECRET.encode() in data]


def test_done_replaced_by_a_symlink_is_not_written_through(
    store: Store, spool: Path, secret: Path, mallory: OSUser, os_users: OSUsers
) -> None:
    ingester(store, spool).scan()
    elsewhere = secret.parent
    as_user(
        os_users,
        mallory,
        f"""
import os, shutil
shutil.rmtree({str(spool / "done")!r})
os.symlink({str(elsewhere)!r}, {str(spool / "done")!r})
open({str(spool / "web.out")!r}, "w").write("PING OK - 3 ms\\n")
open({str(spool / "web.rc")!r}, "w").write("0\\n")
""",
    )
    report = ingester(store, spool).scan()
    assert report.ingested == 1
    assert sorted(os.listdir(elsewhere)) == ["shadow"]
    assert (spool / "done").is_dir() and not (spool / "done").is_symlink()
    assert sorted(os.listdir(spool / "done")) == ["web.out", "web.rc"]


def test_a_file_swapped_for_a_symlink_mid_scan_is_never_read_through_it(
    store: Store, spool: Path, secret: Path, mallory: OSUser, os_users: OSUsers, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer swaps `x.prom` between a bad file and a link to root's secret as fast
    as it can while the worker scans: no scan may read the secret, copy it anywhere in
    the spool, or quote it in a log line or a .reason."""
    caplog.set_level(logging.INFO)
    ingest = ingester(store, spool)
    ingest.scan()
    racer = f"""
import os, time
d = {str(spool)!r}
end = time.time() + 4
n = 0
while time.time() < end:
    n += 1
    with open(d + "/.f", "w") as f:
        f.write("this is not prometheus %d\\n" % n)
    os.replace(d + "/.f", d + "/x.prom")
    try:
        os.symlink({str(secret)!r}, d + "/.l")
    except FileExistsError:
        pass
    os.replace(d + "/.l", d + "/x.prom")
"""
    thread = threading.Thread(target=as_user, args=(os_users, mallory, racer))
    thread.start()
    scans = 0
    while thread.is_alive():
        ingest.scan()
        scans += 1
    thread.join()
    assert scans > 20
    leaked = [str(p) for p, data in everything_under(spool) if SECRET.encode() in data]
    assert leaked == []
    assert SECRET not in caplog.text
    assert any(".reason" in p.name for p in (spool / "quarantine").iterdir())  # the race was run: refusals
    assert secret.read_text() == SECRET + "\n"


def test_refused_content_is_quoted_only_as_a_short_sanitized_excerpt(store: Store, spool: Path) -> None:
    (spool / "evil.prom").write_text("\x1b]52;c;" + "A" * 5000 + "\x07 not a metric\n")
    ingester(store, spool).scan()
    reason = (spool / "quarantine" / "evil.prom.reason").read_text()
    assert len(reason) <= 200 and "\x1b" not in reason and "\x07" not in reason


def test_a_deleted_spool_is_recreated_with_the_configured_group_and_mode(store: Store, spool: Path) -> None:
    ingester(store, spool).scan()
    subprocess.run(["rm", "-rf", str(spool)], check=True)
    os.umask(0o022)
    ingester(store, spool).scan()
    info = spool.stat()
    assert grp.getgrgid(info.st_gid).gr_name == GROUP
    assert stat.S_IMODE(info.st_mode) == 0o2770


@pytest.fixture
def small_disk(os_users: OSUsers) -> Iterator[Path]:
    """A 256 KiB tmpfs: a real full disk."""
    where = os_users.folder(None)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.fail(f"mount tmpfs needs root with CAP_SYS_ADMIN: {mounted.stderr!r}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def fill(disk: Path) -> Path:
    filler = disk / ".filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_leaves_every_file_in_place_and_raises_a_banner(store: Store, small_disk: Path) -> None:
    spool = small_disk / "spool"
    ingest = Ingester(store, SpoolSettings(spool, settle_s=0.0), actor="system:worker@test")
    ingest.scan()
    (spool / "web.out").write_text("PING OK - 3 ms\n" + "x" * 3000)
    (spool / "web.rc").write_text("0\n")
    (spool / "bad.prom").write_text("this is not a metric\n")
    filler = fill(small_disk)
    report = ingest.scan()
    assert report.ingested == 1  # taken in: the store is elsewhere
    assert sorted(p.name for p in spool.iterdir() if p.is_file() and not p.name.startswith(".")) == [
        "bad.prom",
        "web.out",
        "web.rc",
    ]
    assert [p for p in (spool / "quarantine").iterdir() if p.stat().st_size == 0] == []  # no empty .reason
    problems = spool_summary(store)["problems"]
    assert len(problems) == 1 and "out of space" in problems[0]
    filler.unlink()
    again = ingest.scan()
    assert again.ingested == 0 and again.duplicates == 1  # known already: only moved
    assert sorted(os.listdir(spool / "done")) == ["web.out", "web.rc"]
    assert (spool / "bad.prom").exists()  # a state file is never moved
    assert (spool / "quarantine" / "bad.prom.reason").read_text().strip()
    assert spool_summary(store)["problems"] == []


def _worker_log(popen: subprocess.Popen[str], wait_for: str) -> str:
    """stderr of a worker until `wait_for` shows up (or 20 s), then stop it."""
    lines: list[str] = []
    assert popen.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(popen.stderr or ()), daemon=True)
    reader.start()
    end = time.monotonic() + 20
    while time.monotonic() < end and wait_for not in "".join(lines):
        time.sleep(0.1)
    popen.terminate()
    popen.wait(timeout=20)
    reader.join(timeout=5)
    return "".join(lines)


def test_a_worker_running_as_root_says_so_and_a_service_user_does_not(
    os_users: OSUsers, mallory: OSUser, tmp_path: Path
) -> None:
    folder = os_users.folder(mallory)
    env = {"OPSDECK_DB": f"sqlite:///{folder / 'opsdeck.db'}", "OPSDECK_SPOOL": str(folder / "spool")}
    root = OSUser("root", 0, 0, Path("/root"))
    as_root = _worker_log(os_users.popen(root, ["worker", "--duties", "escalate"], env=env), "started")
    assert "running as root: run the worker as a service user" in as_root
    as_service = _worker_log(os_users.popen(mallory, ["worker", "--duties", "escalate"], env=env), "started")
    assert "started" in as_service and "running as root" not in as_service


def test_a_hard_link_to_a_file_outside_is_not_read_and_a_fifo_does_not_hang_the_scan(
    store: Store, spool: Path, secret: Path
) -> None:
    """Root may hard-link what no one else may (protected_hardlinks stops other users):
    a file with more than one name is never read or copied; a FIFO is left alone."""
    os.link(secret, spool / "linked.prom")
    os.mkfifo(spool / "pipe.json")
    started = time.monotonic()
    report = ingester(store, spool).scan()
    assert time.monotonic() - started < 10
    assert report.quarantined == 1
    assert "a hard link (2 names): not read" in (spool / "quarantine" / "linked.prom.reason").read_text()
    assert not (spool / "linked.prom").exists() and secret.read_text() == SECRET + "\n"
    assert not [p for p, data in everything_under(spool) if SECRET.encode() in data]
    assert stat.S_ISFIFO((spool / "pipe.json").lstat().st_mode)
