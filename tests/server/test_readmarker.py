"""MARKREAD (draft/read-marker): get, set forward only, on JOIN, errors, never shared.

Spec: https://ircv3.net/specs/extensions/read-marker.
"""

from __future__ import annotations

import pytest

from lanchat.server.app import LanchatServer
from tests.server.clients import registered
from tests.server.test_accounts import plain
from tests.server.transcript import Conn, Transcript, account

CAPS = ("draft/read-marker",)
T = "timestamp=2025-11-25T17:59:00.000Z"  # a minute before the transcript clock's start
LATER = "timestamp=2025-11-25T17:59:30.000Z"


@pytest.fixture
def t() -> Transcript:
    return Transcript()


@pytest.fixture
def alice(t: Transcript) -> Conn:
    return t.register("alice", caps=CAPS)


def test_unknown_marker_is_a_star(alice: Conn) -> None:
    assert alice.send_take("MARKREAD #LOBBY")[0].params == ("#LOBBY", "*")  # as asked
    assert alice.send_take("MARKREAD bob")[0].to_line() == ":lanchat.local MARKREAD bob *"


def test_a_marker_moves_forward_only(alice: Conn) -> None:
    assert alice.send_take(f"MARKREAD #lobby {LATER}")[0].params == ("#lobby", LATER)
    assert alice.send_take(f"MARKREAD #Lobby {T}")[0].params == ("#Lobby", LATER)
    assert alice.send_take("MARKREAD #lobby")[0].params == ("#lobby", LATER)


def test_a_marker_in_the_future_is_now(alice: Conn) -> None:
    got = alice.send_take("MARKREAD bob timestamp=2099-01-01T00:00:00.000Z")
    assert got[0].params == ("bob", "timestamp=2025-11-25T18:00:00.000Z")


def test_join_sends_the_marker_before_end_of_names(t: Transcript, alice: Conn) -> None:
    alice.send(f"MARKREAD #lobby {T}")
    got = alice.send_take("JOIN #lobby")
    assert [m.command for m in got] == ["JOIN", "MARKREAD", "353", "366"]
    assert got[1].params == ("#lobby", T)
    plain = t.register("plain")
    assert "MARKREAD" not in [m.command for m in plain.send_take("JOIN #lobby")]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("MARKREAD", "NEED_MORE_PARAMS"),
        ("MARKREAD #lobby yesterday", "INVALID_PARAMS"),
        ("MARKREAD #lobby timestamp=yesterday", "INVALID_PARAMS"),
        ("MARKREAD #lobby *", "INVALID_PARAMS"),  # a client never sets "*"
        ("MARKREAD no,such,nick", "INVALID_PARAMS"),
        (f"MARKREAD #lobby {T} extra", "INVALID_PARAMS"),
    ],
)
def test_bad_requests_fail(alice: Conn, line: str, code: str) -> None:
    (fail,) = alice.send_take(line)
    assert fail.params[:2] == ("MARKREAD", code)


def test_markers_belong_to_the_connection_not_the_nick(t: Transcript, alice: Conn) -> None:
    alice.send(f"MARKREAD #lobby {T}")
    alice.send("NICK alicia")  # the same person: the markers stay
    assert alice.send_take("MARKREAD #lobby")[0].params == ("#lobby", T)
    alice.send("NICK alice")
    alice.send("QUIT")
    thief = t.register("alice", caps=CAPS)  # whoever takes the nick next reads nothing
    assert thief.send_take("MARKREAD #lobby")[0].params == ("#lobby", "*")


def _logged_in(t: Transcript, nick: str) -> Conn:
    """A connection of `nick` logged in to the account alice (SASL PLAIN after registering)."""
    conn = t.register(nick, caps=(*CAPS, "sasl"))
    conn.send("AUTHENTICATE PLAIN")
    conn.send(f"AUTHENTICATE {plain('alice', 'wonderland')}")
    conn.take()
    return conn


def test_a_logged_in_users_markers_are_the_accounts() -> None:
    t = Transcript(accounts=[account("alice", "wonderland")])
    desktop, web = _logged_in(t, "alice"), _logged_in(t, "alice_web")
    assert desktop.send_take(f"MARKREAD #lobby {T}")[0].params == ("#lobby", T)
    # Every other connection of the account is told of the move (the spec's "all the
    # clients of the user"), and reads it back.
    assert web.take_lines() == [f":lanchat.local MARKREAD #lobby {T}"]
    assert web.send_take("MARKREAD #LOBBY")[0].params == ("#LOBBY", T)
    web.send(f"MARKREAD #lobby {T}")  # no move: nobody else is told
    assert desktop.take() == []
    for conn in (desktop, web):
        conn.send("QUIT")
    assert _logged_in(t, "alice").send_take("MARKREAD #lobby")[0].params == ("#lobby", T)
    # Not logged in: the connection's own markers, and the account's stay its own.
    stranger = t.register("alicia", caps=CAPS)
    assert stranger.send_take("MARKREAD #lobby")[0].params == ("#lobby", "*")


async def test_markread_over_a_socket(irc_server: LanchatServer) -> None:
    alice = await registered(irc_server.port, "alice", caps=("draft/read-marker",))
    alice.send(f"MARKREAD #lobby {T}")
    assert (await alice.expect("MARKREAD")).params == ("#lobby", T)
    alice.send("JOIN #lobby")
    marker = await alice.expect("MARKREAD")
    await alice.expect("366")
    assert marker.params == ("#lobby", T)
    await alice.close()
