"""Checks of what people type to connect (lanchat.gui.dialogs), without Tk."""

from __future__ import annotations

import pytest

from lanchat.gui.dialogs import (
    ConnectRequest,
    InputProblem,
    check_nick,
    check_room,
    parse_address,
    validate_connect,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pc1", ("pc1", 6667)),
        (" 192.168.1.20:7000 ", ("192.168.1.20", 7000)),
        ("[fe80::1]:7000", ("fe80::1", 7000)),
        ("[fe80::1]", ("fe80::1", 6667)),
        ("fe80::1", ("fe80::1", 6667)),
    ],
)
def test_addresses_are_split_into_host_and_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    ("host", "port", "message"),
    [
        ("", "", "Type the host: a name like alice-laptop or an address like 192.168.1.20."),
        ("my pc", "", "Type the host"),
        ("pc", "0", "The port must be a number from 1 to 65535 (usually 6667), not “0”."),
        ("pc:http", "", "The port must be a number from 1 to 65535"),
    ],
)
def test_bad_addresses_say_what_to_type(host: str, port: str, message: str) -> None:
    with pytest.raises(InputProblem, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        validate_connect(host, port, "alice", "", "")


def test_form_is_checked_into_a_request() -> None:
    assert validate_connect("pc1", "", " alice ", "", "lobby") == ConnectRequest(
        "pc1", 6667, "alice", None, "#lobby"
    )
    request = validate_connect("fe80::1", "7000", "bob", "s3cret", "")
    assert (request.password, request.room, request.address) == ("s3cret", "", "[fe80::1]:7000")


@pytest.mark.parametrize(
    ("nick", "message"),
    [
        ("", "Type a nickname: it is how others see you."),
        ("9lives", "“9lives” cannot be a nickname"),
        ("two words", "“two words” cannot be a nickname"),
    ],
)
def test_bad_nicks_are_explained(nick: str, message: str) -> None:
    with pytest.raises(InputProblem, match="^" + message):
        check_nick(nick)


def test_room_names_get_their_hash_and_bad_ones_are_explained() -> None:
    assert check_room("games") == "#games"
    assert check_room("") == ""
    with pytest.raises(InputProblem, match="cannot be a room name"):
        check_room("a,b")
