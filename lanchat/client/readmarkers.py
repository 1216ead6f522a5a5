"""Read markers for the client: where our account stopped reading each conversation.

Layer: SANS-I/O client core. Imports the standard library, lanchat.errors, lanchat.protocol
and lanchat.client (events, state, wire) only.

Spec: https://ircv3.net/specs/extensions/read-marker (MARKREAD <target> [timestamp=...]; the
server answers with the marker it keeps, tells the account's other connections when it moves,
and sends a room's marker after joining it). A marker only moves forward, so a MARKREAD is
sent only for a message past the one we know.
"""

from __future__ import annotations

from lanchat.client.events import ClientEvent, ReadMarker
from lanchat.client.state import NetworkState
from lanchat.client.wire import Send, format_time
from lanchat.errors import MalformedLine
from lanchat.protocol import Message, parse_server_time

__all__ = ["CAP", "ReadMarkers"]

CAP = "draft/read-marker"


class ReadMarkers:
    """The read markers of one connection (forgotten by `reset()` at each new connection)."""

    def __init__(self, state: NetworkState, send: Send) -> None:
        """Args:
        state: the connection's state (server id, case mapping).
        send: queues one line for the server.
        """
        self.state = state
        self._send = send
        self.reset()

    def reset(self) -> None:
        self.times: dict[str, int] = {}  # target key -> time_ms of the last message read

    def mark_read(self, target: str, time_ms: int, *, enabled: bool) -> None:
        """We read `target` up to the message of `time_ms`: MARKREAD, when the server keeps
        read markers (`enabled`) and this is past the marker we know (the server's answer and
        its markers of our other connections are ReadMarker events)."""
        key = self.state.fold(target)
        if enabled and time_ms > self.times.get(key, 0):
            self.times[key] = time_ms
            self._send("MARKREAD", target, f"timestamp={format_time(time_ms)}")

    def on_markread(self, msg: Message) -> list[ClientEvent]:
        # MARKREAD <target> {timestamp=<time> | *}
        if len(msg.params) < 2:
            return []
        target, value = msg.params[0], msg.params[1]
        try:
            when = parse_server_time(value.removeprefix("timestamp=")) if value != "*" else 0
        except MalformedLine:
            return []
        key = self.state.fold(target)
        self.times[key] = max(self.times.get(key, 0), when)
        return [ReadMarker(self.state.server_id, target, when)]
