"""Delivery: every connection's outgoing side, and the fan-out of one loop pass.

Layer: asyncio edge; may import asyncio, lanchat.protocol and the pure server core. Never the
hub nor the connections: data flows one way, connection -> state -> hub -> delivery ->
transport (issue 19); what the hub must hear back it hears through the callbacks it passes in.
Loop thread only.
Spec: issue #4 ("serialise a broadcast once and write the same bytes to every recipient"; "keep
per-message work off the fan-out path"), issue 19 (one owner for a connection's output).

What it owns. Per connection (Outbound): the transport, this pass's bytes (`pending`), whether
it is closing, whether its peer keeps up (`paused`) and the timer that aborts a close the peer
does not take. For the server: this pass's fan-out runs, the connections with bytes to write
and the flush at the end of the pass, which writes each connection's bytes in ONE write.

Fan-out. A relay's Send names its fan-out group (model.Group: a room's members of one tag
form, the same object until the membership changes) and skips its sender. Consecutive Sends to
one group form a run; when the run is queued its bytes are joined once, so every member but the
senders appends one shared bytes object however many messages the run holds; a sender gets its
own copies (echo-message) and replies in its messages' places (Send.skip, Send.instead). Before,
each message walked every member (14 % of the samples at fan-out saturation,
docs/benchmarks.md). A Send without a group (replies, a private line) is a run of its own, or
joins an open run to the very same connections.

Order. Runs may be open together only while they share no connection, so a Send to anyone
already in an open run queues the open runs first. Every client therefore reads its lines in
the order the core produced them: private lines between room lines, mixed tag forms,
echo-message.

Policies a reader might question:
- A client that stops reading is disconnected with "SendQ exceeded" once its unsent bytes pass
  `sendq_bytes`, instead of being awaited: one stuck laptop must not slow down a room (the
  websockets broadcast policy, docs/topics/broadcast.rst). A peer that kept up so far (its
  transport not paused) gets a pass's bytes however many: one busy moment is not a client that
  stopped reading, and only a backed-up peer needs its bytes counted.
- A dropped connection ("Excess Flood", "SendQ exceeded") takes no more bytes at once; it hears
  what it was sent before and its ERROR line, and the hub hears about it in the next callback,
  so nobody's copy of a message being fanned out is reordered around its QUIT.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from lanchat.protocol.hostmask import host_for_ip
from lanchat.server.effects import Send
from lanchat.server.model import Group

__all__ = ["SENDQ_EXCEEDED", "Delivery", "Outbound"]

log = logging.getLogger(__name__)

SENDQ_EXCEEDED = "SendQ exceeded"
# Transport buffer above this: pause_writing() tells us the peer is not keeping up.
_WRITE_HIGH_WATER = 64 * 1024
_WRITE_LOW_WATER = 16 * 1024
# A closed connection whose peer does not take the last bytes is aborted after this long, so a
# dead peer cannot hold a socket for the minutes TCP would retry.
_CLOSE_LINGER_S = 10.0


class Outbound:
    """One connection's outgoing side. Loop thread only; made by Delivery.open."""

    __slots__ = ("closing", "conn_id", "ip", "linger", "paused", "pending", "transport")

    def __init__(self, conn_id: int, ip: str, transport: asyncio.Transport) -> None:
        self.conn_id = conn_id
        self.ip = ip  # the peer's IP literal
        self.transport = transport
        # Bytes for this pass, joined into one write by the flush; None between passes, so an
        # idle connection holds no list (issue #4, memory per connection). The first bytes
        # are kept as they are and a list is made only for a second: most passes give a
        # connection one run's bytes, and a list per recipient per pass was 2,000 objects for
        # the cyclic GC per pass in a big room, whose collections then ran mid-pass (issue 19).
        self.pending: bytes | list[bytes] | None = None
        self.closing = False  # no more bytes are queued; the transport closes soon
        # The transport buffer is above its high-water mark: set by whoever hears the
        # transport's flow control (the connection's pause_writing / resume_writing).
        self.paused = False
        self.linger: asyncio.TimerHandle | None = None  # aborts a close that does not finish


