"""The engine behind backend/messages.py: Jinja2's immutable sandbox, with arithmetic
that cannot build a huge text, no globals, and every inserted field passed through the
format's escaper. Kept apart so that only a process that renders a message imports
Jinja2."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .messages import FILTERS, MAX_OUTPUT, escaper, short


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, and arithmetic that cannot build a gigabyte string
    (`{{ "x" * 10**9 }}`) or a huge number: a message, not a program."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Methods of the fields (`incident.title.upper()`) yes; none that pads a text to a
        size given in the template (`center(10**9)`) or formats it."""
        if getattr(__obj, "__name__", "") in ("format", "format_map"):
            raise SecurityError("format a message with {{ field }}, not .format()")
        numbers = [v for v in (*args, *kwargs.values()) if isinstance(v, int)]
        if any(abs(n) > MAX_OUTPUT for n in numbers):
            raise SecurityError("a size larger than a message")
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("format a message with {{ field }}, not %")
        if operator == "**" and (not isinstance(right, int) or abs(right) > 64 or abs(left) > 10**6):
            raise SecurityError(f"{left!r} ** {right!r} is too large for a message")
        sizes = [len(v) if isinstance(v, (str, list, tuple)) else 0 for v in (left, right)]
        counts = [v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)]
        if operator == "*" and any(sizes) and any(abs(n) * max(sizes) > MAX_OUTPUT for n in counts):
            raise SecurityError("a repeated text longer than a message")
        if operator == "+" and sum(sizes) > MAX_OUTPUT:
            raise SecurityError("a text longer than a message")
        return super().call_binop(context, operator, left, right)


@cache
def environment(fmt: str) -> ImmutableSandboxedEnvironment:
    escape = escaper(fmt)

    def finalize(value: Any) -> str:
        return escape("" if value is None else str(value))

    env = _Sandbox(
        undefined=StrictUndefined,
        finalize=finalize,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=False,
    )
    env.globals.clear()  # no range(), lipsum(), cycler(): the fields and a few filters only
    env.filters = {name: env.filters[name] for name in FILTERS if name in env.filters}
    env.filters["short"] = short
    return env
