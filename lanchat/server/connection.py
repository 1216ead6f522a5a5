"""The asyncio edge of the server: one `asyncio.Protocol` per TCP connection.

Layer: asyncio edge; may import asyncio, the pure server core, lanchat.protocol and
lanchat.config. The IRC rules live in ServerState and the order of effects in the Hub
(lanchat.server.hub); this module only moves one client's bytes, with the limits below.
Spec: https://modern.ircdocs.horse/#message-format (lines of at most 512 bytes incl. CRLF) and
https://ircv3.net/specs/extensions/message-tags (up to 8191 more bytes of tags).

What happens to received bytes::

    data_received -> LineReader.feed (bulk split) -> FloodControl (burst, then delayed)
      -> too long?  ServerState.reject_line (417, connection kept)
      -> parse      ServerState.reject_line on ProtocolError (FAIL INVALID_UTF8, NOTICE)
      -> ServerState.receive -> effects -> Hub.apply

What happens to bytes going out: Hub._deliver appends them to `pending`, and at the end of the
loop pass `flush()` joins them into ONE transport.write (issue #4).

Policies a reader might question:
- A client that stops reading is disconnected with "SendQ exceeded" once its unsent bytes pass
  `limits.sendq_bytes`, instead of being awaited: one stuck laptop must not slow down a room
  (the websockets broadcast policy, docs/topics/broadcast.rst).
- Lines over the limit and invalid UTF-8 get a reply and the connection is kept (Ergo): a
  client with a bug should see why its line vanished, not be thrown out.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from lanchat.errors import ProtocolError
from lanchat.protocol.lines import TOO_LONG, LineReader, TooLong
from lanchat.protocol.message import parse
from lanchat.server.flood import FloodControl

# Lines whose parameters are passwords (or a SASL response holding one): the -vv log shows
# the verb only, so the host's terminal and log files never hold anyone's password (issue 17).
_SECRET_VERBS = (b"PASS", b"OPER", b"REGISTER", b"AUTHENTICATE")


def loggable(line: bytes | TooLong) -> bytes | TooLong:
    """`line` as the debug log may show it: the parameters of password lines hidden.

    Args:
        line: one received line (or the over-long marker), tags included.

    Returns:
        The line itself, or its tags, source and verb followed by " <hidden>".
    """
    if not isinstance(line, bytes):
        return line
    words = line.split(b" ", 3)
    for i, word in enumerate(words[:3]):
        if word[:1] in (b"@", b":"):
            continue
        if word.upper() in _SECRET_VERBS and i + 1 < len(words):
            return b" ".join(words[: i + 1]) + b" <hidden>"
        break
    return line


if TYPE_CHECKING:
    from lanchat.server.hub import Hub

__all__ = ["EXCESS_FLOOD", "KERNEL_SNDBUF", "SENDQ_EXCEEDED", "IrcConnection", "loggable"]

log = logging.getLogger(__name__)

SENDQ_EXCEEDED = "SendQ exceeded"
EXCESS_FLOOD = "Excess Flood"
# The kernel's send buffer per connection. Linux grows it up to 4 MB on its own, which a stuck
# peer would hold on top of the SendQ; 256 KiB is still far more than a LAN's bandwidth-delay
# product, so fixing it costs no throughput and makes `sendq_bytes` the bound that matters.
# Set on the listening socket (app.py): accepted connections inherit it, so no per-connection
# system call, nor the socket object uvloop would create for it (issue #4).
KERNEL_SNDBUF = 256 * 1024
# A closed connection whose peer does not take the last bytes is aborted after this long, so a
# dead peer cannot hold a socket for the minutes TCP would retry.
_CLOSE_LINGER_S = 10.0


def lost_reason(exc: Exception | None) -> str:
    """The QUIT reason everyone else sees when a connection ends with `exc`.

    Never the text of an exception: a bug's message could hold what the client sent (lanchat
    issue 13 saw "MalformedLine: parameter 2 of 401 ..." in bystanders' QUIT lines). The
    traceback is logged for the host by asyncio ("Fatal error: protocol.data_received() call
    failed"). An operating-system error is named by its plain text, as other servers do.

    Args:
        exc: what connection_lost was given.

    Returns:
        "Connection closed", "Connection error: Connection reset by peer" or "Connection error".
    """
    if exc is None:
        return "Connection closed"
    if isinstance(exc, OSError) and exc.strerror:
        return f"Connection error: {exc.strerror}"
    return "Connection error"


class IrcConnection(asyncio.Protocol):
    """One client's TCP connection. Loop thread only; created by loop.create_server."""

    __slots__ = (
        "_linger",
        "_paused",
        "_release",
        "closing",
        "conn_id",
        "flood",
        "hub",
        "ip",
        "pending",
        "reader",
        "transport",
    )

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.conn_id = 0  # 0 until accepted (a refused connection keeps 0)
        self.ip = ""  # peer IP literal
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # connection_made
        self.reader = LineReader(limits=hub.line_limits)  # reports lines over a limit
        self.closing = False  # no more bytes are queued; the transport closes soon
        # Bytes for this pass, appended by Hub._deliver and joined into one write by flush();
        # None between passes, so an idle connection holds no list (issue #4, memory per
        # connection).
        self.pending: list[bytes] | None = None
        self._paused = False  # the transport buffer is above its high-water mark
        # This connection's flood budget, from its address's (Hub.accept, FloodLedger); None
        # with [flood] enabled = false.
        self.flood: FloodControl[bytes | TooLong] | None = None
        self._release: asyncio.TimerHandle | None = None  # releases delayed lines
        self._linger: asyncio.TimerHandle | None = None  # aborts a close that does not finish

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport subclasses, hence the cast).
        self.transport = cast(asyncio.Transport, transport)
        self.hub.accept(self, self.transport)

    def data_received(self, data: bytes) -> None:
        if self.closing or not self.conn_id:
            return
        lines = self.reader.feed(data)
        if lines:
            self.lines_received(lines)

    def lines_received(self, lines: list[bytes | TooLong]) -> None:
        """Whole lines from the client (without line ends): flood control, then the core.

        Any transport feeds this: TCP through its LineReader, WebSocket one line per frame.
        """
        flood = self.flood
        if flood is not None:
            lines = flood.submit(lines)
            if flood.overflowed:
                self.hub.drop(self, EXCESS_FLOOD)
                return
            if flood.waiting and self._release is None:
                self._schedule_release(flood)
        self._handle(lines)

    def eof_received(self) -> bool | None:
        return None  # close our side too (after the buffer): IRC has no half-closed connections

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._release, self._linger):
            if timer is not None:
                timer.cancel()
        self.closing = True
        if self.conn_id:
            self.hub.lost(self, lost_reason(exc))

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False

    # ------------------------------------------------------------------ lines in

    def _handle(self, lines: list[bytes | TooLong]) -> None:
        hub, state, conn_id = self.hub, self.hub.state, self.conn_id
        debug = hub.debug
        flood = self.flood
        for i, line in enumerate(lines):
            if self.closing:
                return
            if debug:
                log.debug("%d < %r", conn_id, loggable(line))
            if line is TOO_LONG:  # over a limit (LineReader, LineLimits.check): 417
                effects = state.reject_line(conn_id, TOO_LONG)
            else:
                assert isinstance(line, bytes)
                try:
                    msg = parse(line)
                except ProtocolError as e:
                    effects = state.reject_line(conn_id, e)
                else:
                    effects = state.receive(conn_id, msg)
            hub.apply(effects)
            if flood is not None and flood.in_debt and i + 1 < len(lines):
                # The line cost more than its token (a history Query, Hub._charge): what
                # follows waits for the refill like any line over the burst (issue 13 item 9).
                flood.defer(lines[i + 1 :])
                if self._release is None:
                    self._schedule_release(flood)
                return

    def _schedule_release(self, flood: FloodControl[bytes | TooLong]) -> None:
        """(Re)start the timer that releases delayed lines, for when the oldest has a token."""
        if self._release is not None:
            self._release.cancel()
            self._release = None
        delay = flood.delay_s()
        if delay is not None:
            self._release = self.hub.loop.call_later(delay, self._release_delayed)

    def charge(self, lines: float) -> None:
        """Spend `lines` of this connection's flood budget at once (a history reply's cost).

        Loop thread only.
        """
        if self.flood is not None:
            self.flood.charge(lines)

    def refund(self, lines: float) -> None:
        """Give back budget charged in advance; delayed lines go as soon as it allows.

        Loop thread only.
        """
        flood = self.flood
        if flood is None:
            return
        flood.refund(lines)
        if flood.waiting and not self.closing:
            self._schedule_release(flood)

    def _release_delayed(self) -> None:
        self._release = None
        flood = self.flood
        assert flood is not None
        if self.closing:
            return
        self._handle(flood.release())
        if self._release is None:  # _handle may have scheduled it (a charge mid-way)
            self._schedule_release(flood)

    # ------------------------------------------------------------------ bytes out

    def flush(self) -> None:
        """Write this pass's bytes in one transport.write; close if a Disconnect asked to."""
        if self.transport.is_closing():
            return
        pending = self.pending
        if pending:
            # A peer that kept up so far (buffer under the high-water mark) gets this pass's
            # bytes even if they are many: one busy moment is not a client that stopped reading.
            # Only a backed-up peer needs its bytes counted.
            if (
                self._paused
                and sum(map(len, pending)) + self.transport.get_write_buffer_size()
                > self.hub.config.limits.sendq_bytes
            ):
                self.pending = None
                self.hub.drop(self, SENDQ_EXCEEDED)
                return
            self.write_pending()
        if self.closing:
            self.close_transport()

    def write_pending(self) -> None:
        """Write whatever is queued now, as one write."""
        pending = self.pending
        if pending is None:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        self.pending = None
        if self.hub.debug:
            for line in data.splitlines():
                log.debug("%d > %r", self.conn_id, line)
        self.transport.write(data)

    def finish(self, reason: str) -> None:
        """The core's Disconnect: close after writing what is already queued."""
        if self.closing:
            return
        self.closing = True
        if self.hub.debug:
            log.debug("%d closing: %s", self.conn_id, reason)
        if self.pending:
            return  # flush() writes it, then closes
        self.close_transport()

    def close_transport(self) -> None:
        """Close once the buffer is written; abort if the peer does not take it in time."""
        if self.transport.is_closing():
            return
        self.transport.close()
        self._linger = self.hub.loop.call_later(_CLOSE_LINGER_S, self.transport.abort)
