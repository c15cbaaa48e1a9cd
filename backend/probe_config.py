"""How probes are judged, from the policy's `[probes]` section: thresholds for opening
incidents, per-probe settings by name pattern, the readiness matrix and HTTP checks."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .alerts import matchers
from .domain import CLASSIFIED_CATEGORIES, Duty, Level
from .i18n import _
from .timeutil import TimeFormatError, parse_duration

CELLS = (
    "os_config:local",
    "os_config:remote",
    "os_config:offsite",
    "app_data:local",
    "app_data:remote",
    "app_data:offsite",
    "spare_server",
    "spare_domain",
)


RAISES = ("incident", "warning")  # what a sustained CRITICAL raises (docs/plan.md#warnings)


@dataclass(frozen=True)
class Match:
    pattern: str
    system: str | None = None
    category: str | None = None
    interval: timedelta | None = None
    raises: str = "incident"


@dataclass(frozen=True)
class Readiness:
    cell: str
    probe: str
    warn_age: timedelta
    crit_age: timedelta


@dataclass(frozen=True)
class HttpCheck:
    name: str
    url: str
    interval: timedelta = timedelta(minutes=1)
    timeout: timedelta = timedelta(seconds=10)
    expect_status: int = 200
    body_pattern: str | None = None
    system: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class AlertRoute:
    """A mapping rule for alerts from the receiver's sources, matched in order like
    Alertmanager's routes (the first match wins): equality and regex matchers on the
    alert's labels set the system, category, a suggested level and the owner duty."""

    name: str
    matchers: tuple[matchers.Matcher, ...] = ()
    sources: tuple[str, ...] = ()  # empty: every source
    system: str | None = None
    category: str | None = None
    level: str | None = None  # suggested; applied only with classify
    owner_duty: str | None = None
    classify: bool = False  # may the mapping classify on its own (category and level)
    auto_resolve: bool = False  # the source's "all resolved" resolves the incident
    group_by: tuple[str, ...] = ()  # labels; empty: the sender's own grouping
    raises: str = "incident"  # or "warning": an internal warning (预警) instead of an incident

    def matches(self, source: str, labels: dict[str, str]) -> bool:
        if self.sources and source not in self.sources:
            return False
        return all(m.matches(labels) for m in self.matchers)


NO_ROUTE = AlertRoute(name="")
NO_MATCH = Match(pattern="*")  # a name no pattern matches: the defaults


@dataclass(frozen=True)
class ProbePolicy:
    critical_after: int = 3
    ok_after: int = 3
    critical_after_resolve: str = "note"  # or "reopen": a probe critical again under a resolved incident
    max_result_age: timedelta = timedelta(hours=1)
    default_interval: timedelta = timedelta(minutes=5)
    matches: tuple[Match, ...] = ()
    readiness: tuple[Readiness, ...] = ()
    http: tuple[HttpCheck, ...] = ()
    routes: tuple[AlertRoute, ...] = ()

    def route_for(self, source: str, labels: dict[str, str]) -> AlertRoute:
        return next((r for r in self.routes if r.matches(source, labels)), NO_ROUTE)

    def settings_for(self, name: str) -> Match:
        for match in self.matches:
            if fnmatch.fnmatchcase(name, match.pattern):
                return match
        return NO_MATCH  # one object, not one per name: asked once per new probe of a storm

    def readiness_for(self, name: str) -> Readiness | None:
        for readiness in self.readiness:  # a loop, not next(...): asked once per result of a storm
            if readiness.probe == name:
                return readiness
        return None


def parse(document: dict[str, Any]) -> ProbePolicy:
    section = document.get("probes", {})

    def td(value: Any, default: timedelta) -> timedelta:
        return parse_duration(value) if value else default

    return ProbePolicy(
        critical_after=int(section.get("critical_after", 3)),
        ok_after=int(section.get("ok_after", 3)),
        critical_after_resolve=str(section.get("critical_after_resolve", "note")),
        max_result_age=td(section.get("max_result_age"), timedelta(hours=1)),
        default_interval=td(section.get("default_interval"), timedelta(minutes=5)),
        matches=tuple(
            Match(
                m["pattern"],
                m.get("system"),
                m.get("category"),
                td(m.get("interval"), timedelta(0)) or None,
                str(m.get("raises", "incident")),
            )
            for m in section.get("match", [])
        ),
        readiness=tuple(
            Readiness(r["cell"], r["probe"], parse_duration(r["warn_age"]), parse_duration(r["crit_age"]))
            for r in section.get("readiness", [])
        ),
        http=tuple(
            HttpCheck(
                name=h["name"],
                url=h["url"],
                interval=td(h.get("interval"), timedelta(minutes=1)),
                timeout=td(h.get("timeout"), timedelta(seconds=10)),
                expect_status=int(h.get("expect_status", 200)),
                body_pattern=h.get("body_pattern"),
                system=h.get("system"),
                category=h.get("category"),
            )
            for h in section.get("http", [])
        ),
        routes=tuple(_route(r) for r in section.get("route", [])),
    )


