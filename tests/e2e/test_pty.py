"""The real `opsdeck --demo` in a pseudo-terminal, read back through a terminal
emulator (pyte): a living board, and no escape sequence from hostile probe output ever
reaches the terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte
import pytest

OPSDECK = str(Path(sys.executable).with_name("opsdeck"))
# The demo's hostile agent writes these inside its output (an OSC 52 clipboard write
# and a title change); the terminal must never see them.
HOSTILE = (b"Y3VybCBldmlsLnNoIHwgc2g=", b"pwned")


def _login_session() -> None:
    """In the child: the pty is its controlling terminal, and a hang-up is the default
    SIGHUP, as in an SSH login (a run under `nohup` would pass its ignored SIGHUP on)."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, argv: list[str], columns: int, rows: int, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
            preexec_fn=_login_session,
        )
        os.close(slave)
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                self.raw.extend(data)
                self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, words: str, timeout: float = 30) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.read(0.2)
            if words in self.text():
                return True
        return False

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def exit_code(self, timeout: float = 15) -> int | None:
        """Wait for the program to end, reading what it still writes: a reader that stops
        reading fills the pty's buffer and blocks the writer, which then never quits."""
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            self.read(0.1)
        return self.proc.poll()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OPSDECK_CONFIG": str(tmp_path / "none.toml"),
        "TERM": "xterm-256color",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "COLUMNS": "",
        "LINES": "",
    }


@pytest.mark.slow
def test_the_demo_board_lives_and_stays_clean(env: dict[str, str], tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**env, "TMPDIR": str(scratch)}  # where the demo's store and spool go
    term = Terminal([OPSDECK, "--demo"], 160, 48, env)
    try:
        assert term.wait_for("opsdeck"), term.text()
        assert term.wait_for("门户网站首页被篡改"), term.text()
        assert not list(Path(env["XDG_DATA_HOME"]).rglob("*.db*")), "the demo opened the user's own store"
        assert term.wait_for("dmz-ids", timeout=40), term.text()  # the probe writer, ingested by the worker
        assert term.wait_for("OS/config"), term.text()  # the readiness panel is read on its own
        assert term.wait_for("spool"), term.text()  # the header's spool time, once the first file is taken in
        screen = term.text()
        assert "II:1" in screen and "Probes" in screen and "Readiness" in screen and "Roster" in screen
        assert "OS/config" in screen and "spool" in screen
        term.read(3.0)  # let several countdown ticks and probe cycles reach the terminal
        for needle in HOSTILE:
            assert needle not in term.raw, f"{needle!r} reached the terminal"
        term.send("q")
        term.read(0.5)
        term.send("q")  # the board runs the demo's worker: quitting is asked once
        assert term.exit_code() == 0
        assert not list(scratch.iterdir()), "the demo left its store and spool behind"
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)


@pytest.mark.slow
def test_80x24_keeps_the_essentials(env: dict[str, str]) -> None:
    term = Terminal([OPSDECK, "--demo"], 80, 24, env)
    try:
        assert term.wait_for("Core switc"), term.text()  # the title cropped: the DUE cell names its clock
        assert term.wait_for("III:1"), term.text()  # the per-level counts, once read
        screen = term.screen.display
        assert "I:0" in screen[0] and "III:1" in screen[0]
        assert "Filter" in screen[-1] and "Quit" in screen[-1]  # the key hint line
        countdown = re.compile(r"^(I|II|III|IV|--)\S*\s+-?\d+[:hd]\d\d[mh]?\s")
        rows = [line for line in screen if countdown.match(line)]
        assert len(rows) >= 6  # every demo incident with its level and countdown
        term.send("q")
        term.read(0.5)
        term.send("q")  # the board runs the demo's worker: quitting is asked once
        assert term.exit_code() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)


@pytest.mark.slow
def test_the_app_exits_when_its_terminal_goes_away(env: dict[str, str]) -> None:
    term = Terminal([OPSDECK, "--demo"], 100, 30, env)
    assert term.wait_for("Core switch A"), term.text()
    os.close(term.master)  # the SSH connection dropped
    try:  # it stops its embedded worker and the demo first: 30 s leaves room for a loaded machine
        term.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        term.proc.send_signal(signal.SIGKILL)
        pytest.fail("opsdeck kept running after its terminal went away")


