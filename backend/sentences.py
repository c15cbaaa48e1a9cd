"""What each audited action says: one sentence per event, in English or in the language
chosen (`describe`), for the record, the timelines and the history; the audit's own
fields (VOUCHING_KEYS) are never listed as a change."""

from __future__ import annotations

from typing import Any

from .domain import Category
from .i18n import _, pick, say

# -- -----------------------------------------------------------
#
# The draft's data (`Draft.timeline`'s "what", `Draft.follow_ups`, so `as_json`) is English
# whatever the language; the Markdown draft says the same in the language chosen. So each
# sentence goes through `say`: English for the data, the catalog for the Markdown.


def _join(english: bool, what: str, detail: str | None) -> str:
    if not detail:
        return what
    return say(english, "{what}: {detail}", what=what, detail=detail)


def category_label(key: str | None, english: bool) -> str:
    """A category key as stored (`server_fault`); in a Chinese draft, the plan's term."""
    try:
        term = Category(str(key)).term
    except ValueError:
        return str(key)
    return str(key) if english else pick(str(key), term.zh)


def _sentence(action: str, d: dict[str, Any], en: bool) -> str | None:
    """The sentence of one audited action, None for an action without one."""
    if action.startswith("warning_"):  # a warning's own chain (docs/plan.md#warnings)
        from .warning_words import sentence

        return sentence(action, d, en)
    if action == "open":
        if d.get("reopened_from"):
            opened = say(en, "opened (reopened from #{id})", id=d["reopened_from"])
        else:
            opened = say(en, "opened")
        return _join(en, opened, d.get("title"))
    if action == "ack":
        return say(en, "acknowledged")
    if action == "draft":
        return say(en, "record draft saved (version {version})", version=d["version"])
    if action == "classify" and d.get("regrade"):
        regraded = say(
            en,
            "re-graded from {from_category}/{from_level} to {category}/{level}",
            from_category=category_label(d.get("from_category"), en),
            from_level=d.get("from_level") or "-",
            category=category_label(d["category"], en),
            level=d["level"],
        )
        return _join(en, regraded, d.get("reason"))
    if action == "classify":
        classified = say(
            en,
            "classified {category}, level {level}",
            category=category_label(d["category"], en),
            level=d["level"],
        )
        return _join(en, classified, d.get("reason"))
    if action == "level":
        return _join(en, level_change(d.get("from_level"), d["level"], en), d.get("reason"))
    if action == "assign":
        if d.get("from_owner"):
            return say(
                en,
                "assigned to {owner} (was {previous})",
                owner=d["owner"],
                previous=d["from_owner"],
            )
        return say(en, "assigned to {owner}", owner=d["owner"])
    if action == "note":
        if d.get("probe"):
            note = say(en, "note from probe {probe}", probe=d["probe"])
        else:
            note = say(en, "note")
        return _join(en, note, d.get("text"))
    if action == "step":
        return _join(en, _step(d["key"], d["state"], en), d.get("reason"))
    if action == "cause":
        return _join(en, say(en, "cause located"), d.get("note"))
    if action == "resolve":
        return _join(en, say(en, "resolved"), d.get("resolution"))
    if action == "close":
        why = d.get("reason") or (
            say(en, "duplicate of #{id}", id=d["duplicate_of"]) if d.get("duplicate_of") else None
        )
        return _join(en, _closed(d.get("kind"), en), why)
    if action == "reopen":
        return _join(en, say(en, "reopened"), d.get("reason"))
    if action == "call":
        values = {"call": d["call"], "caller": d["caller"], "contact": d["contact"]}
        if d.get("callback"):
            return say(
                en,
                "service desk call {call} from {caller} ({contact}), call-back owed",
                **values,
            )
        return say(
            en,
            "service desk call {call} from {caller} ({contact})",
            **values,
        )
    if action == "callback":
        called = say(en, "called back on call {call}", call=d["call"])
        return _join(en, called, d.get("note"))
    if action == "reopened_as":
        reopened = say(en, "closed, reopened as #{id}", id=d["new_id"])
        return _join(en, reopened, d.get("reason"))
    if action == "outage":
        moved = say(en, "outage start set to {at}", at=d["outage_started_at"])
        return _join(en, moved, d.get("reason"))
    if action == "attest":
        values = {"obligation": d["obligation"], "via": d.get("via")}
        if d.get("who"):
            done = say(
                en,
                "{obligation} done via {via} ({who})",
                who=d["who"],
                **values,
            )
        else:
            done = say(en, "{obligation} done via {via}", **values)
        return _join(en, done, d.get("note"))
    if action == "regrade":
        level = d.get("next_level")
        if d.get("confirmed"):
            answer = say(en, "re-grade to {level} confirmed", level=level)
        else:
            answer = say(en, "re-grade to {level} declined", level=level)
        return _join(en, answer, d.get("reason"))
    if action == "escalate":
        return _escalated(d, en)
    return None


def level_change(before: str | None, after: str, en: bool) -> str:
    return say(en, "level {from_level} -> {level}", from_level=before or "-", level=after)


def _step(key: str, state: str, en: bool) -> str:
    if en:
        return f"playbook step {key} {state}"
    said = {"done": _("playbook step {key} done"), "skipped": _("playbook step {key} skipped")}
    return said.get(state, _("playbook step {key} {state}")).format(key=key, state=state)


def _closed(kind: str | None, en: bool) -> str:
    if en:
        return f"closed ({kind})"
    said = {
        "resolved": _("closed (resolved)"),
        "false_alarm": _("closed (false_alarm)"),
        "duplicate": _("closed (duplicate)"),
    }
    return said.get(str(kind), _("closed ({kind})")).format(kind=kind)


def _escalated(d: dict[str, Any], en: bool) -> str:
    if d.get("targets"):
        said = say(
            en,
            "deadline {rule} breached ({late} late), escalated to {targets}",
            rule=d["rule"],
            late=late_label(d.get("late_s"), en),
            targets=targets_label(d["targets"]),
        )
    else:
        said = say(
            en,
            "deadline {rule} breached, nobody paged (already met or no longer applying)",
            rule=d["rule"],
        )
    if d.get("regraded"):
        said += say(en, "; level raised to {level}", level=d["regraded"]["to"])
    return said


def targets_label(targets: list[Any]) -> str:
    """Escalation targets as stored: {"kind", "to", "via"} (or a plain name in old events)."""
    return ", ".join(t["to"] if isinstance(t, dict) else str(t) for t in targets)


# What an event carries for the audit's own checks, not what happened (backend/vouch.py,
# backend/identity.py): never listed as a change.
VOUCHING_KEYS = frozenset({"row", "roster_rows", "by"})


def describe(action: str, details: dict[str, Any], *, english: bool = True) -> str:
    """One audited event as a sentence (in English, or with `english=False` in the language
    chosen); an action without a sentence lists its details."""
    try:
        sentence = _sentence(action, details, english)
    except (KeyError, TypeError):  # an older event without a field: say what is there
        sentence = None
    if sentence is not None:
        return sentence
    shown = ", ".join(f"{k}={v}" for k, v in details.items() if v not in (None, "", [], {}) and k not in VOUCHING_KEYS)
    return _join(english, action, shown)


def late_label(seconds: float | None, english: bool = False) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    if minutes < 60:
        return say(english, "{minutes} min", minutes=minutes)
    return say(
        english,
        "{hours} h {minutes:02d} min",
        hours=minutes // 60,
        minutes=minutes % 60,
    )
