"""The transitions only a lead may make: one table, read by the service's checks and by
the PostgreSQL triggers generated from it (backend/pg_roles.py), so the two cannot drift.

- lowering a level (a less severe level than the incident has);
- closing an incident of level I or II;
- writing the roster, the contacts, the systems, the policy, the channels, the templates
  or the alert sources (imports, applies, `sources add|rotate|remove`), except a member
  putting themself on or off duty and the receiver counting a source's alerts.

tests/store/test_pg_roles.py walks every pair of levels and every closing level against a real
server as an operator's role and compares what it refuses with these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from .domain import Level, Status

LEVEL_RANK: dict[str, int] = {level.value: level.rank for level in Level}
CLOSE_NEEDS_LEAD: tuple[str, ...] = (Level.I.value, Level.II.value)
CLOSED = Status.CLOSED.value


@dataclass(frozen=True)
class LeadTable:
    """A table only leads write (while nobody leads, whoever can write sets it up)."""

    table: str
    what: str  # the CLI action, for the server's message
    self_columns: tuple[str, ...] = ()  # columns a member may change on their own row (`login`)
    system_columns: tuple[str, ...] = ()  # columns the system roles may change (the receiver's counts)


LEAD_TABLES: tuple[LeadTable, ...] = (
    LeadTable("roster_members", "roster import", self_columns=("on_duty",)),
    LeadTable("contacts", "contacts import"),
    LeadTable("systems", "systems import"),
    LeadTable("policy_versions", "policy apply"),
    LeadTable("routing_versions", "channels apply"),
    LeadTable("template_versions", "templates apply"),
    LeadTable(
        "alert_sources",
        "sources add, rotate and remove",
        system_columns=("accepted", "rejected", "last_accepted_at", "last_rejected_at"),
    ),
)


def lowers(before: str | None, after: str | None) -> bool:
    """Going from level `before` to `after` is a lowering (leads only)."""
    if before is None or after is None:
        return False
    return LEVEL_RANK[after] < LEVEL_RANK[before]


def closing_needs_lead(level: str | None) -> bool:
    """Closing an incident of `level` is for leads."""
    return level in CLOSE_NEEDS_LEAD
