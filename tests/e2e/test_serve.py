"""`opsdeck serve`: the wall in a browser. A real textual-serve on 127.0.0.1, a real
websocket as a browser opens it, a real `opsdeck wall` behind it; what arrives is fed
to a terminal emulator (pyte) and read as the browser would draw it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyte

from opsdeck.backend.service import Service

from ..board_fixtures import seeded_store
from ..conftest import FakeClock

OPSDECK = str(Path(sys.executable).parent / "opsdeck")
SIZE = (120, 30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _browser(port: int, wanted: str, timeout: float = 30.0) -> str:
    """Open the wall's websocket as the page's script does; the screen once `wanted` shows."""
    import aiohttp

    screen = pyte.Screen(*SIZE)
    stream = pyte.ByteStream(screen)
    text = ""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"http://127.0.0.1:{port}/ws?width={SIZE[0]}&height={SIZE[1]}") as ws,
    ):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                message = await ws.receive(timeout=1.0)
            except TimeoutError:
                continue
            if message.type == aiohttp.WSMsgType.BINARY:
                stream.feed(message.data)
                text = "\n".join(screen.display)
                if wanted in text:
                    return text
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
    return text


def test_the_wall_in_a_browser(sqlite_url: str, clock: FakeClock) -> None:
    store = seeded_store(sqlite_url, clock)
    Service(store, "servers").open("Core switch on fire", category="network_fault", level="III")
    store.dispose()
    port = _free_port()
    env = {**os.environ, "OPSDECK_CONFIG": "/nonexistent", "OPSDECK_TIMEZONE": "UTC"}
    server = subprocess.Popen(
        [OPSDECK, "--db", sqlite_url, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        page = None
        end = time.monotonic() + 30
        while page is None and time.monotonic() < end:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert page is not None and page.status_code == 200
        assert "opsdeck wall" in page.text and f"ws://127.0.0.1:{port}/ws" in page.text
        screen = asyncio.run(_browser(port, "Core switch on fire"))
        assert "Core switch on fire" in screen, screen
        assert "III" in screen
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_serve_says_what_is_wrong_with_a_bad_port(sqlite_url: str, clock: FakeClock) -> None:
    seeded_store(sqlite_url, clock).dispose()
    env = {**os.environ, "OPSDECK_CONFIG": "/nonexistent"}
    result = subprocess.run(
        [OPSDECK, "--db", sqlite_url, "serve", "--port", "70000"], capture_output=True, text=True, env=env, timeout=30
    )
    assert result.returncode == 2 and "--port 70000 is not a port" in result.stderr
