"""A ttk.Entry that shows grey words ("Message #lobby", "Search this room") while it is empty.

Layer: GUI (Tk main thread only); imports tkinter only.

ttk.Entry has no placeholder of its own. The words are a label placed inside the entry, so
they never become the entry's value (nothing to strip before sending, no cursor games), and
they disappear as soon as something is typed and come back when the field is emptied. A
click on the words goes to the field, and Ctrl+A selects all the text (Tk's own Ctrl+A
moves the cursor to the start of the line, as in Emacs). The label's style,
"Placeholder.TLabel", is the theme's (lanchat.gui.theme): muted text on the field's
background.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Any

__all__ = ["PlaceholderEntry"]

INSET_PX = 10  # from the entry's left edge to the words: where the typed text starts


class PlaceholderEntry(ttk.Entry):
    """Tk thread only. A ttk.Entry with a placeholder and Ctrl+A; its value is in `var`.

    Args:
        master: parent widget.
        placeholder: the words shown while the field is empty ("" for none).
        **options: ttk.Entry options (font, width...); textvariable is the entry's own.
    """

    def __init__(self, master: tk.Misc, placeholder: str = "", **options: Any) -> None:
        self.var = tk.StringVar(master)
        super().__init__(master, textvariable=self.var, **options)
        self.placeholder = ttk.Label(self, text=placeholder, style="Placeholder.TLabel")
        self.placeholder.bind("<Button-1>", lambda _e: self.focus_set())
        self.var.trace_add("write", lambda *_a: self._show_placeholder())
        self.bind("<Control-a>", self._select_all)
        self._show_placeholder()

    def set_placeholder(self, text: str) -> None:
        """What the empty field says."""
        self.placeholder.configure(text=text)
        self._show_placeholder()

    def placeholder_text(self) -> str:
        """The placeholder as shown ("" while something is typed, or when there is none)."""
        return str(self.placeholder.cget("text")) if self.placeholder.winfo_manager() else ""

    def _show_placeholder(self) -> None:
        if self.var.get() or not self.placeholder.cget("text"):
            self.placeholder.place_forget()
        elif not self.placeholder.winfo_manager():
            self.placeholder.place(x=INSET_PX, rely=0.5, anchor="w")

    def _select_all(self, _event: object) -> str:
        self.select_range(0, "end")
        self.icursor("end")
        return "break"
