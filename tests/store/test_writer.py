"""StoreWriter on a real event loop and real SQLite files: group commit, reads beside writes,
failures reported on the futures, durability across SIGKILL.

Issue #2 ("History and durability"): a message is committed before anyone is shown it, and a
server killed with SIGKILL returns every message a client received.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from lanchat.errors import StoreError
from lanchat.store import HistoryDB, HistoryQuery, HistoryRecord, RoomRecord, StoreWriter

ROOT = Path(__file__).resolve().parents[2]
LOBBY = "#lobby"


def message(i: int, text: str = "hi") -> HistoryRecord:
    return HistoryRecord(f"m{i}", 1000 + i, "PRIVMSG", "alice!a@192.0.2.7", LOBBY, LOBBY, text)


def stored_msgids(path: Path) -> set[str]:
    """Every msgid in the database at `path`, read through a fresh connection."""
    db = HistoryDB(path)
    try:
        return {r.msgid for r in db.query(HistoryQuery("LATEST", LOBBY, None, limit=1 << 30))}
    finally:
        db.close()


def stored_rooms(path: Path) -> list[RoomRecord]:
    """Every room in the database at `path`, read through a fresh connection."""
    db = HistoryDB(path)
    try:
        return db.load_rooms()
    finally:
        db.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StoreWriter]:
    store = StoreWriter(tmp_path / "history.sqlite3")
    yield store
    await store.close()


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Hold the database's write lock from another connection (as another process would).

    The writer thread's next transaction waits for it (busy timeout); readers do not.
    """
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_persist_resolves_once_the_records_are_committed(store: StoreWriter) -> None:
    await store.persist([message(1), RoomRecord(LOBBY, "#Lobby", 1, topic="hello")])
    assert stored_msgids(store.path) == {"m1"}
    assert stored_rooms(store.path) == [RoomRecord(LOBBY, "#Lobby", 1, topic="hello")]


async def test_persists_queued_during_a_commit_are_grouped_into_one(store: StoreWriter) -> None:
    await store.persist([message(0)])
    before = store.commits
    with write_lock_held(store.path):
        # The writer is stuck on at most the first of these; the rest queue up behind it.
        futures = [store.persist([message(i)]) for i in range(1, 101)]
    await asyncio.wait_for(asyncio.gather(*futures), 10)
    assert store.commits - before <= 2
    assert stored_msgids(store.path) == {f"m{i}" for i in range(101)}


async def test_query_answers_while_a_write_waits(store: StoreWriter) -> None:
    await store.persist([message(1), message(2)])
    with write_lock_held(store.path):
        pending = store.persist([message(3)])
        rows = await asyncio.wait_for(store.query(HistoryQuery("LATEST", LOBBY, None)), 5)
        assert not pending.done()
    assert [r.msgid for r in rows] == ["m1", "m2"]
    await asyncio.wait_for(pending, 10)
    rows = await store.query(HistoryQuery("LATEST", LOBBY, None))
    assert [r.msgid for r in rows] == ["m1", "m2", "m3"]


async def test_query_returns_records_oldest_first(store: StoreWriter) -> None:
    await store.persist([message(i) for i in range(5)])
    rows = await store.query(HistoryQuery("BEFORE", LOBBY, "m4", limit=2))
    assert rows == [message(2), message(3)]


async def test_records_the_database_refuses_fail_only_their_own_future(
    store: StoreWriter,
) -> None:
    too_big = HistoryRecord("bad", 1 << 70, "PRIVMSG", "a!a@h", LOBBY, LOBBY, "x")
    with write_lock_held(store.path):
        good1 = store.persist([message(1)])
        bad = store.persist([too_big])
        good2 = store.persist([message(2)])
    await asyncio.wait_for(asyncio.gather(good1, good2), 10)
    with pytest.raises(StoreError, match="cannot store records in"):
        await bad
    assert stored_msgids(store.path) == {"m1", "m2"}


async def test_close_commits_everything_still_queued(tmp_path: Path) -> None:
    store = StoreWriter(tmp_path / "history.sqlite3")
    futures = [store.persist([message(i)]) for i in range(50)]
    await store.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert stored_msgids(store.path) == {f"m{i}" for i in range(50)}


