"""`opsdeck metrics [--textfile DIR]`: opsdeck's state in Prometheus exposition format.

Without `--textfile` it prints the metrics; with it, it writes `DIR/opsdeck.prom` for
node_exporter's textfile collector, atomically (a temporary file renamed over it), so
node_exporter never reads half a file. The metrics: backend/metrics.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import generate_latest, start_http_server, write_to_textfile

from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import N_, _
from opsdeck.backend.metrics import registry_for
from opsdeck.cli.registry import arg, command

if TYPE_CHECKING:
    from opsdeck.cli.context import Context

TEXTFILE = "opsdeck.prom"


@command(
    "metrics",
    json=False,
    args=(
        arg(
            "--textfile",
            metavar="DIR",
            help=N_("write DIR/opsdeck.prom atomically for node_exporter's textfile collector"),
        ),
    ),
)
def metrics(ctx: Context) -> int:
    registry = registry_for(ctx.store)
    folder = ctx.args.textfile
    if folder is None:
        print(generate_latest(registry).decode("utf-8"), end="")
        return 0
    try:
        is_dir = Path(folder).is_dir()
    except (OSError, ValueError):  # a NUL byte, too long a name
        is_dir = False
    if not is_dir:
        raise InvalidInput(
            "no_folder",
            _("{folder} is not a folder").format(folder=folder),
            _("give node_exporter's --collector.textfile.directory"),
        )
    try:
        write_to_textfile(str(Path(folder) / TEXTFILE), registry)
    except OSError as error:
        raise InvalidInput(
            "cannot_write",
            _("cannot write {path}: {error}").format(path=Path(folder) / TEXTFILE, error=error.strerror),
            _("give a folder you can write"),
        ) from None
    return 0


def serve(store: Any, listen: str) -> None:
    """`worker --metrics-listen HOST:PORT`: the same metrics at http://HOST:PORT/metrics,
    read from the store at each scrape (a daemon thread: it ends with the worker)."""

    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(
            "bad_listen",
            _("{listen!r} is not HOST:PORT").format(listen=listen),
            _("give an address like 127.0.0.1:9182"),
        )
    try:
        start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1", registry=registry_for(store))
    except (OSError, ValueError, OverflowError) as error:
        raise InvalidInput(
            "cannot_listen",
            _("cannot listen on {listen}: {error}").format(
                listen=listen, error=getattr(error, "strerror", None) or error
            ),
            _("give a free port, or stop what uses it"),
        ) from None
