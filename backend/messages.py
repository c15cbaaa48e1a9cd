"""Messages a person reads: an event rendered from its template, in the recipient's
language, for the channel's format (docs/plan.md#message-templates).

The template engine is Jinja2's sandbox: a template sees only the fields given to it
(plain strings, in plain dicts), cannot call methods or reach attributes beyond them,
and has no globals. Every field it inserts passes through the format's escaper: control
characters are removed everywhere, and in Markdown formats the characters that make
markup are neutralised, so a title like `[click](http://evil)` reads as text on
DingTalk as it does on the board. Only the template's own text is markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .domain import CATEGORY_TERMS, LEVEL_TERMS, Category, Level
from .sanitize import clean
from .timeutil import as_utc

if TYPE_CHECKING:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

FORMATS = ("webhook", "sms", "email", "dingtalk", "wecom", "feishu", "slack", "text")
# Which body a format reads. WeCom is plain text: apprise's wecombot sends msgtype text only.
FAMILY = {
    "dingtalk": "markdown",
    "feishu": "markdown",
    "slack": "markdown",
    "wecom": "text",
    "email": "text",
    "text": "text",
    "webhook": "text",
    "sms": "sms",
}
BODIES = ("markdown", "text", "sms")
# An apprise URL's scheme -> the format its service renders. Anything else is plain text.
_SCHEMES = {
    "dingtalk": "dingtalk",
    "wecombot": "wecom",
    "feishu": "feishu",
    "lark": "feishu",
    "slack": "slack",
    "mailto": "email",
    "mailtos": "email",
    **{
        s: "sms"
        for s in (
            "twilio",
            "sns",
            "clicksend",
            "bulksms",
            "d7sms",
            "sinch",
            "vonage",
            "nexmo",
            "msg91",
            "kavenegar",
            "smseagle",
            "seven",
            "httpsms",
            "burstsms",
            "plivo",
            "messagebird",
            "africas-talking",
            "atalk",
            "clickatell",
            "smsmgr",
            "signal",
        )
    },
}
SMS_UCS2, SMS_GSM = 70, 160  # characters in one segment: Chinese (UCS-2), plain ASCII (GSM 7-bit)
SMS_UCS2_PART, SMS_GSM_PART = 67, 153  # per segment once a message is split (the header takes room)
MAX_OUTPUT = 8000  # a rendered message longer than this is cut: no channel takes more
# Filters a template may use; none of them can grow a text beyond what it was given.
FILTERS = ("short", "upper", "lower", "title", "capitalize", "trim", "default", "d", "length", "first", "last")


def format_of(kind: str, url: str, override: str | None = None) -> str:
    """The message format a channel sends: its override, else webhook for a webhook, else
    what the apprise URL's scheme names (json://, form:// and the rest: plain text)."""
    if override:
        return override
    if kind == "webhook":
        return "webhook"
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        scheme = ""
    return _SCHEMES.get(scheme, "text")


# -- escaping -------------------------------------------------------------------------------

# Inline markup in every chat Markdown (CommonMark, DingTalk, Feishu's lark_md, Slack's
# mrkdwn): emphasis, code, links and images (they need [ ]), strikethrough, tables.
_INLINE = re.compile(r"([\\`*_\[\]~|])")
# Markup at the start of a line: headings, quotes, lists ("- ", "+ ", "1. ").
_BLOCK_START = re.compile(r"^(\s*)([#>+\-=]|\d+(?=[.)]))")


def escape_markdown(text: str) -> str:
    """One line of untrusted text that reads as itself in Markdown. `<` and `>` become
    their full-width forms: WeCom's <font>, Feishu's <at>, Slack's <url|text> and HTML
    are tags no backslash escapes on every one of those renderers."""
    text = _INLINE.sub(r"\\\1", clean(text))
    text = text.replace("<", "\uff1c").replace(">", "\uff1e")
    return _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text, count=1)


def escape_text(text: str) -> str:
    return clean(text)


def escaper(fmt: str) -> Callable[[str], str]:
    return escape_markdown if FAMILY[fmt] == "markdown" else escape_text


# -- the engine -----------------------------------------------------------------------------


def short(value: Any, length: int = 20) -> str:
    """`{{ incident.title | short(16) }}`: at most `length` characters, `…` if cut."""
    text = str(value)
    if len(text) <= length:
        return text
    if text.isascii():  # "…" would make an English SMS Unicode, 70 characters instead of 160
        return text[: max(0, length - 3)] + "..."
    return text[: max(0, length - 1)] + "…"


def environment(fmt: str) -> ImmutableSandboxedEnvironment:
    """The sandbox that renders `fmt`'s templates. Imported at the first message, not
    with this module: routing reads the formats above on every write, so a write command
    or a board that sends nothing would otherwise load Jinja2 for nothing (~1.4 MB of
    peak RSS importing the service)."""
    from .message_sandbox import environment as sandbox

    return sandbox(fmt)


@dataclass(frozen=True)
class Message:
    """What one recipient reads on one channel."""

    format: str
    title: str
    body: str


