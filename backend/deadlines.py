"""The plan's clocks (docs/plan.md#deadlines) as data, and their pure computation.

`derive(facts, rules)` turns an incident's stored facts (timestamps, attestations) into
its current clocks: which rules apply, when each clock started, when it is due, and
whether (and when) it was met. Due times depend only on facts and policy, so they are
computed in the write transaction and stored; `state(clock, now)` only decides
pending / warning / breached / met / met_late / waived / superseded. Nothing counts down
in memory.

Closing meets nothing: a clock not yet due when the incident closes is waived (by the
person who closed it), one already overdue stays breached. A clock replaced by another
(a re-grade restarts the leadership report) keeps the state it had when it was replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .domain import CLASSIFIED_CATEGORIES, ContactKind, Duty, Level
from .i18n import _
from .timeutil import TimeFormatError, parse_duration, rfc3339

STARTS = ("reported", "classified", "outage_start", "acknowledged", "resolved")
FACTS = ("acknowledged", "classified", "cause_located", "resolved", "record_filed", "any_update")
STATES = ("pending", "warning", "breached", "met", "met_late", "waived", "superseded")
TARGET_KINDS = ("duty", "permission", "contact")
TARGET_WORDS = ("owner", "system_vendor", "on_duty")


@dataclass(frozen=True)
class Rule:
    key: str
    name: str
    name_zh: str
    starts: str
    after: timedelta | None  # None: the level's bound (regrade)
    met_by: tuple[str, ...]
    levels: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    systems: frozenset[str] = frozenset()
    warning: float = 0.2
    escalate_to: tuple[str, ...] = ()
    immediate: bool = False

    @property
    def level_bound(self) -> bool:
        return self.after is None


@dataclass(frozen=True)
class Obligation:
    key: str
    en: str
    zh: str
    who: bool = False


@dataclass(frozen=True)
class DeadlinePolicy:
    rules: tuple[Rule, ...]
    obligations: tuple[Obligation, ...]
    auto_regrade: bool = False

    def rule(self, key: str) -> Rule | None:
        return next((r for r in self.rules if r.key == key), None)


@dataclass(frozen=True)
class Facts:
    """What the store knows about one incident, as of its last write."""

    reported_at: datetime
    outage_started_at: datetime | None = None
    acknowledged_at: datetime | None = None
    classified_at: datetime | None = None
    level_since: datetime | None = None
    cause_located_at: datetime | None = None
    resolved_at: datetime | None = None
    record_filed_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    reopened_at: datetime | None = None
    last_activity_at: datetime | None = None
    status: str = "reported"
    category: str = "unclassified"
    level: str | None = None
    system: str | None = None
    # obligation key -> times attested; "regrade@2h" -> times a re-grade was declined
    attested: dict[str, tuple[datetime, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Clock:
    """One deadline of one incident: what `derive` returns and the store keeps."""

    rule: str
    clock_key: str  # unique per (incident, rule): a new clock can escalate again
    clock_start: datetime
    due_at: datetime
    met_at: datetime | None
    warn_at: datetime
    next_level: str | None = None  # regrade: the level that is due
    waived_at: datetime | None = None  # closed before it was due
    waived_by: str | None = None


@dataclass(frozen=True)
class ClockState:
    state: str
    remaining_s: float  # negative when overdue
    late_s: float | None = None  # met_late: by how much


# -- computation ---------------------------------------------------------------------------


def derive(facts: Facts, policy: DeadlinePolicy) -> list[Clock]:
    """The incident's current clocks under `policy`."""
    clocks = []
    for rule in policy.rules:
        if not _applies(rule, facts):
            continue
        clock = _regrade_clock(rule, facts) if rule.level_bound else _plain_clock(rule, facts)
        if clock is not None:
            clocks.append(clock)
    return clocks


def _applies(rule: Rule, facts: Facts) -> bool:
    if rule.levels and facts.level not in rule.levels:
        return False
    if rule.categories and facts.category not in rule.categories:
        return False
    return not (rule.systems and facts.system not in rule.systems)


def clock_start(rule: Rule, facts: Facts) -> datetime | None:
    if rule.starts == "reported":
        return max(t for t in (facts.reported_at, facts.reopened_at) if t is not None)
    if rule.starts == "classified":
        return facts.level_since if facts.level else None
    if rule.starts == "outage_start":
        return facts.outage_started_at or facts.reported_at
    if rule.starts == "acknowledged":
        if facts.status != "acknowledged" or facts.acknowledged_at is None:
            return None
        if "any_update" in rule.met_by and facts.last_activity_at:
            # A lease: every update renews it.
            return max(facts.acknowledged_at, facts.last_activity_at)
        return facts.acknowledged_at
    if rule.starts == "resolved":
        return facts.resolved_at
    raise ValueError(rule.starts)


