"""The shipped integrations (`integrations/`), each run against a real receiver:

- Alertmanager: the shipped receiver snippet, checked by the real `amtool check-config`
  and run by the real Debian Alertmanager.
- Zabbix: the media type's own script, taken from the shipped YAML and run in Duktape
  (dukpy), the JavaScript engine Zabbix runs webhooks in, with Zabbix's `HttpRequest`
  and `Zabbix.log` provided as Zabbix documents them, and the parameters Zabbix passes.
  Zabbix's server is not packaged in Debian: this replays what it runs.
- Icinga 2 / Nagios: the shipped script, run with the arguments and environment the
  shipped NotificationCommand gives it (Icinga is not run: this replays its call).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from opsdeck.backend.schema import open_store
from opsdeck.backend.store import Store

from ..alertmanager_helpers import AMTOOL, alertmanager, amtool, require, wait
from ..receive_helpers import add_source, alerts, incidents, notes, probe, running

ROOT = Path(__file__).resolve().parents[2] / "integrations"


@pytest.fixture
def live_store(sqlite_url: str) -> Iterator[Store]:
    store = open_store(sqlite_url)
    yield store
    store.dispose()


def test_every_integration_has_a_readme() -> None:
    for folder in ("alertmanager", "zabbix", "icinga2"):
        assert (ROOT / folder / "README.md").read_text("utf-8").strip()


@pytest.mark.parametrize("name", ["alertmanager.yml", "pagerduty.yml"])
def test_the_alertmanager_snippets_pass_amtool_check_config(name: str, tmp_path: Path) -> None:
    require()
    text = (ROOT / "alertmanager" / name).read_text("utf-8")
    for token_file in re.findall(r"_file: (\S+)", text):  # check-config reads the token files
        local = tmp_path / Path(token_file).name
        local.write_text("0" * 32)
        text = text.replace(token_file, str(local))
    config = tmp_path / name
    config.write_text(text, "utf-8")
    done = subprocess.run([AMTOOL, "check-config", str(config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_the_shipped_alertmanager_receiver_delivers_to_opsdeck(live_store: Store, tmp_path: Path) -> None:
    token = add_source(live_store, "prom", "alertmanager")
    shipped = yaml.safe_load((ROOT / "alertmanager" / "alertmanager.yml").read_text("utf-8"))
    token_file = tmp_path / "opsdeck.token"
    token_file.write_text(token + "\n")
    with running(live_store, tmp_path) as rx:
        [hook] = shipped["receivers"][0]["webhook_configs"]
        assert hook["max_alerts"] > 0 and hook["send_resolved"] is True
        hook["url"] = hook["url"].replace("http://127.0.0.1:9181", rx.base)
        hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
        shipped["route"].update(group_wait="1s", group_interval="1s")  # the test's patience, not the shipped value
        route = yaml.safe_dump({"route": shipped["route"]})
        with alertmanager(tmp_path, yaml.safe_dump({"receivers": shipped["receivers"]}), route=route) as am:
            amtool(am, "alert", "add", "alertname=ApiErrors", "service=billing", "severity=critical")
            assert wait(lambda: len(incidents(live_store)) == 1)
    assert incidents(live_store)[0].title.startswith("prom/ApiErrors,billing CRITICAL")


# -- Zabbix ---------------------------------------------------------------------------------


def _zabbix_media() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "zabbix" / "media_opsdeck.yaml").read_text("utf-8"))
    [media] = document["zabbix_export"]["media_types"]
    assert media["type"] == "WEBHOOK" and document["zabbix_export"]["version"] == "6.0"
    return media  # type: ignore[no-any-return]


def run_zabbix(params: dict[str, str]) -> tuple[str | None, str | None]:
    """Run the media type's script as Zabbix does: `value` is the parameters as JSON,
    `HttpRequest` and `Zabbix.log` are Zabbix's. Returns (result, error thrown)."""
    dukpy = pytest.importorskip("dukpy", reason="pip install dukpy (the test extra has it)")
    media = _zabbix_media()
    declared = {p["name"] for p in media["parameters"]}
    assert set(params) <= declared, set(params) - declared
    state: dict[str, Any] = {"headers": {}, "status": 0}

    def post(url: str, data: str) -> str:
        reply = httpx.post(url, content=data.encode(), headers=state["headers"], timeout=10)
        state["status"] = reply.status_code
        return reply.text

    def add_header(line: str) -> None:
        name, _sep, value = line.partition(":")
        state["headers"][name.strip()] = value.strip()

    interpreter = dukpy.JSInterpreter()
    interpreter.export_function("post", post)
    interpreter.export_function("add_header", add_header)
    interpreter.export_function("status", lambda: state["status"])
    prelude = """
    function HttpRequest() {}
    HttpRequest.prototype.addHeader = function (line) { call_python('add_header', line); };
    HttpRequest.prototype.post = function (url, data) { return call_python('post', url, data); };
    HttpRequest.prototype.getStatus = function () { return call_python('status'); };
    var Zabbix = {log: function (level, message) {}};
    """
    wrapped = f"""{prelude}
    var value = dukpy['value'];
    (function () {{
        try {{ return {{result: (function () {{ {media["script"]} }})()}}; }}
        catch (error) {{ return {{error: String(error)}}; }}
    }})()"""
    outcome = interpreter.evaljs(wrapped, value=json.dumps(params))
    return outcome.get("result"), outcome.get("error")


