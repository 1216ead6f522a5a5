"""TLS over the socket itself: the handshake and the transport of the IRC TLS port.

Layer: asyncio edge; may import asyncio, socket and ssl only (the connection on top is any
asyncio.Protocol; lanchat.server.tls wires them).
Spec: issue 17 ("TLS fan-out against plain TCP: CPU per delivery at most 1.3x plain");
https://docs.openssl.org/3.0/man3/SSL_write/ (what a write that would block asks of the next
one); https://docs.python.org/3/library/ssl.html#notes-on-non-blocking-sockets.

Why not the loop's TLS. asyncio and uvloop run TLS over memory BIOs: OpenSSL encrypts a
record into a buffer, the loop's SSL protocol (Python in asyncio's sslproto, Cython in uvloop)
reads it out into a new bytes object and writes that to the socket. At fan-out saturation a
connection gets one write per loop pass of about 40 joined lines (5.7 KB). Here
`SSLSocket.send` runs SSL_write on the socket: OpenSSL encrypts into its own record buffer and
writes it to the kernel, one system call per record, and nothing else runs in between. At 40
lines per write that took the TLS write's extra cost over a plain one from 6.8 to 4.6 us, a
delivery from 2.12x to 1.77x a plain one; what is left is OpenSSL's record work and the cipher
(docs/benchmarks.md, "TLS fan-out, third pass").

One connection::

    handshake()      wrap_socket(server_side, do_handshake_on_connect=False), then
                     do_handshake() again at each readiness it asks for (add_reader or
                     add_writer, both loops); the caller's deadline cancels it, which closes it
    TlsTransport     asyncio.Transport over the SSLSocket:
      write          SSL_write at once; if the socket is full (SSLWantWriteError) the bytes
                     wait, later ones queue behind them, and add_writer retries
      readable       SSL_read into the listener's buffer until it would block, then ONE
                     data_received with everything read
      close          the buffer written, close_notify, the socket closed; abort: at once

Policies a reader might question:
- After SSLWantWriteError, OpenSSL has already encrypted (and may have sent) part of those
  bytes and remembers how far it got; the retry must pass the same bytes again (SSL_write(3):
  "the same arguments"; CPython sets SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, so the same bytes
  in another object would do, but not other bytes). So the bytes of a write that would block
  are kept as they are (`_held`), and later writes queue behind them and are joined only once
  those went. CPython does not set SSL_MODE_ENABLE_PARTIAL_WRITE either: a write that returns
  has written everything.
- A write that needs to read first (SSLWantReadError on SSL_write) would be a renegotiation:
  OpenSSL 3 refuses a client's (SSL_OP_ALLOW_CLIENT_RENEGOTIATION is off) and the server never
  starts one, so it is an SSLError like any other and the connection is closed.
- A read that needs to write (SSLWantWriteError on SSL_read: a TLS 1.3 KeyUpdate the peer asks
  to be answered while the socket is full) closes the connection like an SSL error: OpenSSL
  keeps one pending write per connection, and a key update cannot go out while our own write
  waits in it. The peer is one that does not read what it is sent, and no IRC client asks for
  key updates at IRC's volumes.
- Reads: SSL_read returns at most one record (16 KiB of plaintext; without read-ahead OpenSSL
  reads a record's header and then its body, nothing more), so a pass reads records into the
  listener's buffer while a whole record still fits, and the connection gets them as one
  bytes object, as a plain transport's one recv would give them. Whatever is left stays in
  the socket, and the loop (level-triggered on both loops) calls again.
- EOF with close_notify and EOF without one (the peer closed TCP, even in the middle of a
  record) both end the connection as a plain EOF does (`eof_received`, then a close that
  writes what was queued): IRC has no truncation attack to fear, since every line ends with
  CRLF and a cut line is never parsed. Our close_notify then goes out after a close_notify;
  after an EOF without one OpenSSL refuses it (the session is in error), which costs nothing.
- Writes after `close()` are dropped, as uvloop's SSL transport drops them: no half-closed
  TLS connection exists to write into.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from typing import Any

__all__ = ["READ_BUFFER_BYTES", "TlsTransport", "handshake"]

# The listener's read buffer: 16 records of TLS's largest plaintext (2^14 bytes, RFC 8446
# 5.1), as much as uvloop reads from a plain socket at once (256 KiB).
READ_BUFFER_BYTES = 16 * 16384
_MAX_RECORD = 16384
_HIGH_WATER = 64 * 1024  # asyncio's defaults; Delivery sets its own
_LOW_WATER = _HIGH_WATER // 4


async def handshake(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, context: ssl.SSLContext
) -> tuple[ssl.SSLSocket, Any]:
    """The server's side of a TLS handshake on the accepted socket `sock`. Loop thread only.

    Args:
        loop: the running loop (its add_reader and add_writer drive the handshake).
        sock: an accepted TCP socket; from here on owned by the handshake.
        context: the server's TLS context.

    Returns:
        The SSLSocket, non-blocking, its handshake done (`sock` is detached into it), and the
        peer's address.

    Raises:
        OSError: the peer reset or closed the connection, or spoke no TLS (ssl.SSLError).
            The socket is closed; so it is when the caller cancels (its deadline).
    """
    conn = sock
    try:
        sock.setblocking(False)
        conn = context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False, suppress_ragged_eofs=False
        )
        fd = conn.fileno()
        while True:
            try:
                conn.do_handshake()
            except ssl.SSLWantReadError:
                await _ready(fd, loop.add_reader, loop.remove_reader, loop)
            except ssl.SSLWantWriteError:
                await _ready(fd, loop.add_writer, loop.remove_writer, loop)
            else:
                assert isinstance(conn, ssl.SSLSocket)
                return conn, conn.getpeername()  # OSError: gone already
    except BaseException:
        conn.close()
        raise


async def _ready(
    fd: int,
    add: Callable[..., object],
    remove: Callable[[int], object],
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Wait until `fd` is readable (add_reader) or writable (add_writer)."""
    waiter = loop.create_future()
    add(fd, _wake, waiter)
    try:
        await waiter
    finally:
        remove(fd)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # level-triggered: it may fire again before the task runs
        waiter.set_result(None)


