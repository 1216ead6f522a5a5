"""Tests of the client's line helpers (lanchat.client.wire): sender, server-time and the
CHATHISTORY timestamp, as plain function calls.
"""

from __future__ import annotations

from lanchat.client.wire import format_time, optional, sender, time_ms
from lanchat.protocol import Hostmask, parse
from tests.client.transcript import NOW_S


def clock() -> float:
    return NOW_S


def test_server_time_tag_is_read_in_unix_ms() -> None:
    msg = parse("@time=2023-11-14T22:13:20.250Z :bob!bob@192.168.1.20 PRIVMSG #lobby :hi")
    assert time_ms(msg, clock) == 1_700_000_000_250


def test_server_time_without_a_zone_is_utc() -> None:
    msg = parse("@time=2023-11-14T22:13:20.250 :bob!bob@192.168.1.20 PRIVMSG #lobby :hi")
    assert time_ms(msg, clock) == 1_700_000_000_250


def test_malformed_server_time_falls_back_to_the_clock() -> None:
    msg = parse("@time=yesterday :bob!bob@192.168.1.20 PRIVMSG #lobby :hi")
    assert time_ms(msg, clock) == int(NOW_S * 1000)


def test_format_time_names_the_exact_millisecond() -> None:
    assert format_time(1_700_000_000_250) == "2023-11-14T22:13:20.250Z"
    assert format_time(1) == "1970-01-01T00:00:00.001Z"


def test_sender_splits_a_user_source_and_keeps_a_server_name() -> None:
    assert sender(parse(":bob!bob@192.168.1.20 PING x")) == Hostmask("bob", "bob", "192.168.1.20")
    assert sender(parse(":srv.lan PING x")).nick == "srv.lan"
    assert sender(parse("PING x")) == Hostmask("", "", "")


def test_empty_trailing_parameter_is_left_out() -> None:
    assert optional("") == ()
    assert optional("k3y") == ("k3y",)
