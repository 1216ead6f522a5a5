"""Tk thread only. Sending files: the "Send a file…" button, pasting a file, uploads under way.

Layer: GUI; may import tkinter and lanchat.gui.*; the upload itself runs on the network thread
(lanchat.client.sharing), which reports ShareProgress and ShareFinished.
Spec: issue 21 ("Send a file…", a progress bar with Cancel).

Pasting a file (a file copied in a file manager, its path, or a file:// URI) into the message
line sends it instead of pasting text; dropping one on the window does too (lanchat.gui.drops).
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk
from urllib.parse import unquote, urlsplit

from lanchat.gui.access import name
from lanchat.gui.chat import InputBar

__all__ = ["SEND_FILE", "ShareBar", "add_share_controls", "file_from_clipboard"]

SEND_FILE = "Send a file…"


def file_from_clipboard(text: str) -> Path | None:
    """The file a pasted text names, if it names exactly one existing file.

    Args:
        text: the clipboard: a path, or a file:// URI (what file managers copy).

    Returns:
        The file's path, or None when the text is anything else (it is pasted as text).
    """
    text = text.strip()
    if not text or "\n" in text:
        return None
    if text.startswith("file://"):
        text = unquote(urlsplit(text).path)
    path = Path(text).expanduser()
    return path if path.is_absolute() and path.is_file() else None


def add_share_controls(bar: InputBar, share: Callable[[Path | None], None]) -> ttk.Button:
    """Give the message line a "Send a file…" button and let it take pasted files.

    Args:
        bar: the message line.
        share: called with a pasted file, or None for the button (which asks for one).

    Returns:
        The button.
    """
    button = name(ttk.Button(bar, text=SEND_FILE, command=lambda: share(None)), "Send a file")
    button.pack(side="left", anchor="s", padx=(6, 0), before=bar.send_button)

    def paste(_event: object) -> str | None:
        try:
            path = file_from_clipboard(bar.entry.clipboard_get())
        except tk.TclError:  # an empty clipboard, or one that holds no text
            return None
        if path is None:
            return None  # ordinary text: Tk pastes it
        share(path)
        return "break"

    bar.entry.bind("<<Paste>>", paste)
    return button


class _Row(ttk.Frame):
    def __init__(self, master: tk.Misc, title: str, on_cancel: Callable[[], None]) -> None:
        super().__init__(master, padding=(12, 2))
        self.label = ttk.Label(self, text=f"Sending {title}")
        self.label.pack(side="left")
        self.bar = name(ttk.Progressbar(self, maximum=1000), f"Progress of {title}")
        self.bar.pack(side="left", fill="x", expand=True, padx=8)
        self.cancel = name(ttk.Button(self, text="Cancel", command=on_cancel), f"Cancel {title}")
        self.cancel.pack(side="left")


class ShareBar(ttk.Frame):
    """The uploads under way, one row each (name, progress bar, Cancel); hidden when none.

    Args:
        master: the window.
        above: the widget the bar sits just above (the message line).
        on_cancel: called with the share id when its Cancel is pressed.
    """

    def __init__(self, master: tk.Misc, above: tk.Misc, on_cancel: Callable[[int], None]) -> None:
        super().__init__(master)
        self._above = above
        self._on_cancel = on_cancel
        self.rows: dict[int, _Row] = {}  # share id -> its row

    def add(self, share_id: int, title: str) -> None:
        """Show a new upload of the file `title`."""
        row = _Row(self, title, lambda: self._on_cancel(share_id))
        row.pack(fill="x")
        self.rows[share_id] = row
        if not self.winfo_manager():
            self.pack(side="bottom", fill="x", after=self._above)

    def progress(self, share_id: int, sent: int, total: int) -> None:
        """Move the bar of upload `share_id` to sent/total."""
        row = self.rows.get(share_id)
        if row is not None and total:
            row.bar.configure(value=1000 * sent / total)

    def remove(self, share_id: int) -> None:
        """The upload ended (sent, failed or cancelled): its row goes."""
        row = self.rows.pop(share_id, None)
        if row is not None:
            row.destroy()
        if not self.rows and self.winfo_manager():
            self.pack_forget()
