"""`opsdeck init --system`: a store a whole group shares, found through the site config."""

from __future__ import annotations

import grp
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from opsdeck.backend import config as config_mod

from ..conftest import demo_fixture

OPSDECK = str(Path(sys.executable).with_name("opsdeck"))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """platformdirs' site config dir, moved under tmp (XDG_CONFIG_DIRS)."""
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc"))
    return tmp_path / "etc" / "opsdeck" / "config.toml"


def group() -> str:
    return grp.getgrgid(os.getgid()).gr_name


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_system_shares_the_store_with_the_group(tmp_path: Path, site: Path, cli) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "var" / "opsdeck"
    code, out, err = cli("init", "--system", "--dir", str(folder), "--group", group(), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert config_mod.site_config_path() == site
    assert data["db"] == f"sqlite:///{folder / 'opsdeck.db'}" and data["site_config"] == str(site)
    assert mode(folder) == 0o2770 and mode(folder / "spool") == 0o2770  # setgid: new files join the group
    assert mode(folder / "opsdeck.db") == 0o660
    assert (folder / "opsdeck.db").stat().st_gid == os.getgid()
    text = site.read_text()
    assert f'db = "sqlite:///{folder / "opsdeck.db"}"' in text and f'spool = "{folder / "spool"}"' in text
    assert mode(site) == 0o644

    # Another login with a strict umask writes through the site config alone: the WAL
    # files it creates stay group-writable, so the next login can write too.
    env = {
        **os.environ,
        "XDG_CONFIG_DIRS": str(tmp_path / "etc"),
        "OPSDECK_CONFIG": str(tmp_path / "nobody's.toml"),
    }
    env.pop("OPSDECK_DB", None)
    for path in folder.glob("opsdeck.db-*"):
        path.unlink()  # as if the first login had closed the store cleanly
    done = subprocess.run(
        [OPSDECK, "roster", "import", str(demo_fixture("roster.toml"))],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o077),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    wal = folder / "opsdeck.db-wal"
    if wal.exists():  # the import checkpointed it away on close otherwise
        assert mode(wal) & 0o060 == 0o060, oct(mode(wal))
    listed = subprocess.run([OPSDECK, "roster", "list", "--json"], env=env, capture_output=True, text=True, check=False)
    assert listed.returncode == 0 and "lead" in listed.stdout

    code, out, err = cli("init", "--system", "--dir", str(folder), "--group", group(), "--json")
    assert code == 0 and json.loads(out)["done"] == []  # all in place: nothing to do


def test_init_refuses_a_site_config_that_points_elsewhere(tmp_path: Path, site: Path, cli) -> None:  # type: ignore[no-untyped-def]
    site.parent.mkdir(parents=True)
    site.write_text('db = "sqlite:////srv/other/opsdeck.db"\n')
    code, _, err = cli("init", "--system", "--dir", str(tmp_path / "shared"), "--group", group())
    assert code == 2
    assert "already points elsewhere" in err and "/srv/other/opsdeck.db" in err
    assert site.read_text() == 'db = "sqlite:////srv/other/opsdeck.db"\n'  # untouched


def test_init_names_the_missing_group_and_how_to_make_it(tmp_path: Path, site: Path, cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("init", "--system", "--dir", str(tmp_path / "shared"), "--group", "no-such-group-here")
    assert code == 2
    assert "no group 'no-such-group-here'" in err and "groupadd no-such-group-here" in err
    assert not (tmp_path / "shared").exists() and not site.exists()
