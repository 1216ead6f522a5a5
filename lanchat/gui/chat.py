"""The chat widgets: one conversation's transcript, topic bar and member list; the input bar.

Layer: GUI (Tk main thread only); imports tkinter and lanchat.gui.{lines,commands,compose,
viewmodel,theme,tooltip}. The widgets are thin: every line arrives already formatted (lines.Line,
with its tags) and is laid out by lines.render (grouped by sender, date separators); the input
bar's message box (lanchat.gui.compose) asks lanchat.gui.commands for history and completion.

The transcript is a read-only Text widget that still lets people select and copy; it holds at
most `visible_limit` lines (older ones are deleted from the widget, not from the history), so
a busy room stays as fast as a quiet one (issue #3: "trim the view, not the history").
"""

from __future__ import annotations

import datetime as dt
import tkinter as tk
import tkinter.font as tkfont
import webbrowser
from collections.abc import Callable, Iterable, Sequence
from tkinter import ttk
from typing import Any

from lanchat.gui.access import name
from lanchat.gui.commands import Completer, InputHistory
from lanchat.gui.compose import MessageBox
from lanchat.gui.lines import Line, render
from lanchat.gui.members import MemberList
from lanchat.gui.search import SearchPanel
from lanchat.gui.theme import Palette, emoji_font, transcript_font
from lanchat.gui.tooltip import Tooltip
from lanchat.gui.viewmodel import DEFAULT_VISIBLE_LINES, MemberRow

FOUND_MS = 2500  # how long a search hit stays highlighted after the transcript jumps to it
CONTEXT_ROWS = 3  # rows of the transcript shown above a search hit

__all__ = ["ConversationView", "InputBar"]


