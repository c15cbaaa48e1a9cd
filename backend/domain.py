"""The plan's vocabulary: categories, levels, statuses, roles (docs/plan.md#categories,
docs/plan.md#levels, docs/plan.md#emergency-group).

Keys are English and stable (JSON and the database carry them); each has the Chinese
term operators use.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import NamedTuple, TypeVar

from .errors import NotFound
from .i18n import _
from .i18n import current as current_language


class Term(NamedTuple):
    en: str
    zh: str

    @property
    def shown(self) -> str:
        """The term in the language chosen at start (Chinese is the plan's own wording)."""
        return self.zh if current_language() == "zh_CN" else self.en


class Category(StrEnum):
    UNCLASSIFIED = "unclassified"
    NETWORK_ATTACK = "network_attack"
    INFO_DESTRUCTION = "info_destruction"
    CONTENT_SECURITY = "content_security"
    NETWORK_FAULT = "network_fault"
    SERVER_FAULT = "server_fault"
    SOFTWARE_FAULT = "software_fault"
    DISASTER = "disaster"
    OTHER = "other"

    @property
    def term(self) -> Term:
        return CATEGORY_TERMS[self]


CATEGORY_TERMS: dict[Category, Term] = {
    Category.UNCLASSIFIED: Term("unclassified", "未分类"),
    Category.NETWORK_ATTACK: Term("network attack", "网络攻击事件"),
    Category.INFO_DESTRUCTION: Term("information destruction", "信息破坏事件"),
    Category.CONTENT_SECURITY: Term("content security", "信息内容安全事件"),
    Category.NETWORK_FAULT: Term("network fault", "网络故障事件"),
    Category.SERVER_FAULT: Term("server fault", "服务器故障事件"),
    Category.SOFTWARE_FAULT: Term("software fault", "软件故障事件"),
    Category.DISASTER: Term("disaster", "灾害性事件"),
    Category.OTHER: Term("other", "其他突发事件"),
}

CLASSIFIED_CATEGORIES = tuple(c for c in Category if c is not Category.UNCLASSIFIED)


class Level(StrEnum):
    """Severity by expected outage; I is the most severe (第四条)."""

    I = "I"  # noqa: E741 - the plan's own name
    II = "II"
    III = "III"
    IV = "IV"

    @property
    def rank(self) -> int:
        """4 for I down to 1 for IV: bigger is more severe."""
        return {"I": 4, "II": 3, "III": 2, "IV": 1}[self.value]

    @property
    def term(self) -> Term:
        return LEVEL_TERMS[self]

    @property
    def outage_bound_hours(self) -> int | None:
        """The longest expected interruption for this level; None for I (over 24 h)."""
        return {"IV": 2, "III": 12, "II": 24, "I": None}[self.value]

    def next_more_severe(self) -> Level | None:
        order = [Level.IV, Level.III, Level.II, Level.I]
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls(text.strip().upper())
        except ValueError:
            raise ValueError(_("{text!r} is not a level: use I, II, III or IV").format(text=text)) from None


LEVEL_TERMS: dict[Level, Term] = {
    Level.IV: Term("general (up to 2 h)", "一般"),
    Level.III: Term("major (2-12 h)", "较大"),
    Level.II: Term("serious (12-24 h)", "重大"),
    Level.I: Term("critical (over 24 h)", "特别重大"),
}


class Status(StrEnum):
    REPORTED = "reported"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (Status.REPORTED, Status.ACKNOWLEDGED, Status.RESOLVED)


class CloseKind(StrEnum):
    RESOLVED = "resolved"
    FALSE_ALARM = "false_alarm"
    DUPLICATE = "duplicate"


class Permission(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    LEAD = "lead"

    @property
    def can_write(self) -> bool:
        return self is not Permission.VIEWER


class Duty(StrEnum):
    """The emergency group's duty areas (第五条 example)."""

    COMMAND = "command"  # overall technical command, developer call-up
    WEB = "web"  # website and design support
    DNS = "dns"  # customers, domains and DNS
    SERVERS = "servers"  # machine room and servers
    TELECOM = "telecom"  # telecom lines and crisis communication


DUTY_TERMS: dict[Duty, Term] = {
    Duty.COMMAND: Term("technical command and developer call-up", "技术总指挥与开发调度"),
    Duty.WEB: Term("website and design support", "网站与设计支持"),
    Duty.DNS: Term("customers, domains and DNS", "客户、域名与DNS"),
    Duty.SERVERS: Term("machine room and servers", "机房与服务器"),
    Duty.TELECOM: Term("telecom lines and crisis communication", "通信线路与危机沟通"),
}

# Which duty suggests an owner for a category (docs/plan.md#emergency-group).
CATEGORY_DUTY: dict[Category, Duty] = {
    Category.NETWORK_ATTACK: Duty.COMMAND,
    Category.INFO_DESTRUCTION: Duty.COMMAND,
    Category.CONTENT_SECURITY: Duty.WEB,
    Category.NETWORK_FAULT: Duty.TELECOM,
    Category.SERVER_FAULT: Duty.SERVERS,
    Category.SOFTWARE_FAULT: Duty.SERVERS,
    Category.DISASTER: Duty.SERVERS,
    Category.OTHER: Duty.COMMAND,
}


class ContactKind(StrEnum):
    """People who are told or escalated to, never owners."""

    LEADERSHIP = "leadership"  # 所领导
    CALL_CENTER_SUPERVISOR = "call_center_supervisor"  # 呼叫中心主管
    BUSINESS_DEPARTMENT = "business_department"  # 各业务部室
    VENDOR_SUPPORT = "vendor_support"  # 厂商及技术支持
    ACCOUNT_MANAGER = "account_manager"  # 客户经理
    CUSTOMER = "customer"  # 客户


CONTACT_KIND_TERMS: dict[ContactKind, Term] = {
    ContactKind.LEADERSHIP: Term("leadership", "所领导"),
    ContactKind.CALL_CENTER_SUPERVISOR: Term("call-center supervisor", "呼叫中心主管"),
    ContactKind.BUSINESS_DEPARTMENT: Term("business department", "业务部室"),
    ContactKind.VENDOR_SUPPORT: Term("vendor support", "厂商及技术支持"),
    ContactKind.ACCOUNT_MANAGER: Term("account manager", "客户经理"),
    ContactKind.CUSTOMER: Term("customer", "客户"),
}


class StepState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"


SYSTEM_ACTOR_PREFIX = "system:"
# How an obligation was met or a call came in (an attestation's and a call log's channel).
CHANNELS = ("phone", "sms", "email", "web", "im", "in_person", "meeting", "notice", "other")


def permission_of(login: str, read_only: bool, member: Callable[[], str | None]) -> Permission:
    """What `login` may do: a `system:` actor operates (views, read-only); a read-only
    session views; anyone else as the roster says (`member()`, asked only then), and a
    login not on it views."""
    if login.startswith(SYSTEM_ACTOR_PREFIX):
        return Permission.VIEWER if read_only else Permission.OPERATOR
    if read_only:
        return Permission.VIEWER
    found = member()
    return Permission(found) if found else Permission.VIEWER


E = TypeVar("E", bound=StrEnum)

# What `parse_enum` callers call the value they parse, for its error message.
NOUN_TERMS: dict[str, Term] = {
    "category": Term("category", "类别"),
    "permission": Term("permission", "权限"),
    "duty": Term("duty", "职责"),
    "contact kind": Term("contact kind", "联系人类型"),
}


def parse_enum(enum: type[E], text: str, what: str) -> E:
    """Parse a key case-insensitively, naming every allowed value on failure."""
    try:
        return enum(text.strip().lower())
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        noun = NOUN_TERMS[what].shown if what in NOUN_TERMS else what
        raise ValueError(
            _("{text!r} is not a {what}: use one of {allowed}").format(text=text, what=noun, allowed=allowed)
        ) from None


# How `opsdeck stats` may group incidents (backend/stats.py); here, where the CLI's parser
# can read it without loading the store's models.
STATS_GROUPINGS = ("category", "level", "system", "owner", "duty", "month", "week")


def no_incident(incident_id: int) -> NotFound:
    """The refusal for an incident id the store has never had."""
    return NotFound(
        "no_incident",
        _("incident #{id} does not exist").format(id=incident_id),
        _("list incidents with `opsdeck incident list --status all`"),
        id=incident_id,
    )
