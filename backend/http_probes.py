"""Active HTTP probes: the worker asks each configured URL on its interval (httpx) and
the answers go through the same path as spool files."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time

import httpx

from . import clocks
from .errors import OpsdeckError
from .probe_config import HttpCheck
from .probe_health import Incoming, apply
from .store import Store

log = logging.getLogger("opsdeck.http")
BODY_LIMIT = 1 << 20


async def check_once(client: httpx.AsyncClient, check: HttpCheck) -> Incoming:
    """One request: OK when the status is the expected one and the body matches."""
    started = time.monotonic()
    try:
        response = await client.get(check.url, timeout=check.timeout.total_seconds())
    except httpx.TimeoutException:
        return _result(check, "CRITICAL", f"HTTP CRITICAL - no answer within {check.timeout.total_seconds():g} s")
    except httpx.HTTPError as error:
        return _result(check, "CRITICAL", f"HTTP CRITICAL - {type(error).__name__}: {error}")
    took = time.monotonic() - started
    body = response.text[:BODY_LIMIT]
    if response.status_code != check.expect_status:
        return _result(
            check,
            "CRITICAL",
            f"HTTP CRITICAL - status {response.status_code}, expected {check.expect_status}; {took:.3f} s",
            took,
        )
    if check.body_pattern and not re.search(check.body_pattern, body):
        return _result(
            check, "CRITICAL", f"HTTP CRITICAL - body does not match {check.body_pattern!r}; {took:.3f} s", took
        )
    return _result(check, "OK", f"HTTP OK - status {response.status_code} in {took:.3f} s", took)


def _result(check: HttpCheck, state: str, output: str, took: float | None = None) -> Incoming:
    perfdata = (
        ({"label": "time", "value": round(took, 6), "uom": "s", "warn": "", "crit": "", "min": 0, "max": None},)
        if took is not None
        else ()
    )
    return Incoming(
        probe=check.name, state=state, output=output, at=None, source=check.url, kind="http", perfdata=perfdata
    )


class HttpDuty:
    """While this worker leads the `http` duty, a thread runs every check on its interval."""

    def __init__(self, store: Store, actor: str, stop: threading.Event) -> None:
        self.store, self.actor, self.stop = store, actor, stop
        self.thread: threading.Thread | None = None

    def __call__(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=lambda: asyncio.run(self.run()), name="opsdeck-http", daemon=True)
            self.thread.start()

    def checks(self) -> tuple[HttpCheck, ...]:
        with self.store.read() as session:
            return clocks.load_policy(session).probes.http

    def record(self, incoming: Incoming) -> None:
        try:
            with self.store.write(self.actor) as uow:
                apply(uow, [incoming], clocks.load_policy(uow.session).probes)
        except OpsdeckError as error:
            log.warning("%s: %s", incoming.probe, error)

    async def run(self) -> None:
        due: dict[str, float] = {}
        async with httpx.AsyncClient(follow_redirects=True) as client:
            while not self.stop.is_set():
                checks = await asyncio.to_thread(self.checks)
                now = time.monotonic()
                ready = [c for c in checks if due.get(c.name, 0) <= now]
                for check in ready:
                    due[check.name] = now + check.interval.total_seconds()
                results = await asyncio.gather(*(check_once(client, c) for c in ready))
                for result in results:
                    await asyncio.to_thread(self.record, result)
                await asyncio.to_thread(self.stop.wait, 1.0)


def run_all_once(store: Store, actor: str) -> list[Incoming]:
    """Every configured check, once (tests and `opsdeck probe http --once`)."""

    async def go() -> list[Incoming]:
        duty = HttpDuty(store, actor, threading.Event())
        async with httpx.AsyncClient(follow_redirects=True) as client:
            results = await asyncio.gather(*(check_once(client, c) for c in duty.checks()))
        for result in results:
            duty.record(result)
        return list(results)

    return asyncio.run(go())
