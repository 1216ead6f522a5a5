"""The start page: the rooms found on the LAN, and connecting by address, on one page.

Layer: GUI (Tk main thread only); imports tkinter and lanchat.gui.{viewmodel,dialogs,theme}.
The room list mirrors a viewmodel.RoomListModel in a Treeview, row id = the room list entry's
key (the DNS-SD instance, or the cluster id and room of a clustered room, issue 20), so an
update or removal touches exactly one row however often the LAN changes; what the list
would say when empty is written inside it. The manual form (`ConnectPage`) opens under the
list from "Connect by address…" instead of being a tab of its own (issue #15). The checks of
the manual form live in lanchat.gui.dialogs.

`RoomsPage.help_bar` (left of the footer) is where buttons that help find rooms go, such as
"Why can't I see anyone?" (lanchat.gui's diagnostics, added by its own module).
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import ttk

from lanchat.discovery.events import RoomEvent
from lanchat.gui.access import name
from lanchat.gui.diagnose import DiagnosisButton
from lanchat.gui.dialogs import (
    DEFAULT_PORT,
    ConnectRequest,
    InputProblem,
    check_nick,
    validate_connect,
)
from lanchat.gui.viewmodel import RoomListModel, RoomRow

__all__ = ["ConnectPage", "RoomsPage"]

_COLUMNS = (("room", "Room", 170), ("host", "Host", 150), ("users", "People", 70),
            ("topic", "Topic", 300), ("address", "Address", 150))  # fmt: skip
_EMPTY = "Looking for rooms on your network…\nStart one with the launcher, or connect by address."
_JOINED = "✓ "  # marks the rooms we are in


class RoomsPage(ttk.Frame):
    """Tk thread only. Nickname field, the live list of rooms, Join, and connecting by address.

    Args:
        master: parent widget.
        nick: the remembered nickname.
        recent: recent "host:port" addresses for the manual form, newest first.
        on_join: called with (row, nick) when a room is chosen and the nick is valid.
        on_connect: called with the checked manual form.
    """

    def __init__(
        self,
        master: tk.Misc,
        nick: str,
        recent: Sequence[str],
        on_join: Callable[[RoomRow, str], None],
        on_connect: Callable[[ConnectRequest], None],
    ) -> None:
        super().__init__(master, padding=(20, 16))
        self.model = RoomListModel()
        self._on_join = on_join
        self._joined: set[str] = set()  # instances of the rooms we are in (marked ✓)
        head = ttk.Frame(self)
        head.pack(fill="x")
        ttk.Label(head, text="Rooms on your network", style="Title.TLabel").pack(side="left")
        self.manual_button = ttk.Button(
            head, text="Connect by address…", command=self.toggle_manual
        )
        self.manual_button.pack(side="right")
        self.diagnose_button = DiagnosisButton(head)  # "Why can't I see anyone?" (issue #15)
        self.diagnose_button.pack(side="right", padx=(0, 8))
        nick_row = ttk.Frame(self)
        nick_row.pack(fill="x", pady=(12, 8))
        ttk.Label(nick_row, text="Your nickname").pack(side="left")
        self.nick = tk.StringVar(self, nick)
        self.nick_entry = name(
            ttk.Entry(nick_row, textvariable=self.nick, width=24), "Your nickname"
        )
        self.nick_entry.pack(side="left", padx=8)
        self.problem = ttk.Label(nick_row, text="", style="Error.TLabel")
        self.problem.pack(side="left")
        # The footer (and the manual form under it) are packed from the bottom before the
        # table, so they keep their size and the table takes what is left.
        foot = ttk.Frame(self)
        foot.pack(side="bottom", fill="x", pady=(10, 0))
        self._foot = foot
        table = ttk.Frame(self)
        table.pack(fill="both", expand=True)
        self.tree = ttk.Treeview(
            table,
            columns=[c[0] for c in _COLUMNS],
            show="headings",
            selectmode="browse",
            height=4,
        )
        name(self.tree, "Rooms on your network")
        for column, title, width in _COLUMNS:
            self.tree.heading(column, text=title, anchor="w")
            self.tree.column(column, width=width, anchor="w", stretch=column == "topic")
        scroll = ttk.Scrollbar(table, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=scroll.set)
        scroll.pack(side="right", fill="y")
        self.tree.pack(side="left", fill="both", expand=True)
        # the empty state, written inside the table
        self.empty = ttk.Label(self.tree, text=_EMPTY, style="Empty.TLabel", justify="center")
        self.empty.place(relx=0.5, rely=0.45, anchor="center")
        # buttons that help find rooms ("Why can't I see anyone?") are packed in here
        self.help_bar = ttk.Frame(foot)
        self.help_bar.pack(side="left")
        self.status = ttk.Label(foot, text="", style="Muted.TLabel")
        self.status.pack(side="left", padx=(8, 0))
        self.join_button = ttk.Button(
            foot, text="Join", style="Accent.TButton", command=self.join_selected
        )
        self.join_button.pack(side="right")
        # shown while a room is being joined: "Connecting to #party…" and a busy bar
        self.progress = ttk.Progressbar(foot, mode="indeterminate", length=120)
        self.tree.bind("<Double-1>", lambda _e: self.join_selected())
        self.tree.bind("<Return>", lambda _e: self.join_selected())
        self.connect_form = ConnectPage(self, nick, recent, on_connect)

    def apply(self, event: RoomEvent) -> list[RoomRow]:
        """A room appeared, changed or left: add, refresh (keeping the sort order) or drop its
        row. A clustered room is one row; a node of it leaving only changes that row.

        Returns:
            The rows dropped (their room is gone from the LAN).
        """
        removed = []
        for change, row in self.model.apply(event):
            instance = row.instance
            if change == "added":
                index = self.model.index_of(instance)
                self.tree.insert("", index, iid=instance, values=self._values(row))
            elif change == "updated":
                self.tree.item(instance, values=self._values(row))
                self.tree.move(instance, "", self.model.index_of(instance))
            elif change == "removed":
                self.tree.delete(instance)
                removed.append(row)
        self._update_status()
        return removed

    def set_joined(self, instance: str, joined: bool) -> None:
        """Mark (or unmark) the room of row `instance` as one we are in."""
        if joined:
            self._joined.add(instance)
        else:
            self._joined.discard(instance)
        row = self.model.rows.get(instance)
        if row is not None:
            self.tree.item(instance, values=self._values(row))

    def _values(self, row: RoomRow) -> tuple[str, ...]:
        values = row.values()
        mark = _JOINED if row.instance in self._joined else ""
        return (mark + values[0], *values[1:])

    def busy(self, text: str) -> None:
        """Show progress ("Connecting to #party…"); "" hides it."""
        self.status.configure(text=text, style="Muted.TLabel")
        if text and not self.progress.winfo_manager():
            self.progress.pack(side="right", padx=8)
            self.progress.start(15)
        elif not text:
            self.progress.stop()
            self.progress.pack_forget()
            self._update_status()

    def toggle_manual(self) -> None:
        """Open (or close) the "Connect by address" form under the list."""
        if self.connect_form.winfo_manager():
            self.connect_form.pack_forget()
        else:
            self.connect_form.pack(side="bottom", fill="x", pady=(16, 0), before=self._foot)
            self.connect_form.host_box.focus_set()

    def shown_rows(self) -> list[tuple[str, ...]]:
        """The Treeview's rows, top to bottom, as displayed."""
        return [
            tuple(str(v) for v in self.tree.item(i, "values")) for i in self.tree.get_children()
        ]

    def select(self, instance: str) -> None:
        self.tree.selection_set(instance)
        self.tree.focus(instance)

    def join_selected(self) -> None:
        """Join the selected room with the typed nickname (or say what is missing)."""
        chosen = self.tree.selection()
        try:
            nick = check_nick(self.nick.get())
        except InputProblem as e:
            self.problem.configure(text=str(e))
            self.nick_entry.focus_set()
            return
        self.problem.configure(text="")
        if not chosen:
            self.status.configure(text="Pick a room in the list first, then press Join.")
            return
        self._on_join(self.model.rows[chosen[0]], nick)

    def show_problem(self, text: str) -> None:
        """Say why the list stays empty (e.g. mDNS could not start) and what to do instead."""
        self.status.configure(text=text, style="Error.TLabel")
        self.empty.configure(text="Rooms cannot be listed here.\nConnect by address instead.")

    def _update_status(self) -> None:
        n = len(self.model.rows)
        if n:
            self.empty.place_forget()
        elif not self.empty.winfo_manager():
            self.empty.place(relx=0.5, rely=0.45, anchor="center")
        if self.progress.winfo_manager():
            return  # "Connecting to …" stays until the join is done
        text = f"{n} room{'s' if n != 1 else ''} found. Double-click to join." if n else ""
        self.status.configure(text=text, style="Muted.TLabel")

    def empty_text(self) -> str:
        """What the table says inside it when it is empty ("" when it lists rooms)."""
        return str(self.empty.cget("text")) if self.empty.winfo_manager() else ""


