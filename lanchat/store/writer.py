"""The history store seen from the event loop: writes and reads run on their own threads.

Layer: store; may import lanchat.errors, lanchat.store.db/records and the standard library
(never the server). Only asyncio futures cross into the loop, through
`loop.call_soon_threadsafe`, so the loop never waits on SQLite.

Writes use group commit (issue #2, "group commit is fine; batch the messages of one event-loop
pass"; issue #4, "batch the SQLite writes of one loop pass in one transaction"): ONE writer
thread owns the write connection. Each turn it takes everything queued, writes all of it in a
single transaction, commits, and resolves every waiting future in one hop to the loop. While a
commit runs, new `persist()` calls queue up and become the next transaction, so under load the
number of commits per second stays bounded while the rows per commit grow.

The round trip to the writer thread was measured (issue #4, on a shared 2-core machine) and is
kept as it is. A shorter `sys.setswitchinterval` would hand the writer the GIL sooner, but the
loop can use a commit only after its current pass ends anyway, so at most the writer's own
~0.1 ms is gained: persist() round trips under a loop busy in 3 ms passes took 0.32-0.40 ms
(p50) at the default 5 ms interval and 0.37-0.50 ms at 0.5 ms. In `scripts/bench`'s latency
scenario the p50 was 7.3 ms at 5 ms, 7.1 / 14 / 7.5 ms at 1 / 0.5 / 0.2 ms (noise), while CPU
per delivery at saturation grew from 1.84 to 2.09 µs (0.5 ms) and 2.30 µs (0.2 ms).

Reads run on a second thread with a second connection: in WAL mode readers see the last
committed state and never wait for the writer, so a CHATHISTORY request is not delayed by a
burst of messages being stored (https://www.sqlite.org/wal.html, "Concurrency").

Faults that would lose history in silence (issue 13, item 10). The data directory is locked
(lanchat.store.lock), so a second server on it fails at start and names the first. The writer
thread looks once a second whether the database file or its WAL is still the one it opened:
deleting either under a running server leaves SQLite writing to a file nobody can reach, and
the next start would find an empty or an older database. When it finds one gone (or replaced)
it says so and recreates the database from what its open connection still sees: an online
backup to a new file, fsynced, then renamed into place, and both connections reopened
(https://www.sqlite.org/howtocorrupt.html, 2.4 "Unlinking or renaming a database file while in
use"). A file that took the old one's place is moved aside, never overwritten.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeAlias

from lanchat.errors import StoreError
from lanchat.store.db import HistoryDB
from lanchat.store.lock import DataDirLock
from lanchat.store.problems import make_directory
from lanchat.store.records import (
    AccountRecord,
    HistoryQuery,
    HistoryRecord,
    RoomRecord,
    Stored,
)

__all__ = ["StoreWriter"]

log = logging.getLogger(__name__)

_Records: TypeAlias = Sequence[Stored]
_Job: TypeAlias = tuple[_Records, "asyncio.Future[None]"]
_STOP = None  # queued by close(): the writer commits what came before it, then exits
_CHECK_FILES_S = 1.0  # how often the writer thread looks whether its files are still there


class StoreWriter:
    """The asyncio face of the history database: `persist()` and `query()` return futures.

    `persist`, `query` and `close` are for the loop thread only; `commits` may be read
    anywhere (tests use it to see that calls were grouped).
    """

    def __init__(self, path: Path, *, fsync_each_commit: bool = False) -> None:
        """Open the database (both connections) and start the writer and reader threads.

        Args:
            path: the database file, e.g. `config.store.db_path`.
            fsync_each_commit: also survive power loss, one fsync per commit (see
                lanchat.store.db).

        Raises:
            StoreError: the database cannot be opened (see HistoryDB), or another process
                uses the data directory (see DataDirLock).
        """
        self.path = Path(path)  # the database file
        self.commits = 0  # transactions committed by the writer thread (for tests/benchmarks)
        self.batches = 0  # persist() calls so far (for tests)
        make_directory(self.path.parent)
        self._lock = DataDirLock(self.path.parent)  # held until the threads have stopped
        try:
            self._write_db = HistoryDB(self.path, fsync_each_commit=fsync_each_commit)
        except BaseException:
            self._lock.release()
            raise
        try:
            # The writer's open already checked the file and migrated the schema.
            self._read_db = HistoryDB(self.path, integrity_check=False)
        except BaseException:
            self._write_db.close()
            self._lock.release()
            raise
        self._opened = _identities(self.path)  # the files the connections hold, see _check_files
        self._next_check = time.monotonic() + _CHECK_FILES_S
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()  # loop → writer
        # One worker thread: the reader connection is only ever used by it.
        self._reader = concurrent.futures.ThreadPoolExecutor(1, "lanchat-store-reader")
        self._closing: asyncio.Future[None] | None = None  # the shutdown, once close() ran
        # A daemon, so a server that dies without close() still exits; whatever was queued
        # then was never acknowledged to anyone, so nothing promised is lost.
        self._thread = threading.Thread(
            target=self._write_loop, name="lanchat-store-writer", daemon=True
        )
        self._thread.start()

    @property
    def queued(self) -> int:
        """persist() batches the writer thread has not taken yet (for tests and benchmarks)."""
        return self._jobs.qsize()

    def load_rooms(self) -> list[RoomRecord]:
        """Every stored room, read synchronously (start-up, before serving).

        Raises:
            StoreError: the database cannot be read.
        """
        return self._reader.submit(self._read_db.load_rooms).result()

    def load_accounts(self) -> list[AccountRecord]:
        """Every registered account, read synchronously (start-up, before serving).

        Raises:
            StoreError: the database cannot be read.
        """
        return self._reader.submit(self._read_db.load_accounts).result()

    def load_position(self, cluster_id: str) -> str | None:
        """How far this node applied `cluster_id`'s log (StreamPosition), read synchronously.

        Raises:
            StoreError: the database cannot be read.
        """
        return self._reader.submit(self._read_db.load_position, cluster_id).result()

    def has_messages(self) -> bool:
        """Whether any message is stored, read synchronously (start-up).

        Raises:
            StoreError: the database cannot be read.
        """
        return self._reader.submit(self._read_db.has_messages).result()

    def persist(self, records: _Records) -> asyncio.Future[None]:
        """Loop thread only. Queue `records` to be committed in the writer's next transaction.

        Args:
            records: messages, room changes, new accounts and redactions, applied in order
                (copied: the caller may reuse its list).

        Returns:
            A future of the running loop that resolves once the records are committed, or
            fails with StoreError if that transaction failed (nothing of it is stored).

        Raises:
            StoreError: the store is closed.
        """
        self._check_open()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._jobs.put((tuple(records), future))
        self.batches += 1
        return future

    def query(self, q: HistoryQuery) -> asyncio.Future[list[HistoryRecord]]:
        """Loop thread only. Run a CHATHISTORY query on the reader thread.

        Args:
            q: the request (see HistoryDB.query).

        Returns:
            A future of the running loop with the records, oldest first; it fails with
            StoreError if the database cannot be read.

        Raises:
            StoreError: the store is closed.
        """
        self._check_open()
        return asyncio.wrap_future(self._reader.submit(self._read_db.query, q))

    def messages_between(
        self, after: str, upto: str, limit: int
    ) -> asyncio.Future[list[HistoryRecord]]:
        """Loop thread only. HistoryDB.messages_between, on the reader thread.

        Raises:
            StoreError: the store is closed.
        """
        self._check_open()
        read = self._reader.submit(self._read_db.messages_between, after, upto, limit)
        return asyncio.wrap_future(read)

    async def close(self) -> None:
        """Loop thread only. Commit everything queued, stop both threads, close the database.

        When it returns, every future persist() gave out is resolved: the writer hands its
        last results to the loop before its thread ends, and the end is reported after them.
        Idempotent; concurrent callers all wait for the same shutdown.
        """
        if self._closing is None:
            self._jobs.put(_STOP)
            # Joining threads blocks, so it happens on a helper thread, not on the loop.
            self._closing = asyncio.ensure_future(asyncio.to_thread(self._stop_threads))
        await asyncio.shield(self._closing)

    def _stop_threads(self) -> None:
        self._thread.join()  # after the last commit; its futures are already on their way
        self._reader.shutdown(wait=True)  # lets a query in progress finish
        self._read_db.close()
        self._write_db.close()
        self._lock.release()

    def _check_open(self) -> None:
        if self._closing is not None:
            raise StoreError(f"history store {self.path} is closed; nothing more can be stored")

    # -- writer thread -------------------------------------------------------------------

    def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            jobs: list[_Job] = []
            try:
                job = self._jobs.get(timeout=_CHECK_FILES_S)  # sleep until there is work
            except queue.Empty:
                self._check_files()
                continue
            while True:
                if job is _STOP:
                    stopping = True
                else:
                    jobs.append(job)
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
            if jobs:
                self._commit(jobs)
            self._check_files()

    def _commit(self, jobs: list[_Job]) -> None:
        """Write `jobs` in one transaction and resolve their futures."""
        try:
            self._write_db.append([r for records, _ in jobs for r in records])
        except StoreError as e:
            error = e
        except Exception as e:
            # A record SQLite cannot take (e.g. an int over 64 bits) is a bug upstream, but the
            # writer thread must live on and every waiting future must hear about it.
            log.exception("cannot store records in %s", self.path)
            error = StoreError(f"cannot store records in {self.path}: {e!r}")
        else:
            self.commits += 1
            self._resolve_all(jobs, None)
            return
        if len(jobs) == 1:
            self._resolve_all(jobs, error)
            return
        # One caller's records may be the reason (a value SQLite refuses); retry each caller
        # alone so the others are not lost with it. A full disk fails them all.
        log.warning("group commit failed (%s); retrying each batch alone", error)
        for job in jobs:
            self._commit([job])

    def _check_files(self) -> None:
        """Writer thread only. Recreate the database if its file or WAL was deleted."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + _CHECK_FILES_S
        now_there = _identities(self.path)
        gone = [p for p, ident in self._opened.items() if now_there.get(p) != ident]
        if not gone:
            return
        which = " and ".join(str(p) for p in gone)
        try:
            aside = self._recreate()
        except (StoreError, OSError) as e:
            log.error(
                "%s was deleted while lanchat was running and could not be recreated (%s); "
                "stop lanchat with Ctrl-C now, or what is not in the file is lost",
                which,
                e,
            )
            self._opened = now_there  # said once; the next deletion is noticed again
            return
        self._opened = _identities(self.path)
        log.error(
            "%s was deleted while lanchat was running; recreated %s from the open database, "
            "no message was lost%s",
            which,
            self.path,
            f" (the file found in its place was moved to {aside})" if aside else "",
        )

    def _recreate(self) -> Path | None:
        """Writer thread only. Put a copy of the open database at `path`; reopen both sides.

        Returns:
            Where a file that had taken the database's place was moved, or None.

        Raises:
            StoreError, OSError: the copy could not be made or put in place (the open
                connections are kept then, so nothing more is lost).
        """
        copy = self.path.with_name(self.path.name + ".recovering")
        self._write_db.save_copy(copy)
        # The reader closes, waits while the file is swapped, and reopens: queries queue up
        # behind it instead of meeting a closed connection.
        closed, swapped = threading.Event(), threading.Event()
        reader_done = self._reader.submit(_close_wait_reopen, self._read_db, closed, swapped)
        closed.wait()
        aside: Path | None = None
        try:
            self._write_db.close()  # the last connection: SQLite removes the old -wal and -shm
            for stale in _companions(self.path):
                stale.unlink(missing_ok=True)  # of the deleted file; the copy holds it all
            if self.path.exists() and self._opened.get(self.path) != _identity(self.path):
                aside = self.path.with_name(f"{self.path.name}.found-{int(time.time())}")
                os.replace(self.path, aside)
            os.replace(copy, self.path)
        finally:
            try:
                self._write_db.reopen()
            finally:
                swapped.set()
                reader_done.result()
        return aside

    def _resolve_all(self, jobs: list[_Job], error: StoreError | None) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, future in jobs:
            by_loop.setdefault(future.get_loop(), []).append(future)
        for loop, futures in by_loop.items():
            try:
                # One hop per loop for the whole group, not one per message.
                loop.call_soon_threadsafe(_settle, futures, error)
            except RuntimeError:
                log.debug("event loop closed before %d commits were reported", len(futures))


def _settle(futures: list[asyncio.Future[None]], error: StoreError | None) -> None:
    """On the loop: resolve each future that is still waiting (some may be cancelled)."""
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]


def _identity(path: Path) -> tuple[int, int] | None:
    """The (device, inode) of the file at `path`, None if there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def _identities(path: Path) -> dict[Path, tuple[int, int]]:
    """The (device, inode) of the database file at `path` and of its WAL, those that exist."""
    found = {}
    for p in (path, path.with_name(path.name + "-wal")):
        if (ident := _identity(p)) is not None:
            found[p] = ident
    return found


def _close_wait_reopen(db: HistoryDB, closed: threading.Event, swapped: threading.Event) -> None:
    """Reader thread: close `db`, wait until the file is in place again, reopen it."""
    try:
        db.close()
    finally:
        closed.set()
    swapped.wait()
    db.reopen()
