"""Text on its way to a terminal: the sanitizer, cell widths, and times as typed and shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsdeck.backend.cells import cell_len, fit, rjust
from opsdeck.backend.sanitize import clean, has_controls
from opsdeck.backend.timeutil import (
    TimeFormatError,
    format_age,
    format_countdown,
    load_zone,
    parse_duration,
    parse_time,
    rfc3339,
)

NOW = datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Text that is mostly escape-sequence material, so hypothesis finds the odd corners.
HOSTILE = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.characters(min_codepoint=0, max_codepoint=0x9F),
        st.sampled_from(["\x1b", "\x9b", "\x9c", "\x9d", "\x90", "\x07", "[", "]", "\\", "P", "中", "\u202e"]),
    )
)


def is_control(char: str) -> bool:
    return ord(char) <= 0x1F or 0x7F <= ord(char) <= 0x9F


# -- clean: escape sequences ---------------------------------------------------------------


def test_clean_strips_csi_colour_and_cursor_sequences() -> None:
    assert clean("\x1b[31mdisk full\x1b[0m on \x1b[1;5Hdb-2\x1b[?1049h") == "disk full on db-2"


def test_clean_strips_an_osc52_clipboard_write_ended_by_bel() -> None:
    assert clean("ok\x1b]52;c;cm0gLXJmIC8K\x07 done") == "ok done"


def test_clean_strips_an_osc52_clipboard_write_ended_by_st() -> None:
    assert clean("ok\x1b]52;c;cm0gLXJmIC8K\x1b\\ done") == "ok done"


def test_clean_strips_an_osc_title_set_ended_by_bel() -> None:
    assert clean("\x1b]0;pwned\x07CPU load 93%") == "CPU load 93%"


def test_clean_strips_an_osc_title_set_ended_by_st() -> None:
    assert clean("\x1b]2;pwned\x1b\\CPU load 93%") == "CPU load 93%"


def test_clean_strips_an_8bit_osc_ended_by_8bit_st() -> None:
    assert clean("\x9d0;pwned\x9cCPU load 93%") == "CPU load 93%"


def test_clean_strips_an_unterminated_osc_to_the_end() -> None:
    assert clean("backup ok\x1b]52;c;AAAA") == "backup ok"


def test_clean_strips_dcs_strings() -> None:
    assert clean("a\x1bPq#0;2;0;0;0#0~~\x1b\\b") == "ab"
    assert clean("a\x90q#0~~\x9cb") == "ab"


def test_clean_strips_8bit_csi() -> None:
    assert clean("\x9b31mred\x9b0m") == "red"


def test_clean_strips_lone_esc_and_esc_pairs() -> None:
    assert clean("reset\x1bc here") == "reset here"
    assert clean("tail\x1b") == "tail"


def test_clean_strips_8bit_c1_controls() -> None:
    assert clean("a\x80b\x85c\x8dd\x9ae", one_line=False) == "abcde"


def test_clean_strips_bidi_overrides_and_isolates() -> None:
    assert clean("invoice\u202eexe.pdf", one_line=False) == "invoiceexe.pdf"
    assert clean("\u2066a\u2067b\u2068c\u2069\u202ad\u202be\u202cf\u202d", one_line=False) == "abcdef"


# -- clean: what it keeps ------------------------------------------------------------------


def test_clean_keeps_chinese_and_ordinary_text() -> None:
    assert clean("门户网站首页被篡改") == "门户网站首页被篡改"
    assert clean("db-cluster: 5xx rate 12% (阈值 5%) 😀") == "db-cluster: 5xx rate 12% (阈值 5%) 😀"


def test_clean_one_line_turns_newlines_and_tabs_into_spaces() -> None:
    assert clean("first\nsecond\tthird\r\nfourth\n") == "first second third fourth"


def test_clean_multi_line_keeps_newlines_and_tabs_and_normalises_cr() -> None:
    assert clean("a\r\nb\tc\rd\x07e", one_line=False) == "a\nb\tc\nde"


def test_clean_of_nothing_is_empty() -> None:
    assert clean(None) == "" and clean("") == ""


def test_has_controls_tells_hostile_from_plain_text() -> None:
    assert has_controls("x\x1b]0;t\x07")
    assert has_controls("x\x9by")
    assert not has_controls("门户 ok\n\tfine")


@given(HOSTILE)
def test_clean_one_line_output_has_no_control_character(text: str) -> None:
    out = clean(text)
    assert not any(is_control(c) for c in out), repr(out)


@given(HOSTILE)
def test_clean_multi_line_output_has_no_control_but_newline_and_tab(text: str) -> None:
    out = clean(text, one_line=False)
    assert not any(is_control(c) and c not in "\n\t" for c in out), repr(out)


@given(HOSTILE)
def test_clean_output_has_no_bidi_override(text: str) -> None:
    out = clean(text, one_line=False)
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in out)


# What clean takes out besides controls: bidi overrides, isolates and marks, invisible
# characters, and the Unicode line and paragraph separators (made newlines).
TAKEN_OUT = set("\u200b\u200c\u200e\u200f\u2028\u2029\ufeff") | {
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2060, 0x206A))
}


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))))
def test_clean_leaves_text_without_controls_alone(text: str) -> None:
    text = "".join(c for c in text if c not in TAKEN_OUT)
    assert clean(text, one_line=False) == text


def test_clean_drops_invisible_characters_that_would_put_columns_out_of_line() -> None:
    assert clean("a\u200bb\u200cc\u2060d\ufeffe\u200ef\u200fg") == "abcdefg"
    assert clean("family 👨\u200d👩\u200d👧") == "family 👨\u200d👩\u200d👧"  # the joiner holds an emoji together
    assert cell_len(clean("#7 \u200b\u200bdisk")) == cell_len("#7 disk")


def test_clean_makes_unicode_line_separators_line_breaks() -> None:
    assert clean("first\u2028second\u2029third", one_line=False) == "first\nsecond\nthird"
    assert clean("first\u2028second") == "first second"


# -- cells ---------------------------------------------------------------------------------


def test_cell_len_counts_chinese_as_two_cells() -> None:
    assert cell_len("abc") == 3
    assert cell_len("中文") == 4
    assert cell_len("db 故障") == 7
    assert cell_len("e\u0301") == 1  # a combining accent takes no cell


def test_fit_pads_short_text_to_the_exact_width() -> None:
    assert fit("abc", 6) == "abc   "
    assert fit("中文", 6) == "中文  "
    assert fit("exact", 5) == "exact"


def test_fit_crops_with_an_ellipsis() -> None:
    assert fit("abcdefgh", 5) == "abcd…"


def test_fit_never_splits_a_wide_character_past_the_width() -> None:
    # 6 cells: two characters (4) and the ellipsis (1) fit; the third would make 7.
    assert fit("门户网站首页", 6) == "门户… "
    assert fit("门户网站首页", 5) == "门户…"
    assert fit("中文", 2) == "… "


def test_fit_to_no_width_is_empty() -> None:
    assert fit("abc", 0) == "" and fit("abc", -3) == ""


def test_fit_to_one_cell_is_the_ellipsis() -> None:
    assert fit("中文", 1) == "…"


def test_rjust_pads_by_cells() -> None:
    assert rjust("中", 4) == "  中"
    assert rjust("toolong", 3) == "toolong"


@given(st.text(), st.integers(min_value=2, max_value=200))
def test_fit_is_always_exactly_the_width(text: str, width: int) -> None:
    assert cell_len(fit(text, width)) == width


@given(st.text(alphabet=st.sampled_from("中文网a1 …")), st.integers(min_value=2, max_value=30))
def test_fit_keeps_a_prefix_of_the_text(text: str, width: int) -> None:
    out = fit(text, width).rstrip(" ")
    if cell_len(text) <= width:
        assert out == text.rstrip(" ")
    else:
        assert out.endswith("…") and text.startswith(out[:-1])


# -- parse_time ----------------------------------------------------------------------------


def test_parse_time_reads_rfc3339_with_z() -> None:
    assert parse_time("2026-11-28T03:10:00Z", NOW) == datetime(2026, 11, 28, 3, 10, tzinfo=UTC)
    assert parse_time("2026-11-28T03:10:00z", NOW) == datetime(2026, 11, 28, 3, 10, tzinfo=UTC)


def test_parse_time_reads_offsets_and_returns_utc() -> None:
    parsed = parse_time("2026-11-28T11:10:00+08:00", NOW)
    assert parsed == datetime(2026, 11, 28, 3, 10, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)
    assert parse_time("2026-11-27T22:10:00.250-05:00", NOW) == datetime(2026, 11, 28, 3, 10, 0, 250000, tzinfo=UTC)


def test_parse_time_reads_naive_input_in_the_given_zone() -> None:
    assert parse_time("2026-11-28 11:10:00", NOW, SHANGHAI) == datetime(2026, 11, 28, 3, 10, tzinfo=UTC)
    assert parse_time("2026-11-28T11:10", NOW) == datetime(2026, 11, 28, 11, 10, tzinfo=UTC)


def test_parse_time_reads_relative_times_from_now() -> None:
    assert parse_time("-15m", NOW) == NOW - timedelta(minutes=15)
    assert parse_time("+2h", NOW) == NOW + timedelta(hours=2)
    assert parse_time(" - 90 s ", NOW) == NOW - timedelta(seconds=90)
    assert parse_time("-1w", NOW) == NOW - timedelta(weeks=1)


@pytest.mark.parametrize("text", ["yesterday", "15m", "2026-13-01T00:00:00Z", "", "-15", "-15 minutes"])
def test_parse_time_refuses_what_it_cannot_read_with_examples(text: str) -> None:
    with pytest.raises(TimeFormatError) as info:
        parse_time(text, NOW)
    assert "2026-11-28T09:40:00+08:00, 2026-11-28 09:40, 09:40, -90m" in str(info.value)


def test_parse_time_refuses_a_relative_time_out_of_range_as_a_format_error() -> None:
    with pytest.raises(TimeFormatError):
        parse_time("-1000000d", NOW)


# -- parse_duration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        (" 30 m ", timedelta(minutes=30)),
        ("+15m", timedelta(minutes=15)),
        ("-15m", timedelta(minutes=15)),
    ],
)
def test_parse_duration_reads_a_number_and_a_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["15", "m", "1.5h", "15min", "2y", ""])
def test_parse_duration_refuses_other_text_with_examples(text: str) -> None:
    with pytest.raises(TimeFormatError) as info:
        parse_duration(text)
    assert "like 30m, 2h or 1d" in str(info.value)


def test_parse_duration_refuses_a_huge_number_as_a_format_error() -> None:
    with pytest.raises(TimeFormatError):
        parse_duration("99999999999w")


# -- rfc3339 -------------------------------------------------------------------------------


def test_rfc3339_writes_utc_with_z() -> None:
    assert rfc3339(NOW) == "2026-11-28T03:00:00Z"
    assert rfc3339(datetime(2026, 11, 28, 11, 0, tzinfo=SHANGHAI)) == "2026-11-28T03:00:00Z"
    assert rfc3339(datetime(2026, 11, 28, 3, 0, 0, 5, tzinfo=timezone(timedelta(hours=-5)))) == (
        "2026-11-28T08:00:00.000005Z"
    )


def test_rfc3339_of_none_is_none_and_naive_is_refused() -> None:
    assert rfc3339(None) is None
    with pytest.raises(ValueError):
        rfc3339(datetime(2026, 11, 28, 3, 0))


@given(st.datetimes(timezones=st.just(UTC)))
def test_rfc3339_round_trips_through_parse_time(value: datetime) -> None:
    text = rfc3339(value)
    assert text is not None and text.endswith("Z")
    assert parse_time(text, NOW) == value


# -- format_countdown, format_age ----------------------------------------------------------


def test_countdown_shows_minutes_and_seconds_under_an_hour() -> None:
    assert format_countdown(900) == "    15:00"
    assert format_countdown(59.9) == "    00:59"
    assert format_countdown(3599) == "    59:59"


def test_countdown_is_negative_when_late() -> None:
    assert format_countdown(-300) == "   -05:00"
    assert format_countdown(-3600) == "   -1h00m"
    assert format_countdown(-5 * 86400).strip().startswith("-")


def test_countdown_shows_hours_then_days() -> None:
    assert format_countdown(2 * 3600 + 5 * 60 + 7) == "    2h05m"
    assert format_countdown(99 * 3600 + 59 * 60 + 59) == "   99h59m"


def test_countdowns_past_an_hour_change_once_a_minute() -> None:
    # A board of far deadlines must not repaint every row every second over SSH.
    assert format_countdown(3 * 3600 + 10) == format_countdown(3 * 3600 + 59)
    assert format_countdown(3599) != format_countdown(3598)
    assert format_countdown(5 * 86400 + 3 * 3600) == "    5d03h"


def test_countdown_keeps_one_width_as_it_ticks_down() -> None:
    # A countdown repaints its own cells every second; from two days ahead to two days
    # late its text must keep one width, or the column jumps as the hours pass.
    samples = [2 * 86400, 86400, 36000, 35999, 3600, 3599, 0, -1, -3599, -3600, -36000, -86400]
    widths = {format_countdown(s): len(format_countdown(s)) for s in samples}
    assert len(set(widths.values())) == 1, widths


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0s"), (45, "45s"), (720, "12m"), (3 * 3600 + 5 * 60, "3h05m"), (2 * 86400 + 4 * 3600, "2d04h"), (-5, "0s")],
)
def test_format_age_is_compact(seconds: float, expected: str) -> None:
    assert format_age(seconds) == expected


def test_load_zone_names_the_bad_zone_and_the_fix() -> None:
    assert load_zone("Asia/Shanghai") == SHANGHAI
    with pytest.raises(TimeFormatError) as info:
        load_zone("Mars/Olympus")
    assert "'Mars/Olympus'" in str(info.value) and "IANA name" in str(info.value)
