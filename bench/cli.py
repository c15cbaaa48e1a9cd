"""The command line as scripts see it: the real `opsdeck` in a subprocess, timed from
outside, against plain Python doing the least the same job needs."""

from __future__ import annotations

import json
import sys
import textwrap
from collections import defaultdict
from dataclasses import dataclass

from opsdeck.backend.schema import open_store

from .figure import Figure
from .fill import fill_store
from .harness import Run, Sample, best, cli_env, median_seconds, run_command, thousands, venv_script

LIST_ARGS = ("incident", "list", "--status", "all", "--json")
# The same listing filtered to no rows (the reported_at index answers at once): its
# time is the listing's fixed cost, for the per-row figure and the quick projection.
NO_ROWS = ("--until", "1970-01-01T00:00:00Z")
LIST_TARGET_S = 5.0
LIST_TARGET_AT = 100_000
MIB = 1024  # ru_maxrss is in KiB on Linux
START_TARGET_S = 0.300  # `incident list` on an empty store (issue #26)
HELP_TARGET_S = 0.200  # `opsdeck --help`

# The baseline listing: the same rows out of the same file as a JSON array, one
# json.dumps per row, and nothing else (no ORM, no type decoding, no filters).
RAW_LIST = textwrap.dedent(
    """
    import json, sqlite3, sys
    conn = sqlite3.connect(sys.argv[1])
    conn.row_factory = sqlite3.Row
    out = sys.stdout
    out.write("[")
    first = True
    for row in conn.execute("SELECT * FROM incidents"):
        out.write("\\n  " if first else ",\\n  ")
        out.write(json.dumps(dict(row), ensure_ascii=False))
        first = False
    out.write("\\n]\\n" if not first else "]\\n")
    """
)

# Runs the CLI in-process, then reports which top-level packages got imported.
MODULES_MARK = "BENCH-MODULES "
IMPORTS_PROBE = textwrap.dedent(
    f"""
    import json, sys
    from opsdeck.cli.__main__ import main
    code = main(["--db", sys.argv[1], "incident", "list"])
    roots = sorted({{name.partition(".")[0] for name in sys.modules}})
    sys.stderr.write({MODULES_MARK!r} + json.dumps(roots) + "\\n")
    sys.exit(code)
    """
)


@dataclass(frozen=True)
class Listing:
    opsdeck: list[Sample]
    no_rows: list[Sample]
    raw: list[Sample]
    opsdeck_bytes: int
    raw_bytes: int


@dataclass(frozen=True)
class Start:
    opsdeck: list[Sample]
    help: list[Sample]
    bare_python: list[Sample]
    floor: list[Sample]  # importing what the listing reads through, and nothing else
    core: list[Sample]  # importing SQLAlchemy's Core alone
    modules: set[str]
    heaviest: list[tuple[str, float]]  # (top-level package, self import ms)


# -- incident list --json at 100k ------------------------------------------------------


def list_time(run: Run) -> Figure:
    """Wall time of `opsdeck incident list --status all --json` over a big store."""
    listing = _listing(run)
    fastest, raw = best(listing.opsdeck), best(listing.raw)
    count = run.sizes.list_incidents
    fixed = best(listing.no_rows).seconds
    per_row = (fastest.seconds - fixed) / count
    target = f"< {LIST_TARGET_S:g} s at {LIST_TARGET_AT // 1000}k"
    met: bool | None = fastest.seconds < LIST_TARGET_S
    if count != LIST_TARGET_AT:
        # Only a full run decides: a projection from 10k is a hint, and a few percent of
        # noise in either term moves it across the line.
        target += f" (not checked; projected {fixed + per_row * LIST_TARGET_AT:.1f} s)"
        met = None
    return Figure(
        name=f"incident list --json time at {thousands(count)} incidents",
        value=fastest.seconds,
        unit="s",
        baseline=raw.seconds,
        baseline_label="plain python: sqlite3 SELECT * + json.dumps per row",
        target=target,
        target_met=met,
        note=(
            f"best of {len(listing.opsdeck)} (median {median_seconds(listing.opsdeck):.2f} s); "
            f"{fixed:.2f} s fixed (same command, no rows) + {per_row * 1e6:.0f} us/row; "
            f"output {listing.opsdeck_bytes / 1e6:.1f} MB vs baseline {listing.raw_bytes / 1e6:.1f} MB"
        ),
    )


