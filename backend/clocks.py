"""Keeping each incident's clocks in the store, inside the write transaction.

After every change to an incident, `sync` reads its facts, derives its clocks under
the policy version the incident is pinned to, and stores them: new clocks are added,
existing ones updated, clocks whose rule stopped applying are marked superseded (kept,
with the state they had then: a breach stays breached). Closing meets nothing: a clock
not yet due at the close is waived by whoever closed it, an overdue one stays breached. `incident.next_due_at` is the earliest clock still owed an
escalation, so the sweep finds due incidents with one indexed range query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, col

from . import deadlines, memo, policy, ranking
from .bulk import Read
from .models import Attestation, Incident, IncidentDeadline, PolicyVersion, table_of
from .models.columns import construct
from .orm_rows import as_loaded, as_pending, held_already


def load_policy(session: Session, version: int | None = None) -> policy.Policy:
    """The current (or a pinned) policy version. Versions never change once stored, so
    only their number and hash are read when this process has parsed the document, and
    only once per transaction (backend/memo.py)."""
    found = memo.remembered(session, ("policy", version), POLICY_TABLES, lambda: _read_policy(session, version))
    if version is None:  # the current version is also that version pinned
        memo.remembered(session, ("policy", found.version), POLICY_TABLES, lambda: found)
    return found


POLICY_TABLES = ("policy_versions",)


def _read_policy(session: Session, version: int | None) -> policy.Policy:
    table = table_of(PolicyVersion).c
    query = select(table.version, table.hash)
    if version is None:
        query = query.order_by(table.version.desc()).limit(1)
    else:
        query = query.where(table.version == version)
    number, digest = session.execute(query).one()
    found = policy.lookup(number, digest)
    if found is not None:
        return found
    document = session.execute(select(table.document).where(table.version == number)).scalar_one()
    return policy.cached(number, digest, document)


def facts_of(session: Session, incident: Incident, attested: Attested | None = None) -> deadlines.Facts:
    """The incident's facts (`attested`: its attestations, when the caller knows them)."""
    incident_id = incident.id
    if attested is None:
        attested = memo.remembered(
            session,
            ("attested", incident_id),
            ATTESTATION_TABLES,
            lambda: _attested(session, [incident_id]).get(incident_id, {}),
        )
    system = memo.system(session, incident.system_id)
    return deadlines.Facts(
        reported_at=incident.reported_at,
        outage_started_at=incident.outage_started_at,
        acknowledged_at=incident.acknowledged_at,
        classified_at=incident.classified_at,
        level_since=incident.level_since,
        cause_located_at=incident.cause_located_at,
        resolved_at=incident.resolved_at,
        record_filed_at=incident.record_filed_at,
        closed_at=incident.closed_at,
        closed_by=incident.updated_by if incident.closed_at is not None else None,
        reopened_at=incident.reopened_at,
        last_activity_at=incident.last_activity_at,
        status=incident.status,
        category=incident.category,
        level=incident.level,
        system=system.name if system else None,
        attested={k: tuple(sorted(v)) for k, v in attested.items()},
    )


ATTESTATION_TABLES = ("attestations",)


Attested = dict[str, list[Any]]  # attestation key -> when each was attested


