"""Server operators by transcript: OPER, KILL, WALLOPS, +o/+w, WHO/WHOIS, overrides, CLEARCHAN."""

from __future__ import annotations

import dataclasses

import pytest

from lanchat.passwords import hash_password
from lanchat.server.effects import Persist
from lanchat.store.records import RoomRecord
from tests.server.transcript import (
    CHEAP_SCRYPT,
    Conn,
    Transcript,
    base_config,
    commands,
    expect_numeric,
    room_with,
)


@pytest.fixture
def t() -> Transcript:
    config = dataclasses.replace(
        base_config(), opers=(("host", hash_password("open sesame", CHEAP_SCRYPT)),)
    )
    return Transcript(config)


def oper(t: Transcript, nick: str) -> Conn:
    conn = t.register(nick)
    got = conn.send_take("OPER host :open sesame")
    expect_numeric(got, "381")
    return conn


def test_oper_with_the_right_password_is_381_and_plus_o(t: Transcript) -> None:
    conn = t.register("alice")
    got = conn.send_take("OPER host :open sesame")
    assert [m.to_line() for m in got] == [
        ":lanchat.local 381 alice :You are now an IRC operator",
        ":alice!alice@127.0.0.1 MODE alice +o",
    ]
    assert "o" in t.state.users[conn.conn_id].modes


@pytest.mark.parametrize("line", ["OPER host wrong", "OPER nobody :open sesame"])
def test_wrong_password_or_unknown_name_is_the_same_464(t: Transcript, line: str) -> None:
    conn = t.register("alice")
    assert commands(conn.send_take(line)) == ["464"]
    assert "o" not in t.state.users[conn.conn_id].modes


def test_oper_without_any_configured_is_491() -> None:
    t = Transcript()
    conn = t.register("alice")
    assert commands(conn.send_take("OPER host :open sesame")) == ["491"]


def test_wrong_oper_passwords_are_throttled_per_address(t: Transcript) -> None:
    conn = t.register("alice")
    for _ in range(t.state.config.limits.max_auth_failures):
        conn.send("OPER host wrong")
    got = conn.send_take("OPER host :open sesame")
    assert commands(got) == ["464"] and "wait" in got[0].params[-1]
    assert not t.held  # refused unchecked
    t.tick(t.state.config.limits.auth_failure_window_s)
    expect_numeric(conn.send_take("OPER host :open sesame"), "381")


def test_plus_o_comes_from_oper_only_and_minus_o_drops_it(t: Transcript) -> None:
    conn = t.register("alice")
    assert conn.send_take("MODE alice +o") == []
    conn.send("OPER host :open sesame")
    got = conn.send_take("MODE alice -o")
    assert [m.to_line() for m in got] == [":alice!alice@127.0.0.1 MODE alice -o"]
    assert commands(conn.send_take("KILL bob")) == ["481"]


def test_who_and_whois_show_operators(t: Transcript) -> None:
    oper(t, "alice")
    bob = t.register("bob")
    assert expect_numeric(bob.send_take("WHO alice"), "352").params[6] == "H*"
    assert expect_numeric(bob.send_take("WHOIS alice"), "313").params[1:] == (
        "alice",
        "is an IRC operator",
    )
    assert "313" not in commands(bob.send_take("WHOIS bob"))


def test_kill_needs_an_operator(t: Transcript) -> None:
    bob = t.register("bob")
    t.register("carol")
    assert commands(bob.send_take("KILL carol :bye")) == ["481"]


def test_kill_disconnects_and_tells_the_rooms(t: Transcript) -> None:
    alice = oper(t, "alice")
    bob = t.register("bob")
    carol = t.register("carol")
    bob.send("JOIN #lobby")
    carol.send("JOIN #lobby")
    bob.take()
    carol.take()
    alice.send("KILL bob :spamming")
    assert bob.closed == "Killed (alice (spamming))"
    assert bob.take_lines()[-1] == "ERROR :Closing Link: 127.0.0.1 (Killed (alice (spamming)))"
    assert carol.take_lines() == [":bob!bob@127.0.0.1 QUIT :Killed (alice (spamming))"]
    assert "bob" not in t.state.nicks
    assert commands(alice.send_take("KILL bob")) == ["401"]


def test_wallops_goes_to_plus_w_users(t: Transcript) -> None:
    alice = oper(t, "alice")
    bob = t.register("bob")
    carol = t.register("carol")
    bob.send("MODE bob +w")
    bob.take()
    alice.send("MODE alice +w")
    alice.take()
    got = alice.send_take("WALLOPS :server restarts at 9")
    assert [m.to_line() for m in got] == [":alice!alice@127.0.0.1 WALLOPS :server restarts at 9"]
    assert bob.take_lines() == [":alice!alice@127.0.0.1 WALLOPS :server restarts at 9"]
    assert carol.take() == []
    assert commands(bob.send_take("WALLOPS :me too")) == ["481"]


def test_operator_overrides_room_operators(t: Transcript) -> None:
    bob = t.register("bob")
    room_with(t, bob, "#games", "+k secret")
    alice = oper(t, "alice")  # not in #games
    alice.send("MODE #games -k secret")
    assert bob.take_lines() == [":alice!alice@127.0.0.1 MODE #games -k *"]
    alice.send("KICK #games bob :out")
    assert bob.take_lines() == [":alice!alice@127.0.0.1 KICK #games bob out"]
    carol = t.register("carol")
    assert commands(carol.send_take("MODE #games +i")) == ["442"]


def test_clearchan_kicks_everyone_and_forgets_the_room(t: Transcript) -> None:
    bob = t.register("bob")
    room_with(t, bob, "#games", "+k secret")
    alice = oper(t, "alice")
    effects = alice.send("CLEARCHAN #games :closing")
    assert bob.take_lines() == [":alice!alice@127.0.0.1 KICK #games bob closing"]
    assert "#games" not in t.state.rooms
    deleted = [e.record for e in effects if isinstance(e, Persist)]
    assert isinstance(deleted[-1], RoomRecord) and deleted[-1].deleted
    assert "removed" in alice.take()[-1].params[-1]
    # Whoever comes next makes a new room: no key, and no past.
    bob.send("JOIN #games")
    expect_numeric(bob.take(), "353")


def test_clearchan_of_a_configured_room_only_empties_it(t: Transcript) -> None:
    bob = t.register("bob")
    bob.send("JOIN #lobby")
    alice = oper(t, "alice")
    alice.send("CLEARCHAN #lobby")
    assert "#lobby" in t.state.rooms and not t.state.rooms["#lobby"].members
    assert "emptied, not removed" in alice.take()[-1].params[-1]


def test_clearchan_needs_an_operator(t: Transcript) -> None:
    bob = t.register("bob")
    assert commands(bob.send_take("CLEARCHAN #lobby")) == ["481"]