def list_rss(run: Run) -> Figure:
    """Peak memory of the same listing: it should stream, not hold the rows."""
    listing = _listing(run)
    peak = max(s.max_rss_kib for s in listing.opsdeck) / MIB
    raw = max(s.max_rss_kib for s in listing.raw) / MIB
    empty = max(s.max_rss_kib for s in _start(run).opsdeck) / MIB
    return Figure(
        name=f"incident list --json peak RSS at {thousands(run.sizes.list_incidents)} incidents",
        value=peak,
        unit="MiB",
        baseline=raw,
        baseline_label="the plain python listing above",
        note=f"the same command on an empty store peaks at {empty:.1f} MiB; the difference is what the rows cost",
    )


def _listing(run: Run) -> Listing:
    return run.once("cli.listing", lambda: _time_listing(run))


def _time_listing(run: Run) -> Listing:
    count = run.sizes.list_incidents
    path = run.path("list.db")
    fill_store(path, count, run.progress.stage(f"filling a store with {count:,} incidents", count))
    opsdeck = [str(venv_script("opsdeck")), "--db", f"sqlite:///{path}", *LIST_ARGS]
    raw = [sys.executable, "-c", RAW_LIST, str(path)]
    # One untimed run of each to a file: it counts the bytes and warms the page cache.
    opsdeck_bytes = _output_bytes(run, opsdeck, "list-opsdeck.json")
    raw_bytes = _output_bytes(run, raw, "list-raw.json")
    return Listing(
        opsdeck=_repeat(run, opsdeck, run.sizes.list_runs, "timing opsdeck incident list --json"),
        no_rows=_repeat(run, [*opsdeck, *NO_ROWS], run.sizes.list_runs, "timing the same, filtered to no rows"),
        raw=_repeat(run, raw, run.sizes.list_runs, "baseline: plain python listing"),
        opsdeck_bytes=opsdeck_bytes,
        raw_bytes=raw_bytes,
    )


def _output_bytes(run: Run, argv: list[str], name: str) -> int:
    path = run.path(name)
    with path.open("wb") as out:
        run_command(argv, env=cli_env(), stdout=out)
    size = path.stat().st_size
    path.unlink()
    return size


# -- CLI start ------------------------------------------------------------------------


def start_time(run: Run) -> Figure:
    """`opsdeck incident list` on an empty store: the floor under every script's call."""
    start = _start(run)
    fastest, bare = best(start.opsdeck), best(start.bare_python)
    textual = "textual" in start.modules
    heaviest = ", ".join(f"{name} {ms:.0f} ms" for name, ms in start.heaviest)
    met = fastest.seconds <= START_TARGET_S
    return Figure(
        name="CLI start (opsdeck incident list, empty store)",
        value=fastest.seconds,
        unit="s",
        baseline=bare.seconds,
        baseline_label="python -c pass",
        target=f"<= {START_TARGET_S * 1000:.0f} ms, textual not imported",
        target_met=met and not textual,
        note=(
            f"best of {len(start.opsdeck)} (median {median_seconds(start.opsdeck):.3f} s); "
            f"textual {'IMPORTED' if textual else 'not imported'}, "
            f"alembic {'imported' if 'alembic' in start.modules else 'not imported'}, "
            f"sqlalchemy {'imported' if 'sqlalchemy' in start.modules else 'not imported'}, "
            f"sqlmodel {'IMPORTED' if 'sqlmodel' in start.modules else 'not imported'}; "
            f"heaviest imports (self time, -X importtime): {heaviest}. " + ("" if met else _bound(start))
        ),
    )


