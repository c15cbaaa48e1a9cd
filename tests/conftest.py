"""Shared fixtures: real stores (a SQLite file in WAL; PostgreSQL when asked), an
injectable clock, services acting as the demo roster's logins, and the CLI in-process.

PostgreSQL: set OPSDECK_TEST_PG (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
and the store-level tests marked `postgres` run against it too, each in a schema of its
own that is dropped afterwards. CI also sets OPSDECK_REQUIRE_PG=1, so a missing server
fails instead of skipping.
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import as_file, files
from pathlib import Path

import pytest

# The machine's locale must not change what tests read: English unless a test asks.
os.environ["OPSDECK_LANG"] = "en"
# Nor the size of the terminal pytest runs in: pytest-xdist's workers carry COLUMNS=80
# and LINES=24, which every opsdeck process a test starts (and Textual, in a pty) would
# take over the real size. A test that wants a width sets it.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

from opsdeck.backend.schema import SEED_ACTOR, open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from . import os_users as os_users_mod

PG_URL = os.environ.get("OPSDECK_TEST_PG", "")
REQUIRE_PG = os.environ.get("OPSDECK_REQUIRE_PG") == "1"
T0 = datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


def demo_fixture(name: str) -> Path:
    with as_file(files("opsdeck.fixtures").joinpath("demo", name)) as path:
        return Path(path)


def _pg_available() -> str | None:
    """None if PostgreSQL answers, else why not."""
    if not PG_URL:
        return "PostgreSQL suites need OPSDECK_TEST_PG=postgresql+psycopg://postgres@127.0.0.1:5432/test"
    try:
        import psycopg

        with psycopg.connect(_libpq(PG_URL), connect_timeout=3):
            return None
    except Exception as error:  # pragma: no cover - depends on the machine
        return f"PostgreSQL at {PG_URL} is not reachable: {error}"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def pg_reason() -> str | None:
    reason = _pg_available()
    if reason and REQUIRE_PG:
        pytest.fail(f"OPSDECK_REQUIRE_PG=1 but {reason}")
    return reason


@pytest.fixture
def pg_url(pg_reason: str | None) -> Iterator[str]:
    """A fresh schema on the PostgreSQL server, dropped afterwards."""
    if pg_reason:
        pytest.skip(pg_reason)
    import psycopg

    schema = f"opsdeck_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'opsdeck.db'}"


ROLES = "postgresql-roles"
# OPSDECK_TEST_PG_ROLES=all: every test on `store_url` runs with database roles on too,
# not only the modules marked `pg_roles` (what CI runs: a representative set, see below).
ROLES_EVERYWHERE = os.environ.get("OPSDECK_TEST_PG_ROLES") == "all"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param(ROLES, marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test on a SQLite file, again on PostgreSQL, and (modules marked `pg_roles`)
    on PostgreSQL with database roles on, each write as its actor's role
    (tests/pg_roles_mode.py). `store_url` itself is the superuser's URL in both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'opsdeck.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The roles variant runs for modules marked `pg_roles` (or everywhere, on request):
    the others are deselected, not skipped.

    The tests with real OS users share those users (and set their groups), so under
    pytest-xdist they all run in one process, one after another (`--dist loadgroup`)."""
    for item in items:
        if "os_users" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("os_users"))
    if ROLES_EVERYWHERE:
        return
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if (
            callspec is not None
            and callspec.params.get("store_url") == ROLES
            and item.get_closest_marker("pg_roles") is None
        ):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _with_roles(request: pytest.FixtureRequest) -> bool:
    callspec = getattr(request.node, "callspec", None)
    return callspec is not None and callspec.params.get("store_url") == ROLES


@pytest.fixture(scope="session")
def pg_role_set(pg_reason: str | None) -> Iterator[object]:
    """This test process's database roles on the shared server, dropped at the end."""
    if pg_reason:
        pytest.skip(pg_reason)
    from . import pg_roles_mode

    with pg_roles_mode.session_roles(_libpq(PG_URL)) as roles:
        yield roles


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(request: pytest.FixtureRequest, store_url: str, clock: FakeClock) -> Iterator[Store]:
    if _with_roles(request):
        from . import pg_roles_mode

        s: Store = pg_roles_mode.open_with_roles(store_url, clock, request.getfixturevalue("pg_role_set"), open_store)
    else:
        s = open_store(store_url, clock=clock)
    yield s
    s.dispose()


@pytest.fixture
def url_as(request: pytest.FixtureRequest, store_url: str) -> Callable[[str], str]:
    """`url_as("servers")`: the URL a process acting as that login connects with: its
    database role's in the roles variant, else `store_url`."""
    if not _with_roles(request):
        return lambda login: store_url
    from . import pg_roles_mode

    role_store = request.getfixturevalue("store")
    assert isinstance(role_store, pg_roles_mode.RoleStore)
    return role_store.url_as


