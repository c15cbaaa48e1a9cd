"""`opsdeck stats` (issue #23): a scripted day whose every figure is worked out by hand here.

All times 2026-11-28 UTC. Each incident is closed, so the stored states are final and the
CLI (which reads at the wall clock) sees the same figures as the day's end.

  #1 03:00 opened (db-cluster, unclassified, outage since 02:50); 03:05 ack, assigned to
     servers; 03:15 classified server_fault IV; 03:40 resolved; 03:50 closed with its record.
  #2 04:00 opened software_fault III (benefits-app), acknowledged by opening it classified;
     04:02 leadership informed; 04:03 assigned to web; 04:50 cause located;
     05:30 resolved; 05:40 closed with its record (departments never told).
  #3 06:00 opened (no system, unclassified); 06:40 closed as a false alarm.
  #4 08:00 opened server_fault II (db-cluster), acknowledged so; 08:01 assigned to servers;
     18:12 re-graded to III (the first
     leadership report, due 08:15, replaced 9:57 overdue); 18:14 leadership informed;
     18:20 resolved; 18:30 closed with its record.
  #5 2026-12-01 00:00 opened: outside a November period (the period is half-open).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from opsdeck.backend import record, stats
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock
from ..records import filled


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 28, hour, minute, tzinfo=UTC)


def close_with_record(store: Store, incident_id: int, clock: FakeClock) -> None:
    with store.read() as session:
        draft = record.markdown(record.draft(session, incident_id, clock.now), UTC)
    Service(store, "lead").close(incident_id, record=filled(draft))


def scripted_day(store: Store, clock: FakeClock) -> None:
    servers, lead = Service(store, "servers"), Service(store, "lead")
    clock.now = at(3)
    one = servers.open("Benefits DB slow", system="db-cluster", outage_start=at(2, 50)).id
    assert one == 1
    clock.now = at(3, 5)
    servers.ack(1)
    lead.assign(1, "servers")
    clock.now = at(3, 15)
    servers.classify(1, category="server_fault", level="IV")
    clock.now = at(3, 40)
    servers.resolve(1, resolution="index rebuilt")
    clock.now = at(3, 50)
    close_with_record(store, 1, clock)

    clock.now = at(4)
    servers.open("Benefits app down", system="benefits-app", category="software_fault", level="III", outage_start=at(4))
    clock.now = at(4, 2)
    lead.attest(2, "leadership_informed", via="phone", note="director told")
    clock.now = at(4, 3)
    lead.assign(2, "web")
    clock.now = at(4, 50)
    servers.cause(2, note="a bad release")
    clock.now = at(5, 30)
    servers.resolve(2, resolution="rolled back")
    clock.now = at(5, 40)
    close_with_record(store, 2, clock)

    clock.now = at(6)
    servers.open("Probe says portal is down")
    clock.now = at(6, 40)
    lead.close(3, false_alarm_reason="the probe was misconfigured")

    clock.now = at(8)
    servers.open("DB cluster lost a node", system="db-cluster", category="server_fault", level="II", outage_start=at(8))
    clock.now = at(8, 1)
    lead.assign(4, "servers")
    clock.now = at(18, 12)
    lead.set_level(4, level="III", reason="fewer branches affected than feared")
    clock.now = at(18, 14)
    lead.attest(4, "leadership_informed", via="phone", note="director told again")
    clock.now = at(18, 20)
    servers.resolve(4, resolution="node replaced")
    clock.now = at(18, 30)
    close_with_record(store, 4, clock)

    clock.now = datetime(2026, 12, 1, tzinfo=UTC)
    servers.open("December's first")


def dur(median: float | None, p90: float | None, mx: float | None, n: int) -> dict[str, float | int | None]:
    return {"median_s": median, "p90_s": p90, "max_s": mx, "n": n}


def rule(
    met: int = 0,
    met_late: int = 0,
    breached: int = 0,
    waived: int = 0,
    open_: int = 0,
    superseded: int = 0,
    share: float | None = None,
) -> dict[str, int | float | None]:
    return {
        "met": met,
        "met_late": met_late,
        "breached": breached,
        "waived": waived,
        "open": open_,
        "superseded": superseded,
        "on_time_share": share,
    }


# Worked by hand from the script above.
OWNERS = {"-": 1, "servers": 2, "web": 1}  # #1 and #4 assigned to servers, #2 to web, #3 to nobody
TOTAL_CLOCKS = {
    # #1 met 03:15 (due 03:30), #2 met at its opening, #3 never classified: due 06:30, closed 06:40, #4 met.
    "classify": rule(met=3, breached=1, share=0.75),
    # due an hour after the report: #1 resolved 03:40 met; #2 05:30 and #4 18:20 late; #3 closed 06:40, before 07:00.
    "supervisor": rule(met=1, met_late=2, waived=1, share=round(1 / 3, 4)),
    # server and software faults only, due an hour after the report: #1 met (resolved 03:40),
    # #2 met (cause located 04:50), #4 late (resolved 18:20).
    "vendor": rule(met=2, met_late=1, share=round(2 / 3, 4)),
    # #2 told at 04:02; #4's first report (due 08:15) replaced overdue at 18:12 stays one breach,
    # its successor (due 18:27) met at 18:14.
    "leadership_report": rule(met=2, breached=1, superseded=1, share=round(2 / 3, 4)),
    # never told: #2 (closed overdue), #4's first (replaced overdue) and #4's second (closed 18:30, due 18:27).
    "departments_notified": rule(breached=3, superseded=1, share=0.0),
    # the record, due a day after resolving, filed at each close.
    "record": rule(met=3, share=1.0),
}

TOTAL = {
    "key": "total",
    "opened": 4,
    "closed": 4,
    "false_alarms": 1,
    "duplicates": 0,
    "reopened": 0,
    # #1 5 min, #2 and #4 acknowledged when opened
    "time_to_ack": dur(0.0, 300.0, 300.0, 3),
    # #1 15 min, #2 and #4 classified when opened
    "time_to_classify": dur(0.0, 900.0, 900.0, 3),
    # only #2 located a cause: 50 min
    "time_to_cause": dur(3000.0, 3000.0, 3000.0, 1),
    # #1 40 min, #2 90 min, #4 10 h 20 min
    "time_to_resolve": dur(5400.0, 37200.0, 37200.0, 3),
    # from the outage's start: #1 02:50-03:40 50 min, #2 90 min, #4 10 h 20 min
    "outage": dur(5400.0, 37200.0, 37200.0, 3),
    # IV 50 min of 2 h, III 90 min of 12 h, #4 (III now) 10 h 20 min of 12 h: none past
    "past_level_bound": 0,
    # #1, #2, #4, each filed 10 min after resolving
    "records_filed": 3,
    "records_within_a_day": 3,
    "escalations": {},  # no worker ran
    "calls": {"logged": 0, "callbacks_owed": 0},
}


def _url(store: Store) -> str:
    return str(store.url.render_as_string(hide_password=False))


def run_stats(cli, store: Store, *extra: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    code, out, err = cli("--db", _url(store), "stats", "--since", "2026-11", "--until", "2026-12", "--json", *extra)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_stats_of_a_scripted_day_match_the_hand_computed_figures(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    scripted_day(seeded, clock)
    found = run_stats(cli, seeded)
    assert (found["since"], found["until"]) == ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    total = found["total"]
    for key, value in TOTAL.items():
        assert total[key] == value, key
    for key, value in TOTAL_CLOCKS.items():
        assert total["clocks"][key] == value, key
    assert [g["key"] for g in found["groups"]] == ["all"]
    assert {k: v for k, v in found["groups"][0].items() if k != "key"} == {k: v for k, v in total.items() if k != "key"}


def test_stats_by_category_level_system_and_owner(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    scripted_day(seeded, clock)
    by_category = {g["key"]: g for g in run_stats(cli, seeded, "--by", "category")["groups"]}
    assert {k: g["opened"] for k, g in by_category.items()} == {
        "server_fault": 2,
        "software_fault": 1,
        "unclassified": 1,
    }
    server = by_category["server_fault"]  # #1 and #4
    assert server["time_to_resolve"] == dur((2400 + 37200) / 2, 37200.0, 37200.0, 2)
    assert server["clocks"]["leadership_report"] == rule(met=1, breached=1, superseded=1, share=0.5)
    assert server["clocks"]["supervisor"] == rule(met=1, met_late=1, share=0.5)
    assert by_category["unclassified"]["false_alarms"] == 1
    assert by_category["unclassified"]["clocks"] == {
        "classify": rule(breached=1, share=0.0),
        "supervisor": rule(waived=1),
    }

    by_level = {g["key"]: g["opened"] for g in run_stats(cli, seeded, "--by", "level")["groups"]}
    assert by_level == {"-": 1, "III": 2, "IV": 1}  # #4 counts at the level it has now

    by_system = {g["key"]: g for g in run_stats(cli, seeded, "--by", "system")["groups"]}
    assert {k: g["opened"] for k, g in by_system.items()} == {"-": 1, "benefits-app": 1, "db-cluster": 2}
    assert by_system["db-cluster"]["time_to_ack"] == dur(150.0, 300.0, 300.0, 2)
    assert by_system["db-cluster"]["outage"] == dur((3000 + 37200) / 2, 37200.0, 37200.0, 2)

    by_owner = {g["key"]: g["opened"] for g in run_stats(cli, seeded, "--by", "owner")["groups"]}
    assert by_owner == OWNERS


def test_the_period_is_half_open(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    scripted_day(seeded, clock)
    code, out, err = cli("--db", _url(seeded), "stats", "--since", "2026-12", "--until", "2027-01", "--json")
    assert code == 0, err
    assert json.loads(out)["total"]["opened"] == 1  # #5, at 2026-12-01T00:00 exactly
    code, out, err = cli(
        "--db", _url(seeded), "stats", "--since", "2026-11-28T04:00:00Z", "--until", "2026-11-28T06:00:00Z", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["total"]["opened"] == 1  # #2 only


def test_an_open_clock_counts_as_open_until_it_is_due(seeded: Store, clock: FakeClock) -> None:
    clock.now = at(3)
    Service(seeded, "servers").open("Slow portal")
    with seeded.read() as session:
        early = stats.compute(session, at(0), at(4), at(3, 10), None)["total"]["clocks"]
        late = stats.compute(session, at(0), at(4), at(3, 31), None)["total"]["clocks"]
    assert early["classify"] == rule(open_=1)
    assert late["classify"] == rule(breached=1, share=0.0)


def test_text_output_shows_the_same_figures(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    scripted_day(seeded, clock)
    code, out, err = cli("--db", _url(seeded), "stats", "--since", "2026-11", "--until", "2026-12")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Incidents reported from 2026-11-01 00:00:00 UTC to 2026-12-01 00:00:00 UTC (not included)"
    assert "opened 4, closed 4, false alarms 1, duplicates 0, reopened 0" in out
    outage = next(x for x in lines if "outage length" in x)
    assert outage.split() == ["outage", "length", "median", "1h30m", "p90", "10h20m", "max", "10h20m", "(n=3)"]
    resolve = next(x for x in lines if "time to resolve" in x)
    assert resolve.split() == ["time", "to", "resolve", "median", "1h30m", "p90", "10h20m", "max", "10h20m", "(n=3)"]
    leadership = next(x for x in lines if x.strip().startswith("leadership_report"))
    assert leadership.split() == ["leadership_report", "2", "0", "1", "0", "0", "1", "67%"]


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (("--since", "2026-13"), "--since: '2026-13' is not on the calendar"),
        (("--since", "yesterday"), "--since: 'yesterday' is not a time"),
        (("--since", "2026-12", "--until", "2026-11"), "the period is empty"),
    ],
)
def test_a_bad_period_is_refused_with_what_to_write(seeded: Store, cli, args, wanted) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("--db", _url(seeded), "stats", *args)
    assert code == 2, (out, err)
    assert wanted in err


def test_csv_for_spreadsheets_carries_the_same_figures(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    scripted_day(seeded, clock)
    code, out, err = cli(
        "--db", _url(seeded), "stats", "--since", "2026-11", "--until", "2026-12", "--by", "system", "--csv"
    )
    assert code == 0, err
    assert out.startswith("\ufeff")  # the byte order mark Excel needs for UTF-8
    rows = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert [r["system"] for r in rows] == ["-", "benefits-app", "db-cluster", "total"]
    db, total = rows[2], rows[3]
    assert (db["since"], db["until"]) == ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert (db["opened"], db["closed"], db["false_alarms"]) == ("2", "2", "0")
    assert (db["outage_median_min"], db["outage_p90_min"], db["outage_n"]) == ("335.00", "620.00", "2")
    assert db["time_to_cause_median_min"] == "" and db["time_to_cause_n"] == "0"
    assert (total["opened"], total["time_to_resolve_median_min"], total["time_to_resolve_max_min"]) == (
        "4",
        "90.00",
        "620.00",
    )
    leadership = {k.removeprefix("leadership_report_"): v for k, v in total.items() if k.startswith("leadership_")}
    assert leadership == {
        "met": "2",
        "met_late": "0",
        "breached": "1",
        "waived": "0",
        "open": "0",
        "superseded": "1",
        "on_time_share": "0.6667",
    }
    assert rows[0]["leadership_report_met"] == "0" and rows[0]["leadership_report_on_time_share"] == ""

    code, _out, err = cli("--db", _url(seeded), "stats", "--csv", "--json")
    assert code == 2 and "--json and --csv exclude each other" in err


def test_stats_by_duty_month_and_week(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    scripted_day(seeded, clock)
    by_duty = {g["key"]: g["opened"] for g in run_stats(cli, seeded, "--by", "duty")["groups"]}
    assert by_duty == {"-": 1, "servers": 2, "web": 1}  # the owners' duties in the demo roster
    code, out, err = cli(
        "--db", _url(seeded), "stats", "--since", "2026-11", "--until", "2027-01", "--by", "month", "--json"
    )
    assert code == 0, err
    assert {g["key"]: g["opened"] for g in json.loads(out)["groups"]} == {"2026-11": 4, "2026-12": 1}
    by_week = {g["key"]: g["opened"] for g in run_stats(cli, seeded, "--by", "week")["groups"]}
    assert by_week == {"2026-W48": 4}  # Saturday 28 November 2026 is in ISO week 48


def test_a_month_is_cut_in_the_centers_zone(seeded: Store, clock: FakeClock) -> None:
    """23:30 UTC on 30 November is 1 December in Beijing: the December group there."""
    from zoneinfo import ZoneInfo

    clock.now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    Service(seeded, "servers").open("late")
    with seeded.read() as session:
        utc = stats.compute(session, at(0), datetime(2027, 1, 1, tzinfo=UTC), clock.now, "month")
        beijing = stats.compute(
            session, at(0), datetime(2027, 1, 1, tzinfo=UTC), clock.now, "month", ZoneInfo("Asia/Shanghai")
        )
    assert [g["key"] for g in utc["groups"]] == ["2026-11"]
    assert [g["key"] for g in beijing["groups"]] == ["2026-12"]


def test_escalations_notifications_calls_and_the_level_bound(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    """Counted by the database, checked here against the rows themselves."""
    from collections import Counter

    from sqlalchemy import select

    from opsdeck.backend import escalation, queries
    from opsdeck.backend.models import Escalation

    servers = Service(seeded, "servers")
    clock.now = at(3)
    one = servers.open("Switch down", category="network_fault", level="IV", outage_start=at(2)).id
    servers.add_call(one, caller="branch 12", contact="x1234", need="when is it back?", callback=True)
    call = servers.add_call(one, caller="branch 7", contact="x7777", need="status", callback=True)
    servers.add_call(one, caller="branch 9", contact="x9999", need="status", callback=False)
    servers.called_back(call.id, note="told them")
    clock.now = at(5)  # the outage passed level IV's 2 h bound, and clocks breached
    escalation.sweep(seeded, "system:worker@test")
    clock.now = at(5, 30)
    servers.resolve(one, resolution="line replaced")
    with seeded.read() as session:
        fired = Counter(e.rule for e in session.execute(select(Escalation)).scalars())
        states = Counter(m["state"] for m in queries.outbox(session, None))
    assert fired and states  # the test means something: there is something to count
    total = run_stats(cli, seeded)["total"]
    assert total["escalations"] == dict(sorted(fired.items()))
    assert {k: v for k, v in total["notifications"].items() if v} == dict(states)
    assert total["calls"] == {"logged": 3, "callbacks_owed": 1}
    assert total["past_level_bound"] == 1  # 3 h 30 min out at level IV (2 h), never re-graded
    assert total["records_filed"] == 0


def test_explain_prints_the_definitions(seeded: Store, cli) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    code, out, err = cli("--db", _url(seeded), "stats", "--explain")
    assert code == 0, err
    docs = (Path(__file__).parents[2] / "docs" / "stats.md").read_text(encoding="utf-8")
    assert out.strip() == docs.strip()  # one text: the docs page is what --explain says
    assert "`records_within_a_day`" in out and "`past_level_bound`" in out


def test_csv_column_names_in_chinese_with_lang(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    """`--lang zh_CN --csv`: the same rows, the header in Chinese; without --lang the keys."""
    import csv
    import io

    scripted_day(seeded, clock)
    args = ("--db", _url(seeded), "stats", "--since", "2026-11", "--until", "2026-12", "--csv")
    code, plain, err = cli(*args)
    assert code == 0, err
    code, chinese, err = cli(*args, "--lang", "zh_CN")
    assert code == 0, err
    keys, *rows = list(csv.reader(io.StringIO(plain.removeprefix("\ufeff"))))
    names, *same = list(csv.reader(io.StringIO(chinese.removeprefix("\ufeff"))))
    assert same == rows and len(names) == len(keys)
    named = dict(zip(keys, names, strict=True))
    assert named["opened"] == "新建事件" and named["false_alarms"] == "误报"
    assert named["time_to_resolve_median_min"] == "解决用时 中位数（分钟）"
    assert named["leadership_report_on_time_share"] == "leadership_report 按时率"
    assert named["notifications_dead"] == "通知 已放弃"
    assert [k for k, n in named.items() if n.isascii()] == []  # every column named in Chinese


def test_the_database_judges_every_clock_as_clock_outcome_does(seeded: Store, clock: FakeClock) -> None:
    """The figures judge clocks in SQL (a CASE at `now`); `stats.clock_outcome` is the same
    rule in Python, over `deadlines.state`. At every moment of the scripted day (before,
    at and after each due time) both must count the same: they cannot drift apart."""
    from collections import Counter

    from sqlalchemy import select

    from opsdeck.backend.models import IncidentDeadline

    scripted_day(seeded, clock)
    with seeded.read() as session:
        clocks = list(session.execute(select(IncidentDeadline)).scalars())
        moments = sorted(
            {c.due_at + d for c in clocks for d in (timedelta(seconds=-1), timedelta(0), timedelta(seconds=1))}
        )
        for now in moments[:: max(1, len(moments) // 40)]:
            python: Counter[tuple[str, str]] = Counter()
            for c in clocks:
                column, replaced = stats.clock_outcome(c, now)
                if column != "replaced":
                    python[(c.rule, column)] += 1
                python[(c.rule, "superseded")] += replaced
            found = stats.compute(session, at(0), datetime(2026, 12, 2, tzinfo=UTC), now, None)["total"]["clocks"]
            sql = Counter(
                {(rule, k): v for rule, counts in found.items() for k, v in counts.items() if k != "on_time_share"}
            )
            assert +sql == +python, now


def test_a_stored_duration_follows_its_timestamp_whoever_writes_it(seeded: Store, clock: FakeClock) -> None:
    """The durations `stats` ranks are stored on each incident by the database (a trigger),
    so a timestamp corrected outside opsdeck's write path still changes the figure, and a
    reopened incident is no longer among the resolved."""
    from sqlalchemy import update

    from opsdeck.backend.models import Incident

    scripted_day(seeded, clock)
    first = (at(3), at(3, 30))  # #1 alone: reported 03:00, acknowledged 03:05, resolved 03:40
    with seeded.read() as session:
        before = stats.compute(session, *first, clock.now, None)["total"]
    assert before["time_to_ack"] == dur(300.0, 300.0, 300.0, 1)
    assert before["time_to_resolve"] == dur(2400.0, 2400.0, 2400.0, 1)
    with seeded.engine.begin() as conn:
        conn.execute(update(Incident).where(Incident.id == 1).values(acknowledged_at=at(3, 20)))  # type: ignore[arg-type]
        conn.execute(update(Incident).where(Incident.id == 1).values(resolved_at=None))  # type: ignore[arg-type]
    with seeded.read() as session:
        after = stats.compute(session, *first, clock.now, None)["total"]
    assert after["time_to_ack"] == dur(1200.0, 1200.0, 1200.0, 1)
    assert after["time_to_resolve"] == dur(None, None, None, 0)
    assert after["outage"] == dur(None, None, None, 0)


def test_the_screens_daily_series_counts_days_in_the_centers_zone(seeded: Store, clock: FakeClock) -> None:
    """The statistics screen's series, counted and ranked by the database per day: in New
    York (UTC-5) #1 (03:00Z, IV, classified after 15 min) and #2 (04:00Z, III, opened
    classified) fall on the 27th, #3 (unclassified) and #4 (II re-graded III, opened
    classified) on the 28th, December's first (00:00Z, unclassified) on the 30th."""
    from zoneinfo import ZoneInfo

    from opsdeck.backend import stats_series

    scripted_day(seeded, clock)
    new_york = ZoneInfo("America/New_York")
    since, until = datetime(2026, 11, 27, tzinfo=new_york), datetime(2026, 12, 1, tzinfo=new_york)
    with seeded.read() as session:
        series = stats_series.daily(session, since, until, new_york)
    assert [d.isoformat() for d in series.days] == ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]
    assert series.by_level == {
        "I": (0, 0, 0, 0),
        "II": (0, 0, 0, 0),
        "III": (1, 1, 0, 0),
        "IV": (1, 0, 0, 0),
        "-": (0, 1, 0, 1),
    }
    assert series.classify_median_min == (7.5, 0.0, None, None)  # (0 + 15) / 2; #4 alone
    with seeded.read() as session:
        in_utc = stats_series.daily(session, at(0), at(0) + timedelta(days=1), UTC)
    assert in_utc.by_level["III"] == (2,) and in_utc.classify_median_min == (0.0,)  # 0, 0, 15: the middle


