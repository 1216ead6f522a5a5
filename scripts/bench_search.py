"""Benchmark SEARCH (soju.im/search) on a big history: the FTS5 trigram index, its size, its cost.

Usage:
    .venv/bin/python scripts/bench_search.py [--messages 1000000] [--rooms 10] [--dir DIR]
        [--quick]

Builds a database of --messages chat lines spread over --rooms rooms, written as a database
of the release before the search index (schema 1, no triggers), then opens it with HistoryDB:
that runs the migration which indexes the existing history, and its time is the "upgrade"
row. Then it times SEARCH queries of one room through HistoryDB.query (the SQL and record
building) and one through StoreWriter.query (plus the hop to the reader thread), and the
append rate with the index's triggers against the same without them. Sizes come from SQLite's
dbstat table. `--dir` keeps the database between runs; `--quick` shrinks everything to
seconds. Query times are medians of 5 runs (bench_store's); nothing here asserts a timing.

The text is words drawn from a vocabulary of 5,000 made-up words with a Zipf-like skew (a few
common words, many rare ones), 4 to 12 words a line, so common words hit many lines.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_store import RUNS, amedian_ms, median_ms

from lanchat.protocol import msgid_factory
from lanchat.store import HistoryDB, HistoryQuery, HistoryRecord, StoreWriter
from lanchat.store.db import _MIGRATIONS

T0_MS = 1_700_000_000_000
_SYLLABLES = [c + v for c in "bcdfghjklmnprstvz" for v in "aeiou"]


def vocabulary(size: int = 5000) -> list[str]:
    """The same made-up words on every call, most common first."""
    rng = random.Random(0)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def lines(count: int, rooms: int, seed: int = 1) -> list[tuple[object, ...]]:
    """Rows of the schema-1 messages table: msgid, time_ms, key, command, source, target, text."""
    rng = random.Random(seed)
    words = vocabulary()
    weights = [1 / (rank + 1) for rank in range(len(words))]  # Zipf-like
    new_msgid = msgid_factory()
    out = []
    for i in range(count):
        key = f"#room{i % rooms}"
        text = " ".join(rng.choices(words, weights, k=rng.randint(4, 12)))
        out.append(
            (new_msgid(), T0_MS + i, key, "PRIVMSG", f"u{i % 50}!u@10.0.0.{i % 250}", key, text)
        )
    return out


def build_old(path: Path, count: int, rooms: int) -> None:
    """A schema-1 database (the release before the index) holding `count` messages."""
    conn = sqlite3.connect(path)
    for statement in _MIGRATIONS[0]:
        assert isinstance(statement, str)
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("PRAGMA journal_mode = WAL")
    chunk = 100_000
    for start in range(0, count, chunk):
        rows = lines(min(chunk, count - start), rooms, seed=start)
        conn.executemany(
            "INSERT INTO messages (msgid, time_ms, target_key, command, source, target, text)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(m, t + start, k, c, s, tg, x) for (m, t, k, c, s, tg, x) in rows],
        )
        conn.commit()
    conn.close()


def sizes(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    conn.close()
    return {name: size for name, size in rows}


def append_rate(path: Path, count: int, *, index: bool) -> float:
    """Messages/s of HistoryDB.append in batches of 100, with or without the index triggers."""
    db = HistoryDB(path)
    if not index:
        with sqlite3.connect(path) as conn:
            for name in ("insert", "delete", "update"):
                conn.execute(f"DROP TRIGGER messages_fts_{name}")
    new_msgid = msgid_factory()
    rows = lines(count, 10, seed=99)
    records = [
        HistoryRecord(new_msgid(), T0_MS + i, c, s, tg, k, x)
        for i, (_, _, k, c, s, tg, x) in enumerate(rows)
    ]
    start = time.perf_counter()
    for i in range(0, count, 100):
        db.append(records[i : i + 100])
    elapsed = time.perf_counter() - start
    db.close()
    return count / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages stored")
    parser.add_argument("--rooms", type=int, default=10, help="rooms they are spread over")
    parser.add_argument("--dir", type=Path, help="keep the big database here between runs")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds), for CI")
    args = parser.parse_args()
    if args.quick:
        args.messages = 20_000
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = args.dir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        big = work / f"search-{args.messages}-{args.rooms}.sqlite3"
        if not big.exists():
            print(f"building {args.messages:,} messages at {big} ...", file=sys.stderr)
            build_old(big, args.messages, args.rooms)
            before = big.stat().st_size
            start = time.perf_counter()
            HistoryDB(big).close()  # the migration indexes the existing history
            rows.append(
                f"upgrade  index {args.messages:,} existing messages"
                f"{'':>12}{time.perf_counter() - start:>9.1f} s"
            )
            rows.append(f"size     database before the index {before / 1e6:>21.0f} MB")
        found = sizes(big)
        fts = sum(size for name, size in found.items() if name.startswith("messages_fts"))
        table = found["messages"] + found["messages_by_target_time"]
        rows.append(f"size     messages table + its index {table / 1e6:>20.0f} MB")
        rows.append(f"size     search index (messages_fts*) {fts / 1e6:>18.0f} MB")

        words = vocabulary()
        room = ("#room3",)
        queries = {
            "common word (rank 1)": HistoryQuery("SEARCH", target_keys=room, text=words[0]),
            "word of rank 100": HistoryQuery("SEARCH", target_keys=room, text=words[99]),
            "rare word (rank 4000)": HistoryQuery("SEARCH", target_keys=room, text=words[3999]),
            "two words (ranks 10, 50)": HistoryQuery(
                "SEARCH", target_keys=room, text=f"{words[9]} {words[49]}"
            ),
            "substring (4 letters)": HistoryQuery("SEARCH", target_keys=room, text=words[20][1:5]),
            "no match": HistoryQuery("SEARCH", target_keys=room, text="zzzzqqq"),
            # The worst case: every hit of the commonest word is read and none is in the room.
            "common word, room without it": HistoryQuery(
                "SEARCH", target_keys=("#empty",), text=words[0]
            ),
            "2-letter word: room scan": HistoryQuery("SEARCH", target_keys=room, text="qx"),
            "common word, all rooms": HistoryQuery(
                "SEARCH", target_keys=tuple(f"#room{i}" for i in range(args.rooms)), text=words[0]
            ),
        }
        db = HistoryDB(big, integrity_check=False)
        for name, q in queries.items():
            med, lo, hi = median_ms(lambda q=q: db.query(q))
            hits = len(db.query(q))
            rows.append(
                f"SEARCH   {name:<28} limit 100 {hits:>4} hits {med:>8.2f} ms"
                f"  (min {lo:.2f}, max {hi:.2f})"
            )
        db.close()
        store = StoreWriter(big)
        q = queries["word of rank 100"]
        med, lo, hi = await amedian_ms(lambda: store.query(q))
        name = "word of rank 100, StoreWriter"
        rows.append(
            f"SEARCH   {name:<28} limit 100           {med:>8.2f} ms  (min {lo:.2f}, max {hi:.2f})"
        )
        await store.close()

        appended = 5_000 if args.quick else 50_000
        for index in (False, True):
            rate = append_rate(Path(scratch) / f"append-{index}.sqlite3", appended, index=index)
            what = "with the search index" if index else "without (triggers dropped)"
            rows.append(f"append   {what:<28} batches of 100 {rate:>12,.0f} msg/s")
    print(
        f"search benchmark: {args.messages:,} messages in {args.rooms} rooms, "
        f"medians of {RUNS} runs"
    )
    for row in rows:
        print(row)


if __name__ == "__main__":
    asyncio.run(main())
