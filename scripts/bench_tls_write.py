"""What a delivery costs the server over TLS and over plain TCP, write by write (issue 17).

The fan-out benchmark (scripts/bench --servers lanchat,lanchat-tls --scenarios fanout) needs a
load generator that decrypts every delivery of 200 clients; on a shared 2-core machine that
generator, not the server, can be the limit, so the server's CPU per delivery there depends on
how busy the machine was. This measures the server's side alone and at fixed batch sizes: a
writer process accepts N connections as lanchat does (uvloop) and writes each pass one
`transport.write` of the pass's lines joined per connection, over plain TCP, over TLS on
lanchat.server.tlstransport ("ours") and over TLS on the loop's own memory-BIO TLS ("loop",
what lanchat used before), to a sink process that reads and discards (decrypting, over TLS). Only
the writer's CPU is counted (CLOCK_PROCESS_CPUTIME_ID: every thread of the writer process, in
nanoseconds; /proc's ticks are 10 ms), so the sink's decryption is not.

Each round measures the three in turn (each first in one round of three) and each ratio is
taken within a round (paired), so a busy moment of the machine weighs on both sides of it.
Then the parts of one TLS write through a memory BIO (the loop's TLS) are measured without
sockets: `SSLObject.write` of a record of one line and of 16 KiB (the per-record cost and the
cipher's per-byte cost) and reading the record out of its memory BIO.

    .venv/bin/python scripts/bench_tls_write.py                 # 7 rounds, batches 1, 8, 40
    .venv/bin/python scripts/bench_tls_write.py --rounds 3 --conns 100
    .venv/bin/python scripts/bench_tls_write.py --batches 40 --loop asyncio
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import socket
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lanchat.config import Config, Server, Store, Tls
from lanchat.server.certificate import load_identity
from lanchat.server.connection import KERNEL_SNDBUF
from lanchat.server.tlstransport import READ_BUFFER_BYTES, TlsTransport, handshake

# A delivered room message as lanchat sends it to a client with message-tags, ~130 bytes.
LINE = (
    b"@time=2026-12-04T20:30:00.000Z;msgid=5gxgbqxk6jv3k :alice!alice@192.168.1.7 "
    b"PRIVMSG #lobby :hello everyone, this is a line of ordinary length\r\n"
)


def server_context(data_dir: Path) -> ssl.SSLContext:
    """The context `lanchat serve` makes for its TLS port (its own self-signed certificate)."""
    config = Config(server=Server(name="bench"), store=Store(data_dir=data_dir), tls=Tls())
    return load_identity(config).context


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Discard(asyncio.Protocol):
    def data_received(self, data: bytes) -> None:
        pass


def sink(commands: multiprocessing.connection.Connection) -> None:
    """On each (port, tls, conns) command: close the last connections, open `conns` new ones to
    127.0.0.1:`port` and discard what they are sent (decrypting it over TLS)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transports: list[asyncio.BaseTransport] = []
        while True:
            port, tls, conns = await loop.run_in_executor(None, commands.recv)
            for transport in transports:
                transport.close()
            context = client_context() if tls else None
            opened = await asyncio.gather(
                *(
                    loop.create_connection(Discard, "127.0.0.1", port, ssl=context)
                    for _ in range(conns)
                )
            )
            transports = [transport for transport, _ in opened]

    uvloop.run(main())


class Writer(asyncio.Protocol):
    """One connection of the writer; pauses the pass while the transport is over its limit."""

    def __init__(self) -> None:
        self.resumed = asyncio.Event()
        self.resumed.set()

    def pause_writing(self) -> None:
        self.resumed.clear()

    def resume_writing(self) -> None:
        self.resumed.set()


async def accept(
    sink_commands: multiprocessing.connection.Connection,
    context: ssl.SSLContext | None,
    conns: int,
    ours: bool,
) -> list[tuple[asyncio.Transport, Writer]]:
    """`conns` connections from the sink, accepted as lanchat's plain or TLS port does."""
    loop = asyncio.get_running_loop()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SNDBUF)  # as lanchat
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.setblocking(False)
    sink_commands.send((listener.getsockname()[1], context is not None, conns))
    buffer = memoryview(bytearray(READ_BUFFER_BYTES))
    pairs: list[tuple[asyncio.Transport, Writer]] = []
    for _ in range(conns):
        sock, _ = await loop.sock_accept(listener)
        writer = Writer()
        if context is not None and ours:
            tls, peer = await handshake(loop, sock, context)
            transport: asyncio.Transport = TlsTransport(loop, tls, peer, writer, buffer)
            transport.start()
        else:
            made, _ = await loop.connect_accepted_socket(lambda w=writer: w, sock, ssl=context)
            transport = made
        pairs.append((transport, writer))
    listener.close()
    return pairs