def _route(item: dict[str, Any]) -> AlertRoute:
    return AlertRoute(
        name=item["name"],
        matchers=tuple(matchers.parse(m) for m in item.get("matchers", [])),
        sources=tuple(item.get("sources", [])),
        system=item.get("system"),
        category=item.get("category"),
        level=item.get("level"),
        owner_duty=item.get("owner_duty"),
        classify=bool(item.get("classify", False)),
        auto_resolve=bool(item.get("auto_resolve", False)),
        group_by=tuple(item.get("group_by", [])),
        raises=str(item.get("raises", "incident")),
    )


class ProbeConfigError(ValueError):
    def __init__(self, key: str, what: str, fix: str) -> None:
        self.key, self.what, self.fix = key, what, fix
        super().__init__(f"{key}: {what}")


def validate(section: Any) -> dict[str, Any]:
    """Check `[probes]` whole; raise ProbeConfigError naming the key and the fix."""
    if not isinstance(section, dict):
        raise ProbeConfigError("probes", _("must be a table"), _("write [probes] and [[probes.match]] tables"))
    allowed = {
        "critical_after",
        "ok_after",
        "critical_after_resolve",
        "max_result_age",
        "default_interval",
        "match",
        "readiness",
        "http",
        "route",
    }
    _only(section, allowed, "probes")
    for key in ("critical_after", "ok_after"):
        value = section.get(key, 3)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
            raise ProbeConfigError(
                f"probes.{key}",
                _("{value!r} is not a count").format(value=value),
                _("write a whole number from 1 to 100"),
            )
    if section.get("critical_after_resolve", "note") not in ("note", "reopen"):
        raise ProbeConfigError(
            "probes.critical_after_resolve",
            _("{value!r} is not note or reopen").format(value=section["critical_after_resolve"]),
            _('write critical_after_resolve = "note" (a note on the incident) or "reopen"'),
        )
    for key in ("max_result_age", "default_interval"):
        if key in section:
            _duration(section[key], f"probes.{key}")
    for index, item in enumerate(_tables(section, "match")):
        at = f"probes.match[{index}]"
        _only(item, {"pattern", "system", "category", "interval", "raises"}, at)
        _raises(item, at)
        if not isinstance(item.get("pattern"), str) or not item["pattern"]:
            raise ProbeConfigError(f"{at}.pattern", _("missing"), _('give a glob like "db-cluster/*"'))
        _category(item.get("category"), f"{at}.category")
        if "interval" in item:
            _duration(item["interval"], f"{at}.interval")
    for index, item in enumerate(_tables(section, "readiness")):
        at = f"probes.readiness[{index}]"
        _only(item, {"cell", "probe", "warn_age", "crit_age"}, at)
        if item.get("cell") not in CELLS:
            raise ProbeConfigError(
                f"{at}.cell",
                _("{cell!r} is not a cell").format(cell=item.get("cell")),
                _("use one of {values}").format(values=", ".join(CELLS)),
            )
        if not isinstance(item.get("probe"), str) or not item["probe"]:
            raise ProbeConfigError(f"{at}.probe", _("missing"), _("name the probe that reports this cell"))
        warn, crit = (
            _duration(item.get("warn_age"), f"{at}.warn_age"),
            _duration(item.get("crit_age"), f"{at}.crit_age"),
        )
        if crit <= warn:
            raise ProbeConfigError(
                f"{at}.crit_age", _("must be longer than warn_age"), _("e.g. warn_age 26h, crit_age 50h")
            )
    for index, item in enumerate(_tables(section, "http")):
        _http(item, f"probes.http[{index}]")
    names: set[str] = set()
    for index, item in enumerate(_tables(section, "route")):
        _route_item(item, f"probes.route[{index}]", names)
    return section


_ROUTE_KEYS = {
    "name",
    "matchers",
    "sources",
    "system",
    "category",
    "level",
    "owner_duty",
    "classify",
    "auto_resolve",
    "group_by",
    "raises",
}


