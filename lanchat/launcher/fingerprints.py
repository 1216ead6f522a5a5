"""The launcher's certificate lines: each hosted room's TLS fingerprint, whole, with Copy.

Layer: launcher UI (Tk main thread only); imports tkinter and lanchat.gui (access, trust).
Spec: issue 17 (people joining over TLS compare the fingerprint by eye with what their chat
window shows) and issue 15 (the single line was cut at the window's edge).

A SHA-256 fingerprint is 64 hex digits: 16 groups of four, 79 characters on one line, wider
than the launcher. It is shown as two rows of eight groups in the fixed font (what the chat
window's trust dialog groups the same way), under the room's name, with a Copy button that
puts the plain 64 digits on the clipboard for pasting into a message or a terminal.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Sequence
from functools import partial
from tkinter import ttk

from lanchat.gui.access import name
from lanchat.gui.trust import grouped

__all__ = ["FingerprintPanel", "two_rows"]

COPIED_MS = 1500  # how long a Copy button says "Copied"


def two_rows(fingerprint: str) -> str:
    """The fingerprint in groups of four, half of them on each of two rows."""
    groups = grouped(fingerprint).split(" ")
    half = (len(groups) + 1) // 2
    return " ".join(groups[:half]) + "\n" + " ".join(groups[half:])


class FingerprintPanel:
    """Tk thread only. One row per hosted room with TLS: its name, fingerprint and Copy.

    Args:
        master: the parent widget; `frame` is packed by the caller.
    """

    def __init__(self, master: tk.Misc) -> None:
        self.frame = ttk.Frame(master)
        self.shown: tuple[tuple[str, str], ...] = ()  # (room, fingerprint) rows drawn
        self.texts: dict[str, ttk.Label] = {}  # room -> the label with its fingerprint
        self.copy_buttons: dict[str, ttk.Button] = {}

    def show(self, rooms: Sequence[tuple[str, str]]) -> None:
        """Show these (room, fingerprint) pairs; rows are rebuilt only when they change."""
        if tuple(rooms) == self.shown:
            return
        self.shown = tuple(rooms)
        for child in self.frame.winfo_children():
            child.destroy()
        self.texts.clear()
        self.copy_buttons.clear()
        for row, (room, fingerprint) in enumerate(rooms):
            caption = f"{room} certificate (SHA-256)"
            ttk.Label(self.frame, text=caption, style="Muted.TLabel").grid(
                row=2 * row, column=0, sticky="w", pady=(6, 0)
            )
            text = ttk.Label(self.frame, text=two_rows(fingerprint), font="TkFixedFont")
            text.grid(row=2 * row + 1, column=0, sticky="w")
            button = ttk.Button(self.frame, text="Copy")
            button.configure(command=partial(self._copy, button, fingerprint))
            name(button, f"Copy the certificate fingerprint of {room}")
            button.grid(row=2 * row + 1, column=1, sticky="e", padx=(8, 0))
            self.texts[room] = text
            self.copy_buttons[room] = button
        self.frame.columnconfigure(1, weight=1)

    def _copy(self, button: ttk.Button, fingerprint: str) -> None:
        self.frame.clipboard_clear()
        self.frame.clipboard_append(fingerprint)
        button.configure(text="Copied")
        button.after(COPIED_MS, lambda: button.winfo_exists() and button.configure(text="Copy"))
