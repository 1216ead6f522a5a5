"""Remembered nick, theme and recent servers (lanchat.gui.settings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lanchat.gui import settings
from lanchat.gui.settings import MAX_RECENT, Settings


def test_saved_settings_load_back(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "settings.json"
    s = Settings(nick="alice", theme="dark").with_recent("10.0.0.2:6667")
    assert settings.save(s, path) is None
    assert settings.load(path) == s


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert settings.load(tmp_path / "nope.json") == Settings()


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"nick": 5, "theme": "pink"}'])
def test_malformed_file_gives_defaults(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    assert settings.load(path) == Settings()


def test_recent_servers_are_newest_first_without_repeats() -> None:
    s = Settings()
    for i in range(MAX_RECENT + 3):
        s = s.with_recent(f"h{i}:1")
    s = s.with_recent("h5:1")
    assert s.recent[0] == "h5:1"
    assert len(s.recent) == MAX_RECENT
    assert s.recent.count("h5:1") == 1


def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings.save(Settings(nick="a"), path)
    settings.save(Settings(nick="b"), path)
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]
    assert json.loads(path.read_text())["nick"] == "b"


def test_unwritable_location_is_reported_in_plain_words(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    problem = settings.save(Settings(), blocker / "settings.json")
    assert problem is not None
    assert problem.startswith("Could not save your settings")


def test_default_path_follows_xdg_config_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert settings.default_path() == tmp_path / "lanchat" / "settings.json"


def test_default_nick_is_a_valid_irc_nick() -> None:
    from lanchat.protocol import is_valid_nick

    assert is_valid_nick(Settings().nick)
