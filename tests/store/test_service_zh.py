"""In Chinese: the service's refusals say what is wrong and how to fix it in Chinese, with the
plan's terms (应急小组, 组长, the category's name); commands, options, logins and times stay
as typed. With --json the same errors stay English: scripts read them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from opsdeck.backend.errors import DomainError, InvalidInput, NotFound
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import demo_fixture

As = Callable[[str], Service]


def opened(as_: As) -> int:
    incident = as_("servers").open("Database cluster unreachable")
    assert incident.id is not None
    return incident.id


def test_a_viewer_is_told_in_chinese_who_can_let_them_write(as_: As, in_chinese: None) -> None:
    with pytest.raises(DomainError) as error:
        as_("auditor").open("x")
    assert str(error.value) == (
        "新建事件：auditor 是查看者，查看者不能做任何更改 — 请组长（lead）将 auditor 以操作员身份加入应急小组名单"
    )
    assert error.value.code == "viewer"  # the code scripts match on stays English


def test_lead_only_actions_name_the_action_and_the_leads_in_chinese(seeded: Store, in_chinese: None) -> None:
    with pytest.raises(DomainError) as error:
        Service(seeded, "servers").import_records("roster", demo_fixture("roster.toml"))
    assert str(error.value) == "导入应急小组名单仅限组长；servers 是操作员 — 请找组长：lead"
    with pytest.raises(DomainError) as error:
        Service(seeded, "lead", read_only=True).roster_duty("dns", False)
    assert str(error.value) == "取消 dns 的值班仅限组长；lead 为只读会话 — 请找组长：lead"


def test_classifying_uses_the_plans_category_names(as_: As, in_chinese: None) -> None:
    incident_id = opened(as_)
    as_("servers").classify(incident_id, category="other", level="IV")
    with pytest.raises(DomainError) as error:
        as_("servers").classify(incident_id, category="other", level="iv")
    assert str(error.value) == f"#{incident_id} 已是其他突发事件，IV 级 — 无需更改"
    with pytest.raises(InvalidInput) as invalid:
        as_("servers").classify(incident_id, category="network_fault", level="IV")
    assert str(invalid.value) == f"#{incident_id} 已定类定级（其他突发事件，IV 级） — 重新定级须用 --reason 说明理由"


def test_inputs_and_lookups_are_refused_in_chinese(as_: As, in_chinese: None) -> None:
    with pytest.raises(InvalidInput) as invalid:
        as_("servers").open("   ")
    assert str(invalid.value) == "缺少标题 — 请填写标题"
    with pytest.raises(NotFound) as missing:
        as_("servers").ack(999)
    assert str(missing.value) == "事件 #999 不存在 — 用 `opsdeck incident list --status all` 查看所有事件"
    incident_id = opened(as_)
    with pytest.raises(DomainError) as error:
        as_("servers").close(incident_id)
    assert str(error.value) == (
        f"#{incident_id} 无法关闭：尚未解决、没有类别、没有级别"
        f" — 请先 opsdeck incident resolve {incident_id} --resolution TEXT; opsdeck incident classify {incident_id}"
        " --category C --level L；或用 --false-alarm --reason R 或 --duplicate-of ID 关闭"
    )


def test_the_same_refusals_stay_english_in_english(as_: As) -> None:
    incident_id = opened(as_)
    with pytest.raises(DomainError) as error:
        as_("servers").close(incident_id)
    assert str(error.value) == (
        f"#{incident_id} cannot be closed: it is not resolved and it has no category and it has no level"
        f" — first opsdeck incident resolve {incident_id} --resolution TEXT; opsdeck incident classify {incident_id}"
        " --category C --level L; or close it with --false-alarm --reason R or --duplicate-of ID"
    )


@pytest.fixture
def db(tmp_path: Path, cli) -> str:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'opsdeck.db'}"
    assert cli("--db", url, "--as", "lead", "roster", "import", str(demo_fixture("roster.toml")))[0] == 0
    return url


def test_the_cli_prints_the_refusal_in_chinese_and_json_keeps_it_english(
    db: str,
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPSDECK_LANG", "zh_CN")
    code, out, _unused = cli("--db", db, "--as", "servers", "incident", "open", "--title", "x")
    assert code == 0
    incident_id = out.strip()
    assert cli("--db", db, "--as", "servers", "incident", "ack", incident_id)[0] == 0

    code, _unused, err = cli("--db", db, "--as", "servers", "incident", "ack", incident_id)
    assert code == 1
    assert f"#{incident_id} 状态为已确认（已于 " in err
    assert err.rstrip().endswith("确认） — 无需确认；如在处理，请添加备注")

    code, _unused, err = cli("--db", db, "--as", "servers", "incident", "ack", incident_id, "--json")
    assert code == 1
    assert f"#{incident_id} is acknowledged (acknowledged by someone at " in err
    assert err.rstrip().endswith(") — nothing to acknowledge; add a note to show you are on it")