async def test_close_is_idempotent_and_later_calls_are_refused(tmp_path: Path) -> None:
    store = StoreWriter(tmp_path / "history.sqlite3")
    await asyncio.gather(store.close(), store.close())
    await store.close()
    with pytest.raises(StoreError, match="is closed"):
        store.persist([message(1)])
    with pytest.raises(StoreError, match="is closed"):
        store.query(HistoryQuery("LATEST", LOBBY, None))


async def test_load_rooms_reads_what_was_persisted(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    first = StoreWriter(path)
    await first.persist([RoomRecord(LOBBY, "#Lobby", 7, modes="nt", password="k")])
    await first.close()
    second = StoreWriter(path)
    assert second.load_rooms() == [RoomRecord(LOBBY, "#Lobby", 7, modes="nt", password="k")]
    await second.close()


def test_opening_a_corrupt_database_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(StoreError, match="is corrupt"):
        StoreWriter(path)


def run_child(script: str, *args: str) -> subprocess.Popen[str]:
    """Start `script` in a fresh Python that imports this checkout of lanchat."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


# Four tasks persist batches concurrently (so commits are grouped) and print each batch's
# msgids right after its future resolved: the moment a server would show them to clients.
_PERSIST_FOREVER = """
    import asyncio, sys
    from pathlib import Path
    from lanchat.store import HistoryRecord, StoreWriter

    async def sender(store, task):
        for n in range(1_000_000):
            batch = [
                HistoryRecord(f"t{task}-{n}-{k}", n, "PRIVMSG", "a!a@h", "#lobby", "#lobby", "x")
                for k in range(3)
            ]
            await store.persist(batch)
            print(" ".join(r.msgid for r in batch), flush=True)

    async def main():
        store = StoreWriter(Path(sys.argv[1]))
        await asyncio.gather(*(sender(store, task) for task in range(4)))

    asyncio.run(main())
"""


def test_every_acknowledged_record_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    acknowledged: set[str] = set()
    with run_child(_PERSIST_FOREVER, str(path)) as child:
        assert child.stdout is not None
        try:
            for _ in range(400):
                line = child.stdout.readline()
                assert line, "the persisting child exited early"
                acknowledged.update(line.split())
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert acknowledged <= stored_msgids(path)


# The file size limit makes the kernel refuse writes past 256 KiB (EFBIG), like a full disk.
_FILL_THE_DISK = """
    import asyncio, resource, signal, sys
    from pathlib import Path
    from lanchat.errors import StoreError
    from lanchat.store import HistoryRecord, StoreWriter

    async def main():
        store = StoreWriter(Path(sys.argv[1]))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
        for n in range(10_000):
            record = HistoryRecord(f"m{n}", n, "PRIVMSG", "a!a@h", "#lobby", "#lobby", "x" * 1000)
            try:
                await store.persist([record])
            except StoreError as e:
                print(f"{n} {e}", flush=True)
                break
        await store.close()
        print("closed", flush=True)

    asyncio.run(main())
"""


def test_write_error_fails_the_future_with_a_clear_store_error(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    child = run_child(_FILL_THE_DISK, str(path))
    output, _ = child.communicate(timeout=60)
    assert child.returncode == 0
    failed_line, closed = output.splitlines()
    stored, error = failed_line.split(" ", 1)
    assert error.startswith(f"cannot write to history database {path} (")
    assert error.endswith("check free disk space and permissions of the data directory")
    assert closed == "closed"
    assert stored_msgids(path) == {f"m{n}" for n in range(int(stored))}


async def test_a_file_put_in_place_of_the_database_is_moved_aside_not_overwritten(
    tmp_path: Path,
) -> None:
    # Issue 13, item 10: the writer notices within a second that the file at its path is not
    # the one it opened, puts a copy of its own database there and keeps the newcomer.
    path = tmp_path / "history.sqlite3"
    store = StoreWriter(path)
    await store.persist([message(1)])
    path.unlink()
    path.write_bytes(b"someone else's file")
    await asyncio.sleep(1.1)  # the writer looks once a second, after a commit or when idle
    await store.persist([message(2)])  # committed to the open database, then it looks
    await store.close()
    [aside] = tmp_path.glob("history.sqlite3.found-*")
    assert aside.read_bytes() == b"someone else's file"
    assert stored_msgids(path) == {"m1", "m2"}
