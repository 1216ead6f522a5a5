"""The web edge over real sockets: IRC over WebSocket beside TCP, the page, /api/rooms.

Spec: issue 16 (server side); https://ircv3.net/specs/extensions/websocket (subprotocols in the
client's order, none is fine, one line per message); RFC 6455 10.2 (Origin). Each limit's test
is named after its countermeasure, as in tests/server/test_connection.py, and runs on asyncio
and on uvloop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from lanchat import __version__
from lanchat.server.app import LanchatServer, running_server
from tests.server.clients import registered
from tests.support import server_config
from tests.web.clients import (
    WsLineClient,
    client_frame,
    is_privmsg,
    parse_head,
    raw_upgrade,
    upgrade_request,
    ws_registered,
)

ALSO_ON_UVLOOP = True  # tests/conftest.py runs each test on both loops
TEXT, BINARY = "text.ircv3.net", "binary.ircv3.net"


@contextlib.asynccontextmanager
async def web_server_with(
    tmp_path: Path, **sections: dict[str, Any]
) -> AsyncIterator[LanchatServer]:
    """An in-process server with the browser client on a free port (`.web_port`)."""
    web = {"enabled": True, **sections.pop("web", {})}
    config = server_config(tmp_path / "data", web=web, **sections)
    async with running_server(config) as server:
        yield server


@pytest.fixture
async def web_server(tmp_path: Path) -> AsyncIterator[LanchatServer]:
    async with web_server_with(tmp_path) as server:
        yield server


async def http_get(
    port: int, path: str, host: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """GET http://127.0.0.1:PORT/PATH (with the Host header `host`): status, headers, body."""
    headers = {"Host": host} if host else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}", headers=headers) as response,
    ):
        return response.status, dict(response.headers), await response.read()


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
        assert got.source is not None and got.source.startswith("bob!")
        logged = [r.getMessage() for r in caplog.records if r.name == "lanchat.rooms"]
        assert "<127.0.0.1> alice #lobby: hello from the browser" in logged
    finally:
        await alice.close()
        await bob.close()


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        ((TEXT,), TEXT),
        ((BINARY,), BINARY),
        ((), None),
        ((BINARY, TEXT), BINARY),
        ((TEXT, BINARY), TEXT),
        (("chat.example", BINARY), BINARY),
    ],
)
async def test_subprotocol_is_the_clients_first_known_one(
    web_server: LanchatServer, offered: tuple[str, ...], chosen: str | None
) -> None:
    handshake, _, writer = await raw_upgrade(web_server.web_port, protocols=offered)
    writer.close()
    assert handshake.status == 101
    assert handshake.headers.get("sec-websocket-protocol") == chosen


@pytest.mark.parametrize(
    ("offered", "frame_type"),
    [((BINARY,), aiohttp.WSMsgType.BINARY), ((TEXT,), aiohttp.WSMsgType.TEXT),
     ((), aiohttp.WSMsgType.TEXT)],
)  # fmt: skip
async def test_each_line_is_one_frame_of_the_subprotocols_type(
    web_server: LanchatServer, offered: tuple[str, ...], frame_type: aiohttp.WSMsgType
) -> None:
    client = await ws_registered(web_server.web_port, "alice", "#lobby", protocols=offered)
    try:
        assert client.frames
        assert {kind for kind, _ in client.frames} == {frame_type}
        assert not any(b"\r" in raw or b"\n" in raw for _, raw in client.frames)
        assert len(client.frames) == len(client.seen)
    finally:
        await client.close()


async def test_websocket_is_also_served_at_irc_path(web_server: LanchatServer) -> None:
    client = await WsLineClient.connect_ws(web_server.web_port, path="/irc", protocols=(TEXT,))
    try:
        assert client.protocol == TEXT
        await client.register("alice")
    finally:
        await client.close()


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "http://127.0.0.1:1", "https://127.0.0.1", "null", "file://"],
)
async def test_cross_site_websocket_countermeasure_refuses_other_origins_with_403(
    web_server: LanchatServer, origin: str
) -> None:
    handshake, _, writer = await raw_upgrade(web_server.web_port, origin=origin)
    writer.close()
    assert handshake.status == 403
    assert b"another site" in handshake.body
    assert not web_server.hub.connections


@pytest.mark.parametrize("origin", [None, "http://127.0.0.1:{port}", "HTTP://127.0.0.1:{port}"])
async def test_websocket_from_the_page_itself_or_without_origin_is_accepted(
    web_server: LanchatServer, origin: str | None
) -> None:
    port = web_server.web_port
    handshake, _, writer = await raw_upgrade(
        port, origin=origin.format(port=port) if origin else None
    )
    writer.close()
    assert handshake.status == 101


