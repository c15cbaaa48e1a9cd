"""Message templates as data: the shipped defaults, a lead's file merged over them, stored
as versions like the policy (`opsdeck templates apply FILE`), validated whole before they
are stored, so a broken template is refused at apply time with its line and the fix, not
found at 3 a.m. when an incident needs it (docs/plan.md#message-templates).
"""

from __future__ import annotations

import copy
import json
import logging
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import TemplateError, TemplateSyntaxError, nodes
from sqlalchemy import select
from sqlmodel import Session, col

from . import documents, messages
from .errors import InvalidInput
from .i18n import SUPPORTED, _
from .sanitize import has_controls
from .timeutil import TimeFormatError, load_zone

log = logging.getLogger("opsdeck.notify")

EVENTS = (
    "new_incident",
    "level_iii",
    "escalation",
    "resolved",
    "warning",
    "warning_promoted",
    "warning_overdue",
    "coverage_gap",
    "test",
)
KEYS = ("title", *messages.BODIES, *messages.FORMATS)
MAX_TEMPLATE = 4000  # characters in one template: a message, not a program
MAX_LOOPS = 2


@cache
def default_document() -> dict[str, Any]:
    text = files("opsdeck.backend").joinpath("defaults/templates.toml").read_text("utf-8")
    return validate(tomllib.loads(text), "(built-in defaults)", merge=False)


@dataclass(frozen=True)
class Templates:
    version: int
    document: dict[str, Any]

    @property
    def lang(self) -> str:
        return str(self.document["lang"])

    @property
    def tz(self) -> tzinfo:
        return load_zone(str(self.document["timezone"]))

    @property
    def sms_segments(self) -> int:
        return int(self.document["sms_segments"])

    def message(
        self, event: str, fmt: str, payload: dict[str, Any], lang: str | None = None, recipient: str = ""
    ) -> messages.Message:
        """The message for one recipient on one channel. A stored template that fails at
        send time (it was validated, so only against data it never saw) falls back to the
        shipped one: a person is told either way."""
        lang = lang if lang in SUPPORTED else self.lang
        fields = messages.context(payload, lang, self.tz, recipient)
        try:
            return messages.render(_pick(self.document, event, lang), fmt, fields, self.sms_segments)
        except TemplateError as error:
            log.warning("template %s/%s failed (%s): the shipped one is used", event, lang, error)
            return messages.render(_pick(default_document(), event, lang), fmt, fields, self.sms_segments)


def _pick(document: dict[str, Any], event: str, lang: str) -> dict[str, str]:
    """escalation:RULE has its own template or the general escalation one; an event with
    none (a newer event than the templates) reads the test message's frame."""
    events = document["event"]
    for name in (event, event.partition(":")[0], "test"):
        if name in events:
            chosen = events[name]
            return dict(chosen.get(lang) or chosen.get(document["lang"]) or next(iter(chosen.values())))
    raise KeyError(event)


def load(session: Session) -> Templates:
    from .models import TemplateVersion

    row = (
        session.execute(select(TemplateVersion).order_by(col(TemplateVersion.version).desc()).limit(1))
        .scalars()
        .first()
    )
    if row is None:
        return Templates(0, default_document())
    return Templates(row.version, row.document)


def load_file(path: Path) -> dict[str, Any]:
    text = documents.read_text(path)
    return validate(documents.parse_toml(text, path), str(path), text=text)