def _plain_clock(rule: Rule, facts: Facts) -> Clock | None:
    start = clock_start(rule, facts)
    if start is None:
        return None
    assert rule.after is not None
    due = start + rule.after
    met = met_time(rule, facts, start)
    waived_at, waived_by = waiver(facts, due, met)
    return Clock(
        rule=rule.key,
        clock_key=rfc3339(start) or "",
        clock_start=start,
        due_at=due,
        met_at=met,
        warn_at=_warn_at(start, due, rule.warning),
        waived_at=waived_at,
        waived_by=waived_by,
    )


def _regrade_clock(rule: Rule, facts: Facts) -> Clock | None:
    """The outage passes the current level's bound: the next level is due.

    A declined re-grade (attested `regrade@Nh`) moves the clock to the next bound; a
    level raised past the bound answers it."""
    if not facts.level:
        return None
    start = clock_start(rule, facts)
    assert start is not None
    level: Level | None = Level(facts.level)
    while level is not None and level.outage_bound_hours is not None:
        bound = level.outage_bound_hours
        if not facts.attested.get(f"regrade@{bound}h"):
            nxt = level.next_more_severe()
            due = start + timedelta(hours=bound)
            met = met_time(rule, facts, start)
            waived_at, waived_by = waiver(facts, due, met)
            return Clock(
                rule=rule.key,
                clock_key=f"{rfc3339(start)}@{bound}h",
                clock_start=start,
                due_at=due,
                met_at=met,
                warn_at=_warn_at(start, due, rule.warning),
                next_level=nxt.value if nxt else None,
                waived_at=waived_at,
                waived_by=waived_by,
            )
        level = level.next_more_severe()
    return None


def met_time(rule: Rule, facts: Facts, start: datetime, *, bound_hours: int | None = None) -> datetime | None:
    """The first fact at or after the clock's start that meets the rule. Closing meets
    nothing (see `waiver`), and the close itself is no update."""
    times: list[datetime | None] = []
    for fact in rule.met_by:
        if fact.startswith("attested:"):
            times.extend(facts.attested.get(fact.split(":", 1)[1], ()))
        elif fact == "any_update":
            update = facts.last_activity_at
            closing = facts.closed_at is not None and update is not None and update >= facts.closed_at
            times.append(update if update and update > start and not closing else None)
        elif fact == "classified" and facts.classified_at is not None and facts.level:
            # A classification outlives a reopen: the restarted clock finds it met at its start.
            times.append(max(facts.classified_at, start))
        else:
            times.append(getattr(facts, f"{fact}_at"))
    if bound_hours is not None:
        times.extend(facts.attested.get(f"regrade@{bound_hours}h", ()))
        if facts.level and (Level(facts.level).outage_bound_hours or 10**6) > bound_hours:
            times.append(facts.level_since)
    candidates = [t for t in times if t is not None and t >= start]
    return min(candidates) if candidates else None


def waiver(facts: Facts, due_at: datetime, met_at: datetime | None) -> tuple[datetime | None, str | None]:
    """A clock not met when the incident closed, and not yet due then, is waived by whoever
    closed it. One already overdue gets no waiver: it stays breached."""
    closed = facts.closed_at
    if closed is None or (met_at is not None and met_at <= closed) or due_at <= closed:
        return None, None
    return closed, facts.closed_by


def ended(rule: Rule | None, facts: Facts, clock: Any) -> tuple[datetime | None, datetime | None, str | None]:
    """A running clock whose rule no longer derives it (the level changed, the incident
    was reopened, resolved or closed): `(met_at, waived_at, waived_by)`. All None means it
    was replaced (superseded) while the incident is open, or, for a closed incident, that
    it was overdue at the close and stays breached."""
    bound = bound_of(clock.clock_key)
    met = met_time(rule, facts, clock.clock_start, bound_hours=bound) if rule else None
    if met is not None:
        return met, None, None
    waived_at, waived_by = waiver(facts, clock.due_at, None)
    return None, waived_at, waived_by


def _warn_at(start: datetime, due: datetime, band: float) -> datetime:
    return due - (due - start) * band


def state(clock: Clock | Any, now: datetime) -> ClockState:
    """pending / warning / breached / met / met_late / waived / superseded, at `now` (due
    exactly now is warning). A superseded clock keeps the state it had when replaced: a
    breach stays breached (by as much as it was then), a running clock reads superseded."""
    remaining = (clock.due_at - now).total_seconds()
    if clock.met_at is not None and clock.met_at <= now:
        if clock.met_at <= clock.due_at:
            return ClockState("met", remaining)
        return ClockState("met_late", remaining, (clock.met_at - clock.due_at).total_seconds())
    waived_at = getattr(clock, "waived_at", None)
    if waived_at is not None and waived_at <= now:
        return ClockState("waived", remaining)
    superseded_at = getattr(clock, "superseded_at", None)
    if superseded_at is not None and superseded_at <= now:
        if superseded_at > clock.due_at:
            return ClockState("breached", (clock.due_at - superseded_at).total_seconds())
        return ClockState("superseded", remaining)
    if now > clock.due_at:
        return ClockState("breached", remaining)
    if now >= clock.warn_at:
        return ClockState("warning", remaining)
    return ClockState("pending", remaining)


