"""The CLI under generated arguments (hypothesis): every command, with the options its
parser declares, fed huge numbers, odd dates, invalid UTF-8, NaN, control characters
and the like, in a sandbox (its own HOME, XDG folders, config, store and spool; no
`init --system`; commands that run forever only in a subprocess with a timeout).
Whatever comes in: an exit code in 0-5, never a traceback or an internal error."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service
from opsdeck.cli.__main__ import main
from opsdeck.cli.parser import build_parser

from ..conftest import demo_fixture

FOREVER = {("worker",), ("receive",), ("wall",), ("serve",)}  # run until stopped
NEVER = {("init",)}  # changes the host (/etc, groups): not in a sandbox
NOT_GENERATED = {"--db", "--debug", "-h", "--help"}  # the sandbox's store; a traceback on purpose; help
PATHS = {"dest", "output", "file", "source", "spool", "keymap", "dir", "path", "templates"}
LOGINS = ["lead", "web", "servers", "nobody", "", "system:worker@x"]

NASTY = st.one_of(
    st.sampled_from(
        [
            "99999999999999999999999",
            "-99999999999999999999999",
            "9223372036854775808",
            "0",
            "-1",
            "1",
            "#1",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e308",
            "1e-320",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+23:59",
            "2026-02-30T25:61:61Z",
            "-99999999w",
            "+1000000000d",
            "-15m",
            "2026-11-28T03:10:00Z",
            "",
            " ",
            "\x1b]52;c;SGVsbG8=\x07",
            "\x9b31m",
            "\u202etxt.exe",
            "a\x00b",
            "line\nbreak",
            "I",
            "IV",
            "network_fault",
            "escalate",
            "leadership_informed",
            "phone",
        ]
    ),
    st.text(max_size=40),
    st.binary(max_size=20).map(lambda b: b.decode("utf-8", "surrogateescape")),  # invalid UTF-8, as argv
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
SANDBOX_PATH = st.sampled_from(["out.json", "backup.db", "missing.toml", "sub/new.txt", "roster.toml", "spool"])


def leaves(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield words, parser
        return
    for name, sub in subs[0].choices.items():
        yield from leaves(sub, (*words, name))


PARSER = build_parser(whole=True)
LEAVES = {words: leaf for words, leaf in leaves(PARSER) if words[:1] and (words[0],) not in NEVER}


def value_for(action: argparse.Action) -> st.SearchStrategy[str]:
    if action.dest in PATHS:
        return SANDBOX_PATH
    if action.dest in ("as_login", "login", "owner", "to"):
        return st.one_of(st.sampled_from(LOGINS), NASTY)
    if action.choices:
        return st.one_of(st.sampled_from([str(c) for c in action.choices]), NASTY)
    return NASTY


@st.composite
def command_lines(draw: st.DrawFn, forever: bool) -> list[str]:
    words = draw(
        st.sampled_from(
            sorted(w for w in LEAVES if (w[0],) in FOREVER)
            if forever
            else sorted(w for w in LEAVES if (w[0],) not in FOREVER)
        )
    )
    leaf = LEAVES[words]
    argv = list(words)
    for action in leaf._actions:
        if not action.option_strings:
            if action.dest != "help" and draw(st.integers(0, 9)) > 0:  # now and then, missing
                argv.append(draw(value_for(action)))
            continue
        if set(action.option_strings) & NOT_GENERATED or not draw(st.booleans()):
            continue
        option = action.option_strings[-1]
        if action.nargs == 0:
            argv.append(option)
        else:
            argv += [option, draw(value_for(action))]
    if words == ("ingest",) and not forever:
        argv.append("--once")  # without it, ingest is the worker
    return argv


@pytest.fixture(scope="module")
def sandbox() -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="opsdeck-property-") as folder:
        root = Path(folder)
        env = {
            "HOME": str(root / "home"),
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_DATA_HOME": str(root / "data"),
            "XDG_STATE_HOME": str(root / "state"),
            "XDG_CACHE_HOME": str(root / "cache"),
            "OPSDECK_CONFIG": str(root / "config" / "none.toml"),
            "OPSDECK_DB": f"sqlite:///{root / 'store' / 'opsdeck.db'}",
            "OPSDECK_SPOOL": str(root / "spool"),
            "OPSDECK_ALLOW_AS": "1",
            "OPSDECK_TIMEZONE": "UTC",
            "OPSDECK_LANG": "en",
            "EDITOR": "true",
            "VISUAL": "true",
            "SANDBOX": str(root),
        }
        store = open_store(env["OPSDECK_DB"])
        Service(store, "lead").import_records("roster", demo_fixture("roster.toml"))
        Service(store, "servers").open("core switch down", category="network_fault", level="IV")
        store.dispose()
        (root / "roster.toml").write_bytes(demo_fixture("roster.toml").read_bytes())
        yield env


def run_in_process(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse: usage errors (2) and --help (0)
            code = exit_.code if isinstance(exit_.code, int) else 2
    return code, err.getvalue()


@settings(
    max_examples=int(os.environ.get("OPSDECK_PROPERTY_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(argv=command_lines(forever=False))
def test_no_command_line_gives_an_internal_error(
    argv: list[str], sandbox: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        for key, value in sandbox.items():
            patched.setenv(key, value)
        patched.chdir(sandbox["SANDBOX"])
        patched.setattr(sys, "stdin", io.StringIO(""))
        code, err = run_in_process(argv)
    assert 0 <= code <= 5, (argv, code, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=command_lines(forever=True))
def test_commands_that_run_forever_refuse_or_run_cleanly(argv: list[str], sandbox: dict[str, str]) -> None:
    """In a subprocess, stopped after 4 s if it is still running: by then it has
    refused its arguments (0-5, one line) or is running without a traceback."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPSDECK_", "XDG_"))}, **sandbox}
    opsdeck = str(Path(sys.executable).with_name("opsdeck"))
    argv = [arg.replace("\0", "") for arg in argv]  # no argv can hold a NUL byte
    proc = subprocess.Popen(
        [opsdeck, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=sandbox["SANDBOX"],
        text=True,
        errors="replace",
    )
    try:
        _out, err = proc.communicate(timeout=4)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate()
        assert "Traceback" not in err and "internal error" not in err, (argv, err)
        return
    assert 0 <= proc.returncode <= 5, (argv, proc.returncode, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
