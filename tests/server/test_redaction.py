"""REDACT (draft/message-redaction): who may delete what, the FAIL codes, who is told.

Transcripts answer the MSGID look-up by hand; the socket test deletes through the real store
and reads history and search afterwards.
"""

from __future__ import annotations

import pytest

from lanchat.server.app import LanchatServer
from lanchat.server.effects import Persist
from lanchat.store.records import HistoryQuery, HistoryRecord, Redaction
from tests.server.clients import registered
from tests.server.test_history import T0_MS, _batch, _query
from tests.server.transcript import Conn, Transcript

CAPS = ("message-tags", "draft/message-redaction", "batch", "labeled-response")


def _record(source: str = "bob!bob@127.0.0.1", msgid: str = "m9") -> HistoryRecord:
    return HistoryRecord(msgid, T0_MS, "PRIVMSG", source, "#lobby", "#lobby", "oops")


@pytest.fixture
def t() -> Transcript:
    return Transcript()


@pytest.fixture
def bob(t: Transcript) -> Conn:
    op = t.register("op", caps=CAPS)
    op.send("JOIN #lobby")  # the first in runs the room
    bob = t.register("bob", caps=CAPS)
    bob.send("JOIN #lobby")
    plain = t.register("plain")
    plain.send("JOIN #lobby")
    for conn in t.conns.values():
        conn.take()
    return bob


def _redact(t: Transcript, conn: Conn, line: str, found: list[HistoryRecord]) -> list[str]:
    conn.take()
    query = _query(conn.send(line))
    t.apply(t.state.history_result(query, found))
    return conn.take_lines()


def test_the_sender_redacts_its_message_for_everyone_with_the_cap(t: Transcript, bob: Conn) -> None:
    op, plain = t.conns[1], t.conns[3]
    query = _query(bob.send("@label=r1 REDACT #LOBBY m9 :wrong room"))
    assert query.query == HistoryQuery(
        "MSGID", target_key="#lobby", start="m9", limit=1, text="wrong room"
    )
    effects = t.apply(t.state.history_result(query, [_record()]))
    assert [e.record for e in effects if isinstance(e, Persist)] == [Redaction("m9", "#lobby")]
    assert bob.take_lines() == [
        "@label=r1;msgid=m1 :bob!bob@127.0.0.1 REDACT #lobby m9 :wrong room"
    ]
    assert op.take_lines() == ["@msgid=m1 :bob!bob@127.0.0.1 REDACT #lobby m9 :wrong room"]
    assert plain.take() == []  # no fallback: its client could not act on it


def test_an_operator_redacts_anyones_message(t: Transcript, bob: Conn) -> None:
    op = t.conns[1]
    got = _redact(t, op, "REDACT #lobby m9", [_record()])
    assert got == ["@msgid=m1 :op!op@127.0.0.1 REDACT #lobby m9"]


def test_someone_elses_message_is_forbidden(t: Transcript, bob: Conn) -> None:
    got = _redact(t, bob, "REDACT #lobby m9", [_record("op!op@127.0.0.1")])
    assert got == [
        ":lanchat.local FAIL REDACT REDACT_FORBIDDEN #lobby m9 "
        ":You are not authorised to delete this message"
    ]
    # The same nick from another address is someone else (issue 13).
    got = _redact(t, bob, "REDACT #lobby m9", [_record("bob!bob@10.0.0.9")])
    assert "REDACT_FORBIDDEN" in got[0]
    assert not [e for e in t.effects if isinstance(e, Persist) and isinstance(e.record, Redaction)]


def test_unknown_msgid(t: Transcript, bob: Conn) -> None:
    got = _redact(t, bob, "REDACT #lobby nope", [])
    assert got == [
        ":lanchat.local FAIL REDACT UNKNOWN_MSGID #lobby nope "
        ":This message does not exist or is too old"
    ]


def test_targets_the_sender_is_not_in_and_private_ones_are_invalid(
    t: Transcript, bob: Conn
) -> None:
    for target in ("#nowhere", "op"):
        (fail,) = bob.send_take(f"REDACT {target} m9")
        assert fail.params[:3] == ("REDACT", "INVALID_TARGET", target)
    bob.send("REGISTER * * secret-words")  # logged in, but op has no account
    (fail,) = bob.send_take("REDACT op m9")
    assert fail.params[:3] == ("REDACT", "INVALID_TARGET", "op")


