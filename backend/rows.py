"""The read side's rows (backend/queries.py), named: what `--json` prints as it is, and
what the board, the detail, the record and the replay read by key.

TypedDicts, not dataclasses, because the CLI serialises them unchanged: the JSON keys,
their order and their values are the contract (`schema_version`). Times are RFC 3339
text in UTC; `X | None` is a value that may be null, never a key that may be missing.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict


def stored_id(row_id: int | None) -> int:
    """A row's id as read back from the store: the database set it, it is never None."""
    assert row_id is not None
    return row_id


# The incident's moments, in the order a person lived them (`queries.TIMESTAMPS`).
Timestamp = Literal[
    "reported_at",
    "outage_started_at",
    "acknowledged_at",
    "classified_at",
    "cause_located_at",
    "resolved_at",
    "record_filed_at",
    "closed_at",
]


class IncidentRow(TypedDict):
    """One incident as `incident list --json` prints it (`queries.incident_row`)."""

    id: int
    version: int
    title: str
    description: str
    category: str
    level: str | None
    status: str
    owner: str | None
    reporter: str
    system: str | None
    reported_at: str
    outage_started_at: str | None
    acknowledged_at: str | None
    classified_at: str | None
    cause_located_at: str | None
    resolved_at: str | None
    record_filed_at: str | None
    closed_at: str | None
    resolution: str | None
    close_kind: str | None
    close_reason: str | None
    duplicate_of: int | None
    reopened_from: int | None
    warning_id: int | None
    policy_version: int
    next_due_at: str | None
    updated_at: str
    updated_by: str
    schema_version: int


class NoteRow(TypedDict):
    at: str
    author: str
    text: str


class PlaybookStepRow(TypedDict):
    key: str
    category: str
    title: str
    title_zh: str
    state: str  # pending, done, skipped
    reason: str | None
    by: str | None
    at: str | None


class IncidentDetail(IncidentRow):
    """`queries.incident_detail`: the incident with its notes and playbook."""

    notes: list[NoteRow]
    playbook: list[PlaybookStepRow]


class AuditEventRow(TypedDict):
    seq: int
    at: str
    actor: str
    action: str
    details: dict[str, Any]  # the event's own JSON: its keys depend on the action
    hash: str


class RosterRow(TypedDict):
    login: str
    name: str
    permission: str
    duties: list[str]
    on_duty: bool
    on_duty_for: list[str]
    phone: str
    email: str
    open_incidents: int
    demo: bool
    lang: str | None


class ContactRow(TypedDict):
    key: str
    name: str
    kind: str
    phone: str
    email: str
    note: str
    lang: str | None


class SystemRow(TypedDict):
    name: str
    duty_area: str | None
    vendor_contact: str | None
    maintenance_contract: bool
    parent: str | None
    description: str


class EscalationTarget(TypedDict):
    """Whom a breach was escalated to, as `recipients.resolve_targets` names them."""

    kind: str
    to: str
    via: str  # why this one: the rule's target that chose them


class ClockItem(TypedDict):
    """One clock as the detail, `incident deadlines --json` and the replay show it."""

    key: str
    name: str
    name_zh: str
    clock: str
    clock_start: str
    due_at: str
    immediate: bool
    state: str  # deadlines.STATES
    remaining_s: int
    late_s: int | None
    met_at: str | None
    waived_at: str | None
    waived_by: str | None
    superseded_at: str | None
    escalate_to: list[str]
    escalated_at: str | None
    escalated_to: list[EscalationTarget]
    next_level: str | None


class NextDeadline(TypedDict):
    """The clock that ranks an incident (`queries.next_deadline`)."""

    key: str
    name: str
    name_zh: str
    due_at: str
    state: str
    remaining_s: int
    next_level: str | None
    pressing: bool


class AttestationRow(TypedDict):
    at: str
    by: str
    via: str
    note: str
    who: str


class ObligationRow(TypedDict):
    key: str
    en: str
    zh: str
    attested: list[AttestationRow]


