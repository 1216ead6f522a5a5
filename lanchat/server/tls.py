"""The TLS port: accept, hold the handshake under a cap and a deadline, then join the Hub.

Layer: asyncio edge; may import asyncio, socket, ssl, lanchat.server.connection,
lanchat.server.tlstransport and the pure lanchat.server.admission.
Spec: issue 17 ("TLS, on by default"; the admission cap for handshakes in progress).

One connection's way in::

    sock_accept          the listening socket, one connection at a time, on the loop
    Handshakes.full      [tls] max_handshakes in progress: this one waits, and accepting stops
                         (the next wait in the kernel's listen backlog), until one ends or one
                         has taken a second: then the oldest such of the address holding the
                         most is closed (logged, at most one line every 10 s)
    Handshakes.begin     counted
    handshake            lanchat.server.tlstransport: our own, on the socket, under [tls]
                         handshake_timeout_s: a peer that says nothing, sends a ClientHello a
                         byte at a time, or speaks plain IRC or HTTP, is cut by the deadline
                         or at its first bad byte
    IrcConnection        on a TlsTransport once the handshake is done: Hub.accept and from then
                         on like a plain TCP connection (per-address cap, flood control, SendQ)
    Handshakes.end       whatever happened

Policies a reader might question:
- The socket is accepted by our own loop over `sock_accept` and its handshake run by
  `tlstransport.handshake`, instead of `create_server(ssl=...)`: create_server hands the
  connection to the protocol only after the handshake and says nothing when one fails, so a
  count of handshakes in progress could not know when to go down.
- The loop's own TLS (connect_accepted_socket(ssl=...)) is not used at all: its memory BIOs
  and SSL protocol cost a fifth more per TLS write than OpenSSL writing to the socket itself
  (issue 17; why, and the numbers, in lanchat.server.tlstransport and docs/benchmarks.md).
- Cancelling a handshake's task closes its socket at once (`handshake` closes it on the way
  out), so closing the oldest handshake costs no waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from typing import TYPE_CHECKING

from lanchat.server.admission import Handshakes
from lanchat.server.connection import IrcConnection
from lanchat.server.tlstransport import READ_BUFFER_BYTES, TlsTransport, handshake

if TYPE_CHECKING:
    from lanchat.server.hub import Hub

__all__ = ["TlsListener"]

log = logging.getLogger(__name__)


class TlsListener:
    """The TLS port of one server: its accept loop and its handshakes in progress."""

    def __init__(
        self,
        hub: Hub,
        sock: socket.socket,
        context: ssl.SSLContext,
        *,
        max_handshakes: int,
        handshake_timeout_s: float,
    ) -> None:
        """Listen on `sock` (bound and listening) with `context`; call `start` to accept.

        Args:
            hub: where connections go once their handshake is done.
            sock: the listening socket.
            context: the server's TLS context.
            max_handshakes: handshakes in progress at once ([tls] max_handshakes).
            handshake_timeout_s: longest handshake ([tls] handshake_timeout_s).
        """
        self.sock = sock
        self._hub = hub
        self._context = context
        self._timeout_s = handshake_timeout_s
        self.handshakes = Handshakes(max_in_flight=max_handshakes, clock=time.monotonic)
        self._pending: dict[int, _Pending] = {}  # handshake id -> its socket and task
        self._accepting: asyncio.Task[None] | None = None
        self._freed = asyncio.Event()  # a handshake ended: the accept loop may go on
        # Every connection's records are read into this, then copied out (TlsTransport).
        self._read_buffer = memoryview(bytearray(READ_BUFFER_BYTES))

    def start(self) -> None:
        """Start accepting connections (loop thread)."""
        self.sock.setblocking(False)
        self._accepting = asyncio.get_running_loop().create_task(self._accept())

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, peer = await loop.sock_accept(self.sock)
            except OSError as e:  # EMFILE and the like: the Hub's caps keep this rare
                log.warning("cannot accept a TLS connection: %s", e.strerror or e)
                await asyncio.sleep(0.1)
                continue
            try:  # the newcomer holds a socket only, no TLS buffers, while it waits
                await self._room()
            except asyncio.CancelledError:
                conn.close()
                raise
            key = self.handshakes.begin(peer[0].removeprefix("::ffff:"))
            pending = _Pending(conn)
            self._pending[key] = pending
            pending.task = loop.create_task(self._handshake(key, pending))

    async def _room(self) -> None:
        """Wait until one more handshake may begin, closing a stalled one when there is one."""
        while self.handshakes.full:
            victim, wait_s = self.handshakes.make_room()
            if victim:
                self._pending.pop(victim).cut()
                self.handshakes.end(victim)
                return
            self._freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._freed.wait(), wait_s)

    async def _handshake(self, key: int, pending: _Pending) -> None:
        pending.started = True
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout_s):
                sock, peer = await handshake(loop, pending.sock, self._context)
        except OSError:  # timed out, reset, not TLS (ssl.SSLError): handshake() closed it
            pass
        else:
            connection = IrcConnection(self._hub)
            TlsTransport(loop, sock, peer, connection, self._read_buffer).start()
        finally:
            if self._pending.pop(key, None) is not None:
                self.handshakes.end(key)
                self._freed.set()

    async def close(self) -> None:
        """Stop accepting and close every handshake in progress."""
        if self._accepting is not None:
            self._accepting.cancel()
        tasks = [p.task for p in self._pending.values()] + [self._accepting]
        for key, pending in self._pending.items():
            pending.cut()
            self.handshakes.end(key)
        self._pending.clear()
        self._accepting = None
        for task in filter(None, tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.sock.close()


class _Pending:
    """One handshake in progress: its socket and the task that runs it."""

    __slots__ = ("sock", "started", "task")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.task: asyncio.Task[None] | None = None
        self.started = False  # the task runs: the loop owns the socket now

    def cut(self) -> None:
        """Close the connection now, whether or not its handshake has begun."""
        if not self.started:  # a task cancelled before its first step never runs
            self.sock.close()
        if self.task is not None:
            self.task.cancel()