@pytest.mark.slow
def test_no_color_draws_without_colour(env: dict[str, str]) -> None:
    """NO_COLOR: severity stays readable as text (I!!! II!! III! IV), and no colour codes are sent."""
    term = Terminal([OPSDECK, "--demo"], 100, 30, {**env, "NO_COLOR": "1"})
    try:
        assert term.wait_for("Core switch A"), term.text()
        term.read(2.0)
        assert "III!" in term.text() and "II!!" in term.text()
        # Textual draws NO_COLOR in greys: every 256-colour code sent must be a grey.
        import re

        codes = {int(n) for n in re.findall(rb"[34]8;5;(\d+)", bytes(term.raw))}
        greys = set(range(232, 256)) | {0, 7, 8, 15, 16, 231}
        assert codes and codes <= greys, sorted(codes - greys)
        rgb = re.findall(rb"[34]8;2;(\d+);(\d+);(\d+)", bytes(term.raw))
        assert all(r == g == b for r, g, b in rgb)
        term.send("q")
        term.read(0.5)
        term.send("q")  # the board runs the demo's worker: quitting is asked once
        assert term.exit_code() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)


@pytest.mark.slow
def test_the_board_speaks_chinese_without_a_chinese_locale_installed(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OPSDECK_CONFIG": str(tmp_path / "none.toml"),
        "TERM": "xterm-256color",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "LANG": "zh_CN.UTF-8",  # not installed on this machine: no setlocale is needed
        "LC_ALL": "",
        "LANGUAGE": "",
    }
    env.pop("OPSDECK_LANG", None)
    term = Terminal([OPSDECK, "--demo"], 160, 48, env)
    try:
        assert term.wait_for("应急小组"), term.text()  # the roster panel
        screen = term.text()
        assert "筛选" in screen and "退出" in screen  # the key hints
        assert "级别" in screen and "标题" in screen  # the list's header
        assert "门户网站首页被篡改" in screen  # stored text, as it is
        term.send("q")
        term.read(0.5)
        term.send("q")  # the board runs the demo's worker: quitting is asked once
        assert term.exit_code() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)


CURSOR_MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")
CONTROL = re.compile(rb"\x1b\[[0-9;:?<>=]*[ -/]*[@-~]|\x1b[@-_]")  # CSI sequences, then other escapes


def _writes(output: bytes) -> list[tuple[int, int, str]]:
    """What was written after each cursor move: (line, column, the text shown), 1-based."""
    parts = CURSOR_MOVE.split(output)
    return [
        (int(parts[i]), int(parts[i + 1]), CONTROL.sub(b"", parts[i + 2]).decode("utf-8", "replace").rstrip("\r\n"))
        for i in range(1, len(parts) - 2, 3)
    ]


@pytest.mark.slow
def test_a_tick_sends_only_the_countdowns_and_the_clock(env: dict[str, str], tmp_path: Path) -> None:
    """Once a second an idle board sends the countdown cells that now read differently
    and the header's clock, nothing else: over SSH at 3 a.m. a repainted screen every
    second is a slow, flickering link. Read as a terminal gets it: where each write goes
    (the cursor moves before it) and how much it shows."""
    from datetime import UTC, datetime, timedelta

    from opsdeck.backend.service import Service
    from opsdeck.backend.timeutil import COUNTDOWN_WIDTH
    from opsdeck.tui.widgets.incident_list import COUNTDOWN_X

    from ..board_fixtures import seeded_store
    from ..conftest import FakeClock

    url = f"sqlite:///{tmp_path / 'ticks.db'}"
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10))
    store = seeded_store(url, clock)
    try:  # unclassified: a classify clock 30 minutes after each open, ~20 minutes from now
        ops = Service(store, "servers")
        for n in range(6):
            ops.open(f"Disk alarm on node {n}")
            clock.advance(seconds=7)
    finally:
        store.dispose()
    term = Terminal([OPSDECK, "--db", url, "--read-only"], 120, 30, env)
    try:
        assert term.wait_for("Disk alarm on node 5"), term.text()
        term.read(3.0)  # the first reads, panels and layout are done
        start = len(term.raw)
        term.read(4.0)
        writes = _writes(bytes(term.raw[start:]))
        rows = {y + 1 for y, line in enumerate(term.screen.display) if "Disk alarm on node" in line}
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)
    assert len(rows) == 6
    ticked = {line for line, _column, _text in writes if line in rows}
    assert ticked == rows, f"every countdown ticks: {writes}"
    for line, column, text in writes:
        if not text:
            continue  # the cursor parked, nothing drawn
        if line in rows:  # a countdown's cells, from the list's first column
            assert column == COUNTDOWN_X + 1 and len(text) <= COUNTDOWN_WIDTH, (line, column, text)
        else:  # the header's clock (the header is one widget: its chop starts at its name)
            assert line == 1 and re.fullmatch(r"\s*opsdeck\s+\d\d:\d\d:\d\d\s*", text), (line, column, text)


