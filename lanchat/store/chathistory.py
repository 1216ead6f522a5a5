"""CHATHISTORY over the history database: the read side of lanchat.store.db.

Layer: store; imports lanchat.store.records and the standard library. Synchronous code on one
sqlite3 connection (HistoryDB's), used by one thread at a time.
Spec: https://ircv3.net/specs/extensions/chathistory ("Subcommands"). Messages are totally
ordered by (time_ms, id), id being the insertion order; every bound is exclusive, a timestamp
bound excludes every message at that millisecond; results are in ascending order.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, TypeAlias

from lanchat.store.records import HistoryQuery, HistoryRecord

__all__ = ["COLUMNS", "SUBCOMMANDS", "ChatHistory", "record_from_row"]

SUBCOMMANDS = frozenset({"LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN", "TARGETS"})
COLUMNS = "msgid, time_ms, command, source, target, target_key, text, tags"  # of a message row
_MAX_ID = (1 << 63) - 1  # larger than any rowid: "after timestamp T" means after (T, _MAX_ID)

# A position in the total order of one conversation: (time_ms, id).
_Position: TypeAlias = tuple[int, int]


def record_from_row(row: tuple[Any, ...]) -> HistoryRecord:
    """The record of a row of COLUMNS."""
    msgid, time_ms, command, source, target, target_key, text, tags = row
    return HistoryRecord(
        msgid, time_ms, command, source, target, target_key, text, json.loads(tags) if tags else {}
    )


class ChatHistory:
    """The CHATHISTORY queries of one connection (see HistoryDB.query for the contract)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def run(self, sub: str, q: HistoryQuery) -> list[HistoryRecord]:
        """Answer `q`, whose upper-case subcommand `sub` is one of SUBCOMMANDS.

        Raises:
            ValueError: a bound missing where the subcommand needs one.
            sqlite3.Error: the database cannot be read.
        """
        if sub == "TARGETS":
            return self._targets(q)
        return self._messages(sub, q)

    def _messages(self, sub: str, q: HistoryQuery) -> list[HistoryRecord]:
        key, limit = q.target_key, q.limit
        if sub == "LATEST" and q.start is None:
            return self._newest(key, None, None, limit)
        start = self._position(key, q.start)
        if start is None:
            return []
        if sub == "LATEST":
            return self._newest(key, _after(start, q.start), None, limit)
        if sub == "BEFORE":
            return self._newest(key, None, start, limit)
        if sub == "AFTER":
            return self._oldest(key, _after(start, q.start), None, limit)
        if sub == "AROUND":
            return self._around(key, start, limit)
        end = self._position(key, q.end)
        if end is None:
            return []
        if start <= end:
            return self._oldest(key, _after(start, q.start), end, limit)
        return self._newest(key, _after(end, q.end), start, limit)

    def _around(self, key: str, pivot: _Position, limit: int) -> list[HistoryRecord]:
        """Up to `limit` messages centred on `pivot`; the message at a msgid pivot is included.

        The spec leaves the split to the server: half before, the rest from the pivot on, and
        when one side runs short the other side fills the limit. Usually two scans of half the
        limit each; a third only when the newer side ran short.
        """
        half = limit // 2
        before = self._newest(key, None, pivot, half) if half else []
        after = self._oldest(key, (pivot[0], pivot[1] - 1), None, limit - len(before))
        if len(before) == half and len(before) + len(after) < limit:
            before = self._newest(key, None, pivot, limit - len(after))
        return before + after

    def _newest(
        self, key: str, low: _Position | None, high: _Position | None, limit: int
    ) -> list[HistoryRecord]:
        """The `limit` latest messages strictly between `low` and `high`, oldest first."""
        rows = self._range(key, low, high, limit, "DESC")
        rows.reverse()
        return [record_from_row(row) for row in rows]

    def _oldest(
        self, key: str, low: _Position | None, high: _Position | None, limit: int
    ) -> list[HistoryRecord]:
        """The `limit` earliest messages strictly between `low` and `high`, oldest first."""
        return [record_from_row(row) for row in self._range(key, low, high, limit, "ASC")]

    def _range(
        self,
        key: str,
        low: _Position | None,
        high: _Position | None,
        limit: int,
        order: str,
    ) -> list[tuple[Any, ...]]:
        # Written as a range on time_ms plus a tie-break filter on id, so that SQLite walks
        # the (target_key, time_ms) index from one end and stops after `limit` rows.
        where = ["target_key = ?"]
        args: list[object] = [key]
        if low is not None:
            where.append("time_ms >= ? AND (time_ms > ? OR id > ?)")
            args += [low[0], low[0], low[1]]
        if high is not None:
            where.append("time_ms <= ? AND (time_ms < ? OR id < ?)")
            args += [high[0], high[0], high[1]]
        sql = (
            f"SELECT {COLUMNS} FROM messages WHERE {' AND '.join(where)}"
            f" ORDER BY time_ms {order}, id {order} LIMIT ?"
        )
        return self._conn.execute(sql, [*args, limit]).fetchall()

    def _position(self, key: str, bound: str | int | None) -> _Position | None:
        """Where a bound sits in `key`'s order: (time, id) of a msgid, (T, 0) of a timestamp.

        None when a msgid names no message of this conversation.
        """
        if bound is None:
            raise ValueError("this CHATHISTORY subcommand needs a msgid or timestamp bound")
        if isinstance(bound, int):
            return (bound, 0)
        msgid = bound.removeprefix("msgid=")
        row = self._conn.execute(
            "SELECT time_ms, id FROM messages WHERE msgid = ? AND target_key = ?", (msgid, key)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def _targets(self, q: HistoryQuery) -> list[HistoryRecord]:
        if not isinstance(q.start, int) or not isinstance(q.end, int):
            raise ValueError("CHATHISTORY TARGETS needs two timestamps")
        low, high = sorted((q.start, q.end))
        latest: list[HistoryRecord] = []
        # One index probe per conversation the client may see: the newest message inside the
        # window. Cheaper than a GROUP BY over the window, which grows with traffic.
        for key in dict.fromkeys(q.target_keys):
            rows = self._range(key, (low, _MAX_ID), (high, 0), 1, "DESC")
            if rows:
                latest.append(record_from_row(rows[0]))
        latest.sort(key=lambda r: r.time_ms)
        return latest[: q.limit] if q.start <= q.end else latest[-q.limit :]


def _after(position: _Position, bound: str | int | None) -> _Position:
    """The exclusive lower bound "after `bound`": after every message at a timestamp."""
    return (position[0], _MAX_ID) if isinstance(bound, int) else position
