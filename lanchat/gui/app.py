"""The chat window (`lanchat chat`): the Rooms start page, then one tab per room or person.

Layer: GUI (Tk main thread only); imports tkinter, lanchat.client.events (plain values),
lanchat.client.bridge (the NetworkThread, the only object shared with the network thread) and
lanchat.gui.*; never asyncio, socket or zeroconf (an import-linter contract).

Threads (IDLE's rule, STYLE.md): the network runs in `NetworkThread`; its events arrive on a
queue that `ChatApp` drains with `after()`: at most `batch` events (and about `budget_ms` of
work) per tick, the next tick after 1 ms while there is a backlog (so Tk can redraw and handle
input in between) and after `poll_ms` when idle; lines are inserted once per tick. The
after() loop and the closing order (cancel it, stop the network thread, destroy the window)
are lanchat.gui.pump's, shared with the launcher.

What each client event does to the window is in lanchat.gui.incoming, joining from the Rooms
page in lanchat.gui.joins; the widgets are in lanchat.gui.{rooms,chat,members,bars,dialogs}.
Spec of the behaviour: lanchat issues #3 ("The client") and #15 (a day of real use).
"""

from __future__ import annotations

import queue
import time
import tkinter as tk
import webbrowser
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from tkinter import ttk
from typing import Any, Protocol

from lanchat.client import events as ev
from lanchat.discovery.events import RoomAdded, RoomRemoved, RoomUpdated
from lanchat.gui import settings as settings_mod
from lanchat.gui.access import name
from lanchat.gui.account import AccountControls
from lanchat.gui.bars import Banner, StatusBar
from lanchat.gui.chat import ConversationView, InputBar
from lanchat.gui.commands import Help, UsageError, parse_input
from lanchat.gui.dialogs import InputProblem, parse_connect
from lanchat.gui.drops import accept_dropped_files
from lanchat.gui.incoming import Incoming
from lanchat.gui.joins import Joins
from lanchat.gui.lines import Line, format_event, unread_marker
from lanchat.gui.pump import Pump
from lanchat.gui.rooms import RoomsPage
from lanchat.gui.shares import ShareBar, add_share_controls
from lanchat.gui.theme import Palette, apply_theme
from lanchat.gui.thumbs import Previews
from lanchat.gui.trust import TrustPrompts
from lanchat.gui.viewmodel import ChatModel, Conversation, server_label

__all__ = ["ChatApp", "Network", "run"]

EXIT_OK = 0


class Network(Protocol):
    """What the window needs of lanchat.client.bridge.NetworkThread."""

    events: queue.SimpleQueue[Any]

    def submit(self, cmd: ev.GuiCommand) -> None: ...

    def stop(self, timeout_s: float = 3.0) -> None: ...


@dataclass(slots=True)
class _Server:
    """One connection as the window knows it."""

    host: str
    port: int
    nick: str  # the nick we asked for, then the one the server gave us
    state: str = "connecting"  # connecting | connected | reconnecting | failed | closed
    retry_at: float = 0.0  # time.monotonic() of the next attempt while reconnecting
    manual: bool = False  # opened from the Connect manually page: remembered once it works
    withdrawn: str = ""  # a room of this server its host withdrew from the LAN
    address: str = ""  # "host:port" connected to now: another node of a clustered room's

    @property
    def label(self) -> str:
        return server_label(self.host, self.port)

    @property
    def where(self) -> str:
        """The address connected to (or tried) now: the label, or another node's."""
        return self.address or self.label


