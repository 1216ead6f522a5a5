"""Our own TLS transport (lanchat.server.tlstransport) through real sockets on 127.0.0.1.

The peer is `TlsPeer`: a raw socket and an ssl.SSLObject, so a test decides when it reads,
what it sends (half a record, a close_notify) and sees whether the server's close came with a
close_notify. Through a whole server: what the connection's limits do over TLS (SendQ), a
write that fills the socket, the ways a peer can leave. Through the transport alone (handshake
and TlsTransport under a recording protocol): the asyncio.Transport contract. Every test runs
on the standard asyncio loop and on uvloop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lanchat.config import Config, Server, Store, Tls
from lanchat.server.app import LanchatServer, running_server
from lanchat.server.certificate import load_identity
from lanchat.server.tlstransport import READ_BUFFER_BYTES, TlsTransport, handshake
from tests.server.clients import registered
from tests.support import LineClient, insecure_tls_context, server_config

ALSO_ON_UVLOOP = True  # tests/conftest.py runs each test on both loops

FILLER = "z" * 400


class TlsPeer:
    """A TLS client that reads only when a test says so: a raw socket and an SSLObject."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = insecure_tls_context().wrap_bio(self.incoming, self.outgoing)
        self.plain = b""  # decrypted and not yet taken by read_until

    @classmethod
    async def connect(cls, port: int, *, rcvbuf: int = 0) -> TlsPeer:
        """Connect to 127.0.0.1:`port` (with a receive buffer of `rcvbuf` bytes) and handshake."""
        sock = socket.socket()
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        peer = cls(sock)
        while True:
            try:
                peer.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await peer.send_records()
                await peer.receive()
        await peer.send_records()
        return peer

    async def send_records(self) -> None:
        """Send what the SSLObject has written (records, alerts)."""
        data = self.outgoing.read()
        if data:
            await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def receive(self) -> None:
        """Hand the next bytes from the socket to the SSLObject (EOF too)."""
        try:
            data = await asyncio.get_running_loop().sock_recv(self.sock, 65536)
        except ConnectionResetError:
            data = b""
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    async def send(self, text: str) -> None:
        self.tls.write(text.encode())
        await self.send_records()

    async def register(self, nick: str, room: str) -> None:
        await self.send(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN {room}\r\n")
        await self.read_until(b" 366 ")

    async def read_until(self, marker: bytes, timeout_s: float = 10.0) -> bytes:
        """Decrypt until `marker` has come; return everything up to it and the line it ends."""
        async with asyncio.timeout(timeout_s):
            while marker not in self.plain:
                try:
                    self.plain += self.tls.read(65536)
                except ssl.SSLWantReadError:
                    await self.receive()
        end = self.plain.index(b"\n", self.plain.index(marker)) + 1
        got, self.plain = self.plain[:end], self.plain[end:]
        return got

    async def read_some(self) -> bytes:
        """Whatever comes next, decrypted (at least one byte)."""
        while not self.plain:
            try:
                self.plain = self.tls.read(65536)
            except ssl.SSLWantReadError:
                await self.receive()
        got, self.plain = self.plain, b""
        return got

    async def read_to_end(self, timeout_s: float = 5.0) -> tuple[bytes, bool]:
        """Read until the server ends the connection.

        Returns:
            Everything it sent, and whether it ended with a close_notify (not a bare TCP EOF).
        """
        async with asyncio.timeout(timeout_s):
            while True:
                try:
                    chunk = self.tls.read(65536)
                except ssl.SSLWantReadError:
                    await self.receive()
                    continue
                except ssl.SSLEOFError:
                    return self.plain, False
                except ssl.SSLZeroReturnError:  # after our own close_notify
                    return self.plain, True
                if not chunk:
                    return self.plain, True
                self.plain += chunk


@contextlib.asynccontextmanager
async def server_with(tmp_path: Path, **sections: dict[str, Any]) -> AsyncIterator[LanchatServer]:
    async with running_server(server_config(tmp_path / "data", **sections)) as server:
        yield server


def tls_transports(server: LanchatServer) -> list[TlsTransport]:
    return [
        out.transport
        for out in server.hub.delivery.outs.values()
        if isinstance(out.transport, TlsTransport)
    ]


def privmsgs(first: int, count: int) -> str:
    return "".join(f"PRIVMSG #lobby :{i} {FILLER}\r\n" for i in range(first, first + count))


# ---------------------------------------------------------------------- through a server


@pytest.fixture
async def alice_and_bob(irc_server: LanchatServer) -> tuple[TlsPeer, LineClient]:
    """alice over TLS (a TlsPeer) and bob over plain TCP, both registered and in #lobby."""
    alice = await TlsPeer.connect(irc_server.tls_port)
    await alice.register("alice", "#lobby")
    return alice, await registered(irc_server.port, "bob", "#lobby")


async def test_slow_reader_sendq_countermeasure_holds_on_tls(tmp_path: Path) -> None:
    limits = {"sendq_bytes": 64 * 1024}
    async with server_with(tmp_path, limits=limits, flood={"enabled": False}) as server:
        slow = await TlsPeer.connect(server.tls_port, rcvbuf=4096)
        await slow.register("slow", "#lobby")  # ...and never reads again
        talker = await registered(server.tls_port, "talker", "#lobby", tls=True)
        reader = await registered(server.tls_port, "reader", "#lobby", tls=True)
        chunks, per_chunk = 30, 100  # ~1.3 MB in all: far beyond the SendQ and kernel buffers
        for chunk in range(chunks):
            talker.send(privmsgs(chunk * per_chunk, per_chunk))
            # The reader keeps up: each chunk arrives whole, in order, before the next is sent.
            for i in range(per_chunk):
                got = await reader.expect("PRIVMSG")
                assert got.params[1].split()[0] == str(chunk * per_chunk + i)
        quit_ = await reader.expect("QUIT", lambda m: (m.source or "").startswith("slow!"))
        assert quit_.params[-1] == "SendQ exceeded"
        assert len(tls_transports(server)) == 2
        slow.sock.close()


async def test_write_that_fills_the_socket_arrives_byte_exact_once_the_reader_reads(
    tmp_path: Path,
) -> None:
    # OpenSSL's SSL_write meets a full socket (SSLWantWriteError) half-way through a write:
    # the same bytes are written again when the socket drains, later writes queue behind.
    limits = {"sendq_bytes": 8 * 1024 * 1024}
    async with server_with(tmp_path, limits=limits, flood={"enabled": False}) as server:
        slow = await TlsPeer.connect(server.tls_port, rcvbuf=4096)
        await slow.register("slow", "#lobby")
        talker = await registered(server.tls_port, "talker", "#lobby", tls=True)
        await slow.read_until(b"JOIN")
        count = 4000  # 1.7 MB: more than the kernel holds for a peer that does not read
        for first in range(0, count, 500):
            talker.send(privmsgs(first, 500) + "PING :sent")
            await talker.expect("PONG")  # each batch is written (or buffered) by now
        (transport,) = [t for t in tls_transports(server) if t.get_write_buffer_size()]
        assert transport.get_write_buffer_size() > 64 * 1024  # waiting for the socket
        got = await slow.read_until(f":{count - 1} ".encode())
        prefix = ":talker!talker@127.0.0.1 PRIVMSG #lobby :"
        assert got == "".join(f"{prefix}{i} {FILLER}\r\n" for i in range(count)).encode()
        slow.tls.write(b"PING :still here\r\n")
        await slow.send_records()
        assert b"PONG" in await slow.read_until(b"still here")
        assert transport.get_write_buffer_size() == 0


async def test_peer_closing_in_the_middle_of_a_record_quits_as_a_closed_connection(
    irc_server: LanchatServer, alice_and_bob: tuple[TlsPeer, LineClient]
) -> None:
    alice, bob = alice_and_bob
    alice.tls.write(b"PRIVMSG #lobby :whole\r\n")
    alice.tls.write(b"PRIVMSG #lobby :cut off\r\n")
    records = alice.outgoing.read()
    await asyncio.get_running_loop().sock_sendall(alice.sock, records[: len(records) - 10])
    alice.sock.close()  # the second record is missing its last ten bytes
    assert (await bob.expect("PRIVMSG")).params == ("#lobby", "whole")
    quit_ = await bob.expect("QUIT")
    assert (quit_.source, quit_.params) == ("alice!alice@127.0.0.1", ("Connection closed",))
    assert not tls_transports(irc_server)


async def test_close_notify_from_the_client_is_answered_and_the_user_quits(
    alice_and_bob: tuple[TlsPeer, LineClient],
) -> None:
    alice, bob = alice_and_bob
    with pytest.raises(ssl.SSLWantReadError):  # sent; the server's is not here yet
        alice.tls.unwrap()
    await alice.send_records()
    _, close_notify = await alice.read_to_end()
    assert close_notify
    quit_ = await bob.expect("QUIT")
    assert (quit_.source, quit_.params) == ("alice!alice@127.0.0.1", ("Connection closed",))


async def test_server_closes_with_close_notify_after_the_error_line(
    irc_server: LanchatServer,
) -> None:
    alice = await TlsPeer.connect(irc_server.tls_port)
    await alice.register("alice", "#lobby")
    await alice.send("QUIT :bye\r\n")
    rest, close_notify = await alice.read_to_end()
    assert rest.startswith(b"ERROR :Closing Link:") and close_notify


async def test_garbage_record_after_the_handshake_is_a_connection_error(
    irc_server: LanchatServer, alice_and_bob: tuple[TlsPeer, LineClient]
) -> None:
    alice, bob = alice_and_bob
    # An application-data record whose authentication tag is wrong.
    await asyncio.get_running_loop().sock_sendall(alice.sock, b"\x17\x03\x03\x00\x20" + bytes(32))
    quit_ = await bob.expect("QUIT")
    assert quit_.source == "alice!alice@127.0.0.1"
    assert quit_.params[0].startswith("Connection error")
    assert not tls_transports(irc_server)


async def test_handshake_timeout_countermeasure_cuts_a_peer_stalled_after_its_client_hello(
    tmp_path: Path,
) -> None:
    async with server_with(tmp_path, tls={"port": 0, "handshake_timeout_s": 0.5}) as server:
        assert server.tls_listener is not None
        sock = socket.socket()
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, ("127.0.0.1", server.tls_port))
        peer = TlsPeer(sock)
        with pytest.raises(ssl.SSLWantReadError):
            peer.tls.do_handshake()
        await peer.send_records()  # the ClientHello, and then nothing
        answered = b""
        async with asyncio.timeout(3.0):  # the ServerHello and the rest of the server's flight
            while chunk := await loop.sock_recv(sock, 65536):
                answered += chunk
        assert answered.startswith(b"\x16\x03\x03")  # a handshake record, then EOF
        assert not server.tls_listener.handshakes.in_flight
        sock.close()
        alice = await registered(server.tls_port, "alice", tls=True)  # the port still works
        await alice.close()


