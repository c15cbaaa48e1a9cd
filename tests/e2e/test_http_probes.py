"""Active HTTP probes against a real server on 127.0.0.1 that answers, fails, hangs and
recovers; results go through the same path as spool files."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from opsdeck.backend import http_probes, probe_queries, queries
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock


class Handler(BaseHTTPRequestHandler):
    calls: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        Handler.calls[self.path] = Handler.calls.get(self.path, 0) + 1
        if self.path == "/hang":
            time.sleep(2)
        status = {"/ok": 200, "/fail": 500, "/hang": 200}.get(self.path, 404)
        if self.path == "/recover":
            status = 500 if Handler.calls[self.path] <= 2 else 200
        body = b"status: ok" if status == 200 else b"broken"
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except BrokenPipeError:  # the probe gave up waiting (the /hang case)
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Handler.calls = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def configure(store: Store, base: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    checks = [
        ("portal-ok", "/ok", ""),
        ("portal-fail", "/fail", ""),
        ("portal-hang", "/hang", 'timeout = "1s"\n'),
        ("portal-recover", "/recover", ""),
        ("portal-body", "/ok", 'body_pattern = "status: (ok|fine)"\n'),
    ]
    path.write_text(
        "".join(f'[[probes.http]]\nname = "{name}"\nurl = "{base}{route}"\n{extra}\n' for name, route, extra in checks)
    )
    Service(store, "lead").apply_policy(path)


def states(store: Store) -> dict[str, tuple[str, str]]:
    with store.read() as session:
        return {p["name"]: (p["state"], p["output"]) for p in probe_queries.probes(session, store.clock())}


def test_answers_failures_and_hangs(seeded: Store, server: str, tmp_path: Path) -> None:
    configure(seeded, server, tmp_path)
    http_probes.run_all_once(seeded, "system:worker@test")
    found = states(seeded)
    assert found["portal-ok"][0] == "OK" and "status 200" in found["portal-ok"][1]
    assert found["portal-fail"] == ("CRITICAL", found["portal-fail"][1])
    assert "status 500, expected 200" in found["portal-fail"][1]
    assert found["portal-hang"][0] == "CRITICAL" and "no answer within 1 s" in found["portal-hang"][1]
    assert found["portal-body"][0] == "OK"


def test_a_failing_endpoint_opens_an_incident_and_recovers(
    seeded: Store, server: str, tmp_path: Path, clock: FakeClock
) -> None:
    configure(seeded, server, tmp_path)
    for _ in range(2):
        clock.advance(minutes=1)
        http_probes.run_all_once(seeded, "system:worker@test")
    assert states(seeded)["portal-recover"][0] == "CRITICAL"
    clock.advance(minutes=1)
    http_probes.run_all_once(seeded, "system:worker@test")
    assert states(seeded)["portal-recover"][0] == "OK"
    with seeded.read() as session:
        titles = [r["title"] for r in queries.iter_incidents(session, queries.IncidentFilter())]
    assert sorted(t.split(":")[0] for t in titles) == ["portal-fail CRITICAL", "portal-hang CRITICAL"]
    assert not [t for t in titles if t.startswith("portal-recover")]  # two failures, then it recovered


def test_a_bad_check_in_the_policy_is_refused(seeded: Store, tmp_path: Path) -> None:
    from opsdeck.backend.errors import InvalidInput

    path = tmp_path / "policy.toml"
    path.write_text('[[probes.http]]\nname = "x"\nurl = "ftp://example.org"\n')
    with pytest.raises(InvalidInput, match=r"probes.http\[0\].url.*not an http"):
        Service(seeded, "lead").apply_policy(path)
