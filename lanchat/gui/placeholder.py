"""Fields that show grey words ("Message #lobby", "Search this room") while they are empty:
a one-line ttk.Entry (PlaceholderEntry) and a multi-line Text (PlaceholderText).

Layer: GUI (Tk main thread only); imports tkinter only.

Neither widget has a placeholder of its own. The words are a label placed inside the field,
so they never become the field's value (nothing to strip before sending, no cursor games),
and they disappear as soon as something is typed and come back when the field is emptied.
A click on the words goes to the field, and Ctrl+A selects all the text (Tk's own Ctrl+A
moves the cursor to the start of the line, as in Emacs). The label's style,
"Placeholder.TLabel", is the theme's (lanchat.gui.theme): muted text on the field's
background. Both fields share that code (PlaceholderMixin); each says only whether it is
empty, how it selects all, and where its words sit.
"""

from __future__ import annotations

import abc
import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import Any

__all__ = ["PlaceholderEntry", "PlaceholderText"]

INSET_PX = 10  # from the entry's left edge to the words: where the typed text starts


class PlaceholderMixin(tk.Widget, metaclass=abc.ABCMeta):
    """Tk thread only. The placeholder of a field (mixed in before the field's Tk class);
    the subclass calls `_add_placeholder` once built and `_show_placeholder` when its value
    changes."""

    placeholder: ttk.Label

    def _add_placeholder(self, text: str) -> None:
        self.placeholder = ttk.Label(
            self, text=text, style="Placeholder.TLabel", font=self.cget("font"), padding=0
        )
        self.placeholder.bind("<Button-1>", lambda _e: self.focus_set())
        self.bind("<Control-a>", self._select_all)
        self._show_placeholder()

    def set_placeholder(self, text: str) -> None:
        """What the empty field says."""
        self.placeholder.configure(text=text)
        self._show_placeholder()

    def placeholder_text(self) -> str:
        """The placeholder as shown ("" while something is typed, or when there is none)."""
        return str(self.placeholder.cget("text")) if self.placeholder.winfo_manager() else ""

    @abc.abstractmethod
    def is_empty(self) -> bool:
        """True when nothing is typed."""

    @abc.abstractmethod
    def _place(self) -> dict[str, Any]:
        """Where the words sit in the field (Tk place options)."""

    def _show_placeholder(self) -> None:
        if not self.is_empty() or not self.placeholder.cget("text"):
            self.placeholder.place_forget()
        elif not self.placeholder.winfo_manager():
            self.placeholder.place(**self._place())

    @abc.abstractmethod
    def _select_all(self, _event: object) -> str:
        """Select the whole text (Ctrl+A); "break" stops Tk's own binding."""


class PlaceholderEntry(PlaceholderMixin, ttk.Entry):
    """Tk thread only. A ttk.Entry with a placeholder and Ctrl+A; its value is in `var`.

    Args:
        master: parent widget.
        placeholder: the words shown while the field is empty ("" for none).
        **options: ttk.Entry options (font, width...); textvariable is the entry's own.
    """

    def __init__(self, master: tk.Misc, placeholder: str = "", **options: Any) -> None:
        self.var = tk.StringVar(master)
        super().__init__(master, textvariable=self.var, **options)
        self.var.trace_add("write", lambda *_a: self._show_placeholder())
        self._add_placeholder(placeholder)

    def is_empty(self) -> bool:
        return not self.var.get()

    def _place(self) -> dict[str, Any]:
        return {"x": INSET_PX, "rely": 0.5, "anchor": "w"}

    def _select_all(self, _event: object) -> str:
        self.select_range(0, "end")
        self.icursor("end")
        return "break"


class PlaceholderText(PlaceholderMixin, tk.Text):
    """Tk thread only. A tk.Text with a placeholder and Ctrl+A, whatever changes its text
    (typing, pasting, `insert`/`delete`); `on_change` is called after each change too.

    Args:
        master: parent widget.
        placeholder: the words shown while the field is empty ("" for none).
        **options: tk.Text options (font, height, padx, pady...).
    """

    def __init__(self, master: tk.Misc, placeholder: str = "", **options: Any) -> None:
        super().__init__(master, **options)
        self.on_change: list[Callable[[], object]] = []
        # Tk sets the modified flag at every change and says so once (<<Modified>>);
        # clearing the flag re-arms it for the next change.
        self.bind("<<Modified>>", self._modified, add="+")
        self._add_placeholder(placeholder)

    def is_empty(self) -> bool:
        return self.compare("end-1c", "==", "1.0")

    def _place(self) -> dict[str, Any]:
        # where the first typed character is: a Text places its children inside its padding
        return {"x": 0, "y": 0}

    def changed(self) -> None:
        """The text was changed: update the placeholder and tell `on_change` now (Tk's own
        <<Modified>> comes later, from the event queue)."""
        self._show_placeholder()
        for callback in self.on_change:
            callback()

    def _modified(self, _event: object) -> None:
        if self.edit_modified():
            self.edit_modified(False)
            self.changed()

    def _select_all(self, _event: object) -> str:
        self.tag_add("sel", "1.0", "end-1c")
        self.mark_set("insert", "end-1c")
        return "break"
