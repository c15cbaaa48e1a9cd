"""The service's refusals in the board's words.

The service names the fix as the CLI would ("needs --reason", "reload: opsdeck incident
show 14"), and its times in RFC 3339. On a board screen the fix is the key or the field
to use, and a time is the center's local time in whole seconds. A refusal the board has
no words for keeps what it says and drops a CLI fix rather than show one.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from opsdeck.backend.errors import OpsdeckError
from opsdeck.backend.i18n import _
from opsdeck.backend.timeutil import format_local

_RFC3339 = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_CLI_WORDS = re.compile(r"(?:^|[\s(`])--[a-z]|\bopsdeck [a-z]")


def local_times(text: str, zone: tzinfo) -> str:
    """Every RFC 3339 time in `text` as the center's local time, without a fraction."""

    def shown(match: re.Match[str]) -> str:
        try:
            moment = datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))
        except ValueError:
            return match.group(0)
        return str(format_local(moment, zone))

    return _RFC3339.sub(shown, text)


def has_cli_words(text: str) -> bool:
    return bool(_CLI_WORDS.search(text))


def _board_fix(error: OpsdeckError) -> str | None:
    """The fix in the board's terms, by the refusal's code; None: the board has none."""
    params = error.params
    fixes = {
        "missing_reason": _("it needs a reason: write why in the Reason field"),
        "half_classified": _("pick both a category and a level"),
        "stale": _("Esc, then look at #{id} again and act on what is there now"),
        "closed": _("to work on it again, R (Reopen) opens a new incident linked to it"),
        "resolved": _("close it (C) or reopen it (R)"),
        "below_iii": _("if it is III or worse, raise it first (v: Level)"),
        "regrade_not_due": _("to change the level now, press v (Level)"),
        "no_member": _("pick a roster member from the list"),
        "no_system": _("leave the system empty, or give a name from the catalog (the field's hint lists some)"),
        "missing_who": _("write who in the who field"),
        "record_incomplete": _("write them in the record (w), then close it"),
        "duplicate_chain": _("pick #{original} as the original"),
        "draft_stale": _("Esc, open the record again (w) and write your part again"),
        "promoted": _("work on incident #{incident} on the board"),
        "passed": _("if it is back, raise a new warning (n on the warnings screen)"),
        "no_incident": _("it is no longer on the board: pick another row"),
        "read_only": _("this board was started read-only: nothing can be changed from it"),
    }
    if error.code == "not_closable":
        return _closing_steps(params.get("missing") or [])
    fix = fixes.get(error.code)
    if fix is None:
        return None
    if error.code == "duplicate_chain":
        return str(fix).format(original=_original(error))
    try:
        return str(fix).format(**params)
    except (KeyError, IndexError):
        return str(fix)


def _closing_steps(missing: list[str]) -> str:
    """The steps a close still needs, each by its key, in the order to take them."""
    keys = {
        "resolve": _("resolve it (r)"),
        "classify": _("classify it (c)"),
    }
    steps = [str(keys[key]) for key in missing if key in keys]
    if not steps:
        return str(_("close it as a false alarm or a duplicate"))
    return str(_("first {steps}, or close it as a false alarm or a duplicate")).format(steps=_(", then ").join(steps))


def _original(error: OpsdeckError) -> str:
    found = re.search(r"#(\d+)\D*$", error.what)
    return found.group(1) if found else "?"


def board_text(error: BaseException | None, zone: tzinfo) -> str:
    """What a board screen shows for a refusal (a stale write, a rule, bad input); a worker's
    error as Textual hands it (None only if Textual said ERROR without one: a bug)."""
    if not isinstance(error, OpsdeckError):
        return str(_("{kind}: {error} (a bug: please report it)")).format(kind=type(error).__name__, error=error)
    what = local_times(error.what, zone)
    fix = _board_fix(error)
    if fix is None:
        fix = "" if has_cli_words(error.fix) else local_times(error.fix, zone)
    return f"{what} — {fix}" if fix else what
