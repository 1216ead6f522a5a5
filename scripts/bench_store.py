"""Benchmark the history store (issue #4): persist throughput and CHATHISTORY on a big room.

Usage:
    .venv/bin/python scripts/bench_store.py [--messages 1000000] [--persist 20000]
        [--dir DIR] [--quick]

Prints one table. `--dir` keeps the big database between runs (it takes a while to build);
`--quick` shrinks everything to a few seconds to check the script still runs. Numbers are
medians of 5 runs where a run is short; nothing here asserts a timing.

Rows:
- persist: messages/s through StoreWriter.persist(), each event-loop pass handing over one
  batch (1 or 100 records) without waiting, then all futures awaited (the server's shape:
  the edge persists what one loop pass produced). "awaited" waits for every commit before the
  next message: the commit latency bound. Commits and rows/commit show the group commit.
  Both with synchronous=NORMAL (the default) and FULL (fsync per commit).
- query: CHATHISTORY on a room of --messages messages, via HistoryDB.query (the SQL and
  record building) and via StoreWriter.query (plus the hop to the reader thread and back).
- open: HistoryDB() on that database with and without PRAGMA quick_check.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lanchat.protocol import msgid_factory
from lanchat.store import HistoryDB, HistoryQuery, HistoryRecord, StoreWriter

ROOM = "#bench"
RUNS = 5


def make_messages(count: int, start_ms: int, key: str = ROOM) -> list[HistoryRecord]:
    new_msgid = msgid_factory()
    return [
        HistoryRecord(
            new_msgid(),
            start_ms + i,
            "PRIVMSG",
            f"user{i % 50}!u@192.168.1.{i % 250}",
            key,
            key,
            f"message number {i} with a bit of typical chat text in it",
        )
        for i in range(count)
    ]


def median_ms(run: Callable[[], object]) -> tuple[float, float, float]:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times), max(times)


async def amedian_ms(run: Callable[[], Awaitable[object]]) -> tuple[float, float, float]:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        await run()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times), max(times)


async def persist_rate(path: Path, total: int, batch: int, *, fsync: bool, awaited: bool) -> str:
    path.unlink(missing_ok=True)
    store = StoreWriter(path, fsync_each_commit=fsync)
    records = make_messages(total, 0)
    t0 = time.perf_counter()
    if awaited:
        for record in records:
            await store.persist([record])
    else:
        futures = []
        for i in range(0, total, batch):
            futures.append(store.persist(records[i : i + batch]))
            await asyncio.sleep(0)  # end of this loop pass
        await asyncio.gather(*futures)
    elapsed = time.perf_counter() - t0
    commits = store.commits
    await store.close()
    mode = "awaited one by one" if awaited else f"batch of {batch} per loop pass"
    sync = "FULL" if fsync else "NORMAL"
    return (
        f"persist  {mode:<28} {sync:<7} {total / elapsed:>12,.0f} msg/s"
        f"   {commits:>6} commits, {total / commits:>6.1f} rows/commit"
    )


def open_and_close(path: Path, integrity_check: bool) -> None:
    HistoryDB(path, integrity_check=integrity_check).close()


def build_room(path: Path, count: int) -> None:
    db = HistoryDB(path)
    have = len(db.query(HistoryQuery("LATEST", ROOM, None, limit=1)))
    if have:
        db.close()
        return
    print(f"building {count:,} messages in {ROOM} at {path} ...", file=sys.stderr)
    chunk = 50_000
    for start in range(0, count, chunk):
        db.append(make_messages(min(chunk, count - start), 1_700_000_000_000 + start))
    db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="size of the big room")
    parser.add_argument("--persist", type=int, default=20_000, help="messages per persist row")
    parser.add_argument("--dir", type=Path, help="keep the big database here between runs")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds), for CI")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.persist = 20_000, 1_000
    with tempfile.TemporaryDirectory() as scratch:
        work = args.dir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        small = Path(scratch) / "persist.sqlite3"
        for fsync in (False, True):
            total = args.persist if not fsync else args.persist // 4
            rows.append(await persist_rate(small, total, 1, fsync=fsync, awaited=True))
            for batch in (1, 100):
                rows.append(await persist_rate(small, total, batch, fsync=fsync, awaited=False))

        big = work / f"room-{args.messages}.sqlite3"
        build_room(big, args.messages)
        db = HistoryDB(big, integrity_check=False)
        middle = db.query(HistoryQuery("AROUND", ROOM, 1_700_000_000_000 + args.messages // 2, 1))
        queries = {
            "LATEST * 1000": HistoryQuery("LATEST", ROOM, None, limit=1000),
            "BEFORE <middle msgid> 1000": HistoryQuery("BEFORE", ROOM, middle[0].msgid, limit=1000),
            "AROUND <middle msgid> 1000": HistoryQuery("AROUND", ROOM, middle[0].msgid, limit=1000),
            "LATEST * 100": HistoryQuery("LATEST", ROOM, None, limit=100),
        }
        for name, q in queries.items():
            med, lo, hi = median_ms(functools.partial(db.query, q))
            rows.append(
                f"query    {name:<28} HistoryDB   {med:>8.2f} ms  (min {lo:.2f}, max {hi:.2f})"
            )
        db.close()
        store = StoreWriter(big)
        q = queries["LATEST * 1000"]
        med, lo, hi = await amedian_ms(lambda: store.query(q))
        name = "LATEST * 1000"
        rows.append(f"query    {name:<28} StoreWriter {med:>8.2f} ms  (min {lo:.2f}, max {hi:.2f})")
        await store.close()
        for check in (False, True):
            med, lo, hi = median_ms(functools.partial(open_and_close, big, check))
            what = "with quick_check" if check else "without quick_check"
            rows.append(
                f"open     {what:<28} {big.stat().st_size / 1e6:>6.0f} MB {med:>8.1f} ms"
                f"  (min {lo:.1f}, max {hi:.1f})"
            )
    print(
        f"history store benchmark: room of {args.messages:,} messages, "
        f"{args.persist:,} messages per persist row, median of {RUNS} runs"
    )
    for row in rows:
        print(row)


if __name__ == "__main__":
    asyncio.run(main())