def zabbix_params(base: str, token: str, **changes: str) -> dict[str, str]:
    params = {
        "opsdeck_url": base + "/",
        "token": token,
        "event_source": "0",
        "eventid": "4711",
        "eventvalue": "1",
        "eventupdate": "0",
        "eventack": "No",
        "eventname": "Free disk space is less than 5% on volume /var",
        "severity": "4",
        "hostname": "db1",
        "triggerdesc": "The disk will be full soon",
        "opdata": "Space used: 96.1%",
        "eventtags": json.dumps([{"tag": "scope", "value": "capacity"}]),
    }
    params.update(changes)
    return params


def test_the_zabbix_media_type_opens_acknowledges_and_recovers(live_store: Store, tmp_path: Path) -> None:
    token = add_source(live_store, "zabbix", "events")
    with running(live_store, tmp_path) as rx:
        assert run_zabbix(zabbix_params(rx.base, token)) == ("OK", None)
        assert run_zabbix(zabbix_params(rx.base, token)) == ("OK", None)  # Zabbix retried: counted once
        assert run_zabbix(zabbix_params(rx.base, token, eventupdate="1", eventack="Yes")) == ("OK", None)
        assert run_zabbix(zabbix_params(rx.base, token, eventvalue="0")) == ("OK", None)
        result, error = run_zabbix(zabbix_params(rx.base, token[::-1], eventid="4712"))
    assert result is None and error == "opsdeck answered 401: Invalid routing key"
    [incident] = incidents(live_store)
    assert incident.title.startswith("zabbix/db1/zabbix #zabbix-4711 CRITICAL: Free disk space")
    texts = notes(live_store, incident.id or 0)
    assert texts[0].startswith("acknowledged at the source") and texts[1].startswith("recovered at the source")
    [alert] = alerts(live_store)
    assert alert.labels["tag_scope"] == "capacity" and alert.firing is False


# -- Icinga 2 and Nagios -------------------------------------------------------------------------


def icinga_argv(command: str, macros: dict[str, str], url: str) -> list[str]:
    """The command line Icinga builds from the shipped NotificationCommand's `arguments`."""
    conf = (ROOT / "icinga2" / "opsdeck.conf").read_text("utf-8")
    block = conf.split(f'object NotificationCommand "{command}"', 1)[1].split("env = {", 1)[0]
    argv = [sys.executable, str(ROOT / "icinga2" / "opsdeck-notify")]
    for flag, value in re.findall(r'"(--[a-z-]+)" = ("[^"]*"|\w+)', block):
        if value == "OpsdeckUrl":
            argv += [flag, url]
            continue
        macro = value.strip('"')
        argv += [flag, macros.get(macro, "")]  # Icinga passes an empty string for an unset macro
    return argv


