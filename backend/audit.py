"""The audit trail: one hash chain per incident plus one `system` chain.

Each event's hash covers its chain, seq, time, actor, action, incident and details
and the previous event's hash, so editing, removing or reordering a row breaks the
chain at that row. `verify` walks every chain and names the first broken link.

`export_trail` writes one incident's chain as evidence a third party can re-check
without opsdeck. `anchor` condenses every chain's newest link into one line to keep
elsewhere; `check_anchor` later proves the history it covers was not rewritten, which
`verify` alone cannot (someone who re-hashes every later event passes `verify`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from .domain import no_incident
from .errors import InvalidInput, NotFound, StoreUnavailable
from .i18n import _, say
from .models import AuditEvent, AuditHead, Incident
from .timeutil import rfc3339

GENESIS = "0" * 64
# The fields an event's hash covers (HOW_TO_CHECK); the server's own copy of the recipe,
# for stores whose database roles are on, is backend/pg_chain.py.
HASHED_FIELDS = ("chain", "seq", "at", "actor", "action", "incident_id", "details", "prev_hash")
SYSTEM_CHAIN = "system"
# The upgrade to schema 0013 marks, on the system chain, the first event whose time is
# checked: before it, events took each client's clock (hosts a few seconds apart, a clock
# stepped back by NTP) and may go back honestly; from it on, one time per transaction,
# read after the chain head is locked, never does.
TIMES_ORDERED = "times_ordered"


def incident_chain(incident_id: int) -> str:
    return f"incident:{incident_id}"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(
    *,
    chain: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    incident_id: int | None,
    details: str,
    prev_hash: str,
) -> str:
    body = canonical_json(
        {
            "chain": chain,
            "seq": seq,
            "at": rfc3339(at),
            "actor": actor,
            "action": action,
            "incident_id": incident_id,
            "details": details,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def hash_of(event: AuditEvent) -> str:
    return event_hash(
        chain=event.chain,
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        action=event.action,
        incident_id=event.incident_id,
        details=event.details,
        prev_hash=event.prev_hash,
    )


@dataclass(frozen=True)
class ChainProblem:
    chain: str
    seq: int | None
    event_id: int | None
    problem: str  # edited | removed | reordered | head_mismatch | time_back
    message: str


def times_checked_from(session: Session) -> int:
    """The id of the first event whose time `verify` checks (0: every event, a store
    created at 0013 or later). The first marker counts: one appended later to move the
    line changes nothing."""
    details = session.execute(
        select(col(AuditEvent.details))
        .where(col(AuditEvent.chain) == SYSTEM_CHAIN, col(AuditEvent.action) == TIMES_ORDERED)
        .order_by(col(AuditEvent.id))
        .limit(1)
    ).scalar_one_or_none()
    if details is None:
        return 0
    try:
        return int(json.loads(details)["from_id"])
    except (ValueError, KeyError, TypeError):
        return 0  # a damaged marker checks every event: the stricter reading


def verify(session: Session) -> tuple[int, int, list[ChainProblem]]:
    """Walk every chain; return (chains, events, the first problem of each broken chain)."""
    times_from = times_checked_from(session)
    heads = {h.chain: h for h in session.execute(select(AuditHead)).scalars()}
    rows = session.execute(select(AuditEvent).order_by(col(AuditEvent.chain), col(AuditEvent.seq))).scalars()
    problems: list[ChainProblem] = []
    chains: dict[str, Link] = {}  # chain -> its last link so far
    broken: set[str] = set()
    count = 0
    for event in rows:
        count += 1
        chain = event.chain
        if chain in broken:
            continue
        problem = _check_link(event, chains.get(chain, FIRST), times_from=times_from)
        if problem:
            problems.append(problem)
            broken.add(chain)
            continue
        chains[chain] = Link.of(event)
    for chain, head in heads.items():
        if chain in broken:
            continue
        last_seq, last_hash = chains.get(chain, FIRST)[:2]
        if head.seq != last_seq or head.hash != last_hash:
            problems.append(_cut_short(chain, head.seq, last_seq, english=False))
    for chain in chains.keys() - heads.keys():
        if chain not in broken:
            problems.append(_headless(chain, english=False))
    return len(chains.keys() | heads.keys()), count, problems


# A problem's message is in the language chosen (what `audit verify` prints), except in the
# exported evidence, which is English whatever the language (`english=True`): `say`.


class Link(NamedTuple):
    """What the next event of a chain is checked against: the one before it."""

    seq: int
    hash: str
    id: int
    at: datetime | None

    @classmethod
    def of(cls, event: AuditEvent) -> Link:
        return cls(event.seq, event.hash, event.id or 0, event.at)


FIRST = Link(0, GENESIS, 0, None)


def _check_link(event: AuditEvent, last: Link, *, english: bool = False, times_from: int = 0) -> ChainProblem | None:
    en = english
    last_seq, last_hash, last_id = last.seq, last.hash, last.id
    where = say(
        en,
        "{chain} event #{seq} (id {id}, {action} at {at})",
        chain=event.chain,
        seq=event.seq,
        id=event.id,
        action=event.action,
        at=rfc3339(event.at),
    )

    def problem(kind: str, message: str, seq: int = event.seq) -> ChainProblem:
        return ChainProblem(event.chain, seq, event.id, kind, message)

    if hash_of(event) != event.hash:
        return problem("edited", say(en, "{where} was edited: its hash does not match its content", where=where))
    if event.seq != last_seq + 1:
        message = say(
            en,
            "{chain} event #{missing} was removed: the trail jumps from #{last} to #{seq}",
            chain=event.chain,
            missing=last_seq + 1,
            last=last_seq,
            seq=event.seq,
        )
        return problem("removed", message, seq=last_seq + 1)
    if event.prev_hash != last_hash:
        message = say(
            en, "{where} does not follow #{last}: events were reordered or replaced", where=where, last=last_seq
        )
        return problem("reordered", message)
    if event.id is not None and event.id < last_id:
        message = say(en, "{where} was written before #{last}: events were reordered", where=where, last=last_seq)
        return problem("reordered", message)
    if last.at is not None and event.at < last.at and (event.id or 0) >= times_from:
        message = say(
            en,
            "{where} is dated before #{last} ({last_at}): times never go back within a chain, "
            "so it was forged or back-dated",
            where=where,
            last=last_seq,
            last_at=rfc3339(last.at),
        )
        return problem("time_back", message)
    return None


def _cut_short(chain: str, head_seq: int, last_seq: int, *, english: bool) -> ChainProblem:
    """The chain head names a later event than the trail's last one."""
    message = say(
        english,
        "{chain}: the chain head records event #{head} but the trail ends at #{last}: events after #{last} were removed",
        chain=chain,
        head=head_seq,
        last=last_seq,
    )
    return ChainProblem(chain, last_seq + 1, None, "removed", message)