class ConnectPage(ttk.Frame):
    """Tk thread only. Host, port, nickname, optional password and room; Connect (the form
    under the room list).

    Args:
        master: parent widget.
        nick: the remembered nickname.
        recent: recent "host:port" addresses, newest first (offered in the host box).
        on_connect: called with the checked request.
    """

    def __init__(
        self,
        master: tk.Misc,
        nick: str,
        recent: Sequence[str],
        on_connect: Callable[[ConnectRequest], None],
    ) -> None:
        super().__init__(master, padding=0)
        self._on_connect = on_connect
        ttk.Label(self, text="Connect by address", style="Subtitle.TLabel").grid(
            row=0, column=0, columnspan=2, sticky="w", pady=(0, 4)
        )
        ttk.Label(
            self,
            text="For rooms that are not listed (another network, or mDNS blocked). "
            "Any IRC server works too.",
            style="Muted.TLabel",
        ).grid(row=1, column=0, columnspan=2, sticky="w", pady=(0, 12))
        self.host = tk.StringVar(self, recent[0].rpartition(":")[0] if recent else "")
        self.port = tk.StringVar(self, recent[0].rpartition(":")[2] if recent else "")
        self.nick = tk.StringVar(self, nick)
        self.password = tk.StringVar(self)
        self.room = tk.StringVar(self, "#lobby")
        self.host_box = ttk.Combobox(self, textvariable=self.host, values=list(recent), width=30)
        self.host_box.bind("<<ComboboxSelected>>", self._recent_chosen)
        # two fields a row (label, field, label, field): the form fits under the room list
        fields: list[tuple[str, str, tk.Widget]] = [
            ("Host or address", "Host or address", self.host_box),
            (f"Port (empty: {DEFAULT_PORT})", "Port", ttk.Entry(self, textvariable=self.port,
                                                               width=8)),
            ("Nickname", "Nickname", ttk.Entry(self, textvariable=self.nick, width=24)),
            ("Server password", "Server password",
             ttk.Entry(self, textvariable=self.password, show="•", width=24)),
            ("Room", "Room", ttk.Entry(self, textvariable=self.room, width=24)),
        ]  # fmt: skip
        for i, (label, accessible, widget) in enumerate(fields):
            name(widget, accessible)
            row, col = 2 + i // 2, 2 * (i % 2)
            ttk.Label(self, text=label).grid(row=row, column=col, sticky="w", padx=(0, 12), pady=4)
            widget.grid(row=row, column=col + 1, sticky="w", padx=(0, 24), pady=4)
            widget.bind("<Return>", lambda _e: self.submit())
        self.connect_button = ttk.Button(
            self, text="Connect", style="Accent.TButton", command=self.submit
        )
        self.connect_button.grid(row=4, column=3, sticky="e", pady=4)
        self.problem = ttk.Label(self, text="", style="Error.TLabel", wraplength=720)
        self.problem.grid(row=5, column=0, columnspan=4, sticky="w", pady=(4, 0))
        self.columnconfigure(3, weight=1)

    def submit(self) -> None:
        """Check the form; show the first problem, or hand the request on."""
        try:
            request = validate_connect(
                self.host.get(),
                self.port.get(),
                self.nick.get(),
                self.password.get(),
                self.room.get(),
            )
        except InputProblem as e:
            self.problem.configure(text=str(e))
            return
        self.problem.configure(text="")
        self._on_connect(request)

    def set_recent(self, recent: Sequence[str]) -> None:
        self.host_box.configure(values=list(recent))

    def _recent_chosen(self, _event: object) -> None:
        host, _, port = self.host.get().rpartition(":")
        if host:
            self.host.set(host)
            self.port.set(port)
