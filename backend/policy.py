"""The policy every host reads from the store: playbooks per category (and, with the
deadline engine, the deadline rules). Applied from a TOML file, validated whole, stored
as a new version with its hash; a policy with an error is refused with the file, the
key and the fix.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any

from . import deadlines, documents, probe_config
from .domain import CLASSIFIED_CATEGORIES
from .errors import InvalidInput
from .i18n import _
from .timeutil import TimeFormatError, parse_duration

CONDITIONS = ("maintenance_contract", "no_maintenance_contract")
_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class StepSpec:
    key: str
    en: str
    zh: str
    when: str | None = None

    def applies(self, maintenance_contract: bool | None) -> bool:
        if self.when is None or maintenance_contract is None:
            return True
        return (self.when == "maintenance_contract") == maintenance_contract


@dataclass(frozen=True)
class Policy:
    version: int
    document: dict[str, Any]

    @cached_property
    def deadlines(self) -> deadlines.DeadlinePolicy:
        return deadlines.parse(self.document)

    @cached_property
    def probes(self) -> probe_config.ProbePolicy:
        return probe_config.parse(self.document)

    def warning_measures(self, kind: str) -> list[StepSpec]:
        """The preparatory measures a new warning of `kind` (external, internal) starts with."""
        steps = self.document.get("warnings", {}).get("measures", {}).get(kind, [])
        return [StepSpec(s["key"], s["en"], s.get("zh", "")) for s in steps]

    @property
    def warning_analyse_within(self) -> timedelta:
        return parse_duration(self.document.get("warnings", {}).get("analyse_within", "1h"))

    def playbook(self, category: str) -> list[StepSpec]:
        steps = self.document.get("playbooks", {}).get(category, {}).get("steps", [])
        return [StepSpec(s["key"], s["en"], s.get("zh", ""), s.get("when")) for s in steps]


def default_document() -> dict[str, Any]:
    text = files("opsdeck.backend").joinpath("defaults/policy.toml").read_text("utf-8")
    return validate(tomllib.loads(text), source="(built-in defaults)")


_CACHE: dict[tuple[int, str], Policy] = {}


def lookup(version: int, digest: str) -> Policy | None:
    return _CACHE.get((version, digest))


def cached(version: int, digest: str, document: dict[str, Any]) -> Policy:
    """Policy versions never change once stored: parse each one once per process."""
    key = (version, digest)
    if key not in _CACHE:
        _CACHE[key] = Policy(version, merged_with_defaults(document))
    return _CACHE[key]


def load_file(path: Path) -> dict[str, Any]:
    return validate(documents.read_toml(path), source=str(path))


def validate(raw: dict[str, Any], *, source: str) -> dict[str, Any]:
    """Check the whole document; return it normalised, or refuse naming file, key and fix."""

    def fail(key: str, what: str, fix: str) -> InvalidInput:
        message = _("{source}: {key}: {what}").format(source=source, key=key, what=what)
        return InvalidInput("bad_policy", message, fix, file=source, key=key)

    known = {"playbooks", "deadlines", "probes", "warnings", "schedule"}
    for top in raw:
        if top not in known:
            raise fail(top, _("unknown section"), _("use only {sections}").format(sections=", ".join(sorted(known))))
    playbooks = raw.get("playbooks", {})
    if not isinstance(playbooks, dict):
        raise fail("playbooks", _("must be a table"), _("write [playbooks.CATEGORY] sections"))
    out: dict[str, Any] = {"playbooks": {}}
    allowed = {c.value for c in CLASSIFIED_CATEGORIES}
    for category, body in playbooks.items():
        where = f"playbooks.{category}"
        if category not in allowed:
            raise fail(where, _("unknown category"), _("use one of {values}").format(values=", ".join(sorted(allowed))))
        if not isinstance(body, dict) or set(body) - {"steps"}:
            raise fail(where, _("must hold only `steps`"), _("write steps = [ {key=..., en=..., zh=...}, ... ]"))
        steps = body.get("steps", [])
        if not isinstance(steps, list):
            raise fail(f"{where}.steps", _("must be a list"), _("write steps = [ {key=..., en=...} ]"))
        out["playbooks"][category] = {"steps": _validate_steps(steps, where, fail)}
    if "deadlines" in raw:
        merged = _merge_deadlines(_default_section(source, "deadlines"), raw["deadlines"], fail)
        try:
            out["deadlines"] = deadlines.validate(merged)
        except deadlines.PolicyError as error:
            raise fail(error.key, error.what, error.fix) from None
    if "warnings" in raw:
        out["warnings"] = _validate_warnings(_default_section(source, "warnings"), raw["warnings"], fail)
    if "probes" in raw:
        merged_probes = _merge_probes(_default_section(source, "probes"), raw["probes"], fail)
        try:
            out["probes"] = probe_config.validate(merged_probes)
        except probe_config.ProbeConfigError as error:
            raise fail(error.key, error.what, error.fix) from None
    if "schedule" in raw:
        out["schedule"] = validate_policy(raw["schedule"], fail)  # the duty schedule's limits
    return out


def _default_section(source: str, name: str) -> dict[str, Any]:
    if source == "(built-in defaults)":
        return {}
    return dict(default_document()[name])


def _merge_probes(base: dict[str, Any], given: Any, fail: Any) -> dict[str, Any]:
    """Scalars replace; matches and alert routes from the file go first (first match wins); readiness cells
    and HTTP checks replace the default of the same cell or name."""
    if not isinstance(given, dict):
        raise fail("probes", _("must be a table"), _("write [probes] and [[probes.match]] tables"))
    merged = {**base, **{k: v for k, v in given.items() if k not in ("match", "readiness", "http", "route")}}
    for ordered in ("match", "route"):  # alert mappings too: the file's go first (first match wins)
        if ordered in given:
            merged[ordered] = (
                list(given[ordered]) + list(base.get(ordered, []))
                if isinstance(given[ordered], list)
                else given[ordered]
            )
    for name, ident in (("readiness", "cell"), ("http", "name")):
        if name in given:
            if not isinstance(given[name], list):
                merged[name] = given[name]
                continue
            by_key = {item[ident]: item for item in base.get(name, [])}
            for item in given[name]:
                key = item.get(ident) if isinstance(item, dict) else None
                by_key[key if isinstance(key, str) else f"#{len(by_key)}"] = item
            merged[name] = list(by_key.values())
    return merged


def _merge_deadlines(base: dict[str, Any], given: Any, fail: Any) -> dict[str, Any]:
    """A file changes the defaults rule by rule: same key replaces, a new key adds."""
    if not isinstance(given, dict):
        raise fail("deadlines", _("must be a table"), _("write [deadlines] and [[deadlines.rule]] tables"))
    merged = {**base, **{k: v for k, v in given.items() if k not in ("rule", "obligation")}}
    for name in ("rule", "obligation"):
        items = given.get(name, [])
        if not isinstance(items, list):
            raise fail(
                f"deadlines.{name}", _("must be a list of tables"), _("write [[deadlines.{name}]]").format(name=name)
            )
        by_key = {item["key"]: item for item in base.get(name, [])}
        for item in items:
            key = item.get("key") if isinstance(item, dict) else None
            by_key[key if isinstance(key, str) else f"#{len(by_key)}"] = item
        merged[name] = list(by_key.values())
    return merged


WARNING_KINDS = ("external", "internal")


def _validate_warnings(base: dict[str, Any], given: Any, fail: Any) -> dict[str, Any]:
    """`analyse_within` replaces the default; `measures.KIND` replaces that kind's list."""
    if not isinstance(given, dict) or set(given) - {"analyse_within", "measures"}:
        raise fail(
            "warnings",
            _("must be a table of analyse_within and measures"),
            _("write [warnings] and [warnings.measures]"),
        )
    within = given.get("analyse_within", base.get("analyse_within", "1h"))
    try:
        parse_duration(str(within))
    except TimeFormatError:
        raise fail(
            "warnings.analyse_within",
            _("{value!r} is not a duration").format(value=within),
            _("write a number and a unit: 15m, 2h, 1d"),
        ) from None
    measures = dict(base.get("measures", {}))
    given_measures = given.get("measures", {})
    if not isinstance(given_measures, dict):
        raise fail("warnings.measures", _("must be a table"), _("write external = [...] and internal = [...]"))
    for kind, steps in given_measures.items():
        where = f"warnings.measures.{kind}"
        if kind not in WARNING_KINDS:
            raise fail(where, _("unknown kind of warning"), _("use external or internal"))
        if not isinstance(steps, list):
            raise fail(
                where, _("must be a list"), _("write {kind} = [ {{key=..., en=..., zh=...}} ]").format(kind=kind)
            )
        measures[kind] = [
            {k: v for k, v in step.items() if k != "when"} for step in _validate_steps(steps, where, fail)
        ]
    return {"analyse_within": str(within), "measures": measures}


