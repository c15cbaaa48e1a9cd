"""Messages people read: every shipped template for every event, in both languages, as
each format sends it (a golden file); SMS that fit one segment; hostile text in every
field neutralised for each markup; broken templates refused at apply time; and the real
sender to a webhook and to apprise's JSON and form targets on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from opsdeck.backend import messages, notify_plan, queries, templates
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.models import Incident, RosterMember
from opsdeck.backend.notify import Sender, SenderSettings
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock

GOLDEN = Path(__file__).parents[1] / "golden" / "messages.txt"
WORKER = "system:worker@test"
# Markdown links, emphasis, a heading, HTML/WeCom/Feishu tags, a Slack link, an OSC 52
# clipboard write, a bidi override and a newline that would start a block.
HOSTILE = (
    "# [点我](http://evil.example) **紧急** <font color=red>x</font> <at id=all></at> "
    "<http://evil.example|ok> `code` ~~del~~ _i_ |t| \x1b]52;c;ZXZpbA==\x07\u202e\n- list"
)
EVENTS = (*templates.EVENTS, "escalation:regrade")


def scripted(store: Store, clock: FakeClock, title: str = "Benefits DB refuses connections") -> Incident:
    """A level III server fault on db-cluster, acknowledged by `servers`."""
    servers = Service(store, "servers")
    incident = servers.open(title, system="db-cluster", outage_start=clock.now)
    assert incident.id is not None
    clock.advance(minutes=4)
    servers.ack(incident.id)
    Service(store, "lead").assign(incident.id, "servers")
    return Service(store, "lead").classify(incident.id, category="server_fault", level="III")


def payload_of(store: Store, incident_id: int) -> dict[str, Any]:
    with store.read() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        shown = notify_plan.incident_payload(session, incident)
    return {**templates.SAMPLE, "incident": shown, "deadline": shown["next_due"]}


def render_all(payload: dict[str, Any], formats: tuple[str, ...]) -> str:
    found = templates.Templates(0, templates.default_document())
    out = []
    for event in EVENTS:
        for lang in ("zh_CN", "en"):
            for fmt in formats:
                m = found.message(event, fmt, {**payload, "event": event}, lang, "Recipient")
                out.append(f"=== {event} {lang} {fmt}\n{m.title}\n\n{m.body}\n")
    return "\n".join(out)


def test_every_default_template_renders_the_scripted_incident_as_the_golden_file(
    seeded: Store, clock: FakeClock
) -> None:
    incident = scripted(seeded, clock)
    assert incident.id is not None
    text = render_all(payload_of(seeded, incident.id), ("dingtalk", "text", "sms"))
    if os.environ.get("OPSDECK_REGEN_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), "regenerate with OPSDECK_REGEN_GOLDEN=1 and review the diff"
    # Independent of the layout: what a reader needs is there, in the plan's words.
    assert "较大 (III级)" in text and "III (major)" in text
    assert "db-cluster" in text and f"opsdeck incident show {incident.id}" in text
    assert "报告所领导" in text and "Report to leadership" in text  # what is due, by name
    with seeded.read() as session:
        owner = session.execute(select(RosterMember.name).where(RosterMember.login == "servers")).scalar_one()
    assert f"负责人：{owner}" in text and f"Owner: {owner}" in text  # who owns it, by name


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_an_sms_is_one_segment_whatever_the_title(seeded: Store, clock: FakeClock, lang: str) -> None:
    incident = scripted(seeded, clock, title="数据库集群全部节点拒绝连接" * 20)
    assert incident.id is not None
    payload = payload_of(seeded, incident.id)
    found = templates.Templates(0, templates.default_document())
    for event in EVENTS:
        sms = found.message(event, "sms", {**payload, "event": event}, lang).body
        assert 0 < len(sms) <= (160 if sms.isascii() else 70), (event, len(sms), sms)
        assert "\n" not in sms
    document = templates.default_document()
    whole = {"title": "t", "markdown": "m", "text": "t", "sms": "{{ incident.title }}"}
    two = templates.Templates(0, {**document, "sms_segments": 2, "event": {"new_incident": {lang: whole}}})
    long_sms = two.message("new_incident", "sms", {**payload, "event": "new_incident"}, lang).body
    assert len(long_sms) == 134  # cut to two segments of 67 (once split, a header takes room)


def test_an_english_sms_keeps_the_160_characters_of_plain_ascii() -> None:
    assert messages.sms_limit("x" * 200, 1) == 160
    assert messages.sms_limit("x" * 200 + "…", 1) == 70
    assert len(messages.sms_cut("x" * 200, 1)) == 160 and messages.sms_cut("x" * 200, 1).endswith("...")


def test_markdown_injection_in_every_field_reads_as_text(seeded: Store, clock: FakeClock) -> None:
    incident = scripted(seeded, clock, title=HOSTILE)
    assert incident.id is not None
    payload = payload_of(seeded, incident.id)
    payload["incident"] = {**payload["incident"], "system": HOSTILE, "owner_name": HOSTILE}
    payload["deadline"] = {**payload["deadline"], "name": HOSTILE, "name_zh": HOSTILE}
    payload["warning"] = {**payload["warning"], "title": HOSTILE, "system": HOSTILE}
    payload["gap"] = {**payload["gap"], "duty": HOSTILE}
    found = templates.Templates(0, templates.default_document())
    for event in EVENTS:
        for lang in ("zh_CN", "en"):
            for fmt in ("dingtalk", "feishu", "slack"):
                m = found.message(event, fmt, {**payload, "event": event}, lang, HOSTILE)
                for text in (m.title, m.body):
                    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
                    assert "<" not in text and ">" not in text  # no tag, mention or Slack link
                    assert ("[点我](" not in text and "\\[点我\\](" in text) or "[点我]" not in text
                    assert "**紧急**" not in text
                    assert "\n- list" not in text and "\n#" not in text
            for fmt in ("text", "sms", "email", "webhook", "wecom"):
                m = found.message(event, fmt, {**payload, "event": event}, lang, HOSTILE)
                assert "\x1b" not in m.body + m.title and "\u202e" not in m.body + m.title
    dingtalk = found.message("new_incident", "dingtalk", {**payload, "event": "new_incident"}, "zh_CN")
    assert "**\\# \\[点我\\](http://evil.example) \\*\\*紧急\\*\\*" in dingtalk.body  # shown, not rendered
    plain = found.message("new_incident", "text", {**payload, "event": "new_incident"}, "en")
    assert "# [点我](http://evil.example) **紧急** <font color=red>x</font>" in plain.body  # as written


# -- applying templates ------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "templates.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            '[event.resolved.en]\nmarkdown = """\nfine\n{{ incident.title \n"""\n',
            "event.resolved.en.markdown: line 2 of the template, line 4 of the file",
        ),
        (
            'lang = "en"\n\n[event."escalation:vendor".zh_CN]\ntitle = "x"\nmarkdown = "m"\ntext = "t"\n'
            'sms = "ok {{ incident.nope }}"\n',
            "event.escalation:vendor.zh_CN.sms: line 1 of the template, line 7 of the file",
        ),
        ('[event.resolved.en]\ntext = "{{ incident.nope }}"\n', "event.resolved.en.text"),
        ('[event.resolved.en]\nsms = "{{ incident.title.__class__.__mro__ }}"\n', "event.resolved.en.sms"),
        ('[event.resolved.en]\ntitle = "{{ range(10) | list }}"\n', "event.resolved.en.title"),
        ('[event.resolved.en]\ntitle = "{{ lipsum() }}"\n', "event.resolved.en.title"),
        ("[event.resolved.en]\ntext = \"{{ 'x' * 1000000000 }}\"\n", "event.resolved.en.text"),
        ('[event.resolved.en]\ntext = "{{ 9 ** 9 ** 9 ** 9 }}"\n', "event.resolved.en.text"),
        ('[event.resolved.en]\nsms = "{{ incident.update(title=1) }}"\n', "event.resolved.en.sms"),
        ('[event.resolved.en]\ntext = "{{ incident.title.center(1000000000) }}"\n', "event.resolved.en.text"),
        ("[event.resolved.en]\ntext = \"{{ '%999999999s' % 1 }}\"\n", "event.resolved.en.text"),
        ("[event.resolved.en]\ntext = \"{{ '{:>999999999}'.format(1) }}\"\n", "event.resolved.en.text"),
        ("[event.resolved.en]\ntext = \"{{ incident.title | replace('a', 'aaaa') }}\"\n", "event.resolved.en.text"),
        ('[event.resolved.en]\ntext = "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"\n', "Macro is not allowed"),
        (
            '[event.resolved.en]\ntext = "{% for a in incident %}{% for b in incident %}{% for c in incident %}'
            '{% endfor %}{% endfor %}{% endfor %}"\n',
            "line 1 of the template, line 2 of the file: more than 2 loops",
        ),
        ('[event.resolved.en]\ntitle = "\\u001b]52;c;eA==\\u0007"\n', "control characters"),
        ('[event.resolved.xx]\ntitle = "x"\n', "event.resolved.xx"),
        ('[event.resolve.en]\ntitle = "x"\n', "'resolve' is not an event"),
        ('[event.resolved.en]\nbody = "x"\n', "event.resolved.en.body: unknown key"),
        ('[event."escalation:vendor".en]\ntitle = "x"\n', "missing markdown, text, sms"),
        ("sms_segments = 9\n", "sms_segments"),
        ('timezone = "Mars/Base"\n', "timezone"),
    ],
)
def test_a_broken_template_is_refused_at_apply_time_with_where_and_the_fix(
    seeded: Store, tmp_path: Path, cli: Callable[..., Any], store_url: str, text: str, said: str
) -> None:
    code, out, err = cli("--db", store_url, "--as", "lead", "templates", "apply", str(write(tmp_path, text)))
    assert code == 2, (out, err)
    assert said in err and " — " in err  # what, then the fix
    assert "Traceback" not in err
    with seeded.read() as session:
        assert templates.load(session).version == 0  # nothing stored


def test_a_lead_applies_templates_versioned_and_audited_and_show_round_trips(
    seeded: Store, tmp_path: Path, cli: Callable[..., Any], store_url: str
) -> None:
    path = write(tmp_path, '[event.resolved.en]\ntitle = "fixed: {{ incident.title }}"\n')
    code, out, err = cli("--db", store_url, "--as", "lead", "templates", "apply", str(path))
    assert (code, out.strip()) == (0, "templates version 1"), err
    code, out, _ = cli("--db", store_url, "--as", "servers", "templates", "apply", str(path))
    assert code != 0  # operators do not change what leadership reads
    code, shown, _ = cli("--db", store_url, "templates", "show")
    assert code == 0 and 'title = "fixed: {{ incident.title }}"' in shown
    again = write(tmp_path, shown)
    code, out, _ = cli("--db", store_url, "--as", "lead", "templates", "apply", str(again))
    assert code == 0 and "unchanged" in out  # show prints what apply takes back
    with seeded.read() as session:
        trail = queries.audit_trail(session, None)
    assert any(e["action"] == "templates_applied" and e["details"]["events"] == ["resolved"] for e in trail)


def test_preview_prints_title_blank_line_body_for_a_channel_or_a_format(
    seeded: Store, clock: FakeClock, tmp_path: Path, cli: Callable[..., Any], store_url: str
) -> None:
    incident = scripted(seeded, clock, title=HOSTILE)
    channels = write(tmp_path, "")
    channels.write_text('[[channel]]\nname = "ding"\nkind = "apprise"\nurl = "dingtalk://t0ken/"\n')
    Service(seeded, "lead").apply_channels(channels)
    code, out, err = cli(
        "--db", store_url, "templates", "preview", "level_iii", "--channel", "ding", "--incident", str(incident.id)
    )
    assert code == 0, err
    title, blank, *body = out.rstrip("\n").split("\n")
    assert title.startswith("【较大 (III级)】#") and blank == ""
    assert "\x1b" not in out and "<font" not in out and "\\*\\*紧急\\*\\*" in out
    code, out, _ = cli("--db", store_url, "templates", "preview", "new_incident", "--channel", "sms", "--lang", "en")
    assert code == 0 and out.startswith("\n\nopsdeck: new incident #12:") and len(out.strip()) <= 160
    code, out, err = cli("--db", store_url, "templates", "preview", "new_incident", "--channel", "nope")
    assert code == 2 and "nope" in err and "dingtalk" in err
    code, out, err = cli("--db", store_url, "templates", "preview", "bogus", "--channel", "sms")
    assert code == 2 and "bogus" in err
    for wrong in ("99999999999999999999", "-1", "x"):
        code, out, err = cli(
            "--db", store_url, "templates", "preview", "resolved", "--channel", "sms", "--incident", wrong
        )
        assert code == 2 and "not an incident id" in err and "Traceback" not in err
    code, out, err = cli("--db", store_url, "templates", "preview", "resolved", "--channel", "sms", "--incident", "999")
    assert code != 0 and "#999" in err


def test_the_channel_format_follows_the_url_unless_overridden(
    seeded: Store, tmp_path: Path, cli: Callable[..., Any], store_url: str
) -> None:
    path = tmp_path / "channels.toml"
    path.write_text(
        "".join(
            f'[[channel]]\nname = "{n}"\nkind = "{k}"\nurl = "{u}"\n' + (f'format = "{f}"\n' if f else "")
            for n, k, u, f in (
                ("hook", "webhook", "https://h.example/x", None),
                ("ding", "apprise", "dingtalk://t/", None),
                ("wecom", "apprise", "wecombot://k/", None),
                ("mail", "apprise", "mailtos://u:p@mail.example", None),
                ("sms", "apprise", "twilio://a:b@1555/1666", None),
                ("json", "apprise", "json://127.0.0.1/", None),
                ("gw", "apprise", "json://127.0.0.1/sms", "sms"),
            )
        )
    )
    Service(seeded, "lead").apply_channels(path)
    with seeded.read() as session:
        shown = {c.name: c.format for c in notify_plan.load(session).channels}
    assert shown == {
        "hook": "webhook",
        "ding": "dingtalk",
        "wecom": "wecom",
        "mail": "email",
        "sms": "sms",
        "json": "text",
        "gw": "sms",
    }
    code, out, _ = cli("--db", store_url, "channels", "list", "--json")
    assert code == 0 and {c["name"]: c["format"] for c in json.loads(out)["channels"]} == shown
    code, out, _ = cli("--db", store_url, "channels", "list")
    assert any(line.split()[1:4] == ["ding", "apprise", "dingtalk"] for line in out.splitlines())
    path.write_text('[[channel]]\nname = "x"\nkind = "apprise"\nurl = "json://h/"\nformat = "html"\n')
    with pytest.raises(InvalidInput, match=r"channel\[0\]\.format"):
        Service(seeded, "lead").apply_channels(path)


def test_a_recipients_language_comes_from_the_roster_else_the_centers(seeded: Store, tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    path.write_text('[[member]]\nlogin = "dns"\nname = "DNS"\npermission = "operator"\nlang = "klingon"\n')
    with pytest.raises(InvalidInput, match="lang"):
        Service(seeded, "lead").import_records("roster", path)


# -- through the real sender -----------------------------------------------------------------


class Inbox(BaseHTTPRequestHandler):
    """Records each POST: its content type and its body, parsed."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")
        kind = self.headers.get("Content-Type", "")
        body = json.loads(raw) if "json" in kind else {k: v[0] for k, v in parse_qs(raw).items()}
        Inbox.received.append({"path": self.path, "type": kind, "body": body})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def inbox() -> Iterator[str]:
    Inbox.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_sender_delivers_words_in_each_recipients_language(
    seeded: Store, clock: FakeClock, tmp_path: Path, inbox: str
) -> None:
    channels = tmp_path / "channels.toml"
    channels.write_text(
        f'[[channel]]\nname = "hook"\nkind = "webhook"\nurl = "http://{inbox}/hook"\n'
        f'[[channel]]\nname = "json"\nkind = "apprise"\nurl = "json://{inbox}/json"\n'
        f'[[channel]]\nname = "form"\nkind = "apprise"\nurl = "form://{inbox}/form"\n'
        f'[[channel]]\nname = "sms"\nkind = "apprise"\nurl = "json://{inbox}/sms"\nformat = "sms"\n'
    )
    Service(seeded, "lead").apply_channels(channels)
    roster = tmp_path / "roster.toml"
    roster.write_text(
        '[[member]]\nlogin = "servers"\nname = "王磊 <b>*x*</b>"\npermission = "operator"\nduties = ["servers"]\n'
        "on_duty = true\nchannels = { hook = true, json = true, form = true, sms = true }\n"
        '[[member]]\nlogin = "dns"\nname = "Dana"\npermission = "operator"\nduties = ["dns"]\non_duty = true\n'
        'lang = "en"\nchannels = { hook = true, json = true }\n'
    )
    Service(seeded, "lead").import_records("roster", roster)
    for login in ("lead", "web", "telecom"):  # only the two above are on duty
        Service(seeded, "lead").roster_duty(login, False)
    incident = Service(seeded, "servers").open(HOSTILE, system="db-cluster")
    counts = Sender(seeded, WORKER, SenderSettings(timeout=2)).run_once()
    assert counts.failed == counts.dead == 0, counts.errors
    got = {(r["path"], r["body"].get("recipient", {}).get("id")): r for r in Inbox.received}

    hook = got[("/hook", "servers")]["body"]  # the webhook keeps its JSON and adds the words
    assert hook["event"] == "new_incident" and hook["incident"]["id"] == incident.id
    assert hook["title"].startswith(f"【新事件】#{incident.id} # [点我](http://evil.example)")
    assert "系统：db-cluster" in hook["text"] and f"opsdeck incident show {incident.id}" in hook["text"]
    assert "待办：初步判别,确定故障分类级别，" in hook["text"]  # the clock running at the open, by its plan name
    assert "\x1b" not in hook["title"] + hook["text"] and "\u202e" not in hook["text"]
    english = got[("/hook", "dns")]["body"]
    assert english["title"].startswith(f"[new] #{incident.id} ") and "System: db-cluster" in english["text"]

    as_json = [r["body"] for r in Inbox.received if r["path"] == "/json"]
    assert len(as_json) == 2
    zh = next(b for b in as_json if b["title"].startswith("【新事件】"))
    assert "系统：db-cluster" in zh["message"] and "{" not in zh["message"]  # words, not a JSON dump
    assert any(b["title"].startswith("[new]") and "Owner:" in b["message"] for b in as_json)
    form = next(r for r in Inbox.received if r["path"] == "/form")
    assert "x-www-form-urlencoded" in form["type"] and "负责人：" in form["body"]["message"]
    sms = next(r["body"] for r in Inbox.received if r["path"] == "/sms")
    assert sms["title"] == "" and sms["message"].startswith(f"【opsdeck】新事件#{incident.id}：")
    assert len(sms["message"]) <= 70
    with seeded.read() as session:
        assert {m["state"] for m in queries.outbox(session) if m["recipient_kind"] == "member"} == {"sent"}


def test_a_stored_template_that_fails_at_send_time_falls_back_to_the_shipped_one(
    seeded: Store, clock: FakeClock
) -> None:
    incident = scripted(seeded, clock)
    assert incident.id is not None
    document = templates.default_document()
    broken = {**document["event"]["resolved"]["en"], "text": "{{ incident.title.nope }}"}
    found = templates.Templates(3, {**document, "event": {**document["event"], "resolved": {"en": broken}}})
    message = found.message("resolved", "text", {**payload_of(seeded, incident.id), "event": "resolved"}, "en")
    assert message.body.startswith("Benefits DB refuses connections is resolved")


def test_an_escalation_message_names_the_breached_deadline(seeded: Store, clock: FakeClock, tmp_path: Path) -> None:
    from opsdeck.backend.escalation import sweep

    incident = scripted(seeded, clock)
    clock.advance(hours=2)
    sweep(seeded, WORKER)
    with seeded.read() as session:
        rows = [m for m in queries.outbox(session) if m["event"].startswith("escalation:")]
    assert rows
    with seeded.read() as session:
        from opsdeck.backend.models import OutboxMessage

        payload = session.get(OutboxMessage, rows[0]["id"]).payload  # type: ignore[union-attr]
    found = templates.Templates(0, templates.default_document())
    zh = found.message(rows[0]["event"], "text", payload, "zh_CN")
    assert zh.title.startswith(f"【超时】#{incident.id} ") and "已超时（应于 " in zh.body
    assert payload["deadline"]["name_zh"] in zh.title


def test_migration_0017_keeps_the_roster_and_contacts_and_gives_them_the_centers_language(
    store_url: str, tmp_path: Path
) -> None:
    """A store with people in it, at 0016, upgraded: every row kept, `lang` empty (the
    center's), and their messages then come in the center's language."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from opsdeck.backend import schema
    from opsdeck.backend.schema import open_store

    if store_url.startswith("sqlite"):
        (tmp_path / "store").mkdir(exist_ok=True)
    engine = create_engine(store_url)
    with engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), "0016")
        conn.execute(
            text(
                "INSERT INTO roster_members (login, name, permission, duties, phone, email, on_duty, channels, demo) "
                "VALUES ('ops', '值班员 <b>', 'operator', '[]', '', '', true, '{\"hook\": true}', false)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO contacts (key, name, kind, phone, email, channels, note) "
                "VALUES ('director', 'Director', 'leadership', '', '', '{}', 'n')"
            )
        )
        command.upgrade(schema._alembic_config(conn), "head")
    engine.dispose()
    store = open_store(store_url, clock=FakeClock())
    try:
        with store.read() as session:
            rows = session.execute(text("SELECT login, name, lang, channels FROM roster_members")).all()
            contacts = session.execute(text("SELECT key, lang, note FROM contacts")).all()
            assert templates.load(session).version == 0  # the shipped templates until a lead applies some
        assert [(r[0], r[1], r[2]) for r in rows] == [("ops", "值班员 <b>", "")]
        assert [tuple(c) for c in contacts] == [("director", "", "n")]
        from opsdeck.backend.notify import _recipient

        with store.read() as session:
            assert _recipient(session, "member", "ops") == {"name": "值班员 <b>", "channels": ["hook"], "lang": None}
    finally:
        store.dispose()


def test_notify_test_sends_the_test_message_in_words(
    seeded: Store, tmp_path: Path, inbox: str, cli: Callable[..., Any], store_url: str
) -> None:
    channels = tmp_path / "channels.toml"
    channels.write_text(
        f'[[channel]]\nname = "hook"\nkind = "webhook"\nurl = "http://{inbox}/hook"\n'
        f'[[channel]]\nname = "json"\nkind = "apprise"\nurl = "json://{inbox}/json"\n'
    )
    Service(seeded, "lead").apply_channels(channels)
    for name in ("hook", "json"):
        code, out, err = cli("--db", store_url, "--as", "lead", "notify", "test", name)
        assert code == 0, err
    hook, as_json = (r["body"] for r in Inbox.received)
    assert hook["event"] == "test" and hook["title"] == "【测试】opsdeck 测试消息"
    assert "收到即说明通道 hook 可用" in hook["text"]
    assert as_json["title"] == "【测试】opsdeck 测试消息" and "通道 json 可用" in as_json["message"]


def test_hostile_text_in_every_field_reaches_a_markdown_channel_as_text(
    seeded: Store, clock: FakeClock, tmp_path: Path, inbox: str
) -> None:
    """Title, system, owner and recipient hostile; a webhook channel sending the DingTalk
    format, so the Markdown a DingTalk robot would render arrives on 127.0.0.1 to read."""
    channels = tmp_path / "channels.toml"
    channels.write_text(
        f'[[channel]]\nname = "md"\nkind = "webhook"\nurl = "http://{inbox}/md"\nformat = "dingtalk"\n'
        '[[route]]\nevent = "resolved"\nto = ["owner"]\n'
    )
    Service(seeded, "lead").apply_channels(channels)
    systems = tmp_path / "systems.toml"
    systems.write_text(f'[[system]]\nname = "evil-sys"\nduty_area = "servers"\ndescription = {json.dumps(HOSTILE)}\n')
    Service(seeded, "lead").import_records("systems", systems)
    roster = tmp_path / "roster.toml"
    roster.write_text(
        f'[[member]]\nlogin = "servers"\nname = {json.dumps(HOSTILE[:100].replace(chr(10), " "))}\n'
        'permission = "operator"\nduties = ["servers"]\non_duty = true\nchannels = { md = true }\n'
    )
    Service(seeded, "lead").import_records("roster", roster)
    incident = Service(seeded, "servers").open(HOSTILE, system="evil-sys")
    assert incident.id is not None
    Service(seeded, "lead").assign(incident.id, "servers")
    Service(seeded, "servers").resolve(incident.id, resolution=HOSTILE)
    counts = Sender(seeded, WORKER, SenderSettings(timeout=2)).run_once()
    assert counts.sent == 1 and counts.failed == 0, counts.errors
    [got] = [r["body"] for r in Inbox.received]
    assert got["event"] == "resolved" and got["incident"]["title"] == HOSTILE  # the data, as it is
    for text in (got["title"], got["text"]):
        assert "\x1b" not in text and "\u202e" not in text and "<" not in text and ">" not in text
        assert not re.search(r"(?<!\\)\]\(http", text)  # every link bracket escaped
        assert "**紧急**" not in text and "`code`" not in text
    assert got["text"].startswith("**\\# \\[点我\\](http://evil.example) \\*\\*紧急\\*\\*")
    assert "- 负责人：\\# \\[点我\\]" in got["text"]  # the owner's name, escaped too
