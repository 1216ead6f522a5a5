"""SEARCH (soju.im/search): attribute validation, who may search what, the result batch.

Transcripts take the Query effect and answer it by hand (as tests/server/test_history.py
does); the socket test runs the whole path through the edge and a real SQLite index.
"""

from __future__ import annotations

import pytest

from lanchat.server.app import LanchatServer
from lanchat.server.effects import Query
from lanchat.store.records import HistoryQuery, HistoryRecord
from tests.server.clients import registered
from tests.server.test_history import T0_MS, _batch, _query
from tests.server.transcript import Conn, Transcript, make_config

CAPS = ("batch", "server-time", "message-tags", "labeled-response", "soju.im/search")


@pytest.fixture
def t() -> Transcript:
    return Transcript(make_config(chathistory_max=50))


@pytest.fixture
def alice(t: Transcript) -> Conn:
    conn = t.register("alice", caps=CAPS)
    conn.send("JOIN #lobby")
    conn.send("JOIN #games")
    conn.take()
    return conn


def _search(conn: Conn, line: str) -> HistoryQuery:
    conn.take()
    return _query(conn.send(line)).query


def _fail(conn: Conn, line: str) -> tuple[str, ...]:
    got = conn.send_take(line)
    assert [m.command for m in got] == ["FAIL"], got
    return got[0].params


def test_attributes_become_one_store_query(alice: Conn) -> None:
    query = _search(
        alice,
        "SEARCH in=#LOBBY;from=bob;after=2025-11-25T18:00:00.000Z;"
        "before=2025-11-25T19:00:00.000Z;text=hello\\sworld;limit=10",
    )
    assert query == HistoryQuery(
        "SEARCH",
        start=T0_MS - 123,
        end=T0_MS - 123 + 3_600_000,
        limit=10,
        target_keys=("#lobby",),
        text="hello world",  # tag-value escaping: \s is a space
        sender="bob",
    )


def test_without_in_every_room_of_the_asker_and_the_limit_is_capped(alice: Conn) -> None:
    query = _search(alice, "SEARCH :text=two words;limit=9999")
    assert (query.target_keys, query.limit, query.text) == (("#lobby", "#games"), 50, "two words")
    assert _search(alice, "SEARCH text=x").limit == 50  # the maximum is the default too


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("SEARCH text=a;where=#lobby", "where=#lobby"),
        ("SEARCH text=a;text=b", "text=b"),
        ("SEARCH after=yesterday", "after=yesterday"),
        ("SEARCH limit=-1", "limit=-1"),
        ("SEARCH from=no,nick", "from=no,nick"),
        ("SEARCH in=#elsewhere", "in=#elsewhere"),
        ("SEARCH in=bad,target", "in=bad,target"),
    ],
)
def test_bad_attributes_fail_invalid_params(alice: Conn, line: str, bad: str) -> None:
    assert _fail(alice, line)[:3] == ("SEARCH", "INVALID_PARAMS", bad)


def test_no_parameter_is_461(alice: Conn) -> None:
    assert alice.send_take("SEARCH")[0].command == "461"


def test_a_room_the_asker_left_is_not_searched(t: Transcript, alice: Conn) -> None:
    alice.send("PART #games")
    assert _search(alice, "SEARCH text=x").target_keys == ("#lobby",)
    assert _fail(alice, "SEARCH in=#games")[1] == "INVALID_PARAMS"


def test_private_conversations_answer_an_empty_batch_without_the_store(
    t: Transcript, alice: Conn
) -> None:
    t.register("bob")
    alice.take()
    effects = alice.send("@label=s1 SEARCH in=bob;text=secret")
    assert not [e for e in effects if isinstance(e, Query)]
    assert alice.take_lines() == [
        "@label=s1 :lanchat.local BATCH +b1 soju.im/search",
        ":lanchat.local BATCH -b1",
    ]


def test_in_a_nick_searches_the_two_accounts_conversation(t: Transcript, alice: Conn) -> None:
    alice.send("REGISTER * * secret-words")
    bob = t.register("bob")
    alice.take()
    effects = alice.send("SEARCH in=bob;text=secret")  # bob has no account: nothing to search
    assert not [e for e in effects if isinstance(e, Query)]
    bob.send("REGISTER * * other-words")
    bob.send("NICK robert")  # the nick leads to the account it is logged in to
    assert _search(alice, "SEARCH in=robert;text=secret").target_keys == ("~alice ~bob",)


def test_results_are_a_search_batch_of_the_original_messages(t: Transcript, alice: Conn) -> None:
    alice.take()
    query = _query(alice.send("@label=s2 SEARCH text=hello"))
    record = HistoryRecord(
        "id7", T0_MS, "PRIVMSG", "bob!bob@10.0.0.2", "#lobby", "#lobby", "hello", {"+x": "1"}
    )
    t.apply(t.state.history_result(query, [record]))
    assert alice.take_lines() == [
        "@label=s2 :lanchat.local BATCH +b1 soju.im/search",
        "@batch=b1;time=2025-11-25T18:00:00.123Z;msgid=id7;+x=1 :bob!bob@10.0.0.2 PRIVMSG"
        " #lobby hello",
        ":lanchat.local BATCH -b1",
    ]


def test_a_failed_search_is_fail_search_internal_error(t: Transcript, alice: Conn) -> None:
    alice.take()
    query = _query(alice.send("SEARCH text=hello"))
    t.apply(t.state.history_failed(query, "disk I/O error"))
    (fail,) = alice.take()
    assert fail.params[:2] == ("SEARCH", "INTERNAL_ERROR")
    assert "disk I/O error" in fail.params[-1]


# ----------------------------------------------------------------------------- real sockets


async def test_search_finds_substrings_in_the_askers_rooms_only(
    irc_server: LanchatServer,
) -> None:
    alice = await registered(irc_server.port, "alice", "#lobby", caps=CAPS)
    bob = await registered(irc_server.port, "bob", "#lobby", "#secret")
    bob.send("PRIVMSG #secret :lanchat secrets")  # before the others: stored when they are
    for text in ("the lanchat server", "Ünïcode Straße", "nothing here"):
        bob.send(f"PRIVMSG #lobby :{text}")
    for _ in range(3):
        await alice.expect("PRIVMSG")

    start, hits = await _batch(alice, "@label=q SEARCH text=CHAT")
    assert start.params[1:] == ("soju.im/search",) and start.tags == {"label": "q"}
    assert [m.params for m in hits] == [("#lobby", "the lanchat server")]
    assert hits[0].tags["msgid"] and hits[0].tags["time"]
    _, hits = await _batch(alice, "SEARCH text=straße;from=BOB;in=#lobby")
    assert [m.params[1] for m in hits] == ["Ünïcode Straße"]
    _, hits = await _batch(alice, "SEARCH text=he;limit=1")  # two letters: a scan
    assert [m.params[1] for m in hits] == ["nothing here"]
    for client in (alice, bob):
        await client.close()