class IncidentShow(IncidentDetail):
    """`incident show --json`: the detail with its clocks and obligations at the moment."""

    deadlines: list[ClockItem]
    next_deadline: NextDeadline | None
    obligations: list[ObligationRow]


class ProbeRow(TypedDict):
    """One probe with its health, as `probe list --json` prints it."""

    name: str
    system: str | None
    state: str
    stale: bool
    silenced_until: str | None
    silence_reason: str | None
    last_result_at: str | None
    age_s: int | None
    output: str
    results: int
    interval_s: int | None
    state_since: str | None
    consecutive: int
    readiness_cell: str | None
    last_success_at: str | None
    incident_id: int | None


class ProbeResultRow(TypedDict):
    at: str
    state: str
    output: str
    stale: bool
    source: str
    perfdata: list[Any]  # as the probe reported it: numbers, units, thresholds
    flags: list[str]
    incident_id: int | None


class ProbeShow(ProbeRow):
    """`probe show --json`: the probe with its newest results."""

    recent: list[ProbeResultRow]


class OutboxRow(TypedDict):
    """One notification as `notify list --json` prints it (no URL, no payload)."""

    id: int
    key: str
    event: str
    recipient_kind: str
    recipient: str
    channel: str | None
    state: str
    attempts: int
    last_error: str | None
    next_attempt_at: str | None
    created_at: str
    sent_at: str | None
    incident_id: int | None


# -- warnings (预警, docs/plan.md#warnings) ------------------------------------------------


class WarningClockRow(TypedDict):
    """One clock of a warning with its state at a moment (`warning_clocks.clock_rows`)."""

    key: str  # analysed, leadership_told
    clock_start: str
    due_at: str
    state: str  # deadlines.STATES
    remaining_s: int
    met_at: str | None
    waived_at: str | None
    escalated_at: str | None


class RunningWarningClock(TypedDict):
    """A warning clock still running at a past moment (`warning_trail.warnings_at`)."""

    key: str
    due_at: str
    state: str
    remaining_s: int


class WarningSummary(TypedDict):
    """One warning as `warning list --json` prints it (`early_warning.summary`)."""

    id: int
    kind: str  # external, internal
    status: str  # open, promoted, passed
    title: str
    source: str
    probe_id: int | None
    systems: list[str]
    serious: bool
    raised_at: str
    raised_by: str
    analysed_at: str | None
    closed_at: str | None
    incident_id: int | None
    version: int


class WarningMeasureRow(TypedDict):
    key: str
    title: str
    title_zh: str
    done: bool
    done_at: str | None
    done_by: str | None


class WarningToldRow(TypedDict):
    told: str  # leadership, departments, ...
    who: str
    at: str
    by: str
    via: str
    note: str


class WarningDetail(WarningSummary):
    """`warning show --json` and the warning screen (`early_warning.detail`)."""

    known: str
    analysis: str
    analysed_by: str | None
    closed_by: str | None
    close_reason: str | None
    leadership_told: bool
    measures: list[WarningMeasureRow]
    told: list[WarningToldRow]
    notes: list[NoteRow]
    clocks: list[WarningClockRow]
    trail: list[AuditEventRow]


class OpenWarning(WarningSummary):
    """An open warning with its most urgent clock (`early_warning.open_warnings`)."""

    next_clock: WarningClockRow | None
    measures_done: int
    measures_total: int


class WarningAt(WarningSummary):
    """A warning as it stood at a past moment (`warning_trail.warnings_at`)."""

    next_clock: RunningWarningClock | None
    measures_done: int
    measures_total: int


class WarningBreach(TypedDict):
    """A warning clock escalated during the shift."""

    warning_id: int
    title: str
    clock: str
    due_at: str
    escalated_at: str
    to: list[str]


class WarningEnded(TypedDict):
    """A warning promoted or passed during the shift."""

    id: int
    title: str
    status: str
    closed_at: str | None
    closed_by: str | None
    incident_id: int | None
    reason: str | None


class ShiftWarnings(TypedDict):
    """`warning_trail.since`: what the handover says of warnings during the shift."""

    warning_breaches_since: list[WarningBreach]
    warnings_ended_since: list[WarningEnded]
