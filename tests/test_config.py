"""Configuration: defaults, TOML file, command-line overrides, one-line errors."""

import dataclasses
import platform
import re
from pathlib import Path

import pytest

from lanchat import config
from lanchat.errors import ConfigError
from lanchat.server import modes

SAMPLE = Path(__file__).resolve().parents[1] / "docs" / "lanchat.example.toml"


def test_defaults_listen_on_6667_with_lobby(tmp_path: Path) -> None:
    cfg = config.load(overrides={"store": {"data_dir": str(tmp_path)}})
    assert cfg.server.port == 6667
    assert cfg.server.host == "0.0.0.0"
    assert cfg.server.rooms == ("#lobby",)
    assert cfg.store.db_path == tmp_path / "history.sqlite3"
    assert cfg.discovery.enabled


def test_default_server_name_is_this_machines_name() -> None:
    # Not a fixed "lanchat.local", which looks like an mDNS host name but names no machine.
    name = config.load().server.name
    host = platform.node()
    assert name == (host if "." in host else f"{host}.local")


def test_default_data_dir_is_per_user() -> None:
    assert "lanchat" in str(config.default_data_dir())


def test_toml_file_is_read_and_flags_override_it(tmp_path: Path) -> None:
    f = tmp_path / "lanchat.toml"
    f.write_text(
        '[server]\nport = 7000\nrooms = ["#a", "#b"]\npassword = "pw"\n'
        "[flood]\nenabled = false\n[limits]\nping_timeout_s = 5\n"
    )
    cfg = config.load(f, {"server": {"port": 7001, "host": None}})
    assert cfg.server.port == 7001
    assert cfg.server.rooms == ("#a", "#b")
    assert cfg.server.password == "pw"
    assert cfg.flood.enabled is False
    assert cfg.limits.ping_timeout_s == 5.0


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ("[server]\nport = 70000\n", "port must be between 0 and 65535"),
        ("[server]\nport = 'x'\n", "port must be a whole number"),
        ("[web]\nport = -1\n", "[web] port must be between 0 and 65535"),
        ("[server]\nport = 7000\n[web]\nport = 7000\n", "[web] port 7000 is also the IRC port"),
        ("[web]\nhost = 'x'\n", "unknown setting [web] host"),
        ("[server]\nrooms = ['lobby']\n", "must start with #"),
        ("[server]\nbogus = 1\n", "unknown setting [server] bogus"),
        ("[nope]\n", "unknown config section [nope]"),
        ("[limits]\nmax_line_bytes = 100\n", "at least 512"),
        ("[flood]\nenabled = 'yes'\n", "must be true or false"),
        ("[flood]\nhistory_lines_per_flood_line = 0\n", "must be positive, not 0"),
        ("[limits]\nmax_unregistered_connections = 0\n", "must be positive, not 0"),
        ("[limits]\nauth_failure_window_s = 0\n", "must be positive, not 0.0"),
        ("[server\n", "not valid TOML"),
        ("[server]\nkey = 'open sesame'\n", "key must be at most 23 characters, without spaces"),
        ("[server]\nkey = 'a,b'\n", "key must be at most 23 characters, without spaces"),
        ("[server]\nkey = ':colon'\n", "key must be at most 23 characters, without spaces"),
        ("[server]\nkey = '" + "k" * 24 + "'\n", "key must be at most 23 characters"),
        ("[opers]\nhost = 'hunter2'\n", "[opers] host must be a password hash; make one with"),
        ("[opers]\nhost = 3\n", "[opers] host must be a password hash"),
        ("opers = 'x'\n", "[opers] must be a table"),
        ("[accounts]\nnick_grace_s = 0\n", "[accounts] nick_grace_s must be positive"),
        ("[tls]\nport = 70000\n", "[tls] port must be between 0 and 65535"),
        ("[tls]\nport = 6667\n", "plain TCP and TLS cannot share port 6667"),
        ("[tls]\nport = 8080\n", "the web page and TLS cannot share port 8080"),
        ("[tls]\ncert = 'c.pem'\n", "--cert and --cert-key go together"),
        ("[tls]\nhandshake_timeout_s = 0\n", "handshake_timeout_s must be positive"),
        ("[tls]\nenabled = false\nplain = false\n", "--no-plain needs TLS"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, toml: str, fragment: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(toml)
    with pytest.raises(ConfigError) as e:
        config.load(f)
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)


def test_config_file_that_is_not_utf8_is_one_clear_line(tmp_path: Path) -> None:
    f = tmp_path / "latin1.toml"
    f.write_bytes('[server]\nmotd = ["Café"]\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as e:
        config.load(f)
    assert str(e.value) == (
        f"config file {f} is not UTF-8 text (byte 22 cannot be read); save it as UTF-8"
    )


def test_room_key_is_read_from_the_file_and_the_flag_overrides_it(tmp_path: Path) -> None:
    f = tmp_path / "lanchat.toml"
    f.write_text('[server]\nkey = "' + "k" * 23 + '"\n')
    assert config.load(f).server.key == "k" * 23
    assert config.load(f, {"server": {"key": "sesame"}}).server.key == "sesame"
    assert config.load().server.key == ""


def test_room_key_limit_matches_what_the_server_keeps() -> None:
    assert config.MAX_KEY_CHARS == modes.MAX_KEY_CHARS


def test_missing_config_file_says_check_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; check the --config path"):
        config.load(tmp_path / "missing.toml")


def test_opers_map_names_to_hashes(tmp_path: Path) -> None:
    hashed = "scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="
    f = tmp_path / "opers.toml"
    f.write_text(f'[opers]\nzoe = "{hashed}"\nhost = "{hashed}"\n')
    assert config.load(f).opers == (("host", hashed), ("zoe", hashed))


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = config.load(overrides={"store": {"data_dir": str(tmp_path)}})
    with pytest.raises(AttributeError):
        cfg.server.port = 1  # type: ignore[misc]


def test_sample_config_loads_and_equals_the_defaults() -> None:
    assert config.load(SAMPLE) == config.load()


def test_sample_config_shows_every_setting() -> None:
    shown = set(re.findall(r"^(?:# )?(\w+) = ", SAMPLE.read_text(), flags=re.MULTILINE))
    for section in dataclasses.fields(config.Config):
        part = getattr(config.Config(), section.name)
        if not dataclasses.is_dataclass(part):
            assert f"[{section.name}]" in SAMPLE.read_text()  # [opers]: a table of names
            continue
        for setting in dataclasses.fields(part):
            assert setting.name in shown, f"[{section.name}] {setting.name}"


def test_web_section_is_read_and_on_at_8080_by_default(tmp_path: Path) -> None:
    path = tmp_path / "lanchat.toml"
    path.write_text("[web]\nenabled = false\nport = 8081\n")
    assert config.load(path).web == config.Web(enabled=False, port=8081)
    assert config.load(None).web == config.Web(enabled=True, port=8080)
    flags = {"web": {"port": 0, "enabled": None}}
    assert config.load(path, flags).web == config.Web(enabled=False, port=0)


def test_files_section_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "lanchat.toml"
    path.write_text("[files]\nmax_file_bytes = 1000\nexpire_after_days = 0.5\n")
    files = config.load(path).files
    assert (files.max_file_bytes, files.expire_after_days, files.enabled) == (1000, 0.5, True)
    assert config.load(path, {"files": {"enabled": False}}).files.enabled is False
    path.write_text("[files]\nquota_bytes = 0\n")
    with pytest.raises(ConfigError, match=r"^\[files\] quota_bytes must be positive, not 0$"):
        config.load(path)
