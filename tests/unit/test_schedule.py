"""`on_duty` from the schedule, without a store: rotations in wall-clock time across DST,
layers, restrictions, holidays, overrides, swaps, takes, versions (property tests)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsdeck.backend.schedule import HOLIDAY_MODES, Rotation, Schedule, Slot, parse_when
from opsdeck.backend.timeutil import TimeFormatError

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 1, 1, tzinfo=UTC)  # when the schedule was written (a few moments tested are earlier)
EARLY = datetime(2025, 1, 1, tzinfo=UTC)


def rot(
    name: str = "r",
    members: tuple[str, ...] = ("a", "b", "c"),
    *,
    duty: str = "dns",
    hours: float = 12,
    handoff: datetime = datetime(2026, 3, 1, 9, 0),
    zone: ZoneInfo = SH,
    layer: int = 1,
    days: frozenset[int] = frozenset(),
    window: tuple[time, time] | None = None,
    holidays: str = "any",
    rid: int = 1,
) -> Rotation:
    return Rotation(
        rid,
        name,
        duty,
        layer,
        members,
        timedelta(hours=hours),
        handoff,
        zone,
        days,
        window,
        holidays,
        recorded_at=EARLY,
    )


def slot(
    kind: str, login: str, start: datetime, end: datetime | None, *, other: str | None = None, sid: int = 1
) -> Slot:
    return Slot(sid, kind, "dns", login, other, start, end, recorded_at=EARLY)


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def test_a_12h_rotation_hands_off_at_09_and_21_shanghai_time() -> None:
    s = Schedule([rot()], [], now=NOW)
    assert s.cover("dns", local(SH, 2026, 3, 1, 8, 59)) == []  # before the first hand-off
    assert s.cover("dns", local(SH, 2026, 3, 1, 9, 0)) == [("a", "r")]
    assert s.cover("dns", local(SH, 2026, 3, 1, 20, 59)) == [("a", "r")]
    assert s.cover("dns", local(SH, 2026, 3, 1, 21, 0)) == [("b", "r")]
    assert s.cover("dns", local(SH, 2026, 3, 2, 9, 0)) == [("c", "r")]
    assert s.cover("dns", local(SH, 2026, 3, 2, 21, 0)) == [("a", "r")]
    [entry] = s.who(local(SH, 2026, 3, 2, 23, 0), ["dns"])
    assert (entry.login, entry.since, entry.until) == ("a", local(SH, 2026, 3, 2, 21), local(SH, 2026, 3, 3, 9))


@pytest.mark.parametrize("hour", [0, 1, 2, 3, 9])
def test_daily_handoffs_in_new_york_stay_at_wall_time_across_both_dst_changes(hour: int) -> None:
    """2026-03-08 02:00 does not exist in New York; 2026-11-01 01:00-02:00 happens twice.
    A daily rotation hands off at the same wall time; the shift over the change is 23 or
    25 hours; nothing is dropped or doubled."""
    for start_day, change_day in ((date(2026, 3, 1), date(2026, 3, 8)), (date(2026, 10, 25), date(2026, 11, 1))):
        r = rot(hours=24, handoff=datetime.combine(start_day, time(hour, 30)), zone=NY, members=("a", "b"))
        s = Schedule([r], [], now=NOW)
        begin = r.boundary(0)
        end = r.boundary(14)
        segments = s.segments("dns", begin, end)
        assert segments[0][0] == begin and segments[-1][1] == end
        assert all(x[1] == y[0] for x, y in itertools.pairwise(segments))  # no hole
        assert all(len(covered) == 1 for _a, _b, covered in segments)  # nobody twice, never empty
        lengths = sorted(round((b - a).total_seconds() / 3600) for a, b, _c in segments)
        assert sum(lengths) == 14 * 24 + (1 if change_day.month == 11 else -1)  # the hour DST gave or took
        assert lengths.count(24) == 13 and set(lengths) == {24, 25 if change_day.month == 11 else 23}
        after = datetime.combine(change_day + timedelta(days=2), time(12, 0), tzinfo=NY).astimezone(UTC)
        [entry] = s.who(after, ["dns"])
        assert entry.since is not None and entry.since.astimezone(NY).time() in (time(hour, 30), time(hour + 1, 30))


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(2025, 12, 31), max_value=datetime(2027, 12, 31)),
    st.sampled_from([1, 8, 12, 24, 168]),
    st.sampled_from([SH, NY, ZoneInfo("Europe/Berlin")]),
)
def test_every_moment_is_in_exactly_one_shift_of_a_rotation(moment: datetime, hours: int, zone: ZoneInfo) -> None:
    r = rot(hours=hours, handoff=datetime(2026, 1, 1, 2, 30), zone=zone, members=("a", "b", "c", "d"))
    at = moment.replace(tzinfo=UTC)
    shift = r.shift_at(at)
    if at < r.boundary(0):  # before the first hand-off (02:30 local: 07:30 UTC in New York): no shift yet
        assert shift is None and Schedule([r], [], now=NOW).cover("dns", at) == []
        return
    assert shift is not None
    k, start, end = shift
    assert start <= at < end
    # the next shift starts where this one ends, and belongs to the next member
    following = r.shift_at(end)
    assert following is not None and following[0] > k and following[1] == end
    assert Schedule([r], [], now=NOW).cover("dns", at) == [(r.member_at(k), "r")]


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2026, 3, 1), max_value=datetime(2026, 12, 31)),
    st.integers(min_value=1, max_value=48),
    st.integers(min_value=-48, max_value=48),
)
def test_an_override_wins_over_the_rotation_exactly_within_its_range(
    moment: datetime, length: int, offset: int
) -> None:
    at = moment.replace(tzinfo=UTC)
    start = at + timedelta(hours=offset)
    over = slot("override", "z", start, start + timedelta(hours=length))
    s = Schedule([rot()], [over], now=NOW)
    plain = Schedule([rot()], [], now=NOW)
    if over.covers(at):
        assert s.cover("dns", at) == [("z", "override")]
    else:
        assert s.cover("dns", at) == plain.cover("dns", at)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2026, 3, 1), max_value=datetime(2026, 4, 30)),
    st.sampled_from("abc"),
    st.sampled_from("abcz"),
)
def test_swaps_are_symmetric_and_trade_only_within_their_range(moment: datetime, first: str, second: str) -> None:
    if first == second:
        return
    at = moment.replace(tzinfo=UTC)
    start, end = datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC)
    one = Schedule([rot()], [slot("swap", first, start, end, other=second)], now=NOW)
    two = Schedule([rot()], [slot("swap", second, start, end, other=first)], now=NOW)
    plain = Schedule([rot()], [], now=NOW)
    assert one.logins("dns", at) == two.logins("dns", at)
    before = plain.logins("dns", at)
    trade = {first: second, second: first}
    expected = [trade.get(x, x) for x in before] if start <= at < end else before
    assert one.logins("dns", at) == expected
    if start <= at < end and set(before) & {first, second}:
        assert one.cover("dns", at)[0][1] == "swap"


def test_layers_restrictions_and_holidays() -> None:
    """Weekdays 09-18 by the day layer (2), nights and weekends by the base (1); on a
    holiday a holiday rotation (3) covers, and the day layer skips it."""
    base = rot("base", ("n1", "n2"), hours=168, handoff=datetime(2026, 3, 2, 9, 0), rid=1)
    day = rot(
        "day",
        ("d1",),
        hours=24,
        handoff=datetime(2026, 3, 2, 9, 0),
        layer=2,
        days=frozenset(range(1, 6)),
        window=(time(9), time(18)),
        holidays="skip",
        rid=2,
    )
    holiday = rot("holiday", ("h1",), hours=24, handoff=datetime(2026, 3, 2, 0, 0), layer=3, holidays="only", rid=3)
    s = Schedule([base, day, holiday], [], [(date(2026, 3, 4), EARLY, None)], now=NOW)
    assert s.cover("dns", local(SH, 2026, 3, 3, 10, 0)) == [("d1", "day")]  # Tuesday 10:00
    assert s.cover("dns", local(SH, 2026, 3, 3, 18, 0)) == [("n1", "base")]  # Tuesday 18:00
    assert s.cover("dns", local(SH, 2026, 3, 4, 10, 0)) == [("h1", "holiday")]  # the holiday
    assert s.cover("dns", local(SH, 2026, 3, 7, 10, 0)) == [("n1", "base")]  # Saturday
    assert s.cover("dns", local(SH, 2026, 3, 9, 10, 0)) == [("d1", "day")]  # next Monday
    assert s.cover("dns", local(SH, 2026, 3, 9, 8, 0)) == [("n1", "base")]  # hand-off at 09:00
    assert s.cover("dns", local(SH, 2026, 3, 9, 20, 0)) == [("n2", "base")]  # second week
    [entry] = s.who(local(SH, 2026, 3, 3, 10, 0), ["dns"])
    assert (entry.since, entry.until) == (local(SH, 2026, 3, 3, 9), local(SH, 2026, 3, 3, 18))


def test_two_rotations_on_one_layer_share_the_duty_and_takes_join() -> None:
    one = rot("one", ("a",), rid=1)
    two = rot("two", ("b",), rid=2)
    at = local(SH, 2026, 3, 5, 12)
    joined = slot("take", "t", at - timedelta(hours=1), None)
    s = Schedule([one, two], [joined], now=NOW)
    assert s.cover("dns", at) == [("a", "one"), ("b", "two"), ("t", "override")]


def test_a_gap_has_one_entry_with_nobody_and_its_bounds() -> None:
    day = rot("day", ("d1",), hours=24, window=(time(9), time(18)))
    s = Schedule([day], [], now=NOW)
    [gap] = s.who(local(SH, 2026, 3, 5, 20), ["dns"])
    assert gap.login is None and gap.to_json()["login"] is None
    assert (gap.since, gap.until) == (local(SH, 2026, 3, 5, 18), local(SH, 2026, 3, 6, 9))
    gaps = s.gaps(local(SH, 2026, 3, 5, 0), local(SH, 2026, 3, 6, 0), ["dns"])
    assert gaps == [
        ("dns", local(SH, 2026, 3, 5, 0), local(SH, 2026, 3, 5, 9)),
        ("dns", local(SH, 2026, 3, 5, 18), local(SH, 2026, 3, 6, 0)),
    ]


def test_a_later_edit_never_rewrites_the_past() -> None:
    """The rotation was changed on 2026-03-10: moments before read the old one, later ones the new."""
    edit = local(SH, 2026, 3, 10, 12)
    old = Rotation(
        1, "r", "dns", 1, ("a",), timedelta(hours=24), datetime(2026, 3, 1, 9), SH, recorded_at=EARLY, retired_at=edit
    )
    new = Rotation(2, "r", "dns", 1, ("b",), timedelta(hours=24), datetime(2026, 3, 1, 9), SH, recorded_at=edit)
    s = Schedule([old, new], [], now=local(SH, 2026, 3, 11, 0))
    assert s.logins("dns", local(SH, 2026, 3, 9, 12)) == ["a"]
    assert s.logins("dns", edit - timedelta(seconds=1)) == ["a"]
    assert s.logins("dns", edit) == ["b"]
    assert s.logins("dns", local(SH, 2026, 4, 1, 12)) == ["b"]  # the future: the schedule in force now


def test_clock_times_point_forward() -> None:
    now = local(SH, 2026, 3, 5, 10, 0)
    assert parse_when("09:40", now, SH) == local(SH, 2026, 3, 6, 9, 40)
    assert parse_when("21:00", now, SH) == local(SH, 2026, 3, 5, 21, 0)
    assert parse_when("2026-03-07", now, SH) == local(SH, 2026, 3, 7, 0, 0)
    assert parse_when("2026-03-07 20:00", now, SH) == local(SH, 2026, 3, 7, 20, 0)
    assert parse_when("+2h", now, SH) == now + timedelta(hours=2)
    with pytest.raises(TimeFormatError, match="HH:MM"):
        parse_when("25:00", now, SH)


# -- mixed layers: a plain oracle --------------------------------------------------------

HOLIDAYS = (date(2026, 3, 4), date(2026, 3, 14))


def _applies(r: Rotation, at: datetime, holidays: frozenset[date]) -> int | None:
    """The shift index of `r` at `at`, or None when it does not apply, worked out from the
    wall clock in Shanghai (no DST) without the rotation's own methods."""
    local_at = at.astimezone(r.zone).replace(tzinfo=None)
    if local_at < r.handoff:
        return None
    start, end = r.hours or (time(0), time(0))
    if end > start:  # within one day
        day = local_at.date() if start <= local_at.time() < end else None
    elif local_at.time() >= start:  # past midnight: the window that began today ...
        day = local_at.date()
    elif local_at.time() < end:  # ... or yesterday
        day = local_at.date() - timedelta(days=1)
    else:
        day = None
    if day is None or (r.days and day.isoweekday() not in r.days):
        return None
    if r.holidays != "any" and (day in holidays) != (r.holidays == "only"):
        return None
    return (local_at - r.handoff) // r.shift


