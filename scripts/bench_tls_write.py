"""What a delivery costs the server over TLS and over plain TCP, write by write (issue 17).

The fan-out benchmark (scripts/bench --servers lanchat,lanchat-tls --scenarios fanout) needs a
load generator that decrypts every delivery of 200 clients; on a shared 2-core machine that
generator, not the server, was the limit, so the server's CPU per delivery there depends on
how busy the machine was. This measures the server's side alone and at fixed batch sizes: a
writer process holds N connections (as lanchat does: uvloop, one `transport.write` per
connection per pass, each write the lines of that pass joined) to a sink process that reads
and discards (decrypting, over TLS). Only the writer's CPU is counted (CLOCK_PROCESS_CPUTIME_ID:
every thread of the writer process, in nanoseconds; /proc's ticks are 10 ms), so the sink's
decryption is not.

Rounds alternate plain, TLS, plain, TLS, ... and each ratio is taken within a round (paired),
so a busy moment of the machine weighs on both sides of it. Then the parts of one TLS write
are measured without sockets: `SSLObject.write` of a record of one line and of 16 KiB (the
per-record cost and the cipher's per-byte cost) and reading the record out of its memory BIO.

    .venv/bin/python scripts/bench_tls_write.py                 # 7 rounds, batches 1, 8, 40
    .venv/bin/python scripts/bench_tls_write.py --rounds 3 --conns 100
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lanchat.config import Config, Server, Store, Tls
from lanchat.server.certificate import CERT_FILE, KEY_FILE, load_identity

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


def sink(port_pipe: multiprocessing.connection.Connection, tls: bool) -> None:
    """Accept connections and discard what they send (decrypting it over TLS)."""

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            Discard, "127.0.0.1", 0, ssl=client_side_server_context() if tls else None
        )
        port_pipe.send(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    uvloop.run(main())


def client_side_server_context() -> ssl.SSLContext:
    # The sink is the TLS *server* of each connection and the writer its client, so that the
    # writer holds lanchat's half of the work: encrypting. Which side made the handshake does
    # not change what a record costs to write.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT_FILES[0], CERT_FILES[1])
    return context


CERT_FILES: tuple[str, str] = ("", "")


class Writer(asyncio.Protocol):
    """One connection of the writer; pauses the pass while the transport is over its limit."""

    def __init__(self) -> None:
        self.resumed = asyncio.Event()
        self.resumed.set()

    def pause_writing(self) -> None:
        self.resumed.clear()

    def resume_writing(self) -> None:
        self.resumed.set()


async def measure(port: int, tls: bool, conns: int, batch: int, deliveries: int) -> float:
    """Server CPU µs per delivery: `deliveries` lines to `conns` connections, `batch` a write."""
    loop = asyncio.get_running_loop()
    context = client_context() if tls else None
    pairs = [
        await loop.create_connection(Writer, "127.0.0.1", port, ssl=context) for _ in range(conns)
    ]
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


def parts(batch: int) -> float:
    """µs of one TLS write without sockets: SSLObject.write of `batch` lines, the BIO read."""
    server, client = ssl.MemoryBIO(), ssl.MemoryBIO()
    outgoing, incoming = ssl.MemoryBIO(), ssl.MemoryBIO()
    srv = client_side_server_context().wrap_bio(server, outgoing, server_side=True)
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

    global CERT_FILES
    data_dir = Path(tempfile.mkdtemp(prefix="lanchat-bench-tls-"))
    server_context(data_dir)  # makes cert.pem and key.pem in the data directory
    CERT_FILES = (str(data_dir / CERT_FILE), str(data_dir / KEY_FILE))

    sinks = {}
    for tls in (False, True):
        here, there = multiprocessing.Pipe()
        proc = multiprocessing.Process(target=sink, args=(there, tls), daemon=True)
        proc.start()
        sinks[tls] = (proc, here.recv())

    results: dict[tuple[int, bool], list[float]] = {}
    ratios: dict[int, list[float]] = {b: [] for b in batches}
    for r in range(args.rounds):
        for batch in batches:
            got = {}
            for tls in (False, True) if r % 2 == 0 else (True, False):
                run = uvloop.run if args.loop == "uvloop" else asyncio.run
                got[tls] = run(measure(sinks[tls][1], tls, args.conns, batch, args.deliveries))
                results.setdefault((batch, tls), []).append(got[tls])
            ratios[batch].append(got[True] / got[False])
            print(
                f"round {r + 1} batch {batch:>2}: plain {got[False]:.3f} µs, "
                f"tls {got[True]:.3f} µs, {got[True] / got[False]:.2f}x "
                f"(load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    print(f"\nserver CPU per delivery, medians of {args.rounds} paired rounds, {args.conns} conns:")
    print("| lines per write | plain µs | TLS µs | TLS / plain (median of per-round) | range |")
    print("|---|---|---|---|---|")
    for batch in batches:
        plain, tls = results[(batch, False)], results[(batch, True)]
        print(
            f"| {batch} | {statistics.median(plain):.3f} | {statistics.median(tls):.3f} | "
            f"{statistics.median(ratios[batch]):.2f}x | "
            f"{min(ratios[batch]):.2f}-{max(ratios[batch]):.2f} |"
        )
    print("\none TLS write without sockets (best of 9: the machine is shared):")
    for batch in (*batches, 16384 // len(LINE)):
        write = min(parts(batch) for _ in range(9))
        print(
            f"  {batch:>3} lines ({batch * len(LINE):>5} B): SSLObject.write and BIO read "
            f"{write:.2f} µs ({write / (batch * len(LINE)) * 1000:.2f} ns/B)"
        )
    for proc, _ in sinks.values():
        proc.kill()


if __name__ == "__main__":
    main()
