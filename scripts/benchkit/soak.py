"""The soak: lanchat's resident memory over a long run of steady chat (issue 13, item 12).

Layer: a tool outside the lanchat package, like the rest of benchkit; starts `lanchat serve`
through benchkit.servers and drives it with one benchkit.loadgen swarm on 127.0.0.1.

300 clients in one room, 50 messages/s in total from 30 of them, for --duration seconds (an
hour by default). Every --sample seconds the server's VmRSS, the history database's size on
disk and the deliveries so far are recorded. The question is whether RSS levels off: every
message is stored, so a cache that grows with the database (SQLite's page cache) or a
structure that grows with the message count shows as a straight line, while a bounded one
flattens once its caches are full. The verdict compares the growth per 10 minutes in the last
quarter of the run with the first quarter's.

    scripts/bench soak                          # one hour, a sample a minute
    scripts/bench soak --duration 120 --sample 10

Prints a Markdown table and saves JSON under --out. The load is light (a tenth of a core for
the generator), but it is an hour: on a shared machine run it with `nice`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchkit import servers
from benchkit.loadgen import Swarm

_TICK_S = 0.05  # pacing granularity of the senders
_DRAIN_S = 30.0  # after the last send: deliveries still arriving are not lost


@dataclass(frozen=True)
class Sample:
    """One reading of the server during the soak."""

    elapsed_s: float
    rss_kib: int
    db_kib: int  # history.sqlite3 plus its WAL, on disk
    sent: int  # messages sent so far


def _db_kib(data: Path) -> int:
    names = ("history.sqlite3", "history.sqlite3-wal")
    return sum((data / n).stat().st_size for n in names if (data / n).exists()) // 1024


def growth_per_10min(samples: list[Sample], start: float, end: float) -> float:
    """RSS growth in KiB per 10 minutes between the samples nearest `start` and `end` seconds.

    Raises:
        ValueError: fewer than two samples.
    """
    if len(samples) < 2:
        raise ValueError("a growth needs at least two samples")
    a = min(samples, key=lambda s: abs(s.elapsed_s - start))
    b = min(samples, key=lambda s: abs(s.elapsed_s - end))
    if b.elapsed_s <= a.elapsed_s:
        return 0.0
    return (b.rss_kib - a.rss_kib) / (b.elapsed_s - a.elapsed_s) * 600


async def soak(
    port: int, pid: int, data: Path, args: argparse.Namespace
) -> tuple[list[Sample], int]:
    """Run the chat for args.duration seconds; return the samples and the deliveries lost."""
    senders = min(args.senders, args.clients)
    sw = Swarm(port, args.clients, senders=senders, senders_total=senders)
    await sw.setup(concurrency=50, timeout_s=300.0)
    try:
        await sw.sync(120.0)
        sw.start_measuring()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        samples: list[Sample] = []
        next_sample = 0.0
        while (elapsed := loop.time() - t0) < args.duration:
            due = int(elapsed * args.rate) + 1
            while sw.total_sent < due:
                sw.send_one(sw.total_sent % senders)
            if elapsed >= next_sample:
                s = Sample(elapsed, servers.rss_kib(pid), _db_kib(data), sw.total_sent)
                samples.append(s)
                print(
                    f"{s.elapsed_s:7.0f} s  RSS {s.rss_kib:7d} KiB  "
                    f"db {s.db_kib:7d} KiB  sent {s.sent}",
                    flush=True,
                )
                next_sample += args.sample
            await asyncio.sleep(_TICK_S)
        samples.append(Sample(loop.time() - t0, servers.rss_kib(pid), _db_kib(data), sw.total_sent))
        lost = await sw.drain(sw.total_sent * (args.clients - 1), _DRAIN_S)
        return samples, lost
    finally:
        await sw.close()


def table(samples: list[Sample], every_s: float) -> str:
    """The RSS-over-time table (Markdown), one row per `every_s` seconds of the run."""
    rows = ["| minute | server RSS, MiB | history on disk, MiB | messages stored |"]
    rows.append("| ---: | ---: | ---: | ---: |")
    mark = 0.0
    for s in samples:
        if s.elapsed_s + 1e-6 >= mark or s is samples[-1]:
            rows.append(
                f"| {s.elapsed_s / 60:.1f} | {s.rss_kib / 1024:.1f} | {s.db_kib / 1024:.1f} "
                f"| {s.sent:,} |"
            )
            while mark <= s.elapsed_s + 1e-6:
                mark += every_s  # rows on the multiples of every_s, however late a sample is
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the soak, print the table and the verdict, save JSON."""
    p = argparse.ArgumentParser(prog="scripts/bench soak", description=__doc__.split("\n\n")[1])
    p.add_argument("--duration", type=float, default=3600.0, help="seconds (default 3600)")
    p.add_argument("--sample", type=float, default=60.0, help="seconds between RSS samples")
    p.add_argument("--clients", type=int, default=300, help="clients in the room (default 300)")
    p.add_argument("--senders", type=int, default=30, help="clients that send (default 30)")
    p.add_argument("--rate", type=float, default=50.0, help="messages/s in total (default 50)")
    p.add_argument("--out", type=Path, default=servers.REPO / "bench-results", help="output dir")
    args = p.parse_args(argv)
    if args.duration <= 0 or args.sample <= 0 or args.rate <= 0 or args.clients < 2:
        p.error("--duration, --sample and --rate must be positive and --clients at least 2")
    servers.raise_nofile()
    with servers.running("lanchat") as srv:
        samples, lost = servers_run(srv, args)
        died = srv.proc.poll()
    if died is not None:
        print(f"lanchat exited ({died}) during the soak: {srv.log_tail(3)}", file=sys.stderr)
        return 1
    print(table(samples, max(args.duration / 12, args.sample)))
    d = samples[-1].elapsed_s
    first, last = growth_per_10min(samples, 0, d / 4), growth_per_10min(samples, 3 * d / 4, d)
    print(
        f"RSS growth per 10 min: first quarter {first:+.0f} KiB, last quarter {last:+.0f} KiB; "
        f"{lost} deliveries lost"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    meta: dict[str, Any] = {k: str(v) for k, v in vars(args).items()}
    meta["loadavg_1m"] = os.getloadavg()[0]
    out.write_text(
        json.dumps(
            {
                "meta": meta,
                "lost": lost,
                "growth_kib_per_10min": {"first_quarter": first, "last_quarter": last},
                "samples": [vars(s) for s in samples],
            },
            indent=1,
        )
    )
    print(f"results: {out}")
    return 0 if lost == 0 else 1


def servers_run(srv: servers.Running, args: argparse.Namespace) -> tuple[list[Sample], int]:
    """Run the soak against a started server on a uvloop loop when there is one."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(soak(srv.port, srv.pid, srv.tmp / "data", args))
    return uvloop.run(soak(srv.port, srv.pid, srv.tmp / "data", args))


if __name__ == "__main__":
    sys.exit(main())