def _route_item(item: dict[str, Any], at: str, names: set[str]) -> None:
    _only(item, _ROUTE_KEYS, at)
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ProbeConfigError(f"{at}.name", _("missing"), _('give the mapping a name, e.g. "db-critical"'))
    if name in names:
        raise ProbeConfigError(
            f"{at}.name", _("{name!r} appears twice").format(name=name), _("give each mapping its own name")
        )
    names.add(name)
    for key in ("matchers", "sources", "group_by"):
        value = item.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ProbeConfigError(
                f"{at}.{key}", _("must be a list of text"), _('write {key} = ["..."]').format(key=key)
            )
    for text in item.get("matchers", []):
        try:
            matchers.parse(text)
        except matchers.MatcherError as error:
            raise ProbeConfigError(
                f"{at}.matchers",
                str(error),
                _('write matchers as Alertmanager does: severity="critical", service=~"db-.*", env!="test"'),
            ) from None
    _category(item.get("category"), f"{at}.category")
    level = item.get("level")
    if level is not None and level not in {lv.value for lv in Level}:
        raise ProbeConfigError(
            f"{at}.level", _("{value!r} is not a level").format(value=level), _("use I, II, III or IV")
        )
    duty = item.get("owner_duty")
    if duty is not None and duty not in {d.value for d in Duty}:
        raise ProbeConfigError(
            f"{at}.owner_duty",
            _("{value!r} is not a duty").format(value=duty),
            _("use one of {values}").format(values=", ".join(d.value for d in Duty)),
        )
    for key in ("classify", "auto_resolve"):
        if not isinstance(item.get(key, False), bool):
            raise ProbeConfigError(f"{at}.{key}", _("must be true or false"), _("write {key} = true").format(key=key))
    _raises(item, at)
    if item.get("classify") and item.get("raises") == "warning":
        raise ProbeConfigError(
            f"{at}.classify",
            _("a mapping that raises a warning does not classify"),
            _("leave classify out: the incident is classified when the warning is promoted"),
        )
    if item.get("classify") and not (item.get("category") and level):
        raise ProbeConfigError(
            f"{at}.classify",
            _("classifying on its own needs a category and a level"),
            _("give category and level, or leave classify out (a person classifies, the suggestion pre-filled)"),
        )
    if "system" in item and (not isinstance(item["system"], str) or not item["system"]):
        raise ProbeConfigError(f"{at}.system", _("must be a system's name"), _("see `opsdeck systems list`"))


def _raises(item: dict[str, Any], at: str) -> None:
    if item.get("raises", "incident") not in RAISES:
        raise ProbeConfigError(
            f"{at}.raises",
            _("{value!r} is not incident or warning").format(value=item.get("raises")),
            _('write raises = "warning" (an internal warning, 预警) or leave it out (an incident)'),
        )


def _http(item: dict[str, Any], at: str) -> None:
    _only(item, {"name", "url", "interval", "timeout", "expect_status", "body_pattern", "system", "category"}, at)
    if not isinstance(item.get("name"), str) or not item["name"]:
        raise ProbeConfigError(f"{at}.name", _("missing"), _("give the probe a name"))
    url = item.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://", url):
        raise ProbeConfigError(
            f"{at}.url", _("{url!r} is not an http(s) URL").format(url=url), _('write url = "https://host/health"')
        )
    for key in ("interval", "timeout"):
        if key in item:
            _duration(item[key], f"{at}.{key}")
    status = item.get("expect_status", 200)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ProbeConfigError(
            f"{at}.expect_status", _("{status!r} is not an HTTP status").format(status=status), _("write e.g. 200")
        )
    if "body_pattern" in item:
        try:
            re.compile(item["body_pattern"])
        except (re.error, TypeError) as error:
            raise ProbeConfigError(
                f"{at}.body_pattern",
                _("not a regular expression ({error})").format(error=error),
                _("fix the pattern"),
            ) from None
    _category(item.get("category"), f"{at}.category")


def _tables(section: dict[str, Any], name: str) -> list[dict[str, Any]]:
    items = section.get(name, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ProbeConfigError(
            f"probes.{name}", _("must be a list of tables"), _("write [[probes.{name}]]").format(name=name)
        )
    return items


def _only(item: dict[str, Any], allowed: set[str], at: str) -> None:
    extra = set(item) - allowed
    if extra:
        raise ProbeConfigError(
            f"{at}.{sorted(extra)[0]}", _("unknown key"), _("use {keys}").format(keys=", ".join(sorted(allowed)))
        )


def _duration(value: Any, at: str) -> timedelta:
    try:
        return parse_duration(str(value))
    except TimeFormatError:
        raise ProbeConfigError(
            at,
            _("{value!r} is not a duration").format(value=value),
            _("write a number and a unit: 30s, 5m, 26h, 35d"),
        ) from None


def _category(value: Any, at: str) -> None:
    allowed = {c.value for c in CLASSIFIED_CATEGORIES}
    if value is not None and value not in allowed:
        raise ProbeConfigError(
            at,
            _("{value!r} is not a category").format(value=value),
            _("use one of {values}").format(values=", ".join(sorted(allowed))),
        )
