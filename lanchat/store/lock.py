"""The data directory lock: one lanchat server per data directory, and it names the holder.

Layer: store; may import lanchat.errors and the standard library. Used by lanchat.store.writer.

Two servers on one data directory would both take messages, each showing only its own clients'
rooms and modes, and write one history under each other (issue 13, item 10). PostgreSQL keeps
this out with postmaster.pid; lanchat does the same with `lanchat.pid`: the holder writes its
process id into it and keeps an OS lock on it for as long as it runs (flock on POSIX, a byte
range lock on Windows). The kernel drops the lock when the process dies in any way, so a
crashed server never leaves a stale lock behind, and the file itself is never deleted: deleting
it would let a third server lock a new file while a second still holds the old one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lanchat.errors import StoreError

__all__ = ["LOCK_FILE", "DataDirLock"]

LOCK_FILE = "lanchat.pid"
_WINDOWS_LOCK_OFFSET = 1 << 20  # Windows locks are mandatory: lock a byte past the process id


def _try_lock(fd: int) -> bool:
    """Take the lock on `fd` without waiting; False if another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class DataDirLock:
    """The lock on one data directory, held from construction until `release()`."""

    def __init__(self, directory: Path) -> None:
        """Lock `directory` (which must exist) for this process.

        Raises:
            StoreError: another process holds the lock (its id is named), or the lock file
                cannot be created or written (a read-only or immutable directory).
        """
        self.path = directory / LOCK_FILE  # holds the id of the process that has the lock
        try:
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise StoreError(
                f"cannot write to data directory {directory} "
                f"({(e.strerror or str(e)).lower()}); check its permissions or choose "
                "another with --data-dir"
            ) from None
        if not _try_lock(self._fd):
            os.lseek(self._fd, 0, os.SEEK_SET)
            holder = os.read(self._fd, 32).decode("ascii", "replace").strip() or "unknown"
            self.release()
            raise StoreError(
                f"data directory {directory} is in use by another lanchat server (process "
                f"{holder}); stop that one or choose another directory with --data-dir"
            )
        try:
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.ftruncate(self._fd, 0)
            os.write(self._fd, f"{os.getpid()}\n".encode())
        except OSError as e:
            self.release()
            raise StoreError(
                f"cannot write {self.path} ({(e.strerror or str(e)).lower()}); "
                "check free disk space and permissions of the data directory"
            ) from None

    def release(self) -> None:
        """Give the lock up (idempotent). The file stays, see the module docstring."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
