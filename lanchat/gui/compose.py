"""The message box: where a message is composed, over one or several lines.

Layer: GUI (Tk main thread only); imports tkinter and lanchat.gui.{placeholder,theme}.

As in Slack and Element, Enter sends (the input bar's binding, lanchat.gui.chat.InputBar) and
Shift+Enter starts a new line. The box is one row high when empty and grows with its text,
wrapped rows included, up to MAX_ROWS rows; beyond that it scrolls (the wheel, the keys and
the scroll bar beside it), and it shrinks back when emptied. Pasted lines stay in the box to
be edited before they are sent; several lines are sent as one message where the server takes
draft/multiline (lanchat.client.multiline).
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Any

from lanchat.gui.placeholder import PlaceholderText
from lanchat.gui.theme import Palette, transcript_font

__all__ = ["MAX_ROWS", "MessageBox"]

MAX_ROWS = 6  # the box grows up to this many rows, then scrolls


class MessageBox(PlaceholderText):
    """Tk thread only. A Text that grows with its content; its text is `get_text()`.

    Args:
        master: parent widget.
        palette: the colours of the theme.
        scroll: the scroll bar shown beside the box while its text is taller than MAX_ROWS
            (packed on the right of its own parent, before the box).
        **options: tk.Text options.
    """

    def __init__(
        self, master: tk.Misc, palette: Palette, scroll: ttk.Scrollbar, **options: Any
    ) -> None:
        super().__init__(
            master,
            font=transcript_font(master),
            height=1,
            width=20,  # what the window asks for; the bar stretches it
            wrap="word",
            undo=True,
            relief="flat",
            borderwidth=0,
            highlightthickness=1,
            padx=8,
            pady=6,
            **options,
        )
        self._scroll = scroll
        scroll.configure(command=self.yview)
        self.configure(yscrollcommand=scroll.set)
        self.on_change.append(self._fit)
        self.bind("<Configure>", lambda _e: self._fit(), add="+")
        self.bind("<Shift-Return>", self._new_line)
        self.bind("<Shift-KP_Enter>", self._new_line)
        self.apply_palette(palette)

    def apply_palette(self, pal: Palette) -> None:
        """Colour the box as a field of the theme (a Text does not follow ttk styles)."""
        self.configure(
            background=pal.field,
            foreground=pal.fg,
            insertbackground=pal.fg,
            selectbackground=pal.select_bg,
            selectforeground=pal.fg,
            inactiveselectbackground=pal.select_bg,
            highlightbackground=pal.border,  # the frame, and in focus the accent
            highlightcolor=pal.accent,
        )

    def get_text(self) -> str:
        """The text typed, all its lines."""
        return self.get("1.0", "end-1c")

    def set_text(self, text: str, cursor: int | None = None) -> None:
        """Replace the text, with the cursor `cursor` characters in (None: at the end)."""
        at = len(text) if cursor is None else cursor
        self.delete("1.0", "end")
        self.insert("1.0", text[at:])
        self.mark_set("insert", "1.0")
        self.insert("insert", text[:at])  # the cursor stays after what it inserts
        self.edit_reset()
        self.changed()

    def cursor(self) -> int:
        """Characters before the cursor."""
        return len(self.get("1.0", "insert"))

    def rows(self) -> int:
        """Rows the text takes as laid out (wrapped lines count each of their rows)."""
        return self._rows_between("1.0", "end", "-update")

    def on_first_row(self) -> bool:
        """The cursor is on the top row (Up there recalls the history instead of moving)."""
        return self._rows_between("1.0", "insert") == 0

    def on_last_row(self) -> bool:
        """The cursor is on the bottom row (Down there goes on in the history)."""
        return self._rows_between("insert", "end-1c") == 0

    def _rows_between(self, start: str, end: str, *options: str) -> int:
        # Tk's own count (tkinter's Text.count returns a tuple, or None for nought)
        return int(self.tk.call(str(self), "count", *options, "-displaylines", start, end))

    def _new_line(self, _event: object) -> str:
        if self.tag_ranges("sel"):
            self.delete("sel.first", "sel.last")
        self.insert("insert", "\n")
        self.see("insert")
        return "break"

    def _fit(self) -> None:
        rows = self.rows()
        height = min(max(rows, 1), MAX_ROWS)
        if int(self.cget("height")) != height:
            self.configure(height=height)
        if rows > MAX_ROWS:
            if not self._scroll.winfo_manager():
                self._scroll.pack(side="right", fill="y", before=self)
            self.see("insert")
        else:
            self._scroll.pack_forget()
            self.yview_moveto(0)
