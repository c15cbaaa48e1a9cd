"""`backend/bulk.py` binds rows as SQLAlchemy would: what it stores reads back through the
models, and as stored text, exactly as the same rows bound by SQLAlchemy itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Text, cast, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from opsdeck.backend import clocks, probe_health, probe_rows
from opsdeck.backend.bulk import PAGE, Bulk, _by_identity
from opsdeck.backend.claims import CLAIM
from opsdeck.backend.models import IngestedFile, OutboxMessage, Probe, ProbeResult, table_of
from opsdeck.backend.probe_health import RESULT_COLUMNS
from opsdeck.backend.probe_rows import MOVED
from opsdeck.backend.store import _INSERT_OUTBOX, _OUTBOX_COLUMNS, Store

WORKER = "system:worker@test"
EAST = timezone(timedelta(hours=8))  # an aware time not in UTC: stored as UTC either way


def _results(probe_id: int, now: datetime, tag: str) -> list[tuple[Any, ...]]:
    """Rows in `RESULT_COLUMNS` order with what a storm meets: shared and distinct times,
    perfdata with floats, None and non-ASCII text, flags as tuples (as `apply` gives them)."""
    perfdata = [
        [],
        [{"label": "time", "value": 0.125, "uom": "s", "warn": None, "crit": "2", "min": 0.0, "max": None}],
        [{"label": "温度", "value": 1e-07, "uom": "°C"}, {"label": 'q"uote', "value": -3, "uom": ""}],
    ]
    flags: list[tuple[str, ...]] = [(), ("decode_replaced",), ()]
    at = [now, datetime(2026, 12, 3, 9, 30, 0, 123456, tzinfo=EAST), now - timedelta(minutes=5)]
    return [
        (probe_id, at[i], now, "CRITICAL" if i else "OK", f"out {i}\nline two ✓", perfdata[i], bool(i % 2),
         f"{tag}-{i}.out", f"plugin:{tag}:{i}", None, flags[i])
        for i in range(3)
    ]  # fmt: skip


def _read_results(store: Store, prefix: str) -> list[tuple[Any, ...]]:
    """The stored rows of these sources: through the model, and the JSON columns as text."""
    table = table_of(ProbeResult)
    with store.read() as session:
        rows = session.execute(
            select(ProbeResult, cast(table.c.perfdata, Text).label("perf"), cast(table.c.flags, Text).label("flag"))
            .where(col(ProbeResult.source).startswith(prefix))
            .order_by(col(ProbeResult.source))
        ).all()
    return [
        (*(getattr(r, name) for name in RESULT_COLUMNS if name not in ("source", "result_key")), perf, flags)
        for r, perf, flags in rows
    ]


def test_inserted_rows_read_back_as_sqlalchemy_binds_them(store: Store) -> None:
    with store.write(WORKER) as uow:
        policy = clocks.load_policy(uow.session).probes
        probe_id = probe_rows.create(uow, {"bulk-probe"}, policy, None)["bulk-probe"].id
        ours = _results(probe_id, uow.now, "bulk")
        theirs = _results(probe_id, uow.now, "core")
        Bulk(insert(table_of(ProbeResult)), RESULT_COLUMNS).execute(uow.session.connection(), ours)
        uow.session.execute(
            insert(table_of(ProbeResult)),
            [{**dict(zip(RESULT_COLUMNS, row, strict=True)), "flags": list(row[-1])} for row in theirs],
        )
    assert _read_results(store, "bulk") == _read_results(store, "core")
    stored = _read_results(store, "bulk")
    assert [row[1] for row in stored] == [row[1].astimezone(UTC) for row in ours]  # the same instants


def test_repeating_columns_process_each_value_once_and_store_the_same(store: Store) -> None:
    with store.write(WORKER) as uow:
        policy = clocks.load_policy(uow.session).probes
        probe_id = probe_rows.create(uow, {"bulk-probe"}, policy, None)["bulk-probe"].id
        repeating = Bulk(insert(table_of(ProbeResult)), RESULT_COLUMNS, repeating=("received_at", "stale", "flags"))
        repeating.execute(uow.session.connection(), _results(probe_id, uow.now, "rep"))
        probe_health._INSERT_RESULTS.execute(uow.session.connection(), _results(probe_id, uow.now, "plain"))
    assert _read_results(store, "rep") == _read_results(store, "plain")


def test_updated_rows_read_back_as_sqlalchemy_binds_them(store: Store) -> None:
    with store.write(WORKER) as uow:
        policy = clocks.load_policy(uow.session).probes
        created = probe_rows.create(uow, {"by-bulk", "by-core"}, policy, None)
        later = datetime(2026, 12, 3, 23, 59, 59, 999999, tzinfo=EAST)
        moved = (60, "CRITICAL", True, "断开 ✗\n", later, None, uow.now, 4, later, True)
        probe_health._WRITE_BACK.execute(uow.session.connection(), [(*moved, created["by-bulk"].id)])
        table = table_of(Probe)
        uow.session.execute(
            update(table).where(table.c.id == created["by-core"].id).values(dict(zip(MOVED, moved, strict=True)))
        )
    with store.read() as session:
        stored = {p.name: p for p in session.execute(select(Probe)).scalars()}
    assert [getattr(stored["by-bulk"], name) for name in MOVED] == [getattr(stored["by-core"], name) for name in MOVED]
    assert stored["by-bulk"].last_result_at == later.astimezone(UTC)


def test_alike_columns_bind_each_object_once_across_the_group_and_store_the_same(store: Store) -> None:
    """A new probe as `apply` inserts it on SQLite: its three times are one object."""
    table = table_of(Probe)
    columns = ("name", "created_at", "kind", *MOVED)
    times = ("last_result_at", "state_since", "last_ok_at")
    alike = Bulk(insert(table), columns, alike=(times,))
    at = datetime(2026, 12, 3, 9, 30, 0, 123456, tzinfo=EAST)
    other = datetime(2026, 12, 3, 9, 30, 0, 123456, tzinfo=EAST)  # equal to `at`, another object

    def rows(tag: str, now: datetime) -> list[tuple[Any, ...]]:
        moved = [
            (60, "OK", False, "ok ✓", at, None, at, 1, at, False),
            (None, "CRITICAL", False, "", at, at, other, 2, None, True),
        ]
        return [(f"{tag}-{i}", now, "", *m) for i, m in enumerate(moved)]  # fmt: skip

    with store.write(WORKER) as uow:
        alike.execute(uow.session.connection(), rows("alike", uow.now))
        uow.session.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows("plain", uow.now)])
    with store.read() as session:
        stored = {p.name: p for p in session.execute(select(Probe)).scalars()}
    for i in range(2):
        assert [getattr(stored[f"alike-{i}"], n) for n in MOVED] == [getattr(stored[f"plain-{i}"], n) for n in MOVED]
    assert stored["alike-1"].state_since == at.astimezone(UTC) and stored["alike-1"].last_ok_at is None
    seen: dict[int, Any] = {}
    processed: list[Any] = []
    first = _by_identity(lambda v: processed.append(v) or len(processed), [at, other], seen)
    assert (first, _by_identity(lambda v: processed.append(v) or len(processed), [other, at, None], seen)) == (
        [1, 2],
        [2, 1, 3],  # what the first column bound is not bound again
    )
    with pytest.raises(ValueError, match="must be of one type"):
        Bulk(insert(table), columns, alike=(("last_result_at", "output"),))


def test_returning_gives_the_rows_this_statement_inserted_over_many_pages(store: Store) -> None:
    """The claims of a storm: a version already taken comes back to no one."""
    count = 2 * PAGE + 37

    def rows(now: datetime, names: range) -> list[tuple[Any, ...]]:
        return [("spool", f"f{i:05d}.out", i, 10**18 + i, f"{i:064x}", now, 1, "ingested") for i in names]

    with store.write(WORKER) as uow:
        first = CLAIM[uow.dialect].returning(uow.session.connection(), rows(uow.now, range(0, count, 3)))
    with store.write(WORKER) as uow:
        second = CLAIM[uow.dialect].returning(uow.session.connection(), rows(uow.now, range(count)))
        when = uow.now
    assert len(first) == len(range(0, count, 3))
    assert sorted(r[2] for r in second) == [i for i in range(count) if i % 3]
    assert all(tuple(r) == (f"{r[2]:064x}", f"f{r[2]:05d}.out", r[2], 10**18 + r[2]) for r in second)
    with store.read() as session:
        stored = session.execute(select(IngestedFile).where(col(IngestedFile.size) == 1)).scalar_one()
    assert (stored.name, stored.mtime_ns, stored.ingested_at, stored.results) == ("f00001.out", 10**18 + 1, when, 1)


def test_one_row_reads_back_as_sqlalchemy_binds_it_and_returns_what_the_driver_gives(store: Store) -> None:
    """`Bulk.one`, as the unit of work writes an incident or an audit event: one row, executed."""
    table = table_of(ProbeResult)
    one = Bulk(insert(table).returning(table.c.id, table.c.source), RESULT_COLUMNS)
    with store.write(WORKER) as uow:
        policy = clocks.load_policy(uow.session).probes
        probe_id = probe_rows.create(uow, {"bulk-probe"}, policy, None)["bulk-probe"].id
        ours, theirs = _results(probe_id, uow.now, "one")[1], _results(probe_id, uow.now, "core")[1]
        new_id, source = one.one(uow.session.connection(), ours).one()
        uow.session.execute(
            insert(table), {**dict(zip(RESULT_COLUMNS, theirs, strict=True)), "flags": list(theirs[-1])}
        )
    assert source == "one-1.out"
    assert _read_results(store, "one") == _read_results(store, "core")
    with store.read() as session:
        assert session.get(ProbeResult, new_id).source == "one-1.out"  # type: ignore[union-attr]


NO_LEASE = (None, None, None, None)  # last_error, lease_owner, lease_until, sent_at


def _outbox_rows(now: datetime, tag: str, payloads: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Outbox rows in `store._OUTBOX_COLUMNS` order, two recipients of each payload object."""
    return [
        (
            now,
            None,
            "escalation:classify",
            "member",
            f"to-{i}",
            None,
            payload,
            f"{tag}-{i}",
            "pending",
            0,
            now,
            *NO_LEASE,
        )
        for i, payload in enumerate(p for p in payloads for _twice in range(2))
    ]


