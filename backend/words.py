"""The product's fixed words as a person reads them: statuses, clock and probe states,
message states, permissions, categories. The stored keys stay English (JSON, the CLI's
options, the database); these are only for showing, in the language chosen at start.
Each table is built when asked, after the language is chosen.
"""

from __future__ import annotations

from .domain import CATEGORY_TERMS, Category
from .i18n import _, current

# The board's level labels: severity is never colour alone (the wall, the board, the replay).
LEVEL_LABEL = {"I": "I!!!", "II": "II!!", "III": "III!", "IV": "IV", None: "--"}


def level_label(level: str | None) -> str:
    return LEVEL_LABEL.get(level, "--")


def status(value: str) -> str:
    words = {
        "reported": _("reported"),
        "acknowledged": _("acknowledged"),
        "resolved": _("resolved"),
        "closed": _("closed"),
    }
    return words.get(value, value)


def clock_state(value: str) -> str:
    words = {
        "pending": _("pending"),
        "warning": _("warning"),
        "breached": _("breached"),
        "met": _("met"),
        "met_late": _("met_late"),
        "waived": _("waived"),
        "superseded": _("superseded"),
    }
    return words.get(value, value)


def probe_state(value: str | None) -> str:
    words = {"OK": _("OK"), "WARNING": _("WARNING"), "CRITICAL": _("CRITICAL"), "UNKNOWN": _("UNKNOWN")}
    return words.get(value or "", str(value))


def message_state(value: str) -> str:
    words = {
        "pending": _("pending"),
        "sending": _("sending"),
        "sent": _("sent"),
        "failed": _("failed"),
        "dead": _("dead"),
    }
    return words.get(value, value)


def permission(value: str) -> str:
    words = {"lead": _("lead"), "operator": _("operator"), "viewer": _("viewer")}
    return words.get(value, value)


def category(key: str | None) -> str:
    """The key in English (what --category takes and scripts know), the plan's own term
    (网络攻击事件) in Chinese."""
    if not key:
        return "-"
    if current() != "zh_CN":
        return key
    try:
        return CATEGORY_TERMS[Category(key)].zh
    except ValueError:
        return key


CATEGORY_SHORT_EN = {
    "unclassified": "unclassified",
    "network_attack": "net attack",
    "info_destruction": "info destr.",
    "content_security": "content sec.",
    "network_fault": "network",
    "server_fault": "server",
    "software_fault": "software",
    "disaster": "disaster",
    "other": "other",
}


def category_short(key: str) -> str:
    """The category as the board's narrow column shows it, in the chosen language."""
    words = {
        "unclassified": _("unclassified"),
        "network_attack": _("net attack"),
        "info_destruction": _("info destr."),
        "content_security": _("content sec."),
        "network_fault": _("network"),
        "server_fault": _("server"),
        "software_fault": _("software"),
        "disaster": _("disaster"),
        "other": _("other"),
    }
    return words.get(key, key)


def incident_field(key: str) -> str:
    """An incident's field as `incident show` and the detail name it: the key in English
    (the JSON's), a word in Chinese."""
    words = {
        "title": _("title"),
        "status": _("status"),
        "category": _("category"),
        "level": _("level"),
        "owner": _("owner"),
        "reporter": _("reporter"),
        "system": _("system"),
        "version": _("version"),
        "reported_at": _("reported_at"),
        "outage_started_at": _("outage_started_at"),
        "acknowledged_at": _("acknowledged_at"),
        "classified_at": _("classified_at"),
        "cause_located_at": _("cause_located_at"),
        "resolved_at": _("resolved_at"),
        "record_filed_at": _("record_filed_at"),
        "closed_at": _("closed_at"),
        "description": _("description"),
        "resolution": _("resolution"),
    }
    return words.get(key, key)
