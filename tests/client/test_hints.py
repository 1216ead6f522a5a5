"""Transcript tests of numerics shown to the person (lanchat.client.hints) through the client
session: refusals as ServerError with plain-words hints, other replies as notices.
"""

from __future__ import annotations

from lanchat.client.events import ServerError, ServerNotice
from lanchat.client.session import hint_for
from tests.client.transcript import feed, joined, registered


def test_error_numerics_become_server_errors_with_hints() -> None:
    s = joined()
    cases = {
        ":srv 475 alice #vault :Cannot join channel (+k)": "This room needs a key (password)",
        ":srv 474 alice #vault :Cannot join channel (+b)": "You are banned from this room",
        ":srv 471 alice #vault :Cannot join channel (+l)": "This room is full; try again later",
        ":srv 473 alice #vault :Cannot join channel (+i)": (
            "This room is invite-only; ask someone inside to /invite you"
        ),
        ":srv 464 alice :Password incorrect": (
            "Wrong server password; ask the host of the room for the right one"
        ),
    }
    for line, hint in cases.items():
        (event,) = feed(s, line)
        assert isinstance(event, ServerError)
        assert (event.code, event.hint) == (line.split()[1], hint)
    (event,) = feed(s, ":srv 475 alice #vault :Cannot join channel (+k)")
    assert isinstance(event, ServerError)
    assert event.text == "#vault: Cannot join channel (+k)"


def test_unknown_error_numeric_has_an_empty_hint() -> None:
    assert hint_for("499") == ""


def test_informational_numerics_become_server_notices() -> None:
    s = registered()
    assert feed(s, ":srv 372 alice :- Welcome to the lobby") == [
        ServerNotice("lan", "- Welcome to the lobby")
    ]
    assert feed(s, ":srv 004 alice srv lanchat-0.1 o imnst") == []


def test_other_standard_replies_are_server_errors() -> None:
    s = registered()
    (event,) = feed(s, ":srv FAIL SETNAME INVALID_REALNAME :Realname is too long")
    assert event == ServerError("lan", "SETNAME INVALID_REALNAME", "Realname is too long", "")
