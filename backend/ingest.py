"""The spool: probe result files taken in exactly once.

What to process always comes from a listing of the spool (watchfiles only rings the
bell). Drop files (Nagios checkresults with their `.ok` marker, plugin `.out`/`.rc`
pairs, health+json documents) are parsed, committed with an `ingested_files` row
unique on (content hash, name, size, mtime), then moved to `done/`; a crash between
the commit and the move leaves a file whose version is already known, so the next
scan only moves it. State files are read in place: `*.prom` gives one result per file
version, `*.jsonl` is read from a cursor (device, inode, offset) committed with its
rows. Bad input goes to `quarantine/` with a `NAME.reason`; nothing else stops.

Files are read and moved as `spool_files` does it, so that a hostile writer in the
spool cannot make the worker read, copy or overwrite anything outside it. A full disk
leaves every file where it is (taken ones are moved at a later scan) and raises the
spool's banner.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat as stat_mode
import time
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from . import claims, clocks, counters
from . import probes as probe_formats
from .errors import InvalidInput
from .i18n import _
from .models import FileCursor, IngestedFile
from .probe_health import Incoming, apply
from .probes import FormatError, ParsedResult
from .sanitize import clean
from .spool_files import DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES
from .spool_files import DONE, QUARANTINE, NoSpace, Refused, SpoolDir, SpoolFile, TooBig
from .spool_files import SpoolSettings as SpoolSettings
from .spool_report import ScanReport, record_status
from .store import Store, UnitOfWork, worker_actor

log = logging.getLogger("opsdeck.ingest")
EXCERPT_CHARS = 160  # the most of a refused file's text a log line or .reason quotes
# A state file over the size limit is not read, so it has no content hash: its version
# (name, size, mtime) is recorded with this in the hash's place.
OVER_LIMIT = "over-the-size-limit"
BINARY = "binary: NUL bytes or over 10 % undecodable bytes"


@dataclass
class Unit:
    """One file version to take in, with the files to move when it is committed."""

    kind: str  # drop | prom | jsonl
    name: str
    files: list[SpoolFile]
    size: int = 0
    mtime_ns: int = 0
    digest: str = ""
    results: list[Incoming] = field(default_factory=list)


class Ingester:
    def __init__(
        self, store: Store, settings: SpoolSettings, *, actor: str | None = None, batch: int = 500, window: int = 10_000
    ) -> None:
        self.store = store
        self.settings = settings
        self.actor = actor or worker_actor()
        self.batch = batch  # file versions per transaction
        self.window = window  # names read from the listing at a time
        self.spool_id = claims.spool_id(settings.path)
        # name -> (size, mtime_ns) at the last scan, for the names still waiting to settle;
        # rebuilt each scan, so a long-running worker keeps none of the files long gone.
        self._sizes: dict[str, tuple[int, int]] = {}
        self._sizes_now: dict[str, tuple[int, int]] = {}
        self._handled: set[str] = set()
        self._file_time: Any = None
        # State files as last seen, so an unchanged one costs a stat, not a transaction.
        self._seen: dict[str, tuple[int, int, int]] = {}
        self._observed: dict[str, tuple[int, int, int]] = {}
        self._refused: dict[str, tuple[int, int]] = {}  # left in place, reported once per version
        self._pruned = 0  # claims the upkeep had pruned before this chunk's files were read
        self.problem: str | None = None  # what stopped files moving (a full disk), for the banner
        self._spool: SpoolDir | None = None

    @property
    def spool(self) -> SpoolDir:
        assert self._spool is not None, "only during a scan"
        return self._spool

    # -- the scan -----------------------------------------------------------------------

    def scan(self) -> ScanReport:
        settings = self.settings
        try:
            opened = SpoolDir(settings.path, settings.group, settings.mode)
        except OSError as error:  # a file by that name, a folder it may not make or enter
            why = _("it is not a folder") if os.path.lexists(settings.path) and not settings.path.is_dir() else None
            raise InvalidInput(
                "bad_spool",
                _("the spool {path} cannot be opened as a folder: {error}").format(
                    path=clean(str(settings.path)), error=why or error.strerror or error
                ),
                _("give --spool (or spool in the config) a folder opsdeck may create, enter and write"),
                path=str(settings.path),
            ) from error
        with opened as spool:
            self._spool = spool
            try:
                return self._scan()
            finally:
                self._spool = None

    def _scan(self) -> ScanReport:
        """Plan and commit `batch` file versions at a time, reading the listing as a stream
        of windows of names, so a storm of any size holds one window of names and one
        chunk of files in memory. Each window is taken in name order; a partner listed in
        another window is found in the directory itself."""
        report = ScanReport()
        self.problem = None
        self._sizes_now = {}
        with self.store.read() as session:  # before any file of the first chunk is read
            self._pruned = counters.read(session, counters.CLAIMS_PRUNED).get("", 0)
        units: list[Unit] = []
        jsonl: list[str] = []
        newest: int | None = None
        for window in self.spool.listing(_candidate, self.window):
            self._handled = set()  # partners taken with their main file in this window
            listed = _Listed(window, self.spool)
            for name in sorted(window):
                if name in self._handled:
                    self._handled.discard(name)  # met once: the window's partners are not all held at once
                    continue
                unit = self._plan_listed(listed, name, report)
                if unit == "jsonl":
                    jsonl.append(name)
                elif isinstance(unit, Unit):
                    units.append(unit)
                    newest = unit.mtime_ns if newest is None else max(newest, unit.mtime_ns)
                    if len(units) >= self.batch:
                        self._commit_chunk(units, report)
                        units = []
            if units:  # moved before the next window: a partner listed there is gone, not an orphan
                self._commit_chunk(units, report)
                units = []
        self._handled = set()
        for name in jsonl:
            jsonl_report, at_end = self._commit_jsonl(name)
            report.add(jsonl_report)
            if at_end:
                self._mark_seen([name])
        self._status(report, newest)
        self._sizes, self._sizes_now = self._sizes_now, {}
        return report

    def _commit_chunk(self, units: list[Unit], report: ScanReport) -> None:
        report.add(self._commit(units))
        self._mark_seen(u.name for u in units if u.kind == "prom")

    def _plan_listed(self, names: Container[str], name: str, report: ScanReport) -> Unit | str | None:
        """`_plan` for one listed name, its own status taken now (a link's, not its target's)."""
        try:
            stat = self.spool.lstat(name)
        except FileNotFoundError:  # taken or removed since the listing
            return None
        try:
            return self._plan(names, name, stat, report)
        except FileNotFoundError:  # another ingester took it between listing and reading
            return None
        except Refused as error:  # swapped for a link since the listing, or a hard link
            self._refuse(name, stat, error, report)
        except NoSpace as error:
            self._no_space(name, error)
        except OSError as error:
            self._leave(name, stat, f"unreadable: {error.strerror}", report)
        return None

    def _mark_seen(self, names: Iterator[str] | list[str]) -> None:
        """A state file's version counts as seen only after what it gave is committed (or
        it was quarantined): a failed commit is retried at the next scan."""
        for name in names:
            if name in self._observed:
                self._seen[name] = self._observed.pop(name)

    def _plan(self, entries: Container[str], name: str, stat: os.stat_result, report: ScanReport) -> Unit | str | None:
        if stat_mode.S_ISLNK(stat.st_mode):
            raise Refused("a symbolic link: not followed", unlink=True)
        if not stat_mode.S_ISREG(stat.st_mode):
            return None
        if self._refused.get(name) == (stat.st_ino, stat.st_mtime_ns):
            return None  # reported already; waits for its writer to fix it
        if name.endswith((".prom", ".jsonl")):
            version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if self._seen.get(name) == version:
                return None
            self._observed[name] = version  # remembered as seen once it is committed
        kind = probe_formats.detect(name, self.spool.head(name))
        if kind is None and probe_formats.is_nagios_name(name) and name + ".ok" in entries:
            kind = "nagios"  # a checkresult with its marker, whatever it holds: read (and refused) once
        if kind in (None, "nagios_ok", "plugin_rc"):
            self._orphan(entries, name, stat, kind, report)
            return None
        if kind == "jsonl":
            return "jsonl"
        if kind == "nagios":
            if name + ".ok" not in entries:
                report.waiting += 1
                return None
            return self._drop(kind, [name, name + ".ok"], report)
        if kind == "plugin_out":
            rc = name[: -len(".out")] + ".rc"
            if rc in entries:
                return self._drop(kind, [name, rc], report)
            if not self._settled(name, stat):
                report.waiting += 1
                return None
            return self._drop(kind, [name], report)
        if kind == "prometheus":
            return self._drop(kind, [name], report, state_file=True)
        return self._drop(kind, [name], report)  # health

    def _orphan(
        self, entries: Container[str], name: str, stat: os.stat_result, kind: str | None, report: ScanReport
    ) -> None:
        """A marker or exit code whose partner is not here. If the partner is in `done/`,
        a crash fell between moving the two files of a taken pair: finish the move. If it
        never came, quarantine it once it has settled; unknown files are left alone."""
        partner = {"nagios_ok": name[:-3], "plugin_rc": name[:-3] + ".out"}.get(kind or "")
        if partner and partner not in entries:
            taken = self._taken_with(partner, name)
            if taken is not None:
                self._handled.add(name)
                self._move_done([taken])
                return
        if kind == "nagios_ok" and name[:-3] not in entries and self._settled(name, stat):
            self._quarantine_files([name], "an .ok marker without its checkresult file", report)
        if kind == "plugin_rc" and name[:-3] + ".out" not in entries and self._settled(name, stat):
            self._quarantine_files([name], "an exit code (.rc) without its output (.out)", report)

    def _settled(self, name: str, stat: os.stat_result) -> bool:
        seen = (stat.st_size, stat.st_mtime_ns)
        previous = self._sizes.get(name)
        self._sizes_now[name] = seen
        old_enough = time.time() - stat.st_mtime >= self.settings.settle_s
        return old_enough and (previous is None or previous == seen)

    def _drop(self, kind: str, names: list[str], report: ScanReport, *, state_file: bool = False) -> Unit | None:
        self._handled.update(names[1:])  # the partners: the main name is past in the listing
        limit = self.settings.max_bytes
        try:
            files = [self.spool.read(name, limit) for name in names]
        except TooBig as error:
            self._bad(
                names[0], OVER_LIMIT, error.info, state_file, partial(self._quarantine_big, names[0], error, report)
            )
            return None
        main, raw, stat = files[0], files[0].data, files[0].stat
        extra = [f.data for f in files[1:]]
        digest = hashlib.sha256(raw + b"\0" + b"\0".join(extra)).hexdigest()
        if probe_formats.is_binary(raw, self.settings.encoding):
            self._bad(main.name, digest, stat, state_file, partial(self._refuse_content, files, BINARY, report))
            return None
        text, replaced = probe_formats.decode(raw, self.settings.encoding)
        try:
            parsed = self._parse(kind, main.name, text, extra)
        except FormatError as error:
            if kind == "health" and time.time() - stat.st_mtime < self.settings.settle_s:
                report.waiting += 1  # perhaps still being written
                return None
            self._bad(main.name, digest, stat, state_file, partial(self._refuse_content, files, str(error), report))
            return None
        flags = ("decode_replaced",) if replaced else ()
        unit = Unit(
            "prom" if state_file else "drop",
            main.name,
            [] if state_file else files,
            stat.st_size,
            stat.st_mtime_ns,
            digest,
        )
        age_at = self._file_time if kind == "nagios" else None
        unit.results = [self._incoming(r, main.name, flags, age_at) for r in parsed]
        return unit

    def _taken_with(self, main: str, name: str) -> SpoolFile | None:
        """Was `main` (in done/) taken together with this very file `name`? Exactly: the
        pair's version (both files' bytes, the main file's size and mtime) is recorded.
        Returns `name` as read, to move after its partner."""
        limit = self.settings.max_bytes
        try:
            done = self.spool.read(main, limit, DONE)
            file = self.spool.read(name, limit)
        except (OSError, Refused):
            return None
        digest = hashlib.sha256(done.data + b"\0" + file.data).hexdigest()
        return file if self._recorded(main, digest, done.stat) else None

    def _recorded(self, name: str, digest: str, stat: os.stat_result) -> bool:
        with self.store.read() as session:
            return (
                session.execute(
                    select(col(IngestedFile.id)).where(
                        col(IngestedFile.content_hash) == digest,
                        col(IngestedFile.name) == name,
                        col(IngestedFile.size) == stat.st_size,
                        col(IngestedFile.mtime_ns) == stat.st_mtime_ns,
                    )
                ).first()
                is not None
            )

    def _bad(
        self, name: str, digest: str, stat: os.stat_result, state_file: bool, quarantine: Callable[[bool], bool]
    ) -> None:
        """Bad input to `quarantine(state_file)` (False: the disk is full; retried later). A
        state file is read in place, never moved: each bad version of it is quarantined
        once and recorded (a restart knows it), not copied again at every scan."""
        if state_file and self._recorded(name, digest, stat):
            self._mark_seen([name])
            return
        if not quarantine(state_file) or not state_file:
            return
        self._mark_seen([name])
        with self.store.write(self.actor) as uow:
            unit = Unit("prom", name, [], stat.st_size, stat.st_mtime_ns, digest)
            self._claim_all(uow, [unit], outcome="quarantined")

    def _parse(self, kind: str, name: str, text: str, extra: list[bytes]) -> list[ParsedResult]:
        stem = name.rsplit(".", 1)[0]
        if kind == "nagios":
            file_time, results = probe_formats.parse_nagios(text)
            self._file_time = file_time  # as Nagios judges it: the file's time ages every result
            return results
        if kind == "plugin_out":
            rc = extra[0].decode("ascii", "replace") if extra else None
            return [probe_formats.parse_plugin(stem, text, rc)]
        if kind == "prometheus":
            return probe_formats.parse_prometheus(stem, text)
        return probe_formats.parse_health(stem, text)

    @staticmethod
    def _incoming(result: ParsedResult, source: str, flags: tuple[str, ...], age_at: Any = None) -> Incoming:
        key = result.result_id and f"{result.kind}:{result.probe}:{result.result_id}"
        if result.kind == "nagios" and result.at is not None:
            basis = f"{result.probe}|{result.at.isoformat()}|{result.state}|{result.output}"
            key = "nagios:" + hashlib.sha256(basis.encode()).hexdigest()[:40]
        return Incoming(
            probe=result.probe,
            state=result.state,
            output=result.output,
            at=result.at,
            source=source,
            kind=result.kind,
            perfdata=tuple(vars(p).copy() for p in result.perfdata),  # flat fields: asdict deep-copies (slow)
            result_key=key or None,
            last_success=result.last_success,
            flags=flags,
            age_at=age_at,
        )

    # -- committing -----------------------------------------------------------------------

    def _commit(self, units: list[Unit]) -> ScanReport:
        report = ScanReport()
        taken: list[Unit] = []
        with self.store.write(self.actor) as uow:
            uow.defer_events()  # nothing here reads an event back: they go in at the end, in one statement
            pruned = claims.pruned_so_far(uow)
            if pruned != self._pruned:  # the upkeep deleted claims since these files were read
                units = [u for u in units if self._still_as_read(u)]
            claimed = self._claim_all(uow, units)
            taken = [u for u in units if (u.digest, u.name, u.size, u.mtime_ns) in claimed]
            report.duplicates += len(units) - len(taken)
            applied = apply(uow, [r for u in taken for r in u.results], self._policy(uow))
        self._pruned = pruned  # the next chunk's files are read after this
        report.ingested, report.results, report.stale = len(taken), applied.results, applied.stale
        report.duplicates += applied.duplicates
        report.opened = applied.opened
        for unit in units:  # taken now, or in an earlier run that died before moving them
            self._move_done(unit.files)
        return report

    def _still_as_read(self, unit: Unit) -> bool:
        """Is the unit's file still the version read? Asked, with the write lock held, only
        when the upkeep pruned claims since the read: a version it saw gone from the spool
        (rewritten meanwhile, or moved and its copy in done/ deleted) lost its claim, and
        claiming it again would take it in twice. A file still there kept its claim."""
        try:
            found = self.spool.lstat(unit.name)
        except FileNotFoundError:
            return False
        return (found.st_size, found.st_mtime_ns) == (unit.size, unit.mtime_ns)

    def _claim_all(
        self, uow: UnitOfWork, units: list[Unit], outcome: str = "ingested"
    ) -> set[tuple[str, str, int, int]]:
        """Record these file versions as taken, in one statement; return the versions this
        transaction took (the others were taken before, by us or another ingester)."""
        spool, now = self.spool_id[:160], uow.now
        rows = [(spool, u.name, u.size, u.mtime_ns, u.digest, now, len(u.results), outcome) for u in units]
        return claims.claim(uow, rows, outcome)

    def _commit_jsonl(self, name: str) -> tuple[ScanReport, bool]:
        """Read from the committed cursor inside the transaction, so two ingesters at
        once never read the same lines. Also says whether the file was read to its end
        (a half-written last line included: it changes the file when completed)."""
        report = ScanReport()
        try:
            fd, stat = self.spool.open(name)
        except FileNotFoundError:
            return report, True
        except Refused as error:  # swapped for a link since the listing
            self._refuse(name, self.spool.lstat(name), error, report)
            return report, True
        try:
            return self._commit_jsonl_from(name, fd, stat, report)
        finally:
            os.close(fd)

    def _commit_jsonl_from(
        self, name: str, fd: int, stat: os.stat_result, report: ScanReport
    ) -> tuple[ScanReport, bool]:
        with self.store.write(self.actor) as uow:
            uow.defer_events()  # as `_commit`
            key = f"{self.spool_id}/{name}"[:400]
            cursor = uow.session.get(FileCursor, key, with_for_update=uow.dialect == "postgresql")
            offset = cursor.offset if cursor else 0
            if cursor and ((cursor.device, cursor.inode) != (stat.st_dev, stat.st_ino) or stat.st_size < offset):
                offset = 0  # rotated or truncated: start again
            if stat.st_size == offset:
                return report, True
            chunk = os.pread(fd, max(0, min(stat.st_size - offset, 16 * self.settings.max_bytes)), offset)
            at_end = offset + len(chunk) >= stat.st_size
            complete = chunk[: chunk.rfind(b"\n") + 1]  # a half-written last line waits
            if not complete:
                return report, at_end
            incoming = list(self._jsonl_lines(name, complete, offset, report))
            applied = apply(uow, incoming, self._policy(uow))
            new_offset = offset + len(complete)
            if cursor is None:
                uow.session.add(
                    FileCursor(key=key, device=stat.st_dev, inode=stat.st_ino, offset=new_offset, updated_at=uow.now)
                )
            else:
                cursor.device, cursor.inode, cursor.offset, cursor.updated_at = (
                    stat.st_dev,
                    stat.st_ino,
                    new_offset,
                    uow.now,
                )
        report.ingested, report.results, report.stale = 1, applied.results, applied.stale
        report.duplicates += applied.duplicates
        report.opened = applied.opened
        return report, at_end

    def _jsonl_lines(self, name: str, data: bytes, offset: int, report: ScanReport) -> Iterator[Incoming]:
        stem = name.rsplit(".", 1)[0]
        line_no = 0
        for raw_line in data.split(b"\n")[:-1]:
            line_no += 1
            at_byte = offset
            offset += len(raw_line) + 1
            if not raw_line.strip():
                continue
            text, replaced = probe_formats.decode(raw_line, self.settings.encoding)
            try:
                result = probe_formats.parse_jsonl_line(stem, text, line_no)
            except FormatError as error:
                self._quarantine_line(name, at_byte, raw_line, str(error), report)
                continue
            yield self._incoming(result, name, ("decode_replaced",) if replaced else ())

    def _policy(self, uow: UnitOfWork) -> Any:
        return clocks.load_policy(uow.session).probes

    # -- moving files -------------------------------------------------------------------------

    def _move_done(self, files: list[SpoolFile]) -> None:
        for file in files:
            try:
                self.spool.move(file, DONE)
            except FileNotFoundError:  # another ingester moved it
                continue
            except NoSpace as error:  # taken, and on record: moved at a later scan
                self._no_space(file.name, error)
                return

    def _no_space(self, name: str, error: OSError) -> None:
        self.problem = f"out of space writing {name} ({error.strerror}): files wait in the spool"
        log.warning("spool %s: %s", self.settings.path, self.problem)

    def _refuse(self, name: str, stat: os.stat_result, error: Refused, report: ScanReport) -> None:
        """A link or a non-file: never read, never copied; a link is removed (only the
        link), its .reason says why."""
        self._handled.add(name)
        if not self._write_quarantine(name, error.reason, report):
            return
        if error.unlink:
            self.spool.unlink_if_same(name, stat)
        else:
            self._refused[name] = (stat.st_ino, stat.st_mtime_ns)

    def _leave(self, name: str, stat: os.stat_result, reason: str, report: ScanReport) -> None:
        """A file we may not read stays where it is; said once per version."""
        self._handled.add(name)
        if self._write_quarantine(name, f"{reason} (left in the spool: fix its permissions)", report):
            self._refused[name] = (stat.st_ino, stat.st_mtime_ns)

    def _refuse_content(self, files: list[SpoolFile], reason: str, report: ScanReport, state_file: bool) -> bool:
        """Bad content: a drop file (and its partner) moves to quarantine/; a bad state file
        is copied (its writer owns it and rewrites it). False if the disk is full."""
        main = files[0]
        if not self._write_quarantine(main.name, reason, report, data=main.data, info=main.stat):
            return False
        if state_file:
            return True
        self.spool.unlink_if_same(main.name, main.stat)
        for partner in files[1:]:
            try:
                self.spool.quarantine(partner.name, None, data=partner.data, info=partner.stat)
            except NoSpace as error:
                self._no_space(partner.name, error)
                return False
            self.spool.unlink_if_same(partner.name, partner.stat)
        return True

    def _quarantine_big(self, name: str, error: TooBig, report: ScanReport, state_file: bool) -> bool:
        """The whole file in quarantine/ (a drop file moved, a state file copied); False if
        the disk is full or the file is gone."""
        try:
            self.spool.quarantine_whole(name, error.info, error.reason + "\n", remove=not state_file)
        except NoSpace as full:
            self._no_space(name, full)
            return False
        except FileNotFoundError:
            return False
        report.quarantined += 1
        log.warning("quarantined %s: %s", _excerpt(name), error.reason)
        return True

    def _quarantine_files(self, names: list[str], reason: str, report: ScanReport) -> None:
        try:
            files = [self.spool.read(name, self.settings.max_bytes) for name in names]
        except FileNotFoundError:
            return
        self._refuse_content(files, reason, report, state_file=False)

    def _write_quarantine(
        self, name: str, reason: str, report: ScanReport, *, data: bytes | None = None, info: Any = None
    ) -> bool:
        """`name` (with `data`) and its .reason in quarantine/; False if the disk is full.
        The reason quotes at most a short, sanitized excerpt of what the file held."""
        reason = _excerpt(reason)
        try:
            self.spool.quarantine(name, reason + "\n", data=data, info=info)
        except NoSpace as error:
            self._no_space(name, error)
            return False
        report.quarantined += 1
        log.warning("quarantined %s: %s", _excerpt(name), reason)
        return True

    def _quarantine_line(self, name: str, offset: int, line: bytes, reason: str, report: ScanReport) -> None:
        self._write_quarantine(f"{name}.at{offset}", f"{name} at byte {offset}: {reason}", report, data=line)

    def _status(self, report: ScanReport, newest_ns: int | None) -> None:
        # One .reason per bad input (a pair's partner file has none).
        quarantined = sum(1 for n in os.listdir(self.spool.dirs[QUARANTINE]) if n.endswith(".reason"))
        newest = datetime.fromtimestamp(newest_ns / 1e9, UTC) if newest_ns is not None and report.ingested else None
        with self.store.write(self.actor) as uow:
            record_status(uow, self.spool_id[:160], self.settings.path, quarantined, newest, self.problem)


class _Listed:
    """A window of the listing as `_plan` asks it: is this name in the spool? Answered
    from the window's names, else from the directory (a partner in another window)."""

    def __init__(self, names: set[str], spool: SpoolDir) -> None:
        self.names = names
        self.spool = spool

    def __contains__(self, name: object) -> bool:
        return name in self.names or (isinstance(name, str) and self.spool.exists(name))


def _candidate(name: str) -> bool:
    return not (name.startswith(".") or name.endswith((".tmp", ".reason")) or name in (DONE, QUARANTINE))


def _excerpt(text: str) -> str:
    """What a log line or a .reason may quote of untrusted text: one line, no controls, short."""
    shown = clean(text)
    return shown if len(shown) <= EXCERPT_CHARS else shown[: EXCERPT_CHARS - 1] + "…"
