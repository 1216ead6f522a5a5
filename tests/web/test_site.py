"""The web edge over real sockets: IRC over WebSocket beside TCP, the page, /api/rooms.

Spec: issue 16 (server side); https://ircv3.net/specs/extensions/websocket.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lanchat.server.app import LanchatServer, running_server
from tests.server.clients import registered
from tests.support import server_config
from tests.web.clients import is_privmsg, ws_registered


@pytest.fixture
async def web_server(tmp_path: Path) -> AsyncIterator[LanchatServer]:
    """An in-process server with the browser client on a free port (`.web_port`)."""
    async with running_server(server_config(tmp_path / "data", web={"enabled": True})) as server:
        yield server


async def test_websocket_and_tcp_users_chat_in_one_room(
    web_server: LanchatServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lanchat.rooms")
    alice = await ws_registered(web_server.web_port, "alice", "#lobby")
    bob = await registered(web_server.port, "bob", "#lobby")
    try:
        alice.send("PRIVMSG #lobby :hello from the browser")
        got = await bob.expect(is_privmsg("hello from the browser"))
        assert got.source == "alice!alice@127.0.0.1"
        bob.send("PRIVMSG #lobby :hello from irssi")
        got = await alice.expect(is_privmsg("hello from irssi"))
        assert got.source.startswith("bob!")
        logged = [r.getMessage() for r in caplog.records if r.name == "lanchat.rooms"]
        assert "<127.0.0.1> alice #lobby: hello from the browser" in logged
    finally:
        await alice.close()
        await bob.close()
