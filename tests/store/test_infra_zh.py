"""In Chinese, the infrastructure's refusals (config, directory files, the store, schema,
`init --system`, the worker, the language itself, progress) read in Chinese, with paths,
keys, options and values as they are; `--json` stays English."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, cast

import pytest

from opsdeck.backend import config, directory, engines, i18n, schema, worker
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.progress import Progress


@pytest.fixture
def no_config_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    user = tmp_path / "user.toml"
    monkeypatch.setenv("OPSDECK_CONFIG", str(user))
    monkeypatch.setattr(config, "site_config_path", lambda: tmp_path / "site.toml")
    return user


def refusal(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(InvalidInput) as info:
        call(*args, **kwargs)
    return str(info.value)


@pytest.mark.usefixtures("in_chinese")
def test_config_refusals_name_the_variable_file_and_fix_in_chinese(no_config_files: Path) -> None:
    assert (
        refusal(config.load, environ={"OPSDECK_KEEP_DONE": "soon"})
        == "环境变量 OPSDECK_KEEP_DONE：'soon' 不是时长 — 请写成如 24h 或 3d"
    )
    assert (
        refusal(config.load, {"allow_as": "maybe"}, environ={})
        == "选项 --allow-as：'maybe' 不是 true 或 false — 请写 true 或 false（或 1/0）"
    )
    no_config_files.write_text('colour = "red"\n', encoding="utf-8")
    message = refusal(config.load, environ={})
    assert message.startswith(
        f"{no_config_files}：未知的键 'colour' — 请使用以下之一：allow_as, ascii, bell, board_bell, db,"
    )


@pytest.mark.usefixtures("in_chinese")
def test_a_bad_roster_file_names_the_record_and_the_fix_in_chinese(tmp_path: Path) -> None:
    toml = tmp_path / "roster.toml"
    toml.write_text('[[member]]\nlogin = "ann"\n', encoding="utf-8")
    assert refusal(directory.parse_file, toml, "roster") == f"{toml}：第 1 条记录：name：缺失 — 请为每条记录填写 name"
    csv = tmp_path / "roster.csv"
    csv.write_text("login,name\nann,Ann,extra\n", encoding="utf-8")
    assert refusal(directory.parse_file, csv, "roster") == (
        f'{csv}：第 2 行：有 3 个值，但表头只有 2 列 — 含逗号的值请加引号，如 "+86 10, 5550"'
    )


@pytest.mark.usefixtures("in_chinese")
def test_store_schema_worker_and_language_refusals_in_chinese(tmp_path: Path) -> None:
    assert refusal(engines.parse_url, "nope://x") == "不支持 nope — 请使用 sqlite:///PATH 或 postgresql+psycopg://..."
    assert refusal(engines.make_engine, "sqlite://") == (
        "内存数据库无法共享或保存 — 请给出文件路径：sqlite:////path/to/opsdeck.db"
    )
    taken = tmp_path / "copy.db"
    taken.touch()
    assert refusal(schema.sqlite_backup, tmp_path / "x.db", taken) == f"{taken} 已存在 — 请换一个文件名"
    assert refusal(worker.standard_worker, cast(Any, None), duties=("paging",)) == (
        "未知的职责 'paging' — 可用：escalate, ingest, probes, http, notify, maintain"
    )
    assert refusal(i18n.choose, "fr", {}) == (
        "language：'fr' 不是 opsdeck 支持的语言 — 请将 language 设为以下之一：en, zh_CN"
    )


@pytest.mark.usefixtures("in_chinese")
def test_progress_reads_in_chinese() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    Progress("导入", stream)(3, 4)
    assert stream.getvalue() == "\r导入：3/4  75%\x1b[K"


def test_the_cli_refuses_in_chinese_and_json_stays_english(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSDECK_LANG", "zh_CN")
    roster = tmp_path / "roster.toml"
    roster.write_text('[[member]]\nlogin = "ann"\n', encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'opsdeck.db'}"
    code, _out, err = cli("--db", db, "roster", "import", str(roster))
    assert (code, err) == (2, f"opsdeck: error: {roster}：第 1 条记录：name：缺失 — 请为每条记录填写 name\n")
    code, _out, err = cli("--db", db, "roster", "import", str(roster), "--json")
    assert (code, err) == (2, f"opsdeck: error: {roster}: record 1: name: missing — give every record a name\n")
    code, _out, err = cli("--db", "nope://x", "incident", "list")
    assert err == "opsdeck: error: --db：不支持 nope — 请使用 sqlite:///PATH 或 postgresql+psycopg://...\n"
    code, _out, err = cli("--db", "nope://x", "incident", "list", "--json")
    assert err == "opsdeck: error: --db: nope is not supported — use sqlite:///PATH or postgresql+psycopg://...\n"
