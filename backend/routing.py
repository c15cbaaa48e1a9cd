"""Who is told what, and how: channels and routes, stored in the database as versions
and applied from a TOML file (`opsdeck channels apply FILE`), like the policy.

    [[channel]]
    name = "ops-hook"            # what recipients' `channels` name
    kind = "webhook"             # webhook (JSON over HTTP, with httpx) | apprise (Slack, DingTalk,
    url = "https://hooks.example/opsdeck"   #  Feishu, WeCom, e-mail, SMS: an apprise URL)
    format = "dingtalk"          # optional: the message format, else derived from the URL
                                 #  (webhook, sms, email, dingtalk, wecom, feishu, slack, text)

    [[route]]
    event = "level_iii"          # new_incident | level_iii | escalation | escalation:RULE | resolved | coverage_gap
                                 #  | warning | warning_promoted | warning_overdue
    min_level = "III"            # optional: I..IV
    categories = []              # optional
    systems = []                 # optional
    to = ["permission:lead", "contact:leadership", "contact:business_department"]

Secrets live in channel URLs: they are never printed, logged or put in JSON (`redact`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import documents, messages
from .domain import CLASSIFIED_CATEGORIES, Level
from .errors import InvalidInput
from .i18n import _

KINDS = ("webhook", "apprise")
EVENTS = (
    "new_incident",
    "level_iii",
    "escalation",
    "resolved",
    "coverage_gap",
    "warning",
    "warning_promoted",
    "warning_overdue",
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

DEFAULT_ROUTES: list[dict[str, Any]] = [
    {"event": "new_incident", "to": ["on_duty"]},
    {
        "event": "level_iii",
        "min_level": "III",
        "to": ["permission:lead", "contact:leadership", "contact:business_department"],
    },
    {"event": "escalation", "to": ["rule"]},  # each escalation: its rule's targets
    # A warning raised: those on duty prepare, the leads report (docs/plan.md#warnings).
    {"event": "warning", "to": ["on_duty", "permission:lead"]},
    {"event": "warning_promoted", "to": ["permission:lead"]},
    # A warning's clock breached (not analysed in time; a serious one's leadership not told).
    {"event": "warning_overdue", "to": ["on_duty", "permission:lead"]},
    {"event": "coverage_gap", "to": ["permission:lead"]},  # a gap in the duty schedule ahead
]


@dataclass(frozen=True)
class Channel:
    name: str
    kind: str
    url: str
    format_override: str | None = None

    @property
    def format(self) -> str:
        """The message format it is sent in (docs/plan.md#message-templates)."""
        return messages.format_of(self.kind, self.url, self.format_override)

    @property
    def shown(self) -> str:
        return redact(self.url)


@dataclass(frozen=True)
class Route:
    event: str
    to: tuple[str, ...]
    min_level: str | None = None
    categories: frozenset[str] = frozenset()
    systems: frozenset[str] = frozenset()

    def matches(self, event: str, level: str | None, category: str, system: str | None) -> bool:
        if not (self.event == event or (self.event == "escalation" and event.startswith("escalation:"))):
            return False
        if self.min_level and (not level or Level(level).rank < Level(self.min_level).rank):
            return False
        if self.categories and category not in self.categories:
            return False
        return not (self.systems and system not in self.systems)


@dataclass(frozen=True)
class Routing:
    version: int
    channels: tuple[Channel, ...]
    routes: tuple[Route, ...]

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)


def redact(url: str) -> str:
    """Scheme and host only: userinfo, path tokens and query values are secrets."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if not parts.scheme:
        return "***"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    path = "/***" if parts.path.strip("/") else ""
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, host, path, query, ""))


def parse(document: dict[str, Any], version: int) -> Routing:
    channels = tuple(Channel(c["name"], c["kind"], c["url"], c.get("format")) for c in document.get("channel", []))
    routes = tuple(
        Route(
            r["event"],
            tuple(r["to"]),
            r.get("min_level"),
            frozenset(r.get("categories", [])),
            frozenset(r.get("systems", [])),
        )
        for r in document.get("route", DEFAULT_ROUTES)
    )
    return Routing(version, channels, routes)


def load_file(path: Path) -> dict[str, Any]:
    return validate(documents.read_toml(path), str(path))


def validate(raw: dict[str, Any], source: str) -> dict[str, Any]:
    def fail(key: str, what: str, fix: str) -> InvalidInput:
        # The message may quote a value: never a URL (it may hold a secret).
        message = _("{source}: {key}: {what}").format(source=source, key=key, what=what)
        return InvalidInput("bad_channels", message, fix, file=source, key=key)

    for key in raw:
        if key not in ("channel", "route"):
            raise fail(key, _("unknown section"), _("use [[channel]] and [[route]]"))
    names: set[str] = set()
    for index, channel in enumerate(raw.get("channel", [])):
        at = f"channel[{index}]"
        if not isinstance(channel, dict) or set(channel) - {"name", "kind", "url", "format"}:
            raise fail(
                at,
                _("must have only name, kind, url and format"),
                _('write [[channel]] name = "..." kind = "webhook" url = "..."'),
            )
        name = channel.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise fail(
                f"{at}.name",
                _("{name!r} is not a channel name").format(name=name),
                _("use lower-case letters, digits, . _ -"),
            )
        if name in names:
            raise fail(f"{at}.name", _("{name!r} appears twice").format(name=name), _("give each channel its own name"))
        names.add(name)
        if channel.get("kind") not in KINDS:
            raise fail(
                f"{at}.kind",
                _("{kind!r} is not a kind").format(kind=channel.get("kind")),
                _("use {first} or {second}").format(first=KINDS[0], second=KINDS[1]),
            )
        url = channel.get("url")
        if not isinstance(url, str) or "://" not in url:
            raise fail(f"{at}.url", _("not a URL"), _("give the endpoint (webhook) or an apprise URL"))
        if channel["kind"] == "webhook" and not url.startswith(("http://", "https://")):
            raise fail(f"{at}.url", _("a webhook URL must be http(s)"), _('for other services use kind = "apprise"'))
        if "format" in channel and channel["format"] not in messages.FORMATS:
            raise fail(
                f"{at}.format",
                _("{value!r} is not a message format").format(value=channel["format"]),
                _("use one of {formats}").format(formats=", ".join(messages.FORMATS)),
            )
    for index, route in enumerate(raw.get("route", [])):
        at = f"route[{index}]"
        if not isinstance(route, dict) or set(route) - {"event", "min_level", "categories", "systems", "to"}:
            raise fail(at, _("unknown keys"), _("use event, min_level, categories, systems, to"))
        event = route.get("event")
        if not isinstance(event, str) or not (event in EVENTS or event.startswith("escalation:")):
            raise fail(
                f"{at}.event",
                _("{event!r} is not an event").format(event=event),
                _("use {events} or escalation:RULE").format(events=", ".join(EVENTS)),
            )
        if "min_level" in route:
            try:
                Level.parse(str(route["min_level"]))
            except ValueError as error:
                raise fail(f"{at}.min_level", str(error), _("I is the most severe")) from None
        allowed = {c.value for c in CLASSIFIED_CATEGORIES}
        if any(c not in allowed for c in route.get("categories", [])):
            raise fail(
                f"{at}.categories", _("unknown category"), _("use {values}").format(values=", ".join(sorted(allowed)))
            )
        to = route.get("to")
        if not isinstance(to, list) or not to or not all(isinstance(t, str) for t in to):
            raise fail(
                f"{at}.to", _("missing"), _("list recipients: permission:lead, contact:KIND, duty:NAME, on_duty, owner")
            )
    return raw