class _Run:
    """Consecutive Sends to one group of connections, not yet queued on them."""

    __slots__ = ("conn_ids", "data", "insteads", "skips")

    def __init__(self, conn_ids: tuple[int, ...]) -> None:
        self.conn_ids = conn_ids  # the group's members, or one Send's recipients
        self.data: list[bytes] = []  # each Send's bytes, in order
        self.skips: list[int] = []  # each Send's skip (its sender, or 0)
        self.insteads: list[bytes] = []  # what each Send's skip gets instead


class Delivery:
    """The outgoing side of every connection: fan-out, the per-pass flush, closes and drops.

    Loop thread only.
    """

    __slots__ = (
        "_dirty",
        "_members",
        "_on_busy",
        "_on_dropped",
        "_on_pass_end",
        "_runs",
        "debug",
        "flush_handle",
        "loop",
        "outs",
        "sendq_bytes",
    )

    def __init__(
        self,
        *,
        sendq_bytes: int,
        on_busy: Callable[[], None],
        on_pass_end: Callable[[], None],
        on_dropped: Callable[[int, str], None],
        debug: bool = False,
    ) -> None:
        """Start with no connection.

        Args:
            sendq_bytes: unsent bytes a backed-up peer may have before it is dropped.
            on_busy: called when a flush is scheduled (there are bytes to write).
            on_pass_end: called at the end of every flush, after the writes.
            on_dropped: called with (conn_id, reason) once a dropped connection is closed.
            debug: log every line written at DEBUG (">").
        """
        self.loop = asyncio.get_running_loop()
        self.sendq_bytes = sendq_bytes
        self.debug = debug
        self._on_busy = on_busy
        self._on_pass_end = on_pass_end
        self._on_dropped = on_dropped
        self.outs: dict[int, Outbound] = {}  # conn_id -> its outgoing side
        self._runs: dict[Group | tuple[int, ...], _Run] = {}  # this pass's open runs
        self._members: set[int] | None = None  # the open runs' conn_ids, once 2+ runs are open
        self._dirty: list[Outbound] = []  # connections with pending bytes this pass
        # The call of _flush at the end of this loop pass, while it is scheduled.
        self.flush_handle: asyncio.Handle | None = None

    # ------------------------------------------------------------------ connections

    def open(self, conn_id: int, ip: str, transport: asyncio.Transport) -> Outbound:
        """Take a new connection's transport; its bytes go out through the returned Outbound."""
        transport.set_write_buffer_limits(high=_WRITE_HIGH_WATER, low=_WRITE_LOW_WATER)
        out = self.outs[conn_id] = Outbound(conn_id, ip, transport)
        return out

    def forget(self, conn_id: int) -> None:
        """The connection is gone: it takes nothing more, and no timer waits for its close."""
        out = self.outs.pop(conn_id, None)
        if out is None:
            return
        out.closing = True
        if out.linger is not None:
            out.linger.cancel()

    def finish(self, conn_id: int, reason: str) -> None:
        """The core's Disconnect: close after writing what was queued for it before."""
        self.queue()
        out = self.outs.get(conn_id)
        if out is None or out.closing:
            return
        out.closing = True
        if self.debug:
            log.debug("%d closing: %s", conn_id, reason)
        if out.pending is None:
            self._close(out)
        # else: the flush writes it, then closes

    def drop(self, conn_id: int, reason: str) -> None:
        """Disconnect for an edge limit ("SendQ exceeded", "Excess Flood"), at once.

        Safe in the middle of a fan-out (see the module docstring). What it was sent before,
        and the ERROR line, are written now; `on_dropped` hears of it in the next callback.
        """
        out = self.outs.get(conn_id)
        if out is None or out.closing:
            return
        if reason != SENDQ_EXCEEDED:  # a full buffer that is not read takes nothing more
            self.queue()
            self._write(out)
            host = host_for_ip(out.ip)
            out.transport.write(f"ERROR :Closing Link: {host} ({reason})\r\n".encode())
        out.closing = True
        self.loop.call_soon(self._drop_now, out, reason)

    def _drop_now(self, out: Outbound, reason: str) -> None:
        if self.outs.get(out.conn_id) is not out:
            return  # the peer went away on its own in the meantime
        if reason == SENDQ_EXCEEDED:
            out.transport.abort()  # its buffer is full and it does not read
        else:
            self._close(out)
        self._on_dropped(out.conn_id, reason)

    def _close(self, out: Outbound) -> None:
        """Close once the buffer is written; abort if the peer does not take it in time."""
        transport = out.transport
        if transport.is_closing():
            return
        transport.close()
        out.linger = self.loop.call_later(_CLOSE_LINGER_S, transport.abort)

    def abort_all(self) -> None:
        """Abort every connection still open (the end of a shutdown)."""
        for out in list(self.outs.values()):
            out.transport.abort()

    # ------------------------------------------------------------------ fan-out

    def send(self, send: Send) -> None:
        """Add `send` to the run of its group (or of its very recipients), opening one if needed."""
        key = send.group if send.group is not None else send.conn_ids
        run = self._runs.get(key)
        if run is None:
            run = self._open(key, send.conn_ids)
        run.data.append(send.data)
        run.skips.append(send.skip)
        run.insteads.append(send.instead)

    def _open(self, key: Group | tuple[int, ...], conn_ids: tuple[int, ...]) -> _Run:
        runs = self._runs
        if runs:
            members = self._members
            if members is None:
                members = set()
                for run in runs.values():
                    members.update(run.conn_ids)
            if members.isdisjoint(conn_ids):
                members.update(conn_ids)
                self._members = members
            else:
                self.queue()  # a connection in two open runs could read them out of order
        else:
            self.schedule_flush()
        run = self._runs[key] = _Run(conn_ids)  # queue() may have replaced the dict
        return run

    def queue(self) -> None:
        """Queue the bytes of every open run on its connections: the fan-out loop.

        The only place bytes are queued, and the only loop over a fan-out's recipients: locals,
        no method call and no byte count per recipient. A connection's first bytes of the pass
        put it on the dirty list; the flush writes them in one write and checks the SendQ. A
        closing connection takes nothing more.
        """
        runs = self._runs
        if not runs:
            return
        self._runs = {}
        self._members = None
        get = self.outs.get
        dirty = self._dirty
        for run in runs.values():
            datas, skips = run.data, run.skips
            data = datas[0] if len(datas) == 1 else b"".join(datas)
            skipped = set(skips)
            skipped.discard(0)
            for conn_id in run.conn_ids:
                out = get(conn_id)
                if out is None or out.closing:
                    continue
                mine = data
                if conn_id in skipped:
                    slots = zip(datas, skips, run.insteads, strict=True)
                    mine = b"".join([own if skip == conn_id else d for d, skip, own in slots])
                    if not mine:
                        continue
                pending = out.pending
                if pending is None:
                    out.pending = mine
                    dirty.append(out)
                elif isinstance(pending, bytes):
                    out.pending = [pending, mine]
                else:
                    pending.append(mine)

    # ------------------------------------------------------------------ writes

    def schedule_flush(self) -> None:
        """Run the flush once, after the callbacks already queued for this loop pass."""
        if self.flush_handle is not None:
            return
        self._on_busy()
        self.flush_handle = self.loop.call_soon(self._flush)

    def flush(self) -> None:
        """Write what is queued now, as the end of the pass would (nothing if nothing is).

        For the hub, once a commit released its messages: a scheduled flush would run only
        after the next poll of the sockets, and what that poll reads waits behind the writes.
        """
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self._flush()

    def _flush(self) -> None:
        """The end of a loop pass: one write per connection with bytes, then `on_pass_end`."""
        self.flush_handle = None
        self.queue()
        dirty, self._dirty = self._dirty, []
        sendq_bytes = self.sendq_bytes
        for out in dirty:
            transport = out.transport
            if transport.is_closing():
                continue
            pending = out.pending
            if pending:
                if out.paused and _size(pending) + transport.get_write_buffer_size() > sendq_bytes:
                    out.pending = None
                    self.drop(out.conn_id, SENDQ_EXCEEDED)
                    continue
                self._write(out)
            if out.closing:
                self._close(out)
        self._on_pass_end()

    def _write(self, out: Outbound) -> None:
        """Write whatever is queued for `out` now, as one write."""
        pending = out.pending
        if pending is None:
            return
        data = pending if isinstance(pending, bytes) else b"".join(pending)
        out.pending = None
        if self.debug:
            for line in data.splitlines():
                log.debug("%d > %r", out.conn_id, line)
        out.transport.write(data)


def _size(pending: bytes | list[bytes]) -> int:
    """The bytes queued in an Outbound.pending."""
    return len(pending) if isinstance(pending, bytes) else sum(map(len, pending))
