"""The service desk's call log (docs/plan.md#service-desk): reading it, and masking the personal data
in it. Writing is `Service.add_call` and `Service.called_back`.

A contact (a phone number, an e-mail address) is personal data: every listing shows it
masked, and only a roster member who asks to unmask (`--unmask`, audited) sees it whole.
The audit trail holds only the masked form, since the trail is never deleted.
"""

from __future__ import annotations

import re
from typing import TypedDict

from sqlalchemy import select
from sqlmodel import Session, col

from .models import Incident, ServiceCall
from .rows import stored_id
from .timeutil import rfc3339

_DIGIT = re.compile(r"\d")


def mask(contact: str) -> str:
    """`+86 10 5550 0100` -> `+** ** **** 0100`; `li.na@example.org` -> `l***@example.org`.
    Enough is left to tell two callers apart, not to call them."""
    contact = contact.strip()
    if "@" in contact:
        local, _, domain = contact.rpartition("@")
        return f"{local[:1]}***@{domain}"
    digits = len(_DIGIT.findall(contact))
    keep = min(4, digits // 2)
    seen = 0
    out = []
    for char in contact:
        if char.isdigit():
            seen += 1
            out.append(char if seen > digits - keep else "*")
        elif char.isalpha():
            out.append("*")
        else:
            out.append(char)
    return "".join(out)


class CallRow(TypedDict):
    """One service desk call, as `calls --json` prints it."""

    id: int
    incident_id: int
    incident_status: str
    incident_title: str
    at: str
    caller: str
    contact: str  # masked unless asked for
    need: str
    callback: bool
    called_back_at: str | None
    called_back_by: str | None
    callback_note: str | None
    entered_by: str
    entered_at: str


def calls(
    session: Session, incident_id: int | None = None, *, owed: bool = False, unmask: bool = False
) -> list[CallRow]:
    """The calls of one incident (or all), oldest first; `owed`: only call-backs not yet
    made, those whose incident is resolved or closed first (they can be called back now)."""
    query = select(ServiceCall, col(Incident.status), col(Incident.title)).join(
        Incident, col(Incident.id) == col(ServiceCall.incident_id)
    )
    if incident_id is not None:
        query = query.where(col(ServiceCall.incident_id) == incident_id)
    if owed:
        query = query.where(col(ServiceCall.callback).is_(True), col(ServiceCall.called_back_at).is_(None))
    rows: list[CallRow] = [
        {
            "id": stored_id(c.id),
            "incident_id": c.incident_id,
            "incident_status": status,
            "incident_title": title,
            "at": rfc3339(c.at),
            "caller": c.caller,
            "contact": c.contact if unmask else mask(c.contact),
            "need": c.need,
            "callback": c.callback,
            "called_back_at": rfc3339(c.called_back_at),
            "called_back_by": c.called_back_by,
            "callback_note": c.callback_note,
            "entered_by": c.entered_by,
            "entered_at": rfc3339(c.entered_at),
        }
        for c, status, title in session.execute(query.order_by(col(ServiceCall.at), col(ServiceCall.id))).all()
    ]
    if owed:
        rows.sort(key=lambda r: r["incident_status"] not in ("resolved", "closed"))  # stable: by time within
    return rows