def bound_of(clock_key: str) -> int | None:
    """`...@12h` -> 12 (regrade clocks)."""
    if "@" not in clock_key:
        return None
    return int(clock_key.rsplit("@", 1)[1].rstrip("h"))


# -- policy document ----------------------------------------------------------------------


class PolicyError(ValueError):
    def __init__(self, key: str, what: str, fix: str) -> None:
        self.key, self.what, self.fix = key, what, fix
        super().__init__(f"{key}: {what}")


def parse(document: dict[str, Any]) -> DeadlinePolicy:
    """Build the policy from a validated document's `deadlines` section."""
    section = document.get("deadlines", {})
    grace = parse_duration(section.get("immediate_grace", "15m"))
    band = float(section.get("warning_band", 0.2))
    rules = []
    for raw in section.get("rule", []):
        after = raw["after"]
        rules.append(
            Rule(
                key=raw["key"],
                name=raw.get("name", raw["key"]),
                name_zh=raw.get("name_zh", ""),
                starts=raw["starts"],
                after=None if after == "level_bound" else grace if after == "immediate" else parse_duration(after),
                met_by=tuple(raw["met_by"]),
                levels=frozenset(raw.get("levels", [])),
                categories=frozenset(raw.get("categories", [])),
                systems=frozenset(raw.get("systems", [])),
                warning=float(raw.get("warning", band)),
                escalate_to=tuple(raw.get("escalate_to", [])),
                immediate=after == "immediate",
            )
        )
    obligations = tuple(
        Obligation(o["key"], o["en"], o.get("zh", ""), bool(o.get("who", False))) for o in section.get("obligation", [])
    )
    return DeadlinePolicy(tuple(rules), obligations, bool(section.get("auto_regrade", False)))


def validate(section: Any) -> dict[str, Any]:
    """Check a `[deadlines]` section whole; raise PolicyError naming the key and the fix."""
    if not isinstance(section, dict):
        raise PolicyError("deadlines", _("must be a table"), _("write [deadlines] and [[deadlines.rule]] tables"))
    allowed = {"immediate_grace", "warning_band", "auto_regrade", "rule", "obligation"}
    for key in section:
        if key not in allowed:
            raise PolicyError(
                f"deadlines.{key}", _("unknown key"), _("use {keys}").format(keys=", ".join(sorted(allowed)))
            )
    _duration(section.get("immediate_grace", "15m"), "deadlines.immediate_grace")
    _fraction(section.get("warning_band", 0.2), "deadlines.warning_band")
    if not isinstance(section.get("auto_regrade", False), bool):
        raise PolicyError("deadlines.auto_regrade", _("must be true or false"), _("write auto_regrade = false"))
    obligations = [_obligation(o, i) for i, o in enumerate(_list(section, "obligation"))]
    known_obligations = {o["key"] for o in obligations}
    rules = [_rule(r, i, known_obligations) for i, r in enumerate(_list(section, "rule"))]
    _unique([r["key"] for r in rules], "deadlines.rule")
    _unique([o["key"] for o in obligations], "deadlines.obligation")
    return {
        **{k: v for k, v in section.items() if k not in ("rule", "obligation")},
        "rule": rules,
        "obligation": obligations,
    }


def _list(section: dict[str, Any], name: str) -> list[Any]:
    value = section.get(name, [])
    if not isinstance(value, list):
        raise PolicyError(
            f"deadlines.{name}", _("must be a list of tables"), _("write [[deadlines.{name}]]").format(name=name)
        )
    return value


def _unique(keys: list[str], where: str) -> None:
    seen = set()
    for index, key in enumerate(keys):
        if key in seen:
            raise PolicyError(
                f"{where}[{index}].key", _("{key!r} appears twice").format(key=key), _("give each its own key")
            )
        seen.add(key)


def _duration(value: Any, where: str) -> None:
    try:
        parse_duration(str(value))
    except TimeFormatError:
        raise PolicyError(
            where, _("{value!r} is not a duration").format(value=value), _("write a number and a unit: 15m, 2h, 1d")
        ) from None


