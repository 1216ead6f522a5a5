"""CHATHISTORY: request validation, the Query effect, and batch rendering.

The transcript tests leave the store out: they take the Query effect the handler emitted and
feed synthetic HistoryRecords to ServerState.history_result(), as the edge does with the rows.
The socket test at the end runs the same path through the edge and a real SQLite store.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from lanchat.protocol.message import Message
from lanchat.server.app import LanchatServer
from lanchat.server.effects import Effect, Query
from lanchat.store.records import HistoryQuery, HistoryRecord
from tests.server.clients import registered
from tests.server.transcript import Conn, Transcript, make_config, msg
from tests.support import LineClient

FULL_CAPS = ("batch", "server-time", "message-tags", "labeled-response", "draft/chathistory")
T0_MS = 1_764_093_600_123  # 2025-11-25T18:00:00.123Z


def _record(
    n: int, *, command: str = "PRIVMSG", source: str = "bob!bob@127.0.0.1", target: str = "#lobby"
) -> HistoryRecord:
    return HistoryRecord(
        msgid=f"id{n}",
        time_ms=T0_MS + n,
        command=command,
        source=source,
        target=target,
        target_key=target.lower(),
        text=f"message {n}" if command != "TAGMSG" else "",
        tags={"+draft/reply": f"id{n - 1}"} if n > 1 else {},
    )


def _query(effects: Sequence[Effect]) -> Query:
    queries = [e for e in effects if isinstance(e, Query)]
    assert len(queries) == 1, effects
    return queries[0]


def _answer(t: Transcript, conn: Conn, line: str, records: Sequence[HistoryRecord]) -> list[str]:
    """Send a CHATHISTORY line, answer its Query with `records`, return what came back."""
    conn.take()
    query = _query(conn.send(line))
    t.apply(t.state.history_result(query, records))
    return conn.take_lines()


def _fail(conn: Conn, line: str) -> tuple[str, ...]:
    got = conn.send_take(line)
    assert [m.command for m in got] == ["FAIL"], got
    return got[0].params[1:]


@pytest.fixture
def t() -> Transcript:
    return Transcript(make_config(chathistory_max=50))


@pytest.fixture
def alice(t: Transcript) -> Conn:
    conn = t.register("alice", caps=FULL_CAPS)
    conn.send("JOIN #lobby")
    conn.take()
    return conn


# ----------------------------------------------------------------------------- validation


def test_unknown_subcommand_fails_invalid_params(alice: Conn) -> None:
    assert _fail(alice, "CHATHISTORY FETCH #lobby") == (
        "INVALID_PARAMS",
        "FETCH",
        "Unknown command",
    )
    assert _fail(alice, "CHATHISTORY") == ("INVALID_PARAMS", "*", "Insufficient parameters")


def test_missing_or_extra_parameters_fail_invalid_params(alice: Conn) -> None:
    assert _fail(alice, "CHATHISTORY LATEST #lobby *") == (
        "INVALID_PARAMS",
        "LATEST",
        "Insufficient parameters",
    )
    assert _fail(alice, "CHATHISTORY BEFORE #lobby msgid=a 10 extra")[2] == "Too many parameters"
    assert _fail(alice, "CHATHISTORY BETWEEN #lobby msgid=a 10")[2] == "Insufficient parameters"


def test_bad_references_and_limits_fail_invalid_params(alice: Conn) -> None:
    assert _fail(alice, "CHATHISTORY BEFORE #lobby timestamp=yesterday 10") == (
        "INVALID_PARAMS",
        "BEFORE",
        "timestamp=yesterday",
        "Invalid timestamp",
    )
    assert _fail(alice, "CHATHISTORY AFTER #lobby 12345 10")[:3] == (
        "INVALID_PARAMS",
        "AFTER",
        "12345",
    )
    # "*" is only for LATEST.
    assert _fail(alice, "CHATHISTORY BEFORE #lobby * 10")[:3] == ("INVALID_PARAMS", "BEFORE", "*")
    assert _fail(alice, "CHATHISTORY AFTER #lobby msgid= 10")[1] == "AFTER"
    assert _fail(alice, "CHATHISTORY LATEST #lobby * -5")[:3] == ("INVALID_PARAMS", "LATEST", "-5")
    assert _fail(alice, "CHATHISTORY TARGETS msgid=a timestamp=2025-01-01T00:00:00Z 5")[2] == (
        "msgid=a"
    )


def test_room_history_needs_membership_invalid_target(t: Transcript, alice: Conn) -> None:
    bob = t.register("bob", caps=FULL_CAPS)
    alice.send("JOIN #private")
    expected = ("INVALID_TARGET", "LATEST", "#private", "Messages could not be retrieved")
    assert _fail(bob, "CHATHISTORY LATEST #private * 10") == expected
    assert _fail(bob, "CHATHISTORY LATEST #nowhere * 10")[2] == "#nowhere"
    assert _fail(bob, "CHATHISTORY LATEST * * 10")[:3] == ("INVALID_TARGET", "LATEST", "*")


# ----------------------------------------------------------------------------- the Query


def test_latest_star_asks_the_store_for_the_room_capped_at_the_maximum(alice: Conn) -> None:
    query = _query(alice.send("@label=q1 CHATHISTORY LATEST #LOBBY * 500"))
    assert query == Query(
        alice.conn_id,
        HistoryQuery("LATEST", target_key="#lobby", start=None, limit=50),
        label="q1",
        batch_target="#lobby",
    )
    # A Query is the labeled response: no ACK goes out now.
    assert alice.take() == []


def test_references_become_msgids_and_unix_milliseconds(alice: Conn) -> None:
    query = _query(alice.send("CHATHISTORY BEFORE #lobby timestamp=2025-11-25T18:00:00.123Z 10"))
    assert query.query == HistoryQuery("BEFORE", "#lobby", start=T0_MS, limit=10)
    query = _query(alice.send("CHATHISTORY AROUND #lobby msgid=id7 4"))
    assert query.query == HistoryQuery("AROUND", "#lobby", start="id7", limit=4)
    query = _query(
        alice.send("CHATHISTORY BETWEEN #lobby msgid=id9 timestamp=2025-11-25T18:00:00.000Z 0")
    )
    assert query.query == HistoryQuery("BETWEEN", "#lobby", start="id9", end=T0_MS - 123, limit=50)
    query = _query(alice.send("chathistory after #lobby msgid=id1 3"))
    assert query.query.subcommand == "AFTER"


def test_private_history_is_given_back_to_nobody(t: Transcript, alice: Conn) -> None:
    # A nick is not a person: whoever holds "alice" now need not be who talked to Bob.
    t.register("Bob")
    alice.send("PRIVMSG bob :psst")
    alice.take()
    for line in ("@label=P CHATHISTORY LATEST bob * 10", "CHATHISTORY BEFORE Zed msgid=m1 10"):
        effects = alice.send(line)
        assert not [e for e in effects if isinstance(e, Query)]
    assert alice.take_lines() == [
        "@label=P :lanchat.local BATCH +b1 chathistory Bob",
        ":lanchat.local BATCH -b1",
        ":lanchat.local BATCH +b2 chathistory Zed",
        ":lanchat.local BATCH -b2",
    ]


def test_targets_asks_only_for_the_askers_rooms(t: Transcript, alice: Conn) -> None:
    bob = t.register("bob")
    alice.send("PRIVMSG bob :psst")
    alice.send("JOIN #games")
    bob.take()
    query = _query(
        alice.send(
            "CHATHISTORY TARGETS timestamp=2025-11-25T00:00:00Z timestamp=2025-11-26T00:00:00Z 9"
        )
    )
    assert query.query == HistoryQuery(
        "TARGETS",
        start=1_764_028_800_000,
        end=1_764_115_200_000,
        limit=9,
        target_keys=("#lobby", "#games"),
    )
    assert bob.take() == []


# ----------------------------------------------------------------------------- rendering


def test_history_batch_carries_label_time_msgid_and_client_tags(t: Transcript, alice: Conn) -> None:
    got = _answer(t, alice, "@label=L CHATHISTORY LATEST #lobby * 10", [_record(1), _record(2)])
    assert got == [
        "@label=L :lanchat.local BATCH +b1 chathistory #lobby",
        "@batch=b1;time=2025-11-25T18:00:00.124Z;msgid=id1 :bob!bob@127.0.0.1 PRIVMSG #lobby "
        ":message 1",
        "@batch=b1;time=2025-11-25T18:00:00.125Z;msgid=id2;+draft/reply=id1 "
        ":bob!bob@127.0.0.1 PRIVMSG #lobby :message 2",
        ":lanchat.local BATCH -b1",
    ]


def test_empty_history_is_an_empty_batch(t: Transcript, alice: Conn) -> None:
    assert _answer(t, alice, "CHATHISTORY LATEST #lobby * 10", []) == [
        ":lanchat.local BATCH +b1 chathistory #lobby",
        ":lanchat.local BATCH -b1",
    ]


def test_tagmsg_is_not_replayed_without_event_playback(t: Transcript, alice: Conn) -> None:
    records = [_record(1), _record(2, command="TAGMSG"), _record(3, command="NOTICE")]
    got = _answer(t, alice, "CHATHISTORY LATEST #lobby * 10", records)
    assert [msg(line).command for line in got] == ["BATCH", "PRIVMSG", "NOTICE", "BATCH"]


def test_client_tags_and_msgid_need_message_tags(t: Transcript) -> None:
    conn = t.register("alice", caps=("batch", "server-time"))
    conn.send("JOIN #lobby")
    got = _answer(t, conn, "CHATHISTORY LATEST #lobby * 10", [_record(2)])
    assert got[1] == (
        "@batch=b1;time=2025-11-25T18:00:00.125Z :bob!bob@127.0.0.1 PRIVMSG #lobby :message 2"
    )


def test_without_batch_the_lines_come_bare(t: Transcript) -> None:
    conn = t.register("alice")
    conn.send("JOIN #lobby")
    got = _answer(t, conn, "CHATHISTORY LATEST #lobby * 10", [_record(1)])
    assert got == [":bob!bob@127.0.0.1 PRIVMSG #lobby :message 1"]
    assert _answer(t, conn, "CHATHISTORY LATEST #lobby * 10", []) == []


def test_targets_batch_names_rooms_as_created(t: Transcript, alice: Conn) -> None:
    alice.send("JOIN #Games")
    records = [_record(1, target="#GAMES"), _record(3)]
    line = (
        "@label=T CHATHISTORY TARGETS "
        "timestamp=2025-11-25T00:00:00Z timestamp=2025-11-26T00:00:00Z 9"
    )
    assert _answer(t, alice, line, records) == [
        "@label=T :lanchat.local BATCH +b1 draft/chathistory-targets",
        "@batch=b1 :lanchat.local CHATHISTORY TARGETS #Games 2025-11-25T18:00:00.124Z",
        "@batch=b1 :lanchat.local CHATHISTORY TARGETS #lobby 2025-11-25T18:00:00.126Z",
        ":lanchat.local BATCH -b1",
    ]


def test_result_for_a_client_that_left_is_dropped(t: Transcript, alice: Conn) -> None:
    query = _query(alice.send("CHATHISTORY LATEST #lobby * 10"))
    t.disconnect(alice)
    assert t.state.history_result(query, [_record(1)]) == []


# ----------------------------------------------------------------------------- real sockets

HISTORY_CAPS = ("batch", "draft/chathistory", "message-tags", "server-time", "labeled-response")


async def _batch(client: LineClient, line: str) -> tuple[Message, list[Message]]:
    """Send a CHATHISTORY line; return the opening BATCH and the lines inside it."""
    client.send(line)
    start = await client.expect("BATCH", lambda m: m.params[0].startswith("+"))
    ref = start.params[0][1:]
    inside = []
    while True:
        got = await client.expect(lambda m: m.tags.get("batch") == ref or m.command == "BATCH")
        if got.command == "BATCH":
            return start, inside
        inside.append(got)


async def test_history_pages_through_the_real_store_by_msgid(irc_server: LanchatServer) -> None:
    alice = await registered(irc_server.port, "alice", "#lobby", caps=HISTORY_CAPS)
    bob = await registered(irc_server.port, "bob", "#lobby")
    for i in range(5):
        bob.send(f"PRIVMSG #lobby :message {i}")
    bob.send("PRIVMSG alice :psst")
    for _ in range(6):
        await alice.expect("PRIVMSG")

    start, latest = await _batch(alice, "@label=p1 CHATHISTORY LATEST #lobby * 3")
    assert start.tags == {"label": "p1"}
    assert start.params[1:] == ("chathistory", "#lobby")
    assert [m.params[1] for m in latest] == ["message 2", "message 3", "message 4"]
    assert all(m.source and m.source.startswith("bob!bob@") for m in latest)
    _, older = await _batch(alice, f"CHATHISTORY BEFORE #lobby msgid={latest[0].tags['msgid']} 10")
    assert [m.params[1] for m in older] == ["message 0", "message 1"]
    _, private = await _batch(alice, "CHATHISTORY LATEST bob * 10")
    assert private == []

    _, targets = await _batch(
        alice,
        "CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00Z timestamp=2100-01-01T00:00:00Z 10",
    )
    assert [m.params[1] for m in targets] == ["#lobby"]
    for client in (alice, bob):
        await client.close()


async def test_whoever_takes_a_nick_reads_none_of_its_private_history(
    irc_server: LanchatServer,
) -> None:
    alice = await registered(irc_server.port, "alice", caps=HISTORY_CAPS)
    bob = await registered(irc_server.port, "bob", caps=HISTORY_CAPS)
    alice.send("PRIVMSG bob :my secret")
    await bob.expect("PRIVMSG")
    alice.send("QUIT")
    await alice.expect_closed()
    mallory = await registered(irc_server.port, "alice", caps=HISTORY_CAPS)
    for client, other in ((mallory, "bob"), (bob, "alice")):
        start, lines = await _batch(client, f"CHATHISTORY LATEST {other} * 10")
        assert (start.params[1:], lines) == (("chathistory", other), [])
    _, targets = await _batch(
        mallory,
        "CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00Z timestamp=2100-01-01T00:00:00Z 10",
    )
    assert targets == []
    for client in (mallory, bob):
        await client.close()
