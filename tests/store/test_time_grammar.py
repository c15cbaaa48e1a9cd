"""One time grammar for every field a person types (backend/timeutil.py): RFC 3339, a
local date and time, a time of day toward the past or the future, compound relative
times and periods, in the center's zone; and through the CLI, `calls add --at 09:40`,
which the help advertised and the parser refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.backend.timeutil import TimeFormatError, parse_period, parse_time

from ..conftest import FakeClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "toward", "wanted"),
    [
        ("2026-11-28T09:40:00Z", "past", utc(2026, 11, 28, 9, 40)),
        ("2026-11-28T09:40:00+08:00", "past", utc(2026, 11, 28, 1, 40)),
        ("2026-11-28 09:40", "past", utc(2026, 11, 28, 1, 40)),  # the center's zone
        ("09:40", "past", utc(2026, 11, 28, 1, 40)),  # today, 80 min ago
        ("12:00", "past", utc(2026, 11, 27, 4, 0)),  # later today: yesterday's
        ("12:00", "future", utc(2026, 11, 28, 4, 0)),  # an override's start: today's
        ("09:40", "future", utc(2026, 11, 29, 1, 40)),  # already past today: tomorrow's
        ("11:00", "past", NOW),  # now is the most recent such time
        ("-90m", "past", NOW - timedelta(minutes=90)),
        ("-1h30m", "past", NOW - timedelta(minutes=90)),
        ("+2h", "future", NOW + timedelta(hours=2)),
        ("- 1d 2h", "past", NOW - timedelta(hours=26)),
        ("2026-11", "past", utc(2026, 10, 31, 16)),  # a period: its start in the center's zone
        ("2026-W48", "past", utc(2026, 11, 22, 16)),  # Monday 23 November, Shanghai
        ("2026-11-28", "past", utc(2026, 11, 27, 16)),
    ],
)
def test_every_form_of_the_grammar(text: str, toward: str, wanted: datetime) -> None:
    assert parse_time(text, NOW, SHANGHAI, toward=toward) == wanted


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-11", utc(2026, 10, 31, 16), utc(2026, 11, 30, 16)),
        ("2026-12", utc(2026, 11, 30, 16), utc(2026, 12, 31, 16)),  # into the next year
        ("2026-W53", utc(2026, 12, 27, 16), utc(2027, 1, 3, 16)),  # 2026 has 53 ISO weeks
        ("2026-11-28", utc(2026, 11, 27, 16), utc(2026, 11, 28, 16)),
    ],
)
def test_periods_are_half_open_in_the_centers_zone(text: str, start: datetime, end: datetime) -> None:
    assert parse_period(text, SHANGHAI) == (start, end)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("yesterday", "is not a time: write one like"),
        ("25:00", "is not a time of day"),
        ("2026-13", "is not on the calendar"),
        ("2026-W54", "is not on the calendar"),
        ("2026-02-30", "is not on the calendar"),
        ("-5y", "is not a time"),
        ("9999-12", "is not on the calendar"),  # its end is past the calendar
    ],
)
def test_what_is_not_a_time_says_what_to_write(text: str, said: str) -> None:
    with pytest.raises(TimeFormatError, match=said):
        parse_time(text, NOW, SHANGHAI)


@given(
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_a_time_of_day_is_the_nearest_one_on_its_side_of_now(hour: int, minute: int, now: datetime) -> None:
    text = f"{hour:02d}:{minute:02d}"
    past = parse_time(text, now, SHANGHAI)
    future = parse_time(text, now, SHANGHAI, toward="future")
    assert past <= now < future
    assert timedelta(0) <= now - past < timedelta(days=1) and timedelta(0) < future - now <= timedelta(days=1)
    assert past.astimezone(SHANGHAI).strftime("%H:%M") == text == future.astimezone(SHANGHAI).strftime("%H:%M")


def test_a_call_from_the_paper_log_at_a_time_of_day(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    """The docs' own example (docs/cli.md), refused before one grammar: `calls add ID --at 09:40`."""
    incident = Service(seeded, "servers").open("Portal down").id
    url = seeded.url.render_as_string(hide_password=False)
    code, out, err = cli(
        "--db", url, "--as", "servers", "calls", "add", str(incident), "--caller", "branch 12",
        "--contact", "x1234", "--need", "when is it back?", "--at", "09:40", "--json",
    )  # fmt: skip
    assert code == 0, err
    now = datetime.now(UTC)  # the CLI reads the wall clock, in the zone the tests set (UTC)
    wanted = now.replace(hour=9, minute=40, second=0, microsecond=0)
    if wanted > now:
        wanted -= timedelta(days=1)
    with seeded.read() as session:
        from opsdeck.backend.models import ServiceCall

        call = session.get(ServiceCall, json.loads(out)["id"])
        assert call is not None
        assert call.at.astimezone(UTC) == wanted  # the most recent 09:40


def test_a_compound_relative_time_is_a_value_not_an_option(seeded: Store, cli) -> None:  # type: ignore[no-untyped-def]
    """`--since -1h30m` (argparse takes a word starting with - for an option unless told)."""
    Service(seeded, "servers").open("Portal down")
    url = seeded.url.render_as_string(hide_password=False)
    code, out, err = cli("--db", url, "incident", "list", "--since", "-1h30m", "--status", "all", "--json")
    assert code == 0, err
    assert isinstance(json.loads(out), list)