def _headless(chain: str, *, english: bool) -> ChainProblem:
    message = say(english, "{chain}: no chain head", chain=chain)
    return ChainProblem(chain, None, None, "head_mismatch", message)


# -- evidence: one incident's trail as JSON ---------------------------------------------

EXPORT_FORMAT = "opsdeck-audit-export/1"

HOW_TO_CHECK = (
    "Each event's hash is the SHA-256, written as 64 lowercase hex digits, of the UTF-8 bytes of one "
    "JSON object holding exactly the event's fields chain, seq, at, actor, action, incident_id, details "
    "and prev_hash, with their values exactly as exported here (details is a string and is hashed as "
    "that string, not as the object written inside it; seq and incident_id are integers). The JSON has "
    "its keys sorted, no whitespace outside strings (a comma between items, a colon between key and "
    "value), control characters escaped as JSON requires and every other character written as itself "
    "(UTF-8), not as a \\u escape; in Python: hashlib.sha256(json.dumps(obj, "
    "sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode('utf-8')).hexdigest(). The trail "
    "is intact when every recomputed hash equals the event's hash, seq runs 1, 2, 3 ... without a gap, "
    "the first event's prev_hash is 64 zeros, every later event's prev_hash is the hash of the event "
    "before it, no event whose id is at least times_checked_from_id has an at earlier than the at of the "
    "event before it, and the last event's seq and "
    "hash equal head. This proves the events agree with each "
    "other; it does not prove the trail was not rewritten as a whole (every hash recomputed): for that, "
    "compare with an earlier export or check the store against an anchor kept elsewhere "
    "(`opsdeck audit verify --anchor TOKEN`)."
)


