"""`opsdeck schedule import` and `export --csv` with real files: a 排班表 CSV as a
spreadsheet saves it (UTF-8 with a BOM, GB18030, Chinese column names, shifts past
midnight), a TOML schedule with rotations, overrides and holidays; importing again
replaces what the file added; a bad file names the line and the field and stores
nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service

from ..conftest import allow_as_on_postgresql, demo_fixture

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def db(store_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    store = open_store(store_url)
    extra = '\n[[member]]\nlogin = "servers2"\nname = "孙丽"\npermission = "operator"\nduties = ["servers"]\n'
    roster = tmp_path / "roster.toml"
    roster.write_text(demo_fixture("roster.toml").read_text(encoding="utf-8") + extra, encoding="utf-8")
    Service(store, SEED_ACTOR).import_records("roster", roster)
    for login in ("lead", "dns", "servers"):
        Service(store, login).roster_duty(login, False)
    allow_as_on_postgresql(store)  # the CLI runs --as the demo logins
    store.dispose()
    monkeypatch.setenv("OPSDECK_DB", store_url)
    monkeypatch.setenv("OPSDECK_TIMEZONE", "Asia/Shanghai")
    return store_url


def _days_ahead(n: int) -> str:
    return (datetime.now(UTC).astimezone(SH).date() + timedelta(days=n)).isoformat()


def at(day: str, clock: str) -> str:
    return datetime.fromisoformat(f"{day} {clock}").replace(tzinfo=SH).isoformat()


def who(cli, when: str, duty: str) -> list[object]:  # type: ignore[no-untyped-def]
    code, out, err = cli("schedule", "who", "--json", "--at", when, "--duty", duty)
    assert code == 0, err
    return [(r["login"], r["source"]) for r in json.loads(out)]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_a_spreadsheet_csv_in_either_encoding_imports_and_shows(cli, db: str, tmp_path: Path, encoding: str) -> None:  # type: ignore[no-untyped-def]
    d1, d2 = _days_ahead(1), _days_ahead(2)
    sheet = tmp_path / "排班表.csv"
    sheet.write_bytes(
        (
            "日期,开始,结束,职责,值班人\r\n"
            f"{d1},08:00,20:00,servers,servers\r\n"
            f"{d1},20:00,08:00,servers,servers2\r\n"  # past midnight
            f"{d1.replace('-', '/')},09:00,18:00,dns,dns\r\n"  # a spreadsheet's date format
        ).encode(encoding)
    )
    code, out, err = cli("schedule", "import", str(sheet), "--as", "lead")
    assert code == 0 and "3 shifts" in out, err
    assert who(cli, at(d1, "12:00"), "servers") == [("servers", "shift")]
    assert who(cli, at(d2, "07:59"), "servers") == [("servers2", "shift")]
    assert who(cli, at(d2, "08:00"), "servers") == [(None, "gap")]
    assert who(cli, at(d1, "10:00"), "dns") == [("dns", "shift")]
    code, out, _err = cli("schedule", "show", "--duty", "servers", "--from", f"{d1} 00:00", "--to", f"{d2} 12:00")
    assert "servers2" in out and f"{d1} 20:00 → {d2} 08:00" in out

    # exported back as the sheet's own rows, cut at midnight
    code, out, err = cli(
        "schedule", "export", "--csv", "--duty", "servers", "--from", f"{d1} 00:00", "--to", f"{d2} 12:00"
    )
    assert code == 0, err
    assert out.splitlines() == [
        "date,start,end,duty,login",
        f"{d1},08:00,20:00,servers,servers",
        f"{d1},20:00,00:00,servers,servers2",
        f"{d2},00:00,08:00,servers,servers2",
    ]

    # the same file again: its shifts replaced, not doubled; edited, the new rows hold
    sheet.write_bytes(f"date,start,end,duty,login\n{d1},08:00,20:00,servers,servers2\n".encode(encoding))
    code, out, err = cli("schedule", "import", str(sheet), "--as", "lead", "--json")
    assert code == 0 and json.loads(out)["replaced"] == 3, err
    assert who(cli, at(d1, "12:00"), "servers") == [("servers2", "shift")]
    assert who(cli, at(d1, "22:00"), "servers") == [(None, "gap")]
    assert who(cli, at(d1, "10:00"), "dns") == [(None, "gap")]


def test_a_bad_sheet_names_the_line_and_field_and_stores_nothing(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d1 = _days_ahead(1)
    sheet = tmp_path / "bad.csv"
    for body, where in (
        (
            f"{d1},08:00,20:00,servers,servers\n{d1},8h,20:00,servers,servers\n",
            "line 2: start: '8h' is not a clock time",
        ),
        (
            f"{d1},08:00,20:00,servers,servers\n2026-13-01,08:00,20:00,dns,dns\n",
            "line 2: date: '2026-13-01' is not a date",
        ),
        (f"{d1},08:00,20:00,servers,servers\n{d1},08:00,20:00,network,dns\n", "line 2: duty: 'network' is not a duty"),
        (f"{d1},08:00,20:00,servers,servers\n{d1},08:00,20:00,dns,nobody\n", "line 2: login: 'nobody' is not a member"),
        (
            f"{d1},08:00,20:00,servers,servers\n{d1},08:00,20:00,dns,servers\n",
            "line 2: login: servers does not hold the duty dns",
        ),
        (f"{d1},08:00,20:00,servers\n", "line 1: login: missing"),
    ):
        sheet.write_text(body, encoding="utf-8")
        code, _out, err = cli("schedule", "import", str(sheet), "--as", "lead")
        assert code in (1, 2, 4) and f"bad.csv: {where}" in err, (where, err)
    assert who(cli, at(d1, "12:00"), "servers") == [(None, "gap")]  # nothing half-imported
    sheet.write_bytes(b"\xff\xfe\x00broken")
    code, _out, err = cli("schedule", "import", str(sheet), "--as", "lead")
    assert code == 2
    sheet.write_text(f"{d1},08:00,20:00,dns,dns\n", encoding="utf-8")
    code, _out, err = cli("schedule", "import", str(sheet), "--as", "dns")
    assert code == 1 and "for leads" in err


def test_a_toml_schedule_with_layers_overrides_and_holidays(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d1, d2 = _days_ahead(1), _days_ahead(2)
    path = tmp_path / "schedule.toml"
    path.write_text(
        f"""
