"""The history store: SQLite in WAL mode, written off the event loop with group commit.

Layer: store; may import lanchat.errors and the standard library, never the server, discovery,
client or GUI. `records` is pure data (the server core imports it); `db` is synchronous
sqlite3; `writer` runs `db` on threads for the asyncio server.
Spec: https://ircv3.net/specs/extensions/chathistory (what the queries answer).

`HistoryDB` and `StoreWriter` are imported on first use (PEP 562), so that the pure server
core, which imports `lanchat.store.records`, does not load sqlite3 and threading with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lanchat.store.records import (
    AccountRecord,
    HistoryQuery,
    HistoryRecord,
    Redaction,
    RoomRecord,
)

if TYPE_CHECKING:
    from lanchat.store.db import SCHEMA_VERSION, HistoryDB
    from lanchat.store.writer import StoreWriter

__all__ = [
    "SCHEMA_VERSION",
    "AccountRecord",
    "HistoryDB",
    "HistoryQuery",
    "HistoryRecord",
    "Redaction",
    "RoomRecord",
    "StoreWriter",
]

_LAZY = {"SCHEMA_VERSION": "db", "HistoryDB": "db", "StoreWriter": "writer"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"lanchat.store.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'lanchat.store' has no attribute {name!r}")