class ConversationView(ttk.Frame):
    """Tk thread only. Topic bar above a transcript, with the member list on the right.

    Args:
        master: parent widget.
        palette: the colours of the theme.
        members: show a member list (rooms), else not (private and server tabs).
        visible_limit: most rows the transcript keeps (older ones stay in the history).
        open_url: opens a clicked link.
        on_retry: "Retry now" on the connection line was pressed.
        on_member: a member-list action (an action of MEMBER_ACTIONS, the nick).
        on_delete: "Delete message" was chosen on our own message with this msgid.
        on_search: (rooms) words to search the room's history for.
        on_context: (rooms) a search result was chosen: its msgid.
    """

    def __init__(
        self,
        master: tk.Misc,
        palette: Palette,
        *,
        members: bool = True,
        visible_limit: int = DEFAULT_VISIBLE_LINES,
        open_url: Callable[[str], object] = webbrowser.open,
        on_retry: Callable[[], None] = lambda: None,
        on_member: Callable[[str, str], None] = lambda _action, _nick: None,
        on_delete: Callable[[str], None] = lambda _msgid: None,
        on_search: Callable[[str], None] = lambda _text: None,
        on_context: Callable[[str], None] = lambda _msgid: None,
    ) -> None:
        super().__init__(master, style="Chat.TFrame")
        self._on_delete = on_delete
        self.visible_limit = visible_limit  # rows kept in the Text widget
        self._open_url = open_url
        self._topic = ""  # the whole topic; the bar shows it shortened to fit
        self.topic = ttk.Label(self, text="", style="Topic.TLabel", anchor="w")
        self.topic.pack(fill="x")
        self.topic.bind("<Configure>", lambda _e: self._fit_topic(), add="+")
        self.topic_tip = Tooltip(self.topic, lambda _x, _y: self._topic_tooltip())
        ttk.Separator(self).pack(fill="x")
        # One line about the connection ("Reconnecting in 5 s…  Retry now"), updated in
        # place rather than added to the transcript at every attempt (issue #15, bug 5).
        self.connection = ttk.Frame(self, style="Notice.TFrame", padding=(10, 4))
        self.connection_text = ttk.Label(self.connection, text="", style="Notice.TLabel")
        self.connection_text.pack(side="left")
        self.retry_button = ttk.Button(
            self.connection, text="Retry now", style="Link.TButton", command=on_retry
        )
        self.search: SearchPanel | None = None
        if members:
            self.search = SearchPanel(self, on_search, on_context)
            self.search.pack(fill="x")
        body = ttk.PanedWindow(self, orient="horizontal")
        body.pack(fill="both", expand=True)
        left = ttk.Frame(body, style="Chat.TFrame")
        self.text = tk.Text(  # named below, once configured
            left,
            wrap="word",
            font=transcript_font(self),
            relief="flat",
            borderwidth=0,
            padx=16,
            pady=8,
            spacing1=1,
            spacing3=1,
            undo=False,
            cursor="arrow",
            takefocus=False,
            highlightthickness=0,
        )
        name(self.text, "Transcript")
        scroll = ttk.Scrollbar(left, orient="vertical", command=self.text.yview)
        self._scroll = scroll
        self._at_bottom = True  # the view shows the newest line; kept by _scrolled()
        self._last: Line | None = None  # the line at the bottom, for grouping the next one
        self._found_timer = ""  # after() id of the end of a search hit's highlight
        self.text.configure(yscrollcommand=self._scrolled, state="disabled")
        scroll.pack(side="right", fill="y")
        self.text.pack(side="left", fill="both", expand=True)
        body.add(left, weight=5)
        self.members: MemberList | None = None
        if members:
            self.members = MemberList(body, on_member)
            body.add(self.members, weight=1)
        # A banner opening above (or the window shrinking) makes the transcript shorter: a
        # view that showed the newest line keeps showing it (issue #15, bug 4).
        self.text.bind("<Configure>", self._resized, add="+")
        self.text.bind("<Control-a>", self._select_all)
        self.text.tag_bind("url", "<Button-1>", self._click_url)
        self.text.tag_bind("url", "<Enter>", lambda _e: self.text.configure(cursor="hand2"))
        self.text.tag_bind("url", "<Leave>", lambda _e: self.text.configure(cursor="arrow"))
        self.name_tip = Tooltip(self.text, self._name_tooltip)
        self.text.bind("<Button-3>", self._message_menu)
        self.menu = tk.Menu(self, tearoff=False)  # on our own messages: "Delete message"
        self.apply_palette(palette)

    def apply_palette(self, pal: Palette) -> None:
        """Colour the Text and the member list (classic widgets do not follow ttk styles)."""
        font = transcript_font(self)
        family, size = str(font.actual("family")), int(font.actual("size"))
        self.text.configure(
            background=pal.surface,
            foreground=pal.fg,
            selectbackground=pal.select_bg,
            selectforeground=pal.fg,
            insertbackground=pal.fg,
            inactiveselectbackground=pal.select_bg,
        )
        small = (family, max(size - 2, 7))
        # the time in the small font, then two spaces in the text's: where the text starts
        stamp = tkfont.Font(self, font=small).measure("00:00") + font.measure("  ")
        t = self.text.tag_configure
        t("time", foreground=pal.muted, font=small)
        t("date", foreground=pal.muted, font=(*small, "bold"), justify="center",
          spacing1=12, spacing3=6)  # fmt: skip
        t("header", spacing1=10)
        t("row", lmargin2=stamp, spacing1=3)  # wrapped rows go under the text, not the time
        t("event", foreground=pal.muted)
        t("error", foreground=pal.error)
        t("notice", foreground=pal.muted)
        t("own", foreground=pal.own, font=(family, size, "bold"))
        t("highlight", background=pal.highlight_bg)
        t("found", background=pal.select_bg)
        t("url", foreground=pal.accent, underline=True)
        t("action", font=(family, size, "italic"))
        t("unread", foreground=pal.error, font=(*small, "bold"), justify="center",
          spacing1=8, spacing3=4)  # fmt: skip
        emoji = emoji_font(self)
        if emoji is not None:
            emoji.configure(size=size)
            t("emoji", font=emoji)
        for i, colour in enumerate(pal.nicks):
            t(f"nick{i}", foreground=colour, font=(family, size, "bold"))
        self.text.tag_raise("sel")
        if self.members is not None:
            self.members.apply_palette(pal)
        if self.search is not None:
            self.search.apply_palette(pal)

    def show(self, lines: Iterable[Line], found: str = "") -> None:
        """Replace the transcript with `lines` (used when a tab is rebuilt or re-themed).

        Args:
            lines: the lines to show, oldest first.
            found: the msgid of a message to scroll to and highlight for FOUND_MS (a search
                hit); "" shows the newest line.
        """
        self.text.configure(state="normal")
        self.text.delete("1.0", "end")
        self._last = None
        self._insert(lines, found)
        self.text.configure(state="disabled")
        ranges = self.text.tag_ranges("found")
        if not ranges:
            self.text.see("end")
            return
        self._at_bottom = False  # until the scroll callback says where the view is
        self.text.yview(f"{ranges[0]} linestart -{CONTEXT_ROWS} lines")
        if self._found_timer:  # an earlier hit's timer must not end this one's highlight
            self.after_cancel(self._found_timer)
        self._found_timer = self.after(FOUND_MS, self._found_faded)

    def _found_faded(self) -> None:
        self._found_timer = ""
        self.text.tag_remove("found", "1.0", "end")

    def destroy(self) -> None:
        """Close the tab: a highlight still fading would call into the destroyed transcript."""
        if self._found_timer:
            self.after_cancel(self._found_timer)
            self._found_timer = ""
        super().destroy()

    def found_text(self) -> str:
        """The highlighted search hit's text ("" when none is highlighted)."""
        ranges = self.text.tag_ranges("found")
        return self.text.get(ranges[0], ranges[1]).strip() if ranges else ""

    def append(self, lines: Sequence[Line]) -> None:
        """Add `lines` at the bottom, trimming the oldest rows beyond `visible_limit`.

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

    def _insert(self, lines: Iterable[Line], found: str = "") -> None:
        # One Text insert call for the whole batch ("insert end chars tags chars tags ..."):
        # a Tcl round trip per segment made a 200-line batch cost tens of milliseconds.
        args: list[str | tuple[str, ...]] = []
        newline = self.text.compare("end-1c", "!=", "1.0")
        today = dt.date.today()
        last = self._last
        for line in lines:
            if newline:
                args += ["\n", ()]
            newline = True
            for seg in render(line, last, today):
                tags = seg.tags
                if line.ip and "name" in tags:
                    tags = (*tags, f"ip:{line.ip}")  # for the name's tooltip
                if line.msgid and line.sender_tag == "own":
                    tags = (*tags, f"mine:{line.msgid}")  # for the "Delete message" menu
                said = "body" in tags or ("row" in tags and "time" not in tags)
                if found and line.msgid == found and said:
                    tags = (*tags, "found")  # the text of the search hit shown (show())
                args += [seg.text, tags]
            last = line
        self._last = last
        if args:
            insert: Any = self.text.insert  # typeshed allows one chars/tags pair; Tk takes many
            insert("end", *args)

    def at_bottom(self) -> bool:
        """True when the newest line is in view (what is shown has been read)."""
        return self._at_bottom

    def own_msgid_at(self, index: str) -> str:
        """The msgid of our own message at `index` of the transcript ("" for any other row)."""
        for tag in self.text.tag_names(index):
            if tag.startswith("mine:"):
                return tag.removeprefix("mine:")
        return ""

    def _message_menu(self, event: tk.Event[tk.Text]) -> None:
        msgid = self.own_msgid_at(f"@{event.x},{event.y}")
        if not msgid:
            return
        self.menu.delete(0, "end")
        self.menu.add_command(label="Delete message", command=lambda: self._on_delete(msgid))
        self.menu.tk_popup(event.x_root, event.y_root)

    def mark_unread(self) -> None:
        """Draw the "New messages" line at the bottom (the next lines are unread)."""
        self.text.configure(state="normal")
        if self.text.compare("end-1c", "!=", "1.0"):
            self.text.insert("end", "\n")
        self.text.insert("end", "New messages", ("unread",))
        self.text.configure(state="disabled")
        if self._last is not None:  # the next message starts a new group under the marker
            self._last = self._last._replace(sender="")

    def clear_unread(self) -> None:
        """Remove the "New messages" line (the tab was read)."""
        ranges = self.text.tag_ranges("unread")
        if ranges:
            self.text.configure(state="normal")
            self.text.delete(f"{ranges[0]} linestart", f"{ranges[1]} lineend +1c")
            self.text.configure(state="disabled")

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

    def _select_all(self, _event: object) -> str:
        self.text.tag_add("sel", "1.0", "end-1c")
        return "break"

    def line_count(self) -> int:
        """Rows in the Text widget now."""
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
        """Show `topic` in the bar, shortened with "…" when it does not fit (the tooltip and
        `topic_text()` give it whole)."""
        self._topic = topic
        self._fit_topic()

    def topic_text(self) -> str:
        return self._topic

    def _topic_tooltip(self) -> str:
        return self._topic if str(self.topic.cget("text")) != self._topic else ""

    def _fit_topic(self) -> None:
        text = self._topic or "No topic. Set one with /topic"
        font = tkfont.nametofont("TkDefaultFont", root=self)
        room = self.topic.winfo_width() - 32  # the label's padding
        if room > 0 and font.measure(text) > room:
            lo, hi = 0, len(text)
            while lo < hi:  # the longest start that fits with "…"
                mid = (lo + hi + 1) // 2
                if font.measure(text[:mid] + "…") <= room:
                    lo = mid
                else:
                    hi = mid - 1
            text = text[:lo].rstrip() + "…"
        self.topic.configure(text=text)

    def set_members(self, rows: Sequence[MemberRow], *, can_moderate: bool = False) -> None:
        """Show the member list (see MemberList.set_members); nothing for a private tab."""
        if self.members is not None:
            self.members.set_members(rows, can_moderate=can_moderate)

    def member_rows(self) -> list[str]:
        """The member list's texts as shown, top to bottom."""
        return self.members.member_rows() if self.members is not None else []

    def _name_tooltip(self, x: int, y: int) -> str:
        index = self.text.index(f"@{x},{y}")
        for tag in self.text.tag_names(index):
            if tag.startswith("ip:"):
                return tag[3:]
        return ""

    def _click_url(self, event: tk.Event[tk.Text]) -> None:
        index = self.text.index(f"@{event.x},{event.y}")
        ranges = self.text.tag_prevrange("url", f"{index}+1c")
        if ranges:
            url = self.text.get(*ranges)
            self._open_url(url if "://" in url else "https://" + url)


