"""Transcript tests of conversation messages (lanchat.client.messages) through the client
session: PRIVMSG, NOTICE and CTCP ACTION received as events, and what `say` sends.
"""

from __future__ import annotations

from lanchat.client.events import MessageReceived, ServerNotice
from lanchat.client.session import ClientSession, split_text
from tests.client.transcript import (
    ALICE,
    BOB,
    CAROL,
    NOW_S,
    feed,
    joined,
    of_type,
    registered,
    sent,
)

# ---------------------------------------------------------------- received


def test_room_message_from_someone_with_ip_time_and_msgid() -> None:
    s = joined()
    events = feed(s, f"@msgid=m1;time=2023-11-14T22:13:20.000Z :{BOB} PRIVMSG #lobby :hi all")
    assert events == [
        MessageReceived(
            "lan",
            "#lobby",
            "bob",
            "192.168.1.20",
            "hi all",
            1_700_000_000_000,
            "m1",
            "privmsg",
            own=False,
            private=False,
            highlight=False,
            history=False,
        )
    ]


def test_message_without_server_time_uses_the_clock() -> None:
    s = joined()
    (event,) = feed(s, f":{BOB} NOTICE #lobby :hello")
    assert isinstance(event, MessageReceived)
    assert (event.time_ms, event.kind, event.msgid) == (int(NOW_S * 1000), "notice", None)


def test_private_message_is_keyed_by_the_other_nick_and_highlights() -> None:
    s = joined()
    (event,) = feed(s, f":{BOB} PRIVMSG alice :psst")
    assert isinstance(event, MessageReceived)
    assert (event.target, event.private, event.highlight) == ("bob", True, True)


def test_echoed_private_message_is_keyed_by_the_recipient() -> None:
    s = joined()
    (event,) = feed(s, f"@msgid=e1 :{ALICE} PRIVMSG bob :psst")
    assert isinstance(event, MessageReceived)
    assert (event.target, event.own, event.private, event.highlight) == ("bob", True, True, False)


def test_action_is_unwrapped() -> None:
    s = joined()
    (event,) = feed(s, f":{BOB} PRIVMSG #lobby :\x01ACTION waves\x01")
    assert isinstance(event, MessageReceived)
    assert (event.kind, event.text) == ("action", "waves")


def test_other_ctcp_requests_are_not_shown() -> None:
    s = joined()
    assert feed(s, f":{BOB} PRIVMSG alice :\x01VERSION\x01") == []


def test_highlight_on_whole_word_casefolded_mention_only() -> None:
    s = joined()

    def highlight(text: str) -> bool:
        (event,) = feed(s, f":{BOB} PRIVMSG #lobby :{text}")
        assert isinstance(event, MessageReceived)
        return event.highlight

    assert highlight("ALICE: lunch?")
    assert highlight("lunch, Alice?")
    assert highlight("@alice!")
    assert not highlight("alice_ is someone else")
    assert not highlight("malice")
    assert not highlight("alicex")
    assert not highlight("no mention")


def test_highlight_follows_the_irc_case_mapping() -> None:
    # rfc1459, the default CASEMAPPING: [ ] \ are the lower-case forms of { } |
    s = registered("{Bob}")
    feed(
        s,
        ":{Bob}!bob@192.168.1.20 JOIN #lobby",
        ":srv 353 {Bob} = #lobby :{Bob}",
        ":srv 366 {Bob} #lobby :End of NAMES",
    )
    (event,) = feed(s, f":{CAROL} PRIVMSG #lobby :hello [bob]")
    assert isinstance(event, MessageReceived)
    assert event.highlight


def test_duplicate_msgid_is_dropped() -> None:
    s = joined()
    line = f"@msgid=dup1 :{BOB} PRIVMSG #lobby :once"
    assert len(feed(s, line)) == 1
    assert feed(s, line) == []


def test_server_notice_is_a_server_notice() -> None:
    s = ClientSession("alice", server_id="lan")
    assert feed(s, ":srv NOTICE * :*** Looking up your hostname") == [
        ServerNotice("lan", "*** Looking up your hostname")
    ]


# ---------------------------------------------------------------- sent


def test_say_with_echo_message_waits_for_the_echo() -> None:
    s = joined()
    assert s.say("#lobby", "hello") == []
    assert sent(s) == ["PRIVMSG #lobby hello"]
    events = feed(s, f"@msgid=x9;time=2023-11-14T22:13:20.000Z :{ALICE} PRIVMSG #lobby hello")
    assert of_type(events, MessageReceived)[0].own


def test_say_without_echo_message_returns_a_local_echo() -> None:
    s = registered(caps="server-time")
    (event,) = s.say("#lobby", "hello")
    assert isinstance(event, MessageReceived)
    assert (event.own, event.msgid, event.text, event.nick) == (True, None, "hello", "alice")


def test_action_command_wraps_ctcp() -> None:
    s = joined()
    s.say("#lobby", "waves", action=True)
    assert sent(s) == ["PRIVMSG #lobby :\x01ACTION waves\x01"]


def test_multi_line_and_long_text_is_split_into_several_messages() -> None:
    s = joined()
    s.say("#lobby", "one\n\ntwo " + "é" * 400)
    lines = sent(s)
    assert lines[0] == "PRIVMSG #lobby one"
    assert lines[1] == "PRIVMSG #lobby two"  # cut at the space that fits
    assert len(lines) == 4
    assert all(len(line.encode()) <= 512 - 80 for line in lines)
    assert "".join(line.split(" ", 2)[2] for line in lines[2:]) == "é" * 400


def test_split_text_cuts_at_spaces_and_character_boundaries() -> None:
    assert split_text("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]
    assert split_text("ééé", 4) == ["éé", "é"]
    assert split_text(" \n", 10) == []