class ChatApp:
    """Tk thread only. The chat window: builds the widgets and applies network events to them.

    Args:
        root: the Tk root (the window).
        network: the started network thread (events queue + submit + stop).
        settings: remembered nick, theme and recent servers.
        settings_path: where to save settings (None: the per-user default).
        poll_ms: delay between queue checks when idle.
        batch: most events applied per tick.
        budget_ms: a tick stops taking events after this long, however many it took.
        bell: ring the bell on a mention while the window is not focused.
    """

    def __init__(
        self,
        root: tk.Tk,
        network: Network,
        settings: settings_mod.Settings,
        *,
        settings_path: Path | None = None,
        poll_ms: int = 50,
        batch: int = 200,
        budget_ms: float = 15.0,
        bell: bool = True,
    ) -> None:
        self.root = root
        self.network = network
        self.settings = settings
        # What the settings file holds: a nick or theme given on the command line differs
        # from it, and is written once it is used.
        self._stored = settings_mod.load(settings_path)
        self.settings_path = settings_path
        self.poll_ms = poll_ms
        self.batch = batch
        self.budget_ms = budget_ms
        self.bell = bell
        self.model = ChatModel()
        self.incoming = Incoming(self)  # applies client events to this window
        self.joins = Joins(self)  # joining from the Rooms page, keys, rooms leaving the LAN
        # asks about TLS certificates the network refused (issue #17)
        self.trust = TrustPrompts(root, network.submit, self._server_label)
        self.servers: dict[str, _Server] = {}  # server_id → connection state
        self.views: dict[str, ConversationView] = {}  # conversation key → its tab
        self.dirty: set[str] = set()  # tabs whose title changed during this drain
        self._pending: dict[str, list[Line]] = {}  # lines to insert at the end of this drain
        self._redraw: set[str] = set()  # tabs to draw anew at the end of this drain
        self._next_share = 0  # the id of the last file sent (ShareFile.share_id)
        self.share_servers: dict[int, str] = {}  # uploads under way: share id -> server_id
        self.pump = Pump(root, self.drain)  # runs drain() with after() until close()
        self.palette: Palette = apply_theme(root, settings.theme)
        root.title("lanchat")
        root.geometry("980x640")
        root.minsize(640, 420)
        self._build()
        root.protocol("WM_DELETE_WINDOW", self.close)
        root.bind("<FocusIn>", self._focus_in, add="+")
        root.bind("<FocusOut>", self._focus_out, add="+")

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        # The status bar and input line are packed first, at the bottom, so that when the
        # window is small the tabs shrink rather than pushing them out of sight.
        self.bar = StatusBar(
            self.root,
            on_retry=self.retry_now,
            on_close_tab=self.close_current_tab,
            on_theme=self.toggle_theme,
        )
        self.bar.pack(side="bottom", fill="x")
        self.bar.theme_button.configure(text=self._theme_label())
        self.status = self.bar.status  # the status text (tests read it)
        self.retry_button = self.bar.retry_button
        # "Register this nick" and the automatic login, beside the bar's other buttons
        theme = self.bar.theme_button
        self.accounts = AccountControls(self, theme.master, theme)
        self.input = InputBar(self.root, self.palette, self.submit_line, self._current_nicks)
        # Sending files (issue 21): a button and pasted files, uploads shown above the line.
        self.share_button = add_share_controls(self.input, self.share_file)
        self.shares = ShareBar(self.root, self.input, self.cancel_share)
        self.takes_drops = accept_dropped_files(self.root, self.share_file, self._refuse_drop)
        self.previews = Previews(self.network.submit, webbrowser.open)  # of shared images
        self.tabs = name(ttk.Notebook(self.root), "Rooms and conversations")
        self.tabs.pack(fill="both", expand=True)
        self.banner = Banner(self.root, above=self.tabs)
        # one start page (rooms on the LAN, and connecting by address) before the
        # conversations, rather than two permanent tabs (issue #15)
        self.rooms_page = RoomsPage(
            self.tabs,
            self.settings.nick,
            self.settings.recent,
            self.joins.join_room,
            self.joins.connect_manually,
        )
        self.connect_page = self.rooms_page.connect_form
        self.tabs.add(self.rooms_page, text="Rooms")
        self.tabs.bind("<<NotebookTabChanged>>", self._tab_changed)

    def _theme_label(self) -> str:
        return "Dark theme" if self.palette.name == "light" else "Light theme"

    # ------------------------------------------------------------------ the event pump

    def start(self) -> None:
        """Begin draining the network events."""
        self.pump.start()

    def drain(self) -> int:
        """Apply up to `batch` queued events (or `budget_ms` worth) and refresh what changed.

        Returns:
            The delay in ms before the next drain: 1 while a backlog is left, else poll_ms.
        """
        deadline = time.perf_counter() + self.budget_ms / 1000
        backlog = True
        for _ in range(self.batch):
            try:
                event = self.network.events.get_nowait()
            except queue.Empty:
                backlog = False
                break
            self.handle(event)
            if time.perf_counter() > deadline:
                break
        self.flush()
        return 1 if backlog else self.poll_ms

    def flush(self) -> None:
        """Insert the lines gathered during this tick and refresh changed tab titles and the
        window title (once per tick, not once per event)."""
        for key in self._redraw:
            view, conv = self.views.get(key), self.model.conversations.get(key)
            if view is not None and conv is not None:
                visible = conv.visible()
                view.show(visible)
                self.previews.show(conv.server_id, view.text, visible)
                self._pending.pop(key, None)
        self._redraw.clear()
        for key, lines in self._pending.items():
            view, conv = self.views.get(key), self.model.conversations.get(key)
            if view is not None and conv is not None:
                view.append(lines)
                self.previews.show(conv.server_id, view.text, lines)
        self._pending.clear()
        self.incoming.count_down()
        for key in self.dirty:
            conv, view = self.model.conversations.get(key), self.views.get(key)
            if conv is not None and view is not None:
                self.tabs.tab(view, text=conv.title())  # type: ignore[no-untyped-call]
        self.dirty.clear()
        self._mark_active_read()
        self.root.title(self.model.window_title())

    def _mark_active_read(self) -> None:
        """The tab being looked at, scrolled to its newest line, is read that far: tell the
        server (MARKREAD), so the account's other connections know."""
        conv = self.model.conversations.get(self.model.active)
        view = self.views.get(self.model.active)
        if conv is None or view is None or conv.kind == "server":
            return
        if self.model.is_seen(conv) and view.at_bottom():
            newest = conv.newest_message_ms()
            if newest > conv.read_ms:
                conv.read_ms = newest
                self.network.submit(ev.MarkRead(conv.server_id, conv.name, newest))

    def handle(self, event: object) -> None:
        """Apply one network event (client or room discovery) to the window."""
        # lanchat.discovery.events loads no zeroconf: matching on its types costs nothing.
        match event:
            case RoomAdded() | RoomUpdated() | RoomRemoved():
                self.joins.room_event(event)
            case ev.CertificateMismatch() | ev.CertificateUnknown():
                self.trust.show(event)
            case _:
                self.incoming.apply(event)

    # ------------------------------------------------------------------ adding lines

    def add_line(
        self,
        server_id: str,
        name: str,
        kind: str,
        line: Line,
        *,
        counts: bool,
        history: bool = False,
    ) -> None:
        """Add `line` to tab `name` (created if needed); shown at the end of this tick.

        Duplicates (a msgid already shown) are dropped; `counts` False keeps notices out of
        the unread badge. A highlight rings the bell unless the tab is being looked at.
        History inserted above newer lines redraws the tab once at the end of the tick.
        """
        conv, added = self.model.add(server_id, name, kind, line, counts=counts, history=history)
        if not added:
            return
        self.ensure_view(conv)
        if counts and not conv.marked and not self.model.is_seen(conv):
            conv.marked = True  # the first line not seen: "New messages" goes above it
            self._pending.setdefault(conv.key, []).append(unread_marker(line.time_ms))
        if history and conv.history_at is not None:
            self._redraw.add(conv.key)
        else:
            self._pending.setdefault(conv.key, []).append(line)
        if conv.unread:
            self.dirty.add(conv.key)
        if line.highlight and not self.model.is_seen(conv) and self.bell:
            self.root.bell()

    def redraw(self, key: str) -> None:
        """Draw tab `key` anew from its lines at the end of this tick (a line changed)."""
        self._redraw.add(key)

    def note(self, server_id: str, name: str, text: str, *, tag: str = "event") -> None:
        """Add a local notice ("bob joined.", or an error with tag "error") to tab `name`."""
        conv = self.model.get(server_id, name)
        kind = conv.kind if conv else ("room" if name.startswith("#") else "server")
        self.add_line(server_id, name, kind, format_event(text, tag=tag), counts=False)

    def note_server(self, server_id: str, text: str, *, tag: str = "event") -> None:
        """Show `text` in the active tab if it belongs to `server_id`, else its server tab
        (or only in the status bar for a connection this window does not know)."""
        if server_id not in self.servers:
            self.set_status(text)
            return
        active = self.model.conversations.get(self.model.active)
        if active is not None and active.server_id == server_id:
            self.note(server_id, active.name, text, tag=tag)
        else:
            self.note(server_id, self.servers[server_id].label, text, tag=tag)

    def ensure_view(self, conv: Conversation) -> ConversationView:
        """The tab widget of `conv`, created (at the end of the tab row) when missing."""
        view = self.views.get(conv.key)
        if view is None:
            key = conv.key
            view = ConversationView(
                self.tabs,
                self.palette,
                members=conv.kind == "room",
                on_retry=self.retry_now,
                on_member=lambda action, nick: self.member_action(key, action, nick),
                on_delete=lambda msgid: self.network.submit(
                    ev.Redact(conv.server_id, conv.name, msgid)
                ),
                on_search=lambda text: self.network.submit(
                    ev.Search(conv.server_id, conv.name, text)
                ),
                on_context=lambda msgid: self.jump_to(key, msgid),
            )
            if conv.kind == "room":
                view.set_topic(conv.topic)
            else:
                view.topic.pack_forget()
            self.views[conv.key] = view
            self.tabs.add(view, text=conv.title())
        return view

    def jump_to(self, key: str, msgid: str) -> None:
        """Scroll tab `key`'s transcript to the message `msgid` (a search hit), highlighted
        for a moment; one not loaded is fetched first with the messages around it
        (CHATHISTORY AROUND: Incoming.on_context_loaded comes back here)."""
        conv, view = self.model.conversations.get(key), self.views.get(key)
        if conv is None or view is None:
            return
        if conv.index_of(msgid) is None:
            self.network.submit(ev.ShowContext(conv.server_id, conv.name, msgid))
        else:
            view.show(conv.visible(around=msgid), found=msgid)

    def show_tab(self, conv: Conversation) -> None:
        """Bring `conv`'s tab to the front (and count it as seen from now on)."""
        self.tabs.select(self.ensure_view(conv))  # type: ignore[no-untyped-call]
        self._activate(conv.key)
        self.dirty.add(conv.key)

    # ------------------------------------------------------------------ user actions

    def connect(
        self,
        host: str,
        port: int,
        nick: str,
        *,
        password: str | None = None,
        rooms: Sequence[str] = (),
        keys: Sequence[str] = (),
        tls: bool = False,
        fingerprint: str = "",
        pin_key: str = "",
        alternates: Sequence[ev.Endpoint] = (),
    ) -> str:
        """Open a connection (or join more rooms on an open one). Returns its server_id.

        With `tls`, `port` is a TLS port; `fingerprint`, `pin_key` and `alternates` (a
        clustered room's other nodes) are as in ev.Connect.
        """
        srv = _Server(host, port, nick)
        server_id = srv.label
        existing = self.servers.get(server_id)
        if existing is not None and existing.state in ("connecting", "connected", "reconnecting"):
            for i, room in enumerate(rooms):
                self.network.submit(ev.Join(server_id, room, keys[i] if i < len(keys) else ""))
            return server_id
        self.servers[server_id] = srv
        self.model.nicks[server_id] = nick
        self.banner.hide()  # a new attempt: the last one's problem is no longer news
        self.set_status(f"Connecting to {srv.label}…")
        self.remember(nick=nick)
        account = self.accounts.credentials(server_id)
        self.network.submit(
            ev.Connect(
                server_id, host, port, nick, password, tuple(rooms), tuple(keys),
                account=account, tls=tls, fingerprint=fingerprint, pin_key=pin_key,
                alternates=tuple(alternates),
            )
        )  # fmt: skip
        return server_id

    def member_action(self, key: str, action: str, nick: str) -> None:
        """An action of the member list of tab `key` (lanchat.gui.members.MEMBER_ACTIONS)."""
        conv = self.model.conversations.get(key)
        if conv is None:
            return
        sid, room = conv.server_id, conv.name
        if action == "message":
            private, _ = self.model.ensure(sid, nick, "private")
            self.show_tab(private)
            return
        lines = {
            "whois": f"WHOIS {nick}",
            "op": f"MODE {room} +o {nick}",
            "kick": f"KICK {room} {nick}",
            "ban": f"MODE {room} +b {nick}!*@*",
        }
        self.network.submit(ev.SendRaw(sid, lines[action]))

    def connected_status(self, server_id: str) -> str:
        """ "Connected to host:port as nick." for the status bar."""
        srv = self.servers[server_id]
        return f"Connected to {srv.where} as {srv.nick}."

    def submit_line(self, text: str) -> None:
        """Enter was pressed in the input line of the current tab."""
        conv = self.model.conversations.get(self.model.active)
        if conv is None:
            return
        target = "" if conv.kind == "server" else conv.name
        try:
            cmd = parse_input(text, target=target, server_id=conv.server_id)
        except UsageError as e:
            self.note(conv.server_id, conv.name, str(e), tag="error")
            self.flush()
            return
        if isinstance(cmd, Help):
            for line in cmd.lines:
                self.note(conv.server_id, conv.name, line)
            self.flush()
            return
        if isinstance(cmd, ev.Say) and cmd.target != target:
            private, _ = self.model.ensure(conv.server_id, cmd.target, "private")
            self.show_tab(private)
        self.network.submit(cmd)
        if isinstance(cmd, ev.Quit):
            self.close()

    def share_file(self, path: Path | None = None) -> None:
        """Send a file to the current tab's room or person; None asks which one (a dialog)."""
        conv = self.model.conversations.get(self.model.active)
        if conv is None or conv.kind == "server":
            self.set_status("Open a room or a conversation to send a file to.")
            return
        if path is None:
            from tkinter import filedialog

            chosen = filedialog.askopenfilename(parent=self.root, title="Send a file")
            if not chosen:
                return
            path = Path(chosen)
        self._next_share += 1
        self.share_servers[self._next_share] = conv.server_id
        self.shares.add(self._next_share, path.name)
        self.network.submit(ev.ShareFile(conv.server_id, conv.name, str(path), self._next_share))

    def _refuse_drop(self, names: list[str]) -> None:
        self.set_status(f"{', '.join(names)}: only files can be sent, not folders; drop the "
                        "files inside instead.")  # fmt: skip

    def cancel_share(self, share_id: int) -> None:
        """Cancel was pressed on an upload."""
        server_id = self.share_servers.get(share_id)
        if server_id is not None:
            self.network.submit(ev.CancelShare(server_id, share_id))

    def retry_now(self) -> None:
        """Reconnect every waiting connection now instead of after its backoff delay."""
        for server_id, srv in self.servers.items():
            if srv.state == "reconnecting":
                self.network.submit(ev.Reconnect(server_id))

    def show_retry(self) -> None:
        """ "Retry now" in the status bar while some connection waits to reconnect."""
        self.bar.show_retry(any(s.state == "reconnecting" for s in self.servers.values()))

    def close_current_tab(self) -> None:
        """Leave the room (or close the conversation) in front."""
        conv = self.model.conversations.get(self.model.active)
        if conv is None:
            return
        if conv.kind == "room" and conv.joined and self.connected(conv.server_id):
            self.network.submit(ev.Part(conv.server_id, conv.name, ""))
        elif conv.kind == "server" and self.connected(conv.server_id):
            self.network.submit(ev.Quit(conv.server_id, "Closing"))
            self.servers[conv.server_id].state = "closed"
        view = self.views.pop(conv.key, None)
        self.model.close(conv.key)
        if view is not None:
            self.tabs.forget(view)
            view.destroy()

    def connected(self, server_id: str) -> bool:
        """True while the connection `server_id` is up or being (re)made."""
        srv = self.servers.get(server_id)
        return srv is not None and srv.state in ("connecting", "connected", "reconnecting")

    def toggle_theme(self) -> None:
        self.set_theme("dark" if self.palette.name == "light" else "light")

    def set_theme(self, name: str) -> None:
        """Switch between the light and dark theme and remember the choice."""
        self.palette = apply_theme(self.root, name)
        for view in self.views.values():
            view.apply_palette(self.palette)
        self.input.apply_palette(self.palette)
        self.bar.theme_button.configure(text=self._theme_label())
        self.remember(theme=self.palette.name)

    def remember(
        self, *, nick: str | None = None, theme: str | None = None, recent: str | None = None
    ) -> None:
        s = self.settings
        if nick is not None:
            s = s.with_nick(nick)
        if theme is not None:
            s = s.with_theme(theme)
        if recent is not None:
            s = s.with_recent(recent)
        self.settings = s
        if s != self._stored:
            problem = settings_mod.save(s, self.settings_path)
            if problem:
                self.set_status(problem)
            self._stored = s

    def remember_account(self, server_id: str, account: str, password: str) -> None:
        """Keep the account to log in with on `server_id` in the settings file (mode 0600)."""
        self.settings = self.settings.with_account(server_id, account, password)
        self.remember()

    def _server_label(self, server_id: str) -> str:
        srv = self.servers.get(server_id)
        return srv.label if srv is not None else server_id

    def set_status(self, text: str) -> None:
        self.bar.set_text(text)

    def _current_nicks(self) -> list[str]:
        conv = self.model.conversations.get(self.model.active)
        if conv is None:
            return []
        return conv.nicks() if conv.kind == "room" else [conv.name]

    def _chat_controls(self, visible: bool) -> None:
        if visible and not self.input.winfo_manager():
            self.input.pack(side="bottom", fill="x", before=self.tabs)
        elif not visible and self.input.winfo_manager():
            self.input.pack_forget()
        self.bar.show_close_tab(visible)
        self.accounts.refresh()

    def _tab_changed(self, _event: object) -> None:
        try:
            selected = self.tabs.nametowidget(self.tabs.select())  # type: ignore[no-untyped-call]
        except (KeyError, tk.TclError):
            return
        key = next((k for k, v in self.views.items() if v is selected), "")
        self._activate(key)
        if key:
            self.dirty.add(key)
            self.flush()

    def _activate(self, key: str) -> None:
        """Tab `key` ("" for the Rooms page) is in front: the one left behind loses its
        "New messages" line, the message box gets the focus and says where it sends."""
        left = self.model.conversations.get(self.model.active)
        if left is not None and left.key != key and left.marked:
            left.marked = False
            if (view := self.views.get(left.key)) is not None:
                view.clear_unread()
        self.model.activate(key)
        self._chat_controls(bool(key))
        conv = self.model.conversations.get(key)
        if conv is not None:
            where = conv.name if conv.kind != "server" else "the server (/join #room)"
            self.input.entry.set_placeholder(f"Message {where}")
            self.input.entry.focus_set()

    def _focus_in(self, _event: object) -> None:
        if not self.model.focused:
            self.model.focused = True
            self.model.activate(self.model.active)
            if self.model.active:
                self.dirty.add(self.model.active)
            self.flush()

    def _focus_out(self, _event: object) -> None:
        self.model.focused = self.root.focus_get() is not None

    # ------------------------------------------------------------------ shutdown

    def close(self) -> None:
        """Cancel the pending drain, stop the network thread, destroy the window."""
        self.pump.close(self.network.stop)