class InputBar(ttk.Frame):
    """Tk thread only. The message box people type in: Enter sends, Shift+Enter starts a new
    line, Up/Down recall (from the top and bottom row), Tab completes.

    Args:
        master: parent widget.
        palette: the colours of the theme.
        on_send: called with the typed text (not blank, possibly several lines) when Enter
            is pressed.
        nicks: returns the nicks to complete in the current tab.
    """

    def __init__(
        self,
        master: tk.Misc,
        palette: Palette,
        on_send: Callable[[str], None],
        nicks: Callable[[], Sequence[str]],
    ) -> None:
        super().__init__(master, padding=(12, 8))
        self._on_send = on_send
        self._nicks = nicks
        self.history = InputHistory()
        self.completer = Completer()
        field = ttk.Frame(self)
        field.pack(side="left", fill="x", expand=True)
        scroll = ttk.Scrollbar(field, orient="vertical")
        self.entry = name(MessageBox(field, palette, scroll), "Message")
        self.entry.pack(side="left", fill="both", expand=True)
        self.send_button = ttk.Button(
            self, text="Send", style="Accent.TButton", command=self.submit
        )
        self.send_button.pack(side="left", anchor="s", padx=(6, 0))
        self.entry.bind("<Return>", self._on_return)
        self.entry.bind("<KP_Enter>", self._on_return)
        self.entry.bind("<Up>", self._on_up)
        self.entry.bind("<Down>", self._on_down)
        self.entry.bind("<Tab>", self._on_tab)
        self.entry.bind("<Key>", self._on_other_key, add="+")

    def apply_palette(self, pal: Palette) -> None:
        """Colour the message box (see MessageBox.apply_palette)."""
        self.entry.apply_palette(pal)

    def submit(self) -> None:
        """Send the typed text (Enter or the Send button); blank text is ignored."""
        text = self.entry.get_text()
        if not text.strip():
            return
        self.history.push(text)
        self.entry.set_text("")
        self._on_send(text)

    def _on_return(self, _event: tk.Event[tk.Text]) -> str:
        self.submit()
        return "break"

    def _on_up(self, _event: tk.Event[tk.Text]) -> str | None:
        if not self.entry.on_first_row():
            return None  # Tk moves the cursor up a row
        self.entry.set_text(self.history.up(self.entry.get_text()))
        return "break"

    def _on_down(self, _event: tk.Event[tk.Text]) -> str | None:
        if not self.entry.on_last_row():
            return None
        self.entry.set_text(self.history.down(self.entry.get_text()))
        return "break"

    def _on_tab(self, _event: tk.Event[tk.Text]) -> str:
        line, cursor = self.completer.complete(
            self.entry.get_text(), self.entry.cursor(), self._nicks()
        )
        self.entry.set_text(line, cursor)
        return "break"  # keep the focus in the box (a Text would insert a tab)

    def _on_other_key(self, event: tk.Event[tk.Text]) -> None:
        if event.keysym not in ("Tab", "Shift_L", "Shift_R"):
            self.completer.reset()
