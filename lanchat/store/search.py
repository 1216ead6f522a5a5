"""Full-text search over the history database: the FTS5 index, its migration and SEARCH.

Layer: store; imports lanchat.store.records and the standard library. Synchronous code on one
sqlite3 connection (HistoryDB's), used by one thread at a time.
Spec: soju.im/search (https://codeberg.org/emersion/soju/src/branch/master/doc/ext/search.md):
"the actual algorithm used for matching the text is implementation defined".

The index is an external-content FTS5 table over `messages.text` (soju's layout,
https://sqlite.org/fts5.html#external_content_tables): it stores only the index, the text stays
in `messages`, and triggers keep the two in step on insert, delete (a redaction) and update.
It indexes `target_key` too, so that the rooms searched narrow the index walk itself: with
only `text` indexed, the commonest word of a million messages searched in a room where nobody
wrote it read all ~590,000 hits to find none (720 ms); with the room in the MATCH, 1 ms
(docs/benchmarks.md, "Search"). The room match is a substring match like any other, so the
exact `target_key IN (...)` test stays.
The tokenizer is `trigram` (https://sqlite.org/fts5.html#the_trigram_tokenizer): any substring
of three characters or more matches, in any script (Latin, Cyrillic, CJK with no spaces
between words), case-insensitively by Unicode case folding ("CAFÉ" finds "café"). SQLite
before 3.45 has no `remove_diacritics` for trigram, so "cafe" does not find "café".

Text matching: the text is split on white space; every word must occur (AND). Words of three
characters or more go to the FTS MATCH, each quoted as an FTS string, so no word is FTS syntax
(soju's quoteFTSQuery). The trigram index cannot look up a shorter word, so each one is a
`LIKE '%word%'` test on the rows the rest selected: with a long word beside it that is the FTS
hits only. A search with no word of three characters or more (only short words, or only a
sender) cannot use the index: it reads the latest `_SCAN_ROWS` messages of the rooms searched
(the earliest from `after`), so it finds matches among those only and its cost stays bounded.
"""

from __future__ import annotations

import logging
import sqlite3

from lanchat.store.chathistory import COLUMNS, record_from_row
from lanchat.store.records import HistoryQuery, HistoryRecord

__all__ = ["MIGRATION", "find_message", "search"]

log = logging.getLogger(__name__)

_FILL_ROWS = 50_000  # existing messages indexed per step of the migration
_LOG_FILL_FROM = 200_000  # index at least this many existing messages: log the progress
_MIN_TRIGRAM = 3  # the trigram tokenizer matches substrings of 3 characters or more
# A search with no word of 3 characters or more reads at most this many of the latest messages
# of the rooms searched (or the earliest from `after`): ~25 ms on the benchmark's machine.
_SCAN_ROWS = 20_000


def _fill_index(conn: sqlite3.Connection) -> None:
    """Index the messages stored before the index existed, logging progress on big files.

    One INSERT ... SELECT per step of `_FILL_ROWS` rows rather than FTS5's 'rebuild' (one
    statement for the whole table), so a long upgrade says how far it got.
    """
    total = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    loud = total >= _LOG_FILL_FROM
    if loud:
        log.warning("building the search index for %d stored messages (once)...", total)
    last, done = 0, 0
    while True:
        row = conn.execute(
            "SELECT max(id), count(*) FROM (SELECT id FROM messages WHERE id > ? ORDER BY id"
            " LIMIT ?)",
            (last, _FILL_ROWS),
        ).fetchone()
        if not row[1]:
            break
        conn.execute(
            "INSERT INTO messages_fts (rowid, text, target_key)"
            " SELECT id, text, target_key FROM messages WHERE id > ? AND id <= ?",
            (last, row[0]),
        )
        last, done = row[0], done + row[1]
        if loud:
            log.warning("search index: %d of %d messages (%d%%)", done, total, 100 * done // total)


# Schema step "search index": appended to lanchat.store.db's migrations as one step.
MIGRATION = (
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, target_key,"
    " content = 'messages', content_rowid = 'id', tokenize = 'trigram')",
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, text, target_key)
            VALUES (new.id, new.text, new.target_key);
    END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text, target_key)
            VALUES ('delete', old.id, old.text, old.target_key);
    END""",
    # A forgotten room's history moves to its sealed key (lanchat.store.db): re-indexed too.
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, target_key ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text, target_key)
            VALUES ('delete', old.id, old.text, old.target_key);
        INSERT INTO messages_fts (rowid, text, target_key)
            VALUES (new.id, new.text, new.target_key);
    END""",
    _fill_index,
)