def _read_outbox(store: Store, prefix: str) -> list[tuple[Any, ...]]:
    table = table_of(OutboxMessage)
    with store.read() as session:
        rows = session.execute(
            select(OutboxMessage, cast(table.c.payload, Text).label("text"))
            .where(col(OutboxMessage.idempotency_key).startswith(prefix))
            .order_by(col(OutboxMessage.idempotency_key))
        ).all()
    return [(m.recipient, m.payload, m.created_at, m.next_attempt_at, text) for m, text in rows]


def test_shared_objects_are_processed_once_each_and_store_what_sqlalchemy_binds(store: Store) -> None:
    payloads: list[dict[str, Any]] = [{"event": "x", "incident": {"title": "断开 ✗", "id": 1}}, {"n": 0.125}]
    with store.write(WORKER) as uow:
        shared = _outbox_rows(uow.now, "shared", payloads)
        plain = _outbox_rows(uow.now, "plain", payloads)
        _INSERT_OUTBOX.execute(uow.session.connection(), shared)
        uow.session.execute(
            insert(table_of(OutboxMessage)), [dict(zip(_OUTBOX_COLUMNS, r, strict=True)) for r in plain]
        )
    assert [row[1:] for row in _read_outbox(store, "shared")] == [row[1:] for row in _read_outbox(store, "plain")]
    processed: list[Any] = []
    assert _by_identity(lambda v: processed.append(v) or len(processed), [*payloads, payloads[0], {"n": 0.125}]) == [
        1,
        2,
        1,
        3,  # an equal object, not the same one: processed on its own
    ]