# Run in the pty instead of `opsdeck`: the same main(), noting which of the ORM's modules
# are loaded when the board's first page is drawn, and which of those the board imports
# later (tui/deferred.py) are not yet loaded when the change feed's thread and the
# embedded worker's start.
FIRST_PAGE_PROBE = """
import json, os, sys
import opsdeck.cli.dashboard, opsdeck.tui.feed
from opsdeck.screens.board import BoardScreen
from opsdeck.tui.deferred import DEFERRED

ORM = ("sqlmodel", "pydantic", "sqlalchemy.orm", "opsdeck.backend.models", "opsdeck.backend.store",
       "opsdeck.backend.service")

def note(what, names):
    path = os.environ["PROBE_OUT"] + "." + what
    with open(path + ".part", "w") as out:
        json.dump(sorted(names), out)
    os.replace(path + ".part", path)

drawn = BoardScreen._first_page_drawn
def first_page_drawn(self, feed):
    note("drawn", [m for m in sys.modules if m == "opsdeck.backend.board" or m.startswith(ORM)])
    drawn(self, feed)
BoardScreen._first_page_drawn = first_page_drawn

follow = opsdeck.tui.feed.follow_feed
def follow_feed(screen, seq=None):
    note("feed", [m for m in DEFERRED if m not in sys.modules])
    follow(screen, seq)
opsdeck.tui.feed.follow_feed = follow_feed

worker = opsdeck.cli.dashboard.embedded_worker
def embedded_worker(context, spool):
    run = worker(context, spool)
    def noted(stop):
        note("worker", [m for m in DEFERRED if m not in sys.modules])
        run(stop)
    return noted
opsdeck.cli.dashboard.embedded_worker = embedded_worker

from opsdeck.cli.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_the_first_page_is_drawn_before_the_orm_and_the_models_load(env: dict[str, str], tmp_path: Path) -> None:
    """The board's first rows are read on SQLAlchemy Core (backend/board_page.py):
    SQLModel, pydantic, the models, the service and the panels' reads are imported only
    once those rows are on screen (issue #26: they were most of the board's start), on
    the event loop, before the change feed's thread and the embedded worker's start
    (imported by several threads at once, Python 3.11 hands one a half-run module). The
    panels, read through the ORM, follow on their own."""
    from datetime import UTC, datetime

    from opsdeck.backend.service import Service

    from ..board_fixtures import seeded_store
    from ..conftest import FakeClock

    url = f"sqlite:///{tmp_path / 'page.db'}"
    store = seeded_store(url, FakeClock(datetime.now(UTC).replace(microsecond=0)))
    try:
        Service(store, "servers").open("Disk alarm on node 7", category="server_fault", level="III")
        Service(store, "lead").roster_duty("dns", True)  # the roster panel: dns on duty
    finally:
        store.dispose()
    noted = tmp_path / "noted"

    def note(what: str) -> list[str]:
        path = Path(f"{noted}.{what}")
        for _ in range(50):
            if path.exists():
                break
            term.read(0.1)
        return list(json.loads(path.read_text()))

    # the group lead's board: it runs the worker itself (no other holds the lease)
    argv = [sys.executable, "-c", FIRST_PAGE_PROBE, "--db", url, "--as", "lead"]
    term = Terminal(argv, 160, 40, env | {"PROBE_OUT": str(noted)})
    try:
        assert term.wait_for("Disk alarm on node 7"), term.text()
        assert note("drawn") == [], "imported before the board's first page was drawn"
        assert term.wait_for("on duty"), term.text()  # the roster panel, read through the ORM
        assert note("feed") == [], "left for the change feed's thread to import"
        assert note("worker") == [], "left for the embedded worker's thread to import"
        assert "not readable" not in term.text()
        term.send("q")
        term.read(0.5)
        term.send("q")  # the board runs the worker: quitting is asked once
        assert term.exit_code() == 0, term.text()
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)