def _like(word: str) -> str:
    """A LIKE pattern (ESCAPE '\\') matching `word` anywhere."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(conn: sqlite3.Connection, q: HistoryQuery) -> list[HistoryRecord]:
    """The PRIVMSG and NOTICE rows matching SEARCH request `q`, in chronological order.

    With `q.start` set, the `q.limit` earliest matches from it on; otherwise the `q.limit`
    latest up to `q.end` (soju.im/search: "if after is specified, messages SHOULD be searched
    from that time"). Text matches are walked in rowid (insertion) order, which is the time
    order but for equal times, and the result is sorted by (time, id).

    Raises:
        sqlite3.Error: the database cannot be read.
    """
    keys = tuple(dict.fromkeys(q.target_keys))
    if not keys or q.limit <= 0:
        return []
    # `where` picks the rows an index walk visits; `tests` are checked on each visited row.
    where = [f"m.target_key IN ({', '.join('?' * len(keys))})"]
    args: list[object] = list(keys)
    if q.start is not None:
        where.append("m.time_ms >= ?")
        args.append(q.start)
    if q.end is not None:
        where.append("m.time_ms <= ?")
        args.append(q.end)
    tests = ["m.command IN ('PRIVMSG', 'NOTICE')"]
    test_args: list[object] = []
    if q.sender:
        # The nick part of the stored source "nick!user@ip"; LIKE folds ASCII case.
        tests.append("m.source LIKE ? ESCAPE '\\'")
        test_args.append(_like(q.sender)[1:-1] + "!%")
    words = q.text.split()
    for word in words:
        if len(word) < _MIN_TRIGRAM:
            tests.append("m.text LIKE ? ESCAPE '\\'")
            test_args.append(_like(word))
    indexed = [word for word in words if len(word) >= _MIN_TRIGRAM]
    order = "ASC" if q.start is not None else "DESC"
    if indexed:
        # CROSS JOIN keeps the FTS table the outer loop: its hits are walked newest (or oldest)
        # first and each is checked against the room and time filters, until `limit` pass.
        match = " AND ".join(f"text : {_quoted(word)}" for word in indexed)
        if all(len(key) >= _MIN_TRIGRAM for key in keys):
            # (A shorter key would match nothing in the index: then only the IN test filters.)
            rooms = " OR ".join(f"target_key : {_quoted(key)}" for key in keys)
            match = f"{match} AND ({rooms})"
        sql = (
            f"SELECT {_prefixed()} FROM messages_fts f CROSS JOIN messages m ON m.id = f.rowid"
            f" WHERE messages_fts MATCH ? AND {' AND '.join(where + tests)}"
            f" ORDER BY f.rowid {order} LIMIT ?"
        )
        args = [match, *args, *test_args]
    else:
        # No word the index can look up: a walk of the rooms' messages from the newest (or
        # from `start`), which reads at most `_SCAN_ROWS` of them.
        sql = (
            f"SELECT {_prefixed()} FROM (SELECT * FROM messages m WHERE {' AND '.join(where)}"
            f" ORDER BY m.time_ms {order}, m.id {order} LIMIT {_SCAN_ROWS}) m"
            f" WHERE {' AND '.join(tests)} ORDER BY m.time_ms {order}, m.id {order} LIMIT ?"
        )
        args += test_args
    records = [record_from_row(row) for row in conn.execute(sql, [*args, q.limit])]
    if order == "DESC":
        records.reverse()
    records.sort(key=lambda r: r.time_ms)  # stable: equal times keep their id order
    return records


def _quoted(text: str) -> str:
    """`text` as an FTS5 string: a phrase that matches it as it is, never FTS syntax."""
    return '"' + text.replace('"', '""') + '"'


def find_message(conn: sqlite3.Connection, q: HistoryQuery) -> list[HistoryRecord]:
    """The message whose msgid is `q.start` in conversation `q.target_key` ([] if none).

    Raises:
        sqlite3.Error: the database cannot be read.
    """
    row = conn.execute(
        f"SELECT {COLUMNS} FROM messages WHERE msgid = ? AND target_key = ?",
        (q.start, q.target_key),
    ).fetchone()
    return [] if row is None else [record_from_row(row)]


def _prefixed() -> str:
    return ", ".join(f"m.{column.strip()}" for column in COLUMNS.split(","))
