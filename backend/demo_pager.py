"""The demo's pager: a webhook receiver on 127.0.0.1 that `opsdeck --demo` sends its
notifications to, so the demo shows them delivered rather than failing for want of a
channel. It keeps a count and the newest few bodies; nothing leaves the machine."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CHANNEL = "demo-pager"
KEEP = 50
MAX_BODY = 1 << 20


class DemoPager:
    def __init__(self) -> None:
        self.received: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self.count = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/page"

    def channels_file(self, folder: Path) -> Path:
        """The channels document naming this pager, for `Service.apply_channels`."""
        path = folder / "demo-channels.toml"
        path.write_text(f'[[channel]]\nname = "{CHANNEL}"\nkind = "webhook"\nurl = "{self.url}"\n', "utf-8")
        return path

    def run(self, stop: threading.Event) -> None:
        """Serve until `stop` (a Background thread's target)."""
        serving = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        serving.start()
        stop.wait()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        pager = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_BODY:
                    self.send_error(400, "a JSON body is expected")
                    return
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    self.send_error(400, "the body is not JSON")
                    return
                with pager._lock:
                    pager.count += 1
                    pager.received.append(body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # the board owns the terminal
                return

        return Handler
