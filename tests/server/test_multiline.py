"""BATCH draft/multiline: one message from a pasted block, its fallback, its errors, its replay.

Spec: https://ircv3.net/specs/extensions/multiline (examples quoted in the tests).
"""

from __future__ import annotations

import pytest

from lanchat.protocol.caps import MULTILINE_MAX_BYTES, MULTILINE_MAX_LINES
from lanchat.server.app import LanchatServer
from lanchat.server.effects import Publish
from lanchat.store.records import HistoryRecord
from tests.server.clients import registered
from tests.server.test_history import T0_MS, _query
from tests.server.transcript import Conn, Transcript

ML = ("batch", "message-tags", "draft/multiline", "echo-message", "labeled-response")


@pytest.fixture
def t() -> Transcript:
    return Transcript()


@pytest.fixture
def alice(t: Transcript) -> Conn:
    alice = t.register("alice", caps=ML)
    alice.send("JOIN #c")
    t.register("bob", caps=("batch", "message-tags", "draft/multiline")).send("JOIN #c")
    t.register("old").send("JOIN #c")
    for conn in t.conns.values():
        conn.take()
    return alice


def _paste(alice: Conn, *lines: str, target: str = "#c", opening: str = "") -> None:
    alice.send(f"{opening}BATCH +123 draft/multiline {target}")
    for line in lines:
        alice.send(line)
    alice.send("BATCH -123")


SPEC_LINES = (
    "@batch=123 PRIVMSG #c hello",
    "@batch=123 PRIVMSG #c :",
    "@batch=123 privmsg #c :how is ",
    "@batch=123;draft/multiline-concat PRIVMSG #c :everyone?",
)


def test_a_batch_is_one_stored_message(t: Transcript, alice: Conn) -> None:
    _paste(alice, *SPEC_LINES, opening="@+draft/reply=m0 ")
    (publish,) = [e for e in t.effects if isinstance(e, Publish)]
    (record,) = publish.records
    assert (record.text, record.tags) == ("hello\n\nhow is everyone?", {"+draft/reply": "m0"})


def test_capable_clients_get_the_batch_as_sent(t: Transcript, alice: Conn) -> None:
    _paste(alice, *SPEC_LINES)
    assert t.conns[2].take_lines() == [
        "@msgid=m1 :alice!alice@127.0.0.1 BATCH +b1 draft/multiline #c",
        "@batch=b1 :alice!alice@127.0.0.1 PRIVMSG #c hello",
        "@batch=b1 :alice!alice@127.0.0.1 PRIVMSG #c :",
        "@batch=b1 :alice!alice@127.0.0.1 PRIVMSG #c :how is ",
        "@batch=b1;draft/multiline-concat :alice!alice@127.0.0.1 PRIVMSG #c everyone?",
        ":alice!alice@127.0.0.1 BATCH -b1",
    ]
    assert [m.command for m in alice.take()] == ["BATCH"] + ["PRIVMSG"] * 4 + ["BATCH"]


def test_others_get_the_non_blank_lines_with_the_msgid_on_the_first(
    t: Transcript, alice: Conn
) -> None:
    t.register("tagged", caps=("message-tags",)).send("JOIN #c")
    for conn in t.conns.values():
        conn.take()
    _paste(alice, *SPEC_LINES)
    assert t.conns[3].take_lines() == [
        ":alice!alice@127.0.0.1 PRIVMSG #c hello",
        ":alice!alice@127.0.0.1 PRIVMSG #c :how is ",
        ":alice!alice@127.0.0.1 PRIVMSG #c everyone?",
    ]
    assert [m.tags for m in t.conns[4].take()] == [{"msgid": "m1"}, {}, {}]


def test_a_batch_to_a_nick(t: Transcript, alice: Conn) -> None:
    _paste(alice, "@batch=123 PRIVMSG old :one", "@batch=123 PRIVMSG old :two", target="old")
    assert t.conns[3].take_lines() == [
        ":alice!alice@127.0.0.1 PRIVMSG old one",
        ":alice!alice@127.0.0.1 PRIVMSG old two",
    ]
    (publish,) = [e for e in t.effects if isinstance(e, Publish)]
    assert publish.records[0].target_key == "alice old"


def _errors(alice: Conn) -> list[tuple[str, ...]]:
    return [m.params for m in alice.take() if m.command == "FAIL"]


def test_a_line_to_another_target_fails_the_batch(t: Transcript, alice: Conn) -> None:
    _paste(
        alice, "@batch=123 PRIVMSG #c a", "@batch=123 PRIVMSG #other b", "@batch=123 PRIVMSG #c c"
    )
    assert _errors(alice) == [
        ("BATCH", "MULTILINE_INVALID_TARGET", "#c", "#other", "Invalid multiline target")
    ]
    assert t.conns[2].take() == [] and not [e for e in t.effects if isinstance(e, Publish)]


