"""Transcript tests of soju.im/search and CHATHISTORY AROUND in the client session: hits and
context are listed apart from the transcript (not shown, not remembered as seen)."""

from __future__ import annotations

from lanchat.client.events import ContextLoaded, MessageReceived, SearchHit, SearchResults
from tests.client.transcript import BOB, feed, history_batch, joined, of_type, sent

T0 = "2023-11-14T22:13:20.000Z"


def test_search_sends_escaped_attributes() -> None:
    s = joined()
    s.history.search("#lobby", "launch time; noon")
    assert sent(s) == ["SEARCH in=#lobby;text=launch\\stime\\:\\snoon;limit=100"]


def test_search_results_are_hits_not_messages() -> None:
    s = joined()
    s.history.search("#lobby", "launch")
    sent(s)
    events = feed(
        s,
        ":srv BATCH +s soju.im/search",
        f"@batch=s;msgid=m1;time={T0} :{BOB} PRIVMSG #lobby :launch at noon",
        f"@batch=s;msgid=m2;time={T0} :{BOB} PRIVMSG #lobby :\x01ACTION moves the launch\x01",
        ":srv BATCH -s",
    )
    hits = (
        SearchHit("m1", 1_700_000_000_000, "bob", "launch at noon"),
        SearchHit("m2", 1_700_000_000_000, "bob", "* bob moves the launch"),
    )
    assert events == [SearchResults("lan", "#lobby", hits)]
    # a hit was not shown: the same message from history still is
    later = feed(s, *history_batch("h", "#lobby", [("m1", "launch at noon")]))
    assert [m.msgid for m in of_type(later, MessageReceived)] == ["m1"]


def test_context_around_a_hit() -> None:
    s = joined()
    s.history.around("#lobby", "m2")
    assert sent(s) == ["CHATHISTORY AROUND #lobby msgid=m2 10"]
    events = feed(s, *history_batch("c", "#lobby", [("m1", "before"), ("m2", "hit")]))
    assert [type(e) for e in events] == [ContextLoaded]
    (context,) = of_type(events, ContextLoaded)
    assert (context.target, context.msgid) == ("#lobby", "m2")
    assert [h.text for h in context.hits] == ["before", "hit"]
