"""Label matchers as Alertmanager writes them: `name="value"`, `name!="value"`,
`name=~"regex"`, `name!~"regex"`. A regular expression matches the whole value, as
Alertmanager anchors it; a label that is absent is the empty string."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)


class MatcherError(ValueError):
    pass


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # = != =~ !~
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.op in ("=", "!="):
            return (actual == self.value) == (self.op == "=")
        assert self._regex is not None
        return (self._regex.fullmatch(actual) is not None) == (self.op == "=~")


def parse(text: str) -> Matcher:
    """`severity="critical"` (quotes optional) into a Matcher; MatcherError says why not."""
    found = _MATCHER.match(text) if isinstance(text, str) else None
    if found is None:
        raise MatcherError(f"{text!r} is not a matcher")
    label, op, value = found.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    regex = None
    if op in ("=~", "!~"):
        try:
            regex = re.compile(value)
        except re.error as error:
            raise MatcherError(f"{text!r}: not a regular expression ({error})") from None
    return Matcher(label, op, value, regex)
