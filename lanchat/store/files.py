"""The shared files of a server: their bytes on disk and their metadata in SQLite (issue 21).

Layer: store; may import lanchat.errors, lanchat.store.problems and the standard library. Plain
synchronous code used by ONE thread at a time (lanchat.web.files runs it in its own worker
thread, off the event loop).

Layout, under `<data dir>/files/`::

    files.sqlite3     one row per kept file: id, name, type, size, uploader, times
    kept/<id>         the bytes; <id> is the random part of the link, never the file's name
    partial/<random>  uploads still arriving; renamed into kept/ only once complete

Policies a reader might question:
- A file's name never reaches the file system: it is metadata, shown in the link and the
  download's Content-Disposition only (a name like "../../etc/passwd" is just text).
- An upload becomes visible in one step, after its last byte is written: rename into kept/,
  then the row. Whatever a crash (kill -9, a full disk) leaves behind is a partial file or a
  kept file without a row; `open()` deletes both, so nothing half-written is ever served.
- Expired and deleted files lose their row first, then their bytes, for the same reason.
  Bytes deleted behind the store's back (the launcher's Clear) lose their row at the next
  expire().
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from lanchat.store.problems import make_directory, open_error

__all__ = ["FILES_DIR", "ID_BYTES", "FileStore", "SharedFile", "discard", "files_dir"]

FILES_DIR = "files"  # under the data directory
ID_BYTES = 18  # 144 random bits per link (issue 21: at least 128)

_SCHEMA = """CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    uploader TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
)"""


def files_dir(data_dir: Path) -> Path:
    """Where a server with data directory `data_dir` keeps its shared files."""
    return data_dir / FILES_DIR


@dataclass(frozen=True, slots=True)
class SharedFile:
    """One kept file's metadata."""

    id: str  # the random part of its link; also its name in kept/
    name: str  # the name the uploader gave (Content-Disposition), shown, never used as a path
    content_type: str  # the type the uploader gave, e.g. "image/png"
    size: int  # bytes
    uploader: str  # "account:alice" or "address:192.168.1.7" (quota)
    created: float  # Unix seconds of the upload
    expires: float  # Unix seconds when it is deleted


class FileStore:
    """The files directory and its SQLite metadata. One thread at a time."""

    def __init__(self, directory: Path) -> None:
        """Open (creating if needed) the files directory, clearing what a crash left.

        Args:
            directory: files_dir(data_dir).

        Raises:
            lanchat.errors.StoreError: the directory or its database cannot be created or opened.
        """
        self.directory = directory
        self.kept = directory / "kept"
        self.partial = directory / "partial"
        for path in (directory, self.kept, self.partial):
            make_directory(path)
        db_path = directory / "files.sqlite3"
        try:
            self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as e:
            raise open_error(db_path, e) from None
        for leftover in self.partial.iterdir():  # uploads cut off by a crash
            leftover.unlink(missing_ok=True)
        known = {row[0] for row in self._db.execute("SELECT id FROM files")}
        for path in self.kept.iterdir():  # renamed, but the row never came
            if path.name not in known:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        self._db.close()

    def new_partial(self) -> Path:
        """A fresh path in partial/ for an upload that starts now (create it with O_EXCL)."""
        return self.partial / secrets.token_hex(16)

    def keep(
        self,
        partial: Path,
        *,
        name: str,
        content_type: str,
        uploader: str,
        now: float,
        expires: float,
    ) -> SharedFile:
        """Make a complete upload visible: move it into kept/ under a new id, add its row.

        Args:
            partial: the fully written file from new_partial().
            name, content_type, uploader: as in SharedFile.
            now: Unix seconds (created).
            expires: Unix seconds when it is deleted.

        Returns:
            The kept file.

        Raises:
            OSError: the rename or the row failed (the disk is full); nothing is kept.
        """
        file_id = secrets.token_urlsafe(ID_BYTES)
        size = partial.stat().st_size
        target = self.kept / file_id
        os.replace(partial, target)
        shared = SharedFile(file_id, name, content_type, size, uploader, now, expires)
        try:
            self._db.execute(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                (file_id, name, content_type, size, uploader, now, expires),
            )
        except sqlite3.Error as e:
            target.unlink(missing_ok=True)
            raise OSError(f"cannot record the file: {e}") from None
        return shared

    def get(self, file_id: str, now: float) -> SharedFile | None:
        """The file with this id, unless it is unknown or has expired."""
        row = self._db.execute(
            "SELECT * FROM files WHERE id = ? AND expires > ?", (file_id, now)
        ).fetchone()
        return None if row is None else SharedFile(*row)

    def path(self, shared: SharedFile) -> Path:
        """Where the bytes of `shared` are."""
        return self.kept / shared.id

    def used_bytes(self, uploader: str | None = None) -> int:
        """Bytes kept for `uploader`, or for everyone when None."""
        if uploader is None:
            row = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM files").fetchone()
        else:
            row = self._db.execute(
                "SELECT COALESCE(SUM(size), 0) FROM files WHERE uploader = ?", (uploader,)
            ).fetchone()
        return int(row[0])

    def delete(self, file_id: str, uploaders: tuple[str, ...] | None = None) -> bool:
        """Delete one file (its row, then its bytes), if one of `uploaders` sent it (None:
        whoever did). Returns whether it was deleted."""
        if uploaders is None:
            cursor = self._db.execute("DELETE FROM files WHERE id = ?", (file_id,))
        else:
            marks = ", ".join("?" * len(uploaders))
            cursor = self._db.execute(
                f"DELETE FROM files WHERE id = ? AND uploader IN ({marks})", (file_id, *uploaders)
            )
        if cursor.rowcount <= 0:
            return False
        (self.kept / file_id).unlink(missing_ok=True)
        return True

    def expire(self, now: float) -> int:
        """Delete every file whose time is up, and forget the ones deleted from the disk by
        hand (the launcher's "Clear shared files"). Returns how many went."""
        rows = self._db.execute("SELECT id, expires FROM files").fetchall()
        ids = [i for i, expires in rows if expires <= now or not (self.kept / i).exists()]
        for file_id in ids:
            self.delete(file_id)
        return len(ids)


def discard(path: Path) -> None:
    """Delete a partial upload, if it is there (an upload that failed or was cancelled)."""
    with contextlib.suppress(OSError):
        path.unlink()
