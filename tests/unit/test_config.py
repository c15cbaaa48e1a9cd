"""Configuration: flag > environment > user file > site file > default, and every
refusal names the file (or variable), the key and the fix."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsdeck.backend import config
from opsdeck.backend.errors import ErrorKind, InvalidInput

PG_WITH_PASSWORD = "postgresql+psycopg://ops:s3cret@db.example/opsdeck"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "site" / "config.toml"
    path.parent.mkdir()
    monkeypatch.setattr(config, "site_config_path", lambda: path)
    return path


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "user" / "config.toml"
    path.parent.mkdir()
    monkeypatch.setenv("OPSDECK_CONFIG", str(path))
    return path


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def refused(**kwargs) -> InvalidInput:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as info:
        config.load(**kwargs)
    assert info.value.kind is ErrorKind.INVALID
    return info.value


# -- precedence ---------------------------------------------------------------------------


def test_without_files_env_or_flags_the_defaults_hold(site: Path, user: Path) -> None:
    loaded = config.load(environ={})
    assert loaded.db == config.default_db_url()
    assert loaded.db.startswith("sqlite:///") and loaded.db.endswith("opsdeck.db")
    assert (loaded.timezone, loaded.allow_as, loaded.language, loaded.sources) == (None, False, None, ())


def test_site_file_overrides_the_default(site: Path, user: Path) -> None:
    write(site, 'timezone = "Asia/Shanghai"\nallow_as = true\n')
    loaded = config.load(environ={})
    assert (loaded.timezone, loaded.allow_as) == ("Asia/Shanghai", True)
    assert loaded.sources == (str(site),)


def test_user_file_overrides_the_site_file_key_by_key(site: Path, user: Path) -> None:
    write(site, 'timezone = "Asia/Shanghai"\nlanguage = "zh"\n')
    write(user, 'timezone = "Europe/Berlin"\n')
    loaded = config.load(environ={})
    assert loaded.timezone == "Europe/Berlin"
    assert loaded.language == "zh"
    assert loaded.sources == (str(site), str(user))


def test_environment_overrides_the_user_file(site: Path, user: Path) -> None:
    write(user, 'timezone = "Europe/Berlin"\ndb = "sqlite:////srv/user.db"\n')
    loaded = config.load(environ={"OPSDECK_TIMEZONE": "UTC", "OPSDECK_DB": "sqlite:////srv/env.db"})
    assert (loaded.timezone, loaded.db) == ("UTC", "sqlite:////srv/env.db")


def test_flag_overrides_the_environment(site: Path, user: Path) -> None:
    loaded = config.load(
        flags={"db": "sqlite:////srv/flag.db", "allow_as": False},
        environ={"OPSDECK_DB": "sqlite:////srv/env.db", "OPSDECK_ALLOW_AS": "1"},
    )
    assert (loaded.db, loaded.allow_as) == ("sqlite:////srv/flag.db", False)


def test_a_flag_left_out_does_not_override(site: Path, user: Path) -> None:
    loaded = config.load(flags={"db": None, "timezone": None}, environ={"OPSDECK_TIMEZONE": "Asia/Tokyo"})
    assert loaded.timezone == "Asia/Tokyo"
    assert loaded.db == config.default_db_url()


def test_environment_reads_yes_and_no_words(site: Path, user: Path) -> None:
    assert config.load(environ={"OPSDECK_ALLOW_AS": "yes"}).allow_as is True
    assert config.load(environ={"OPSDECK_ALLOW_AS": "off"}).allow_as is False


def test_the_board_bell_is_off_unless_asked(site: Path, user: Path) -> None:
    assert config.load(environ={}).board_bell is False
    assert config.load(environ={"OPSDECK_BOARD_BELL": "1"}).board_bell is True
    write(user, "board_bell = true\n")
    assert config.load(environ={}).board_bell is True


def test_user_file_path_comes_from_opsdeck_config(user: Path) -> None:
    assert config.user_config_path() == user


def test_user_file_path_defaults_to_the_platform_config_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSDECK_CONFIG", raising=False)
    assert config.user_config_path().parts[-2:] == ("opsdeck", "config.toml")


def test_zone_is_the_named_iana_zone(site: Path, user: Path) -> None:
    assert config.load(environ={"OPSDECK_TIMEZONE": "Asia/Shanghai"}).zone() == ZoneInfo("Asia/Shanghai")


# -- refusals name the file, the key and the fix ------------------------------------------


def test_unknown_key_names_the_file_the_key_and_the_known_keys(site: Path, user: Path) -> None:
    write(user, 'colour = "red"\n')
    error = refused(environ={})
    assert error.code == "config_key"
    assert f"{user}: unknown key 'colour'" in str(error)
    assert (
        "use one of allow_as, ascii, bell, board_bell, db, keep_done, keep_results, keymap, language, notify_dead_after, receive, spool, "
        "spool_encoding, spool_group, theme, timezone" in str(error)
    )
    assert error.params == {"file": str(user), "key": "colour"}


def test_unknown_key_in_the_site_file_names_the_site_file(site: Path, user: Path) -> None:
    write(site, 'colour_scheme = "dark"\n')
    error = refused(environ={})
    assert f"{site}: unknown key 'colour_scheme'" in str(error)


def test_sources_is_not_a_settable_key(site: Path, user: Path) -> None:
    write(user, 'sources = ["x"]\n')
    assert "unknown key 'sources'" in str(refused(environ={}))


def test_bad_toml_names_the_file_and_the_fix(site: Path, user: Path) -> None:
    write(user, 'timezone = "UTC\n')
    error = refused(environ={})
    assert error.code == "config_syntax"
    assert str(error).startswith(f"{user}: not valid TOML")
    assert "fix the syntax at that line" in str(error)


def test_file_that_is_not_utf8_is_refused_naming_it(site: Path, user: Path) -> None:
    user.write_bytes('language = "中文"\n'.encode("gbk"))
    error = refused(environ={})
    assert str(error).startswith(f"{user}: not valid TOML")


def test_unreadable_config_names_the_path(site: Path, user: Path) -> None:
    user.mkdir()  # a folder where the file should be
    error = refused(environ={})
    assert error.code == "config_unreadable"
    assert str(error).startswith(f"{user}:")
    assert "fix its permissions or remove it" in str(error)


def test_bad_bool_in_a_file_names_the_file_and_key(site: Path, user: Path) -> None:
    write(user, 'allow_as = "maybe"\n')
    error = refused(environ={})
    assert f"{user}: key 'allow_as': 'maybe' is not true or false" in str(error)
    assert "write true or false (or 1/0)" in str(error)


def test_bad_bool_in_the_environment_names_the_variable(site: Path, user: Path) -> None:
    error = refused(environ={"OPSDECK_ALLOW_AS": "perhaps"})
    assert "environment variable OPSDECK_ALLOW_AS: 'perhaps' is not true or false" in str(error)


def test_bad_bool_flag_names_the_option(site: Path, user: Path) -> None:
    error = refused(flags={"allow_as": "sometimes"}, environ={})
    assert "option --allow-as: 'sometimes' is not true or false" in str(error)


def test_text_key_given_a_number_says_to_quote_it(site: Path, user: Path) -> None:
    write(user, "timezone = 8\n")
    error = refused(environ={})
    assert f"{user}: key 'timezone': must be text" in str(error)
    assert 'write timezone = "..."' in str(error)


def test_empty_database_url_in_the_environment_is_refused(site: Path, user: Path) -> None:
    error = refused(environ={"OPSDECK_DB": "  "})
    assert "environment variable OPSDECK_DB: empty database URL" in str(error)
    assert "give a URL or remove the setting" in str(error)


def test_bad_timezone_says_to_use_an_iana_name(site: Path, user: Path) -> None:
    error = refused(environ={"OPSDECK_TIMEZONE": "Mars/Olympus"})
    assert error.code == "config_timezone"
    assert "'Mars/Olympus'" in str(error)
    assert "IANA name like Asia/Shanghai" in str(error)


def test_bad_timezone_in_a_file_names_the_file_and_key(site: Path, user: Path) -> None:
    write(user, 'timezone = "Mars/Olympus"\n')
    error = refused(environ={})
    assert str(user) in str(error)
    assert "timezone" in str(error)


def test_bad_timezone_in_the_environment_names_the_variable(site: Path, user: Path) -> None:
    error = refused(environ={"OPSDECK_TIMEZONE": "Mars/Olympus"})
    assert "OPSDECK_TIMEZONE" in str(error)


def test_unsupported_database_url_in_a_file_names_the_file_and_key(site: Path, user: Path) -> None:
    write(user, 'db = "mysql://ops@db.example/opsdeck"\n')
    error = refused(environ={})
    assert "mysql is not supported" in str(error)
    assert f"{user}: key 'db'" in str(error)


# -- a password in a config file needs a private file --------------------------------------


def test_password_in_a_world_readable_file_is_refused_with_chmod_600(site: Path, user: Path) -> None:
    write(user, f'db = "{PG_WITH_PASSWORD}"\n', mode=0o644)
    error = refused(environ={})
    assert error.code == "config_not_private"
    assert f"{user} holds a database password but others can read it (mode 0o644)" in str(error)
    assert f"run: chmod 600 {user}" in str(error)


def test_password_in_a_group_readable_file_is_refused(site: Path, user: Path) -> None:
    write(user, f'db = "{PG_WITH_PASSWORD}"\n', mode=0o640)
    assert f"chmod 600 {user}" in str(refused(environ={}))


def test_password_in_the_site_file_is_held_to_the_same_rule(site: Path, user: Path) -> None:
    write(site, f'db = "{PG_WITH_PASSWORD}"\n', mode=0o644)
    assert f"chmod 600 {site}" in str(refused(environ={}))


def test_password_in_a_0600_file_is_accepted(site: Path, user: Path) -> None:
    write(user, f'db = "{PG_WITH_PASSWORD}"\n', mode=0o600)
    assert config.load(environ={}).db == PG_WITH_PASSWORD


def test_url_without_a_password_may_sit_in_a_readable_file(site: Path, user: Path) -> None:
    write(user, 'db = "postgresql+psycopg://ops@db.example/opsdeck"\n', mode=0o644)
    assert config.load(environ={}).db == "postgresql+psycopg://ops@db.example/opsdeck"


def test_password_given_as_a_url_parameter_also_needs_a_private_file(site: Path, user: Path) -> None:
    # libpq and psycopg take `?password=` as the password just the same.
    write(user, 'db = "postgresql+psycopg://ops@db.example/opsdeck?password=s3cret"\n', mode=0o644)
    assert "chmod 600" in str(refused(environ={}))


# -- refuse_password_flag -------------------------------------------------------------------


def test_password_on_the_command_line_is_refused_with_the_alternatives() -> None:
    with pytest.raises(InvalidInput) as info:
        config.refuse_password_flag(PG_WITH_PASSWORD)
    assert info.value.code == "password_on_command_line"
    assert "visible to every user in ps" in str(info.value)
    assert "OPSDECK_DB" in str(info.value) and "PGPASSFILE" in str(info.value)
    assert "s3cret" not in str(info.value)


def test_url_without_a_password_may_be_a_flag() -> None:
    assert config.refuse_password_flag("postgresql+psycopg://ops@db.example/opsdeck") is None
    assert config.refuse_password_flag("sqlite:////var/lib/opsdeck/opsdeck.db") is None


def test_password_as_a_url_parameter_on_the_command_line_is_refused() -> None:
    with pytest.raises(InvalidInput):
        config.refuse_password_flag("postgresql+psycopg://ops@db.example/opsdeck?password=s3cret")
