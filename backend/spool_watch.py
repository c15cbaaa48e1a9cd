"""Watching the spool: watchfiles is a doorbell, not a ledger.

Every event, the start, a periodic timer and any watcher error trigger a scan of the
listing. The inotify backend goes silent when the watched directory is deleted and
recreated, and drops events on overflow: the timer catches both, and a changed
directory identity restarts the watcher.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

from .errors import OpsdeckError
from .ingest import Ingester
from .spool_files import DONE, QUARANTINE, make_spool
from .spool_report import ScanReport

log = logging.getLogger("opsdeck.ingest")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_dev, stat.st_ino)


class SpoolFilter(watchfiles.DefaultFilter):
    """Only the spool's own files: not done/, quarantine/, dotfiles or *.tmp."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = str(root)

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        parent, name = os.path.split(path)
        if parent != self.root or name in (DONE, QUARANTINE):
            return False
        return not (name.startswith(".") or name.endswith((".tmp", ".reason")))


def watch(
    ingester: Ingester,
    stop: threading.Event,
    *,
    rescan_s: float = 2.0,
    debounce_ms: int = 30,
    on_report: Callable[[ScanReport], None] | None = None,
) -> None:
    """Scan on every doorbell until `stop` is set."""
    root = ingester.settings.path

    def scan() -> None:
        try:
            report = ingester.scan()
        except OpsdeckError as error:  # store busy or unreachable: the next ring retries
            log.warning("scan: %s", error)
            return
        except OSError as error:  # the spool moved or vanished mid-scan: the next ring rescans
            log.warning("scan: %s", error)
            return
        if on_report and (report.ingested or report.quarantined or report.duplicates):
            on_report(report)

    while not stop.is_set():
        try:
            make_spool(root, ingester.settings.group, ingester.settings.mode)
        except OSError as error:  # e.g. the disk is full: say so, wait, try again
            log.warning("spool %s: %s", root, error)
            stop.wait(rescan_s)
            continue
        identity = _identity(root)
        scan()
        try:
            for _changes in watchfiles.watch(
                root,
                watch_filter=SpoolFilter(root),
                debounce=debounce_ms,
                step=10,
                stop_event=stop,
                rust_timeout=int(rescan_s * 1000),
                yield_on_timeout=True,
                recursive=False,
                ignore_permission_denied=True,
                raise_interrupt=False,
            ):
                scan()
                if _identity(root) != identity:
                    log.info("spool %s was replaced: watching the new one", root)
                    break
        except (OSError, RuntimeError) as error:  # the watcher itself failed: scan, wait, rewatch
            log.warning("watcher: %s", error)
            scan()
            stop.wait(1.0)
