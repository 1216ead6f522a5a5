"""The launcher (`lanchat`, `lanchat launcher`): a small window that hosts rooms and opens chat.

Layer: launcher UI (Tk main thread only); imports tkinter, lanchat.launcher.supervisor,
lanchat.gui.pump / theme / viewmodel (the shared after() loop, look and room rows),
lanchat.gui.diagnose ("Why can't I see anyone?"), lanchat.gui.dialogs (Join's --connect
arguments), lanchat.launcher.tray and, in `run()`, the discovery BrowserThread. Spec: lanchat
issues #3 ("The launcher") and #15 (the tray icon).

Nothing here waits on a child process or the network in a Tk callback: the supervisor's and
the browser's events arrive on queues drained with after(), like the chat window's. Quitting
with rooms still hosted asks first (in the window, not a modal box) and then stops them
cleanly: each server notifies its clients and withdraws its mDNS records.
"""

from __future__ import annotations

import logging
import queue
import socket
import subprocess
import sys
import tkinter as tk
from collections.abc import Callable, Sequence
from functools import partial
from tkinter import ttk
from typing import Any

from lanchat.discovery.events import RoomAdded, RoomRemoved, RoomUpdated
from lanchat.errors import LanchatError
from lanchat.gui.access import name
from lanchat.gui.diagnose import DiagnosisButton
from lanchat.gui.dialogs import connect_argument
from lanchat.gui.pump import Pump
from lanchat.gui.theme import apply_theme
from lanchat.gui.viewmodel import RoomListModel, RoomRow
from lanchat.launcher.files import SharedFilesPanel
from lanchat.launcher.fingerprints import FingerprintPanel
from lanchat.launcher.supervisor import (
    HostedRoom,
    RoomFailed,
    RoomReady,
    RoomStopped,
    Supervisor,
)
from lanchat.launcher.tray import LABELS, MENU, TrayIcon, tray_problem
from lanchat.launcher.webpage import WebPagePanel
from lanchat.protocol import casefold

__all__ = ["LauncherApp", "open_chat", "run"]

EXIT_OK = 0

log = logging.getLogger(__name__)


