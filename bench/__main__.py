"""`python -m bench [--quick] [--only TEXT]`: run the figures, print the table, write JSON."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import (
    board,
    board_live,
    board_pty,
    board_quit,
    burst,
    cli,
    deadlines,
    escalation,
    ingest,
    pg_roles,
    receive,
    schedule,
    stats,
    store,
)
from .figure import Figure
from .harness import FULL, QUICK, Progress, Run, scratch_dir
from .report import format_value, print_table, write_json

# None: the figure is not measured at this run's sizes (a 100k figure in a --quick run).
FigureFn = Callable[[Run], Figure | None]

# In table order. Figures of one area share setup through `run.once`, so keep them together.
FIGURES: tuple[FigureFn, ...] = (
    store.open_rate,
    store.ack_rate,
    burst.open_burst_rate,
    pg_roles.open_rate,
    cli.start_time,
    cli.help_time,
    cli.list_time,
    cli.list_rss,
    deadlines.state_per_incident,
    deadlines.derive_per_incident,
    escalation.sweep_rate,
    stats.by_month,
    stats.by_month_pg,
    schedule.on_duty_per_moment,
    ingest.storm_rate,
    ingest.storm_memory,
    ingest.latency_p50,
    ingest.latency_p99,
    receive.alerts_rate,
    receive.latency_p50,
    receive.latency_p99,
    board.first_frame_10k,
    board.first_frame_100k,
    board_pty.tick_cpu,
    board_pty.tick_bytes,
    board_pty.tick_rss,
    board_pty.start_to_first_row,
    board_pty.start_to_first_row_100k,
    board_quit.quit_time,
    board_live.change_p50,
    board_live.change_p99,
    board_live.change_pg_p50,
    board_live.change_pg_p99,
    board_live.probe_p50,
    board_live.probe_p99,
)


def figure_id(fn: FigureFn) -> str:
    return f"{fn.__module__.rpartition('.')[2]}.{fn.__name__}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes: about a minute")
    parser.add_argument(
        "--only",
        metavar="TEXT",
        action="append",
        help=f"run figures whose id contains TEXT (repeatable); ids: {', '.join(map(figure_id, FIGURES))}",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = [fn for fn in FIGURES if not args.only or any(text in figure_id(fn) for text in args.only)]
    if not chosen:
        print(f"bench: no figure matches {args.only}", file=sys.stderr)
        return 2
    sizes = QUICK if args.quick else FULL
    started = datetime.now(UTC)
    progress = Progress(len(chosen))
    figures: list[Figure] = []
    with scratch_dir() as folder:
        run = Run(quick=args.quick, sizes=sizes, workdir=Path(folder), progress=progress)
        for fn in chosen:
            progress.start_figure(figure_id(fn))
            began = time.perf_counter()
            figure = fn(run)
            if figure is None:
                progress.end_figure("not at these sizes", time.perf_counter() - began)
                continue
            progress.end_figure(format_value(figure.value, figure.unit), time.perf_counter() - began)
            figures.append(figure)
    print_table(figures)
    path = write_json(figures, started=started, quick=args.quick, sizes=sizes)
    print(f"\nwritten to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
