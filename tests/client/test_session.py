"""Transcript tests of the sans-I/O client session (lanchat.client.session): registration, the
commands' lines, what the session remembers across reconnects, and a fuzz of any server line.

No sockets: each test feeds what a server would send and checks the events and the lines the
session queued (ircstates' test shape). The session's parts have their own test modules.
"""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lanchat.client.events import Parted, Registered, ServerError
from lanchat.client.session import ClientSession
from lanchat.errors import ProtocolError
from lanchat.protocol import Message, parse
from tests.client.transcript import ALICE, BOB, feed, joined, of_type, registered, sent

# ---------------------------------------------------------------- registration


def test_start_sends_cap_ls_302_then_pass_nick_user() -> None:
    s = ClientSession("alice", password="sesame")
    s.start()
    assert sent(s) == [
        "CAP LS 302",
        "PASS sesame",
        "NICK alice",
        "USER alice 0 * :lanchat user",
    ]


def test_registered_after_motd_with_network_and_server_name() -> None:
    s = ClientSession("alice", server_id="lan")
    s.start()
    events = feed(
        s,
        ":srv.lan 001 alice :Welcome",
        ":srv.lan 005 alice NETWORK=LanNet :are supported",
        ":srv.lan 422 alice :MOTD File is missing",
    )
    assert events == [Registered("lan", "alice", "LanNet", "srv.lan")]


def test_nick_in_use_during_registration_falls_back_to_underscores() -> None:
    s = ClientSession("alice")
    s.start()
    sent(s)
    assert feed(s, ":srv 433 * alice :Nickname is already in use") == []
    assert sent(s) == ["NICK alice_"]
    feed(s, ":srv 433 * alice_ :Nickname is already in use")
    assert sent(s) == ["NICK alice__"]
    events = feed(s, ":srv 001 alice__ :Welcome", ":srv 376 alice__ :End")
    assert of_type(events, Registered)[0].nick == "alice__"


def test_nick_in_use_after_registration_is_an_error_with_hint() -> None:
    s = registered()
    events = feed(s, ":srv 433 alice bob :Nickname is already in use")
    assert events == [
        ServerError(
            "lan",
            "433",
            "bob: Nickname is already in use",
            "That nickname is taken; pick another",
            "bob",
        )
    ]
    assert sent(s) == []


def test_wanted_nick_is_taken_back_when_whoever_held_it_quits() -> None:
    # After a move to another node of a cluster (issue 20) our old connection holds the nick
    # until the cluster times the dead node out: registered as alice_, then alice quits.
    s = ClientSession("alice")
    s.start()
    feed(s, ":srv 433 * alice :Nickname is already in use")
    feed(s, ":srv 001 alice_ :Welcome", ":srv 376 alice_ :End")
    feed(s, ":alice_!a@h JOIN #lobby", ":srv 353 alice_ = #lobby :alice_ alice bob")
    sent(s)
    feed(s, ":bob!b@h QUIT :bye")
    assert sent(s) == []
    feed(s, ":alice!a@10.0.0.1 QUIT :node gone")
    assert sent(s) == ["NICK alice"]
    feed(s, ":alice_!a@h NICK alice")
    assert s.nick == "alice"
    feed(s, ":alice2!x@h QUIT :bye")
    assert sent(s) == []


def test_refused_nick_change_is_not_asked_for_at_the_next_reconnect() -> None:
    s = registered()
    s.change_nick("bob")
    assert sent(s) == ["NICK bob"]
    feed(s, ":srv 433 alice bob :Nickname is already in use")
    s.start()
    assert "NICK alice" in sent(s)


def test_confirmed_nick_change_is_asked_for_at_the_next_reconnect() -> None:
    s = registered()
    s.change_nick("alicia")
    feed(s, f":{ALICE} NICK alicia")
    s.start()
    assert "NICK alicia" in sent(s)


def test_ping_is_answered_with_pong() -> None:
    s = registered()
    feed(s, "PING :token123")
    assert sent(s) == ["PONG token123"]


def test_error_line_is_remembered_as_the_disconnect_reason() -> None:
    s = registered()
    feed(s, "ERROR :Closing Link: 10.0.0.1 (Server shutting down)")
    assert s.last_error == "Closing Link: 10.0.0.1 (Server shutting down)"


def test_wanted_rooms_are_joined_after_registration() -> None:
    s = ClientSession("alice")
    s.join("#lobby")
    s.join("#secret", "k3y")
    s.start()
    sent(s)
    feed(s, ":srv 001 alice :hi", ":srv 376 alice :End")
    assert sent(s) == ["JOIN #lobby", "JOIN #secret k3y"]


def test_wrong_key_is_not_tried_again_at_the_next_reconnect() -> None:
    s = registered()
    s.join("#secret", "wrong")
    assert sent(s) == ["JOIN #secret wrong"]
    [error] = feed(s, ":srv 475 alice #secret :Cannot join channel (+k)")
    assert isinstance(error, ServerError) and error.subject == "#secret"
    assert s.wanted_rooms == {}


def test_own_part_forgets_the_room_so_reconnect_does_not_rejoin() -> None:
    s = joined()
    s.part("#lobby", "bye")
    assert sent(s) == ["PART #lobby bye"]
    assert feed(s, f":{ALICE} PART #lobby :bye") == [
        Parted("lan", "#lobby", "alice", "bye", own=True)
    ]
    assert s.rooms == {}
    assert s.wanted_rooms == {}


def test_a_join_that_names_no_room_opens_none() -> None:
    # Found by the property test below: "JOIN :" from a buggy server opened a room named ""
    # and asked CHATHISTORY for it, which the line writer refused.
    s = joined()
    assert feed(s, f":{ALICE} JOIN :") == []
    assert sent(s) == []
    assert "" not in s.rooms


# ---------------------------------------------------------------- any server line


_VERBS = [
    "PING", "ERROR", "CAP", "JOIN", "PART", "KICK", "QUIT", "NICK", "TOPIC", "MODE", "AWAY",
    "INVITE", "PRIVMSG", "NOTICE", "BATCH", "FAIL", "CHATHISTORY", "001", "005", "305", "306",
    "332", "333", "353", "366", "376", "421", "422", "433", "475", "999",
]  # fmt: skip


_WORDS = st.sampled_from(
    ["alice", "bob", "#lobby", "*", "+b1", "-b1", "LS", "ACK", "NAK", "NEW", "DEL", "TARGETS",
     "chathistory", "+ov", "-o", "@+bob", "1700000000", "x!y@z", "\x01ACTION", ""]
)  # fmt: skip


_LINE_TEXT = st.text(alphabet=st.characters(blacklist_characters="\r\n\0"), max_size=12)


@st.composite
def _server_lines(draw: st.DrawFn) -> Message:
    """A message as parse() could hand it over (what a real, if buggy, server can send)."""
    msg = Message(
        draw(st.sampled_from(_VERBS)),
        tuple(draw(st.lists(st.one_of(_WORDS, _LINE_TEXT), max_size=5))),
        draw(st.one_of(st.none(), st.sampled_from([ALICE, BOB, "srv"]))),
        draw(st.dictionaries(st.sampled_from(["msgid", "time", "batch"]), _WORDS, max_size=3)),
    )
    try:
        return parse(msg.to_line())
    except ProtocolError:
        assume(False)
        raise


@settings(max_examples=100, deadline=None)
@given(st.lists(_server_lines(), max_size=30))
def test_any_sequence_of_server_messages_is_handled_without_an_exception(
    msgs: list[Message],
) -> None:
    s = joined()
    for msg in msgs:
        assert isinstance(s.feed(msg), list)
        s.data_to_send()
