"""Benchmark a registration storm (issue 17): how long 500 REGISTERs take, and what scrypt costs
everyone else while it runs.

Usage:
    .venv/bin/python scripts/bench_registration.py [--runs 3] [--accounts 500] [--seconds 8]
        [--quick]

Runs `lanchat serve` on 127.0.0.1 (the setup of bench_history_amplifier.py: eight bystanders
saying a timestamped line in #talk 3 times a second, one reader timing each). In a process of
its own, `--accounts` clients (from 127.0.0.2) connect and register; then, for `--seconds`,
the bystanders' latency is measured with no storm (the baseline); then every client sends
`REGISTER * * <password>` at once and the storm process times the last REGISTER SUCCESS,
while the bystanders' latency is measured again over the first `--seconds` of the storm.
Prints medians of --runs runs. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_history_amplifier import bystanders, load_and_bystanders, serve, watch

STORM_SOURCE = "127.0.0.2"


async def _registered(port: int, nick: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(STORM_SOURCE, 0))
    writer.write(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode())
    while b" 376 " not in (line := await reader.readline()) and b" 422 " not in line:
        if not line:
            raise RuntimeError(f"{nick} was disconnected while registering")
    return reader, writer


async def _register(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
    writer.write(f"REGISTER * * password-{n}\r\n".encode())
    while line := await reader.readline():
        if line.split(b" ", 2)[1:2] == [b"REGISTER"]:
            return b" SUCCESS " in line
        if b" FAIL REGISTER " in line or line.startswith(b"FAIL REGISTER"):
            return False
    return False


async def _storm(port: int, accounts: int, pipe: Connection) -> None:
    conns = []
    for n in range(accounts):  # one after another: a connection storm is another benchmark
        conns.append(await _registered(port, f"acct{n}"))
    pipe.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    start = time.perf_counter()
    done = await asyncio.gather(*(_register(r, w, n) for n, (r, w) in enumerate(conns)))
    pipe.send((time.perf_counter() - start, sum(done)))
    for _, w in conns:
        w.close()


def storm_process(port: int, accounts: int, pipe: Connection) -> None:
    """The registering clients, in their own process (their reads do not delay the reader)."""
    asyncio.run(_storm(port, accounts, pipe))


def _p50_p99(latencies: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(latencies, n=100)
    return q[49], q[98]


async def one_run(args: argparse.Namespace) -> tuple[float, int, float, float, float, float]:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="lanchat-register-") as tmp:
        async with serve(Path(tmp), "", None) as port:
            ours, child, (reader, _), talkers = await load_and_bystanders(
                port, storm_process, args.accounts
            )
            quiet = await watch(reader, talkers, 1.0, 1.0 + args.seconds)
            talkers = await bystanders(port, "again")
            ours.send("go")
            stormy = await watch(reader, talkers, 0.0, args.seconds)
            elapsed, stored = await loop.run_in_executor(None, ours.recv)
            child.join()
    return (elapsed, stored, *_p50_p99(quiet), *_p50_p99(stormy))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--quick", action="store_true", help="1 run, 20 accounts (checks it runs)")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.accounts, args.seconds = 1, 20, 1.0
    results = [await one_run(args) for _ in range(args.runs)]
    med = [statistics.median(r[i] for r in results) for i in range(6)]
    print(f"{args.accounts} REGISTERs at once, {args.runs} runs (medians)")
    print(f"  storm time            {med[0]:8.1f} s ({med[0] / args.accounts * 1000:.0f} ms each)")
    print(f"  bystander p50 / p99   {med[2]:6.1f} / {med[3]:6.1f} ms without the storm")
    print(f"  bystander p50 / p99   {med[4]:6.1f} / {med[5]:6.1f} ms during it")
    for i, r in enumerate(results, 1):
        print(
            f"  run {i}: {r[0]:.1f} s, {r[1]} stored; quiet p50 {r[2]:.1f} p99 {r[3]:.1f} ms;"
            f" storm p50 {r[4]:.1f} p99 {r[5]:.1f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