# What bounds the start, measured in the same run. The listing used to read through the
# models (SQLModel: SQLAlchemy's ORM and pydantic), and importing them was most of it
# (callgrind: the listing 2.50 G instructions, sqlmodel and these models alone 2.17 G,
# SQLAlchemy Core alone 0.94 G, python -c pass 0.09 G). It now reads on Core alone
# (backend/listing.py, backend/reader.py): 491 -> 224 ms, runs back to back.
# Should it load the models again, the note says what importing them costs.
FLOOR_IMPORTS = "import sqlmodel; from opsdeck.backend.models import Incident, System"
CORE_IMPORTS = "import sqlalchemy"


def _bound(start: Start) -> str:
    listing = best(start.opsdeck).seconds * 1000
    floor, core = best(start.floor).seconds * 1000, best(start.core).seconds * 1000
    orm = "sqlmodel" in start.modules
    return (
        f"Bound: the listing reads on SQLAlchemy Core alone (backend/listing.py, backend/reader.py), whose "
        f"import takes {core:.0f} ms (python included): the rest of the command is {listing - core:.0f} ms. "
        + (
            f"It imported sqlmodel again: sqlmodel and the models alone take {floor:.0f} ms; find the import "
            "with -X importtime (tests/store/test_listing.py should have failed)."
            if orm
            else f"(sqlmodel and the models alone would take {floor:.0f} ms.)"
        )
    )


def help_time(run: Run) -> Figure:
    """`opsdeck --help`: the parser and its translated help, no store module."""
    start = _start(run)
    fastest, bare = best(start.help), best(start.bare_python)
    return Figure(
        name="CLI --help (opsdeck --help)",
        value=fastest.seconds,
        unit="s",
        baseline=bare.seconds,
        baseline_label="python -c pass",
        target=f"<= {HELP_TARGET_S * 1000:.0f} ms",
        target_met=fastest.seconds <= HELP_TARGET_S,
        note=f"best of {len(start.help)} (median {median_seconds(start.help):.3f} s)",
    )


def _start(run: Run) -> Start:
    return run.once("cli.start", lambda: _time_start(run))


def _time_start(run: Run) -> Start:
    path = run.path("empty.db")
    open_store(f"sqlite:///{path}").dispose()  # create and migrate now: that is not start-up
    url = f"sqlite:///{path}"
    opsdeck = [str(venv_script("opsdeck")), "--db", url, "incident", "list"]
    runs = run.sizes.start_runs
    probe = run_command([sys.executable, "-X", "importtime", "-c", IMPORTS_PROBE, url], env=cli_env())
    return Start(
        opsdeck=_repeat(run, opsdeck, runs, "timing opsdeck incident list"),
        help=_repeat(run, [str(venv_script("opsdeck")), "--help"], runs, "timing opsdeck --help"),
        bare_python=_repeat(run, [sys.executable, "-c", "pass"], runs, "baseline: python -c pass"),
        floor=_repeat(run, [sys.executable, "-c", FLOOR_IMPORTS], runs, "bound: importing sqlmodel and the models"),
        core=_repeat(run, [sys.executable, "-c", CORE_IMPORTS], runs, "bound: importing SQLAlchemy Core"),
        modules=_modules(probe.stderr),
        heaviest=_heaviest_imports(probe.stderr, top=3),
    )


def _modules(stderr: str) -> set[str]:
    for line in stderr.splitlines():
        if line.startswith(MODULES_MARK):
            return set(json.loads(line.removeprefix(MODULES_MARK)))
    raise RuntimeError(f"bench: the import probe printed no module list:\n{stderr}")


def _heaviest_imports(stderr: str, *, top: int) -> list[tuple[str, float]]:
    """Self import time summed per top-level package, from `-X importtime` lines:
    `import time:  self_us |  cumulative_us | package.module`."""
    totals: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        if self_us.strip().isdigit():
            totals[name.strip().partition(".")[0]] += int(self_us) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


# -- shared -----------------------------------------------------------------------------


def _repeat(run: Run, argv: list[str], times: int, label: str) -> list[Sample]:
    tick = run.progress.stage(label, times)
    samples = []
    for index in range(times):
        samples.append(run_command(argv, env=cli_env()))
        tick(index + 1)
    return samples