def notify(argv: list[str], token: str) -> subprocess.CompletedProcess[str]:
    conf = (ROOT / "icinga2" / "opsdeck.conf").read_text("utf-8")
    assert "OPSDECK_TOKEN = OpsdeckToken" in conf  # the token travels in the environment
    env = {**os.environ, "OPSDECK_TOKEN": token}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)


def test_the_icinga_notification_command_opens_and_recovers(live_store: Store, tmp_path: Path) -> None:
    token = add_source(live_store, "icinga", "events")
    macros = {
        "$notification.type$": "PROBLEM",
        "$host.name$": "web1",
        "$service.name$": "http",
        "$service.state$": "CRITICAL",
        "$service.output$": "HTTP CRITICAL - 503 Service Unavailable\x1b]52;c;ZXZpbA==\x07",
    }
    with running(live_store, tmp_path) as rx:
        problem = notify(icinga_argv("opsdeck-service", macros, rx.base), token)
        assert problem.returncode == 0, problem.stderr
        assert probe(live_store, "icinga/web1/http #web1!http").state == "CRITICAL"
        recovered = {**macros, "$notification.type$": "RECOVERY", "$service.state$": "OK"}
        assert notify(icinga_argv("opsdeck-service", recovered, rx.base), token).returncode == 0
        host_down = {"$notification.type$": "PROBLEM", "$host.name$": "db9", "$host.state$": "DOWN"}
        assert notify(icinga_argv("opsdeck-host", host_down, rx.base), token).returncode == 0
        refused = notify(icinga_argv("opsdeck-host", host_down, rx.base), "0" * 32)
    assert refused.returncode == 1 and "401" in refused.stderr and token not in refused.stderr
    web, db9 = incidents(live_store)
    assert "HTTP CRITICAL - 503" in web.title and "db9 DOWN" in db9.title
    assert probe(live_store, "icinga/web1/http #web1!http").state == "OK"


def test_the_nagios_commands_call_the_same_script_with_a_token_file(live_store: Store, tmp_path: Path) -> None:
    token = add_source(live_store, "nagios", "events")
    token_file = tmp_path / "opsdeck.token"
    token_file.write_text(token + "\n")
    text = (ROOT / "icinga2" / "nagios.cfg").read_text("utf-8")
    line = re.search(r"command_name\s+notify-service-by-opsdeck\s+command_line\s+(.+)", text)
    assert line is not None
    macros = {
        "$NOTIFICATIONTYPE$": "PROBLEM",
        "$HOSTNAME$": "mail1",
        "$SERVICEDESC$": "smtp",
        "$SERVICESTATE$": "WARNING",
        "$SERVICEOUTPUT$": "SMTP WARNING - 4.2 second response time",
    }
    with running(live_store, tmp_path) as rx:
        command = line.group(1).replace("/usr/local/bin/opsdeck-notify", str(ROOT / "icinga2" / "opsdeck-notify"))
        command = command.replace("http://127.0.0.1:9181", rx.base).replace(
            "/etc/nagios4/opsdeck.token", str(token_file)
        )
        for macro, value in macros.items():
            command = command.replace(macro, value)
        command = re.sub(r"\$[A-Z]+\$", "", command)
        done = subprocess.run(
            ["/bin/sh", "-c", f"{sys.executable} {command}"],
            env={"PATH": os.environ["PATH"]},
            capture_output=True,
            text=True,
        )
    assert done.returncode == 0, done.stderr
    assert probe(live_store, "nagios/mail1/smtp #mail1!smtp").state == "WARNING"
