"""Transcript tests of CAP negotiation (lanchat.client.caps) through the client session: what
we ask for of what the server offers, and when registration goes on (CAP END).
"""

from __future__ import annotations

from lanchat.client.events import ServerError
from lanchat.client.session import ClientSession
from lanchat.protocol import parse
from tests.client.transcript import feed, sent


def test_cap_negotiation_requests_only_wanted_caps_the_server_offers() -> None:
    s = ClientSession("alice")
    s.start()
    sent(s)
    feed(s, ":srv CAP * LS * :multi-prefix sasl=PLAIN server-time")
    assert sent(s) == []  # a multi-line LS is not finished yet
    feed(s, ":srv CAP * LS :echo-message draft/chathistory unknown-cap")
    assert sent(s) == ["CAP REQ :server-time echo-message multi-prefix draft/chathistory"]
    feed(s, ":srv CAP alice ACK :server-time echo-message multi-prefix draft/chathistory")
    assert sent(s) == ["CAP END"]
    assert s.caps == {"server-time", "echo-message", "multi-prefix", "draft/chathistory"}
    assert s.history_enabled


def test_cap_nak_still_ends_negotiation() -> None:
    s = ClientSession("alice")
    s.start()
    sent(s)
    feed(s, ":srv CAP * LS :batch", ":srv CAP * NAK :batch")
    assert sent(s)[-1] == "CAP END"
    assert s.caps == set()


def test_no_wanted_caps_ends_negotiation_at_once() -> None:
    s = ClientSession("alice")
    s.start()
    sent(s)
    feed(s, ":srv CAP * LS :sasl")
    assert sent(s) == ["CAP END"]


def test_standard_replies_are_requested_so_errors_arrive_as_fail() -> None:
    s = ClientSession("alice")
    s.start()
    sent(s)
    feed(s, ":srv CAP * LS :standard-replies batch")
    assert sent(s) == ["CAP REQ :batch standard-replies"]
    feed(
        s,
        ":srv CAP alice ACK :batch standard-replies",
        ":srv 001 alice :Welcome",
    )
    events = s.feed(
        parse(
            "FAIL PRIVMSG MESSAGE_ERROR #lobby :Your message was not delivered: the server "
            "could not save it (disk full). Try again"
        )
    )
    assert [(e.code, e.text[:30]) for e in events if isinstance(e, ServerError)] == [
        ("PRIVMSG MESSAGE_ERROR", "Your message was not delivered")
    ]