async def test_frame_over_line_limit_countermeasure_replies_417_and_keeps_connection(
    web_server: LanchatServer,
) -> None:
    alice = await ws_registered(web_server.web_port, "alice", "#lobby")
    bob = await registered(web_server.port, "bob", "#lobby")
    try:
        alice.send("PRIVMSG #lobby :" + "x" * 600)
        await alice.expect_numeric("417")
        alice.send("PRIVMSG #lobby :short enough")
        assert (await bob.expect("PRIVMSG")).params[1] == "short enough"
        alice.send("PRIVMSG #lobby :" + "y" * 20000)  # past every buffer but the frame limit
        await alice.expect_numeric("417")
        alice.send("PING :still here")
        assert (await alice.expect("PONG")).params[-1] == "still here"
    finally:
        await alice.close()
        await bob.close()


async def test_invalid_utf8_text_frame_countermeasure_replies_fail_and_keeps_connection(
    web_server: LanchatServer,
) -> None:
    alice = await ws_registered(web_server.web_port, "alice", "#lobby", protocols=(TEXT,))
    try:
        alice.send(b"PRIVMSG #lobby :caf\xe9", binary=False)
        fail = await alice.expect("FAIL")
        assert fail.params[:2] == ("*", "INVALID_UTF8")
        alice.send("PING :after")
        assert (await alice.expect("PONG")).params[-1] == "after"
    finally:
        await alice.close()


async def test_a_frame_ending_in_crlf_is_one_line_all_the_same(web_server: LanchatServer) -> None:
    alice = await ws_registered(web_server.web_port, "alice")
    try:
        alice.send("PING :with crlf\r\n")
        assert (await alice.expect("PONG")).params[-1] == "with crlf"
    finally:
        await alice.close()


async def test_websocket_flood_countermeasure_disconnects_with_excess_flood(
    tmp_path: Path,
) -> None:
    flood = {"burst_lines": 10, "lines_per_s": 1.0, "max_delayed_lines": 20}
    async with web_server_with(tmp_path, flood=flood) as server:
        flooder = await ws_registered(server.web_port, "flooder", "#lobby")
        watcher = await registered(server.port, "watcher", "#lobby")
        try:
            for i in range(200):
                flooder.send(f"PRIVMSG #lobby :spam {i}")
            got = await flooder.expect_closed()
            assert any(m.command == "ERROR" and "Excess Flood" in m.params[-1] for m in got)
            quit_ = await watcher.expect("QUIT")
            assert "Excess Flood" in quit_.params[-1]
        finally:
            await flooder.close()
            await watcher.close()


async def test_websocket_slow_reader_sendq_countermeasure(tmp_path: Path) -> None:
    limits = {"sendq_bytes": 64 * 1024}
    async with web_server_with(tmp_path, limits=limits, flood={"enabled": False}) as server:
        # A WebSocket client that never reads after the handshake, with a tiny receive window.
        talker = await registered(server.port, "talker", "#lobby")
        watcher = await registered(server.port, "watcher", "#lobby")
        slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(slow, ("127.0.0.1", server.web_port))
        await loop.sock_sendall(slow, upgrade_request(server.web_port))
        head = b""
        while b"\r\n\r\n" not in head:
            head += await loop.sock_recv(slow, 1)  # byte by byte: nothing past the head
        assert parse_head(head)[0] == 101
        for line in (b"NICK slow", b"USER slow 0 * :slow", b"JOIN #lobby"):
            await loop.sock_sendall(slow, client_frame(line))
        await watcher.expect("JOIN", lambda m: (m.source or "").startswith("slow!"))
        line = "z" * 400
        for chunk in range(30):  # ~1.3 MB: far beyond the sendq and the kernel buffers
            talker.send("".join(f"PRIVMSG #lobby :{chunk} {i} {line}\r\n" for i in range(100)))
            for _ in range(100):
                await watcher.expect("PRIVMSG")
        quit_ = await watcher.expect("QUIT", lambda m: (m.source or "").startswith("slow!"))
        assert quit_.params[-1] == "SendQ exceeded"
        slow.close()
        await talker.close()
        await watcher.close()


