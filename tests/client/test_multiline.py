"""Transcript tests of draft/multiline in the client session: a pasted block sent as one
batch (or line by line without the capability or past its limits), received batches joined
into one message, live and nested in chathistory.
"""

from __future__ import annotations

import pytest

from lanchat.client.events import HistoryLoaded, MessageReceived
from lanchat.client.session import ClientSession
from lanchat.errors import ProtocolError
from tests.client.transcript import BOB, NOW_S, feed, joined, of_type, sent

CAPS = "message-tags server-time echo-message batch draft/chathistory"


def multiline_session(
    value: str = "max-bytes=4096,max-lines=50", echo: bool = True
) -> ClientSession:
    """A session in #lobby whose server offers draft/multiline=<value>."""
    caps = CAPS if echo else CAPS.replace(" echo-message", "")
    s = ClientSession("alice", server_id="lan", clock=lambda: NOW_S)
    s.start()
    feed(s, f":srv CAP * LS :{caps} draft/multiline={value}")
    feed(s, f":srv CAP * ACK :{caps} draft/multiline", ":srv 001 alice :hi", ":srv 376 alice :End")
    feed(s, ":alice!alice@192.168.1.10 JOIN #lobby")
    sent(s)
    return s


def test_pasted_lines_go_as_one_multiline_batch() -> None:
    s = multiline_session()
    assert s.say("#lobby", "first line\n\nthird line\n") == []  # the echo is the event
    assert sent(s) == [
        "BATCH +ml1 draft/multiline #lobby",
        "@batch=ml1 PRIVMSG #lobby :first line",
        "@batch=ml1 PRIVMSG #lobby :",
        "@batch=ml1 PRIVMSG #lobby :third line",
        "BATCH -ml1",
    ]


def test_a_line_too_long_for_one_privmsg_continues_with_concat() -> None:
    s = multiline_session()
    s.say("#lobby", "a\n" + "x" * 600)
    lines = s.data_to_send()
    assert [m.tags for m in lines[2:4]] == [
        {"batch": "ml1"},
        {"batch": "ml1", "draft/multiline-concat": ""},
    ]
    assert lines[2].params[1] + lines[3].params[1] == "x" * 600
    assert all(len(m.to_line().encode()) < 512 for m in lines)


def test_one_line_or_an_action_is_not_a_batch() -> None:
    s = multiline_session()
    s.say("#lobby", "just one\n")
    s.say("#lobby", "waves\ntwice", action=True)
    assert sent(s) == [
        "PRIVMSG #lobby :just one",
        "PRIVMSG #lobby :\x01ACTION waves\x01",
        "PRIVMSG #lobby :\x01ACTION twice\x01",
    ]


def test_past_the_servers_limits_the_lines_go_one_by_one() -> None:
    s = multiline_session("max-bytes=10,max-lines=2")
    s.say("#lobby", "one\ntwo\nthree")  # 3 lines
    s.say("#lobby", "one\nto long")  # 11 bytes
    s.say("#lobby", "one\ntwo")
    assert sent(s) == [
        *("PRIVMSG #lobby one", "PRIVMSG #lobby two", "PRIVMSG #lobby three"),
        *("PRIVMSG #lobby one", "PRIVMSG #lobby :to long"),
        "BATCH +ml1 draft/multiline #lobby",
        *("@batch=ml1 PRIVMSG #lobby one", "@batch=ml1 PRIVMSG #lobby two", "BATCH -ml1"),
    ]


def test_a_line_that_cannot_be_sent_queues_none_of_the_batch() -> None:
    s = multiline_session()
    with pytest.raises(ProtocolError):
        s.say("#lobby", "fine\nnul \x00 here")
    assert sent(s) == []


def test_without_the_capability_the_lines_go_one_by_one() -> None:
    s = joined()
    s.say("#lobby", "one\ntwo")
    assert sent(s) == ["PRIVMSG #lobby one", "PRIVMSG #lobby two"]


def test_without_echo_our_batch_is_shown_as_one_message() -> None:
    s = multiline_session(echo=False)
    (event,) = of_type(s.say("#lobby", "one\ntwo"), MessageReceived)
    assert (event.text, event.own) == ("one\ntwo", True)


def test_a_received_batch_is_one_message_with_the_batchs_msgid() -> None:
    s = multiline_session()
    events = feed(
        s,
        f"@msgid=m1;time=2023-11-14T22:13:20.000Z :{BOB} BATCH +b1 draft/multiline #lobby",
        f"@batch=b1 :{BOB} PRIVMSG #lobby :hello",
        f"@batch=b1 :{BOB} PRIVMSG #lobby :wor",
        f"@batch=b1;draft/multiline-concat :{BOB} PRIVMSG #lobby :ld",
        f":{BOB} BATCH -b1",
    )
    (msg,) = of_type(events, MessageReceived)
    assert (msg.target, msg.nick, msg.text, msg.msgid) == ("#lobby", "bob", "hello\nworld", "m1")
    assert msg.time_ms == 1_700_000_000_000 and not msg.history


def test_history_replays_a_multiline_message_as_one() -> None:
    s = multiline_session()
    events = feed(
        s,
        ":srv BATCH +h chathistory #lobby",
        f"@batch=h;msgid=m0;time=2023-11-14T22:13:19.000Z :{BOB} PRIVMSG #lobby :before",
        f"@batch=h;msgid=m1;time=2023-11-14T22:13:20.000Z :{BOB} BATCH +b1 draft/multiline #lobby",
        f"@batch=b1 :{BOB} PRIVMSG #lobby :one",
        f"@batch=b1 :{BOB} PRIVMSG #lobby :two",
        f"@batch=h :{BOB} BATCH -b1",
        ":srv BATCH -h",
    )
    texts = [(m.text, m.msgid, m.history) for m in of_type(events, MessageReceived)]
    assert texts == [("before", "m0", True), ("one\ntwo", "m1", True)]
    assert of_type(events, HistoryLoaded)[0].count == 2
