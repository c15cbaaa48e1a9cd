"""`opsdeck probe list|show|silence`."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from opsdeck.backend import probe_queries, words
from opsdeck.backend.cells import fit
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import N_, _
from opsdeck.backend.rows import ProbeShow
from opsdeck.backend.sanitize import clean
from opsdeck.backend.spool_report import spool_summary
from opsdeck.backend.timeutil import (
    TimeFormatError,
    format_age,
    parse_duration,
)
from opsdeck.cli.context import Context
from opsdeck.cli.output import emit_json, ljust, term_width
from opsdeck.cli.receive import mirror_silence
from opsdeck.cli.registry import MEMBER, arg, command


@command("probe", "list", N_("every probe with its state, age and last output"))
def probe_list(ctx: Context) -> int:
    now = ctx.store.clock()
    with ctx.store.read() as session:
        rows = probe_queries.probes(session, now)
    if ctx.args.json:
        emit_json(rows)
        return 0
    for row in rows:
        state = (
            _("SILENCED")
            if row["silenced_until"]
            else words.probe_state(row["state"]) + (_(" (stale)") if row["stale"] else "")
        )
        age = format_age(row["age_s"]) if row["age_s"] is not None else "-"
        output = _first_line(row["output"])
        print(f"{fit(state, 16)} {fit(clean(row['name']), 28)} {fit(age, 7)} {fit(output, max(10, term_width() - 55))}")
    if not rows:
        print(_("(no probes yet: results written into the spool create them)"))
    summary = spool_summary(ctx.store)
    for problem in summary["problems"]:
        print("\n" + _("spool {problem} — free space on its disk").format(problem=clean(problem)))
    if summary["quarantined"]:
        count = summary["quarantined"]
        print("\n" + _("{count} file(s) in quarantine: see quarantine/*.reason in the spool").format(count=count))
    return 0


def _first_line(output: str | None) -> str:
    """A plugin's status line: the first line of its output that shows anything (the
    rest is its long output, for `probe show`)."""
    return next((shown for line in (output or "").splitlines() if (shown := clean(line))), "")


# What `probe show` prints of the probe, above its output and results.
_Shown = Literal["name", "system", "state", "stale", "silenced_until", "last_result_at", "interval_s", "incident_id"]


@command("probe", "show", N_("one probe with its recent results"), example=("web01-load",), args=(arg("name"),))
def probe_show(ctx: Context) -> int:
    with ctx.store.read() as session:
        name = probe_queries.stored_name(session, ctx.args.name)
        results = probe_queries.probe_results(session, name)
        [probe] = probe_queries.probes(session, ctx.store.clock(), [name])
    row: ProbeShow = {**probe, "recent": results}
    if ctx.args.json:
        emit_json(row)
        return 0
    labels: dict[_Shown, str] = {  # "name " with a space: a probe's (名称); "name" is a person's (姓名). Padded alike.
        "name": _("name "),
        "system": _("system"),
        "state": _("state"),
        "stale": _("stale"),
        "silenced_until": _("silenced_until"),
        "last_result_at": _("last_result_at"),
        "interval_s": _("interval_s"),
        "incident_id": _("incident_id"),
    }
    for key, label in labels.items():
        value = words.probe_state(row[key]) if key == "state" else row[key]
        print(f"  {ljust(label, 16)} {clean(str(value))}")
    print(f"\n{clean(row['output'], one_line=False)}\n\n{_('recent results:')}")
    for r in results:
        print(f"  {r['at']} {fit(words.probe_state(r['state']), 9)} {clean(r['output'])[:80]}")
    return 0


@command(
    "probe",
    "silence",
    N_("a maintenance window: results stored, no incident opens"),
    writes=MEMBER,
    example=("web01-load", "--for", "1h", "--reason", "r"),
    args=(
        arg("name", nargs="?", help=N_("the probe (or --system S for all of a system's probes)")),
        arg("--system", metavar="S"),
        arg("--for", dest="duration", required=True, metavar="DURATION", help=N_("2h, 30m, 1d; 0 lifts it")),
        arg("--reason", required=True, metavar="R"),
    ),
)
def probe_silence(ctx: Context) -> int:
    a = ctx.args
    try:
        duration = parse_duration(a.duration) if a.duration.strip() != "0" else timedelta(0)
    except TimeFormatError as error:
        raise InvalidInput("bad_duration", f"--for: {error}", _("give e.g. 2h, 30m, 1d, or 0 to lift it")) from None
    names = ctx.service.silence(probe=a.name, system=a.system, duration=duration, reason=a.reason)
    mirrored = mirror_silence(ctx, names, duration, a.reason)
    if a.json:
        emit_json({"probes": names, "for_s": duration.total_seconds(), "alertmanager": mirrored})
    else:
        shown = ", ".join(names)
        if duration:
            print(_("{names}: silenced for {duration}").format(names=shown, duration=a.duration))
        else:
            print(_("{names}: no longer silenced").format(names=shown))
    return 0