async def test_api_rooms_lists_public_rooms_and_leaves_out_secret_ones(
    web_server: LanchatServer,
) -> None:
    alice = await registered(web_server.port, "alice", "#lobby", "#secret", "#locked")
    bob = await ws_registered(web_server.web_port, "bob", "#lobby")
    try:
        alice.send("TOPIC #lobby :Welcome, everyone")
        alice.send("MODE #secret +s")
        alice.send("MODE #locked +k sesame")
        alice.send("PING :done")
        await alice.expect("PONG")
        status, headers, body = await http_get(web_server.web_port, "/api/rooms")
    finally:
        await alice.close()
        await bob.close()
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {
        "server": {"name": web_server.config.server.name, "version": __version__},
        "rooms": [
            {"name": "#lobby", "topic": "Welcome, everyone", "users": 2, "key": False},
            {"name": "#locked", "topic": "", "users": 1, "key": True},
        ],
        "lan": [],
    }


@pytest.mark.parametrize("path", ["/", "/index.html", "/api/rooms", "/no-such-file"])
async def test_every_response_has_a_strict_content_security_policy(
    web_server: LanchatServer, path: str
) -> None:
    status, headers, _ = await http_get(web_server.web_port, path)
    assert status == (404 if path == "/no-such-file" else 200)
    csp = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'"
    port = web_server.web_port
    assert directives["connect-src"] == f"'self' ws://127.0.0.1:{port} wss://127.0.0.1:{port}"
    assert "unsafe" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_the_page_is_index_html_from_the_package(web_server: LanchatServer) -> None:
    status, headers, body = await http_get(web_server.web_port, "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    page = Path(__file__).parents[2] / "lanchat" / "web" / "static" / "index.html"
    assert body == page.read_bytes()


async def test_the_upgrade_answer_carries_the_security_headers(web_server: LanchatServer) -> None:
    handshake, _, writer = await raw_upgrade(web_server.web_port)
    writer.close()
    assert handshake.status == 101
    assert handshake.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in handshake.headers["content-security-policy"]


async def test_frame_past_four_lines_countermeasure_closes_with_1009(
    web_server: LanchatServer,
) -> None:
    alice = await ws_registered(web_server.web_port, "alice")
    try:
        alice.send("PRIVMSG alice :" + "x" * 4 * (512 + 8191))
        closing = await alice.frame()
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1009)
        await alice.ws.close()
        await asyncio.wait_for(_until(lambda: not web_server.hub.connections), 5)
    finally:
        await alice.close()


async def _until(done: Any) -> None:
    while not done():
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("path", ["/", "/api/rooms", "/index.html"])
async def test_dns_rebinding_countermeasure_refuses_other_host_names_with_421(
    web_server: LanchatServer, path: str
) -> None:
    status, headers, body = await http_get(web_server.web_port, path, host="evil.example")
    assert status == 421
    assert b"not evil.example" in body
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_dns_rebinding_countermeasure_also_guards_the_websocket(
    web_server: LanchatServer,
) -> None:
    port = web_server.web_port
    handshake, _, writer = await raw_upgrade(
        port, host=f"evil.example:{port}", origin=f"http://evil.example:{port}"
    )
    writer.close()
    assert handshake.status == 421
    assert not web_server.hub.connections


@pytest.mark.parametrize(
    "name",
    ["127.0.0.1", "[::1]", "localhost", socket.gethostname(), f"{socket.gethostname()}.local",
     "chat.office.lan"],
)  # fmt: skip
async def test_the_page_opens_under_an_address_or_a_name_of_this_machine(
    tmp_path: Path, name: str
) -> None:
    web = {"enabled": True, "hostnames": ["Chat.Office.LAN"]}
    async with web_server_with(tmp_path, web=web) as server:
        status, _, _ = await http_get(server.web_port, "/", host=f"{name}:{server.web_port}")
    assert status == 200


async def test_connections_per_ip_countermeasure_counts_websockets_with_tcp(
    tmp_path: Path,
) -> None:
    async with web_server_with(tmp_path, limits={"max_connections_per_ip": 2}) as server:
        tcp = await registered(server.port, "tcp")
        first = await ws_registered(server.web_port, "web")
        third = await WsLineClient.connect_ws(server.web_port)
        try:
            got = await third.expect_closed()
            assert [m.to_line() for m in got] == ["ERROR :Too many connections from your address"]
        finally:
            for client in (tcp, first, third):
                await client.close()


async def test_shutdown_tells_websocket_users_and_closes_cleanly(tmp_path: Path) -> None:
    async with web_server_with(tmp_path) as server:
        alice = await ws_registered(server.web_port, "alice", "#lobby")
        stopping = asyncio.create_task(server.stop("Server shutting down"))
        try:
            got = await alice.expect_closed()
            assert got[-1].command == "ERROR"
            assert "Server shutting down" in got[-1].params[-1]
            assert alice.ws.close_code == 1000
            await asyncio.wait_for(stopping, 10)
        finally:
            await alice.close()