@pytest.fixture
def seeded(store: Store) -> Store:
    """The demo roster, contacts and systems (no incidents)."""
    Service(store, SEED_ACTOR).import_records("roster", demo_fixture("roster.toml"))
    Service(store, "lead").import_records("contacts", demo_fixture("contacts.toml"))
    Service(store, "lead").import_records("systems", demo_fixture("systems.toml"))
    allow_as_on_postgresql(store)
    return store


def allow_as_on_postgresql(store: Store) -> None:
    """Tests run the CLI `--as` the demo logins. A SQLite store in the test's own folder is
    this login's alone, so `--as` works there; a PostgreSQL store needs its setting on."""
    if store.dialect == "postgresql":
        Service(store, "lead").set_allow_as(True)


@pytest.fixture
def as_(seeded: Store) -> Callable[[str], Service]:
    """`as_("servers").ack(1)`: act as a demo login."""
    return lambda login: Service(seeded, login)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run `opsdeck ARGS` in-process: returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("OPSDECK_CONFIG", str(tmp_path / "no-user-config.toml"))
    monkeypatch.setenv("OPSDECK_TIMEZONE", "UTC")

    def run(*args: str) -> tuple[int, str, str]:
        from opsdeck.cli.__main__ import main

        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def in_chinese() -> Iterator[None]:
    """Text looked up when drawn or raised (not key bindings, whose descriptions are
    fixed at import) follows a switch of language around the test. Every screen is
    imported first, in English: one imported in Chinese keeps Chinese key hints for
    the rest of the session."""
    import importlib
    import pkgutil

    import opsdeck.screens
    import opsdeck.tui.widgets
    from opsdeck.backend import i18n

    for package in (opsdeck.screens, opsdeck.tui.widgets):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    importlib.import_module("opsdeck.tui.app")
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


@pytest.fixture(autouse=True)
def _english_again() -> Iterator[None]:
    """A test that ran the CLI in Chinese leaves the next one in English."""
    yield
    from opsdeck.backend import i18n

    i18n.set_language("en")


@pytest.fixture(autouse=True)
def _umask_again() -> Iterator[None]:
    """A test that opened a store in a setgid (group-shared) folder leaves the next one
    the umask it had: opening one clears the process's group bits for good
    (`engines.share_with_group`), and the stores later tests made in that process were
    group-writable, which `--as` rightly refused (not the caller's alone)."""
    mask = os.umask(0o022)
    os.umask(mask)
    yield
    os.umask(mask)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """After each test (its fixtures torn down): collect what it left, then freeze the rest.

    The garbage collector's full collections walk every object the process holds and
    close what they collect (engines, connections, apps). Left to strike anywhere in one
    process running the whole suite, they grew with it: 0.3 s at the 150th test, 2 s at
    the 700th, 4.8 and 12 s by the 1,150th (measured with a watchdog on every PostgreSQL
    write). Twice in CI one landed inside a test's write and held it idle past the
    server's hung-writer limit (5 s: backend/engines.py), which ended the write and failed
    the test. Collected here, between tests, what a test left is closed where no test
    runs; frozen, the heap of earlier tests is walked no more, as `opsdeck worker` and the
    board freeze theirs (cli/runtime.py, tui/heap.py)."""
    result = yield
    gc.collect()
    gc.freeze()
    return result


def pytest_sessionstart(session: pytest.Session) -> None:
    """The session runs the collector (above): a board run in this process must not
    unfreeze the heap when it ends (tui/heap.py), or the next collection walks it all;
    and `main()` run in this process must not freeze a test's garbage (cli/collector.py)."""
    from opsdeck.cli import collector
    from opsdeck.tui import heap

    heap.leave_to_caller()
    collector.leave_to_caller()


def pytest_report_header(config: pytest.Config) -> list[str]:
    reason = _pg_available()
    root = os_users_mod.unavailable()
    return [
        "PostgreSQL suites: " + ("run against " + PG_URL if reason is None else f"SKIPPED ({reason})"),
        "Second-OS-user suites: " + ("run" if root is None else f"SKIPPED ({root})"),
    ]


@pytest.fixture(scope="session")
def _os_users_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = os_users_mod.unavailable()
    if reason:
        if os_users_mod.REQUIRE:
            pytest.fail(f"OPSDECK_REQUIRE_ROOT_TESTS=1 but {reason}")
        pytest.skip(reason)
    return os_users_mod.build_venv(tmp_path_factory.mktemp("os-users"))


@pytest.fixture
def os_users(_os_users_venv: Path) -> Iterator[os_users_mod.OSUsers]:
    """Real second OS users running a real install of opsdeck (root only; see tests/os_users.py)."""
    users = os_users_mod.OSUsers(_os_users_venv, os_users_mod.BASE / "run")
    yield users
    users.cleanup()
