"""The history database: schema, migrations, writes and CHATHISTORY over plain sqlite3.

Layer: store; may import lanchat.errors, lanchat.store.records and the standard library
(never the server, discovery, client or GUI). Synchronous code: a `HistoryDB` is used by one
thread at a time (StoreWriter gives each of its threads its own connection).

CHATHISTORY queries (https://ircv3.net/specs/extensions/chathistory) run in
lanchat.store.chathistory on this connection; `HistoryDB.query` states their contract. What
goes wrong while opening is phrased for people in lanchat.store.problems.

Durability (issue #2, "a message is durable before it is shown"): the database runs in WAL mode
with `synchronous=NORMAL`. A COMMIT appends the transaction to the -wal file with write(2)
before it returns, so once `append()` returns the data is in the operating system's page cache
and survives the *process* dying in any way (kill -9, crash, OOM killer). The WAL is fsynced only
at checkpoints, so an OS crash or power loss can lose the last transactions (never corrupt the
database). `fsync_each_commit=True` selects `synchronous=FULL`, which also survives power loss at
the cost of one fsync per group commit.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lanchat.errors import StoreError
from lanchat.store.chathistory import COLUMNS, SUBCOMMANDS, ChatHistory, record_from_row
from lanchat.store.problems import corrupt, describe, make_directory, open_error
from lanchat.store.records import (
    AccountRecord,
    HistoryQuery,
    HistoryRecord,
    Redaction,
    RoomRecord,
    StreamPosition,
)
from lanchat.store.search import MIGRATION as SEARCH_INDEX
from lanchat.store.search import find_message, search

__all__ = ["SCHEMA_VERSION", "HistoryDB", "search_read_only"]

# Each migration takes the schema from version i to i + 1 (PRAGMA user_version). Append new
# ones; never edit a released one, databases in the field already ran it. A step is an SQL
# statement or a function of the connection (for work that loops or logs progress).
_Step = str | Callable[[sqlite3.Connection], None]
_MIGRATIONS: tuple[tuple[_Step, ...], ...] = (
    (
        """CREATE TABLE messages (
            id         INTEGER PRIMARY KEY,  -- insertion order, the tie-break of equal times
            msgid      TEXT    NOT NULL UNIQUE,
            time_ms    INTEGER NOT NULL,
            target_key TEXT    NOT NULL,
            command    TEXT    NOT NULL,
            source     TEXT    NOT NULL,
            target     TEXT    NOT NULL,
            text       TEXT    NOT NULL,
            tags       TEXT    NOT NULL DEFAULT ''  -- JSON object of client-only tags, or ''
        )""",
        # Every CHATHISTORY query is one range scan of this index. The rowid (id) is stored in
        # each index entry, so the order (target_key, time_ms, id) needs no sort step.
        "CREATE INDEX messages_by_target_time ON messages (target_key, time_ms)",
        """CREATE TABLE rooms (
            key          TEXT PRIMARY KEY,
            name         TEXT    NOT NULL,
            created_s    INTEGER NOT NULL,
            topic        TEXT    NOT NULL,
            topic_setter TEXT    NOT NULL,
            topic_time_s INTEGER NOT NULL,
            modes        TEXT    NOT NULL,
            password     TEXT    NOT NULL,
            user_limit   INTEGER NOT NULL,
            bans         TEXT    NOT NULL  -- JSON array of ban masks
        ) WITHOUT ROWID""",
    ),
    # Issue 18: ban exceptions (+e) and invite exceptions (+I), kept like the bans.
    (
        "ALTER TABLE rooms ADD COLUMN excepts TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE rooms ADD COLUMN invex TEXT NOT NULL DEFAULT '[]'",
    ),
    (
        # Issue 17: accounts. The hash carries its own scrypt parameters (lanchat.passwords).
        """CREATE TABLE accounts (
            key           TEXT PRIMARY KEY,  -- casefolded account name
            name          TEXT    NOT NULL,
            password_hash TEXT    NOT NULL,
            created_s     INTEGER NOT NULL
        ) WITHOUT ROWID""",
    ),
    SEARCH_INDEX,  # issue 18: the full-text index of messages (lanchat.store.search)
    (
        # Issue 20: how far this node has applied each cluster's log (StreamPosition).
        """CREATE TABLE cluster_positions (
            cluster_id TEXT PRIMARY KEY,
            entry_id   TEXT NOT NULL
        ) WITHOUT ROWID""",
    ),
    # Issue 17: SCRAM-SHA-256 keys beside the scrypt hash (lanchat.scram); "" for the accounts
    # registered before, which log in with PLAIN only.
    ("ALTER TABLE accounts ADD COLUMN scram TEXT NOT NULL DEFAULT ''",),
)
SCHEMA_VERSION = len(_MIGRATIONS)

# The queries other than CHATHISTORY's, by HistoryQuery.subcommand.
_LOOKUPS: dict[str, Callable[[sqlite3.Connection, HistoryQuery], list[HistoryRecord]]] = {
    "SEARCH": search,
    "MSGID": find_message,
}
_WIDTH = len(COLUMNS.split(","))  # variables per message row
_ROW = "(" + ", ".join(["?"] * _WIDTH) + ")"
_MAX_ROWS = 512  # rows per INSERT, unless the SQLite library allows fewer variables


@functools.lru_cache(maxsize=64)
def _insert_messages(rows: int) -> str:
    """The INSERT of `rows` messages in one statement.

    One statement is one sqlite3_step, so the store thread gives up and takes back the GIL
    once per batch instead of once per row (issue #4).
    """
    return (
        f"INSERT INTO messages ({COLUMNS}) VALUES {', '.join([_ROW] * rows)}"
        # A msgid is unique; storing the same record twice (a retried persist) is not an error.
        " ON CONFLICT (msgid) DO NOTHING"
    )


_UPSERT_ROOM = (
    "INSERT OR REPLACE INTO rooms (key, name, created_s, topic, topic_setter, topic_time_s,"
    " modes, password, user_limit, bans, excepts, invex)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _row(record: HistoryRecord) -> tuple[Any, ...]:
    """The values of one row of `_insert_messages` for `record`."""
    return (
        record.msgid,
        record.time_ms,
        record.command,
        record.source,
        record.target,
        record.target_key,
        record.text,
        json.dumps(record.tags, ensure_ascii=False) if record.tags else "",
    )


def _room(row: tuple[Any, ...]) -> RoomRecord:
    key, name, created_s, topic, topic_setter, topic_time_s, modes, password, limit = row[:9]
    bans, excepts, invex = (tuple(json.loads(masks)) for masks in row[9:])
    return RoomRecord(
        key,
        name,
        created_s,
        topic,
        topic_setter,
        topic_time_s,
        modes,
        password,
        limit,
        bans,
        excepts=excepts,
        invex=invex,
    )


class HistoryDB:
    """One connection to the history database (messages and rooms).

    Opening it creates the data directory and the database if needed, switches to WAL, checks
    the file is a healthy lanchat database and runs pending schema migrations. It never deletes,
    recreates or overwrites an existing file that is not a usable lanchat database: that is a
    StoreError telling the user what to do.
    """

    def __init__(
        self, path: Path, *, fsync_each_commit: bool = False, integrity_check: bool = True
    ) -> None:
        """Open (creating if needed) the history database at `path`.

        Args:
            path: the database file, e.g. <data dir>/history.sqlite3.
            fsync_each_commit: survive power loss too (synchronous=FULL), see the module
                docstring; the default survives any crash of the process.
            integrity_check: run `PRAGMA quick_check` (reads the whole file once). A second
                connection to a database this process already checked skips it.

        Raises:
            StoreError: the directory cannot be created or written, the file is not a
                database, is corrupt, or was written by a newer lanchat.
        """
        self.path = Path(path)  # the database file
        make_directory(self.path.parent)
        if self.path.exists() and not self.path.is_file():
            raise StoreError(
                f"history database {self.path} is not a regular file; "
                "remove it or choose another directory with --data-dir"
            )
        self._fsync_each_commit = fsync_each_commit  # kept for reopen()
        self._connect(integrity_check=integrity_check)

    def _connect(self, *, integrity_check: bool) -> None:
        try:
            # check_same_thread=False: the connection is created on the loop thread and then
            # used by exactly one store thread (see lanchat.store.writer).
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, cached_statements=64
            )
        except sqlite3.Error as e:
            raise open_error(self.path, e) from None
        # SQLite before 3.32 allows 999 variables per statement, later ones 32,766 or more.
        variables = self._conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self._rows_per_insert = min(_MAX_ROWS, variables // _WIDTH)
        self._history = ChatHistory(self._conn)  # the CHATHISTORY queries on this connection
        try:
            self._open(fsync_each_commit=self._fsync_each_commit, integrity_check=integrity_check)
        except BaseException:
            self._conn.close()
            raise

    def _open(self, *, fsync_each_commit: bool, integrity_check: bool) -> None:
        conn = self._conn
        try:
            # Read before anything writes: a file that is not a database, or a damaged one,
            # must fail here, before `journal_mode=WAL` would rewrite its header.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if integrity_check:
                first = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
                if first != "ok":
                    # e.g. "*** in database main ***\nPage 125: btreeInitPage() returns error
                    # code 11": keep the finding, on one line.
                    raise corrupt(self.path, " ".join(first.split("***")[-1].split()))
        except sqlite3.Error as e:
            raise open_error(self.path, e) from None
        if version > SCHEMA_VERSION:
            raise self._newer_schema(version)
        if version == 0 and tables:
            raise StoreError(
                f"{self.path} is an SQLite database but not a lanchat history database; "
                "move it aside or choose another directory with --data-dir"
            )
        try:
            conn.execute("PRAGMA busy_timeout = 5000")  # another lanchat on the same data dir
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(
                    f"history database {self.path} cannot use write-ahead logging (journal "
                    f"mode stays {mode}); choose a directory on a local disk with --data-dir"
                )
            conn.execute(f"PRAGMA synchronous = {'FULL' if fsync_each_commit else 'NORMAL'}")
            if version < SCHEMA_VERSION:
                self._transaction(self._migrate)
            else:
                # SQLite opens a file it may not write (read-only, immutable) for reading
                # without a word, and BEGIN IMMEDIATE still succeeds: only a write tells. This
                # one changes nothing and is rolled back; without it the server would say
                # "ready" and then refuse every message (issue 13, item 10).
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                finally:
                    conn.execute("ROLLBACK")
        except sqlite3.Error as e:
            raise open_error(self.path, e) from None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the schema to SCHEMA_VERSION (inside the caller's write transaction)."""
        # Read again under the write lock: another lanchat may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise self._newer_schema(version)
        for number in range(version, SCHEMA_VERSION):
            for step in _MIGRATIONS[number]:
                if isinstance(step, str):
                    conn.execute(step)
                else:
                    step(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _newer_schema(self, version: int) -> StoreError:
        return StoreError(
            f"history database {self.path} was written by a newer lanchat (schema {version}, "
            f"this program knows up to {SCHEMA_VERSION}); upgrade lanchat or choose another "
            "directory with --data-dir"
        )

    def _transaction(self, write: Callable[[sqlite3.Connection], None]) -> None:
        """Run `write` in one write transaction; roll back if it fails."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            write(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def append(
        self,
        records: Sequence[HistoryRecord | RoomRecord | AccountRecord | Redaction | StreamPosition],
    ) -> None:
        """Store messages and room changes in ONE transaction, committed when this returns.

        Records are applied in order, so a room created and then deleted in the same call ends
        up deleted. A message whose msgid is already stored is skipped (retries are harmless).
        Deleting a room seals its history: the messages stay, moved to `RoomRecord.sealed_key`,
        which no CHATHISTORY request can name. A Redaction deletes its message (and its words
        from the search index).

        Args:
            records: HistoryRecords to keep, RoomRecords to upsert (or delete when
                `deleted` is set), new AccountRecords (a name already stored fails the
                transaction), Redactions to apply and a cluster node's StreamPosition.

        Raises:
            StoreError: the transaction could not be committed (disk full, I/O error, an
                account name already taken, ...); nothing of `records` is stored then.
        """
        # Consecutive messages go to one INSERT (of at most `_rows_per_insert` rows); a room
        # change splits the run so the order of `records` is kept.
        full = self._rows_per_insert * _WIDTH
        runs: list[list[Any] | RoomRecord | AccountRecord | Redaction | StreamPosition] = []
        values: list[Any] | None = None  # the run of messages being gathered, flattened
        for record in records:
            if not isinstance(record, HistoryRecord):
                runs.append(record)
                values = None
                continue
            if values is None or len(values) == full:
                values = []
                runs.append(values)
            values.extend(_row(record))
        if not runs:
            return

        def write(conn: sqlite3.Connection) -> None:
            for item in runs:
                if isinstance(item, RoomRecord):
                    _store_room(conn, item)
                elif isinstance(item, AccountRecord):
                    conn.execute(
                        "INSERT INTO accounts (key, name, password_hash, created_s, scram)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (item.key, item.name, item.password_hash, item.created_s, item.scram),
                    )
                elif isinstance(item, Redaction):
                    conn.execute(
                        "DELETE FROM messages WHERE msgid = ? AND target_key = ?",
                        (item.msgid, item.target_key),
                    )
                elif isinstance(item, StreamPosition):
                    conn.execute(
                        "INSERT OR REPLACE INTO cluster_positions (cluster_id, entry_id)"
                        " VALUES (?, ?)",
                        (item.cluster_id, item.entry_id),
                    )
                else:
                    _insert(conn, item)

        try:
            if len(runs) == 1 and isinstance(runs[0], list):
                # One statement is a transaction of its own: without BEGIN and COMMIT the
                # store thread waits for the GIL once per batch instead of three times.
                _insert(self._conn, runs[0])
            else:
                self._transaction(write)
        except sqlite3.Error as e:
            raise StoreError(
                f"cannot write to history database {self.path} ({describe(e)}); "
                "check free disk space and permissions of the data directory"
            ) from None

    def load_rooms(self) -> list[RoomRecord]:
        """Every stored (not deleted) room, by key.

        Raises:
            StoreError: the database cannot be read.
        """
        rows = self._select(
            "SELECT key, name, created_s, topic, topic_setter, topic_time_s, modes,"
            " password, user_limit, bans, excepts, invex FROM rooms ORDER BY key"
        )
        return [_room(row) for row in rows]

    def load_accounts(self) -> list[AccountRecord]:
        """Every registered account, by key.

        Raises:
            StoreError: the database cannot be read.
        """
        rows = self._select(
            "SELECT key, name, password_hash, created_s, scram FROM accounts ORDER BY key"
        )
        return [AccountRecord(*row) for row in rows]

    def load_position(self, cluster_id: str) -> str | None:
        """The stream id of the last entry of `cluster_id`'s log stored here, or None.

        Raises:
            StoreError: the database cannot be read.
        """
        rows = self._select_args(
            "SELECT entry_id FROM cluster_positions WHERE cluster_id = ?", (cluster_id,)
        )
        return str(rows[0][0]) if rows else None

    def messages_between(self, after: str, upto: str, limit: int) -> list[HistoryRecord]:
        """The messages whose msgid sorts after `after` and up to `upto`, in msgid order, at
        most `limit` (a cluster node hands its history over by pages: lanchat.cluster.handoff;
        a cluster's msgids sort as the log's entries do).

        Raises:
            StoreError: the database cannot be read.
        """
        rows = self._select_args(
            f"SELECT {COLUMNS} FROM messages WHERE msgid > ? AND msgid <= ? ORDER BY msgid LIMIT ?",
            (after, upto, limit),
        )
        return [record_from_row(row) for row in rows]

    def has_messages(self) -> bool:
        """Whether any message is stored (a cluster node's data directory must have none
        before its first join: lanchat.cluster.node).

        Raises:
            StoreError: the database cannot be read.
        """
        return bool(self._select("SELECT 1 FROM messages LIMIT 1"))

    def _select(self, sql: str) -> list[tuple[Any, ...]]:
        """Every row of `sql`; a failure is a StoreError for people."""
        return self._select_args(sql, ())

    def _select_args(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Every row of `sql` with `args`; a failure is a StoreError for people."""
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise self._read_error(e) from None

    def query(self, q: HistoryQuery) -> list[HistoryRecord]:
        """Answer one CHATHISTORY request (or SEARCH, or a MSGID look-up), oldest first.

        SEARCH and MSGID: see HistoryQuery and lanchat.store.search.

        LATEST/BEFORE/AFTER/AROUND/BETWEEN return messages of `q.target_key`. TARGETS returns,
        for each conversation in `q.target_keys` with a message strictly between the two
        timestamps `q.start` and `q.end`, its latest message in that window; like BETWEEN, the
        `q.limit` conversations counted from `q.start` are kept (the newest ones when `start`
        is the later time), ordered by that message's time.

        A msgid bound must name a message of the same conversation; an unknown msgid gives an
        empty result, as does `limit <= 0`.

        Args:
            q: the request; a str bound is a msgid ("msgid=" prefix allowed), an int bound Unix
                milliseconds, None the `*` of LATEST.

        Returns:
            The matching records, oldest first.

        Raises:
            ValueError: unknown subcommand, or a bound missing where the subcommand needs one.
            StoreError: the database cannot be read.
        """
        sub = q.subcommand.upper()
        if sub in _LOOKUPS:
            try:
                return _LOOKUPS[sub](self._conn, q)
            except sqlite3.Error as e:
                raise self._read_error(e) from None
        if sub not in SUBCOMMANDS:
            raise ValueError(f"unknown CHATHISTORY subcommand {q.subcommand!r}")
        if q.limit <= 0:
            return []
        try:
            return self._history.run(sub, q)
        except sqlite3.Error as e:
            raise self._read_error(e) from None

    def close(self) -> None:
        """Close the connection (idempotent). Committed data is already durable."""
        self._conn.close()

    def reopen(self) -> None:
        """Close the connection and open the file at `path` again (after it was recreated).

        Raises:
            StoreError: as when opening.
        """
        self._conn.close()
        self._connect(integrity_check=False)

    def save_copy(self, copy: Path) -> None:
        """Write everything this connection sees, WAL included, to a new database `copy`.

        Uses SQLite's online backup, so it works while the file at `path` is deleted and the
        connection still holds the old one open; `copy` is fsynced before this returns.

        Raises:
            StoreError: the copy cannot be written (disk full, permissions).
        """
        try:
            copy.unlink(missing_ok=True)
            target = sqlite3.connect(copy)
            try:
                self._conn.backup(target)
            finally:
                target.close()
            fd = os.open(copy, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except (sqlite3.Error, OSError) as e:
            detail = describe(e) if isinstance(e, sqlite3.Error) else (e.strerror or str(e))
            raise StoreError(
                f"cannot save a copy of history database {self.path} to {copy} ({detail}); "
                "free some disk space in the data directory"
            ) from None

    def _read_error(self, error: sqlite3.Error) -> StoreError:
        return StoreError(
            f"cannot read history database {self.path} ({describe(error)}); "
            "if this persists, stop lanchat and move the file aside"
        )


def search_read_only(path: Path, q: HistoryQuery) -> list[HistoryRecord]:
    """SEARCH a history database without writing to it (`lanchat search`).

    Safe beside a running `lanchat serve` on the same file (WAL readers never block it).

    Args:
        path: the database file.
        q: a SEARCH query; with no `target_keys`, every room the database keeps.

    Returns:
        The matches, oldest first (lanchat.store.search.search).

    Raises:
        StoreError: no such file, not a lanchat database, or of another schema version.
    """
    if not path.is_file():
        raise StoreError(
            f"there is no history database at {path}; give the data directory of a "
            "lanchat serve with --data-dir"
        )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise open_error(path, e) from None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"history database {path} has schema {version}, this lanchat reads "
                f"{SCHEMA_VERSION}; run this lanchat's `lanchat serve` on it once (it upgrades "
                "the file and builds the search index), or use the lanchat that wrote it"
            )
        if not q.target_keys:
            keys = tuple(row[0] for row in conn.execute("SELECT key FROM rooms ORDER BY key"))
            q = HistoryQuery(
                "SEARCH",
                start=q.start,
                end=q.end,
                limit=q.limit,
                target_keys=keys,
                text=q.text,
                sender=q.sender,
            )
        return search(conn, q)
    except sqlite3.Error as e:
        raise open_error(path, e) from None
    finally:
        conn.close()


def _insert(conn: sqlite3.Connection, values: list[Any]) -> None:
    """Store the messages whose row values are `values`, one row after another."""
    conn.execute(_insert_messages(len(values) // _WIDTH), values)


def _store_room(conn: sqlite3.Connection, room: RoomRecord) -> None:
    if room.deleted:
        conn.execute("DELETE FROM rooms WHERE key = ?", (room.key,))
        # The room is forgotten, its history is not: it is kept under a key no query names, so
        # a room made again under this name starts with no readable past (lanchat issue 13).
        conn.execute(
            "UPDATE messages SET target_key = ? WHERE target_key = ?", (room.sealed_key, room.key)
        )
        return
    if room.renamed_from:
        # RENAME (issue 18): the room's history follows it to its new name; the new key was
        # sealed first (a deleted record for it), so no older messages mix in.
        conn.execute("DELETE FROM rooms WHERE key = ?", (room.renamed_from,))
        conn.execute(
            "UPDATE messages SET target_key = ?, target = ? WHERE target_key = ?",
            (room.key, room.name, room.renamed_from),
        )
    conn.execute(
        _UPSERT_ROOM,
        (
            room.key,
            room.name,
            room.created_s,
            room.topic,
            room.topic_setter,
            room.topic_time_s,
            room.modes,
            room.password,
            room.limit,
            json.dumps(list(room.bans), ensure_ascii=False),
            json.dumps(list(room.excepts), ensure_ascii=False),
            json.dumps(list(room.invex), ensure_ascii=False),
        ),
    )