async def measure(
    sink_commands: multiprocessing.connection.Connection,
    context: ssl.SSLContext | None,
    conns: int,
    batch: int,
    deliveries: int,
    ours: bool,
) -> float:
    """Server CPU µs per delivery: `deliveries` lines to `conns` connections, `batch` a write."""
    pairs = await accept(sink_commands, context, conns, ours)
    payload = LINE * batch
    passes = max(1, deliveries // (conns * batch))
    await asyncio.sleep(0.2)
    start = time.process_time()
    for _ in range(passes):
        for transport, _ in pairs:
            transport.write(payload)
        await asyncio.sleep(0)  # the end of a loop pass, as in lanchat
        for _, writer in pairs:
            if not writer.resumed.is_set():
                await writer.resumed.wait()
    spent = time.process_time() - start
    for transport, _ in pairs:
        transport.close()
    await asyncio.sleep(0.1)
    return spent / (passes * conns * batch) * 1e6


def parts(context: ssl.SSLContext, batch: int) -> float:
    """µs of one TLS write through memory BIOs, without sockets (the loop's TLS):
    SSLObject.write of `batch` lines and the BIO read."""
    server, client = ssl.MemoryBIO(), ssl.MemoryBIO()
    outgoing, incoming = ssl.MemoryBIO(), ssl.MemoryBIO()
    srv = context.wrap_bio(server, outgoing, server_side=True)
    cli = client_context().wrap_bio(client, incoming, server_side=False)
    for _ in range(10):  # the handshake, by hand
        for obj in (cli, srv):
            with contextlib.suppress(ssl.SSLWantReadError):
                obj.do_handshake()
        server.write(incoming.read())
        client.write(outgoing.read())
    payload = LINE * batch
    count = 20000 // batch + 200
    t0 = time.thread_time()
    for _ in range(count):  # each record read out at once, as the SSL protocol does
        srv.write(payload)
        outgoing.read()
    return (time.thread_time() - t0) / count * 1e6


# Plain TCP; TLS on lanchat's TlsTransport; TLS on the loop's own (memory BIOs).
VARIANTS = ("plain", "ours", "loop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--conns", type=int, default=200)
    parser.add_argument("--batches", default="1,8,40", help="lines per write, comma-separated")
    parser.add_argument("--deliveries", type=int, default=400_000, help="per measurement")
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default="uvloop", help="the writer's loop"
    )
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    context = server_context(Path(tempfile.mkdtemp(prefix="lanchat-bench-tls-")))

    here, there = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=sink, args=(there,), daemon=True)
    proc.start()

    results: dict[tuple[int, str], list[float]] = {}
    ratios: dict[tuple[int, str], list[float]] = {}
    run = uvloop.run if args.loop == "uvloop" else asyncio.run
    for r in range(args.rounds):
        order = VARIANTS[r % 3 :] + VARIANTS[: r % 3]  # each variant first in turn
        for batch in batches:
            got = {}
            for variant in order:
                tls = context if variant != "plain" else None
                how = measure(here, tls, args.conns, batch, args.deliveries, variant == "ours")
                got[variant] = run(how)
                results.setdefault((batch, variant), []).append(got[variant])
            for name, a, b in (
                ("ours/plain", "ours", "plain"),
                ("loop/plain", "loop", "plain"),
                ("ours/loop", "ours", "loop"),
            ):
                ratios.setdefault((batch, name), []).append(got[a] / got[b])
            print(
                f"round {r + 1} batch {batch:>2}: plain {got['plain']:.3f} µs, "
                f"TLS ours {got['ours']:.3f} µs, TLS loop {got['loop']:.3f} µs "
                f"(load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    print(
        f"\nserver CPU µs per delivery, medians of {args.rounds} rounds, {args.conns} conns, "
        f"{args.loop}; ratios are medians of per-round ratios (range):"
    )
    print("| lines per write | plain | TLS ours | TLS loop | ours/plain | loop/plain | ours/loop |")
    print("|---|---|---|---|---|---|---|")
    for batch in batches:
        cells = [f"{statistics.median(results[(batch, v)]):.3f}" for v in VARIANTS]
        for name in ("ours/plain", "loop/plain", "ours/loop"):
            rs = ratios[(batch, name)]
            cells.append(f"{statistics.median(rs):.2f}x ({min(rs):.2f}-{max(rs):.2f})")
        print(f"| {batch} | " + " | ".join(cells) + " |")
    print("\none TLS write through memory BIOs, no sockets (best of 9: the machine is shared):")
    for batch in (*batches, 16384 // len(LINE)):
        write = min(parts(context, batch) for _ in range(9))
        print(
            f"  {batch:>3} lines ({batch * len(LINE):>5} B): SSLObject.write and BIO read "
            f"{write:.2f} µs ({write / (batch * len(LINE)) * 1000:.2f} ns/B)"
        )
    proc.kill()


if __name__ == "__main__":
    main()