[[rotation]]
name = "srv"
duty = "servers"
members = ["servers", "servers2"]
shift = "12h"
handoff = "{d1} 08:00"

[[rotation]]
name = "srv-holiday"
duty = "servers"
members = ["servers2"]
shift = "1d"
handoff = "{d1} 00:00"
layer = 2
holidays = "only"

[[override]]
duty = "dns"
login = "dns"
from = "{d1} 09:00"
until = "{d1} 18:00"
note = "值班"

[[holiday]]
date = "{d2}"
name = "元旦"
""",
        encoding="utf-8",
    )
    code, out, err = cli("schedule", "import", str(path), "--as", "lead")
    assert code == 0 and "2 rotations, 0 shifts, 1 overrides, 1 holidays" in out, err
    assert who(cli, at(d1, "09:00"), "servers") == [("servers", "srv")]
    assert who(cli, at(d1, "21:00"), "servers") == [("servers2", "srv")]
    assert who(cli, at(d2, "09:00"), "servers") == [("servers2", "srv-holiday")]  # the holiday's layer
    assert who(cli, at(d1, "10:00"), "dns") == [("dns", "override")]
    path.write_text('[[rotation]]\nname = "x"\nduty = "dns"\nmembers = ["dns"]\nshift = "12h"\n', encoding="utf-8")
    code, _out, err = cli("schedule", "import", str(path), "--as", "lead")
    assert code == 2 and "schedule.toml: rotation 1: handoff: missing" in err
    assert who(cli, at(d1, "09:00"), "servers") == [("servers", "srv")]  # the earlier import stands


def _ics(d1: str) -> str:
    """As Google Calendar or Outlook export it: a VTIMEZONE, a weekly RRULE with an EXDATE,
    folded lines, CRLF."""
    day = d1.replace("-", "")
    skipped = (datetime.fromisoformat(d1) + timedelta(days=7)).strftime("%Y%m%d")
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "X-WR-CALNAME:值班",
            "BEGIN:VTIMEZONE",
            "TZID:Asia/Shanghai",
            "BEGIN:STANDARD",
            "TZOFFSETFROM:+0800",
            "TZOFFSETTO:+0800",
            "TZNAME:CST",
            "DTSTART:19700101T000000",
            "END:STANDARD",
            "END:VTIMEZONE",
            "BEGIN:VEVENT",
            f"DTSTART;TZID=Asia/Shanghai:{day}T200000",
            f"DTEND;TZID=Asia/Shanghai:{(datetime.fromisoformat(d1) + timedelta(days=1)).strftime('%Y%m%d')}T080000",
            "RRULE:FREQ=WEEKLY;COUNT=4",
            f"EXDATE;TZID=Asia/Shanghai:{skipped}T200000",
            "UID:night-watch-1@example.org",
            "SUMMARY:servers servers2",
            "DESCRIPTION:夜班，每周一次，一共四次；第二次取消。这一行很长，日历程序会把它折成几",
            " 行。",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


def test_an_icalendar_feed_with_rrule_and_exdate_imports_and_exports(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d1 = _days_ahead(1)
    day = datetime.fromisoformat(d1)
    feed = tmp_path / "nights.ics"
    feed.write_text(_ics(d1), encoding="utf-8", newline="")
    code, out, err = cli("schedule", "import", str(feed), "--as", "lead")
    assert code == 0 and "3 shifts" in out, err  # four weekly nights, one cancelled
    for week, expected in ((0, "servers2"), (1, None), (2, "servers2"), (3, "servers2"), (4, None)):
        night = (day + timedelta(days=7 * week)).date().isoformat()
        assert who(cli, at(night, "23:00"), "servers") == [(expected, "shift" if expected else "gap")], week
    assert who(cli, at(d1, "19:59"), "servers") == [(None, "gap")]

    # a member's own calendar: every event is their shift on the duty given
    own = tmp_path / "dns-own.ics"
    own.write_text(_ics(d1).replace("SUMMARY:servers servers2", "SUMMARY:在家值班"), encoding="utf-8", newline="")
    code, _out, err = cli("schedule", "import", str(own), "--as", "lead")
    assert code == 2 and "line" in err and "SUMMARY" in err and "--duty and --login" in err
    code, _out, err = cli("schedule", "import", str(own), "--duty", "dns", "--login", "dns", "--as", "lead")
    assert code == 0, err
    assert who(cli, at(d1, "23:00"), "dns") == [("dns", "shift")]

    # exported for servers2's calendar and read back elsewhere: the same nights
    code, out, err = cli("schedule", "export", "--ics", "--login", "servers2", "-o", str(tmp_path / "s2.ics"))
    assert code == 0, err
    import icalendar

    events = [c for c in icalendar.Calendar.from_ical((tmp_path / "s2.ics").read_bytes()).walk("VEVENT")]
    assert [str(e["SUMMARY"]) for e in events] == ["servers servers2"] * 3
    assert events[0].decoded("DTSTART").astimezone(SH) == datetime.fromisoformat(f"{d1} 20:00").replace(tzinfo=SH)
    assert events[0].decoded("DTEND") - events[0].decoded("DTSTART") == timedelta(hours=12)


def test_export_dir_writes_one_calendar_per_member_and_duty(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import icalendar

    d1 = _days_ahead(1)
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(f"{d1},08:00,20:00,servers,servers\n{d1},20:00,08:00,servers,servers2\n", encoding="utf-8")
    assert cli("schedule", "import", str(sheet), "--as", "lead")[0] == 0
    out_dir = tmp_path / "calendars"
    code, out, err = cli("schedule", "export", "--ics", "--dir", str(out_dir))
    assert code == 0 and f"calendars written to {out_dir}" in out, err
    names = sorted(p.name for p in out_dir.iterdir())
    assert {"member-servers.ics", "member-servers2.ics", "duty-servers.ics", "duty-dns.ics"} <= set(names)
    night = icalendar.Calendar.from_ical((out_dir / "member-servers2.ics").read_bytes())
    assert [str(e["SUMMARY"]) for e in night.walk("VEVENT")] == ["servers servers2"]
    duty = icalendar.Calendar.from_ical((out_dir / "duty-servers.ics").read_bytes())
    assert sorted(str(e["SUMMARY"]) for e in duty.walk("VEVENT")) == ["servers servers", "servers servers2"]
    code, _out, err = cli("schedule", "export", "--csv", "--dir", str(out_dir))
    assert code == 2 and "--ics alone" in err


def _event(*lines: str) -> str:
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//hostile//EN",
            "BEGIN:VEVENT",
            "UID:evil-1",
            *lines,
            "SUMMARY:dns dns",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        (("DTSTART:{d}T000000Z", "DTEND:{d}T000030Z", "RRULE:FREQ=SECONDLY"), "RRULE: FREQ=SECONDLY repeats too often"),
        (("DTSTART:{d}T000000Z", "DTEND:{d}T000100Z", "RRULE:FREQ=MINUTELY"), "RRULE: FREQ=MINUTELY repeats too often"),
        (
            ("DTSTART;TZID=Europe/Lodnon:{d}T200000", "DTEND;TZID=Europe/Lodnon:{d}T230000"),
            "DTSTART: unknown time zone 'Europe/Lodnon'",
        ),
        (("DTSTART:{d}T120000Z", "DTEND:{d}T080000Z"), "DTEND: not after DTSTART"),
        (("DTEND:{d}T080000Z",), "DTSTART: missing"),
    ],
)
def test_a_hostile_calendar_is_refused_at_its_line_and_stores_nothing(  # type: ignore[no-untyped-def]
    cli, db: str, tmp_path: Path, lines: tuple[str, ...], said: str
) -> None:
    """A rule repeating every second expanded into memory without end; an unknown zone
    was read as the center's, 8 hours off; an end before the start was swapped."""
    day = _days_ahead(2).replace("-", "")
    feed = tmp_path / "hostile.ics"
    feed.write_text(_event(*(line.format(d=day) for line in lines)), encoding="utf-8", newline="")
    code, _out, err = cli("schedule", "import", str(feed), "--as", "lead")
    assert code == 2 and f"hostile.ics: line 5: {said}" in err, err
    code, out, _err = cli("schedule", "show", "--json")
    assert "hostile" not in out


