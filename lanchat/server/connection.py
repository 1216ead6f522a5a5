"""The asyncio edge of the server: one `asyncio.Protocol` per TCP connection, inbound side.

Layer: asyncio edge; may import asyncio, the pure server core, lanchat.protocol,
lanchat.config, lanchat.server.hub and lanchat.server.delivery (which never import it: data
flows connection -> state -> hub -> delivery -> transport, issue 19). The IRC rules live in
ServerState, the order of effects in the Hub, every byte going out in Delivery; this module
only reads one client's lines, with the limits below.
Spec: https://modern.ircdocs.horse/#message-format (lines of at most 512 bytes incl. CRLF) and
https://ircv3.net/specs/extensions/message-tags (up to 8191 more bytes of tags).

What happens to received bytes::

    data_received -> LineReader.feed (bulk split) -> FloodControl (burst, then delayed)
      -> too long?  ServerState.reject_line (417, connection kept)
      -> parse      ServerState.reject_line on ProtocolError (FAIL INVALID_UTF8, NOTICE)
      -> ServerState.receive -> effects -> Hub.apply

Bytes going out are Delivery's (lanchat.server.delivery): the connection only tells it when
the transport pauses and resumes writing, and stops reading once its Outbound is closing.

Policy a reader might question:
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
    from lanchat.server.delivery import Outbound
    from lanchat.server.hub import Hub

__all__ = ["EXCESS_FLOOD", "KERNEL_SNDBUF", "IrcConnection", "loggable"]

log = logging.getLogger(__name__)

EXCESS_FLOOD = "Excess Flood"
# The kernel's send buffer per connection. Linux grows it up to 4 MB on its own, which a stuck
# peer would hold on top of the SendQ; 256 KiB is still far more than a LAN's bandwidth-delay
# product, so fixing it costs no throughput and makes `sendq_bytes` the bound that matters.
# Set on the listening socket (app.py): accepted connections inherit it, so no per-connection
# system call, nor the socket object uvloop would create for it (issue #4).
KERNEL_SNDBUF = 256 * 1024


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

    __slots__ = ("_release", "conn_id", "flood", "hub", "ip", "out", "reader", "transport")

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.conn_id = 0  # 0 until accepted (a refused connection keeps 0)
        self.ip = ""  # peer IP literal, once accepted
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # connection_made
        self.out: Outbound | None = None  # its outgoing side, once accepted (Hub.accept)
        self.reader = LineReader(limits=hub.line_limits)  # reports lines over a limit
        # This connection's flood budget, from its address's (Hub.flood_budget); None with
        # [flood] enabled = false.
        self.flood: FloodControl[bytes | TooLong] | None = None
        self._release: asyncio.TimerHandle | None = None  # releases delayed lines

    @property
    def closing(self) -> bool:
        """No more lines are read: refused, dropped, disconnected or gone."""
        out = self.out
        return out is None or out.closing

    def admit(self) -> None:
        """Ask the hub to take this connection (`transport` is set); a refused one reads nothing."""
        hub = self.hub
        out = hub.accept(self, self.transport)
        if out is None:
            return
        self.out = out
        self.conn_id = out.conn_id
        self.ip = out.ip
        self.flood = hub.flood_budget(out.ip)

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport subclasses, hence the cast).
        self.transport = cast(asyncio.Transport, transport)
        self.admit()

    def data_received(self, data: bytes) -> None:
        if self.closing:
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
                self.hub.drop(self.conn_id, EXCESS_FLOOD)
                return
            if flood.waiting and self._release is None:
                self._schedule_release(flood)
        self._handle(lines)

    def eof_received(self) -> bool | None:
        return None  # close our side too (after the buffer): IRC has no half-closed connections

    def connection_lost(self, exc: Exception | None) -> None:
        if self._release is not None:
            self._release.cancel()
        if self.conn_id:
            self.hub.lost(self.conn_id, lost_reason(exc))

    def pause_writing(self) -> None:
        if self.out is not None:
            self.out.paused = True

    def resume_writing(self) -> None:
        if self.out is not None:
            self.out.paused = False

    # ------------------------------------------------------------------ lines in

    def _handle(self, lines: list[bytes | TooLong]) -> None:
        hub, state, conn_id = self.hub, self.hub.state, self.conn_id
        debug = hub.debug
        flood, out = self.flood, self.out
        for i, line in enumerate(lines):
            if out is None or out.closing:
                return
            if debug:
                log.debug("%d < %r", conn_id, loggable(line))
            if hub.cluster is not None:  # the core hears of it from the cluster's log
                hub.cluster.line(conn_id, line)
                continue
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
