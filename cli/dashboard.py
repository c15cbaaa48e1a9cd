"""The full-screen board: `opsdeck` with no command word, and `opsdeck --demo`.

What the board imports before its first row is Textual, SQLAlchemy Core and the board's
own modules (issue #26, bench board_pty.start_to_first_row): it reads its first page on
Core (backend/board_page.py). The ORM, the models, the service and the worker's module
load on the event loop once that page is drawn (tui/deferred.py); the embedded worker
starts after them.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsdeck.backend.errors import OpsdeckError
from opsdeck.backend.spool_files import SpoolSettings
from opsdeck.cli import collector
from opsdeck.cli.context import Context
from opsdeck.cli.logfile import log_to_file
from opsdeck.cli.spool import spool_settings

if TYPE_CHECKING:
    from opsdeck.tui.context import BoardContext

WORKER_THREAD = "opsdeck-worker"
LEASE_RETRY_S = 5.0  # an embedded worker asks for the lease again this often while the store is unreadable
log = logging.getLogger("opsdeck.worker")


def dashboard(ctx: Context, *, demo: bool) -> int:
    """The full-screen board; `--demo` on a fresh store with a living spool."""
    # Textual only for a command that draws
    from opsdeck.screens.board_load import read_ahead
    from opsdeck.tui.app import Background, build_app

    background: list[Any] = []
    spool = spool_settings(ctx)  # checked before the screen is taken
    if not demo:
        reader: Any = ctx.reader
    else:  # a store of its own: the user's is never opened
        # the demo's store, pager and probe writer: loaded only for --demo
        from opsdeck.backend.demo import DEMO_LEAD, open_demo_store, temporary_store_url
        from opsdeck.backend.demo_pager import DemoPager
        from opsdeck.backend.demo_probes import DemoProbes
        from opsdeck.backend.service import Service

        url = temporary_store_url()
        folder = Path(url.removeprefix("sqlite:///")).parent
        ctx.scratch.append(folder)  # nothing of the demo outlives it
        reader = ctx._store = open_demo_store(url)
        spool = SpoolSettings(folder / "spool")
        ctx.login = ctx.real_login = DEMO_LEAD  # the demo's group lead: a store of its own, never the user's
        pager = DemoPager()  # the demo's notifications are delivered here, on 127.0.0.1
        Service(reader, DEMO_LEAD).apply_channels(pager.channels_file(folder))
        background.append(Background("opsdeck-demo-pager", pager.run))
        background.append(Background("opsdeck-demo-probes", DemoProbes(spool.path).run))
    # the keymap and the theme are refused here, before any thread starts
    app = build_app(ctx.config, reader, ctx.login, demo=demo, by=ctx.by, read_only=ctx.read_only, background=background)
    if not app.context.read_only:  # a roster operator's board: it escalates if no worker does
        app.context.background.append(Background(WORKER_THREAD, embedded_worker(app.context, spool), escalates=True))
    app.context.read_ahead = read_ahead(app.context, shutil.get_terminal_size().lines)  # while Textual starts
    log_to_file()
    collector.release()  # the board's modules are in and its store open (cli/collector.py)
    app.run()  # which starts the background once its first page is drawn (tui/app.py)
    return 0


def embedded_worker(context: BoardContext, spool: SpoolSettings) -> Callable[[threading.Event], None]:
    """The worker a writer's board runs when no other worker holds the escalation lease:
    asked when the board's threads start (after its first page), so its imports (the
    ORM, httpx, the senders) and its first sweep never hold the first row back. When
    another worker holds the lease, the thread ends at once and the board runs none; a
    store that cannot be read is asked again every LEASE_RETRY_S, as the worker's own
    ticks ride out an outage."""

    def run(stop: threading.Event) -> None:
        from opsdeck.backend.leases import make_lease
        from opsdeck.backend.worker import DUTIES, standard_worker

        store = context.store
        lease = make_lease(store, "escalate")
        while not stop.is_set():
            try:
                if not lease.try_acquire():  # someone else escalates: this board brings no worker
                    return
                lease.release()
                break
            except OpsdeckError as error:  # the store is busy or unreachable: ask again
                log.warning("embedded worker: %s (asking for the lease again in %g s)", error, LEASE_RETRY_S)
                stop.wait(LEASE_RETRY_S)
        else:
            return  # the board quit first
        standard_worker(store, duties=DUTIES, spool=spool, stop=stop).run()

    return run
