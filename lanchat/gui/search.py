"""The "Search this room" panel of a room's tab: a field, the messages found, and the one
chosen shown with the messages around it.

Layer: GUI (Tk main thread only); imports tkinter, lanchat.client.events (plain values) and
lanchat.gui.{access,lines,theme}. The searching is the server's (soju.im/search); the context
is CHATHISTORY AROUND: the panel only asks (on_search, on_choose) and shows the answers.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk

from lanchat.client.events import SearchHit
from lanchat.gui.access import name
from lanchat.gui.lines import format_time
from lanchat.gui.theme import Palette

__all__ = ["SearchPanel"]


def _row(hit: SearchHit) -> str:
    text = " ".join(hit.text.split("\n"))  # a multiline message on one row
    return f"{format_time(hit.time_ms)}  {hit.nick}: {text}"


class SearchPanel(ttk.Frame):
    """Tk thread only. Return in the field searches; choosing a result shows it in context.

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
        self.query = name(ttk.Entry(self), "Search this room")
        self.query.pack(fill="x")
        self.query.bind("<Return>", self._search)
        self.results = name(
            tk.Listbox(self, height=5, activestyle="none", relief="flat", exportselection=False),
            "Search results",
        )
        self.results.bind("<<ListboxSelect>>", lambda _e: self._chosen())
        self.context = name(
            tk.Text(self, height=6, wrap="word", relief="flat", state="disabled"),
            "Message in context",
        )

    def apply_palette(self, pal: Palette) -> None:
        """Colour the list and the context (classic widgets do not follow ttk styles)."""
        for widget in (self.results, self.context):
            widget.configure(background=pal.surface, foreground=pal.fg, highlightthickness=0)
        self.results.configure(selectbackground=pal.select_bg, selectforeground=pal.fg)
        self.context.tag_configure("found", background=pal.highlight_bg)

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
        self.context.pack_forget()

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

    def show_context(self, msgid: str, hits: Sequence[SearchHit]) -> None:
        """Show the messages around `msgid`, that one marked and scrolled into view."""
        self.context.configure(state="normal")
        self.context.delete("1.0", "end")
        for hit in hits:
            self.context.insert("end", _row(hit) + "\n", ("found",) if hit.msgid == msgid else ())
        self.context.configure(state="disabled")
        self.context.pack(fill="x", pady=(4, 0))
        found = self.context.tag_ranges("found")
        if found:
            self.context.see(found[0])

    def context_text(self) -> str:
        """The context as shown ("" while hidden)."""
        return self.context.get("1.0", "end-1c") if self.context.winfo_manager() else ""

    def found_text(self) -> str:
        """The row of the chosen message in the context."""
        found = self.context.tag_ranges("found")
        return self.context.get(found[0], found[1]).strip() if found else ""
