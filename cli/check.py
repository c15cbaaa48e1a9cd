"""`opsdeck check`: a Monitoring Plugins check for Nagios, Icinga, Zabbix agents and cron.

The one command whose exit codes follow the plugin guidelines, not the CLI's table:
0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. A bad command line is 3 UNKNOWN, an unreachable
store 2 CRITICAL. The first line is `OPSDECK STATE - summary | perfdata`; long output
follows. What it measures: backend/monitoring.py.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from opsdeck.backend.errors import ErrorKind, OpsdeckError
from opsdeck.backend.i18n import N_, _, lookup
from opsdeck.backend.sanitize import clean
from opsdeck.cli.registry import arg, command

if TYPE_CHECKING:
    from opsdeck.backend.monitoring import Measure, Result
    from opsdeck.cli.context import Context


PAIRS = (  # (option, default, what it measures)
    ("heartbeat", "15,60", N_("seconds since a duty's holder renewed its lease")),
    ("pending", "300,900", N_("seconds the oldest undelivered notification waits")),
    ("failed", "0,10", N_("failed notifications (being retried)")),
    ("dead", "0,0", N_("dead notifications (given up on)")),
    ("quarantined", "0,10", N_("spool files quarantined in the last hour")),
    ("unescalated", "0,0", N_("breached deadlines not escalated after the grace")),
)


def _threshold(what: str, default: str) -> Callable[[], str]:
    """A threshold option's help, looked up when the parser is built."""
    return lambda: _("{what}: warn above WARN, critical above CRIT (default {default})").format(
        what=lookup(what), default=default
    )


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 10**9:
        raise argparse.ArgumentTypeError(
            _("{text!r} is not a threshold (a number from 0 to 1000000000)").format(text=text)
        )
    return value


def _pair(text: str) -> tuple[float, float]:
    warn, comma, crit = text.partition(",")
    if not comma:
        raise argparse.ArgumentTypeError(_("{text!r} is not WARN,CRIT (two numbers, like 15,60)").format(text=text))
    low, high = _number(warn), _number(crit)
    if low > high:
        raise argparse.ArgumentTypeError(_("{text!r}: WARN is above CRIT (give the lower one first)").format(text=text))
    return low, high


def refused(error: BaseException) -> int:
    """The plugin's answer to a refusal before or while it ran: one status line on stdout."""
    if isinstance(error, OpsdeckError) and error.kind is ErrorKind.UNAVAILABLE:
        state, code = "CRITICAL", 2
    else:
        state, code = "UNKNOWN", 3
    message = str(error)
    if isinstance(error, OpsdeckError) and error.code == "usage":  # the fix names this command's help
        message = f"{error.what} — " + _("see `opsdeck check --help`")
    print(f"OPSDECK {state} - {_line(message)}")
    return code


@command(
    "check",
    json=False,
    args=(
        arg("--json", action="store_true", help=N_("print JSON (the exit code stays the plugin's)")),
        *(
            arg(f"--{name}", type=_pair, default=_pair(default), metavar="WARN,CRIT", help=_threshold(what, default))
            for name, default, what in PAIRS
        ),
        arg(
            "--escalation-grace",
            type=_number,
            default=120.0,
            metavar="SECONDS",
            help=N_("a breached deadline counts once this long has passed unescalated (default 120)"),
        ),
        arg("--spool", metavar="DIR", help=N_("the spool whose quarantine/ is counted (default: the config's)")),
        arg(
            "--receiver",
            metavar="HOST:PORT",
            help=N_("ask the alert receiver's /-/healthy here (default: the config's [receive] listen)"),
        ),
    ),
)
def check(ctx: Context) -> int:
    from opsdeck.backend import monitoring
    from opsdeck.cli.output import emit_json

    a = ctx.args
    thresholds = monitoring.Thresholds(
        heartbeat=a.heartbeat,
        pending=a.pending,
        failed=a.failed,
        dead=a.dead,
        quarantined=a.quarantined,
        unescalated=a.unescalated,
        escalation_grace=a.escalation_grace,
    )
    spool = Path(a.spool or ctx.config.spool)
    receiver = a.receiver or ctx.config.receive_listen
    result = monitoring.check(ctx.config.db, thresholds, spool=spool, receiver=receiver)
    state = result.state
    if a.json:
        emit_json(
            {
                "state": state,
                "exit": monitoring.EXIT[state],
                "summary": _summary(result),
                "measures": [
                    {"label": m.label, "value": m.value, "uom": m.uom, "warn": m.warn, "crit": m.crit, "state": m.state}
                    for m in result.measures
                ],
                "problems": [{"state": s, "text": t} for s, t in result.problems],
                "notes": result.notes,
            }
        )
        return int(monitoring.EXIT[state])
    perf = " ".join(_perfdatum(m) for m in result.measures)
    print(f"OPSDECK {state} - {_summary(result)}" + (f" | {perf}" if perf else ""))
    for line in _long_output(result):
        print(line)
    return int(monitoring.EXIT[state])


def _summary(result: Result) -> str:
    alerts = [(s, t) for s, t in result.problems] + [(m.state, m.text) for m in result.measures if m.state != "OK"]
    if not alerts:
        return _line(_("{n} measures within thresholds").format(n=len(result.measures)))
    rank = {"CRITICAL": 0, "UNKNOWN": 1, "WARNING": 2}
    alerts.sort(key=lambda item: rank[item[0]])
    return _line("; ".join(text for _state, text in alerts))


def _long_output(result: Result) -> list[str]:
    lines = [_line(f"{m.state}: {m.label} = {_value(m)}") for m in result.measures]
    return lines + [_line(note) for note in result.notes]


def _value(m: Measure) -> str:
    return f"{m.value:g}{m.uom}"


def _perfdatum(m: Measure) -> str:
    return f"{m.label}={_value(m)};{m.warn:g};{m.crit:g};0;"


def _line(text: str) -> str:
    """One line of plugin output: no `|` (it starts perfdata), no control characters."""
    return str(clean(" ".join(str(text).split()))).replace("|", "/")
