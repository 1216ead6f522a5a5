"""Benchmark CHATHISTORY as an amplifier (issue 13 item 9): bytes out, and a bystander's latency.

Usage:
    .venv/bin/python scripts/bench_history_amplifier.py [--runs 3] [--seconds 10]
        [--attackers 16] [--src DIR] [--history-lines-per-flood-line N] [--quick]

Runs `lanchat serve` on 127.0.0.1 with the default flood settings and a room of 5,000 stored
messages. `--attackers` connections (from 127.0.0.2) each send `CHATHISTORY LATEST #bench *
1000` at the allowed line rate ([flood] lines_per_s) and read whatever comes back; eight
bystanders (127.0.0.3 to .10) each say a timestamped line in #talk 3 times a second, and one
reader there measures how long each took to arrive. Prints bytes/s sent to the attackers and
the bystanders' p50/p99 latency, as medians of --runs runs. Nothing here asserts a timing.

`--src DIR` runs the server from another source tree (e.g. a `git archive` of main before
the fix); `--history-lines-per-flood-line` sets that [flood] setting (unknown to old trees).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server_memory import ready_port

from lanchat.protocol import msgid_factory
from lanchat.store import HistoryDB, HistoryRecord

ROOM, TALK = "#bench", "#talk"
STORED = 5000  # messages in ROOM
ASK = b"CHATHISTORY LATEST #bench * 1000\r\n"
BYSTANDERS = [f"127.0.0.{i}" for i in range(3, 11)]
BYSTANDER_LINES_PER_S = 3.0  # under the default 4 lines/s: bystanders are never delayed
WARMUP_S = 1.0

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def fill(data_dir: Path) -> None:
    new_msgid = msgid_factory()
    db = HistoryDB(data_dir / "history.sqlite3")
    db.append(
        [
            HistoryRecord(
                new_msgid(),
                1_764_093_600_000 + i,
                "PRIVMSG",
                f"user{i % 50}!u@192.168.1.{i % 250}",
                ROOM,
                ROOM,
                f"message number {i} with a bit of typical chat text in it",
            )
            for i in range(STORED)
        ]
    )
    db.close()


@contextlib.asynccontextmanager
async def serve(data_dir: Path, src: str, cost: int | None) -> AsyncIterator[int]:
    conf = data_dir / "lanchat.toml"
    flood = f"[flood]\nhistory_lines_per_flood_line = {cost}\n" if cost else ""
    conf.write_text(
        f'[server]\nrooms = ["{ROOM}", "{TALK}"]\n'
        "[limits]\nmax_connections_per_ip = 1000\nchathistory_max = 1000\n" + flood
    )
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lanchat", "serve", "--host", "127.0.0.1", "--port", "0",
        "--data-dir", str(data_dir), "--no-mdns", "--config", str(conf),
        stdout=asyncio.subprocess.PIPE, env=env, cwd=src or None,
    )  # fmt: skip
    assert proc.stdout is not None
    port = await ready_port(proc.stdout)
    drain = asyncio.create_task(_discard(proc.stdout))
    try:
        yield port
    finally:
        proc.terminate()
        await proc.wait()
        drain.cancel()


async def _discard(stream: asyncio.StreamReader) -> None:
    while await stream.read(1 << 16):
        pass


async def client(port: int, source: str, nick: str, room: str) -> Conn:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, local_addr=(source, 0), limit=1 << 24
    )
    writer.write(
        f"CAP LS 302\r\nCAP REQ :batch server-time message-tags\r\nNICK {nick}\r\n"
        f"USER {nick} 0 * :{nick}\r\nCAP END\r\nJOIN {room}\r\n".encode()
    )
    while True:
        line = await reader.readline()
        if not line:
            raise RuntimeError(f"{nick} was disconnected while joining")
        if b" 366 " in line:
            return reader, writer


async def attack(conn: Conn, count_from: float, stop: float) -> int:
    """Ask at the allowed line rate until `stop`; return the bytes received after `count_from`.

    `count_from` and `stop` are wall-clock times (time.time()): this runs in another process.
    """
    reader, writer = conn

    async def ask() -> None:
        while time.time() < stop:
            writer.write(ASK)
            await asyncio.sleep(0.25)  # 4 lines/s: the default [flood] lines_per_s

    asker = asyncio.create_task(ask())
    counted = 0
    with contextlib.suppress(TimeoutError, ConnectionError):
        while (left := stop - time.time()) > 0:
            data = await asyncio.wait_for(reader.read(1 << 20), left)
            if not data:
                break
            if time.time() >= count_from:
                counted += len(data)
    asker.cancel()
    writer.close()
    return counted


async def watch(reader: asyncio.StreamReader, talkers: list[Conn], warmup_s: float,
                run_s: float) -> list[float]:  # fmt: skip
    """Bystanders talk in #talk for `run_s`; return the latencies (ms) seen after `warmup_s`."""
    loop = asyncio.get_running_loop()
    count_from, stop = loop.time() + warmup_s, loop.time() + run_s

    async def talk(w: asyncio.StreamWriter) -> None:
        while loop.time() < stop:
            w.write(f"PRIVMSG {TALK} :{time.perf_counter()!r}\r\n".encode())
            await asyncio.sleep(1 / BYSTANDER_LINES_PER_S)

    tasks = [asyncio.create_task(talk(w)) for _, w in talkers]
    latencies: list[float] = []
    with contextlib.suppress(TimeoutError):
        while (left := stop - loop.time()) > 0:
            line = await asyncio.wait_for(reader.readline(), left)
            if b" PRIVMSG #talk " in line and loop.time() >= count_from:
                sent = float(line.rstrip().rsplit(b" ", 1)[1].lstrip(b":"))
                latencies.append((time.perf_counter() - sent) * 1000)
    for task in tasks:
        task.cancel()
    for _, w in talkers:
        w.close()
    return latencies


