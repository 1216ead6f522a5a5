"""The member list of a room tab: who is here, in their nick colours, with a menu.

Layer: GUI (Tk main thread only); imports tkinter and lanchat.gui.{viewmodel,theme,tooltip}.
The rows come ordered, marked and coloured from the view-model (viewmodel.MemberRow); this
widget adds what people expect of a chat app's member list (issue #15): a tooltip with the
member's address, double-click (or Enter) for a private chat, and a right-click menu with
message and whois, plus op, kick and ban for a room operator.
"""

from __future__ import annotations

import functools
import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk

from lanchat.gui.access import name
from lanchat.gui.theme import Palette
from lanchat.gui.tooltip import Tooltip
from lanchat.gui.viewmodel import MemberRow

__all__ = ["MEMBER_ACTIONS", "MemberList"]

# The right-click menu: (action, label, operators only)
MEMBER_ACTIONS = (
    ("message", "Message", False),
    ("whois", "Who is this?", False),
    ("op", "Make operator", True),
    ("kick", "Remove from room", True),
    ("ban", "Ban from room", True),
)


class MemberList(ttk.Frame):
    """Tk thread only. "N here" above the list of members.

    Args:
        master: parent widget.
        on_member: called with (action, nick) for an action of MEMBER_ACTIONS.
    """

    def __init__(self, master: tk.Misc, on_member: Callable[[str, str], None]) -> None:
        super().__init__(master, style="Chat.TFrame", padding=(0, 4, 0, 0))
        self._on_member = on_member
        self._member_rows: list[MemberRow] = []  # as shown, top to bottom
        self._can_moderate = False  # we are an operator of the room: kick/ban/op offered
        self.member_count = ttk.Label(self, text="", style="Count.TLabel", padding=(12, 4))
        self.member_count.pack(fill="x")
        self.tree = ttk.Treeview(
            self, show="tree", selectmode="browse", style="Members.Treeview", height=1
        )
        name(self.tree, "People in this room")
        self.tree.column("#0", width=170, stretch=True)
        self.tree.pack(fill="both", expand=True)
        # the empty state, written inside the list (we left, or the connection is down)
        self.empty = ttk.Label(
            self.tree, text="Nobody listed\nwhile you are\nnot in the room", style="Empty.TLabel",
            justify="center",
        )  # fmt: skip
        self.tree.bind("<Double-1>", self._member_double_click)
        self.tree.bind("<Return>", lambda _e: self.act("message"))
        self.tree.bind("<Button-3>", self._member_menu)
        self.tree.bind("<Shift-F10>", self._member_menu)
        self.tooltip = Tooltip(self.tree, self._member_tooltip)
        self.menu = tk.Menu(self, tearoff=False)

    def apply_palette(self, pal: Palette) -> None:
        """Colour the rows by their tags (the nick colours of the transcript)."""
        for i, colour in enumerate(pal.nicks):
            self.tree.tag_configure(f"nick{i}", foreground=colour)
        self.tree.tag_configure("own", foreground=pal.own)
        self.tree.tag_configure("away", foreground=pal.muted)

    def set_members(self, rows: Sequence[MemberRow], *, can_moderate: bool = False) -> None:
        """Show the member list (rows already ordered, marked and coloured by the view-model).

        Args:
            rows: the members, top to bottom.
            can_moderate: we are an operator: the menu offers kick, ban and op.
        """
        self.tree.delete(*self.tree.get_children())
        for i, row in enumerate(rows):
            self.tree.insert("", "end", iid=str(i), text=row.text, tags=(row.tag,))
        self._member_rows = list(rows)
        self._can_moderate = can_moderate
        self.member_count.configure(text=f"{len(rows)} here" if rows else "")
        if rows:
            self.empty.place_forget()
        else:
            self.empty.place(relx=0.5, y=24, anchor="n")

    def empty_text(self) -> str:
        """What the list says inside it when it is empty ("" when it lists people)."""
        return str(self.empty.cget("text")) if self.empty.winfo_manager() else ""

    def member_rows(self) -> list[str]:
        """The member list's texts as shown, top to bottom."""
        return [row.text for row in self._member_rows]

    def member_tags(self) -> list[str]:
        """The colour tag of each shown row, top to bottom."""
        return [str(self.tree.item(i, "tags")[0]) for i in self.tree.get_children()]

    def member_menu_labels(self) -> list[str]:
        """The labels the member menu offers now."""
        return [label for _a, label, ops in MEMBER_ACTIONS if self._can_moderate or not ops]

    def _member_at(self, y: int) -> MemberRow | None:
        iid = self.tree.identify_row(y)
        return self._member_rows[int(iid)] if iid else None

    def _member_tooltip(self, _x: int, y: int) -> str:
        row = self._member_at(y)
        return self.tooltip_text_for(self._member_rows.index(row)) if row is not None else ""

    def tooltip_text_for(self, index: int) -> str:
        """What the tooltip of row `index` says: "bob · 10.0.0.7" (the nick alone when the
        address is unknown)."""
        row = self._member_rows[index]
        return f"{row.nick} · {row.ip}" if row.ip else row.nick

    def _member_double_click(self, event: tk.Event[ttk.Treeview]) -> None:
        row = self._member_at(event.y)
        if row is not None and row.tag != "own":
            self._on_member("message", row.nick)

    def _member_menu(self, event: tk.Event[ttk.Treeview]) -> None:
        row = self._member_at(event.y) if event.y else self.selected_member()
        if row is None:
            return
        self.tree.selection_set(str(self._member_rows.index(row)))
        self.menu.delete(0, "end")
        for action, label, ops in MEMBER_ACTIONS:
            if self._can_moderate or not ops:
                self.menu.add_command(label=label, command=functools.partial(self.act, action))
        self.menu.tk_popup(event.x_root, event.y_root)

    def selected_member(self) -> MemberRow | None:
        """The member selected in the list, or None."""
        if not self.tree.selection():
            return None
        return self._member_rows[int(self.tree.selection()[0])]

    def act(self, action: str) -> None:
        """Carry out `action` (of MEMBER_ACTIONS) on the selected member."""
        row = self.selected_member()
        if row is not None:
            self._on_member(action, row.nick)
