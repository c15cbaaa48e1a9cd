"""In Chinese: the post-incident record drafted in Chinese (and filed as drafted), the audit
check, the board replay, the filter and the lookups saying what is wrong in Chinese; the
record's data, its JSON and the exported evidence staying English whatever the language.

The record and the evidence write each sentence twice, in English and through the catalog:
the tests here also hold the two to the same words in English."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from opsdeck.backend import audit, board, detail, probe_queries, queries, record, replay
from opsdeck.backend.errors import DomainError, InvalidInput, NotFound
from opsdeck.backend.i18n import set_language
from opsdeck.backend.models import AuditEvent, Incident
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock
from ..records import scripted

As = Callable[[str], Service]


def drafted(store: Store, incident_id: int, clock: FakeClock) -> tuple[record.Draft, str]:
    with store.read() as session:
        draft = record.draft(session, incident_id, clock.now)
    return draft, record.markdown(draft, UTC)


# -- the record ----------------------------------------------------------------------------


def test_a_draft_made_in_chinese_reads_in_chinese(seeded: Store, clock: FakeClock, in_chinese: None) -> None:
    incident_id = scripted(seeded, clock)
    lines = drafted(seeded, incident_id, clock)[1].splitlines()
    assert lines[0] == f"# 事后记录：#{incident_id} Benefits DB refuses connections"
    for line in (
        "- 类别 / 级别：服务器故障事件 / III",
        "- 负责人：-；报告人：servers",
        "- 起草时状态：已解决（起草于 2026-11-28 05:00:00 UTC）",
        "## 事发经过",
        "## 处置结果",
        "- 2026-11-28 03:13:00 UTC lead：服务器故障事件 / 级别 IV -> III（every branch affected）",
        "- departments_notified（通知各业务部室）：已超时 1 小时 32 分钟，截止 2026-11-28 03:28:00 UTC，"
        "已升级上报至 lead, dept-benefits",
        "- vendor（联系厂商及技术支持）：2026-11-28 04:30:00 UTC 满足，逾期 30 分钟，截止 2026-11-28 04:00:00 UTC",
        "- record（一日内备案存档）：未到期，截止 2026-11-29 04:40:00 UTC",
        "## 义务（III 级及以上）",
        "- 已报告所领导：lead 于 2026-11-28 03:15:00 UTC 通过 phone（Director Huang）：director on the line",
        "- 已通知各业务部室：未登记",
        "- [-] 取出系统镜像备份磁盘,保持原始数据（已跳过：no spare disk on site）（servers，2026-11-28 03:15:00 UTC）",
        "- new_incident 发往 member:dns：待发送（已尝试 0 次）",
        "- 2026-11-28 03:15:00 UTC Branch 7 counter（+** ** **** 7777）：cannot pay benefits；"
        "web 已于 2026-11-28 05:00:00 UTC 回访",
        "- 2026-11-28 03:04:00 UTC lead：定为服务器故障事件，IV 级",
        "- 2026-11-28 03:13:00 UTC lead：由 服务器故障事件/IV 重新定级为 服务器故障事件/III：every branch affected",
        "- 2026-11-28 03:15:00 UTC web：客服来电 1：Branch 7 counter（+** ** **** 7777），需回访",
        "- 2026-11-28 04:25:00 UTC system:worker@test：时限 supervisor 已超时（逾期 25 分钟），已升级上报至 callcenter",
        "- 2026-11-28 04:40:00 UTC servers：已解决：config rolled back, pool resized, runs re-queued",
        "- 处置步骤未完成：重启一次服务器",
        "- 义务未登记：已通知各业务部室",
        "- 时限 departments_notified（通知各业务部室）未满足（已超时）",
        "## 经验教训",
        "（如何改进，避免再次发生。）",
    ):
        assert line in lines, line
    assert not any(heading in lines for heading in ("## Summary", "## Timeline", "## Lessons"))


def test_the_drafts_data_and_json_stay_english_in_chinese(seeded: Store, clock: FakeClock) -> None:
    incident_id = scripted(seeded, clock)
    english, english_text = drafted(seeded, incident_id, clock)
    set_language("zh_CN")
    chinese, chinese_text = drafted(seeded, incident_id, clock)
    assert chinese_text != english_text
    assert record.as_json(chinese) == record.as_json(english)
    assert "re-graded from server_fault/IV to server_fault/III: every branch affected" in [
        e["what"] for e in chinese.timeline
    ]
    assert "deadline departments_notified (Notify every business department) still breached" in chinese.follow_ups


def test_closing_in_chinese_refuses_the_placeholder_and_files_what_a_person_wrote(
    seeded: Store, clock: FakeClock, in_chinese: None
) -> None:
    incident_id = scripted(seeded, clock)
    draft = drafted(seeded, incident_id, clock)[1]
    with pytest.raises(DomainError) as error:
        Service(seeded, "lead").close(incident_id)
    assert "经验教训 为空或仍是草稿的占位文字" in str(error.value)
    with pytest.raises(DomainError, match="经验教训"):
        Service(seeded, "lead").close(incident_id, record=draft)
    expected = draft.replace("（如何改进，避免再次发生。）", "上线前检查连接池配置。")
    Service(seeded, "lead").close(incident_id, record=expected)
    set_language("en")  # stored text is never translated afterwards
    with seeded.read() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        assert incident.record == expected.strip()
        assert incident.record.startswith(f"# 事后记录：#{incident_id} ")


def test_the_cli_shows_the_draft_in_chinese_and_its_json_in_english(
    sqlite_url: str,
    clock: FakeClock,
    cli,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from ..board_fixtures import seeded_store

    store = seeded_store(sqlite_url, clock)
    set_language("zh_CN")  # the draft is stored at resolve, in the resolver's language
    try:
        incident_id = scripted(store, clock)
    finally:
        set_language("en")
        store.dispose()
    monkeypatch.setenv("OPSDECK_LANG", "zh_CN")
    code, out, err = cli("--db", sqlite_url, "--as", "servers", "report", "show", str(incident_id))
    assert code == 0, err
    assert out.startswith(f"# 事后记录：#{incident_id} Benefits DB refuses connections\n")
    assert "\n## 时间线\n" in out
    for args in (("--format", "json"), ("--json",)):
        code, out, err = cli("--db", sqlite_url, "--as", "servers", "report", "show", str(incident_id), *args)
        assert code == 0, err
        data = json.loads(out)
        assert data["timeline"][1]["what"] == "acknowledged"
        assert "no cause recorded as located" not in data["follow_ups"]
        assert data["follow_ups"][0] == "playbook step not done: Restart once"


# Every audited action the record has a sentence for, with and without its optional parts.
EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("open", {"title": "db down"}),
    ("open", {"title": "db down", "reopened_from": 3}),
    ("ack", {}),
    ("draft", {"version": 2}),
    ("classify", {"category": "server_fault", "level": "IV"}),
    ("classify", {"category": "nonsense", "level": "IV", "reason": "typo"}),
    (
        "classify",
        {
            "regrade": True,
            "from_category": "server_fault",
            "from_level": "IV",
            "category": "network_fault",
            "level": "III",
            "reason": "lines down",
        },
    ),
    ("classify", {"regrade": True, "from_category": None, "category": "disaster", "level": "I"}),
    ("level", {"from_level": "IV", "level": "III", "reason": "longer"}),
    ("level", {"level": "II"}),
    ("assign", {"owner": "dns"}),
    ("assign", {"owner": "dns", "from_owner": "web"}),
    ("note", {"text": "looking"}),
    ("note", {"text": "CRIT", "probe": "db-ping"}),
    ("step", {"key": "restart", "state": "done"}),
    ("step", {"key": "restart", "state": "skipped", "reason": "no access"}),
    ("step", {"key": "restart", "state": "pending"}),
    ("cause", {"note": "disk full"}),
    ("resolve", {"resolution": "disk cleaned"}),
    ("close", {"kind": "resolved"}),
    ("close", {"kind": "false_alarm", "reason": "probe misfired"}),
    ("close", {"kind": "duplicate", "duplicate_of": 2}),
    ("close", {"kind": "something_new"}),
    ("close", {}),
    ("reopen", {"reason": "back again"}),
    ("call", {"call": 1, "caller": "Ms Chen", "contact": "c***@example.org"}),
    ("call", {"call": 1, "caller": "Ms Chen", "contact": "c***@example.org", "callback": True}),
    ("callback", {"call": 1, "note": "told her"}),
    ("reopened_as", {"new_id": 9, "reason": "back"}),
    ("outage", {"outage_started_at": "2026-11-28T02:40:00Z", "reason": "from the logs"}),
    ("attest", {"obligation": "leadership_informed", "via": "phone"}),
    ("attest", {"obligation": "leadership_informed", "via": "phone", "who": "Huang", "note": "ok"}),
    ("regrade", {"next_level": "II", "confirmed": True, "reason": "still down"}),
    ("regrade", {"next_level": "II", "confirmed": False}),
    ("escalate", {"rule": "vendor", "late_s": 90, "targets": [{"to": "am-east"}, "old-style"]}),
    ("escalate", {"rule": "regrade", "late_s": 7300, "targets": [{"to": "lead"}], "regraded": {"to": "II"}}),
    ("escalate", {"rule": "vendor", "targets": []}),
    ("assign", {}),  # an older event without its field
    ("tag", {"label": "db", "empty": ""}),  # an action without a sentence
]


def test_each_sentence_has_chinese_words_and_english_data(in_chinese: None) -> None:
    for action, details in EVENTS[:-2]:
        shown = record.describe(action, details, english=False)
        assert shown != record.describe(action, details), (action, details)
    assert record.describe("step", {"key": "restart", "state": "skipped", "reason": "no access"}) == (
        "playbook step restart skipped: no access"
    )
    assert record.describe("step", {"key": "restart", "state": "skipped", "reason": "no access"}, english=False) == (
        "处置步骤 restart 已跳过：no access"
    )
    assert record.describe("close", {"kind": "false_alarm", "reason": "probe misfired"}, english=False) == (
        "已关闭（误报）：probe misfired"
    )


def follow_up_inputs() -> tuple[Any, ...]:
    """Every kind of follow-up at once."""
    incident = {
        "status": "acknowledged",
        "cause_located_at": None,
        "playbook": [{"title": "Restart once", "title_zh": "重启一次服务器", "state": "pending"}],
    }
    deadlines = [
        {"key": k, "name": "Some rule", "name_zh": "某规则", "state": s}
        for k, s in (("a", "pending"), ("b", "warning"), ("c", "breached"), ("record", "pending"), ("d", "met"))
    ]
    obligations = [{"en": "Leadership informed", "zh": "已报告所领导", "attested": []}]
    notifications = [{"to": "member:lead", "state": "dead"}, {"to": "contact:x", "state": "failed"}]
    calls = [{"id": 4, "caller": "Branch 7", "callback": True, "called_back_at": None}]
    return incident, deadlines, obligations, notifications, calls


def test_every_kind_of_follow_up_is_listed() -> None:
    assert len(record._follow_ups(*follow_up_inputs())) == 9


def test_the_follow_ups_in_chinese(in_chinese: None) -> None:
    assert record._follow_ups(*follow_up_inputs(), english=False) == [
        "处置步骤未完成：重启一次服务器",
        "义务未登记：已报告所领导",
        "时限 a（某规则）未满足（未到期）",
        "时限 b（某规则）未满足（即将到期）",
        "时限 c（某规则）未满足（已超时）",
        "2 条通知未送达：contact:x, member:lead（见 opsdeck notify list）",
        "1 个回访未完成：来电 4 Branch 7",
        "事件状态为已确认，尚未解决",
        "尚未记录原因定位",
    ]


# -- the audit trail ---------------------------------------------------------------------------


def event(seq: int, *, id: int, prev_hash: str, hashed: bool = True) -> AuditEvent:
    e = AuditEvent(
        id=id,
        chain="incident:7",
        incident_id=7,
        seq=seq,
        at=datetime(2026, 11, 28, 3, 0, tzinfo=UTC),
        actor="servers",
        action="note",
        details="{}",
        prev_hash=prev_hash,
        hash="",
    )
    e.hash = audit.hash_of(e) if hashed else "0" * 64
    return e


def chain_problems() -> list[list[audit.ChainProblem]]:
    """Edited, removed, reordered, written out of order, cut short, headless: each message in
    English and as shown."""
    first = event(1, id=10, prev_hash=audit.GENESIS)
    cases = [
        (event(2, id=11, prev_hash=first.hash, hashed=False), 1, first.hash, 10),
        (event(3, id=12, prev_hash=first.hash), 1, first.hash, 10),
        (event(2, id=11, prev_hash="f" * 64), 1, first.hash, 10),
        (event(2, id=9, prev_hash=first.hash), 1, first.hash, 10),
    ]
    out = []
    for english in (True, False):
        found = [audit._check_link(e, audit.Link(seq, h, i, None), english=english) for e, seq, h, i in cases]
        found += [audit._cut_short("incident:7", 5, 3, english=english), audit._headless("incident:7", english=english)]
        assert all(found)
        out.append([p for p in found if p is not None])
    return out


def test_a_chain_problem_names_the_event() -> None:
    english, _shown = chain_problems()
    assert english[0].message == (
        "incident:7 event #2 (id 11, note at 2026-11-28T03:00:00Z) was edited: its hash does not match its content"
    )


def test_chain_problems_in_chinese(in_chinese: None) -> None:
    english, shown = chain_problems()
    assert [p.message for p in shown] == [
        "incident:7 第 #2 条事件（id 11，note，2026-11-28T03:00:00Z）被修改：哈希与内容不符",
        "incident:7 第 #2 条事件被删除：记录从 #1 跳到 #3",
        "incident:7 第 #2 条事件（id 11，note，2026-11-28T03:00:00Z）没有接在 #1 之后：事件被重排或替换",
        "incident:7 第 #2 条事件（id 9，note，2026-11-28T03:00:00Z）写入早于 #1：事件被重排",
        "incident:7：链头记录到第 #5 条事件，但记录止于 #3：#3 之后的事件被删除",
        "incident:7：没有链头",
    ]
    assert english[1].message == "incident:7 event #2 was removed: the trail jumps from #1 to #3"


def tamper_note(store: Store, incident_id: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        conn.execute(
            text("UPDATE audit_events SET details = '{}' WHERE chain = :chain AND seq = 2"),
            {"chain": f"incident:{incident_id}"},
        )


def test_audit_verify_in_chinese_and_the_evidence_in_english(
    sqlite_url: str, clock: FakeClock, cli, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from ..board_fixtures import seeded_store

    store = seeded_store(sqlite_url, clock)
    try:
        incident = Service(store, "servers").open("db down")
        assert incident.id is not None
        Service(store, "servers").note(incident.id, "looking")
        tamper_note(store, incident.id)
    finally:
        store.dispose()
    monkeypatch.setenv("OPSDECK_LANG", "zh_CN")
    code, out, err = cli("--db", sqlite_url, "audit", "verify")
    assert code == 1
    assert f"incident:{incident.id} 第 #2 条事件（id " in out and "被修改：哈希与内容不符" in out
    evidence = tmp_path / "evidence.json"
    code, out, err = cli(
        "--db", sqlite_url, "--as", "auditor", "audit", "export", str(incident.id), "-o", str(evidence)
    )
    [problem] = json.loads(evidence.read_text("utf-8"))["problems"]
    assert problem.startswith(f"incident:{incident.id} event #2 (id ")
    assert problem.endswith("was edited: its hash does not match its content")
    code, out, err = cli("--db", sqlite_url, "audit", "verify", "--json")
    [found] = json.loads(out)["problems"]
    assert found["message"] == problem


def test_a_bad_anchor_is_refused_in_chinese(seeded: Store, in_chinese: None) -> None:
    with pytest.raises(InvalidInput) as caught, seeded.read() as session:
        audit.check_anchor(session, "opsdeck-anchor-1:12:abc")
    assert str(caught.value) == (
        "锚点的摘要有 3 位十六进制数字，应为 64 位：被截断或多出了字符 — "
        "完整复制 `opsdeck audit anchor` 输出的那一行（opsdeck-anchor-1:<last event id>:<64 hex digits>）"
    )
    with pytest.raises(InvalidInput) as caught:
        audit.parse_anchor("opsdeck-anchor-2:1:" + "0" * 64)
    assert str(caught.value).startswith(
        "'opsdeck-anchor-2' 是本 opsdeck 不能读取的锚点格式（可读取 opsdeck-anchor-1） — 请用取该锚点的 opsdeck 检查，或完整复制"
    )


# -- the board, its replay, the lookups, the detail --------------------------------------------


def test_lookups_filters_and_replays_say_what_is_wrong_in_chinese(
    seeded: Store, as_: As, clock: FakeClock, in_chinese: None
) -> None:
    as_("servers").open("db down")
    with seeded.read() as session:
        with pytest.raises(NotFound) as missing:
            queries.get_incident(session, 99)
        with pytest.raises(NotFound) as no_probe:
            probe_queries.probe_results(session, "nope")
        with pytest.raises(InvalidInput) as future:
            replay.board_at(session, clock.now + timedelta(hours=1), now=clock.now)
        with pytest.raises(InvalidInput) as naive:
            replay.board_at(session, datetime(2026, 11, 28, 3, 0), now=clock.now)
    assert str(missing.value).startswith("事件 #99 不存在 — 用 `opsdeck incident list --status all`")
    assert str(no_probe.value) == "没有名为 'nope' 的探针 — 见 `opsdeck probe list`"
    assert str(future.value) == (
        "2026-11-28T04:00:00Z 尚未到来（现在是 2026-11-28T03:00:00Z） — 请给出过去的时间，例如 -2h；实时看板显示当前"
    )
    assert str(naive.value) == "该时刻没有时区 — 请带上时区偏移：...Z 或 ...+08:00"
    with pytest.raises(InvalidInput) as bad_filter:
        board.parse_filter("status:closed")
    assert str(bad_filter.value) == (
        "'closed' 无法唯一对应一个未结状态：可选 reported, acknowledged, resolved — "
        "例如 level:III cat:网络故障 owner:dns 关键词"
    )


def test_a_missing_incident_in_chinese_on_the_cli_and_in_english_as_json(
    sqlite_url: str,
    clock: FakeClock,
    cli,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from ..board_fixtures import seeded_store

    seeded_store(sqlite_url, clock).dispose()
    monkeypatch.setenv("OPSDECK_LANG", "zh_CN")
    code, out, err = cli("--db", sqlite_url, "report", "show", "99")
    assert code == 4 and err.startswith("opsdeck: error: 事件 #99 不存在 — 用 `opsdeck incident list --status all`")
    code, out, err = cli("--db", sqlite_url, "report", "show", "99", "--json")
    assert code == 4
    assert "incident #99 does not exist — list incidents with `opsdeck incident list --status all`" in out + err


def test_the_detail_names_linked_incidents_in_chinese(
    seeded: Store, as_: As, clock: FakeClock, in_chinese: None
) -> None:
    first = as_("servers").open("db down")
    second = as_("servers").open("db down again")
    assert first.id is not None and second.id is not None
    as_("servers").close(second.id, duplicate_of=first.id)
    with seeded.read() as session:
        original = detail.load(session, first.id, clock.now)
        duplicate = detail.load(session, second.id, clock.now)
    assert [(link["id"], link["link"]) for link in original.linked] == [(second.id, "本事件的重复")]
    assert [(link["id"], link["link"]) for link in duplicate.linked] == [(first.id, "原事件（本事件是其重复）")]
