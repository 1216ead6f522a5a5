"""The hub (lanchat.server.hub) through real sockets: what reaches the host's console."""

from __future__ import annotations

import logging

import pytest

from lanchat.server.app import LanchatServer
from tests.server.clients import registered


async def test_room_log_spells_out_terminal_controls_in_room_names_and_text(
    irc_server: LanchatServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lanchat.rooms")
    alice = await registered(irc_server.port, "alice", "#r\x1b[31m", caps=("echo-message",))
    # ESC [2J clears the host's screen, BEL rings it, U+202E reverses it, CSI (U+009B) is ESC [.
    alice.send("PRIVMSG #r\x1b[31m :\x1b[2Jhi\x07 \u202eevil\x9b")
    await alice.expect("PRIVMSG")
    lines = [r.getMessage() for r in caplog.records if r.name == "lanchat.rooms"]
    assert lines == ["<127.0.0.1> alice #r\\x1b[31m: \\x1b[2Jhi\\x07 \\u202eevil\\x9b"]
