"""`opsdeck report month` (issue #23): the month for leadership, on the scripted month of
tests/store/test_stats.py, against a golden file read and checked by hand; typed text stays
text in Markdown and in HTML; Chinese with --lang."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock
from .test_stats import _url, scripted_day

GOLDEN = Path(__file__).parents[1] / "golden" / "monthly-2026-11.md"


def month(cli, store: Store, *extra: str) -> str:  # type: ignore[no-untyped-def]
    code, out, err = cli("--db", _url(store), "report", "month", "2026-11", *extra)
    assert code == 0, err
    return str(out)


def test_the_month_matches_the_golden_file(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    scripted_day(seeded, clock)
    got = month(cli, seeded)
    if os.environ.get("OPSDECK_UPDATE_GOLDEN"):
        GOLDEN.write_text(got, encoding="utf-8")
    assert got == GOLDEN.read_text(encoding="utf-8")


def test_typed_text_is_text_in_markdown_and_html(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    clock.now = datetime(2026, 11, 3, tzinfo=UTC)
    hostile = "<script>alert(1)</script> | **boss** [x](javascript:alert(1)) \x1b]52;c;aGk=\x07"
    Service(seeded, "servers").open(hostile, category="server_fault", level="II")
    md = month(cli, seeded)
    line = next(x for x in md.splitlines() if x.startswith("### #1"))
    assert line == r"### #1 II \<script\>alert(1)\</script\> \| \*\*boss\*\* \[x\](javascript:alert(1))"
    assert "\x1b" not in md and "\x07" not in md
    page = month(cli, seeded, "--format", "html")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<strong>" not in page and 'href="javascript' not in page
    assert page.startswith("<!doctype html>") and "<table>" in page


def test_in_chinese_and_to_a_file(seeded: Store, clock: FakeClock, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scripted_day(seeded, clock)
    out = tmp_path / "month.md"
    assert month(cli, seeded, "--lang", "zh_CN", "--output", str(out)) == ""
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# 月度报告 2026-11")
    assert "## 超时" in text or "## 超时情况" in text


def test_open_items_are_records_not_filed_and_call_backs_owed(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    servers = Service(seeded, "servers")
    clock.now = datetime(2026, 11, 29, tzinfo=UTC)
    vpn = servers.open("Branch 12 VPN flapping", category="network_fault", level="IV").id
    servers.add_call(vpn, caller="branch 12", contact="x1", need="status?", callback=True)
    servers.add_call(vpn, caller="branch 14", contact="x2", need="status?", callback=True)
    clock.now = datetime(2026, 11, 29, 1, tzinfo=UTC)
    servers.resolve(vpn, resolution="tunnel re-keyed")
    text = month(cli, seeded)
    items = text.split("## Open items", 1)[1].strip().splitlines()
    assert items == [f"- record not filed: #{vpn} Branch 12 VPN flapping", f"- call-backs owed: #{vpn} (2)"]


@pytest.mark.parametrize("bad", ["2026-13", "November", "2026-1"])
def test_a_bad_month_says_how_to_write_it(seeded: Store, cli, bad: str) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = cli("--db", _url(seeded), "report", "month", bad)
    assert code == 2 and "give the month as YYYY-MM, like 2026-11" in err


def test_the_html_page_carries_its_charts_as_images(seeded: Store, clock: FakeClock, cli) -> None:  # type: ignore[no-untyped-def]
    """Two SVG charts before the first section, their numbers in them (a bar's length is not
    a number), no script anywhere; in Chinese the captions are Chinese text, not paths."""
    import re

    scripted_day(seeded, clock)
    page = month(cli, seeded, "--format", "html")
    head, _, rest = page.partition("<h2>")
    assert head.count("<svg") == 2 and "<svg" not in rest
    assert "<figcaption>Incidents reported per day, by level</figcaption>" in head
    assert "<figcaption>Deadlines met on time, per rule (%)</figcaption>" in head
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", head)  # text stays text (svg.fonttype none)
    assert "III (2)" in texts and "67%" in texts and "100%" in texts, texts
    assert "<script" not in page.lower()
    chinese = month(cli, seeded, "--format", "html", "--lang", "zh_CN")
    assert "<figcaption>每日报告的事件（按级别）</figcaption>" in chinese