async def test_tls_connection_has_nagle_off_and_tells_its_tls_details(
    irc_server: LanchatServer,
) -> None:
    alice = await registered(irc_server.tls_port, "alice", tls=True)
    (transport,) = tls_transports(irc_server)
    address = alice.writer.get_extra_info("sockname")
    sock = transport.get_extra_info("socket")
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)  # from the listener
    assert transport.get_extra_info("ssl_object") is sock
    assert transport.get_extra_info("sockname") == ("127.0.0.1", irc_server.tls_port)
    assert transport.get_extra_info("peername") == address
    assert transport.get_extra_info("cipher")[1] == "TLSv1.3"
    assert transport.get_extra_info("peercert") is None  # no client certificate
    assert transport.get_extra_info("compression") is None
    assert irc_server.identity is not None
    assert transport.get_extra_info("sslcontext") is irc_server.identity.context
    alice.send("QUIT")
    await alice.expect_closed()
    assert transport.get_extra_info("sockname", "gone") == "gone"
    assert transport.get_extra_info("peername") == address  # kept


# ---------------------------------------------------------------------- the transport alone


class Recorder(asyncio.Protocol):
    """A protocol that writes down what the transport tells it."""

    def __init__(self) -> None:
        self.data = b""
        self.arrived = asyncio.Event()  # set at each data_received
        self.events: list[str] = []  # eof, pause, resume
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self.fail_with: Exception | None = None  # data_received raises this

    def data_received(self, data: bytes) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.data += data
        self.arrived.set()

    def eof_received(self) -> None:
        self.events.append("eof")

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(exc)

    async def gone(self, timeout_s: float = 5.0) -> Exception | None:
        """Wait for connection_lost; return its exception."""
        return await asyncio.wait_for(self.lost, timeout_s)

    async def next_data(self, timeout_s: float = 5.0) -> bytes:
        async with asyncio.timeout(timeout_s):
            await self.arrived.wait()
        self.arrived.clear()
        data, self.data = self.data, b""
        return data


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[TlsTransport, Recorder, TlsPeer]]:
    """A TlsTransport over an accepted connection (its protocol a Recorder) and its TlsPeer."""
    config = Config(server=Server(name="t"), store=Store(data_dir=tmp_path), tls=Tls())
    context = load_identity(config).context
    loop = asyncio.get_running_loop()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)  # fills up soon
        listener.setblocking(False)
        connecting = loop.create_task(TlsPeer.connect(listener.getsockname()[1], rcvbuf=4096))
        conn, _ = await loop.sock_accept(listener)
        sock, peername = await handshake(loop, conn, context)
        peer = await connecting
    recorder = Recorder()
    transport = TlsTransport(
        loop, sock, peername, recorder, memoryview(bytearray(READ_BUFFER_BYTES))
    )
    transport.start()
    yield transport, recorder, peer
    transport.abort()
    peer.sock.close()


