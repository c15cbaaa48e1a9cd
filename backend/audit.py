"""The audit trail: one hash chain per incident plus one `system` chain.

Each event's hash covers its chain, seq, time, actor, action, incident and details
and the previous event's hash, so editing, removing or reordering a row breaks the
chain at that row. `verify` walks every chain and names the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from .models import AuditEvent, AuditHead
from .timeutil import rfc3339

GENESIS = "0" * 64
SYSTEM_CHAIN = "system"


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
    problem: str  # edited | removed | reordered | head_mismatch
    message: str


def verify(session: Session) -> tuple[int, int, list[ChainProblem]]:
    """Walk every chain; return (chains, events, the first problem of each broken chain)."""
    heads = {h.chain: h for h in session.execute(select(AuditHead)).scalars()}
    rows = session.execute(select(AuditEvent).order_by(col(AuditEvent.chain), col(AuditEvent.seq))).scalars()
    problems: list[ChainProblem] = []
    chains: dict[str, tuple[int, str, int]] = {}  # chain -> (last seq, last hash, last id)
    broken: set[str] = set()
    count = 0
    for event in rows:
        count += 1
        chain = event.chain
        if chain in broken:
            continue
        last_seq, last_hash, last_id = chains.get(chain, (0, GENESIS, 0))
        problem = _check_link(event, last_seq, last_hash, last_id)
        if problem:
            problems.append(problem)
            broken.add(chain)
            continue
        chains[chain] = (event.seq, event.hash, event.id or 0)
    for chain, head in heads.items():
        if chain in broken:
            continue
        last_seq, last_hash, _ = chains.get(chain, (0, GENESIS, 0))
        if head.seq != last_seq or head.hash != last_hash:
            problems.append(
                ChainProblem(
                    chain,
                    last_seq + 1,
                    None,
                    "removed",
                    f"{chain}: the chain head records event #{head.seq} but the trail ends "
                    f"at #{last_seq}: events after #{last_seq} were removed",
                )
            )
    for chain in chains.keys() - heads.keys():
        if chain not in broken:
            problems.append(ChainProblem(chain, None, None, "head_mismatch", f"{chain}: no chain head"))
    return len(chains.keys() | heads.keys()), count, problems


def _check_link(event: AuditEvent, last_seq: int, last_hash: str, last_id: int) -> ChainProblem | None:
    where = f"{event.chain} event #{event.seq} (id {event.id}, {event.action} at {rfc3339(event.at)})"
    if hash_of(event) != event.hash:
        return ChainProblem(
            event.chain,
            event.seq,
            event.id,
            "edited",
            f"{where} was edited: its hash does not match its content",
        )
    if event.seq != last_seq + 1:
        return ChainProblem(
            event.chain,
            last_seq + 1,
            event.id,
            "removed",
            f"{event.chain} event #{last_seq + 1} was removed: the trail jumps from #{last_seq} to #{event.seq}",
        )
    if event.prev_hash != last_hash:
        return ChainProblem(
            event.chain,
            event.seq,
            event.id,
            "reordered",
            f"{where} does not follow #{last_seq}: events were reordered or replaced",
        )
    if event.id is not None and event.id < last_id:
        return ChainProblem(
            event.chain,
            event.seq,
            event.id,
            "reordered",
            f"{where} was written before #{last_seq}: events were reordered",
        )
    return None
