"""The board as plain text: what `opsdeck demo` prints and what scripts can tail.

Untrusted text goes through the one sanitizer; columns are cropped and padded by
terminal cells, so Chinese titles (two cells a character) keep the columns straight.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlmodel import Session

from . import queries, ranking, words
from .cells import fit
from .clocks import load_policy
from .i18n import _, pick
from .sanitize import clean
from .timeutil import format_age, format_countdown

LEVEL_MARK = {"I": "!!!! I", "II": "!!! II", "III": "!! III", "IV": "! IV", None: "? --"}


def render_board(session: Session, now: datetime, tz: tzinfo, *, width: int = 100, title: str = "") -> str:
    """The live board: every open incident, its next clock from the stored deadlines."""
    rows = list(queries.iter_incidents(session, queries.IncidentFilter(status="open")))
    due = queries.open_clocks(session, [r["id"] for r in rows], now)
    names = {rule.key: rule.name_zh for rule in load_policy(session).deadlines.rules}
    for row in rows:
        clock, pressing = due.get(row["id"], (None, False))
        row["next"] = (pick(clock.rule, names.get(clock.rule, "")), clock.due_at, pressing) if clock else None
    return render_rows(rows, queries.level_counts(session), now, tz, width=width, title=title)


def render_replay(rows: list[dict[str, Any]], at: datetime, tz: tzinfo, *, width: int = 100) -> str:
    """`replay.board_at` rows: the board as it stood at `at`."""
    counts = {"I": 0, "II": 0, "III": 0, "IV": 0, "none": 0}
    for row in rows:
        counts[row["level"] or "none"] += 1
        nxt = row["next_deadline"]
        row["next"] = (
            (pick(nxt["key"], nxt.get("name_zh", "")), _parse(nxt["due_at"]), nxt["pressing"]) if nxt else None
        )
    return render_rows(rows, counts, at, tz, width=width, title=_("as it stood at"))


def render_rows(
    rows: list[dict[str, Any]], counts: dict[str, int], now: datetime, tz: tzinfo, *, width: int, title: str
) -> str:
    """Rows with `next` = (clock name, due time, pressing) or None, in board order
    (backend/ranking.py): pressing reporting clocks first, then by due time, then by
    level, then by id."""

    def order(row: dict[str, Any]) -> Any:
        nxt = row["next"]
        return ranking.order_key(bool(nxt and nxt[2]), nxt[1] if nxt else None, row["level"], row["id"])

    rows = sorted(rows, key=order)
    header = (
        f"opsdeck {title}  {now.astimezone(tz).strftime('%Y-%m-%d %H:%M:%S %Z')}  "
        + "  ".join(f"{lvl}:{counts[lvl]}" for lvl in ("I", "II", "III", "IV"))
        + f"  {_('unclassified')}:{counts['none']}"
    )
    fixed = 7 + 1 + 9 + 1 + 18 + 1 + 16 + 1 + 10 + 1 + 12 + 1 + 6
    title_width = max(10, width - fixed - 2)
    lines = [clean(header), ""]
    lines.append(
        f"{fit(_('LEVEL'), 7)} {fit(_('DUE'), 9)} {fit(_('NEXT DEADLINE'), 18)} {fit(_('CATEGORY'), 16)} "
        f"{fit(_('TITLE'), title_width)} "
        f"{fit(_('OWNER'), 10)} {fit(_('STATUS'), 12)} {_('AGE')}"
    )
    for row in rows:
        age = (now - _parse(row["reported_at"])).total_seconds()
        nxt = row["next"]
        countdown = format_countdown((nxt[1] - now).total_seconds()) if nxt else " " * 9
        what = (nxt[0] + ("!" if nxt[1] < now else "")) if nxt else "-"
        lines.append(
            f"{fit(LEVEL_MARK[row['level']], 7)} {countdown} {fit(what, 18)} {fit(clean(words.category(row['category'])), 16)} "
            f"{fit('#' + str(row['id']) + ' ' + clean(row['title']), title_width)} "
            f"{fit(clean(row['owner'] or '-'), 10)} {fit(words.status(row['status']), 12)} {format_age(age)}"
        )
    if not rows:
        lines.append(_("No open incidents."))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