# Built once: building a statement costs more than running it.
_ATTESTED = select(col(Attestation.incident_id), col(Attestation.key), col(Attestation.at)).where(
    col(Attestation.incident_id).in_(bindparam("ids", expanding=True))
)
_CLOCK_ROWS = (
    select(IncidentDeadline)
    .where(col(IncidentDeadline.incident_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(IncidentDeadline.id))
)


def _attested(session: Session, incident_ids: list[int | None]) -> dict[int | None, Attested]:
    found: dict[int | None, Attested] = {}
    for incident_id, key, at in session.execute(_ATTESTED, {"ids": incident_ids}):
        found.setdefault(incident_id, {}).setdefault(key, []).append(at)
    return found


def prefetch(session: Session, incident_ids: list[int]) -> None:
    """Read the clock rows and attestations of many incidents in two queries, for a
    transaction about to `sync` each of them (the escalation sweep)."""
    held: dict[int | None, list[IncidentDeadline]] = session.info.setdefault(_HELD, {})
    wanted = [i for i in incident_ids if i not in held]
    if not wanted:
        return
    for incident_id in wanted:
        held[incident_id] = []
    for row in session.execute(_CLOCK_ROWS, {"ids": wanted}).scalars():
        held[row.incident_id].append(row)
    attested = _attested(session, list(wanted))
    for incident_id in wanted:
        _hold_attested(session, incident_id, attested.get(incident_id, {}))


# Whether the incident has any attestation, in the same query: most have none, and then
# their read (a statement of its own) is not needed.
_ANY_ATTESTED = (
    select(col(Attestation.id)).where(col(Attestation.incident_id) == col(Incident.id)).exists().label("attested")
)
_WITH_CLOCKS = (
    select(Incident, IncidentDeadline, _ANY_ATTESTED)
    .outerjoin(IncidentDeadline, col(IncidentDeadline.incident_id) == col(Incident.id))
    .where(col(Incident.id) == bindparam("id"))
    .order_by(col(IncidentDeadline.id))
)
# PostgreSQL: the incident's row locked, as session.get(..., with_for_update=True) locks it.
_WITH_CLOCKS_LOCKED = _WITH_CLOCKS.with_for_update(of=Incident)


def load_with_clocks(session: Session, connection: Connection, incident_id: int, *, lock: bool) -> Incident | None:
    """The incident (None: no such incident) with its clock rows and whether it has any
    attestation in one query, then its attestations if it has some: what `prefetch` reads
    for an action about to change it and `sync` its clocks, in one or two statements fewer
    than `session.get` and then `prefetch`; `lock`: the incident's row locked, as
    `session.get(..., with_for_update=True)` locks it (PostgreSQL). The query goes
    through Core on the write's `connection`, and the rows are made objects as the ORM's
    load makes them: the ORM's query and load were a quarter of an ack."""
    held: dict[int | None, list[IncidentDeadline]] = session.info.setdefault(_HELD, {})
    if incident_id in held:
        return session.get(Incident, incident_id, with_for_update=lock)
    found = _read_with_clocks(session, connection, incident_id, lock)
    if found is not _HELD_ALREADY:
        return found  # type: ignore[return-value]
    # The session holds one of its rows: the ORM's load keeps what it holds.
    rows = session.execute(_WITH_CLOCKS_LOCKED if lock else _WITH_CLOCKS, {"id": incident_id}).all()
    incident: Incident = rows[0][0]
    held[incident_id] = [row for _incident, row, _attested_any in rows if row is not None]
    _hold_attested_if(session, incident_id, rows[0][2])
    return incident


_INCIDENT_COLUMNS = tuple(attribute.key for attribute in sa_inspect(Incident).column_attrs)
_CLOCK_COLUMNS = tuple(attribute.key for attribute in sa_inspect(IncidentDeadline).column_attrs)
_WITH_CLOCKS_CORE = (
    select(
        *(table_of(Incident).c[name] for name in _INCIDENT_COLUMNS),
        *(table_of(IncidentDeadline).c[name] for name in _CLOCK_COLUMNS),
        _ANY_ATTESTED,
    )
    .select_from(
        table_of(Incident).outerjoin(
            table_of(IncidentDeadline), table_of(IncidentDeadline).c.incident_id == table_of(Incident).c.id
        )
    )
    .where(table_of(Incident).c.id == bindparam("id"))
    .order_by(table_of(IncidentDeadline).c.id)
)
_READ_WITH_CLOCKS = {
    False: Read(_WITH_CLOCKS_CORE, ["id"]),
    True: Read(_WITH_CLOCKS_CORE.with_for_update(of=table_of(Incident)), ["id"]),
}
_HELD_ALREADY = object()


def _read_with_clocks(
    session: Session, connection: Connection, incident_id: int, lock: bool
) -> Incident | object | None:
    """`load_with_clocks`'s query through Core; `_HELD_ALREADY` if the session holds one
    of its rows already (then the ORM's load decides what it holds). What the session
    holds unflushed is written first, as the ORM's query would (autoflush): an
    attestation added in this write is then seen."""
    if session.autoflush:
        session.flush()
    read = _READ_WITH_CLOCKS[lock]
    found = read.rows(connection, (incident_id,))
    if not found:
        return None
    split = len(_INCIDENT_COLUMNS)
    clock_id = split + _CLOCK_COLUMNS.index("id")  # None: the outer join found no clock row
    clock_ids = [row[clock_id] for row in found if row[clock_id] is not None]
    if held_already(session, Incident, [incident_id]) or held_already(session, IncidentDeadline, clock_ids):
        return _HELD_ALREADY
    last = len(found[0]) - 1
    values = read.values(connection, found[0], 0, split)
    incident = as_loaded(session, Incident, dict(zip(_INCIDENT_COLUMNS, values, strict=True)))
    session.info[_HELD][incident_id] = [
        as_loaded(
            session, IncidentDeadline, dict(zip(_CLOCK_COLUMNS, read.values(connection, row, split, last), strict=True))
        )
        for row in found
        if row[clock_id] is not None
    ]
    _hold_attested_if(session, incident_id, read.values(connection, found[0], last, last + 1)[0])
    return incident


def _hold_attested_if(session: Session, incident_id: int, attested_any: Any) -> None:
    attested = _attested(session, [incident_id]).get(incident_id, {}) if attested_any else {}
    _hold_attested(session, incident_id, attested)


def _hold_attested(session: Session, incident_id: int, attested: Attested) -> None:
    memo.remembered(session, ("attested", incident_id), ATTESTATION_TABLES, lambda: attested)


def sync(session: Session, incident: Incident, now: Any) -> list[IncidentDeadline]:
    """Re-derive and store the incident's clocks; return every row, current and past."""
    rules = load_policy(session, incident.policy_version).deadlines
    rows = _rows(session, incident)
    added = _derive(incident, rows, facts_of(session, incident), rules, now)
    session.add_all(added)
    return list(rows)


def first_clocks(session: Session, incident: Incident) -> list[IncidentDeadline]:
    """A new incident's clocks, derived before it is inserted (it has no clock rows and
    no attestations yet), so its due times go in with its own INSERT; `new_incident`
    then files the rows under the id the INSERT gave it."""
    rules = load_policy(session, incident.policy_version).deadlines
    rows: list[IncidentDeadline] = []
    _derive(incident, rows, facts_of(session, incident, attested={}), rules, now=None)
    return rows


def _derive(
    incident: Incident, rows: list[IncidentDeadline], facts: deadlines.Facts, rules: Any, now: Any
) -> list[IncidentDeadline]:
    """Bring `rows` (every clock row of the incident) and the incident's due times in line
    with the clocks its facts derive; returns the rows it added to `rows`."""
    derived = {(c.rule, c.clock_key): c for c in deadlines.derive(facts, rules)}
    existing = {(r.rule, r.clock_key): r for r in rows}
    added = []
    for key, clock in derived.items():
        values: dict[str, Any] = {
            "due_at": clock.due_at,
            "warn_at": clock.warn_at,
            "met_at": clock.met_at,
            "next_level": clock.next_level,
            "superseded_at": None,
            "waived_at": clock.waived_at,
            "waived_by": clock.waived_by,
        }
        row = existing.get(key)
        if row is None:  # built with every value at once: setting each on a new row costs its events
            row = construct(
                IncidentDeadline,
                incident_id=incident.id or 0,  # 0: a new incident's, filed under its id by new_incident
                rule=clock.rule,
                clock_key=clock.clock_key,
                clock_start=clock.clock_start,
                **values,
            )
            added.append(row)
            rows.append(row)
        else:
            _assign(row, **values)
    for key, row in existing.items():
        if key in derived or not running(row):
            continue
        met_at, waived_at, waived_by = deadlines.ended(rules.rule(row.rule), facts, row)
        _assign(row, met_at=met_at, waived_at=waived_at, waived_by=waived_by)
        if row.met_at is None and row.waived_at is None and facts.closed_at is None:
            row.superseded_at = now
    reporting = [r for r in rows if running(r) and ranking.reports(r.rule)]
    _assign(
        incident,
        next_due_at=next_due(rows),
        first_due_at=first_due(rows),
        report_due_at=min((r.due_at for r in reporting), default=None),
        report_warn_at=min((r.warn_at for r in reporting), default=None),
    )
    return added


def _assign(row: Any, **values: Any) -> None:
    """Set only what differs: an attribute set through the ORM costs its bookkeeping
    (and marks the row for the flush) even when the value is the same; the rows written
    are the same either way."""
    held = row.__dict__  # the loaded values, read without the ORM's descriptor (a sweep compares thousands)
    changed = {
        name: value for name, value in values.items() if (held[name] if name in held else getattr(row, name)) != value
    }
    state = held["_sa_instance_state"]
    if state.key is None and state.session_id is None:
        # A new row in no session yet (`first_clocks`' incident): set as `construct` sets
        # a field, with no history to keep and no listener to tell.
        held.update(changed)
        row.__pydantic_fields_set__.update(changed)
        return
    for name, value in changed.items():
        setattr(row, name, value)


_HELD = "opsdeck.clock_rows"


def _rows(session: Session, incident: Incident) -> list[IncidentDeadline]:
    """Every clock row of the incident, read once per transaction: `sync` is the only
    writer of these rows and changes them through these very objects, so the list it
    holds stays the truth for the rest of the transaction."""
    held: dict[int | None, list[IncidentDeadline]] = session.info.setdefault(_HELD, {})
    rows = held.get(incident.id)
    if rows is None:
        rows = held[incident.id] = list(session.execute(_CLOCK_ROWS, {"ids": [incident.id]}).scalars())
    return rows


def new_incident(session: Session, incident: Incident, rows: list[IncidentDeadline]) -> None:
    """An incident this transaction just inserted, with its `first_clocks`: they are all
    its clock rows, and it has no attestations yet (nothing to read)."""
    assert incident.id is not None
    for row in rows:  # rows not yet in the session: set as `construct` sets a field
        row.__dict__["incident_id"] = incident.id
    as_pending(session, rows)
    session.info.setdefault(_HELD, {})[incident.id] = rows
    _hold_attested(session, incident.id, {})


def held_rows(session: Session, incident_id: int | None) -> list[IncidentDeadline] | None:
    """The incident's clock rows if `sync` already holds them in this transaction."""
    rows = session.info.get(_HELD, {}).get(incident_id)
    return None if rows is None else list(rows)


def running(row: Any) -> bool:
    """Neither met, waived nor superseded (a closed incident's breach stays running)."""
    try:  # as `owed`: the values as the ORM holds them, when it holds them
        held = row.__dict__
        return held["met_at"] is None and held["waived_at"] is None and held["superseded_at"] is None
    except (AttributeError, KeyError):
        return row.met_at is None and row.waived_at is None and row.superseded_at is None


def breached_by(row: IncidentDeadline) -> datetime | None:
    """When the clock stopped counting: met, waived, superseded, or still running (None)."""
    return _ended(row.met_at, row.waived_at, row.superseded_at)


def _ended(met_at: datetime | None, waived_at: datetime | None, superseded_at: datetime | None) -> datetime | None:
    """The earliest of the three that is set. Spelled out, not min() over a filtered list:
    the sweep asks it of every clock row of every due incident, a dozen times each."""
    ended = met_at
    if waived_at is not None and (ended is None or waived_at < ended):
        ended = waived_at
    if superseded_at is not None and (ended is None or superseded_at < ended):
        ended = superseded_at
    return ended


def owed(row: IncidentDeadline) -> bool:
    """Still owed an escalation record: not escalated, and not met or superseded in time.

    A clock that was met late, or stopped applying after its due time, was breached all
    the same, so its escalation is recorded even if no sweep ran while it was overdue:
    which escalations exist depends on the facts, never on when the sweep happened to
    run. Only clocks still overdue page anyone (see escalation)."""
    try:  # the values as the ORM holds them: the sweep asks this a dozen times a row
        held = row.__dict__
        escalated_at, due_at = held["escalated_at"], held["due_at"]
        met_at, waived_at, superseded_at = held["met_at"], held["waived_at"], held["superseded_at"]
    except (AttributeError, KeyError):  # not an ORM row, or a value not loaded: read as any attribute
        escalated_at, due_at = row.escalated_at, row.due_at
        met_at, waived_at, superseded_at = row.met_at, row.waived_at, row.superseded_at
    if escalated_at is not None:
        return False
    ended = _ended(met_at, waived_at, superseded_at)
    return ended is None or ended > due_at


def next_due(rows: list[IncidentDeadline]) -> datetime | None:
    earliest = None
    for row in rows:
        if owed(row) and (earliest is None or row.due_at < earliest):
            earliest = row.due_at
    return earliest


def first_due(rows: list[IncidentDeadline]) -> datetime | None:
    """The clock the board counts down: the earliest not met (breached ones included)."""
    due = [r.due_at for r in rows if running(r)]
    return min(due) if due else None