def open_chat(args: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """Start a chat window as its own process (`python -m lanchat chat ARGS`); return it.

    A separate process keeps each window's Tk and network thread independent of the
    launcher, so closing a chat window never stops the rooms hosted here.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "lanchat", "chat", *args],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


class LauncherApp:
    """Tk thread only. Start a room, the rooms hosted here (Stop), rooms on the LAN (Join).

    Args:
        root: the Tk root.
        supervisor: starts and stops the `lanchat serve` children.
        room_events: discovery events (RoomAdded/Updated/Removed), fed by a BrowserThread.
        open_chat: opens a chat window with the given `lanchat chat` arguments.
        host_label: how this machine is named in join addresses.
        theme: "light" or "dark".
        poll_ms: delay between queue checks.
    """

    def __init__(
        self,
        root: tk.Tk,
        supervisor: Supervisor,
        room_events: queue.SimpleQueue[Any],
        *,
        open_chat: Callable[[Sequence[str]], object] = open_chat,
        host_label: str | None = None,
        theme: str = "light",
        poll_ms: int = 100,
    ) -> None:
        self.root = root
        self.supervisor = supervisor
        self.room_events = room_events
        self._open_chat = open_chat
        self.host_label = host_label or socket.gethostname()
        self.poll_ms = poll_ms
        self.lan = RoomListModel()  # rooms discovered on the LAN
        self._rows: dict[str, HostedRoom] = {}  # Treeview iid → hosted room
        self.tray: TrayIcon | None = None  # the system tray icon, where the desktop has one
        self.tray_actions: queue.SimpleQueue[str] = queue.SimpleQueue()  # its menu choices
        self.pump = Pump(root, self.poll)  # runs poll() with after() until quit()
        self.palette = apply_theme(root, theme)
        root.title("lanchat launcher")
        root.geometry("640x780")
        root.minsize(460, 480)
        self._build()
        root.protocol("WM_DELETE_WINDOW", self.close_window)

    def _build(self) -> None:
        outer = ttk.Frame(self.root, padding=14)
        outer.pack(fill="both", expand=True)
        head = ttk.Frame(outer)
        head.pack(fill="x")
        self._top = head  # the first widget packed: bottom rows are packed before it
        ttk.Label(head, text="lanchat", style="Title.TLabel").pack(side="left")
        self.open_button = ttk.Button(
            head, text="Open chat", style="Accent.TButton", command=lambda: self._open_chat(())
        )
        self.open_button.pack(side="right")

        start = ttk.LabelFrame(outer, text="Start a room", padding=10)
        start.pack(fill="x", pady=(12, 8))
        self.room = tk.StringVar(self.root, "#lobby")
        self.key = tk.StringVar(self.root)
        self.port = tk.StringVar(self.root)
        for col, (label, var, width, show) in enumerate(
            [
                ("Room", self.room, 16, ""),
                ("Key (optional)", self.key, 12, "•"),
                ("Port (optional)", self.port, 7, ""),
            ]
        ):
            ttk.Label(start, text=label, style="Muted.TLabel").grid(row=0, column=col, sticky="w")
            entry = name(ttk.Entry(start, textvariable=var, width=width, show=show), label)
            entry.grid(row=1, column=col, sticky="we", padx=(0, 8))
            entry.bind("<Return>", lambda _e: self.start_room())
        self.start_button = ttk.Button(
            start, text="Start", style="Accent.TButton", command=self.start_room
        )
        self.start_button.grid(row=1, column=3, sticky="e")
        start.columnconfigure(0, weight=1)
        self.problem = ttk.Label(start, text="", style="Error.TLabel", wraplength=480)
        self.problem.grid(row=2, column=0, columnspan=4, sticky="w", pady=(6, 0))

        ttk.Label(outer, text="Hosted on this computer").pack(anchor="w", pady=(8, 2))
        hosted = ttk.Frame(outer)
        hosted.pack(fill="both", expand=True)
        self.hosted_tree = _tree(
            hosted,
            (
                ("room", "Room", 110),
                ("address", "Join address", 170),
                ("users", "People", 60),
                ("state", "State", 80),
            ),
            height=4,
        )
        name(self.hosted_tree, "Hosted on this computer")
        self.stop_button = ttk.Button(hosted, text="Stop", command=self.stop_selected)
        self.stop_button.pack(side="right", anchor="n", padx=(8, 0))
        self.hosted_tree.pack(side="left", fill="both", expand=True)
        self.hosted_tree.bind("<<TreeviewSelect>>", lambda _e: self._show_web_page())
        self.web_page = WebPagePanel(outer)
        self.web_page.frame.pack(fill="x", pady=(8, 0))
        # Each room's certificate fingerprint, for people joining over TLS to compare by eye
        # with what their chat window shows (issue #17).
        self.fingerprints = FingerprintPanel(outer)
        self.fingerprints.frame.pack(fill="x")
        # The disk the rooms' shared files use, and Clear (issue 21).
        self.shared_files = SharedFilesPanel(outer, self.supervisor.data_root)
        self.shared_files.frame.pack(fill="x", pady=(6, 0))

        lan_head = ttk.Frame(outer)
        lan_head.pack(fill="x", pady=(12, 2))
        ttk.Label(lan_head, text="Rooms on your network").pack(side="left", anchor="s")
        self.diagnose_button = DiagnosisButton(lan_head)
        self.diagnose_button.pack(side="right")
        lan = ttk.Frame(outer)
        lan.pack(fill="both", expand=True)
        self.lan_tree = _tree(
            lan, (("room", "Room", 110), ("host", "Host", 150), ("users", "People", 60)), height=5
        )
        name(self.lan_tree, "Rooms on your network")
        self.join_button = ttk.Button(lan, text="Join", command=self.join_selected)
        self.join_button.pack(side="right", anchor="n", padx=(8, 0))
        self.lan_tree.pack(side="left", fill="both", expand=True)
        self.lan_tree.bind("<Double-1>", lambda _e: self.join_selected())
        for tree in (self.hosted_tree, self.lan_tree):
            tree.bind("<<TreeviewSelect>>", lambda _e: self._update_buttons())
        self._update_buttons()

        # The quit question: its own line across the window, its buttons below. Packed (when
        # shown) before the lists, which expand, so the packer gives it its full height first.
        self.confirm = ttk.Frame(outer, padding=(0, 8, 0, 0))
        self.confirm_text = ttk.Label(self.confirm, text="", wraplength=580)
        self.confirm_text.pack(side="top", anchor="w", fill="x")
        self.confirm.bind(
            "<Configure>", lambda e: self.confirm_text.configure(wraplength=max(e.width, 200))
        )
        confirm_buttons = ttk.Frame(self.confirm)
        confirm_buttons.pack(side="top", fill="x", pady=(6, 0))
        self.keep_button = ttk.Button(confirm_buttons, text="Keep running", command=self._keep)
        self.keep_button.pack(side="right")
        self.quit_button = ttk.Button(
            confirm_buttons, text="Stop rooms and quit", style="Accent.TButton", command=self.quit
        )
        self.quit_button.pack(side="right", padx=6)
        self.status = ttk.Label(outer, text="", style="Muted.TLabel")
        self.status.pack(anchor="w", side="bottom", pady=(8, 0), before=self._top)
        # The tray icon's menu on X11, where pystray has none of its own (lanchat.launcher.tray)
        self.tray_menu = tk.Menu(self.root, tearoff=False)
        for action, label in LABELS.items():
            if action == "quit":
                self.tray_menu.add_separator()
            self.tray_menu.add_command(label=label, command=partial(self.handle_tray, action))

    def _update_buttons(self) -> None:
        """Join and Stop act on the selected row: enabled only while there is one."""
        for tree, button in (
            (self.hosted_tree, self.stop_button),
            (self.lan_tree, self.join_button),
        ):
            button.state(["!disabled"] if tree.selection() else ["disabled"])

    # ------------------------------------------------------------------ polling

    def start(self) -> None:
        """Begin polling the supervisor and the room browser."""
        self.pump.start()
        self.shared_files.refresh()

    def poll(self) -> int:
        """Apply supervisor and discovery events.

        Returns:
            The delay in ms before the next poll (poll_ms).
        """
        while True:
            try:
                self.handle_supervisor(self.supervisor.events.get_nowait())
            except queue.Empty:
                break
        for _ in range(200):
            try:
                self.handle_room_event(self.room_events.get_nowait())
            except queue.Empty:
                break
        while True:
            try:
                self.handle_tray(self.tray_actions.get_nowait())
            except queue.Empty:
                break
        return self.poll_ms

    def handle_tray(self, action: str) -> None:
        """A choice in the tray icon's menu (or, on X11, a click on the icon: MENU)."""
        if action == MENU:
            x, y = self.root.winfo_pointerxy()
            self.tray_menu.tk_popup(x, y)
        elif action == "show":
            self.show_window()
        elif action == "start":
            self.start_room()
            if self.problem.cget("text"):
                self.show_window()  # the problem is said in the window
        elif action == "chat":
            self._open_chat(())
        elif action == "quit":
            self.request_quit()

    def handle_supervisor(self, event: RoomReady | RoomFailed | RoomStopped) -> None:
        h = event.hosted
        if isinstance(event, RoomReady):
            self.status.configure(text=f"{h.room} is open at {h.join_address(self.host_label)}.")
            self.web_page.show(h.room, next(iter(h.web_urls()), ""))
        elif isinstance(event, RoomFailed):
            self.problem.configure(text=event.reason)
        elif not event.expected:
            self.problem.configure(
                text=f"{h.room} stopped on its own (exit status {event.exit_code}): "
                f"{h.error_line()}. Start it again to reopen it."
            )
        else:
            self.status.configure(text=f"{h.room} is closed.")
        if not isinstance(event, RoomReady) and self.web_page.url in h.web_urls():
            self.web_page.show("", "")
        self._refresh_hosted()

    def handle_room_event(self, event: object) -> None:
        if not isinstance(event, RoomAdded | RoomUpdated | RoomRemoved):
            return
        # One row per room: a clustered room's nodes share it (issue 20).
        for change, row in self.lan.apply(event):
            values = (row.room + (" \N{LOCK}" if row.locked else ""), row.host, str(row.users))
            if change == "removed" and self.lan_tree.exists(row.instance):
                self.lan_tree.delete(row.instance)
            elif change == "added":
                index = self.lan.index_of(row.instance)
                self.lan_tree.insert("", index, iid=row.instance, values=values)
            elif change == "updated":
                self.lan_tree.item(row.instance, values=values)
        self._refresh_hosted()

    def _refresh_hosted(self) -> None:
        hosted = self.supervisor.hosted()
        live = {f"h{id(h)}": h for h in hosted}
        for iid in self.hosted_tree.get_children():
            if iid not in live:
                self.hosted_tree.delete(iid)
        for i, (iid, h) in enumerate(live.items()):
            values = (h.room, h.join_address(self.host_label), self._users(h), h.state)
            if self.hosted_tree.exists(iid):
                self.hosted_tree.item(iid, values=values)
            else:
                self.hosted_tree.insert("", i, iid=iid, values=values)
        self._rows = live
        self.fingerprints.show([(h.room, h.fingerprint) for h in hosted if h.fingerprint])
        self._update_buttons()  # a selected row may just have gone

    def _show_web_page(self) -> None:
        for iid in self.hosted_tree.selection():
            h = self._rows.get(iid)
            if h is not None:
                self.web_page.show(h.room, next(iter(h.web_urls()), ""))

    def _users(self, h: HostedRoom) -> str:
        # The count comes from the room's own advertisement: the launcher asks nothing of
        # the server directly.
        for row in self.lan.rows.values():
            if row.port == h.port and casefold(row.room) == casefold(h.room):
                return str(row.users)
        return "-"

    # ------------------------------------------------------------------ actions

    def start_room(self) -> None:
        """Check the "Start a room" fields and start hosting (the result arrives by poll)."""
        try:
            room, port = self.supervisor.validate(self.room.get(), self.port.get())
            self.supervisor.start(room, key=self.key.get().strip(), port=port)
        except LanchatError as e:
            self.problem.configure(text=str(e))
            return
        self.problem.configure(text="")
        self.status.configure(text=f"Starting {room}…")
        self._refresh_hosted()

    def select_hosted(self, room: str) -> None:
        """Select the hosted row of `room` (as a click would)."""
        key = casefold(room)
        for iid, h in self._rows.items():
            if casefold(h.room) == key:
                self.hosted_tree.selection_set(iid)
        self._update_buttons()  # at once: <<TreeviewSelect>> comes only with the event loop

    def stop_selected(self) -> None:
        for iid in self.hosted_tree.selection():
            h = self._rows.get(iid)
            if h is not None:
                self.supervisor.stop(h)
                self.status.configure(text=f"Stopping {h.room}…")
        self._refresh_hosted()

    def join_selected(self) -> None:
        """Open a chat window joined to the selected LAN room."""
        chosen = self.lan_tree.selection()
        if not chosen:
            self.status.configure(text="Pick a room in the list first.")
            return
        row: RoomRow = self.lan.rows[chosen[0]]
        # Each node as the Rooms page connects to it (RoomRow.endpoints): the address it shows
        # first, then a clustered room's other nodes, which the chat window moves to when the
        # one it uses does not answer (issue 20); over TLS with the advertised fingerprint
        # and pin when the room offers TLS (issue #17).
        connects = [
            arg for node in row.endpoints() for arg in ("--connect", connect_argument(node))
        ]
        self._open_chat([*connects, "--join", row.room])

    def hosted_rows(self) -> list[tuple[str, ...]]:
        return _rows(self.hosted_tree)

    def lan_rows(self) -> list[tuple[str, ...]]:
        return _rows(self.lan_tree)

    # ------------------------------------------------------------------ quitting

    def show_window(self) -> None:
        self.root.deiconify()
        self.root.lift()

    def close_window(self) -> None:
        """The window's close button: with a tray icon and rooms hosted, the window only hides
        (the rooms keep running, the icon brings it back); otherwise as request_quit()."""
        if self.tray is not None and self.supervisor.hosted():
            self.root.withdraw()
        else:
            self.request_quit()

    def request_quit(self) -> None:
        """Quit at once, or ask first (in the window) when rooms are still hosted here."""
        hosted = self.supervisor.hosted()
        if not hosted:
            self.quit()
            return
        self.show_window()
        names = ", ".join(h.room for h in hosted)
        self.confirm_text.configure(
            text=f"{names} {'is' if len(hosted) == 1 else 'are'} hosted here. Quitting stops "
            "them and disconnects everyone in them."
        )
        self.confirm.pack(side="bottom", fill="x", after=self.status)

    def _keep(self) -> None:
        self.confirm.pack_forget()

    def quit(self) -> None:
        """Stop every hosted room cleanly, remove the tray icon, then close the window."""
        self.shared_files.close()
        self.pump.close(self._shut_down)

    def _shut_down(self) -> None:
        if self.tray is not None:
            self.tray.stop()
        self.supervisor.stop_all()


def _tree(master: tk.Misc, columns: Sequence[tuple[str, str, int]], height: int) -> ttk.Treeview:
    tree = ttk.Treeview(
        master, columns=[c[0] for c in columns], show="headings", height=height,
        selectmode="browse",
    )  # fmt: skip
    for column, title, width in columns:
        tree.heading(column, text=title, anchor="w")
        tree.column(column, width=width, anchor="w", stretch=True)
    return tree


def _rows(tree: ttk.Treeview) -> list[tuple[str, ...]]:
    return [tuple(map(str, tree.item(i, "values"))) for i in tree.get_children()]


def run() -> int:
    """Open the launcher and run until it is closed (`lanchat`, `lanchat launcher`).

    Returns:
        The exit status (0).

    Raises:
        ConfigError: there is no display to open the window on.
    """
    from lanchat.discovery.browser import BrowserThread
    from lanchat.errors import ConfigError
    from lanchat.gui import settings as settings_mod

    try:
        root = tk.Tk(className="lanchat")
    except tk.TclError as e:
        raise ConfigError(
            f"cannot open a window ({e}); use `lanchat serve` to host a room without a desktop"
        ) from None
    room_events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    browser = BrowserThread(room_events.put)
    supervisor = Supervisor()
    app = LauncherApp(root, supervisor, room_events, theme=settings_mod.load().theme)
    problem = tray_problem()
    if problem is None:
        app.tray = TrayIcon(app.tray_actions)
        app.tray.start()
    else:
        log.info("no tray icon (%s): the launcher is its window", problem)
    try:
        browser.start()
    except LanchatError as e:
        app.status.configure(text=f"Cannot list rooms on the network: {e}")
    app.start()
    try:
        root.mainloop()
    finally:
        browser.stop()
        if app.tray is not None:
            app.tray.stop()
        supervisor.stop_all()  # after Ctrl-C too: hosted rooms never outlive the launcher
    return EXIT_OK
