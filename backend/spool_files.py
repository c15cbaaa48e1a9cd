"""Spool files touched so that a hostile writer cannot turn the worker.

Whoever may write into the spool may also plant symlinks there (in the spool, in
`done/`, in `quarantine/`), swap a file for a link between the listing and the read,
or hard-link somebody else's file in, hoping the worker (perhaps root, which file
permissions do not stop) reads, copies or overwrites what they could not. So:

- every file is opened relative to the spool's directory descriptor with
  `O_NOFOLLOW | O_NONBLOCK`, and checked with `fstat` on the open descriptor (a
  regular file, one name, its size) before a byte is read;
- what goes to `done/` or `quarantine/` is written from that descriptor into a new
  file created with `O_CREAT | O_EXCL | O_NOFOLLOW` (never through a name that
  exists, dangling links included), and the spool's name is removed only when it
  still names the very file that was read;
- a refused file's contents are never copied: a symlink or a hard link is unlinked
  (the link, not its target) and leaves only a `.reason`.

Out of space (ENOSPC, EDQUOT) the half-written copy is removed and `NoSpace` raised:
the file stays in the spool for the next scan.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("opsdeck.ingest")
DONE, QUARANTINE = "done", "quarantine"
SPOOL_MODE = 0o2770  # as `opsdeck init --system` makes it: the group's, setgid
DEFAULT_MAX_BYTES = 1 << 20
FILE_MODE = 0o640
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class SpoolSettings:
    """Where probe results are read from and how (backend/ingest.py reads them)."""

    path: Path
    encoding: str = "utf-8"
    max_bytes: int = DEFAULT_MAX_BYTES
    settle_s: float = 2.0  # a `.out` without `.rc`, or unparseable JSON, unchanged this long
    group: str | None = None  # a recreated spool's group (None: its parent folder's)
    mode: int = SPOOL_MODE


class Refused(Exception):
    """A spool entry not to read: a symlink, not a regular file, a hard link."""

    def __init__(self, reason: str, *, unlink: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unlink = unlink  # a link: removing the name loses nothing


class TooBig(Refused):
    def __init__(self, limit: int, info: os.stat_result) -> None:
        super().__init__(f"over {limit} bytes ({info.st_size})", unlink=False)
        self.info = info


class NoSpace(OSError):
    """The disk (or the quota) is full: nothing was moved."""


@dataclass(frozen=True)
class SpoolFile:
    name: str
    data: bytes
    stat: os.stat_result  # of the open descriptor the data came from


def make_spool(path: Path, group: str | None = None, mode: int = SPOOL_MODE) -> None:
    """Create the spool folder if it is missing (deleted by hand, a fresh host) with the
    configured group (else its parent's, as `init --system` left it) and mode."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    gid = grp.getgrnam(group).gr_gid if group else path.parent.stat().st_gid
    try:
        os.chown(path, -1, gid)
    except PermissionError:
        log.warning("spool %s: cannot give it group %s (not a member)", path, group or gid)
    os.chmod(path, mode)
    log.info("spool %s created (group %s, mode %o)", path, grp.getgrgid(path.stat().st_gid).gr_name, mode)


class SpoolDir:
    """The spool opened as directory descriptors; close it after the scan."""

    def __init__(self, path: Path, group: str | None = None, mode: int = SPOOL_MODE) -> None:
        make_spool(path, group, mode)
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self.dirs = {DONE: self._subdir(DONE), QUARANTINE: self._subdir(QUARANTINE)}
        except OSError:
            os.close(self.fd)
            raise

    def _subdir(self, name: str) -> int:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o2770 if os.stat(self.fd).st_mode & stat.S_ISGID else 0o770, dir_fd=self.fd)
        try:
            return os.open(name, _DIR, dir_fd=self.fd)
        except OSError as error:  # a symlink or a file planted under the folder's name
            if error.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            log.warning("spool %s: %s/ is not a folder; replacing it", self.path, name)
            os.rename(name, f".{name}.refused.{os.getpid()}", src_dir_fd=self.fd, dst_dir_fd=self.fd)
            os.mkdir(name, 0o770, dir_fd=self.fd)
            return os.open(name, _DIR, dir_fd=self.fd)

    def close(self) -> None:
        for fd in (*self.dirs.values(), self.fd):
            os.close(fd)
        self.dirs = {}

    def __enter__(self) -> SpoolDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------

    def listing(self, wanted: Callable[[str], bool], window: int) -> Iterator[set[str]]:
        """The names in the spool that `wanted` keeps, read as a stream and handed out
        `window` names at a time: a storm of any size costs one window of names here."""
        names: set[str] = set()
        with os.scandir(self.fd) as found:
            for entry in found:
                if wanted(entry.name):
                    names.add(entry.name)
                    if len(names) >= window:
                        yield names
                        names = set()
        if names:
            yield names

    def exists(self, name: str) -> bool:
        """Whether the spool has this name (a link counts: it is not followed)."""
        try:
            os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    def lstat(self, name: str, where: str | None = None) -> os.stat_result:
        return os.stat(name, dir_fd=self.dirs[where] if where else self.fd, follow_symlinks=False)

    def open(self, name: str, where: str | None = None) -> tuple[int, os.stat_result]:
        """A descriptor on a regular file with one name, and its fstat; else `Refused`."""
        try:
            fd = os.open(name, _READ, dir_fd=self.dirs[where] if where else self.fd)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise Refused("a symbolic link: not followed", unlink=True) from None
            raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise Refused("not a regular file", unlink=False)
        if info.st_nlink != 1:
            os.close(fd)
            raise Refused(f"a hard link ({info.st_nlink} names): not read", unlink=True)
        return fd, info

    def read(self, name: str, limit: int, where: str | None = None) -> SpoolFile:
        """The whole file, if it is at most `limit` bytes (`Refused` otherwise)."""
        fd, info = self.open(name, where)
        try:
            if info.st_size > limit:
                raise TooBig(limit, info)
            return SpoolFile(name, _read_all(fd, limit + 1), info)
        finally:
            os.close(fd)

    def head(self, name: str, size: int = 512) -> bytes:
        fd, _info = self.open(name)
        try:
            return os.read(fd, size)
        finally:
            os.close(fd)

    # -- writing --------------------------------------------------------------------------

    def move(self, file: SpoolFile, to: str) -> str:
        """Copy what was read into `to`/ under a new name, then remove the spool's name if
        it still names that file. Returns the new name."""
        target = self._write_new(to, file.name, file.data, file.stat)
        self.unlink_if_same(file.name, file.stat)
        return target

    def quarantine_whole(self, name: str, expect: os.stat_result, reason: str, *, remove: bool) -> str:
        """Quarantine a file too big to hold in memory, copied from its own descriptor
        (opened and checked again, and still the file that was listed)."""
        fd, info = self.open(name)
        try:
            if (info.st_dev, info.st_ino) != (expect.st_dev, expect.st_ino):
                raise FileNotFoundError(errno.ENOENT, "replaced since it was listed", name)
            target = self.quarantine(name, reason, info=info, source=fd)
        finally:
            os.close(fd)
        if remove:
            self.unlink_if_same(name, info)
        return target

    def quarantine(
        self,
        name: str,
        reason: str | None,
        *,
        data: bytes | None = None,
        info: os.stat_result | None = None,
        source: int | None = None,
    ) -> str:
        """`name` (its data, if any) and `name.reason` under one free name pair in
        quarantine/; `reason` None for a pair's partner file, which has none."""
        fd_dir = self.dirs[QUARANTINE]
        has_data = data is not None or source is not None
        for n in range(0, 10_000):
            base = name if n == 0 else f"{name}.{n}"
            try:
                if has_data:
                    self._create_write(fd_dir, base, data, info, source=source)
                if reason is not None:
                    try:
                        self._create_write(fd_dir, base + ".reason", reason.encode("utf-8"), None)
                    except FileExistsError:  # a name planted beside it: pick another pair
                        if has_data:
                            os.unlink(base, dir_fd=fd_dir)
                        raise
            except FileExistsError:
                continue
            return base
        raise FileExistsError(errno.EEXIST, "no free name in quarantine/", name)

    def unlink_if_same(self, name: str, info: os.stat_result) -> bool:
        try:
            now = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            return False  # replaced since it was read: the next scan sees the new one
        os.unlink(name, dir_fd=self.fd)
        return True

    def _write_new(
        self,
        to: str,
        name: str,
        data: bytes | None,
        info: os.stat_result | None,
        *,
        source: int | None = None,
    ) -> str:
        fd_dir = self.dirs[to]
        for n in range(0, 10_000):
            candidate = name if n == 0 else f"{name}.{n}"
            try:
                self._create_write(fd_dir, candidate, data, info, source=source)
            except FileExistsError:
                continue
            return candidate
        raise FileExistsError(errno.EEXIST, f"no free name in {to}/", name)

    @staticmethod
    def _create_write(
        fd_dir: int, name: str, data: bytes | None, info: os.stat_result | None, *, source: int | None = None
    ) -> None:
        fd = os.open(name, _CREATE, FILE_MODE, dir_fd=fd_dir)
        try:
            if source is not None:
                while chunk := os.read(source, 1 << 20):
                    _write_all(fd, chunk)
            elif data:
                _write_all(fd, data)
            if info is not None:  # keep the file's time: done/ is pruned by it, pairs matched by it
                os.utime(fd, ns=(info.st_atime_ns, info.st_mtime_ns))
            os.close(fd)
        except OSError as error:
            os.close(fd)
            os.unlink(name, dir_fd=fd_dir)
            if error.errno in NO_SPACE:
                raise NoSpace(error.errno, os.strerror(error.errno), name) from None
            raise


def _read_all(fd: int, limit: int) -> bytes:
    parts, total = [], 0
    while total < limit and (chunk := os.read(fd, min(1 << 20, limit - total))):
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
