"""A warning's audited actions as sentences (the warning's screen, `audit show`, replay):
`warning_raise`, `warning_note`, `warning_measure`, `warning_attest`, `warning_promote`,
`warning_close`, `warning_escalate` (docs/plan.md#warnings)."""

from __future__ import annotations

from typing import Any

from .i18n import say


def _join(en: bool, what: str, detail: str | None) -> str:
    return say(en, "{what}: {detail}", what=what, detail=detail) if detail else what


def sentence(action: str, d: dict[str, Any], en: bool) -> str | None:
    """The sentence of one warning action, None for an action without one."""
    if action == "warning_raise":
        kind = say(en, "external") if d.get("kind") == "external" else say(en, "internal")
        if d.get("serious"):
            raised = say(en, "warning raised ({kind}, serious)", kind=kind)
        else:
            raised = say(en, "warning raised ({kind})", kind=kind)
        return _join(en, raised, d.get("title"))
    if action == "warning_note":
        return _join(en, say(en, "analysis") if d.get("analysis") else say(en, "note"), d.get("text"))
    if action == "warning_measure":
        if d.get("done"):
            return say(en, "measure {key} done", key=d["key"])
        return say(en, "measure {key} not done", key=d["key"])
    if action == "warning_attest":
        whom = say(en, "leadership") if d["told"] == "leadership" else d.get("who") or "-"
        return _join(en, say(en, "told {whom} by {via}", whom=whom, via=d["via"]), d.get("note"))
    if action == "warning_promote":
        return _join(en, say(en, "promoted to incident #{id}", id=d["incident_id"]), d.get("reason"))
    if action == "warning_close":
        return _join(en, say(en, "closed as passed"), d.get("reason"))
    if action == "warning_escalate":
        to = ", ".join(t["to"] for t in d.get("targets", [])) or say(en, "nobody")
        return say(en, "clock {clock} breached, escalated to {targets}", clock=d["clock"], targets=to)
    return None
