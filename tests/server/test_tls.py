"""The TLS port (lanchat.server.tls) through real sockets on 127.0.0.1: one more way into the
same hub, and what it does with peers that never get through a handshake (#17).

Each countermeasure's test is named after it (h11 style). Every test runs on the standard
asyncio loop and on uvloop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lanchat.server.app import LanchatServer, running_server
from tests.server.clients import registered
from tests.support import LineClient, server_config

ALSO_ON_UVLOOP = True  # tests/conftest.py runs each test on both loops


@contextlib.asynccontextmanager
async def server_with(tmp_path: Path, **sections: dict[str, Any]) -> AsyncIterator[LanchatServer]:
    async with running_server(server_config(tmp_path / "data", **sections)) as server:
        yield server


async def raw(port: int, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, Any]:
    """A plain TCP connection to 127.0.0.1:`port` from the address `source`."""
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def expect_cut(reader: asyncio.StreamReader, timeout_s: float = 3.0) -> bytes:
    """Read until the server closes; fail if it has not within `timeout_s`."""
    got = b""
    async with asyncio.timeout(timeout_s):
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(4096):
                got += chunk
    return got


async def test_tls_user_and_plain_user_share_a_room(irc_server: LanchatServer) -> None:
    alice = await registered(irc_server.tls_port, "alice", "#lobby", tls=True)
    bob = await registered(irc_server.port, "bob", "#lobby")
    alice.send("PRIVMSG #lobby :over tls")
    got = await bob.expect("PRIVMSG")
    assert got.params == ("#lobby", "over tls")
    assert got.source == "alice!alice@127.0.0.1"  # the IP in the hostmask, as on plain TCP
    bob.send("PRIVMSG #lobby :over tcp")
    assert (await alice.expect("PRIVMSG")).params == ("#lobby", "over tcp")


async def test_handshake_cap_countermeasure_cuts_the_floods_oldest_and_a_real_client_gets_in(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lanchat.server.admission")
    tls = {"port": 0, "handshake_timeout_s": 60.0, "max_handshakes": 8}
    async with server_with(tmp_path, tls=tls) as server:
        assert server.tls_listener is not None
        in_flight = server.tls_listener.handshakes.in_flight
        # 127.0.0.2 opens 24 connections: half say nothing, half start a ClientHello (a
        # record header) and stall. The deadline is a minute away: only the cap cuts them,
        # eight at a time once they have stalled for a second.
        flood = [await raw(server.tls_port, "127.0.0.2") for _ in range(24)]
        for _, writer in flood[1::2]:
            writer.write(b"\x16\x03\x01\x00\xc8")
        cut = await asyncio.gather(*(expect_cut(reader, 10.0) for reader, _ in flood[:16]))
        assert cut == [b""] * 16
        alice = await registered(server.tls_port, "alice", "#lobby", tls=True)
        bob = await registered(server.port, "bob", "#lobby")
        alice.send("PRIVMSG #lobby :still here")
        assert (await bob.expect("PRIVMSG")).params == ("#lobby", "still here")
        assert await expect_cut(flood[16][0]) == b""  # alice's handshake took its place
        assert list(in_flight.values()) == ["127.0.0.2"] * 7
        assert [r.getMessage() for r in caplog.records] == [
            "closed a TLS handshake in progress from 127.0.0.2 to make room: 8 handshakes were "
            "in progress ([tls] max_handshakes); 1 closed since the last line like this"
        ]
        for _, writer in flood:
            writer.close()
    assert not in_flight  # closing the server closed the handshakes still in progress


async def test_a_burst_of_handshakes_past_the_cap_waits_its_turn(tmp_path: Path) -> None:
    tls = {"port": 0, "max_handshakes": 4}
    async with server_with(tmp_path, tls=tls, limits={"max_connections_per_ip": 64}) as server:
        clients = await asyncio.gather(
            *(registered(server.tls_port, f"u{i}", tls=True) for i in range(40))
        )
        assert len(server.hub.connections) == 40  # none was cut: they queued in the backlog
        for client in clients:
            await client.close()


async def test_connections_per_ip_limit_counts_tls_and_plain_together(tmp_path: Path) -> None:
    async with server_with(tmp_path, limits={"max_connections_per_ip": 2}) as server:
        alice = await registered(server.port, "alice")
        bob = await registered(server.tls_port, "bob", tls=True)
        assert alice.seen and bob.seen  # both stay open
        third = await LineClient.connect(server.tls_port, tls=True)
        refused = await third.expect_closed()
        assert [m.params[-1] for m in refused] == ["Too many connections from your address"]


async def test_flood_control_countermeasure_holds_on_tls(tmp_path: Path) -> None:
    flood = {"burst_lines": 5, "lines_per_s": 1.0, "max_delayed_lines": 10}
    async with server_with(tmp_path, flood=flood) as server:
        alice = await registered(server.tls_port, "alice", tls=True)
        alice.send("".join(f"PING :{i}\r\n" for i in range(50)))
        closing = await alice.expect_closed()
        assert closing[-1].verb == "ERROR" and "Excess Flood" in closing[-1].params[-1]


async def test_http_request_on_tls_port_is_cut_and_costs_nothing(
    irc_server: LanchatServer,
) -> None:
    reader, writer = await raw(irc_server.tls_port)
    writer.write(b"GET / HTTP/1.1\r\nHost: lanchat.local\r\n\r\n")
    assert await expect_cut(reader) == b""
    writer.close()
    assert irc_server.hub.connections == {}
    await registered(irc_server.tls_port, "alice", tls=True)  # the port still works


async def test_plain_irc_on_tls_port_is_cut(irc_server: LanchatServer) -> None:
    reader, writer = await raw(irc_server.tls_port)
    writer.write(b"NICK alice\r\nUSER alice 0 * :alice\r\n")
    assert await expect_cut(reader) == b""
    writer.close()
    assert irc_server.hub.connections == {}


async def test_handshake_timeout_countermeasure_cuts_a_silent_peer(tmp_path: Path) -> None:
    async with server_with(tmp_path, tls={"port": 0, "handshake_timeout_s": 0.3}) as server:
        reader, writer = await raw(server.tls_port)
        assert await expect_cut(reader) == b""
        writer.close()


async def test_handshake_flood_countermeasure_others_chat_and_every_stalled_one_is_cut(
    tmp_path: Path,
) -> None:
    tls = {"port": 0, "handshake_timeout_s": 1.0}
    async with server_with(tmp_path, tls=tls, limits={"max_connections_per_ip": 4}) as server:
        # 127.0.0.2 opens fifty connections and never finishes a handshake...
        flood = [await raw(server.tls_port, "127.0.0.2") for _ in range(50)]
        for _, writer in flood[::2]:
            writer.write(b"\x16\x03\x01\x00\xc8")  # half of them start one: a record header
        # ...while another machine gets in over TLS and chats.
        alice = await registered(server.tls_port, "alice", "#lobby", tls=True)
        bob = await registered(server.port, "bob", "#lobby")
        alice.send("PRIVMSG #lobby :still here")
        assert (await bob.expect("PRIVMSG")).params == ("#lobby", "still here")
        cut = await asyncio.gather(*(expect_cut(reader) for reader, _ in flood))
        assert cut == [b""] * 50
        assert {c.ip for c in server.hub.connections.values()} == {"127.0.0.1"}
        for _, writer in flood:
            writer.close()