def validate(raw: dict[str, Any], source: str, *, merge: bool = True, text: str | None = None) -> dict[str, Any]:
    """The file merged over the defaults, every template compiled and rendered against a
    sample incident in every format that reads it; refused whole on the first error.
    `text`, the file as written, lets an error name its line in the file too."""

    def fail(key: str, what: str, fix: str, line: int | None = None) -> InvalidInput:
        if line is not None:
            in_file = _file_line(text, key, line) if text else None
            what = (
                _("line {line} of the template, line {file_line} of the file: {error}").format(
                    line=line, file_line=in_file, error=what
                )
                if in_file
                else _("line {line}: {error}").format(line=line, error=what)
            )
        return InvalidInput(
            "bad_templates",
            _("{source}: {key}: {what}").format(source=source, key=key, what=what),
            fix,
            file=source,
            key=key,
        )

    for key in raw:
        if key not in ("lang", "timezone", "sms_segments", "event"):
            raise fail(key, _("unknown key"), _("use lang, timezone, sms_segments and [event.EVENT.LANG] tables"))
    document = copy.deepcopy(default_document()) if merge else {"event": {}}
    if "lang" in raw or not merge:
        if raw.get("lang") not in SUPPORTED:
            raise fail("lang", _("{value!r} is not a language").format(value=raw.get("lang")), _("use en or zh_CN"))
        document["lang"] = raw["lang"]
    if "timezone" in raw or not merge:
        try:
            load_zone(str(raw.get("timezone") or "-"))
        except TimeFormatError as error:
            raise fail("timezone", str(error), _("use an IANA name like Asia/Shanghai")) from None
        document["timezone"] = raw["timezone"]
    if "sms_segments" in raw or not merge:
        value = raw.get("sms_segments")
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise fail(
                "sms_segments", _("{value!r} is not 1 to 5").format(value=value), _("1 sends one SMS per message")
            )
        document["sms_segments"] = value
    events = raw.get("event", {})
    if not isinstance(events, dict):
        raise fail("event", _("must be tables"), _("write [event.new_incident.zh_CN]"))
    for event, by_lang in events.items():
        if not known_event(event):
            raise fail(
                f"event.{event}",
                _("{event!r} is not an event").format(event=event),
                _("use {events} or escalation:RULE").format(events=", ".join(EVENTS)),
            )
        if not isinstance(by_lang, dict):
            raise fail(f"event.{event}", _("must be tables"), _("write [event.{event}.zh_CN]").format(event=event))
        for lang, keys in by_lang.items():
            at = f"event.{event}.{lang}"
            if lang not in SUPPORTED:
                raise fail(at, _("{value!r} is not a language").format(value=lang), _("use en or zh_CN"))
            if not isinstance(keys, dict):
                raise fail(at, _("must be a table"), _("give title, markdown, text and sms"))
            for key, value in keys.items():
                if key not in KEYS:
                    raise fail(f"{at}.{key}", _("unknown key"), _("use {keys}").format(keys=", ".join(KEYS)))
                if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEMPLATE:
                    raise fail(
                        f"{at}.{key}",
                        _("must be text of 1 to {n} characters").format(n=MAX_TEMPLATE),
                        _("write the template as a TOML string"),
                    )
                if has_controls(value.replace("\t", " ")):
                    raise fail(
                        f"{at}.{key}",
                        _("holds control characters or terminal escapes"),
                        _("remove them: messages are plain words and the channel's markup"),
                    )
            merged = {**document["event"].get(event, {}).get(lang, {}), **keys}
            missing = [k for k in ("title", *messages.BODIES) if k not in merged]
            if missing:
                raise fail(
                    at, _("missing {keys}").format(keys=", ".join(missing)), _("give title, markdown, text and sms")
                )
            document["event"].setdefault(event, {})[lang] = merged
    for event, by_lang in document["event"].items():
        for lang, keys in by_lang.items():
            _check(keys, f"event.{event}.{lang}", lang, document, fail)
    return document


def _check(keys: dict[str, str], at: str, lang: str, document: dict[str, Any], fail: Any) -> None:
    """Compile each template and render it against the sample in every format reading it."""
    sample = messages.context(SAMPLE, lang, load_zone(document["timezone"]), "Sample")
    for key, source in keys.items():
        _no_programs(source, f"{at}.{key}", fail)
        for fmt in _formats_reading(key, keys):
            try:
                out = messages.environment(fmt).from_string(source).render(sample)
            except TemplateSyntaxError as error:
                raise fail(
                    f"{at}.{key}",
                    str(error.message),
                    _("close every {{ }} and {% %}; fields are written {{ incident.title }}"),
                    error.lineno,
                ) from None
            except TemplateError as error:
                raise fail(
                    f"{at}.{key}",
                    str(error),
                    _("use only the fields docs/plan.md#message-templates lists, e.g. {{ incident.title }}"),
                    _line_of(error),
                ) from None
            if not out.strip():
                raise fail(f"{at}.{key}", _("renders empty"), _("a message needs words"))


