"""In Chinese, a policy, channels or probe file with a mistake is refused in Chinese
(file, key and fix as in English, the tokens to type left as they are); the plan's
levels, categories and times the user types are refused in Chinese too. JSON output
stays English, and so do the countdowns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from opsdeck.backend import policy, routing
from opsdeck.backend.domain import Category, Level, parse_enum
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.timeutil import TimeFormatError, format_age, format_countdown, load_zone, parse_duration

CATEGORIES = (
    "content_security, disaster, info_destruction, network_attack, network_fault, other, server_fault, software_fault"
)


def refusal(document: dict[str, object]) -> str:
    with pytest.raises(InvalidInput) as info:
        policy.validate(document, source="policy.toml")
    return str(info.value)


@pytest.mark.usefixtures("in_chinese")
def test_a_policy_mistake_is_refused_in_chinese_naming_file_key_and_fix() -> None:
    assert refusal({"playbooks": {"nope": {}}}) == (
        f"policy.toml：playbooks.nope：未知的类别 — 请使用以下之一：{CATEGORIES}"
    )
    assert refusal({"deadlines": {"immediate_grace": "soon"}}) == (
        "policy.toml：deadlines.immediate_grace：'soon' 不是时长 — 请写数字加单位：15m、2h、1d"
    )
    assert refusal({"playbooks": {"other": {"steps": [{"key": "a", "en": "A", "when": "x"}]}}}) == (
        "policy.toml：playbooks.other.steps[0].when：'x' 不是有效的条件 — "
        "请使用 maintenance_contract 或 no_maintenance_contract"
    )


@pytest.mark.usefixtures("in_chinese")
def test_a_probe_section_mistake_is_refused_in_chinese() -> None:
    assert refusal({"probes": {"critical_after": 0}}) == (
        "policy.toml：probes.critical_after：0 不是有效的次数 — 请写 1 到 100 之间的整数"
    )
    assert refusal({"probes": {"http": [{"name": "web", "url": "ftp://host"}]}}) == (
        "policy.toml：probes.http[0].url：'ftp://host' 不是 http(s) URL — 请写成 url = \"https://host/health\""
    )


@pytest.mark.usefixtures("in_chinese")
def test_a_channels_mistake_is_refused_in_chinese() -> None:
    with pytest.raises(InvalidInput) as info:
        routing.validate({"channel": [{"name": "hook", "kind": "sms", "url": "https://x/y"}]}, "channels.toml")
    assert str(info.value) == "channels.toml：channel[0].kind：'sms' 不是有效的类型 — 请使用 webhook 或 apprise"


@pytest.mark.usefixtures("in_chinese")
def test_levels_categories_and_times_typed_wrong_are_refused_in_chinese() -> None:
    with pytest.raises(ValueError, match="^'V' 不是有效的级别，请使用 I、II、III 或 IV$"):
        Level.parse("V")
    with pytest.raises(ValueError) as info:
        parse_enum(Category, "fire", "category")
    assert str(info.value).startswith("'fire' 不是有效的类别，请使用以下之一：unclassified, network_attack, ")
    with pytest.raises(TimeFormatError, match="^'soon' 不是时长：请写数字加单位，如 30m、2h 或 1d$"):
        parse_duration("soon")
    with pytest.raises(TimeFormatError, match="^未知的时区 'Mars/Base'：请使用 IANA 时区名，如 Asia/Shanghai 或 UTC$"):
        load_zone("Mars/Base")


@pytest.mark.usefixtures("in_chinese")
def test_countdowns_and_ages_keep_their_compact_form() -> None:
    assert format_countdown(-3723) == "   -1h02m"
    assert format_age(3 * 86400 + 4 * 3600) == "3d04h"


def test_the_cli_refuses_a_bad_policy_file_in_chinese_and_in_english_with_json(
    cli: Callable[..., tuple[int, str, str]], sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[playbooks.nope]\n", "utf-8")
    monkeypatch.setenv("OPSDECK_LANG", "zh_CN")
    code, out, err = cli("--db", sqlite_url, "--as", "alice", "policy", "apply", str(path))
    assert code == 2 and out == ""
    assert err == f"opsdeck: error: {path}：playbooks.nope：未知的类别 — 请使用以下之一：{CATEGORIES}\n"
    code, out, err = cli("--db", sqlite_url, "--as", "alice", "policy", "apply", str(path), "--json")
    assert code == 2
    assert f"{path}: playbooks.nope: unknown category — use one of {CATEGORIES}" in out + err
    assert "未知" not in out + err
