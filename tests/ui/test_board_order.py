"""The board's order three ways, which must agree: the database's ORDER BY (the first
page, every key), the in-memory sort (`s` on the board) and the bisect patch applied
when a few incidents change. And the first page is on screen before the rest is read."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from opsdeck.backend import board_page as board
from opsdeck.backend.board_page import BoardFilter, Key, Places
from opsdeck.backend.models import Incident, table_of
from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.screens import board_load
from opsdeck.tui.widgets.incident_list import IncidentList

from ..board_fixtures import make_app, seeded_store, until
from ..conftest import FakeClock

CATEGORIES = ("network_fault", "server_fault", "software_fault", "other")


def varied_incidents(store: Store, clock: FakeClock) -> list[int]:
    """Every level and none, ties on the due time (opened in the same instant), incidents
    with no clock left, resolved and closed ones."""
    ops, lead = Service(store, "servers"), Service(store, "lead")
    ids = []
    for n in range(36):
        level = ("I", "II", "III", "IV", None)[n % 5]
        category = CATEGORIES[n % 4] if level else None
        kwargs: dict[str, Any] = {"category": category, "level": level} if level else {}
        ids.append(ops.open(f"incident {n} 系统 {n % 7}", system="portal" if n % 3 else None, **kwargs).id)
        if n % 4 != 0:  # runs of four share their instant: ties on every time
            clock.advance(minutes=3 * (n % 5) + 1)
    for incident_id in ids[4::10]:  # unclassified: still reported
        lead.ack(incident_id)
    for incident_id in ids[1::9]:
        lead.resolve(incident_id, resolution="fixed")
    lead.close(ids[2], false_alarm_reason="a test alarm")
    clock.advance(hours=2)  # some clocks breached
    return ids


@pytest.fixture
def varied(store_url: str, clock: FakeClock) -> Iterator[Store]:
    seeded = seeded_store(store_url, clock)
    varied_incidents(seeded, clock)
    yield seeded
    seeded.dispose()


@pytest.mark.parametrize("sort", sorted(board.SORT_KEYS))
@pytest.mark.parametrize(
    "statuses", [board.OPEN, ("resolved", "closed"), ("reported", "acknowledged", "resolved", "closed")]
)
def test_the_database_sorts_as_the_board_does(
    varied: Store, clock: FakeClock, sort: str, statuses: tuple[str, ...]
) -> None:
    now = clock()  # one moment for every read: the order ranks pressing clocks first
    with varied.read() as session:
        everything = board.load_keys(session, BoardFilter(), sort, ids=None, statuses=statuses, now=now)
        assert len(everything) > 1
        assert everything == sorted(everything, key=board.SORT_KEYS[sort])
        for limit in (1, 5, len(everything) + 3):
            page = board.load_keys(session, BoardFilter(), sort, statuses=statuses, limit=limit, now=now)
            assert page == everything[:limit]
        filt = board.parse_filter("system:portal 系统")
        filtered = board.load_keys(session, filt, sort, statuses=statuses, now=now)
        assert filtered and (len(filtered) < len(everything) or statuses != board.OPEN)
        assert filtered == [k for k in everything if k.id in {f.id for f in filtered}]


def test_ties_and_missing_clocks_are_ordered_by_level_then_id(varied: Store) -> None:
    with varied.read() as session:
        keys = board.load_keys(session, BoardFilter(), "due")
    dues = [k.when for k in keys]
    assert len(set(dues)) < len(dues), "the fixture must hold ties"
    for a, b in itertools.pairwise(keys):
        if a.when == b.when:
            assert (-a.rank, a.id) < (-b.rank, b.id)


# -- the top of the due order, read through its window (board_page._due_window) -----------

NOW = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
# Around the window's edges: the one-second margin, the ~40 us SQLite's epoch figures
# hold, ties, and either side of `now` (pressing or not).
OFFSETS = st.sampled_from([-3600.0, -1.0, -0.5, -0.00002, 0.0, 0.00001, 0.0004, 0.5, 1.0, 3600.0])
GAPS = st.sampled_from([0.0, 0.00002, 1.0, 60.0, 3600.0])  # a reporting clock's warning to its due time


@st.composite
def dues_row(draw: st.DrawFn) -> dict[str, Any]:
    def at(seconds: float) -> datetime:
        return NOW + timedelta(seconds=seconds)

    warn, gap, first = draw(st.none() | OFFSETS), draw(st.none() | GAPS), draw(st.none() | OFFSETS)
    return {
        "status": draw(st.sampled_from(["reported", "acknowledged", "resolved", "closed"])),
        "level": draw(st.sampled_from([None, "I", "II", "III", "IV"])),
        "title": draw(st.sampled_from(["alpha disk", "beta link"])),
        "first_due_at": None if first is None else at(first),
        # Usually both or neither; either alone too (a store the code never wrote).
        "report_warn_at": None if warn is None else at(warn),
        "report_due_at": None if gap is None else at((warn or 0.0) + gap),
    }


@pytest.fixture
def empty_store(store_url: str) -> Iterator[Store]:
    store = open_store(store_url)
    yield store
    store.dispose()


def _put(store: Store, rows: list[dict[str, Any]]) -> None:
    """The rows as they stand, straight into the table: only the order's columns matter."""
    incidents = table_of(Incident)
    with store.engine.begin() as connection:
        connection.execute(delete(incidents))
        if rows:
            fixed = {"reporter": "servers", "category": "other", "reported_at": NOW, "policy_version": 1}
            fixed |= {"updated_at": NOW, "updated_by": "servers", "version": 1, "description": ""}
            connection.execute(insert(incidents), [fixed | row for row in rows])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(dues_row(), max_size=40),
    limit=st.integers(1, 20),
    words=st.sampled_from(["", "", "", "alpha", "level:II"]),
    statuses=st.sampled_from([board.OPEN, ("reported",), ("acknowledged", "resolved")]),
)
def test_the_top_of_the_due_order_read_through_its_window_is_the_whole_orders_top(
    empty_store: Store, rows: list[dict[str, Any]], limit: int, words: str, statuses: tuple[str, ...]
) -> None:
    """The first page (and the wall) reads the top of the due order through partial
    indexes, not by ranking every open incident: whatever the times, it is exactly the
    first `limit` of the whole order, ties and the pressing edge included (a filter
    reads it the whole way: the same page)."""
    _put(empty_store, rows)
    filt = board.parse_filter(words)
    with empty_store.read() as session:
        everything = board.load_keys(session, filt, "due", statuses=statuses, now=NOW)
        assert board.load_keys(session, filt, "due", statuses=statuses, limit=limit, now=NOW) == everything[:limit]