async def test_pause_reading_holds_the_bytes_until_resume_reading(
    pair: tuple[TlsTransport, Recorder, TlsPeer],
) -> None:
    transport, recorder, peer = pair
    await peer.send("one")
    assert await recorder.next_data() == b"one"
    transport.pause_reading()
    assert not transport.is_reading()
    await peer.send("two")
    with pytest.raises(TimeoutError):
        await recorder.next_data(timeout_s=0.3)
    transport.resume_reading()
    assert transport.is_reading()
    assert await recorder.next_data() == b"two"


async def test_writes_past_the_high_water_pause_the_protocol_until_the_peer_reads(
    pair: tuple[TlsTransport, Recorder, TlsPeer],
) -> None:
    transport, recorder, peer = pair
    transport.set_write_buffer_limits(high=1000)
    assert transport.get_write_buffer_limits() == (250, 1000)
    block = bytes(range(256)) * 64
    for _ in range(64):  # 1 MiB, to a peer that does not read yet
        transport.writelines([block[:100], block[100:]])
    assert recorder.events == ["pause"]
    assert transport.get_write_buffer_size() > 1000
    got = b""
    async with asyncio.timeout(10.0):
        while len(got) < 64 * len(block):
            got += await peer.read_some()
    assert got == block * 64
    assert recorder.events == ["pause", "resume"]
    assert transport.get_write_buffer_size() == 0
    assert not transport.can_write_eof()
    with pytest.raises(ValueError):
        transport.set_write_buffer_limits(high=10, low=20)


