"""The rooms we want to be in, and our own joins, parts, kicks and refused joins.

Layer: SANS-I/O client core. Imports the standard library, lanchat.protocol and lanchat.client
(events, hints, state, wire) only.

Specs: https://modern.ircdocs.horse/#join-message, #part-message, #kick-message and the
ERR_CHANNELISFULL/INVITEONLYCHAN/BANNEDFROMCHAN/BADCHANNELKEY numerics;
https://ircv3.net/specs/extensions/away-notify ("clients SHOULD send WHO on join").

The wanted rooms outlive a connection: after a reconnect they are joined again (`rejoin`).
A room we left, were kicked from or were refused is not wanted any more: rejoining it at
every reconnect would only bring the same refusal (a wrong key) or undo the room's decision.
"""

from __future__ import annotations

from collections.abc import Callable

from lanchat.client.events import ClientEvent, Joined, Kicked, Parted
from lanchat.client.hints import server_error
from lanchat.client.state import NetworkState
from lanchat.client.wire import Send, optional
from lanchat.protocol import Message

__all__ = ["Membership"]


class Membership:
    """The rooms to be in (kept across connections) and what our JOIN, PART and KICK do."""

    def __init__(
        self,
        state: NetworkState,
        send: Send,
        *,
        caps: Callable[[], set[str]],
        after_join: Callable[[str], None],
    ) -> None:
        """Args:
        state: the connection's state (rooms, members, case mapping).
        send: queues one line for the server.
        caps: the capabilities enabled on the connection now.
        after_join: asks for the history of a room we just joined.
        """
        self.state = state
        self._send = send
        self._caps = caps
        self._after_join = after_join
        self.wanted: dict[str, tuple[str, str]] = {}  # key -> (name, key); kept on reconnect

    def join(self, room: str, key: str, *, now: bool) -> None:
        """Want `room` (with `key`), and JOIN it `now` (else at the next `rejoin`)."""
        self.wanted[self.state.fold(room)] = (room, key)
        if now:
            self._send("JOIN", room, *optional(key))

    def part(self, room: str, reason: str) -> None:
        """Leave `room`; it is no longer rejoined after a reconnect."""
        self.wanted.pop(self.state.fold(room), None)
        self._send("PART", room, *optional(reason))

    def rejoin(self) -> None:
        """Registration is complete: JOIN every wanted room."""
        for name, key in self.wanted.values():
            self._send("JOIN", name, *optional(key))

    def on_join_refused(self, msg: Message) -> list[ClientEvent]:
        # 471/473/474/475 <client> <channel> :<reason>: not rejoined at the next reconnect,
        # where the same refusal (a wrong key) would come back each time.
        error = server_error(self.state.server_id, msg)
        if error.subject:
            self.wanted.pop(self.state.fold(error.subject), None)
        return [error]

    def on_join(self, msg: Message) -> list[ClientEvent]:
        events = self.state.on_join(msg)
        if events and isinstance(joined := events[0], Joined) and joined.own:
            key = self.state.fold(joined.room)
            self.wanted.setdefault(key, (joined.room, ""))
            self._after_join(joined.room)
            if "away-notify" in self._caps():
                # away-notify only tells changes; WHO tells who is away already (ircv3
                # away-notify: "clients SHOULD send WHO on join").
                self.state.who_pending.add(key)
                self._send("WHO", joined.room)
        return events

    def on_part_or_kick(self, msg: Message) -> list[ClientEvent]:
        events = self.state.on_part(msg) if msg.verb == "PART" else self.state.on_kick(msg)
        if events and isinstance(left := events[0], Parted | Kicked) and left.own:
            # Parted or kicked: not rejoined after a reconnect (a kick is the room's decision).
            self.wanted.pop(self.state.fold(left.room), None)
        return events
