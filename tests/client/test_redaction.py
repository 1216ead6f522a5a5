"""Transcript tests of draft/message-redaction in the client session: REDACT sent, and a
received REDACT named after its conversation."""

from __future__ import annotations

from lanchat.client.events import MessageRedacted
from tests.client.transcript import BOB, feed, joined, sent


def test_redact_sends_the_msgid() -> None:
    s = joined()
    s.redact("#lobby", "m1")
    assert sent(s) == ["REDACT #lobby m1"]


def test_received_redact_in_a_room_and_in_private() -> None:
    s = joined()
    events = feed(s, f":{BOB} REDACT #lobby m1 :typo", f":{BOB} REDACT alice m2", ":srv REDACT")
    assert events == [
        MessageRedacted("lan", "#lobby", "m1", "bob"),
        MessageRedacted("lan", "bob", "m2", "bob"),
    ]