async def test_close_writes_the_buffer_then_close_notify_and_later_writes_are_dropped(
    pair: tuple[TlsTransport, Recorder, TlsPeer],
) -> None:
    transport, recorder, peer = pair
    transport.write(b"x" * 300_000)  # more than the socket takes at once
    transport.close()
    transport.write(b"dropped")
    assert transport.is_closing()
    assert await peer.read_to_end() == (b"x" * 300_000, True)
    assert await recorder.gone() is None


async def test_abort_closes_at_once_without_close_notify(
    pair: tuple[TlsTransport, Recorder, TlsPeer],
) -> None:
    transport, recorder, peer = pair
    transport.abort()
    assert await peer.read_to_end() == (b"", False)
    assert await recorder.gone() is None


async def test_eof_from_the_peer_tells_the_protocol_and_closes(
    pair: tuple[TlsTransport, Recorder, TlsPeer],
) -> None:
    _, recorder, peer = pair
    await peer.send("last words")
    peer.sock.shutdown(socket.SHUT_WR)  # a TCP FIN, no close_notify
    assert await recorder.gone() is None
    assert recorder.data == b"last words" and recorder.events == ["eof"]


async def test_a_protocol_that_fails_on_data_is_logged_and_loses_its_connection(
    pair: tuple[TlsTransport, Recorder, TlsPeer], caplog: pytest.LogCaptureFixture
) -> None:
    _, recorder, peer = pair
    caplog.set_level(logging.ERROR, logger="asyncio")
    recorder.fail_with = RuntimeError("a bug")
    await peer.send("anything")
    assert await recorder.gone() is recorder.fail_with
    assert "Fatal error: protocol.data_received() call failed." in caplog.text
    assert await peer.read_to_end() == (b"", False)