_rotations = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=3),  # layer
        st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=3),  # members
        st.sampled_from([4, 8, 12, 24, 72, 168]),  # shift hours
        st.integers(min_value=0, max_value=20 * 24),  # first hand-off, hours after 02-25 00:00
        st.frozensets(st.integers(min_value=1, max_value=7), max_size=4),  # weekdays (empty: all)
        st.one_of(st.none(), st.tuples(st.integers(0, 23), st.integers(0, 23))),  # hours covered
        st.sampled_from(HOLIDAY_MODES),
    ),
    min_size=1,
    max_size=5,
)
_overrides = st.lists(
    st.tuples(
        st.sampled_from(["override", "take"]),
        st.sampled_from(["a", "x", "y"]),
        st.integers(min_value=0, max_value=30 * 24),  # starts, hours after 02-28 00:00 UTC
        st.one_of(st.none(), st.integers(min_value=1, max_value=96)),  # length (none: open-ended)
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(_rotations, _overrides, st.datetimes(min_value=datetime(2026, 2, 24), max_value=datetime(2026, 4, 5)))
def test_every_moment_is_covered_by_exactly_the_highest_applying_layer_and_the_overrides(
    specs: list[tuple[int, list[str], int, int, frozenset[int], tuple[int, int] | None, str]],
    extras: list[tuple[str, str, int, int | None]],
    moment: datetime,
) -> None:
    """Rotations on mixed layers with weekdays, hours and holiday modes, overrides and
    takes on top: at any moment the duty is held by the members of the applying rotations
    on the highest applying layer (lower layers not at all), replaced wholly by the
    overrides in force, joined by the takes; nobody else, nobody twice."""
    rotations = [
        rot(
            f"r{index}",
            tuple(members),
            hours=hours,
            handoff=datetime(2026, 2, 25) + timedelta(hours=offset),
            layer=layer,
            days=days,
            window=(time(window[0]), time(window[1])) if window else None,
            holidays=mode,
            rid=index,
        )
        for index, (layer, members, hours, offset, days, window, mode) in enumerate(specs, 1)
    ]
    base = datetime(2026, 2, 28, tzinfo=UTC)
    slots = [
        slot(
            kind,
            login,
            base + timedelta(hours=start),
            None if length is None else base + timedelta(hours=start + length),
            sid=i,
        )
        for i, (kind, login, start, length) in enumerate(extras, 1)
    ]
    holidays = frozenset(HOLIDAYS)
    s = Schedule(rotations, slots, [(d, EARLY, None) for d in HOLIDAYS], now=NOW)
    at = moment.replace(tzinfo=UTC)

    applying = {r.name: (r, k) for r in rotations if (k := _applies(r, at, holidays)) is not None}
    top = max((r.layer for r, _k in applying.values()), default=None)
    held = {(r.member_at(k), r.name) for r, k in applying.values() if r.layer == top}
    in_force = [x for x in slots if x.covers(at)]
    overrides = {x.login for x in in_force if x.kind == "override"}
    takes = {x.login for x in in_force if x.kind == "take"}

    cover = s.cover("dns", at)
    logins = [login for login, _source in cover]
    assert len(logins) == len(set(logins))  # nobody twice
    planned = overrides or {login for login, _name in held}
    assert set(logins) == planned | takes
    for login, source in cover:
        if login in planned and overrides:
            assert source == "override"
        elif login in planned:
            assert (login, source) in held  # a rotation on the highest applying layer
        else:
            assert login in takes and source == "override"