def test_the_due_window_narrows_the_read_when_it_can(empty_store: Store) -> None:
    """Both ways of the window are taken (many pressing; few), and a board with fewer
    incidents than the page reads them all (as does a filtered one: `_keys`)."""
    many = [{"status": "reported", "level": "II", "title": f"t{n}", "first_due_at": NOW + timedelta(minutes=n),
             "report_warn_at": NOW - timedelta(minutes=n + 1), "report_due_at": NOW + timedelta(minutes=n)}
            for n in range(30)]  # fmt: skip
    few = [
        row | {"report_warn_at": NOW + timedelta(hours=1), "report_due_at": NOW + timedelta(hours=2)} for row in many
    ]
    for rows, shape in ((many, "report_due_at <="), (few, "UNION ALL")):
        _put(empty_store, rows)
        with empty_store.read() as session:
            window = board._due_window(session, board.OPEN, 10, NOW)
            assert window is not None and shape in str(window.compile(session.get_bind()))
            assert board._due_window(session, board.OPEN, 31, NOW) is None


keys_strategy = st.dictionaries(
    st.integers(1, 400),
    st.tuples(st.sampled_from([1.0, 2.0, 3.0, float("inf")]), st.integers(0, 4)),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    before=keys_strategy,
    after=keys_strategy,
    sort=st.sampled_from(sorted(board.SORT_KEYS)),
    untouched=st.sets(st.integers(1, 400), max_size=40),
)
def test_a_patched_order_is_the_sorted_order(
    before: dict[int, tuple[float, int]],
    after: dict[int, tuple[float, int]],
    sort: str,
    untouched: set[int],
) -> None:
    """Incidents change (new key), close (gone), open (new): patching the packed order
    by bisects gives exactly what sorting everything again gives, every key intact."""
    old = {i: Key(i, *v) for i, v in before.items()}
    fresh = {i: Key(i, *v) for i, v in after.items()}
    changed = frozenset((set(old) | set(fresh)) - untouched)
    fresh = {i: k for i, k in fresh.items() if i in changed}
    places = Places(sorted(old.values(), key=board.SORT_KEYS[sort]))
    places.patch(changed, fresh, board.SORT_KEYS[sort])
    expected = sorted(({i: k for i, k in old.items() if i not in changed} | fresh).values(), key=board.SORT_KEYS[sort])
    assert list(places) == expected
    assert list(places.ids) == [k.id for k in expected]
    assert list(places.sorted("id").ids) == sorted(k.id for k in expected)


