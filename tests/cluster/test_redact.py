"""What a node appends for a line with a password (lanchat.cluster.redact): plain calls."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from lanchat.cluster.events import CONNECT, LINE, Event
from lanchat.cluster.redact import redact, restore
from lanchat.cluster.replica import Replica
from tests.support import server_config

WORD = "door-word-42"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


ANY_PROOF = b64("c=,r=,p=")
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
        ("AUTHENTICATE " + "A" * 400, "AUTHENTICATE *"),
    ],
)
def test_a_line_with_a_secret_is_logged_without_it(line: str, logged: str) -> None:
    redacted = redact(line.encode(), WORD)
    assert redacted is not None
    assert redacted[0].decode() == logged
    aborted = logged == "AUTHENTICATE *"  # applied as logged by its origin too
    assert redacted[1] == (logged.encode() if aborted else line.encode())


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