def _connect_argument(text: str) -> ev.Endpoint:
    try:
        return parse_connect(text)
    except InputProblem as e:
        from lanchat.errors import ConfigError

        raise ConfigError(f"--connect {text!r}: {e}") from None


def run(nick: str | None, connect: Sequence[str], join: Sequence[str], theme: str | None) -> int:
    """Open the chat window and run until it is closed (`lanchat chat`).

    Args:
        nick: the nickname (None: the remembered one).
        connect: "host[:port]" (or an irc:// or ircs:// URL, lanchat.gui.dialogs.parse_connect)
            to connect to at once, then the other addresses of the same room (a clustered
            room's nodes, issue 20) to move to when one does not answer; empty to start on the
            Rooms page.
        join: rooms to join after connecting.
        theme: "light" or "dark" (None: the remembered one).

    Returns:
        The exit status (0).

    Raises:
        ConfigError: `connect` or `nick` is malformed, or there is no display.
    """
    from lanchat.client.bridge import NetworkThread
    from lanchat.errors import ConfigError
    from lanchat.gui.dialogs import check_nick, check_room

    settings = settings_mod.load()
    try:
        if nick:
            settings = settings.with_nick(check_nick(nick))
        rooms = tuple(check_room(r) for r in join)
    except InputProblem as e:
        raise ConfigError(str(e)) from None
    if theme:
        settings = settings.with_theme(theme)
    addresses = [_connect_argument(text) for text in connect]
    try:
        root = tk.Tk(className="lanchat")
    except tk.TclError as e:
        raise ConfigError(
            f"cannot open a window ({e}); run lanchat chat on a desktop, or set DISPLAY"
        ) from None
    network = NetworkThread(browse=True)
    network.start()
    app = ChatApp(root, network, settings)
    app.start()
    if addresses:
        first, *others = addresses
        app.connect(first.host, first.port, settings.nick, rooms=rooms or ("#lobby",),
                    tls=first.tls, fingerprint=first.fingerprint, pin_key=first.pin_key,
                    alternates=others)  # fmt: skip
    try:
        root.mainloop()
    finally:
        app.close()  # after Ctrl-C too: the servers get a QUIT, not a dropped connection
    return EXIT_OK
