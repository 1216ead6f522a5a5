"""The "Search this room" panel of a room's tab: a field with a placeholder and the messages
found; choosing one makes the transcript jump to it (lanchat.gui.app.ChatApp.jump_to).

Layer: GUI (Tk main thread only); imports tkinter, lanchat.client.events (plain values) and
lanchat.gui.{access,lines,placeholder,theme}. The searching is the server's (soju.im/search);
the context is CHATHISTORY AROUND, loaded into the transcript: the panel only asks
(on_search, on_choose) and lists the answers.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk

from lanchat.client.events import SearchHit
from lanchat.gui.access import name
from lanchat.gui.lines import format_time
from lanchat.gui.placeholder import PlaceholderEntry
from lanchat.gui.theme import Palette

__all__ = ["SearchPanel"]


def _row(hit: SearchHit) -> str:
    text = " ".join(hit.text.split("\n"))  # a multiline message on one row
    return f"{format_time(hit.time_ms)}  {hit.nick}: {text}"


class SearchPanel(ttk.Frame):
    """Tk thread only. Return in the field searches; a result is chosen by click or keys.

    Args:
        master: parent widget.
        on_search: called with the words typed (not blank).
        on_choose: called with the msgid of the result chosen.
    """

    def __init__(
        self,
        master: tk.Misc,
        on_search: Callable[[str], None],
        on_choose: Callable[[str], None],
    ) -> None:
        super().__init__(master, padding=(12, 4))
        self._on_search = on_search
        self._on_choose = on_choose
        self._hits: list[SearchHit] = []
        self.query = name(PlaceholderEntry(self, "Search this room"), "Search this room")
        self.query.pack(fill="x")
        self.query.bind("<Return>", self._search)
        self.results = name(
            tk.Listbox(self, height=5, activestyle="none", relief="flat", exportselection=False),
            "Search results",
        )
        self.results.bind("<<ListboxSelect>>", lambda _e: self._chosen())

    def apply_palette(self, pal: Palette) -> None:
        """Colour the result list (a classic widget does not follow ttk styles)."""
        self.results.configure(background=pal.surface, foreground=pal.fg, highlightthickness=0)
        self.results.configure(selectbackground=pal.select_bg, selectforeground=pal.fg)

    def _search(self, _event: object) -> str:
        text = self.query.get().strip()
        if text:
            self._on_search(text)
        return "break"

    def show_results(self, hits: Sequence[SearchHit]) -> None:
        """List the messages found (oldest first), or say that none was."""
        self._hits = list(hits)
        self.results.delete(0, "end")
        for hit in hits:
            self.results.insert("end", _row(hit))
        if not hits:
            self.results.insert("end", "No messages found. Try other words.")
        self.results.pack(fill="x", pady=(4, 0))

    def result_rows(self) -> list[str]:
        """The rows of the result list as shown."""
        return [str(row) for row in self.results.get(0, "end")]

    def choose(self, index: int) -> None:
        """Choose result `index` (as clicking it does)."""
        self.results.selection_clear(0, "end")
        self.results.selection_set(index)
        self._chosen()

    def _chosen(self) -> None:
        selected = self.results.curselection()  # type: ignore[no-untyped-call]
        if selected and int(selected[0]) < len(self._hits):
            self._on_choose(self._hits[int(selected[0])].msgid)
