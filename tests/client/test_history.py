"""Transcript tests of history (lanchat.client.history) through the client session: CHATHISTORY
requests, chathistory batches, refusals, and filling the gap after a reconnect.
"""

from __future__ import annotations

from lanchat.client.events import HistoryLoaded, MessageReceived
from lanchat.client.history import HISTORY_LIMIT
from tests.client.transcript import (
    ALICE,
    BOB,
    feed,
    history_batch,
    joined,
    of_type,
    register_again,
    registered,
    sent,
)

# ---------------------------------------------------------------- requests


def test_first_join_asks_for_the_latest_history() -> None:
    s = registered()
    feed(s, f":{ALICE} JOIN #lobby")
    assert sent(s)[0] == f"CHATHISTORY LATEST #lobby * {HISTORY_LIMIT}"


def test_no_history_request_without_the_chathistory_cap() -> None:
    s = registered(caps="server-time")
    feed(s, f":{ALICE} JOIN #lobby")
    assert sent(s) == []


def test_request_history_before_a_message() -> None:
    s = joined()
    s.request_history("#lobby", "m5", 50)
    s.request_history("bob")
    assert sent(s) == [
        "CHATHISTORY BEFORE #lobby msgid=m5 50",
        f"CHATHISTORY LATEST bob * {HISTORY_LIMIT}",
    ]


def test_refused_history_request_ends_with_nothing_loaded_and_no_error() -> None:
    s = registered()
    feed(s, f":{ALICE} JOIN #lobby")
    sent(s)
    assert feed(s, ":srv 421 alice CHATHISTORY :Unknown command") == [
        HistoryLoaded("lan", "#lobby", 0)
    ]
    feed(s, f":{ALICE} JOIN #dev")
    assert feed(s, ":srv FAIL CHATHISTORY MESSAGE_ERROR #dev :Messages could not be retrieved") == [
        HistoryLoaded("lan", "#dev", 0)
    ]


# ---------------------------------------------------------------- batches


def test_history_batch_gives_messages_in_order_then_history_loaded() -> None:
    s = joined()
    events = feed(s, *history_batch("b1", "#lobby", [("h1", "first"), ("h2", "second")]))
    msgs = of_type(events, MessageReceived)
    assert [(m.text, m.history, m.msgid) for m in msgs] == [
        ("first", True, "h1"),
        ("second", True, "h2"),
    ]
    assert events[-1] == HistoryLoaded("lan", "#lobby", 2)


def test_history_inside_a_labeled_response_batch_is_still_history() -> None:
    s = joined()
    events = feed(
        s,
        "@label=l1 :srv BATCH +outer labeled-response",
        "@batch=outer :srv BATCH +inner chathistory #lobby",
        f"@batch=inner;msgid=n1 :{BOB} PRIVMSG #lobby :old",
        ":srv BATCH -inner",
        ":srv BATCH -outer",
    )
    assert of_type(events, MessageReceived)[0].history
    assert of_type(events, HistoryLoaded) == [HistoryLoaded("lan", "#lobby", 1)]


def test_an_older_history_page_does_not_move_the_reconnect_point_back() -> None:
    s = joined()
    feed(s, f"@msgid=new;time=2023-11-14T22:20:00.000Z :{BOB} PRIVMSG #lobby :latest")
    s.request_history("#lobby", "new")
    feed(s, *history_batch("old", "#lobby", [("o1", "older")]))
    assert s.last_seen["#lobby"] == ("new", 1_700_000_400_000)


# ---------------------------------------------------------------- reconnect


def test_reconnect_rejoins_and_asks_only_for_the_gap_without_duplicates() -> None:
    s = joined()
    feed(s, f"@msgid=seen1 :{BOB} PRIVMSG #lobby :before the drop")
    # The connection drops; a new one registers again.
    s.start()
    assert sent(s)[0] == "CAP LS 302"
    feed(s, ":srv CAP * LS :batch server-time echo-message draft/chathistory")
    feed(s, ":srv CAP * ACK :batch server-time echo-message draft/chathistory")
    feed(s, ":srv 001 alice :hi", ":srv 376 alice :End")
    assert "JOIN #lobby" in sent(s)
    feed(s, f":{ALICE} JOIN #lobby")
    assert sent(s) == [f"CHATHISTORY AFTER #lobby msgid=seen1 {HISTORY_LIMIT}"]
    events = feed(
        s, *history_batch("g1", "#lobby", [("seen1", "before the drop"), ("new1", "missed")])
    )
    assert [m.text for m in of_type(events, MessageReceived)] == ["missed"]
    assert events[-1] == HistoryLoaded("lan", "#lobby", 1)
    assert sent(s) == []  # a short page: the gap is filled


def test_a_full_page_of_gap_asks_for_the_next_page() -> None:
    s = joined()
    feed(s, f"@msgid=seen1 :{BOB} PRIVMSG #lobby :x")
    register_again(s)
    feed(s, f":{ALICE} JOIN #lobby")
    sent(s)
    page = [(f"p{i}", f"msg {i}") for i in range(HISTORY_LIMIT)]
    feed(s, *history_batch("g1", "#lobby", page))
    assert sent(s) == [f"CHATHISTORY AFTER #lobby msgid=p{HISTORY_LIMIT - 1} {HISTORY_LIMIT}"]


def test_rejoin_without_msgid_uses_the_last_timestamp() -> None:
    s = joined()
    feed(s, f"@time=2023-11-14T22:13:20.250Z :{BOB} PRIVMSG #lobby :no id")
    register_again(s, caps="draft/chathistory")
    feed(s, f":{ALICE} JOIN #lobby")
    assert sent(s)[-1] == (
        f"CHATHISTORY AFTER #lobby timestamp=2023-11-14T22:13:20.250Z {HISTORY_LIMIT}"
    )


def test_reconnect_catches_up_private_conversations_found_with_targets() -> None:
    s = joined()
    feed(s, f"@msgid=p1;time=2023-11-14T22:13:20.000Z :{BOB} PRIVMSG alice :before")
    register_again(s)
    assert sent(s)[-2:] == [
        "JOIN #lobby",
        "CHATHISTORY TARGETS timestamp=2023-11-14T22:13:20.000Z "
        "timestamp=2024-11-14T22:13:20.000Z 50",
    ]
    feed(
        s,
        ":srv BATCH +t draft/chathistory-targets",
        "@batch=t :srv CHATHISTORY TARGETS bob 2023-11-14T22:15:00.000Z",
        "@batch=t :srv CHATHISTORY TARGETS carol 2023-11-14T22:16:00.000Z",
        "@batch=t :srv CHATHISTORY TARGETS #lobby 2023-11-14T22:16:00.000Z",
        ":srv BATCH -t",
    )
    assert sent(s) == [
        f"CHATHISTORY AFTER bob msgid=p1 {HISTORY_LIMIT}",
        f"CHATHISTORY AFTER carol timestamp=2023-11-14T22:13:20.000Z {HISTORY_LIMIT}",
    ]
    events = feed(
        s,
        ":srv BATCH +h chathistory bob",
        f"@batch=h;msgid=p1 :{BOB} PRIVMSG alice :before",
        f"@batch=h;msgid=p2 :{BOB} PRIVMSG alice :while you were away",
        ":srv BATCH -h",
    )
    (missed,) = of_type(events, MessageReceived)
    assert (missed.target, missed.text, missed.history) == ("bob", "while you were away", True)