def test_logged_in_users_redact_their_own_private_messages(t: Transcript, bob: Conn) -> None:
    op, plain = t.conns[1], t.conns[3]
    bob.send("REGISTER * * secret-words")
    op.send("REGISTER * * other-words")
    mine = HistoryRecord("m9", T0_MS, "PRIVMSG", "bob!bob@127.0.0.1", "op", "~bob ~op", "oops")
    bob.take()
    op.take()
    query = _query(bob.send("REDACT op m9"))
    assert (query.query.target_key, query.query.start) == ("~bob ~op", "m9")
    effects = t.apply(t.state.history_result(query, [mine]))
    assert [e.record for e in effects if isinstance(e, Persist)] == [Redaction("m9", "~bob ~op")]
    assert bob.take_lines() == ["@msgid=m1 :bob!bob@127.0.0.1 REDACT op m9"]
    assert op.take_lines() == ["@msgid=m1 :bob!bob@127.0.0.1 REDACT op m9"]
    assert plain.take() == []
    # Only one's own: op's message to bob is op's to delete.
    theirs = HistoryRecord("m8", T0_MS, "PRIVMSG", "op!op@127.0.0.1", "bob", "~bob ~op", "hi")
    got = _redact(t, bob, "REDACT op m8", [theirs])
    assert got[0].startswith(":lanchat.local FAIL REDACT REDACT_FORBIDDEN op m8")


def test_leaving_before_the_store_answers_is_invalid_target(t: Transcript, bob: Conn) -> None:
    bob.take()
    query = _query(bob.send("REDACT #lobby m9"))
    bob.send("PART #lobby")
    bob.take()
    t.apply(t.state.history_result(query, [_record()]))
    assert bob.take()[0].params[:2] == ("REDACT", "INVALID_TARGET")


def test_without_the_cap_redact_stays_unknown(t: Transcript, bob: Conn) -> None:
    plain = t.conns[3]
    assert plain.send_take("REDACT #lobby m9")[0].command == "421"


# ----------------------------------------------------------------------------- real sockets

HISTORY = ("batch", "draft/chathistory", "message-tags", "echo-message", "soju.im/search")


async def test_a_redacted_message_leaves_history_and_search(irc_server: LanchatServer) -> None:
    bob = await registered(irc_server.port, "bob", "#lobby", caps=(*HISTORY, CAPS[1]))
    alice = await registered(irc_server.port, "alice", "#lobby", caps=(*HISTORY, CAPS[1]))
    bob.send("PRIVMSG #lobby :my password is hunter2")
    bob.send("PRIVMSG #lobby :never mind")
    echo = await bob.expect("PRIVMSG")
    await bob.expect("PRIVMSG")
    bob.send(f"REDACT #lobby {echo.tags['msgid']} :typed in the wrong window")
    for client in (bob, alice):
        got = await client.expect("REDACT")
        assert got.params == ("#lobby", echo.tags["msgid"], "typed in the wrong window")
    _, lines = await _batch(alice, "CHATHISTORY LATEST #lobby * 10")
    assert [m.params[1] for m in lines] == ["never mind"]
    _, hits = await _batch(alice, "SEARCH text=hunter2")
    assert hits == []
    alice.send(f"REDACT #lobby {lines[0].tags['msgid']}")  # not hers, and she is no operator
    fail = await alice.expect("FAIL")
    assert fail.params[:2] == ("REDACT", "REDACT_FORBIDDEN")
    for client in (alice, bob):
        await client.close()


def test_a_failed_look_up_is_fail_redact_internal_error(t: Transcript, bob: Conn) -> None:
    bob.take()
    query = _query(bob.send("REDACT #lobby m9"))
    t.apply(t.state.history_failed(query, "disk I/O error"))
    (fail,) = bob.take()
    assert fail.params[:2] == ("REDACT", "INTERNAL_ERROR")
