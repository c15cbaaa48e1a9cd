"""The board as plain text: what `opsdeck demo` prints and what scripts can tail.

Untrusted text goes through the one sanitizer; columns are cropped and padded by
terminal cells, so Chinese titles (two cells a character) keep the columns straight.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypedDict

from sqlmodel import Session

from . import queries, ranking, words
from .cells import fit
from .i18n import _
from .sanitize import clean
from .timeutil import format_age, format_countdown

if TYPE_CHECKING:
    from .replay import ReplayRow

NARROW_BELOW = 100  # an 80-column terminal: the board's short clock, category and status words

Next = tuple[str, datetime, bool]  # the clock that ranks a row: its rule, due time, pressing


class BoardLine(TypedDict):
    """What a line of the text board reads of a row: `rows.IncidentRow` (the live board)
    and `replay.ReplayRow` (the board as it stood) both have these keys."""

    id: int
    level: str | None
    category: str
    status: str
    title: str
    owner: str | None
    reported_at: str


def render_board(session: Session, now: datetime, tz: tzinfo, *, width: int = 100, title: str = "") -> str:
    """The live board: every open incident, its next clock from the stored deadlines."""
    rows = list(queries.iter_incidents(session, queries.IncidentFilter(status="open")))
    due = queries.open_clocks(session, [r["id"] for r in rows], now)
    lines: list[tuple[BoardLine, Next | None]] = []
    for row in rows:
        clock, pressing = due.get(row["id"], (None, False))
        lines.append((row, (clock.rule, clock.due_at, pressing) if clock else None))
    return render_rows(lines, queries.level_counts(session), now, tz, width=width, title=title)


def render_replay(rows: list[ReplayRow], at: datetime, tz: tzinfo, *, width: int = 100) -> str:
    """`replay.board_at` rows: the board as it stood at `at`."""
    counts = {"I": 0, "II": 0, "III": 0, "IV": 0, "none": 0}
    lines: list[tuple[BoardLine, Next | None]] = []
    for row in rows:
        counts[row["level"] or "none"] += 1
        nxt = row["next_deadline"]
        lines.append((row, (nxt["key"], _parse(nxt["due_at"]), nxt["pressing"]) if nxt else None))
    return render_rows(lines, counts, at, tz, width=width, title=_("as it stood at"))


def render_rows(
    rows: list[tuple[BoardLine, Next | None]],
    counts: dict[str, int],
    now: datetime,
    tz: tzinfo,
    *,
    width: int,
    title: str,
) -> str:
    """Rows each with the clock that ranks it (`Next`) or None, in board order
    (backend/ranking.py): pressing reporting clocks first, then by due time, then by
    level, then by id. One line a row, `width` cells at most, with the board's labels
    (III!, the clock's name, in the chosen language); narrower than NARROW_BELOW, the
    board's short words."""

    def order(line: tuple[BoardLine, Next | None]) -> tuple[Any, ...]:
        row, nxt = line
        return ranking.order_key(bool(nxt and nxt[2]), nxt[1] if nxt else None, row["level"], row["id"])

    rows = sorted(rows, key=order)
    header = (
        f"opsdeck {title}  {now.astimezone(tz).strftime('%Y-%m-%d %H:%M:%S %Z')}  "
        + "  ".join(f"{lvl}:{counts[lvl]}" for lvl in ("I", "II", "III", "IV"))
        + f"  {'--' if width < NARROW_BELOW else _('unclassified')}:{counts['none']}"
    )
    narrow = width < NARROW_BELOW
    clock_w, cat_w, owner_w, status_w = (6, 12, 9, 8) if narrow else (12, 16, 10, 12)
    fixed = 5 + 1 + 9 + 1 + clock_w + 1 + cat_w + 1 + 1 + owner_w + 1 + status_w + 1 + 5
    title_width = max(10, width - fixed)
    lines = [clean(header), ""]
    lines.append(
        f"{fit(_('LEVEL'), 5)} {fit(_('DUE'), 9 + 1 + clock_w)} {fit(_('CATEGORY'), cat_w)} "
        f"{fit(_('TITLE'), title_width)} "
        f"{fit(_('OWNER'), owner_w)} {fit(_('STATUS'), status_w)} {_('AGE')}"
    )
    for row, nxt in rows:
        age = (now - _parse(row["reported_at"])).total_seconds()
        countdown = format_countdown((nxt[1] - now).total_seconds()) if nxt else " " * 9
        what = ranking.clock_label(nxt[0], short=narrow) if nxt else "-"
        category = words.category_short(row["category"]) if narrow else words.category(row["category"])
        status = _short_status(row["status"]) if narrow else words.status(row["status"])
        lines.append(
            f"{fit(words.level_label(row['level']), 5)} {countdown} {fit(what, clock_w)} {fit(clean(category), cat_w)} "
            f"{fit('#' + str(row['id']) + ' ' + clean(row['title']), title_width)} "
            f"{fit(clean(row['owner'] or '-'), owner_w)} {fit(status, status_w)} {format_age(age)}"
        )
    if not rows:
        lines.append(_("No open incidents."))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _short_status(status: str) -> str:
    """The board's status column at 80 columns."""
    return {"reported": _("NEW"), "acknowledged": _("ack"), "resolved": _("resolved")}.get(status, words.status(status))


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