def test_a_calendar_of_more_shifts_than_a_duty_needs_is_refused(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Five hourly events: 11,040 shifts in the 92 days imported, over the cap of 10,000."""
    day = _days_ahead(1).replace("-", "")
    events = [
        f"BEGIN:VEVENT\r\nUID:busy-{h}\r\nDTSTART:{day}T{h:02d}0000Z\r\nDTEND:{day}T{h:02d}3000Z\r\n"
        "RRULE:FREQ=HOURLY\r\nSUMMARY:dns dns\r\nEND:VEVENT\r\n"
        for h in range(5)
    ]
    feed = tmp_path / "busy.ics"
    feed.write_text(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{''.join(events)}END:VCALENDAR\r\n", newline="")
    code, _out, err = cli("schedule", "import", str(feed), "--as", "lead")
    assert code == 2 and "over 10000 shifts in the next 92 days" in err, err


def test_a_viewer_on_a_schedule_is_named_as_a_viewer_not_a_stranger(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    day = _days_ahead(2).replace("-", "")
    feed = tmp_path / "viewer.ics"
    feed.write_text(
        _event(f"DTSTART:{day}T000000Z", f"DTEND:{day}T080000Z").replace("dns dns", "dns auditor"), newline=""
    )
    code, _out, err = cli("schedule", "import", str(feed), "--as", "lead")
    assert code == 1 and "'auditor' is a viewer" in err and "not a member" not in err, err
    feed.write_text(feed.read_text().replace("dns auditor", "dns nobody"), newline="")
    code, _out, err = cli("schedule", "import", str(feed), "--as", "lead")
    assert code == 4 and "'nobody' is not a member of the emergency group" in err, err