def _no_programs(source: str, at: str, fail: Any) -> None:
    """A message is a few fields in words: no macros (recursion), no blocks, at most
    MAX_LOOPS loops, so rendering one can never take long."""
    try:
        tree = messages.environment("text").parse(source)
    except TemplateSyntaxError as error:
        raise fail(
            at,
            str(error.message),
            _("close every {{ }} and {% %}; fields are written {{ incident.title }}"),
            error.lineno,
        ) from None
    banned = (nodes.Macro, nodes.CallBlock, nodes.Block, nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
    for node in tree.find_all(banned):
        raise fail(
            at,
            _("{what} is not allowed in a message").format(what=type(node).__name__),
            _("use fields, {% if %} and {% for %} only"),
            node.lineno,
        )
    loops = list(tree.find_all(nodes.For))
    if len(loops) > MAX_LOOPS:
        raise fail(
            at,
            _("more than {n} loops").format(n=MAX_LOOPS),
            _("a message needs few loops: list the fields instead"),
            loops[MAX_LOOPS].lineno,
        )


def _file_line(text: str, key: str, line: int) -> int | None:
    """Where line `line` of template `key` (event.EVENT.LANG.KEY) is in the file: after
    its table's header, on or after its `KEY =` line (TOML drops a newline right after
    opening triple quotes). None when the file does not spell it plainly."""
    parts = key.split(".", 3) if key.count(".") >= 3 else ["", "", "", ""]
    event, lang, name = parts[1], parts[2], parts[3]
    if not name:
        return None
    header = re.compile(rf'^\s*\[\s*event\s*\.\s*"?{re.escape(event)}"?\s*\.\s*{re.escape(lang)}\s*\]')
    assignment = re.compile(rf"^\s*{re.escape(name)}\s*=\s*(.*)$")
    lines = text.splitlines()
    start = next((n for n, text_line in enumerate(lines) if header.match(text_line)), None)
    if start is None:
        return None
    for n in range(start + 1, len(lines)):
        if lines[n].lstrip().startswith("["):
            return None
        found = assignment.match(lines[n])
        if found:
            opening = found.group(1).strip()
            starts_below = opening in ('"""', "'''")
            return n + 1 + line if starts_below else n + line
    return None


def _formats_reading(key: str, keys: dict[str, str]) -> list[str]:
    if key in messages.FORMATS:
        return [key]
    if key == "title":
        return [f for f in messages.FORMATS if messages.FAMILY[f] != "sms"]
    family = [f for f in messages.FORMATS if messages.FAMILY[f] == key]
    return [f for f in family if f not in keys] or family[:1]


def _line_of(error: TemplateError) -> int | None:
    tb = error.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def known_event(event: str) -> bool:
    return event in EVENTS or (event.startswith("escalation:") and len(event) > len("escalation:"))


def to_toml(document: dict[str, Any], version: int) -> str:
    """The document as a file `templates apply` takes back unchanged."""
    lines = [
        f"# templates version {version}",
        f"lang = {_toml_string(document['lang'])}",
        f"timezone = {_toml_string(document['timezone'])}",
        f"sms_segments = {int(document['sms_segments'])}",
    ]
    for event, by_lang in document["event"].items():
        for lang, keys in by_lang.items():
            name = event if event.replace("_", "").isalnum() else _toml_string(event)
            lines += ["", f"[event.{name}.{lang}]"]
            lines += [f"{key} = {_toml_string(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    literal = "'''"
    if "\n" in value and literal not in value and not value.endswith("'"):
        return literal + "\n" + value + literal  # TOML drops the newline right after the opening quotes
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def events_in(path: Path) -> list[str]:
    """The events a (valid) file changes, for the audit trail."""
    return list(tomllib.loads(path.read_text("utf-8")).get("event", {}))


_SAMPLE_AT = datetime(2026, 3, 2, 6, 5, tzinfo=UTC)
# What `preview` and the apply-time check render: an incident with every field filled.
SAMPLE: dict[str, Any] = {
    "event": "sample",
    "incident": {
        "id": 12,
        "title": "Benefits DB refuses connections",
        "category": "server_fault",
        "level": "III",
        "status": "acknowledged",
        "owner": "servers",
        "owner_name": "Wang Lei",
        "system": "db-cluster",
        "reported_at": _SAMPLE_AT.isoformat(),
        "next_due": {
            "rule": "leadership_report",
            "name": "Report to leadership",
            "name_zh": "报告所领导",
            "due_at": (_SAMPLE_AT + timedelta(minutes=30)).isoformat(),
        },
    },
    "deadline": {
        "rule": "leadership_report",
        "name": "Report to leadership",
        "name_zh": "报告所领导",
        "due_at": (_SAMPLE_AT + timedelta(minutes=30)).isoformat(),
    },
    "warning": {
        "id": 3,
        "title": "Disk 85% on db-cluster",
        "level": "IV",
        "system": "db-cluster",
        "issued_at": _SAMPLE_AT.isoformat(),
    },
    "gap": {
        "duty": "servers",
        "start": (_SAMPLE_AT + timedelta(days=5)).isoformat(),
        "end": (_SAMPLE_AT + timedelta(days=5, hours=12)).isoformat(),
    },
    "test": {"channel": "ops-dingtalk", "sent_by": "lead", "at": _SAMPLE_AT.isoformat()},
}
