"""The load generator's clients: a swarm of IRC connections on one asyncio (uvloop) loop.

Layer: standard library (+ uvloop); talks to servers over TCP on 127.0.0.1 only. Spec: issue #4
("The benchmark"); IRC framing per https://modern.ircdocs.horse/#message-format.

A Swarm is N clients of one server in one process. The load scenarios (1-3) run several swarms,
one per worker process, each holding a contiguous slice of the clients (benchkit.worker,
coordinated by benchkit.fleet). Scenarios 4-6 (memory, storm, history) measure set-up and
single requests rather than a flow of messages, so they stay in one process here.

Every client reads everything, answers PING, and checks the body of each PRIVMSG it receives.
A body is fixed-width `~SSSSSQQQQQQQQQTTTTTTTTTTTTTTTTTTTT`: sender index, the sender's
sequence number and the monotonic send time in ns (CLOCK_MONOTONIC is system-wide, so a
latency is valid when sender and receiver are different processes). The receiver derives
per-sender order (a sequence number not above the last one seen counts as reordered), losses
(sent x recipients minus received, after a drain) and latency (receive time of the chunk
minus send time).

While the clients register and join, they do not split lines at all: they only look for the
one marker they are waiting for (" 001 nick ", " 366 nick ", "syncN") in the raw bytes, so the
O(N^2) JOIN broadcast of a big room costs the generator almost nothing. Once measuring, the
per-line work is kept to one int() for sender and sequence together, one for the send time
(only when latencies are recorded) and a few comparisons; everything else is done per chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROOM = b"#bench"
NEVER = 1 << 62  # a monotonic_ns() no run reaches
BODY_LEN = 35  # "~" + 5 (sender) + 9 (sequence) + 20 (send time, ns)
SEQ = 1_000_000_000  # the body's sender and sequence digits read as one int: sender * SEQ + seq
_MARK_TAIL = 64  # bytes kept between chunks so a marker split across reads is still found
_BODY_START = (b":~", b" ~")  # the two bytes before the digits: after " :" or a bare " "


def tls_context(tls: bool) -> ssl.SSLContext | None:
    """The clients' TLS context (any certificate: lanchat's is self-signed), None for TCP."""
    if not tls:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _body(sender: int, seq: int) -> bytes:
    return b"PRIVMSG #bench :~%05d%09d%020d\r\n" % (sender, seq, time.monotonic_ns())


class SetupFailed(Exception):
    """Clients could not connect, register or join; the message says how many and why."""


class Client(asyncio.Protocol):
    """One IRC connection of the swarm."""

    def __init__(self, swarm: Swarm, idx: int) -> None:
        self.swarm = swarm
        self.idx = idx
        self.nick = b"b%d" % idx
        self.transport: Any = None
        self.buf = b""
        self.tail = b""
        self.measuring = False  # set by Swarm.start_measuring: split lines from then on
        self.want = b""  # the marker awaited in setup mode
        self.want_fut: asyncio.Future[None] | None = None
        self.last: list[int] = []  # per sender: the last sender * SEQ + sequence seen

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.swarm.disconnected += 1
        if self.want_fut is not None and not self.want_fut.done():
            self.want_fut.set_exception(ConnectionError(f"{self.nick.decode()}: server closed"))

    def expect(self, marker: bytes) -> asyncio.Future[None]:
        """A future that resolves when `marker` appears in the bytes received from now on."""
        self.want = marker
        self.tail = b""
        self.want_fut = asyncio.get_running_loop().create_future()
        if self.transport is None or self.transport.is_closing():
            self.want_fut.set_exception(ConnectionError(f"{self.nick.decode()}: not connected"))
        return self.want_fut

    def send(self, data: bytes) -> None:
        """Send whole IRC lines (CRLF-terminated)."""
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        if self.measuring:
            self._measure_data(data)
        else:
            self._setup_data(data)

    def _setup_data(self, data: bytes) -> None:
        hay = self.tail + data
        if b"PING " in hay:
            self._answer_pings(hay)
        fut = self.want_fut
        if fut is not None and not fut.done() and hay.find(self.want) >= 0:
            fut.set_result(None)
        self.tail = hay[-_MARK_TAIL:]

    def _answer_pings(self, hay: bytes) -> None:
        for line in hay.split(b"\r\n"):
            if line.startswith(b"PING "):
                self.send(b"PONG " + line[5:] + b"\r\n")

    def _measure_data(self, data: bytes) -> None:
        now = time.monotonic_ns()
        sw = self.swarm
        lines = (self.buf + data if self.buf else data).split(b"\r\n")
        self.buf = lines.pop()
        last = self.last
        lat_from, lat_to = sw.lat_from, sw.lat_to
        timed = lat_from < lat_to
        mine_from, mine_to, others_only = sw.mine_from, sw.mine_to, sw.lat_others_only
        got = mine = reordered = 0
        for line in lines:
            # Our bodies are the last BODY_LEN bytes of the line.
            if line[-36:-34] not in _BODY_START:
                if line.startswith(b"PING "):
                    self.send(b"PONG " + line[5:] + b"\r\n")
                continue
            got += 1
            sq = int(line[-34:-20])
            s = sq // SEQ
            if sq > last[s]:
                last[s] = sq
            else:
                reordered += 1
            own = mine_from <= sq < mine_to
            if own:
                mine += 1
            if timed and not (own and others_only):
                t = int(line[-20:])
                if lat_from <= t < lat_to:
                    sw.latencies.append(now - t)
        sw.received += got
        if reordered:
            sw.reordered += reordered
        if sw.window:
            sw.mine += mine
            sw.refill()
        if sw.expect_total and sw.received >= sw.expect_total:
            sw.drained.set()


class WsClient(Client):
    """One IRC-over-WebSocket connection of the swarm (ircv3 websocket, text.ircv3.net).

    It upgrades first (lines sent before the 101 wait), then sends each line as one masked
    text frame and turns the server's frames back into CRLF lines for Client's own parsing,
    so both kinds of client count, order and time messages with the same code. The mask is
    all zeros: valid framing (RFC 6455 5.3) that costs the generator no XOR, while the server
    still unmasks every frame as it must for a browser's random mask.
    """

    def __init__(self, swarm: Swarm, idx: int) -> None:
        super().__init__(swarm, idx)
        self.upgraded = False
        self.head = b""  # the HTTP answer so far, until the 101's blank line
        self.frames = b""  # an incomplete frame left from the last chunk
        self.queued: list[bytes] = []  # lines sent before the upgrade finished

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.transport.write(_ws_request(self.swarm.port))

    def send(self, data: bytes) -> None:
        if not self.upgraded:
            self.queued.append(data)
            return
        out = []
        for line in data.split(b"\r\n"):
            if line:
                size = len(line)
                if size < 126:
                    out.append(bytes((0x81, 0x80 | size)))
                else:
                    out.append(b"\x81\xfe" + size.to_bytes(2, "big"))
                out.append(_ZERO_MASK)
                out.append(line)
        self.transport.write(b"".join(out))

    def data_received(self, data: bytes) -> None:
        if not self.upgraded:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 101"):
                self.transport.close()  # connection_lost fails whatever is awaited
                return
            data, self.head, self.upgraded = self.head[end + 4 :], b"", True
            for queued in self.queued:
                self.send(queued)
            self.queued.clear()
        lines = self._unframe(data)
        if lines:
            super().data_received(lines)

    def _unframe(self, data: bytes) -> bytes:
        """The payloads of the complete frames in `data` (after what was left), as CRLF lines.

        Server frames are never masked; lanchat sends one unfragmented frame per line.
        """
        buf = self.frames + data if self.frames else data
        out = []
        i, end = 0, len(buf)
        while i + 2 <= end:
            size = buf[i + 1]
            start = i + 2
            if size == 126:
                if i + 4 > end:
                    break
                size, start = int.from_bytes(buf[i + 2 : i + 4], "big"), i + 4
            elif size == 127:
                if i + 10 > end:
                    break
                size, start = int.from_bytes(buf[i + 2 : i + 10], "big"), i + 10
            stop = start + size
            if stop > end:
                break
            if buf[i] & 0x0F in (1, 2):  # text or binary; a Close is followed by the TCP close
                out.append(buf[start:stop])
            i = stop
        self.frames = buf[i:]
        if not out:
            return b""
        out.append(b"")
        return b"\r\n".join(out)


_ZERO_MASK = b"\0\0\0\0"


def _ws_request(port: int) -> bytes:
    return (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n" % port
    )


@dataclass
class Swarm:
    """N clients of one server, the first `senders` of which send; the counters scenarios read.

    In a worker process the swarm is one slice of a bigger one: its clients are numbered from
    `first` (nicks stay unique across workers), and its senders carry the ids `sender_first`..
    `sender_first + senders - 1` out of `senders_total` in the whole run.
    """

    port: int
    n: int
    tls: bool = False  # connect with TLS (lanchat's TLS port, issue #17)
    first: int = 0
    sender_first: int = 0
    senders: int = 0
    senders_total: int = 0
    clients: list[Client] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # per local sender
    received: int = 0  # deliveries to this swarm's clients, from any sender
    mine: int = 0  # the part of `received` sent by this swarm's own senders
    reordered: int = 0
    disconnected: int = 0
    mine_from: int = NEVER  # the sender * SEQ + sequence numbers of our own senders: from
    mine_to: int = NEVER  # mine_from up to mine_to (exclusive); set by start_measuring
    latencies: array[int] = field(default_factory=lambda: array("q"))  # ns
    lat_from: int = NEVER  # record latencies of messages sent in [lat_from, lat_to)
    lat_to: int = NEVER
    # only of messages from other swarms' senders: with one swarm per cluster node, the
    # latencies from one node to another (issue 20)
    lat_others_only: bool = False
    window: int = 0  # window mode: messages of our senders in flight to our clients; 0 = off
    total_sent: int = 0
    stopped: bool = False
    websocket: bool = False  # connect with WsClient (IRC over WebSocket) instead of TCP lines
    expect_total: int = 0
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self, idx: int, join: bool) -> Client:
        """Open, register (and join ROOM) one client; raise on failure.

        The client is in `clients` as soon as it is connected, so close() closes it even
        when registering or joining fails.
        """
        loop = asyncio.get_running_loop()
        kind = WsClient if self.websocket else Client
        _t, c = await loop.create_connection(
            lambda: kind(self, idx), "127.0.0.1", self.port, ssl=tls_context(self.tls)
        )
        self.clients.append(c)  # from now on close() closes it, whatever happens next
        welcome = c.expect(b" 001 " + c.nick + b" ")
        c.send(b"NICK %s\r\nUSER %s 0 * :bench client\r\n" % (c.nick, c.nick))
        await welcome
        if join:
            joined = c.expect(b" 366 " + c.nick + b" ")
            c.send(b"JOIN " + ROOM + b"\r\n")
            await joined
        return c

    async def setup(
        self, join: bool = True, concurrency: int = 8, timeout_s: float = 300.0
    ) -> None:
        """Connect, register and join all N clients (call sync() once all swarms have).

        At most `concurrency` clients are between connect and 366 at a time: more than the
        server's listen backlog and the kernel resets connections the server has not accepted
        yet (set-up is not what is measured; scenario 5 is).

        Raises:
            SetupFailed: any client failed to connect, register or join in time.
        """
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> Client:
            async with sem:
                return await self.connect(self.first + i, join)

        tasks = [asyncio.ensure_future(one(i)) for i in range(self.n)]
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.gather(*tasks)
        except (OSError, TimeoutError) as e:
            # gather() leaves the other clients' set-up running after the first failure.
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.close()
            why = str(e) or f"timed out after {timeout_s:.0f} s"
            raise SetupFailed(f"setting up {self.n} clients failed: {why}") from None
        self.clients.sort(key=lambda c: c.idx)  # client k of the swarm is sender k

    async def sync(self, timeout_s: float) -> None:
        """PING from every client and wait for each PONG: all earlier output has been read.

        Raises:
            SetupFailed: a client was disconnected or did not get its PONG in time.
        """
        futs = []
        for c in self.clients:
            futs.append(c.expect(b"sync%d\r\n" % c.idx))
            c.send(b"PING :sync%d\r\n" % c.idx)
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.gather(*futs)
        except (OSError, TimeoutError) as e:
            why = str(e) or f"timed out after {timeout_s:.0f} s"
            raise SetupFailed(f"clients did not sync: {why}") from None

    def start_measuring(self) -> None:
        """Switch every client to line parsing (after sync: no backlog is left to read)."""
        self.sent = [0] * self.senders
        self.mine_from = self.sender_first * SEQ
        self.mine_to = (self.sender_first + self.senders) * SEQ
        for c in self.clients:
            c.measuring = True
            c.buf = b""
            c.last = [s * SEQ - 1 for s in range(self.senders_total)]

    def send_one(self, k: int) -> None:
        """Local sender `k` (client k of this swarm) sends its next message."""
        q = self.sent[k]
        self.sent[k] = q + 1
        self.total_sent += 1
        self.clients[k].send(_body(self.sender_first + k, q))

    def refill(self) -> None:
        """Window mode: send until `window` messages' worth of deliveries are outstanding.

        Only this swarm's own messages to its own clients count (n - 1 deliveries each), so
        the window needs no information from other processes. It counts deliveries, not
        messages, so it is checked once per received chunk rather than per line; the local
        senders take turns.
        """
        if self.stopped or not self.senders:
            return
        per_msg = self.n - 1
        outstanding = self.total_sent * per_msg - self.mine
        limit = self.window * per_msg
        while outstanding < limit:
            self.send_one(self.total_sent % self.senders)
            outstanding += per_msg

    async def drain(self, expect_total: int, timeout_s: float) -> int:
        """Wait until `expect_total` deliveries have arrived, or timeout_s. Return the missing."""
        self.stopped = True
        self.expect_total = expect_total
        if self.received < expect_total:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drained.wait(), timeout_s)
        return max(0, expect_total - self.received)

    async def close(self) -> None:
        """Close every connection (QUIT is not needed: the server is stopped next)."""
        for c in self.clients:
            if c.transport is not None:
                c.transport.abort()


def percentile(sorted_ns: list[int], p: float) -> float:
    """The p-th percentile (nearest rank) of sorted nanoseconds, in ms; NaN when empty."""
    if not sorted_ns:
        return float("nan")
    i = min(len(sorted_ns) - 1, round(p / 100 * (len(sorted_ns) - 1)))
    return sorted_ns[i] / 1e6


@dataclass(frozen=True)
class Load:
    """The size and length of one scenario run."""

    n: int
    senders: int = 0
    duration_s: float = 10.0
    warmup_s: float = 1.0
    rate: float = 0.0  # total messages/s (rate mode); 0 = window mode
    window: int = 8  # messages in flight in total (window mode)
    drain_s: float = 10.0
    setup_concurrency: int = 8  # clients connecting at once during set-up (< listen backlog)
    websocket: bool = False  # clients speak IRC over WebSocket (the port is a web port)


async def memory(
    port: int, load: Load, rss: Callable[[], int], tls: bool = False
) -> dict[str, float]:
    """Scenario 4: N idle registered clients in one room; server RSS growth per connection.

    With `tls` the clients connect over TLS (lanchat-tls: what a TLS session keeps, issue 17).
    """
    base = rss()
    sw = Swarm(port, load.n, tls)
    await sw.setup(concurrency=load.setup_concurrency, timeout_s=900.0)
    try:
        await sw.sync(900.0)
        await asyncio.sleep(1.0)  # let the server settle (freed buffers, lazy allocations)
        grown = rss() - base
        return {"kib_per_conn": grown / load.n, "rss_mib": (base + grown) / 1024}
    finally:
        await sw.close()


async def storm(port: int, load: Load, tls: bool = False) -> dict[str, float]:
    """Scenario 5: N clients connect and register at the same moment."""
    sw = Swarm(port, load.n, tls)
    # perf_counter, not loop.time(): uvloop's clock has millisecond steps, and a quick storm of a
    # few clients can register within one of them (a span of 0).
    clock = time.perf_counter
    done: list[float] = []
    errors: dict[str, int] = {}

    async def one(i: int) -> None:
        try:
            await sw.connect(i, join=False)
            done.append(clock())
        except OSError as e:
            key = type(e).__name__
            errors[key] = errors.get(key, 0) + 1

    t0 = clock()
    tasks = [asyncio.ensure_future(one(i)) for i in range(load.n)]
    _finished, late = await asyncio.wait(tasks, timeout=load.drain_s)
    for t in late:
        t.cancel()
    await sw.close()
    span = (max(done) - t0) if done else float("nan")
    return {
        "registrations_per_s": len(done) / span if done else 0.0,
        "seconds": span,
        "failed": load.n - len(done),
        "timed_out": len(late),
        **{f"error_{k}": v for k, v in errors.items()},
    }


async def handshakes(
    port: int, load: Load, cpu: Callable[[], float], tls: bool
) -> dict[str, float]:
    """Connections opened, answered and closed for `load.duration_s`, `load.n` at a time:
    with `tls` each is a TLS handshake (issue #17), else a TCP connect (the baseline).

    Each connection sends PING and waits for the PONG, so the server has finished its side
    of the handshake and read a line before the connection is counted.
    """
    loop = asyncio.get_running_loop()
    context = tls_context(tls)
    done = 0
    errors: dict[str, int] = {}
    stop_at = loop.time() + load.warmup_s + load.duration_s
    measure_from = loop.time() + load.warmup_s
    cpu_from: list[float] = []

    async def worker() -> None:
        nonlocal done
        while (now := loop.time()) < stop_at:
            if now >= measure_from and not cpu_from:
                cpu_from.append(cpu())
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
                writer.write(b"PING :hs\r\n")
                await _read_until(reader, lambda got: b"PONG" in got)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            except OSError as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                continue
            if now >= measure_from:
                done += 1

    await asyncio.gather(*(worker() for _ in range(load.n)))
    used = cpu() - cpu_from[0] if cpu_from else float("nan")
    return {
        "connections_per_s": done / load.duration_s,
        "cpu_us_per_connection": used * 1e6 / done if done else float("nan"),
        "failed": sum(errors.values()),
        **{f"error_{k}": v for k, v in errors.items()},
    }


async def history(port: int, room: str, queries: int, limit: int) -> dict[str, float]:
    """Scenario 6: CHATHISTORY LATEST <room> * <limit>, `queries` times; median ms."""
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 24)
    try:
        writer.write(b"CAP LS 302\r\n")
        caps = (await _read_until(reader, lambda line: b" LS " in line)).split(b" :", 1)[-1]
        offered = {c.split(b"=")[0] for c in caps.split()}
        want = (b"batch", b"draft/chathistory", b"server-time", b"message-tags")
        writer.write(b"CAP REQ :" + b" ".join(c for c in want if c in offered) + b"\r\n")
        writer.write(b"NICK hist\r\nUSER hist 0 * :bench\r\nCAP END\r\n")
        await _read_until(reader, lambda line: b" 001 " in line)
        writer.write(f"JOIN {room}\r\n".encode())
        await _read_until(reader, lambda line: b" 366 " in line)
        times: list[float] = []
        lines = 0
        for _ in range(queries):
            t0 = loop.time()
            writer.write(f"CHATHISTORY LATEST {room} * {limit}\r\n".encode())
            lines = 0
            while True:
                line = await asyncio.wait_for(reader.readline(), 30)
                if not line:
                    raise ConnectionError("server closed the connection during CHATHISTORY")
                if b" PRIVMSG " in line:
                    lines += 1
                elif b"BATCH -" in line or b" FAIL " in line:
                    break
            times.append((loop.time() - t0) * 1000)
        times.sort()
        return {"ms": times[len(times) // 2], "max_ms": times[-1], "messages": lines}
    finally:
        writer.close()


async def _read_until(reader: asyncio.StreamReader, ok: Callable[[bytes], bool]) -> bytes:
    while True:
        line = await asyncio.wait_for(reader.readline(), 30)
        if not line:
            raise ConnectionError("server closed the connection")
        if ok(line):
            return line