def _validate_steps(steps: list[Any], where: str, fail: Any) -> list[dict[str, Any]]:
    seen: set[str] = set()
    result = []
    for index, step in enumerate(steps):
        at = f"{where}.steps[{index}]"
        if not isinstance(step, dict):
            raise fail(at, _("must be a table"), _('write { key = "...", en = "...", zh = "..." }'))
        extra = set(step) - {"key", "en", "zh", "when"}
        if extra:
            raise fail(f"{at}.{sorted(extra)[0]}", _("unknown key"), _("use key, en, zh and when"))
        key = step.get("key")
        if not isinstance(key, str) or not key or not set(key) <= _KEY_CHARS:
            raise fail(
                f"{at}.key", _("{key!r} is not a step key").format(key=key), _("use lower-case letters, digits and _")
            )
        if key in seen:
            raise fail(
                f"{at}.key", _("{key!r} appears twice").format(key=key), _("give each step of a playbook its own key")
            )
        seen.add(key)
        en = step.get("en")
        if not isinstance(en, str) or not en.strip():
            raise fail(f"{at}.en", _("missing"), _("give the step's text in English"))
        zh = step.get("zh", "")
        if not isinstance(zh, str):
            raise fail(f"{at}.zh", _("must be text"), _("give the step's text in Chinese, or leave it out"))
        when = step.get("when")
        if when is not None and when not in CONDITIONS:
            raise fail(
                f"{at}.when",
                _("{when!r} is not a condition").format(when=when),
                _("use {first} or {second}").format(first=CONDITIONS[0], second=CONDITIONS[1]),
            )
        item = {"key": key, "en": en.strip(), "zh": zh.strip()}
        if when:
            item["when"] = when
        result.append(item)
    return result


