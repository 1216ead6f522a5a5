"""Joining from the Rooms page: keys asked for (again), rows marked as joined, rooms that leave
the LAN, and the manual form.

Layer: GUI (Tk main thread only); imports lanchat.client.events (plain values),
lanchat.gui.{dialogs,viewmodel} and lanchat.protocol (case mapping); works on a
lanchat.gui.app.ChatApp through its public methods, as lanchat.gui.incoming does.
Spec of the behaviour: lanchat issue #15 (a wrong key asks again, a room its host closed
is not retried, the rooms we are in are marked, recent servers are the ones that worked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lanchat.client import events as ev
from lanchat.discovery.events import RoomEvent, RoomRemoved
from lanchat.gui.dialogs import ConnectRequest, KeyDialog
from lanchat.gui.viewmodel import RoomRow, conversation_key, server_label
from lanchat.protocol import casefold

if TYPE_CHECKING:
    from lanchat.gui.app import ChatApp

__all__ = ["Joins"]


class Joins:
    """Tk thread only. What choosing a room (or the manual form) does to `app`."""

    def __init__(self, app: ChatApp) -> None:
        self.app = app
        # rooms joined with a key from the key dialog, by conversation key: a 475 asks again
        self._key_joins: dict[str, tuple[RoomRow, str]] = {}
        self._sources: dict[str, str] = {}  # Rooms page row id → server_id joined there

    def room_event(self, event: RoomEvent) -> None:
        """A room appeared, changed or left the LAN: a connection made to a room that left
        stops retrying (issue #15, bug 5); a clustered room left by one node stays."""
        for row in self.app.rooms_page.apply(event):
            server_id = self._sources.pop(row.instance, "")
            if server_id in self.app.servers:
                self.app.incoming.room_withdrawn(server_id, row.room)
        if not isinstance(event, RoomRemoved):
            for srv in self.app.servers.values():
                if srv.withdrawn and casefold(srv.withdrawn) == casefold(event.ad.room):
                    srv.withdrawn = ""  # back on the LAN (mDNS can drop a room for a while)

    def join_room(self, row: RoomRow, nick: str) -> None:
        """The Rooms page chose `row`: ask for a key if it is locked, then connect and join
        (or just bring its tab to the front when already in the room)."""
        host = row.connect_host()
        server_id = server_label(host, row.tls or row.port)
        self._sources[row.instance] = server_id
        conv = self.app.model.get(server_id, row.room)
        if conv is not None and conv.joined and self.app.connected(server_id):
            self.app.show_tab(conv)
            return
        self.app.rooms_page.busy(f"Joining {row.room}…")
        if row.locked:
            # The key goes to this host and address: say so, a look-alike may ask for it.
            KeyDialog(
                self.app.root,
                row.label(),
                lambda key: self._join_row(row, nick, key),
                on_cancel=lambda: self.app.rooms_page.busy(""),
            )
        else:
            self._join_row(row, nick, "")

    def _join_row(self, row: RoomRow, nick: str, key: str) -> None:
        # Over TLS when the room offers it, each node checked against its own advertised
        # fingerprint and pin (issue #17); a clustered room's other nodes are tried when this
        # one does not answer (issue 20).
        first, *others = row.endpoints()
        server_id = self.app.connect(first.host, first.port, nick, rooms=(row.room,), keys=(key,),
                                     tls=first.tls, fingerprint=first.fingerprint,
                                     pin_key=first.pin_key, alternates=others)  # fmt: skip
        if key:
            self._key_joins[conversation_key(server_id, row.room)] = (row, nick)

    def ask_key_again(self, server_id: str, room: str) -> bool:
        """The server refused the key typed for `room` (475): open the key dialog again.

        Returns:
            False when the key did not come from the dialog (a /join typed by hand), so the
            refusal is shown the usual way.
        """
        pending = self._key_joins.pop(conversation_key(server_id, room), None)
        if pending is None:
            return False
        row, nick = pending
        KeyDialog(
            self.app.root,
            row.label(),
            lambda key: self._join_row(row, nick, key),
            problem="That key didn't work. Type it again (ask whoever runs the room).",
            on_cancel=lambda: self._close_if_unused(server_id),
        )
        return True

    def joined(self, server_id: str, room: str) -> None:
        """We are in `room`: errors about joining it (or talking) and a stale status go, and
        its row on the Rooms page is marked."""
        self._key_joins.pop(conversation_key(server_id, room), None)
        self.app.rooms_page.busy("")
        self.mark_joined(server_id, room, True)
        self.app.banner.hide(f"join {server_id}")
        self.app.set_status(self.app.connected_status(server_id))

    def mark_joined(self, server_id: str, room: str, joined: bool) -> None:
        """Mark the Rooms page row `room` joined from `server_id` as one we are (not) in."""
        for instance, source in self._sources.items():
            row = self.app.rooms_page.model.rows.get(instance)
            if source == server_id and row is not None and casefold(row.room) == casefold(room):
                self.app.rooms_page.set_joined(instance, joined)

    def _close_if_unused(self, server_id: str) -> None:
        # The key dialog was cancelled: a connection with no tab left would linger unseen.
        self.app.rooms_page.busy("")
        if any(c.server_id == server_id for c in self.app.model.conversations.values()):
            return
        srv = self.app.servers.get(server_id)
        if srv is not None and self.app.connected(server_id):
            self.app.network.submit(ev.Quit(server_id, "Closing"))
            srv.state = "closed"
            self.app.set_status("Not connected.")

    def connect_manually(self, request: ConnectRequest) -> None:
        """The Connect manually page was submitted and checked."""
        rooms = (request.room,) if request.room else ()
        server_id = self.app.connect(
            request.host, request.port, request.nick, password=request.password, rooms=rooms,
            tls=request.tls,
        )  # fmt: skip
        # remembered among the recent servers once it lets us in (Incoming.on_registered), so a typo
        # or a host that is gone is not offered again (issue #15, bug 10)
        self.app.servers[server_id].manual = True
        self.app.rooms_page.busy(f"Connecting to {request.address}…")
        if not rooms:
            self.app.note(request.address, request.address, "Connecting… type /join #room.")
            conv = self.app.model.get(request.address, request.address)
            if conv is not None:
                self.app.show_tab(conv)
