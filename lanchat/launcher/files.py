"""The launcher's "Shared files" line: the disk the hosted rooms' files use, and a Clear button.

Layer: launcher UI (Tk main thread only); imports tkinter, os and lanchat.web.sharing (pure).
Spec: issue 21 ("The launcher shows how much disk the hosted rooms' files use, with a button to
clear them").

The launcher never opens a room's store (its import contract): it reads and deletes the kept
files themselves, `<data dir>/files/kept/*` of every room under the supervisor's data root
(lanchat.store.files keeps the bytes there under random names). A running room notices at
its next sweep (lanchat.web.files, at most a minute) and drops their metadata; until then
their links answer 404 and they still count toward its quotas.
"""

from __future__ import annotations

import os
import tkinter as tk
from pathlib import Path
from tkinter import ttk

from lanchat.web.sharing import human_size

__all__ = ["SharedFilesPanel", "clear_shared_files", "shared_files"]

_KEPT = ("files", "kept")
_REFRESH_MS = 5000  # the usage is read again this often (a directory scan, not per poll)


def _kept_files(data_root: Path) -> list[os.DirEntry[str]]:
    found: list[os.DirEntry[str]] = []
    if not data_root.is_dir():
        return found
    for room in os.scandir(data_root):
        kept = Path(room.path, *_KEPT)
        if room.is_dir() and kept.is_dir():
            found += [entry for entry in os.scandir(kept) if entry.is_file()]
    return found


def shared_files(data_root: Path) -> tuple[int, int]:
    """How many files the rooms under `data_root` keep, and their bytes together."""
    files = _kept_files(data_root)
    return len(files), sum(entry.stat().st_size for entry in files)


def clear_shared_files(data_root: Path) -> int:
    """Delete every file the rooms under `data_root` keep. Returns how many were deleted."""
    gone = 0
    for entry in _kept_files(data_root):
        try:
            os.unlink(entry.path)
        except FileNotFoundError:  # expired meanwhile
            continue
        gone += 1
    return gone


class SharedFilesPanel:
    """Tk thread only. "Shared files: 3 files, 2.3 MB" and a "Clear shared files" button.

    Args:
        master: the parent widget; `frame` is packed by the caller.
        data_root: the supervisor's data root (one data directory per hosted room).
    """

    def __init__(self, master: tk.Misc, data_root: Path) -> None:
        self.data_root = data_root
        self.frame = ttk.Frame(master)
        self.label = ttk.Label(self.frame, text="", style="Muted.TLabel")
        self.label.pack(side="left")
        self.clear_button = ttk.Button(self.frame, text="Clear shared files", command=self.clear)
        self.clear_button.pack(side="right")
        self._after: str | None = None

    def refresh(self) -> None:
        """Read the usage now and show it (then every few seconds)."""
        count, size = shared_files(self.data_root)
        if count:
            noun = "file" if count == 1 else "files"
            self.label.configure(text=f"Shared files: {count} {noun}, {human_size(size)}")
        else:
            self.label.configure(text="No shared files")
        self.clear_button.state(["!disabled"] if count else ["disabled"])
        if self._after is not None:
            self.frame.after_cancel(self._after)
        self._after = self.frame.after(_REFRESH_MS, self.refresh)

    def clear(self) -> None:
        """Delete the hosted rooms' shared files (their links stop working)."""
        clear_shared_files(self.data_root)
        self.refresh()

    def close(self) -> None:
        """Stop refreshing."""
        if self._after is not None:
            self.frame.after_cancel(self._after)
            self._after = None
