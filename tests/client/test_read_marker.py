"""Transcript tests of draft/read-marker in the client session: MARKREAD sent as we read (only
forward), and the server's MARKREAD given as ReadMarker."""

from __future__ import annotations

from lanchat.client.events import ReadMarker
from tests.client.transcript import feed, registered, sent

CAPS = "message-tags server-time batch draft/read-marker"


def test_mark_read_sends_markread_only_forward() -> None:
    s = registered(caps=CAPS)
    s.mark_read("#lobby", 1_700_000_000_500)
    s.mark_read("#Lobby", 1_700_000_000_000)  # older: the marker stays
    s.mark_read("#lobby", 1_700_000_000_500)  # the same: nothing new to say
    assert sent(s) == ["MARKREAD #lobby timestamp=2023-11-14T22:13:20.500Z"]


def test_no_markread_without_the_capability() -> None:
    s = registered(caps="message-tags server-time")
    s.mark_read("#lobby", 1_700_000_000_500)
    assert sent(s) == []


def test_servers_markread_is_a_read_marker_and_moves_ours() -> None:
    s = registered(caps=CAPS)
    events = feed(
        s,
        ":srv MARKREAD #lobby timestamp=2023-11-14T22:13:20.500Z",
        ":srv MARKREAD bob *",
        ":srv MARKREAD #lobby timestamp=yesterday",
        ":srv MARKREAD #lobby",
    )
    assert events == [
        ReadMarker("lan", "#lobby", 1_700_000_000_500),
        ReadMarker("lan", "bob", 0),
    ]
    s.mark_read("#lobby", 1_700_000_000_500)  # another connection of ours read that far
    assert sent(s) == []