def merged_with_defaults(document: dict[str, Any]) -> dict[str, Any]:
    """A file may give only some sections or categories; the rest keep the defaults.

    (Stores made before the deadline engine hold a policy without `deadlines`: they
    get the default rules.)"""
    merged = default_document()
    for category, body in document.get("playbooks", {}).items():
        merged["playbooks"][category] = body
    for section in ("deadlines", "probes", "warnings", "schedule"):
        if section in document:
            merged[section] = document[section]
    return merged


# -- the duty schedule's limits (docs/plan.md#duty-schedule) ----------------------------------


@dataclass(frozen=True)
class SchedulePolicy:
    """The policy's `[schedule]` section."""

    self_override: bool = True  # a member may add or remove an override for themselves
    max_hours_week: float = 60.0  # planned hours in a week (Monday to Sunday, the center's zone)
    min_rest_hours: float = 8.0  # between two planned shifts of one member
    ahead_days: int = 14  # how far ahead gaps and overloads are looked for


SCHEDULE_KEYS: dict[str, tuple[Any, Any, Any]] = {
    "self_override": (bool, None, None),
    "max_hours_week": ((int, float), 1, 168),
    "min_rest_hours": ((int, float), 0, 72),
    "ahead_days": (int, 1, 92),
}


def validate_policy(raw: Any, fail: Any) -> dict[str, Any]:
    """The `[schedule]` table of a policy file, checked key by key."""
    if not isinstance(raw, dict):
        raise fail("schedule", _("must be a table"), _("write [schedule] with self_override, max_hours_week, ..."))
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in SCHEDULE_KEYS:
            raise fail(f"schedule.{key}", _("unknown key"), _("use only {keys}").format(keys=", ".join(SCHEDULE_KEYS)))
        kind, low, high = SCHEDULE_KEYS[key]
        if kind is bool:
            if not isinstance(value, bool):
                raise fail(f"schedule.{key}", _("must be true or false"), _("write {key} = true").format(key=key))
        elif isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
            raise fail(
                f"schedule.{key}",
                _("must be a number from {low} to {high}").format(low=low, high=high),
                _("e.g. {key} = {low}").format(key=key, low=high if key == "ahead_days" else low),
            )
        out[key] = value
    return out


def policy_of(document: dict[str, Any]) -> SchedulePolicy:
    return SchedulePolicy(**document.get("schedule", {}))