def export_trail(session: Session, incident_id: int) -> dict[str, Any]:
    """One incident's whole audit trail as evidence (format `opsdeck-audit-export/1`).

    Every event carries the fields its hash covers, exactly as hashed (`details` is the
    stored canonical JSON string), so anyone can recompute the chain with `how_to_check`
    and no opsdeck. `verified` and `problems` are opsdeck's own check of this chain at
    export time, with the messages `verify` gives. An incident whose trail and chain head
    are both gone is exported with `verified: false`, not refused: that is tampering.
    Raises NotFound when there is no such incident and no trail.
    """
    return export_chain(
        session,
        incident_chain(incident_id),
        {"incident_id": incident_id},
        exists=session.get(Incident, incident_id) is not None,
        what=f"incident #{incident_id}",
        not_found=no_incident(incident_id),
    )


def export_chain(
    session: Session, chain: str, keys: dict[str, Any], *, exists: bool, what: str, not_found: NotFound
) -> dict[str, Any]:
    """Any chain's trail as evidence (an incident's, a warning's `warning:ID`); `keys` name
    what it is the trail of, `what` says it in English in a problem."""
    events = list(
        session.execute(select(AuditEvent).where(col(AuditEvent.chain) == chain).order_by(col(AuditEvent.seq)))
        .scalars()
        .all()
    )
    head = session.get(AuditHead, chain)
    times_from = times_checked_from(session)
    if not events and head is None:
        if not exists:
            raise not_found
        problems = [  # evidence: English whatever the language, as every problem here
            f"{chain}: {what} exists but its audit trail and chain head are gone: every event was removed"
        ]
    else:
        problems = [p.message for p in _chain_problems(chain, events, head, english=True, times_from=times_from)]
    return {
        "format": EXPORT_FORMAT,
        "chain": chain,
        **keys,
        "events": [
            {
                "id": e.id,
                "chain": e.chain,
                "incident_id": e.incident_id,
                "seq": e.seq,
                "at": rfc3339(e.at),
                "actor": e.actor,
                "action": e.action,
                "details": e.details,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in events
        ],
        "head": {"seq": head.seq, "hash": head.hash} if head is not None else None,
        "verified": not problems,
        "problems": problems,
        "times_checked_from_id": times_from,
        "how_to_check": HOW_TO_CHECK,
    }


def _chain_problems(
    chain: str, events: Sequence[AuditEvent], head: AuditHead | None, *, english: bool = False, times_from: int = 0
) -> list[ChainProblem]:
    """`verify` for one chain (events in seq order): its first problem, if any."""
    last = FIRST
    for event in events:
        problem = _check_link(event, last, english=english, times_from=times_from)
        if problem:
            return [problem]
        last = Link.of(event)
    last_seq, last_hash = last.seq, last.hash
    if head is None:
        return [_headless(chain, english=english)]
    if head.seq != last_seq or head.hash != last_hash:
        return [_cut_short(chain, head.seq, last_seq, english=english)]
    return []


# -- anchors: one line, kept elsewhere, that a rewrite cannot match ----------------------

ANCHOR_VERSION = "opsdeck-anchor-1"
_ANCHOR_SHAPE = f"{ANCHOR_VERSION}:<last event id>:<64 hex digits>"
_LOCK_TIMEOUT = "10s"


def anchor(session: Session) -> str:
    """A one-line anchor of the whole audit trail: `opsdeck-anchor-1:<last_event_id>:<digest>`.

    `last_event_id` is the newest audit event's id; the digest is the SHA-256 (hex) of
    the canonical JSON list of `{"chain", "seq", "hash"}` of every chain's newest event
    with id <= last_event_id, sorted by chain name. Keep the line where whoever can
    write the database cannot (a ticket, a mail, paper), then `check_anchor` it later.

    Why: someone who edits an event AND recomputes every later hash of its chain and
    the chain head (a wholesale rewrite) passes `verify`, because every link agrees
    again. They cannot make the chain's newest anchored hash come out the same, so
    `check_anchor` against an anchor taken before the edit catches it. See
    `check_anchor` for exactly what is and is not detected.

    The anchor certifies the trail as it is now, broken or not: run `verify` first.
    On PostgreSQL, writers whose audit events are not yet committed could hold ids
    below the newest committed one, so this takes a SHARE lock on `audit_events`
    (held until the caller's transaction ends; writers wait for it, at most ~ms) so
    that no such write is in flight; it gives up with StoreUnavailable after 10 s.
    The session must therefore not be a read-only transaction there.
    """
    _wait_for_audit_writers(session)
    newest: dict[str, tuple[int, str]] = {}
    last_event_id = 0
    rows = session.execute(
        select(col(AuditEvent.chain), col(AuditEvent.seq), col(AuditEvent.hash), col(AuditEvent.id)).order_by(
            col(AuditEvent.chain), col(AuditEvent.seq)
        )
    )
    for chain, seq, digest, event_id in rows:
        newest[chain] = (seq, digest)
        last_event_id = max(last_event_id, event_id or 0)
    return f"{ANCHOR_VERSION}:{last_event_id}:{_anchor_digest(newest)}"


def check_anchor(session: Session, token: str) -> list[str]:
    """Problems with the history an anchor covers; an empty list means it is intact.

    Only events with id <= the anchor's last_event_id count: events appended since do
    not matter here (`verify` checks them). Among those events, every chain's links are
    re-checked as `verify` does (naming the first edited, removed or reordered event),
    and the digest of every chain's newest (chain, seq, hash) is compared with the
    anchor's.

    Detected, for the events that existed when the anchor was taken:
    - an edit of any of them, even when every later hash and the chain head were
      recomputed: that changes the hash of the chain's newest anchored event;
    - removing events from the end of a chain, even with the head fixed up (the
      chain's newest anchored seq changes), or removing a whole chain with its head;
    - a new chain, or an event slipped in with an id at or below last_event_id.
    Not detected:
    - anything done before the anchor was taken: it vouches for the trail as it was
      then (a rewrite before that is invisible to both `verify` and the anchor);
    - changes to events appended after the anchor (id > last_event_id): `verify`
      catches plain edits and removals there, a rewrite of them needs a newer anchor;
    - which chain was rewritten: the anchor holds one digest for all chains, so a
      mismatch says the anchored history changed, not where (compare with a backup or
      an earlier `export_trail` to find it);
    - renumbered `id`s that leave every chain's newest anchored event in place (ids are
      not hashed; `verify` names ids out of order), and anything outside the audit
      trail (the incident rows themselves);
    - an attacker who can also replace the kept anchor.

    A malformed token raises InvalidInput naming the fix.
    """
    last_event_id, expected = parse_anchor(token)
    rows = session.execute(
        select(AuditEvent)
        .where(col(AuditEvent.id) <= last_event_id)
        .order_by(col(AuditEvent.chain), col(AuditEvent.seq))
    ).scalars()
    newest: dict[str, tuple[int, str]] = {}
    links: dict[str, Link] = {}
    broken: set[str] = set()
    problems: list[str] = []
    times_from = times_checked_from(session)
    for event in rows:
        newest[event.chain] = (event.seq, event.hash)
        if event.chain in broken:
            continue
        problem = _check_link(event, links.get(event.chain, FIRST), times_from=times_from)
        if problem:
            problems.append(problem.message)
            broken.add(event.chain)
            continue
        links[event.chain] = Link.of(event)
    if _anchor_digest(newest) != expected:
        now_last = session.execute(select(func.max(col(AuditEvent.id)))).scalar_one_or_none() or 0
        why = (
            _(
                "the newest audit event is now id {now_last}, before the anchor's id {last_event_id}: events "
                "were removed from the end, or the anchor was taken from another store"
            ).format(now_last=now_last, last_event_id=last_event_id)
            if now_last < last_event_id
            else _(
                "an event at or before that id was edited and re-hashed, removed or slipped in since the "
                "anchor was taken, or the anchor was taken from another store"
            )
        )
        problems.append(
            _(
                "the audit trail up to event id {last_event_id} no longer matches the anchor: {why}; "
                "the anchor holds one digest for all {count} chains, so it cannot say which one: compare "
                "with a backup or an earlier `opsdeck audit export`"
            ).format(last_event_id=last_event_id, why=why, count=len(newest))
        )
    return problems


def parse_anchor(token: str) -> tuple[int, str]:
    """(last_event_id, digest) of an anchor line; InvalidInput saying what is wrong."""
    line = token.strip()
    shown = repr(line if len(line) <= 40 else line[:37] + "...")
    fix = _("copy the whole line `opsdeck audit anchor` printed ({shape})").format(shape=_ANCHOR_SHAPE)
    if not line:
        raise InvalidInput("bad_anchor", _("no anchor was given"), fix)
    parts = line.split(":")
    if not parts[0].startswith("opsdeck-anchor-"):
        raise InvalidInput("bad_anchor", _("{token} is not an opsdeck anchor").format(token=shown), fix, token=line)
    if parts[0] != ANCHOR_VERSION:
        raise InvalidInput(
            "bad_anchor",
            _("{version!r} is an anchor format this opsdeck does not read (it reads {supported})").format(
                version=parts[0], supported=ANCHOR_VERSION
            ),
            _("check it with the opsdeck that took it, or {fix}").format(fix=fix),
            token=line,
        )
    if len(parts) != 3:
        raise InvalidInput(
            "bad_anchor",
            _("{token} has {count} parts separated by colons, not 3").format(token=shown, count=len(parts)),
            fix,
            token=line,
        )
    event_id, digest = parts[1], parts[2]
    if re.fullmatch(r"[0-9]{19,}", event_id):
        raise InvalidInput(
            "bad_anchor",
            _("the anchor's event id has {count} digits, more than any store's event ids").format(count=len(event_id)),
            fix,
            token=line,
        )
    if not re.fullmatch(r"[0-9]{1,18}", event_id):
        raise InvalidInput(
            "bad_anchor",
            _("the anchor's event id {id!r} is not a whole number").format(id=event_id[:20]),
            fix,
            token=line,
        )
    if not re.fullmatch(r"[0-9a-fA-F]*", digest):
        raise InvalidInput(
            "bad_anchor", _("the anchor's digest holds characters other than hex digits"), fix, token=line
        )
    if len(digest) != 64:
        raise InvalidInput(
            "bad_anchor",
            _("the anchor's digest has {count} hex digits, not 64: it was cut short or run on").format(
                count=len(digest)
            ),
            fix,
            token=line,
        )
    return int(event_id), digest.lower()


def _anchor_digest(newest: dict[str, tuple[int, str]]) -> str:
    links = [{"chain": chain, "seq": seq, "hash": digest} for chain, (seq, digest) in sorted(newest.items())]
    return hashlib.sha256(canonical_json(links).encode("utf-8")).hexdigest()


def _wait_for_audit_writers(session: Session) -> None:
    """PostgreSQL: wait until no transaction is writing audit events, then keep it so.

    Ids come from a sequence when a row is inserted, not when it commits: a slow write
    can still commit id 100 after a quick one committed id 101. An anchor taken in
    between would miss event 100 and later fail on an intact trail. SHARE mode waits for
    every writer holding ROW EXCLUSIVE on the table and holds new ones back. SQLite has
    one writer at a time, so its ids already commit in order.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    try:
        session.execute(text(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'"))
        session.execute(text("LOCK TABLE audit_events IN SHARE MODE"))
        session.execute(text("SET LOCAL lock_timeout = DEFAULT"))
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        raise StoreUnavailable(
            "store_busy",
            _("writes to the audit trail kept going for over {timeout}, so no consistent anchor could be taken").format(
                timeout=_LOCK_TIMEOUT
            ),
            _("retry; if it persists, look for a stuck opsdeck process holding the store"),
        ) from error