def _fraction(value: Any, where: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise PolicyError(
            where, _("{value!r} is not a fraction").format(value=value), _("write a number from 0 to 0.99, like 0.2")
        )


def _obligation(raw: Any, index: int) -> dict[str, Any]:
    at = f"deadlines.obligation[{index}]"
    if not isinstance(raw, dict):
        raise PolicyError(at, _("must be a table"), _("write { key = ..., en = ..., zh = ... }"))
    extra = set(raw) - {"key", "en", "zh", "who"}
    if extra:
        raise PolicyError(f"{at}.{sorted(extra)[0]}", _("unknown key"), _("use key, en, zh and who"))
    if not isinstance(raw.get("key"), str) or not raw["key"].replace("_", "").isalnum():
        raise PolicyError(
            f"{at}.key",
            _("{key!r} is not a key").format(key=raw.get("key")),
            _("use lower-case letters, digits and _"),
        )
    if not isinstance(raw.get("en"), str) or not raw["en"].strip():
        raise PolicyError(f"{at}.en", _("missing"), _("say what is attested, in English"))
    return dict(raw)


def _rule(raw: Any, index: int, obligations: set[str]) -> dict[str, Any]:
    at = f"deadlines.rule[{index}]"
    if not isinstance(raw, dict):
        raise PolicyError(at, _("must be a table"), _("write [[deadlines.rule]] with key, starts, after, met_by"))
    allowed = {
        "key",
        "name",
        "name_zh",
        "starts",
        "after",
        "met_by",
        "levels",
        "categories",
        "systems",
        "warning",
        "escalate_to",
    }
    extra = set(raw) - allowed
    if extra:
        raise PolicyError(
            f"{at}.{sorted(extra)[0]}", _("unknown key"), _("use {keys}").format(keys=", ".join(sorted(allowed)))
        )
    key = raw.get("key")
    if not isinstance(key, str) or not key or not key.replace("_", "").isalnum() or key.lower() != key:
        raise PolicyError(
            f"{at}.key", _("{key!r} is not a rule key").format(key=key), _("use lower-case letters, digits and _")
        )
    at = f"deadlines.rule[{index}] ({key})"
    if raw.get("starts") not in STARTS:
        raise PolicyError(
            f"{at}.starts",
            _("{starts!r} is not a clock start").format(starts=raw.get("starts")),
            _("use one of {values}").format(values=", ".join(STARTS)),
        )
    after = raw.get("after")
    if after not in ("immediate", "level_bound"):
        _duration(after, f"{at}.after")
    if after == "level_bound" and raw["starts"] != "outage_start":
        raise PolicyError(
            f"{at}.after", _("level_bound counts from the outage start"), _('write starts = "outage_start"')
        )
    met_by = raw.get("met_by")
    if not isinstance(met_by, list) or not met_by:
        raise PolicyError(
            f"{at}.met_by",
            _("missing"),
            _("list what meets it: {facts}, attested:OBLIGATION").format(facts=", ".join(FACTS)),
        )
    for fact in met_by:
        if fact.startswith("attested:"):
            if fact.split(":", 1)[1] not in obligations:
                raise PolicyError(
                    f"{at}.met_by",
                    _("{fact!r} names no obligation").format(fact=fact),
                    _("use one of {values} or add a [[deadlines.obligation]]").format(
                        values=", ".join(sorted(obligations))
                    ),
                )
        elif fact not in FACTS:
            raise PolicyError(
                f"{at}.met_by",
                _("{fact!r} is not a fact").format(fact=fact),
                _("use {facts} or attested:OBLIGATION").format(facts=", ".join(FACTS)),
            )
    _members(raw, "levels", {lvl.value for lvl in Level}, at)
    _members(raw, "categories", {c.value for c in CLASSIFIED_CATEGORIES}, at)
    if "systems" in raw and not (isinstance(raw["systems"], list) and all(isinstance(s, str) for s in raw["systems"])):
        raise PolicyError(f"{at}.systems", _("must be a list of system names"), _('write systems = ["db-cluster"]'))
    if "warning" in raw:
        _fraction(raw["warning"], f"{at}.warning")
    for target in raw.get("escalate_to", []):
        _target(target, f"{at}.escalate_to")
    return dict(raw)


def _members(raw: dict[str, Any], name: str, allowed: set[str], at: str) -> None:
    values = raw.get(name, [])
    if not isinstance(values, list) or any(v not in allowed for v in values):
        raise PolicyError(
            f"{at}.{name}",
            _("{given!r} has an unknown value").format(given=values),
            _("use {values}").format(values=", ".join(sorted(allowed))),
        )


def _target(target: Any, where: str) -> None:
    if target in TARGET_WORDS:
        return
    kind, _sep, value = str(target).partition(":")
    valid = {
        "duty": {d.value for d in Duty},
        "permission": {"lead", "operator"},
        "contact": {k.value for k in ContactKind},
    }
    if kind not in valid or value not in valid[kind]:
        raise PolicyError(
            where,
            _("{target!r} is not an escalation target").format(target=target),
            _("use duty:NAME, permission:lead, contact:KIND, owner, system_vendor or on_duty"),
        )