async def _attackers(port: int, count: int, pipe: Connection) -> None:
    amps = [await client(port, "127.0.0.2", f"amp{n}", ROOM) for n in range(count)]
    pipe.send("ready")
    count_from, stop = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    counted = await asyncio.gather(*(attack(c, count_from, stop) for c in amps))
    pipe.send(sum(counted))


def attackers_process(port: int, count: int, pipe: Connection) -> None:
    """The attackers, in their own process, so that reading their replies does not delay the
    bystanders' reader in this one."""
    asyncio.run(_attackers(port, count, pipe))


async def load_and_bystanders(
    port: int, target: Callable[[int, int, Connection], None], count: int, prefix: str = "talk"
) -> tuple[Connection, multiprocessing.process.BaseProcess, Conn, list[Conn]]:
    """Start the load `target(port, count, pipe)` in a process of its own and wait for its
    "ready"; then connect the timing reader and the bystanders. Returns our end of the pipe,
    the process, the reader's connection (keep it: dropping its writer closes it) and the
    bystanders."""
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(target=target, args=(port, count, theirs))
    child.start()
    assert await asyncio.get_running_loop().run_in_executor(None, ours.recv) == "ready"
    reader = await client(port, "127.0.0.1", "reader", TALK)
    return ours, child, reader, await bystanders(port, prefix)


async def bystanders(port: int, prefix: str) -> list[Conn]:
    """One bystander per BYSTANDERS address, in TALK, named `prefix` and a number."""
    return [await client(port, s, f"{prefix}{i}", TALK) for i, s in enumerate(BYSTANDERS)]


async def one_run(args: argparse.Namespace) -> tuple[float, float, float]:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="lanchat-amp-") as tmp:
        data = Path(tmp)
        fill(data)
        async with serve(data, args.src, args.history_lines_per_flood_line) as port:
            ours, child, (reader, _), talkers = await load_and_bystanders(
                port, attackers_process, args.attackers
            )
            count_from = time.time() + WARMUP_S
            stop = count_from + args.seconds
            ours.send((count_from, stop))
            found = await watch(reader, talkers, count_from - time.time(), stop - time.time())
            counted = await loop.run_in_executor(None, ours.recv)
            child.join()
    quantiles = statistics.quantiles(found, n=100)
    return counted / args.seconds, quantiles[49], quantiles[98]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--attackers", type=int, default=16)
    parser.add_argument("--src", default="", help="run the server from this source tree")
    parser.add_argument("--history-lines-per-flood-line", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="1 run of 2 s (checks it runs)")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds = 1, 2.0
    results = [await one_run(args) for _ in range(args.runs)]
    out, p50, p99 = (statistics.median(r[i] for r in results) for i in range(3))
    print(f"attackers {args.attackers}, {args.runs} runs of {args.seconds:g} s (medians)")
    print(f"  out to attackers   {out / 1e6:8.2f} MB/s")
    print(f"  bystander p50      {p50:8.1f} ms")
    print(f"  bystander p99      {p99:8.1f} ms")
    for i, (o, a, b) in enumerate(results, 1):
        print(f"  run {i}: {o / 1e6:.2f} MB/s, p50 {a:.1f} ms, p99 {b:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