def test_a_refused_row_raises_as_sqlalchemy_would_and_the_whole_write_is_undone(store: Store) -> None:
    """On SQLite the rows go to the sqlite3 cursor itself: still inside the write's own
    transaction, and a driver error still arrives as SQLAlchemy's (what the store's error
    wording reads)."""
    payloads: list[dict[str, Any]] = [{"n": 1}]
    with pytest.raises(IntegrityError) as refused, store.write(WORKER) as uow:
        rows = _outbox_rows(uow.now, "twice", payloads)
        _INSERT_OUTBOX.one(uow.session.connection(), rows[0])  # kept only if the write commits
        _INSERT_OUTBOX.one(uow.session.connection(), rows[0])  # the same idempotency key: refused
    assert isinstance(refused.value.orig, Exception) and "INSERT INTO outbox" in str(refused.value.statement)
    assert _read_outbox(store, "twice") == []
    with store.write(WORKER) as uow:
        _INSERT_OUTBOX.execute(uow.session.connection(), _outbox_rows(uow.now, "after", payloads))
    assert [row[0] for row in _read_outbox(store, "after")] == ["to-0", "to-1"]  # the connection is fine after


def test_the_engines_cursor_events_see_each_statement(store: Store) -> None:
    """Whoever counts statements by the engine's cursor events (tests, `python -m bench`)
    sees these too, with the rows as sent."""
    seen: list[tuple[str, Any, bool]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        seen.append((statement, parameters, many))

    event.listen(store.engine, "before_cursor_execute", before)
    try:
        with store.write(WORKER) as uow:
            rows = _outbox_rows(uow.now, "seen", [{"n": 1}])
            _INSERT_OUTBOX.one(uow.session.connection(), rows[0])
            _INSERT_OUTBOX.execute(uow.session.connection(), rows)
    except IntegrityError:
        pass  # the second statement repeats the first row's key: refused, after being sent
    finally:
        event.remove(store.engine, "before_cursor_execute", before)
    sent = [(statement.split(" (")[0], many) for statement, _params, many in seen if "outbox" in statement]
    assert sent == [("INSERT INTO outbox", False), ("INSERT INTO outbox", True)]
    one = next(params for statement, params, many in seen if "outbox" in statement and not many)
    assert "seen-0" in one