class TlsTransport(asyncio.Transport):
    """A TLS connection after its handshake, as an asyncio stream transport. Loop thread only.

    Made with the SSLSocket from `handshake`; `start` gives it to the protocol
    (`connection_made`) and starts reading.
    """

    __slots__ = (
        "_buffered",
        "_closing",
        "_fd",
        "_held",
        "_high",
        "_loop",
        "_lost",
        "_low",
        "_paused",
        "_peername",
        "_protocol",
        "_queue",
        "_reader_on",
        "_reading",
        "_sock",
        "_view",
        "_writer_on",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: ssl.SSLSocket,
        peername: Any,
        protocol: asyncio.Protocol,
        read_buffer: memoryview,
    ) -> None:
        """Take over `sock` for `protocol`.

        Args:
            loop: the running loop.
            sock: the SSLSocket of a finished handshake (non-blocking).
            peername: the peer's address, as `handshake` returned it.
            protocol: what hears of the connection (connection_made comes with `start`).
            read_buffer: where records are read to, at least READ_BUFFER_BYTES long; shared by
                every connection of the loop (its bytes are copied out before the protocol
                runs).
        """
        super().__init__()
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._protocol = protocol
        self._view = read_buffer
        self._peername = peername  # kept: a closed socket has no peer to ask
        self._held: bytes | None = None  # a write OpenSSL has begun: retried exactly as is
        self._queue: list[bytes] = []  # writes behind `_held`
        self._buffered = 0  # bytes in `_held` and `_queue`
        self._high = _HIGH_WATER  # pause_writing above this many buffered bytes
        self._low = _LOW_WATER  # resume_writing at or below this many
        self._paused = False  # the protocol was told pause_writing
        self._reading = True  # the protocol wants bytes (pause_reading turns it off)
        self._reader_on = False  # add_reader is on
        self._writer_on = False  # add_writer is on
        self._closing = False  # close() or abort(): no more writes taken
        self._lost = False  # the socket is closed; connection_lost is scheduled

    def start(self) -> None:
        """Tell the protocol (connection_made) and start reading, unless it closed us."""
        self._protocol.connection_made(self)
        self._sync()

    # ------------------------------------------------------------------ asyncio.Transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or not data:
            return
        if not isinstance(data, bytes):
            data = bytes(data)
        if self._buffered:
            self._queue.append(data)
        else:
            try:
                self._sock.send(data)
                return
            except ssl.SSLWantWriteError:
                self._held = data  # see the module docstring: retried as is
            except OSError as exc:  # reset, broken pipe, an SSL error
                self._force_close(exc)
                return
        self._buffered += len(data)
        self._sync()  # add_writer, if these are the first bytes to wait
        if not self._paused and self._buffered > self._high:
            self._paused = True
            self._protocol.pause_writing()

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        return False  # TLS has close_notify only, which ends both directions for us

    def get_write_buffer_size(self) -> int:
        return self._buffered

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._low, self._high

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = _HIGH_WATER if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high, self._low = high, low

    def pause_reading(self) -> None:
        self._reading = False
        self._sync()

    def resume_reading(self) -> None:
        self._reading = True
        self._sync()

    def is_reading(self) -> bool:
        return self._reading and not self._closing

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Write what is buffered, then close_notify (if the TLS session is sound) and close."""
        if self._closing:
            return
        self._closing = True
        self._sync()
        if not self._buffered:
            self._shut_down()

    def abort(self) -> None:
        self._force_close(None)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        assert isinstance(protocol, asyncio.Protocol)
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """peername, sockname, socket, ssl_object (the SSLSocket), sslcontext, peercert,
        cipher, compression: what asyncio's SSL transports give, while the socket is open."""
        if name == "peername":
            return self._peername
        query = _EXTRAS.get(name)
        if query is None or self._lost:
            return default
        return query(self._sock)

    # ------------------------------------------------------------------ readiness

    def _sync(self) -> None:
        """Turn add_reader / add_writer on or off to match what the connection waits for."""
        loop, fd = self._loop, self._fd
        reader = self._reading and not self._closing
        if reader != self._reader_on:
            self._reader_on = reader
            _ = loop.add_reader(fd, self._on_readable) if reader else loop.remove_reader(fd)
        writer = self._buffered > 0
        if writer != self._writer_on:
            self._writer_on = writer
            _ = loop.add_writer(fd, self._flush) if writer else loop.remove_writer(fd)

    def _on_readable(self) -> None:
        view = self._view
        room = len(view) - _MAX_RECORD  # read while a whole record still fits
        recv_into = self._sock.recv_into
        got = 0
        eof = False
        error: OSError | None = None
        try:
            while got <= room:
                n = recv_into(view[got:])
                if not n:  # close_notify
                    eof = True
                    break
                got += n
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLEOFError:  # TCP closed without close_notify, maybe inside a record
            eof = True
        except OSError as exc:  # reset; an SSL error: a bad record, an alert; see above
            error = exc
        if got:
            try:
                self._protocol.data_received(bytes(view[:got]))
            except Exception as exc:
                self._fatal(exc, "Fatal error: protocol.data_received() call failed.")
                return
        if error is not None:
            self._force_close(error)
        elif eof and not self._closing:
            try:
                self._protocol.eof_received()  # keeping the connection open is not possible
            except Exception as exc:
                self._fatal(exc, "Fatal error: protocol.eof_received() call failed.")
                return
            self.close()

    def _flush(self) -> None:
        """Write the held bytes, then the queue joined, until done or the socket is full."""
        send = self._sock.send
        while self._buffered:
            data = self._held
            if data is None:
                queue = self._queue
                data = queue[0] if len(queue) == 1 else b"".join(queue)
                queue.clear()
                self._held = data
            try:
                send(data)
            except ssl.SSLWantWriteError:
                break
            except OSError as exc:
                self._force_close(exc)
                return
            self._held = None
            self._buffered -= len(data)
        self._sync()
        if self._paused and self._buffered <= self._low and not self._closing:
            self._paused = False
            self._protocol.resume_writing()
        if self._closing and not self._buffered:
            self._shut_down()

    # ------------------------------------------------------------------ the end

    def _shut_down(self) -> None:
        """close_notify, then close: the buffer is written."""
        with contextlib.suppress(OSError):  # SSLWantReadError: the peer's is not awaited
            self._sock.unwrap()
        self._force_close(None)

    def _fatal(self, exc: Exception, message: str) -> None:
        self._loop.call_exception_handler(
            {"message": message, "exception": exc, "transport": self, "protocol": self._protocol}
        )
        self._force_close(exc)

    def _force_close(self, exc: Exception | None) -> None:
        """Close the socket now, dropping what is buffered; connection_lost comes soon."""
        if self._lost:
            return
        self._lost = True
        self._closing = True
        self._held = None
        self._queue.clear()
        self._buffered = 0
        self._sync()
        self._sock.close()
        self._loop.call_soon(self._protocol.connection_lost, exc)


# get_extra_info's answers that need the socket open.
_EXTRAS: dict[str, Callable[[ssl.SSLSocket], Any]] = {
    "sockname": ssl.SSLSocket.getsockname,
    "socket": lambda sock: sock,
    "ssl_object": lambda sock: sock,
    "sslcontext": lambda sock: sock.context,
    "peercert": ssl.SSLSocket.getpeercert,
    "cipher": ssl.SSLSocket.cipher,
    "compression": ssl.SSLSocket.compression,
}
