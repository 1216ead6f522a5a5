"""The chat widgets: one conversation's transcript, topic bar and member list; the input line.

Layer: GUI (Tk main thread only); imports tkinter and lanchat.gui.{lines,commands,viewmodel,
theme}. The widgets are thin: every line arrives already formatted (lines.Line, with its tags)
and the input line asks lanchat.gui.commands for history and completion.

The transcript is a read-only Text widget that still lets people select and copy; it holds at
most `visible_limit` lines (older ones are deleted from the widget, not from the history), so
a busy room stays as fast as a quiet one (issue #3: "trim the view, not the history").
"""

from __future__ import annotations

import tkinter as tk
import webbrowser
from collections.abc import Callable, Iterable, Sequence
from tkinter import ttk
from typing import Any

from lanchat.gui.commands import Completer, InputHistory
from lanchat.gui.lines import Line
from lanchat.gui.theme import Palette, transcript_font
from lanchat.gui.viewmodel import DEFAULT_VISIBLE_LINES, MemberRow

__all__ = ["ConversationView", "InputBar"]


class ConversationView(ttk.Frame):
    """Tk thread only. Topic bar above a transcript, with the member list on the right."""

    def __init__(
        self,
        master: tk.Misc,
        palette: Palette,
        *,
        members: bool = True,
        visible_limit: int = DEFAULT_VISIBLE_LINES,
        open_url: Callable[[str], object] = webbrowser.open,
        on_retry: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(master)
        self.visible_limit = visible_limit  # lines kept in the Text widget
        self._open_url = open_url
        self.topic = ttk.Label(self, text="", style="Topic.TLabel", anchor="w")
        self.topic.pack(fill="x")
        # One line about the connection ("Reconnecting in 5 s…  Retry now"), updated in
        # place rather than added to the transcript at every attempt (issue #15, bug 5).
        self.connection = ttk.Frame(self, style="Notice.TFrame", padding=(10, 4))
        self.connection_text = ttk.Label(self.connection, text="", style="Notice.TLabel")
        self.connection_text.pack(side="left")
        self.retry_button = ttk.Button(
            self.connection, text="Retry now", style="Link.TButton", command=on_retry
        )
        body = ttk.PanedWindow(self, orient="horizontal")
        body.pack(fill="both", expand=True)
        left = ttk.Frame(body)
        self.text = tk.Text(
            left,
            wrap="word",
            font=transcript_font(self),
            relief="flat",
            borderwidth=0,
            padx=10,
            pady=6,
            spacing1=2,
            spacing3=2,
            undo=False,
            cursor="arrow",
            takefocus=False,
            highlightthickness=0,
        )
        scroll = ttk.Scrollbar(left, orient="vertical", command=self.text.yview)
        self._scroll = scroll
        self._at_bottom = True  # the view shows the newest line; kept by _scrolled()
        self.text.configure(yscrollcommand=self._scrolled, state="disabled")
        scroll.pack(side="right", fill="y")
        self.text.pack(side="left", fill="both", expand=True)
        body.add(left, weight=5)
        self.members: ttk.Treeview | None = None
        self._member_rows: list[MemberRow] = []  # as shown, top to bottom
        if members:
            right = ttk.Frame(body, style="Card.TFrame")
            self.member_count = ttk.Label(right, text="", style="Muted.TLabel", padding=(8, 4))
            self.member_count.pack(fill="x")
            self.members = ttk.Treeview(
                right, show="tree", selectmode="browse", style="Members.Treeview", height=1
            )
            self.members.column("#0", width=160, stretch=True)
            self.members.pack(fill="both", expand=True)
            body.add(right, weight=1)
        # A banner opening above (or the window shrinking) makes the transcript shorter: a
        # view that showed the newest line keeps showing it (issue #15, bug 4).
        self.text.bind("<Configure>", self._resized, add="+")
        self.text.tag_bind("url", "<Button-1>", self._click_url)
        self.text.tag_bind("url", "<Enter>", lambda _e: self.text.configure(cursor="hand2"))
        self.text.tag_bind("url", "<Leave>", lambda _e: self.text.configure(cursor="arrow"))
        self.apply_palette(palette)

    def apply_palette(self, pal: Palette) -> None:
        """Colour the Text and Listbox (classic widgets do not follow the ttk theme)."""
        self.text.configure(
            background=pal.surface,
            foreground=pal.fg,
            selectbackground=pal.select_bg,
            selectforeground=pal.fg,
            insertbackground=pal.fg,
            inactiveselectbackground=pal.select_bg,
        )
        self.text.tag_configure("time", foreground=pal.muted)
        self.text.tag_configure("event", foreground=pal.muted)
        self.text.tag_configure("error", foreground=pal.error)
        self.text.tag_configure("notice", foreground=pal.muted)
        self.text.tag_configure("own", foreground=pal.own, font=_bold(self))
        self.text.tag_configure("highlight", background=pal.highlight_bg)
        self.text.tag_configure("url", foreground=pal.accent, underline=True)
        self.text.tag_configure("action", font=_italic(self))
        for i, colour in enumerate(pal.nicks):
            self.text.tag_configure(f"nick{i}", foreground=colour, font=_bold(self))
        self.text.tag_raise("sel")
        if self.members is not None:
            for i, colour in enumerate(pal.nicks):
                self.members.tag_configure(f"nick{i}", foreground=colour)
            self.members.tag_configure("own", foreground=pal.own)
            self.members.tag_configure("away", foreground=pal.muted)

    def show(self, lines: Iterable[Line]) -> None:
        """Replace the transcript with `lines` (used when a tab is rebuilt or re-themed)."""
        self.text.configure(state="normal")
        self.text.delete("1.0", "end")
        self._insert(lines)
        self.text.configure(state="disabled")
        self.text.see("end")

    def append(self, lines: Sequence[Line]) -> None:
        """Add `lines` at the bottom, trimming the oldest beyond `visible_limit`.

        Scrolls to the new lines only when the view was already at the bottom, so reading
        older lines is not interrupted by new ones.
        """
        if not lines:
            return
        at_bottom = self._at_bottom
        self.text.configure(state="normal")
        self._insert(lines[-self.visible_limit :])
        excess = self.line_count() - self.visible_limit
        if excess > 0:
            self.text.delete("1.0", f"{excess + 1}.0")
        self.text.configure(state="disabled")
        if at_bottom:
            self.text.see("end")

    def _insert(self, lines: Iterable[Line]) -> None:
        # One Text insert call for the whole batch ("insert end chars tags chars tags ..."):
        # a Tcl round trip per segment made a 200-line batch cost tens of milliseconds.
        args: list[str | tuple[str, ...]] = []
        newline = self.text.compare("end-1c", "!=", "1.0")
        for line in lines:
            if newline:
                args += ["\n", ()]
            newline = True
            for seg in line.segments:
                args += [seg.text, seg.tags]
        if args:
            insert: Any = self.text.insert  # typeshed allows one chars/tags pair; Tk takes many
            insert("end", *args)

    def _scrolled(self, first: float | str, last: float | str) -> None:
        # Remember whether the newest line is in view from the scroll callback, instead of
        # asking yview() before every insert (which forces a layout of the whole text).
        # An unmapped transcript (a tab behind another, a withdrawn window) is one pixel high
        # and its fractions say nothing of what will be seen: keep the last word.
        if self.text.winfo_ismapped():
            self._at_bottom = float(last) >= 0.999
        self._scroll.set(first, last)

    def _resized(self, _event: object) -> None:
        if self._at_bottom:
            self.text.see("end")

    def line_count(self) -> int:
        """Lines in the Text widget now."""
        if self.text.compare("end-1c", "==", "1.0"):
            return 0
        return int(self.text.index("end-1c").split(".")[0])

    def contents(self) -> str:
        """The transcript as plain text (what a select-all copy would give)."""
        return self.text.get("1.0", "end-1c")

    def show_connection(self, text: str, *, retry: bool) -> None:
        """Show `text` on the connection line (with "Retry now" when `retry`)."""
        self.connection_text.configure(text=text)
        if retry and not self.retry_button.winfo_manager():
            self.retry_button.pack(side="left", padx=(8, 0))
        elif not retry:
            self.retry_button.pack_forget()
        if not self.connection.winfo_manager():
            self.connection.pack(fill="x", after=self.topic)

    def hide_connection(self) -> None:
        self.connection.pack_forget()

    def connection_message(self) -> str:
        """The connection line as shown ("" when hidden)."""
        return str(self.connection_text.cget("text")) if self.connection.winfo_manager() else ""

    def set_topic(self, topic: str) -> None:
        self.topic.configure(text=topic or "No topic. Set one with /topic")

    def set_members(self, rows: Sequence[MemberRow]) -> None:
        """Show the member list (rows already ordered, marked and coloured by the view-model)."""
        if self.members is None:
            return
        self.members.delete(*self.members.get_children())
        for i, row in enumerate(rows):
            self.members.insert("", "end", iid=str(i), text=row.text, tags=(row.tag,))
        self._member_rows = list(rows)
        self.member_count.configure(text=f"{len(rows)} here" if rows else "")

    def member_rows(self) -> list[str]:
        """The member list's texts as shown, top to bottom."""
        return [row.text for row in self._member_rows]

    def member_tags(self) -> list[str]:
        """The colour tag of each shown row, top to bottom."""
        if self.members is None:
            return []
        return [str(self.members.item(i, "tags")[0]) for i in self.members.get_children()]

    def _click_url(self, event: tk.Event[tk.Text]) -> None:
        index = self.text.index(f"@{event.x},{event.y}")
        ranges = self.text.tag_prevrange("url", f"{index}+1c")
        if ranges:
            url = self.text.get(*ranges)
            self._open_url(url if "://" in url else "https://" + url)


def _bold(widget: tk.Misc) -> tuple[str, int, str]:
    f = transcript_font(widget)
    return (str(f.actual("family")), int(f.actual("size")), "bold")


def _italic(widget: tk.Misc) -> tuple[str, int, str]:
    f = transcript_font(widget)
    return (str(f.actual("family")), int(f.actual("size")), "italic")


class InputBar(ttk.Frame):
    """Tk thread only. The line people type in: Return sends, Up/Down recall, Tab completes.

    Args:
        master: parent widget.
        on_send: called with the typed line (not empty) when Return is pressed.
        nicks: returns the nicks to complete in the current tab.
    """

    def __init__(
        self,
        master: tk.Misc,
        on_send: Callable[[str], None],
        nicks: Callable[[], Sequence[str]],
    ) -> None:
        super().__init__(master, padding=(8, 6))
        self._on_send = on_send
        self._nicks = nicks
        self.history = InputHistory()
        self.completer = Completer()
        self.var = tk.StringVar(self)
        self.entry = ttk.Entry(self, textvariable=self.var, font=transcript_font(self))
        self.entry.pack(side="left", fill="x", expand=True)
        self.send_button = ttk.Button(
            self, text="Send", style="Accent.TButton", command=self.submit
        )
        self.send_button.pack(side="left", padx=(6, 0))
        self.entry.bind("<Return>", self._on_return)
        self.entry.bind("<KP_Enter>", self._on_return)
        self.entry.bind("<Up>", self._on_up)
        self.entry.bind("<Down>", self._on_down)
        self.entry.bind("<Tab>", self._on_tab)
        self.entry.bind("<Key>", self._on_other_key, add="+")

    def submit(self) -> None:
        """Send the typed line (Return or the Send button); blank lines are ignored."""
        text = self.var.get()
        if not text.strip():
            return
        self.history.push(text)
        self.var.set("")
        self._on_send(text)

    def _on_return(self, _event: tk.Event[ttk.Entry]) -> str:
        self.submit()
        return "break"

    def _set(self, text: str, cursor: int | None = None) -> None:
        self.var.set(text)
        self.entry.icursor(len(text) if cursor is None else cursor)

    def _on_up(self, _event: tk.Event[ttk.Entry]) -> str:
        self._set(self.history.up(self.var.get()))
        return "break"

    def _on_down(self, _event: tk.Event[ttk.Entry]) -> str:
        self._set(self.history.down(self.var.get()))
        return "break"

    def _on_tab(self, _event: tk.Event[ttk.Entry]) -> str:
        line, cursor = self.completer.complete(
            self.var.get(), self.entry.index("insert"), self._nicks()
        )
        self._set(line, cursor)
        return "break"  # keep the focus in the entry

    def _on_other_key(self, event: tk.Event[ttk.Entry]) -> None:
        if event.keysym not in ("Tab", "Shift_L", "Shift_R"):
            self.completer.reset()
