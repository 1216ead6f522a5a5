"""What went wrong with the data directory or the history database, as one line to act on.

Layer: store; may import lanchat.errors and the standard library. Used by lanchat.store.db:
every StoreError a person sees says what happened and what to do (issue #2, "a corrupt
database gives one error line and the file is left untouched").
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lanchat.errors import StoreError

__all__ = ["corrupt", "describe", "make_directory", "open_error"]


def describe(error: sqlite3.Error) -> str:
    """What SQLite said, as a short lower-case phrase ("database or disk is full")."""
    return str(error) or getattr(error, "sqlite_errorname", type(error).__name__)


def make_directory(directory: Path) -> None:
    """Create the data directory `directory` (and its parents) if needed.

    Raises:
        StoreError: it is a file, lies under a file, or cannot be created (permissions...).
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StoreError(
            f"cannot use data directory {directory}: it exists but is not a directory; "
            "choose another with --data-dir"
        ) from None
    except NotADirectoryError:
        raise StoreError(
            f"cannot create data directory {directory}: part of that path is a file, not a "
            "directory; choose another with --data-dir"
        ) from None
    except OSError as e:
        raise StoreError(
            f"cannot create data directory {directory} ({(e.strerror or str(e)).lower()}); "
            "choose another with --data-dir"
        ) from None


def corrupt(path: Path, detail: str) -> StoreError:
    """The error for a database file at `path` that SQLite finds damaged (`detail`)."""
    return StoreError(
        f"history database {path} is corrupt ({detail}); "
        "move it aside to start a new one (lanchat never overwrites it)"
    )


def open_error(path: Path, error: sqlite3.Error) -> StoreError:
    """Turn what sqlite3 raised while opening `path` into one line a person can act on."""
    name = getattr(error, "sqlite_errorname", "")
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return corrupt(path, describe(error))
    if name.startswith("SQLITE_READONLY"):
        return StoreError(
            f"cannot write to history database {path} ({describe(error)}); check that the "
            "file and its directory are writable (not read-only or immutable) or choose "
            "another directory with --data-dir"
        )
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return StoreError(
            f"cannot write to data directory {path.parent} ({describe(error)}); "
            "check its permissions or choose another with --data-dir"
        )
    if name == "SQLITE_FULL":
        return StoreError(
            f"cannot open history database {path}: the disk is full; free some space "
            "or choose another directory with --data-dir"
        )
    return StoreError(
        f"cannot open history database {path} ({describe(error)}); "
        "check the data directory or choose another with --data-dir"
    )
