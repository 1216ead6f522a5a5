"""The load generator: a swarm of IRC clients on one asyncio (uvloop) loop, and the scenarios.

Layer: standard library (+ uvloop); talks to servers over TCP on 127.0.0.1 only. Spec: issue #4
("The benchmark"); IRC framing per https://modern.ircdocs.horse/#message-format.

Every client reads everything, answers PING, and checks the body of each PRIVMSG it receives.
A body is fixed-width `~SSSSSQQQQQQQQQTTTTTTTTTTTTTTTTTTTT`: sender index, the sender's
sequence number and the monotonic send time in ns. The receiver derives per-sender order
(a sequence number below the last one seen counts as reordered), losses (sent x recipients
minus received, after a drain) and latency (receive time of the chunk minus send time).

While the clients register and join, they do not split lines at all: they only look for the
one marker they are waiting for (" 001 nick ", " 366 nick ", "syncN") in the raw bytes, so the
O(N^2) JOIN broadcast of a big room costs the generator almost nothing.

The generator's own CPU share is reported next to the server's: a server is the bottleneck
when it runs near 100 % of a core while the generator does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROOM = b"#bench"
_NEVER = 1 << 62
BODY_LEN = 35  # "~" + 5 (sender) + 9 (sequence) + 20 (send time, ns)
_MARK_TAIL = 64  # bytes kept between chunks so a marker split across reads is still found

CpuFn = Callable[[], float]
Hook = Callable[[bool], None]  # called with True when the measured window opens, False at its end


def _no_hook(_opening: bool) -> None:
    pass


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
        self.want = b""  # the marker awaited in setup mode; b"" when measuring
        self.want_fut: asyncio.Future[None] | None = None
        self.last: list[int] = []  # last sequence number seen from each sender

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
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        if self.want:
            self._setup_data(data)
        else:
            self._measure_data(data)

    def _setup_data(self, data: bytes) -> None:
        hay = self.tail + data
        if b"PING " in hay:
            self._answer_pings(hay)
        if hay.find(self.want) >= 0:
            self.want = b""
            self.buf = b""
            if self.want_fut is not None and not self.want_fut.done():
                self.want_fut.set_result(None)
        self.tail = hay[-_MARK_TAIL:]

    def _answer_pings(self, hay: bytes) -> None:
        for line in hay.split(b"\r\n"):
            if line.startswith(b"PING "):
                self.transport.write(b"PONG " + line[5:] + b"\r\n")

    def _measure_data(self, data: bytes) -> None:
        now = time.monotonic_ns()
        sw = self.swarm
        lines = (self.buf + data).split(b"\r\n")
        self.buf = lines.pop()
        last = self.last
        lat = sw.latencies
        lat_from = sw.lat_from
        got = 0
        for line in lines:
            # Our bodies are the last BODY_LEN bytes of the line, after " :" (or " ": a last
            # parameter without spaces needs no colon).
            if line[-35:-34] != b"~" or line[-36:-35] not in b": ":
                if line.startswith(b"PING "):
                    self.transport.write(b"PONG " + line[5:] + b"\r\n")
                continue
            s = int(line[-34:-29])
            q = int(line[-29:-20])
            got += 1
            if q <= last[s]:
                sw.reordered += 1
            else:
                last[s] = q
            if lat_from < _NEVER:
                t = int(line[-20:])
                if t >= lat_from:
                    lat.append(now - t)
        sw.received += got
        if sw.window:
            sw.refill()
        if sw.expect_total and sw.received >= sw.expect_total:
            sw.drained.set()


@dataclass
class Swarm:
    """N clients of one server, S of which send; the counters every scenario reads."""

    port: int
    n: int
    senders: int = 0
    clients: list[Client] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # per sender
    received: int = 0
    reordered: int = 0
    disconnected: int = 0
    latencies: list[int] = field(default_factory=list)  # ns
    lat_from: int = _NEVER  # record latencies of messages sent at or after this time
    window: int = 0  # window mode: messages in flight (not yet at every recipient); 0 = off
    total_sent: int = 0
    stopped: bool = False
    expect_total: int = 0
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self, idx: int, join: bool) -> Client:
        """Open, register (and join ROOM) one client; raise on failure."""
        loop = asyncio.get_running_loop()
        _t, c = await loop.create_connection(lambda: Client(self, idx), "127.0.0.1", self.port)
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
        """Connect, register and join all N clients, then sync: every client's backlog read.

        At most `concurrency` clients are between connect and 366 at a time: more than the
        server's listen backlog and the kernel resets connections the server has not accepted
        yet (set-up is not what is measured; scenario 5 is).

        Raises:
            SetupFailed: any client failed to connect, register or join in time.
        """
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> Client:
            async with sem:
                return await self.connect(i, join)

        try:
            self.clients = list(
                await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(self.n))), timeout_s)
            )
        except (OSError, TimeoutError) as e:
            await self.close()
            raise SetupFailed(f"setting up {self.n} clients failed: {e or 'timed out'}") from None
        await self.sync(timeout_s)

    async def sync(self, timeout_s: float) -> None:
        """PING from every client and wait for each PONG: all earlier output has been read."""
        futs = []
        for c in self.clients:
            futs.append(c.expect(b"sync%d\r\n" % c.idx))
            c.send(b"PING :sync%d\r\n" % c.idx)
        try:
            await asyncio.wait_for(asyncio.gather(*futs), timeout_s)
        except (OSError, TimeoutError) as e:
            raise SetupFailed(f"clients did not sync: {e or 'timed out'}") from None

    def start_measuring(self, senders: int) -> None:
        """Switch every client to line parsing; clients 0..senders-1 become the senders."""
        self.senders = senders
        self.sent = [0] * senders
        for c in self.clients:
            c.want = b""
            c.buf = b""
            c.last = [-1] * senders

    def send_one(self, s: int) -> None:
        """Sender `s` sends its next message."""
        q = self.sent[s]
        self.sent[s] = q + 1
        self.total_sent += 1
        self.clients[s].transport.write(_body(s, q))

    def refill(self) -> None:
        """Window mode: send until `window` messages' worth of deliveries are outstanding.

        The window counts deliveries, not messages, so it is checked once per received chunk
        rather than per line; senders take turns.
        """
        if self.stopped:
            return
        limit = self.window * (self.n - 1)
        per_msg = self.n - 1
        outstanding = self.total_sent * per_msg - self.received
        while outstanding < limit:
            self.send_one(self.total_sent % self.senders)
            outstanding += per_msg

    async def drain(self, timeout_s: float) -> int:
        """Stop sending; wait until every sent message reached every recipient. Return lost."""
        self.stopped = True
        self.expect_total = sum(self.sent) * (self.n - 1)
        if self.received < self.expect_total:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drained.wait(), timeout_s)
        return max(0, self.expect_total - self.received)

    async def close(self) -> None:
        """Close every connection (QUIT is not needed: the server is stopped next)."""
        for c in self.clients:
            if c.transport is not None:
                c.transport.abort()


def _pct(sorted_ns: list[int], p: float) -> float:
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


async def fanout(port: int, load: Load, cpu: CpuFn, hook: Hook = _no_hook) -> dict[str, float]:
    """Scenario 1: S senders taking turns, `window` messages in flight, for duration_s."""
    sw = Swarm(port, load.n)
    await sw.setup(concurrency=load.setup_concurrency)
    try:
        sw.start_measuring(load.senders)
        sw.window = load.window
        sw.refill()
        await asyncio.sleep(load.warmup_s)
        hook(True)
        r0, c0, g0, t0 = sw.received, cpu(), time.process_time(), time.monotonic()
        await asyncio.sleep(load.duration_s)
        r1, c1, g1, t1 = sw.received, cpu(), time.process_time(), time.monotonic()
        hook(False)
        lost = await sw.drain(load.drain_s)
        deliveries = r1 - r0
        return {
            "deliveries_per_s": deliveries / (t1 - t0),
            "cpu_us_per_delivery": (c1 - c0) * 1e6 / deliveries if deliveries else float("nan"),
            "server_cpu_pct": (c1 - c0) * 100 / (t1 - t0),
            "gen_cpu_pct": (g1 - g0) * 100 / (t1 - t0),
            "lost": lost,
            "reordered": sw.reordered,
            "disconnected": sw.disconnected,
        }
    finally:
        await sw.close()


async def paced(port: int, load: Load, cpu: CpuFn, hook: Hook = _no_hook) -> dict[str, float]:
    """Scenarios 2 and 3: `rate` messages/s in total, round-robin over S senders."""
    sw = Swarm(port, load.n)
    await sw.setup(concurrency=load.setup_concurrency)
    try:
        sw.start_measuring(load.senders)
        loop = asyncio.get_running_loop()
        start = loop.time()
        measure_from = start + load.warmup_s
        end = measure_from + load.duration_s
        n = 0
        marks: dict[str, Any] = {}
        while (now := loop.time()) < end:
            if "r0" not in marks and now >= measure_from:
                hook(True)
                sw.lat_from = time.monotonic_ns()
                marks.update(r0=sw.received, c0=cpu(), g0=time.process_time(), t0=now)
            due = int((now - start) * load.rate)
            while n < due:
                sw.send_one(n % load.senders)
                n += 1
            await asyncio.sleep(0.001)  # the pacing tick of the generator
        sw.lat_from = _NEVER  # messages sent during the drain are not measured
        r1, c1, g1, t1 = sw.received, cpu(), time.process_time(), loop.time()
        hook(False)
        lost = await sw.drain(load.drain_s)
        lat = sorted(sw.latencies)
        span = t1 - marks["t0"]
        return {
            "deliveries_per_s": (r1 - marks["r0"]) / span,
            "p50_ms": _pct(lat, 50),
            "p99_ms": _pct(lat, 99),
            "max_ms": lat[-1] / 1e6 if lat else float("nan"),
            "server_cpu_pct": (c1 - marks["c0"]) * 100 / span,
            "gen_cpu_pct": (g1 - marks["g0"]) * 100 / span,
            "lost": lost,
            "reordered": sw.reordered,
            "disconnected": sw.disconnected,
        }
    finally:
        await sw.close()


async def memory(port: int, load: Load, rss: Callable[[], int]) -> dict[str, float]:
    """Scenario 4: N idle registered clients in one room; server RSS growth per connection."""
    base = rss()
    sw = Swarm(port, load.n)
    await sw.setup(concurrency=load.setup_concurrency, timeout_s=900.0)
    try:
        await asyncio.sleep(1.0)  # let the server settle (freed buffers, lazy allocations)
        grown = rss() - base
        return {"kib_per_conn": grown / load.n, "rss_mib": (base + grown) / 1024}
    finally:
        await sw.close()


async def storm(port: int, load: Load) -> dict[str, float]:
    """Scenario 5: N clients connect and register at the same moment."""
    sw = Swarm(port, load.n)
    loop = asyncio.get_running_loop()
    done: list[float] = []
    errors: dict[str, int] = {}

    async def one(i: int) -> None:
        try:
            c = await sw.connect(i, join=False)
            sw.clients.append(c)
            done.append(loop.time())
        except OSError as e:
            key = type(e).__name__
            errors[key] = errors.get(key, 0) + 1

    t0 = loop.time()
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