def test_a_month_without_incidents_between_two_is_no_group(seeded: Store, clock: FakeClock) -> None:
    """By month the figures are counted a month at a time: a month with no incident between
    two with some gives no group (and no error), and each month keeps its own clocks."""
    servers = Service(seeded, "servers")
    clock.now = datetime(2027, 1, 5, 9, tzinfo=UTC)
    servers.open("January's", category="server_fault", level="IV")
    clock.now = datetime(2027, 3, 7, 9, tzinfo=UTC)
    servers.open("March's")
    with seeded.read() as session:
        found = stats.compute(
            session, datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC), clock.now, "month"
        )
    assert [g["key"] for g in found["groups"]] == ["2027-01", "2027-03"]
    assert [g["opened"] for g in found["groups"]] == [1, 1]
    assert found["groups"][0]["calls"] == {"logged": 0, "callbacks_owed": 0}
    assert found["groups"][1]["clocks"]["classify"]["open"] == 1
    assert found["total"]["opened"] == 2


@pytest.mark.postgres
def test_postgresql_counts_with_room_to_hash_and_only_in_that_read(pg_url: str, clock: FakeClock) -> None:
    """The planner cannot see how few groups a judged outcome makes: at its default
    work_mem it sorts every clock row of the period on disk. The statistics' read sets
    more for itself (SET LOCAL), and a later transaction on the connection has the default."""
    from sqlalchemy import text

    from opsdeck.backend import stats_queries
    from opsdeck.backend.schema import open_store

    store = open_store(pg_url, clock=clock)
    try:
        with store.read() as session:
            default = session.execute(text("SHOW work_mem")).scalar_one()
        with store.read() as session:
            stats.compute(session, at(0), at(23), at(23), "month", UTC)
            during = session.execute(text("SHOW work_mem")).scalar_one()
        with store.read() as session:
            after = session.execute(text("SHOW work_mem")).scalar_one()
    finally:
        store.dispose()
    assert (during, after) == (stats_queries.WORK_MEM, default) and default != stats_queries.WORK_MEM
