"""One Chinese word for each idea (issue #19, item 8): a reason someone gives is 理由, a
cause of a failure is 原因, never the one word for both."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

CATALOG = Path(__file__).resolve().parents[2] / "backend" / "locale" / "zh_CN" / "LC_MESSAGES" / "opsdeck.po"


def messages() -> list[tuple[str, str]]:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    out = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        msgstr = message.string if isinstance(message.string, str) else message.string[0]
        out.append((msgid, msgstr))
    return out


def test_a_reason_is_never_called_a_cause_and_a_cause_never_a_reason() -> None:
    # "reason" as a word a person reads: not the --reason option, not a {reason} placeholder
    reason = re.compile(r"(?<![-{.])\breasons?\b(?!})", re.IGNORECASE)
    cause = re.compile(r"\bcause[sd]?\b", re.IGNORECASE)
    both = [(i, s) for i, s in messages() if reason.search(i) and cause.search(i)]
    reasons = [(i, s) for i, s in messages() if reason.search(i) and (i, s) not in both]
    causes = [(i, s) for i, s in messages() if cause.search(i) and (i, s) not in both]
    assert reasons and causes
    assert [(i, s) for i, s in reasons if "原因" in s] == []
    assert [(i, s) for i, s in causes if "理由" in s] == []
    assert [(i, s) for i, s in reasons if "理由" not in s] == []
    assert [(i, s) for i, s in causes if "原因" not in s] == []
