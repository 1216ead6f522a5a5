"""rfc1459 / ascii case mapping and nick and room name validity."""

from __future__ import annotations

import pytest

from lanchat.protocol.casemap import (
    casefold,
    casefold_ascii,
    casefold_rfc1459,
    is_valid_channel,
    is_valid_nick,
)


def test_rfc1459_folds_brackets_backslash_and_tilde() -> None:
    assert casefold_rfc1459("Alice[]\\~") == "alice{}|^"
    assert casefold is casefold_rfc1459


def test_ascii_folds_only_letters() -> None:
    assert casefold_ascii("Alice[]") == "alice[]"


@pytest.mark.parametrize("nick", ["alice", "A", "[bot]", "x-1", "`_^{|}"])
def test_valid_nicks(nick: str) -> None:
    assert is_valid_nick(nick)


@pytest.mark.parametrize("nick", ["", "1abc", "-x", "a b", "a,b", "a!b", "a@b", "#a", ":a", "a*"])
def test_invalid_nicks(nick: str) -> None:
    assert not is_valid_nick(nick)


def test_nick_longer_than_nicklen_is_invalid() -> None:
    assert not is_valid_nick("a" * 31, nicklen=30)
    assert is_valid_nick("a" * 30, nicklen=30)


@pytest.mark.parametrize("name", ["#a", "#lobby", "#ünïcode", "#a:b"])
def test_valid_room_names(name: str) -> None:
    assert is_valid_channel(name)


@pytest.mark.parametrize("name", ["#", "lobby", "&a", "#a b", "#a,b", "#a\x07", "#" + "x" * 50])
def test_invalid_room_names(name: str) -> None:
    assert not is_valid_channel(name)