def test_the_packed_keys_hold_what_they_were_given() -> None:
    """Rank, pressing, an infinite `when` (no clock) and ids past 2**32 come back as put in,
    and an id whose bytes appear across two neighbours is not found there."""
    keys = [Key(2**40 + 1, float("inf"), 4, True), Key(3, 1.5, 0, False), Key(2**33, -2.0, 2, True)]
    places = Places(keys)
    assert list(places) == keys and [places[i] for i in range(3)] == keys
    # Little-endian, 7 << 32 then 5 are the bytes 00000000 07000000 05000000 00000000: their
    # middle eight spell 7 + (5 << 32). Only a whole id is found: the one listed third.
    straddled = 7 + (5 << 32)
    places = Places([Key(7 << 32, 1.0, 1), Key(5, 2.0, 1)])
    places.patch(frozenset({straddled}), {}, board.SORT_KEYS["due"])
    assert list(places.ids) == [7 << 32, 5]
    places.append(Key(straddled, 3.0, 1))
    places.patch(frozenset({straddled}), {}, board.SORT_KEYS["due"])
    assert list(places.ids) == [7 << 32, 5]


async def test_the_first_page_shows_before_every_key_is_read(
    sqlite_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The top of a big board is drawn from a LIMIT query; the full key list comes after.
    Holding the full read back shows that the operator already sees the right rows."""
    store = seeded_store(sqlite_url, clock)
    ops = Service(store, "servers")
    for n in range(30):
        ops.open(f"disk alarm {n}", category="server_fault", level=("II", "III", "IV")[n % 3])
        clock.advance(minutes=1)
    with store.read() as session:
        truth = [k.id for k in board.load_keys(session, BoardFilter(), now=clock())]
    monkeypatch.setattr(board_load, "FIRST_PAGE", 8)
    release = threading.Event()
    real_load_places = board.load_places

    def held_load_places(*args: Any, **kwargs: Any) -> Places:  # the full read: every key, packed
        assert release.wait(20), "the test never released the full read"
        return real_load_places(*args, **kwargs)

    monkeypatch.setattr(board, "load_places", held_load_places)
    app = make_app(store, clock)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            incident_list = app.screen.query_one(IncidentList)
            await until(
                pilot, lambda: len(incident_list.order) == 8 and all(i in incident_list.rows for i in truth[:8])
            )
            assert incident_list.order == truth[:8]
            await pilot.pause(0.1)
            screen_text = "\n".join(incident_list.render_line(y).text for y in range(8))
            assert all(f"#{i} disk alarm" in screen_text for i in truth[:8])
            release.set()
            await until(pilot, lambda: incident_list.order == truth)
    finally:
        release.set()
        store.dispose()
