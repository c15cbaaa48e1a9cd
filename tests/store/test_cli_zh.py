"""The CLI in Simplified Chinese: what an operator reads, in the plan's words, aligned by
terminal cells; the same commands with --json stay English for scripts."""

from __future__ import annotations

import json

import pytest

from opsdeck.backend.cells import cell_len

from ..conftest import demo_fixture


@pytest.fixture
def zh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSDECK_LANG", "zh_CN")
    monkeypatch.setenv("COLUMNS", "100")


@pytest.fixture
def db(sqlite_url: str, cli, zh) -> str:  # type: ignore[no-untyped-def]
    """The demo roster, contacts and systems, imported in Chinese, and one incident."""
    said = {}
    for kind in ("roster", "contacts", "systems"):
        code, out, err = cli("--db", sqlite_url, "--as", "lead", kind, "import", str(demo_fixture(f"{kind}.toml")))
        assert code == 0, err
        said[kind] = out
    assert said["roster"] == "应急小组：新增 6，更新 0，未变 0\n"
    assert said["systems"] == "系统：新增 5，更新 0，未变 0\n"
    code, out, err = cli("--db", sqlite_url, "--as", "servers", "incident", "open", "--title", "支付接口中断")
    assert (code, out, err) == (0, "1\n", "")
    return sqlite_url


def test_an_action_says_what_it_did_in_chinese(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("--db", db, "--as", "servers", "incident", "ack", "1")
    assert (code, out, err) == (0, "#1 已确认（版本 2，已确认）\n", "")
    code, out, err = cli(
        "--db", db, "--as", "servers", "incident", "classify", "1", "--category", "software_fault", "--level", "III"
    )
    assert (code, out, err) == (0, "#1 已定类定级（版本 3，已确认）\n", "")


def test_the_incident_list_is_in_chinese_and_its_columns_line_up(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    cli("--db", db, "--as", "servers", "incident", "classify", "1", "--category", "software_fault", "--level", "III")
    code, out, err = cli("--db", db, "incident", "list")
    assert (code, err) == (0, "")
    header, row = out.splitlines()
    assert header.split() == ["编号", "级别", "类别", "标题", "负责人", "状态", "报告时间"]
    assert row.split()[:6] == ["1", "III", "软件故障事件", "支付接口中断", "-", "已确认"]  # the plan's own term
    for word in ("级别", "类别", "标题", "负责人", "状态", "报告时间"):  # each header over its column, in cells
        assert cell_len(header[: header.index(word)]) == cell_len(row[: _column_start(row, header, word)])
    code, out, err = cli("--db", db, "incident", "list", "--status", "closed")
    assert (code, out.splitlines()[1:], err) == (0, ["（没有符合条件的事件）"], "")


def _column_start(row: str, header: str, word: str) -> int:
    """Where in `row` the column headed by `word` starts (counting cells, not characters)."""
    cells = cell_len(header[: header.index(word)])
    used = 0
    for index, char in enumerate(row):
        if used == cells:
            return index
        used += cell_len(char)
    raise AssertionError(f"{word} is past the row's end")


def test_incident_show_labels_fields_in_chinese(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("--db", db, "incident", "show", "1")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "#1 支付接口中断"
    assert "  状态" + " " * 14 + " 已报告" in lines  # 18 cells: a Chinese character takes two
    assert "  报告人" + " " * 12 + " servers" in lines


def test_a_refusal_is_in_chinese_with_its_exit_code(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("--db", db, "incident", "list", "--status", "bogus")
    assert (code, out) == (2, "")
    assert err == (
        "opsdeck: error: 'bogus' 不是状态筛选值 — 可用：open, reported, acknowledged, resolved, closed, all\n"
    )
    code, out, err = cli("--db", db, "--as", "servers", "incident", "close", "1", "--false-alarm")
    assert (code, err) == (2, "opsdeck: error: --false-alarm 需要 --reason — 请说明为何是误报\n")
    code, out, err = cli("--db", db, "incident", "show", "x")
    assert (code, err) == (
        2,
        "opsdeck: error: 参数 id：'x' 不是事件编号（应为正整数） — 见 `opsdeck incident show --help`\n",
    )


def test_json_stays_english_errors_included(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("--db", db, "incident", "list", "--json")
    assert code == 0 and [row["status"] for row in json.loads(out)] == ["reported"]
    code, out, err = cli("--db", db, "incident", "list", "--status", "bogus", "--json")
    assert (code, out) == (2, "")
    assert err == (
        "opsdeck: error: 'bogus' is not a status filter — use one of open, reported, acknowledged, resolved, closed, all\n"
    )
    code, out, err = cli("--db", db, "incident", "show", "x", "--json")
    assert (
        err
        == "opsdeck: error: argument id: 'x' is not an incident id (a positive whole number) — see `opsdeck incident show --help`\n"
    )
    code, out, err = cli("--db", db, "report", "show", "99", "--format", "json")  # JSON too, without --json
    assert code == 4 and err.startswith("opsdeck: error: incident #99 does not exist — ")


def test_help_is_in_chinese_and_fits_the_terminal(cli, zh, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exited:
        cli("incident", "ack", "--help")
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "\n确认：已有人处理\n" in out
    assert "  --if-version N  若事件已不是版本 N 则拒绝\n" in out
    assert "  --json          输出 JSON\n" in out
    with pytest.raises(SystemExit):
        cli("incident", "list", "--help")
    out = capsys.readouterr().out
    assert "open（未关闭，默认）、reported、acknowledged、" in out  # wrapped after the 、, not before
    assert max(cell_len(line) for line in out.splitlines()) <= 100 - 2  # argparse's margin, counted in cells


def test_help_with_json_on_the_line_stays_english(cli, zh, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        cli("incident", "ack", "--json", "--help")
    assert "acknowledge: someone is on it" in capsys.readouterr().out


def test_the_handover_names_each_deadline_as_the_plan_does(db: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("--db", db, "handover")
    assert (code, err) == (0, "")
    rows = [line for line in out.splitlines() if line.startswith("  #1 ")]
    assert len(rows) == 1 and "30:00 初步判别" in rows[0] and "支付接口中断" in rows[0], out
    code, out, err = cli("--db", db, "handover", "--json")
    first = json.loads(out)["open_incidents"][0]["next_deadline"]
    assert (first["key"], first["name_zh"]) == ("classify", "初步判别,确定故障分类级别")
