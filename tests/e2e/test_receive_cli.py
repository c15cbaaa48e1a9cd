"""`opsdeck sources ...` and `opsdeck receive` as a user runs them, the receiver's counters
on the board's probe panel, and the `[receive]` config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsdeck.backend import board
from opsdeck.backend import config as config_mod
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service

from ..conftest import demo_fixture
from ..receive_helpers import am_alert, am_body, running


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'store' / 'opsdeck.db'}"
    store = open_store(url)
    Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    store.dispose()
    monkeypatch.setenv("OPSDECK_DB", url)
    return url


def test_sources_add_prints_path_and_token_once_and_lists_counters(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _err = cli("sources", "add", "prom", "--kind", "alertmanager", "--json", "--as", "lead")
    created = json.loads(out)
    assert code == 0 and created["url_path"] == "/sources/prom" and len(created["token"]) == 32
    assert set(created) == {"name", "kind", "url_path", "token"}
    store = open_store(db)
    with running(store, tmp_path) as rx:
        assert rx.post("/sources/prom", am_body(am_alert()), created["token"]).status_code == 200
        assert rx.post("/sources/prom", am_body(am_alert()), "nope").status_code == 401
        rx.receiver._flush()
    code, out, _err = cli("sources", "list", "--json")
    [row] = json.loads(out)
    assert (row["accepted"], row["rejected"]) == (1, {"401": 1}) and "token" not in row
    code, out, _err = cli("sources", "list")
    assert "prom" in out and "401:1" in out and created["token"] not in out
    code, out, _err = cli("audit", "show", "system", "--json")
    assert "source_add" in out and created["token"] not in out
    with store.read() as session:
        panels = board.load_panels(session, store.clock())
    assert panels.sources == (board.SourceLine("prom", 1, 1),)
    store.dispose()


def test_sources_are_for_leads_and_bad_input_names_the_fix(cli, db: str) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = cli("sources", "add", "prom", "--kind", "alertmanager", "--as", "servers")
    assert code == 1 and "for leads" in err
    code, _out, err = cli("sources", "add", "prom", "--kind", "syslog", "--as", "lead")
    assert code == 2 and "use one of alertmanager, events, json" in err
    code, _out, err = cli("sources", "add", "Prom!", "--kind", "json", "--as", "lead")
    assert code == 2 and "lower-case letters" in err
    code, _out, err = cli("sources", "add", "pd", "--kind", "events", "--alertmanager-url", "http://x", "--as", "lead")
    assert code == 2 and "for alertmanager sources" in err
    code, _out, err = cli("sources", "rotate", "nobody", "--as", "lead")
    assert code == 4 and "sources list" in err
    assert cli("sources", "add", "pd", "--kind", "events", "--as", "lead")[0] == 0
    code, _out, err = cli("sources", "add", "pd", "--kind", "events", "--as", "lead")
    assert code == 1 and "exists" in err
    code, out, _err = cli("sources", "rotate", "pd", "--as", "lead")
    assert code == 0 and "the old one no longer works" in out
    code, out, _err = cli("sources", "remove", "pd", "--as", "lead", "--json")
    assert code == 0 and json.loads(out) == {"name": "pd", "removed": True}


def test_the_panel_shows_each_source_s_accepted_and_refused(db: str) -> None:
    from rich.console import Console

    from opsdeck.tui.widgets.panels import ProbePanel

    store = open_store(db)
    with store.read() as session:
        panels = board.load_panels(session, store.clock())
    store.dispose()
    from dataclasses import replace

    shown = replace(panels, sources=(board.SourceLine("prom", 1200, 3), board.SourceLine("zabbix", 5, 0)))
    panel = ProbePanel()
    rendered: list[object] = []
    panel.update = lambda content, **_kw: rendered.append(content)  # type: ignore[method-assign]
    panel.show(shown, store.clock(), 100)
    console = Console(width=100, record=True)
    console.print(rendered[0])
    text = console.export_text()
    assert "Sources prom 1200 ok 3 refused zabbix 5 ok" in " ".join(text.split())


def test_the_receive_section_of_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("OPSDECK_CONFIG", str(path))
    path.write_text('[receive]\nlisten = "0.0.0.0:9999"\nmax_bytes = 2048\nrate = 5\n', "utf-8")
    loaded = config_mod.load(environ={})
    assert (loaded.receive_listen, loaded.receive_max_bytes, loaded.receive_rate) == ("0.0.0.0:9999", 2048, 5.0)
    path.write_text('[receive]\nlisten = "nowhere"\n', "utf-8")
    with pytest.raises(InvalidInput, match="is not HOST:PORT"):
        config_mod.load(environ={})
    path.write_text("[receive]\nport = 1\n", "utf-8")
    with pytest.raises(InvalidInput, match=r"receive\.port"):
        config_mod.load(environ={})


def test_receive_on_a_taken_port_says_so(cli, db: str) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _out, err = cli("receive", "--listen", f"127.0.0.1:{port}", "--as", "lead")
    assert code == 2 and "cannot listen" in err and "--listen" in err