def render(templates: Mapping[str, str], fmt: str, context: Mapping[str, Any], sms_segments: int) -> Message:
    """`templates` is one (event, language)'s keys: title, markdown, text, sms, or a
    format's own. Raises jinja2's errors (the sender falls back to the shipped default)."""
    family = FAMILY[fmt]
    source = templates.get(fmt) or templates[family]
    env = environment(fmt)
    body = _tidy(env.from_string(source).render(context))
    title = "" if family == "sms" else _one_line(env.from_string(templates["title"]).render(context))
    if family == "sms":
        body = sms_cut(" ".join(body.split()), sms_segments)
    return Message(fmt, title[:500], body[:MAX_OUTPUT])


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def sms_limit(text: str, segments: int) -> int:
    """How many characters `segments` SMS segments carry for this text."""
    ascii_only = text.isascii()
    if segments <= 1:
        return SMS_GSM if ascii_only else SMS_UCS2
    return (SMS_GSM_PART if ascii_only else SMS_UCS2_PART) * segments


def sms_cut(text: str, segments: int) -> str:
    limit = sms_limit(text, segments)
    return text if len(text) <= limit else short(text, limit)


# -- the fields a template sees ---------------------------------------------------------------

_STATUS = {
    "reported": ("reported", "已报告"),
    "acknowledged": ("acknowledged", "已确认"),
    "resolved": ("resolved", "已恢复"),
    "closed": ("closed", "已关闭"),
}
_NONE = {"en": ("not graded yet", "uncategorised", "nobody yet", "-"), "zh_CN": ("未定级", "未分类", "未指派", "-")}


def _zh(lang: str) -> bool:
    return lang == "zh_CN"


def level_shown(level: str | None, lang: str) -> str:
    """As the plan names it: 较大 (III级); in English: III (major)."""
    if not level:
        return _NONE[lang][0]
    try:
        term = LEVEL_TERMS[Level(level)]
    except ValueError:
        return level
    return f"{term.zh} ({level}级)" if _zh(lang) else f"{level} ({term.en.split(' (')[0]})"


def category_shown(category: str | None, lang: str) -> str:
    try:
        term = CATEGORY_TERMS[Category(category or "unclassified")]
    except ValueError:
        return str(category)
    if category in (None, "", "unclassified"):
        return _NONE[lang][1]
    return term.zh if _zh(lang) else term.en


def when(value: str | datetime | None, tz: tzinfo) -> str:
    """A time as a person reads it in the center: 12-03 14:05."""
    if not value:
        return "-"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return as_utc(moment).astimezone(tz).strftime("%m-%d %H:%M")


def context(payload: Mapping[str, Any], lang: str, tz: tzinfo, recipient: str = "") -> dict[str, Any]:
    """Every field a template may use, as strings, from an outbox payload. Groups an event
    does not carry are there, empty, so a template's `{% if due.name %}` just reads false."""
    zh = _zh(lang)
    incident = payload.get("incident") or {}
    due = incident.get("next_due") or {}
    deadline = payload.get("deadline") or {}
    warning = payload.get("warning") or {}
    gap = payload.get("gap") or {}
    test = payload.get("test") or {}
    ident = incident.get("id")
    return {
        "event": str(payload.get("event", "")),
        "recipient": recipient,
        "incident": {
            "id": "" if ident is None else str(ident),
            "title": str(incident.get("title") or ""),
            "level": level_shown(incident.get("level"), lang),
            "category": category_shown(incident.get("category"), lang),
            "status": _STATUS.get(str(incident.get("status")), (str(incident.get("status") or ""),) * 2)[zh],
            "owner": str(incident.get("owner_name") or incident.get("owner") or _NONE[lang][2]),
            "system": str(incident.get("system") or _NONE[lang][3]),
            "since": when(incident.get("reported_at"), tz),
            "show": f"opsdeck incident show {ident}" if ident is not None else "",
        },
        "due": _deadline(due, zh, tz),
        "deadline": _deadline(deadline, zh, tz),
        "warning": {
            "id": str(warning.get("id") or ""),
            "title": str(warning.get("title") or ""),
            "level": level_shown(warning.get("level"), lang),
            "system": str(warning.get("system") or _NONE[lang][3]),
            "since": when(warning.get("issued_at"), tz),
            "show": f"opsdeck warning show {warning['id']}" if warning.get("id") else "",
        },
        "gap": {
            "duty": str(gap.get("duty") or ""),
            "start": when(gap.get("start"), tz),
            "end": when(gap.get("end"), tz),
        },
        "test": {
            "channel": str(test.get("channel") or ""),
            "sent_by": str(test.get("sent_by") or ""),
            "at": when(test.get("at"), tz),
        },
    }


def _deadline(d: Mapping[str, Any], zh: bool, tz: tzinfo) -> dict[str, str]:
    name = (d.get("name_zh") if zh else None) or d.get("name") or d.get("rule") or ""
    at = d.get("due_at")
    return {
        "rule": str(d.get("rule") or ""),
        "name": str(name),
        "at": when(at, tz) if at else "",
        "due_at": when(at, tz),
    }