def test_max_bytes_and_max_lines(t: Transcript, alice: Conn) -> None:
    _paste(alice, *[f"@batch=123 PRIVMSG #c :{'x' * 400}"] * (MULTILINE_MAX_BYTES // 400 + 1))
    assert _errors(alice)[0][:3] == ("BATCH", "MULTILINE_MAX_BYTES", str(MULTILINE_MAX_BYTES))
    _paste(alice, *["@batch=123 PRIVMSG #c :x"] * (MULTILINE_MAX_LINES + 1))
    assert _errors(alice)[0][:3] == ("BATCH", "MULTILINE_MAX_LINES", str(MULTILINE_MAX_LINES))
    _paste(alice, *["@batch=123 PRIVMSG #c :x"] * MULTILINE_MAX_LINES)
    assert _errors(alice) == []


@pytest.mark.parametrize(
    "lines",
    [
        (),  # nothing
        ("@batch=123 PRIVMSG #c :", "@batch=123 PRIVMSG #c :"),  # blank lines only
        ("@batch=123 PRIVMSG #c a", "@batch=123;draft/multiline-concat PRIVMSG #c :"),
    ],
)
def test_invalid_batches_fail_and_deliver_nothing(
    t: Transcript, alice: Conn, lines: tuple[str, ...]
) -> None:
    _paste(alice, *lines)
    assert [e[1] for e in _errors(alice)] == ["MULTILINE_INVALID"]
    assert t.conns[2].take() == []


def test_batch_framing_errors(t: Transcript, alice: Conn) -> None:
    assert _fail_code(alice, "BATCH -nope") == "MULTILINE_INVALID"
    assert _fail_code(alice, "BATCH +1 other-type #c") == "MULTILINE_INVALID"
    assert t.conns[3].send_take("BATCH +1 draft/multiline #c")[0].command == "421"  # no cap
    # A batch-tagged line with no batch open is an ordinary message (the tag was always ignored).
    alice.send("@batch=zz PRIVMSG #c :plain")
    assert t.conns[3].take_lines() == [":alice!alice@127.0.0.1 PRIVMSG #c plain"]


def _fail_code(conn: Conn, line: str) -> str:
    (fail,) = conn.send_take(line)
    return fail.params[1]


def test_history_replays_a_stored_multiline_message(t: Transcript, alice: Conn) -> None:
    alice.send("CAP REQ draft/chathistory")
    old = t.conns[3]
    old.send("CAP REQ :batch draft/chathistory")
    record = HistoryRecord(
        "m7", T0_MS, "PRIVMSG", "bob!bob@127.0.0.1", "#c", "#c", "one\n\n" + "é" * 200
    )
    for conn in (alice, old):
        conn.take()
        t.apply(t.state.history_result(_query(conn.send("CHATHISTORY LATEST #c * 5")), [record]))
    got = alice.take_lines()
    assert got[1] == "@batch=b2;msgid=m7 :bob!bob@127.0.0.1 BATCH +b1 draft/multiline #c"
    inner = [line.split(" :", 1)[0].split(" ")[0] for line in got[2:-2]]
    # One line each for "one" and the blank, the 400 bytes of é cut at 300 into a concat piece.
    assert inner == ["@batch=b1"] * 3 + ["@batch=b1;draft/multiline-concat"]
    fallback = old.take_lines()
    assert [line.rsplit(" ", 1)[-1][:4] for line in fallback[1:-1]] == ["one", "éééé", "éééé"]


# ----------------------------------------------------------------------------- real sockets


async def test_a_paste_reaches_irc_clients_and_history_as_one_message(
    irc_server: LanchatServer,
) -> None:
    caps = (*ML, "draft/chathistory", "server-time")
    alice = await registered(irc_server.port, "alice", "#c", caps=caps)
    old = await registered(irc_server.port, "old", "#c")
    alice.send("@label=p BATCH +x draft/multiline #c")
    alice.send("@batch=x PRIVMSG #c :def f():")
    alice.send("@batch=x PRIVMSG #c :    return 1")
    alice.send("BATCH -x")
    echo = await alice.expect("BATCH", lambda m: m.tags.get("label") == "p")
    assert echo.params[1:] == ("draft/multiline", "#c") and echo.tags["msgid"]
    assert [(await old.expect("PRIVMSG")).params[1] for _ in range(2)] == [
        "def f():",
        "    return 1",
    ]
    await alice.expect("BATCH", lambda m: m.params[0] == "-" + echo.params[0][1:])
    alice.drain()
    alice.send("CHATHISTORY LATEST #c * 10")
    outer = await alice.expect("BATCH", lambda m: m.params[1:] == ("chathistory", "#c"))
    got = [await alice.expect(lambda m: True) for _ in range(5)]
    assert got[0].params[1:] == ("draft/multiline", "#c") and got[0].tags["msgid"]
    assert got[0].tags["batch"] == outer.params[0][1:]
    assert [m.params[1] for m in got[1:3]] == ["def f():", "    return 1"]
    assert [m.params[0][0] for m in got[3:]] == ["-", "-"]  # the inner, then the outer end
    for client in (alice, old):
        await client.close()


def test_labels_and_lines_of_other_batches(t: Transcript, alice: Conn) -> None:
    alice.send("CAP REQ -echo-message")
    alice.take()
    # Without echo-message the label is answered by an ACK when the batch closes.
    assert alice.send_take("@label=L BATCH +123 draft/multiline #c") == []
    alice.send("@batch=999 PRIVMSG #c :not this batch")
    assert [m.params[1] for m in alice.take()] == ["MULTILINE_INVALID"]
    alice.send("@batch=123 NOTICE #c :a notice is no batch line")
    assert t.conns[3].take_lines() == [
        ":alice!alice@127.0.0.1 NOTICE #c :a notice is no batch line"
    ]
    alice.send("@batch=123 PRIVMSG #c :x")
    assert [m.to_line() for m in alice.send_take("BATCH -123")] == ["@label=L :lanchat.local ACK"]
