"""The worker and its one-shot duties: `worker`, `escalate`, `ingest`."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
from typing import Any

from opsdeck.backend import escalation, schedule_notice, warning_escalation
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import N_, _
from opsdeck.backend.ingest import Ingester
from opsdeck.backend.maintenance import Retention
from opsdeck.backend.store import worker_actor
from opsdeck.backend.timeutil import parse_duration
from opsdeck.cli.context import Context
from opsdeck.cli.output import emit_json
from opsdeck.cli.receive import receive_settings
from opsdeck.cli.registry import SYSTEM, arg, command
from opsdeck.cli.spool import spool_settings


@command(
    "escalate",
    writes=SYSTEM,
    args=(arg("--once", action="store_true", help=N_("one sweep, then exit (the default)")),),
)
def escalate(ctx: Context) -> int:
    done = escalation.sweep(ctx.store, worker_actor())
    warned = warning_escalation.sweep(ctx.store, worker_actor())  # a warning's own clocks
    gaps = schedule_notice.sweep(ctx.store, worker_actor())  # the duty schedule's gaps ahead, told once
    if ctx.args.json:
        told = [{"coverage_gap": gap["duty"], **gap} for gap in gaps]  # told once, as escalations are
        emit_json([item.to_json() for item in done] + [item.to_json() for item in warned] + told)
    else:
        for w in warned:
            print(
                _("W{id} {clock}: escalated to {targets}").format(
                    id=w.warning_id, clock=w.clock, targets=", ".join(t["to"] for t in w.targets) or _("nobody")
                )
            )
        for gap in gaps:
            print(
                _("coverage gap on {duty} from {start}: told {to}").format(
                    duty=gap["duty"], start=gap["from"], to=", ".join(gap["to"]) or _("nobody")
                )
            )
        for item in done:
            targets = ", ".join(t["to"] for t in item.targets)
            print(
                _("#{id} {rule}: escalated to {targets}").format(id=item.incident_id, rule=item.rule, targets=targets)
                + (_("; level raised to {level}").format(level=item.regraded_to) if item.regraded_to else "")
            )
        if not done and not warned and not gaps:
            print(_("nothing to escalate"))
    return 0


@command(
    "worker",
    writes=SYSTEM,
    json=False,
    logs=True,
    args=(
        arg("--interval", type=float, default=1.0, metavar="S", help=N_("seconds between sweeps (default 1)")),
        arg(
            "--duties",
            default="escalate,ingest,probes,http,notify,maintain",
            metavar="LIST",
            help=N_("comma-separated duties (default: all of escalate,ingest,probes,http,notify,maintain)"),
        ),
        arg("--spool", metavar="DIR", help=N_("the spool probes write into (default: config spool)")),
        arg(
            "--metrics-listen",
            metavar="HOST:PORT",
            help=N_("serve Prometheus metrics at http://HOST:PORT/metrics (default: not served)"),
        ),
    ),
)
def worker(ctx: Context) -> int:
    # the worker loads httpx and watchfiles; escalate and ingest never do
    from opsdeck.backend.worker import standard_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    if os.geteuid() == 0:
        logging.getLogger("opsdeck.worker").warning(
            "running as root: run the worker as a service user in the spool's group (docs/probes.md#probes-and-the-spool)"
        )
    duties = tuple(d.strip() for d in ctx.args.duties.split(",") if d.strip())
    if not (0 < ctx.args.interval <= 3600):  # also refuses nan and inf
        raise InvalidInput(
            "bad_interval",
            _("--interval must be between 0 and 3600 seconds, not {value}").format(value=ctx.args.interval),
            _("give seconds, like 1 or 0.5"),
        )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_unused: stop.set())
    spool = spool_settings(ctx) if "ingest" in duties else None
    if ctx.args.metrics_listen:
        # prometheus_client only for a worker that serves it
        from opsdeck.cli import metrics

        metrics.serve(ctx.store, ctx.args.metrics_listen)
    running = standard_worker(
        ctx.store,
        duties=duties,
        interval=ctx.args.interval,
        spool=spool,
        stop=stop,
        sender=_sender(ctx),
        retention=_retention(ctx),
        receive=_receive(ctx),
    )
    # What is alive now (the modules, the models, SQLAlchemy's tables and compiled
    # statements) lives as long as the process: out of the collector's reach, a full
    # collection in a probe storm walks only what the storm made, ~1 ms, not ~90 ms
    # (bench ingest.storm_rate). A frozen object is still freed when its last reference
    # goes; only a cycle among them would stay, and these live until the worker exits.
    gc.freeze()
    running.run()
    return 0


def _receive(ctx: Context) -> Any:
    """The worker's receiver, when `[receive] listen` is set (`opsdeck receive` otherwise)."""
    return receive_settings(ctx, None) if ctx.config.receive_listen else None


def _retention(ctx: Context) -> Any:
    return Retention(done=parse_duration(ctx.config.keep_done), results=parse_duration(ctx.config.keep_results))


def _sender(ctx: Context) -> Any:
    # the sender loads httpx; only `notify send` needs it
    from opsdeck.backend.notify import SenderSettings

    return SenderSettings(dead_after=parse_duration(ctx.config.notify_dead_after))


@command(
    "ingest",
    writes=SYSTEM,
    example=("--once",),
    logs=True,
    args=(
        arg("--spool", metavar="DIR", help=N_("the spool (default: config spool)")),
        arg("--once", action="store_true", help=N_("one scan, print the counts, exit")),
        arg("--encoding", metavar="E", help=N_("text encoding of probe files (default: config spool_encoding)")),
    ),
)
def ingest(ctx: Context) -> int:
    if not ctx.args.once:
        ctx.args.duties, ctx.args.interval, ctx.args.metrics_listen = "ingest", 1.0, None
        return worker(ctx)
    report = Ingester(ctx.store, spool_settings(ctx)).scan()
    if ctx.args.json:
        emit_json(report.to_json())
    else:
        print(
            _(
                "{ingested} ingested ({results} results), {duplicates} duplicates, "
                "{quarantined} quarantined, {stale} stale, {waiting} waiting"
            ).format(
                ingested=report.ingested,
                results=report.results,
                duplicates=report.duplicates,
                quarantined=report.quarantined,
                stale=report.stale,
                waiting=report.waiting,
            )
        )
    return 0
