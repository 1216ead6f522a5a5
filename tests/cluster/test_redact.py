"""What a node appends for a line with a password (lanchat.cluster.redact): plain calls."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from lanchat.cluster.events import CONNECT, LINE, Event
from lanchat.cluster.redact import Logged, SaslChunks, redact, restore
from lanchat.cluster.replica import Replica
from lanchat.server.effects import Password
from tests.support import server_config

WORD = "door-word-42"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


ANY_PROOF = b64("c=,r=,p=")
TOO_LONG = "A" * 401
SCRAM_FIRST = b64("n,,n=alice,r=abcdef")


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        (f"PASS {WORD}", "PASS 1"),
        ("PASS guess", "PASS 0"),
        ("OPER host :open sesame", "OPER host *"),
        ("REGISTER * * :long enough", "REGISTER * * ******"),
        ("REGISTER * * short", "REGISTER * * *"),
        ("VERIFY alice 123456", "VERIFY alice *"),
        (
            "@label=7 AUTHENTICATE " + b64("\0alice\0hunter22"),
            "@label=7 AUTHENTICATE " + b64("\0alice\0*"),
        ),
        ("AUTHENTICATE " + b64("c=biws,r=abcdefXYZ,p=cHJvb2Y="), f"AUTHENTICATE {ANY_PROOF}"),
        ("AUTHENTICATE hunter22!", "AUTHENTICATE !"),
        ("AUTHENTICATE " + "B" * 401, "AUTHENTICATE " + TOO_LONG),
    ],
)
def test_a_line_with_a_secret_is_logged_without_it(line: str, logged: str) -> None:
    redacted = redact(line.encode(), WORD)
    assert redacted is not None
    assert redacted[0].decode() == logged
    refused = logged.endswith(TOO_LONG)  # applied as logged by its origin too (905 everywhere)
    assert redacted[1] == (logged.encode() if refused else line.encode())


@pytest.mark.parametrize(
    "line",
    [
        "PRIVMSG #lobby :my password is x",
        "AUTHENTICATE PLAIN",
        "AUTHENTICATE +",
        "AUTHENTICATE *",
        f"AUTHENTICATE {SCRAM_FIRST}",
        "OPER onlyname",
        "\xff".encode("latin-1").decode("latin-1"),
    ],
)
def test_a_line_without_a_secret_is_logged_as_sent(line: str) -> None:
    assert redact(line.encode(), WORD) is None


def test_other_nodes_put_back_their_own_server_password_for_a_right_pass() -> None:
    assert restore(b"PASS 1", WORD) == f"PASS {WORD}".encode()
    assert restore(b"PASS 0", WORD) != f"PASS {WORD}".encode()
    assert restore(b"OPER host *", WORD) == b"OPER host *"


def test_the_origin_applies_the_line_it_kept_and_the_others_the_redacted_one(
    tmp_path: Path,
) -> None:
    config = server_config(tmp_path, server={"password": WORD})
    origin, other = Replica(config), Replica(config)
    alice = (1 << 32) + 1
    logged, applied = redact(f"PASS {WORD}".encode(), WORD) or (b"", b"")
    origin.keep(alice, 1, applied)
    event = Event(LINE, 1, alice, logged, secret=1)
    assert Event.from_fields({k.encode(): v for k, v in event.fields().items()}) == event
    for replica in (origin, other):
        replica.apply("1000-0", Event(CONNECT, 1, alice, b"10.0.0.1"))
        replica.apply("1000-1", event)
        replica.apply("1000-2", Event(LINE, 1, alice, b"NICK alice"))
        replica.apply("1000-3", Event(LINE, 1, alice, b"USER a 0 * :a"))
        assert replica.state.users[alice].registered  # the right PASS, on both


def chunked(response: str) -> list[bytes]:
    """AUTHENTICATE lines of `response` in 400-byte chunks, as sasl-3.1 sends it."""
    chunks = [response[i : i + 400] for i in range(0, len(response), 400)]
    if len(chunks[-1]) == 400:
        chunks.append("+")
    return [f"AUTHENTICATE {chunk}".encode() for chunk in chunks]


def fed(chunks: SaslChunks, lines: list[bytes], conn_id: int = 1) -> list[Logged]:
    return [logged for line in lines for logged in chunks.line(conn_id, line)]


@pytest.mark.parametrize("length", [293, 400, 900])  # one chunk and "+", two, three
def test_a_plain_response_in_chunks_is_one_entry_redacted_as_a_whole(length: int) -> None:
    password = "p" * length
    sent = chunked(b64(f"\0alice\0{password}"))
    held = SaslChunks(WORD)
    assert [held.line(1, line) for line in sent[:-1]] == [[] for _ in sent[:-1]]
    (whole,) = held.line(1, sent[-1])
    assert whole.chunks and whole.kept == b"\n".join(sent)  # the origin applies them as sent
    redacted = b"AUTHENTICATE " + b64("\0alice\0*").encode()
    assert whole.logged == redacted
    short = b"AUTHENTICATE " + b64("\0alice\0short").encode()  # one line, as before
    assert held.line(1, short) == [Logged(redacted, short)]


def test_a_long_name_is_cut_in_chunks_again_and_a_response_without_secret_kept() -> None:
    name = "n" * 400  # the redacted response is still over 400 bytes
    logged = fed(SaslChunks(WORD), chunked(b64(f"\0{name}\0{'p' * 10}")))[0].logged.split(b"\n")
    assert len(logged) == 2 and len(logged[0]) == len("AUTHENTICATE ") + 400
    assert (
        b"".join(line.removeprefix(b"AUTHENTICATE ") for line in logged)
        == b64(f"\0{name}\0*").encode()
    )
    first = chunked(b64(f"n,,n={name},r=abcdef"))  # a SCRAM client-first: no secret
    assert fed(SaslChunks(WORD), first) == [Logged(b"\n".join(first), chunks=True)]


def test_other_lines_pass_chunks_held_and_an_abort_or_overflow_drops_them() -> None:
    held = SaslChunks(WORD)
    chunk = b"AUTHENTICATE " + b"Q" * 400
    assert fed(held, [chunk, b"PING x"]) == [Logged(b"PING x")]
    assert fed(held, [b"AUTHENTICATE *"]) == [Logged(b"AUTHENTICATE *")]
    assert fed(held, [b"AUTHENTICATE " + b64("\0a\0b").encode()])[0].logged == (
        b"AUTHENTICATE " + b64("\0a\0*").encode()
    )  # nothing held any more
    too_long = b"AUTHENTICATE " + TOO_LONG.encode()
    assert fed(held, [chunk] * 5) == [Logged(too_long, too_long)]  # 2,000 bytes > 1,600
    assert fed(held, [*[chunk] * 4, b"AUTHENTICATE +"]) == [Logged(too_long, too_long)]
    assert fed(held, [chunk, b"AUTHENTICATE " + b"Q" * 401]) == [Logged(too_long, too_long)]
    held.line(2, chunk)
    held.forget(2)
    assert fed(held, [b"AUTHENTICATE +"], conn_id=2) == [Logged(b"AUTHENTICATE +")]


def test_a_response_in_chunks_logs_both_nodes_in_and_the_origin_applies_the_chunks(
    tmp_path: Path,
) -> None:
    config = server_config(tmp_path)
    origin, other = Replica(config), Replica(config)
    alice = (1 << 32) + 1
    (whole,) = fed(SaslChunks(""), chunked(b64(f"\0alice\0{'p' * 400}")), alice)
    assert whole.kept is not None
    origin.keep(alice, 1, whole.kept)
    event = Event(LINE, 1, alice, whole.logged, secret=1, chunks=True)
    assert Event.from_fields({k.encode(): v for k, v in event.fields().items()}) == event
    asked = []
    for replica in (origin, other):
        replica.apply("1000-0", Event(CONNECT, 1, alice, b"10.0.0.1"))
        replica.apply("1000-1", Event(LINE, 1, alice, b"CAP REQ sasl"))
        replica.apply("1000-2", Event(LINE, 1, alice, b"AUTHENTICATE PLAIN"))
        asked += [e for e in replica.apply("1000-3", event) if isinstance(e, Password)]
        assert replica.state.users[alice].sasl is None
    assert [(e.purpose, e.name) for e in asked] == [("sasl", "alice")] * 2
    assert [e.password for e in asked] == ["p" * 400, "*"]  # the origin read the chunks as sent


LONG = b64(f"\0alice\0{'p' * 400}")  # two chunks


@pytest.mark.parametrize(
    "lines",
    [
        [b"AUTHENTICATE PLAIN", *chunked(LONG)],
        [b"AUTHENTICATE PLAIN", *chunked(b64(f"\0alice\0{'p' * 1193}"))],  # 1,600 bytes, +
        chunked(LONG),  # no mechanism chosen
        [b"AUTHENTICATE PLAIN", chunked(LONG)[0], b"AUTHENTICATE *"],
        [b"AUTHENTICATE PLAIN", chunked(LONG)[0], b"CAP END", chunked(LONG)[1]],
        [b"AUTHENTICATE SCRAM-SHA-256", *chunked(b64(f"n,,n={'n' * 400},r=abc"))],
    ],
)
def test_the_origin_and_the_other_nodes_end_a_sasl_exchange_alike(
    tmp_path: Path, lines: list[bytes]
) -> None:
    """Whatever a client sends, the origin (the chunks as sent) and another node (the log)
    leave the user in one state, and ask for a password check alike."""
    config = server_config(tmp_path)
    origin, other = Replica(config), Replica(config)
    alice = (1 << 32) + 1
    held = SaslChunks("")
    opening = [b"CAP LS 302", b"NICK alice", b"USER a 0 * :a", b"CAP REQ sasl"]
    log = [Event(CONNECT, 1, alice, b"10.0.0.1")]
    for n, line in enumerate([*opening, *lines], start=1):
        for part in held.line(alice, line):
            secret = 0 if part.kept is None else n
            if part.kept is not None:
                origin.keep(alice, n, part.kept)
            log.append(Event(LINE, 1, alice, part.logged, secret=secret, chunks=part.chunks))
    outcomes = []
    for replica in (origin, other):
        checks = [
            e.purpose
            for i, event in enumerate(log)
            for e in replica.apply(f"1000-{i}", event)
            if isinstance(e, Password)
        ]
        user = replica.state.users[alice]
        outcomes.append((user.sasl, user.password_pending, user.registered, checks))
    assert outcomes[0] == outcomes[1]
