"""The client's view of one IRC connection, with no I/O: feed it messages, get events out.

Layer: SANS-I/O client core (ircstates-like). Imports the standard library, lanchat.protocol and
lanchat.client (events and the session's parts below) only: no sockets, no asyncio. The asyncio
driver is lanchat.client.connection; it feeds every received `Message` to `ClientSession.feed`
and writes what `data_to_send()` returns after every call.

This module holds the session's public surface, the commands a person gives and the handlers
of received lines that take several parts at once. The parts it is made of:
- lanchat.client.state: rooms, members, our nick and ISUPPORT (what the server told us)
- lanchat.client.dispatch: what each received line does (the verb and numeric tables)
- lanchat.client.caps: CAP negotiation
- lanchat.client.membership: the rooms we want to be in; our joins, parts and kicks
- lanchat.client.readmarkers: MARKREAD, where our account stopped reading
- lanchat.client.registration: the nick wanted, its fallbacks, the end of registration
- lanchat.client.history: CHATHISTORY requests, chathistory batches, the reconnect gap
- lanchat.client.messages: PRIVMSG, NOTICE and CTCP ACTION received and sent
- lanchat.client.hints: numerics as ServerError (with plain-words hints) or ServerNotice
- lanchat.client.wire: line helpers (sender, server-time, optional parameters)

Specs followed:
- Registration: https://modern.ircdocs.horse/#connection-registration
- PING, ERROR: https://modern.ircdocs.horse/#ping-message and
  https://modern.ircdocs.horse/#error-message
- Numerics and standard replies: https://modern.ircdocs.horse/#numerics and
  https://ircv3.net/specs/extensions/standard-replies

One session object lives as long as the GUI's connection, across reconnects: `start()` begins a
new TCP connection (clearing what the server knew) but keeps the rooms we want to be in and the
last message seen in each, so a rejoin asks only for the gap (CHATHISTORY AFTER) and messages
seen twice are dropped by msgid.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lanchat.client import multiline, readmarkers
from lanchat.client.caps import WANTED_CAPS, CapNegotiation
from lanchat.client.dispatch import HANDLERS, NUMERICS
from lanchat.client.events import ClientEvent, UploadTokenGranted
from lanchat.client.hints import hint_for, numeric_events, server_error, standard_reply_error
from lanchat.client.history import HISTORY_LIMIT, History
from lanchat.client.membership import Membership
from lanchat.client.messages import Messages, split_text
from lanchat.client.readmarkers import ReadMarkers
from lanchat.client.registration import Registration
from lanchat.client.sasl import AccountLogin
from lanchat.client.state import NetworkState, Room, User
from lanchat.client.wire import optional
from lanchat.protocol import Message, parse

__all__ = ["HISTORY_LIMIT", "WANTED_CAPS", "ClientSession", "hint_for", "split_text"]


class ClientSession:
    """The sans-I/O state machine of one client connection.

    Call `start()` when the TCP connection opens, `feed(msg)` for every received message, and
    the command methods (`join`, `say`, ...) for what the person does; after each call, write
    `data_to_send()` to the socket. Events (lanchat.client.events) come back from `feed` and
    from the commands that produce local events.
    """

    def __init__(
        self,
        nick: str,
        user: str | None = None,
        realname: str | None = None,
        password: str | None = None,
        *,
        account: tuple[str, str] | None = None,
        server_id: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Create a session; nothing is sent until `start()`.

        Args:
            nick: the nickname we ask for (a taken nick falls back to nick_, nick__ ...).
            user: the USER name (defaults to the nick).
            realname: the real name shown by WHOIS (defaults to "lanchat user").
            password: the server password sent with PASS, or None.
            account: (account, password) to log in with (SASL PLAIN) at each connection.
            server_id: copied into every event (the GUI's name for this connection).
            clock: seconds since the epoch; used when a message has no server-time tag.
        """
        self.user = user or nick
        self.realname = realname or "lanchat user"
        self.password = password
        self._outbox: list[Message] = []
        # The parts are annotated: dispatch.py's handlers reach them through the session.
        self.state: NetworkState = NetworkState(server_id, clock)  # what the server told us
        self.login: AccountLogin = AccountLogin(self.state, self._send, account)  # SASL, REGISTER
        self.cap = CapNegotiation(self.state, self._send, self.login)
        self.history: History = History(self.state, self._send)  # outlives connections (last_seen)
        self.messages: Messages = Messages(self.state, self.history, self._send)
        self.membership: Membership = Membership(  # outlives connections (the wanted rooms)
            self.state,
            self._send,
            caps=lambda: self.caps,
            after_join=self.history_request_after_join,
        )
        self.read_markers: ReadMarkers = ReadMarkers(self.state, self._send)
        self.registration: Registration = Registration(  # outlives connections (the wanted nick)
            self.state,
            self._send,
            nick,
            login=self.login,
            membership=self.membership,
            history=self.history,
            history_enabled=lambda: self.history_enabled,
        )
        self._reset_connection()

    def _reset_connection(self) -> None:
        """Forget everything the previous connection told us (but not what we want)."""
        self.last_error = ""  # the ERROR line's reason, for Disconnected
        self.registration.reset()
        self.read_markers.reset()
        self.state.reset(self.wanted_nick)
        self.cap.reset()
        self.login.reset()
        self.history.reset()

    def start(self) -> None:
        """Begin registration on a fresh connection: CAP LS 302, PASS, NICK, USER.

        Rooms in `wanted_rooms` are joined again after registration, and their gaps are filled
        from history.
        """
        self._reset_connection()
        self._outbox = []  # lines for the previous connection are stale
        self._send("CAP", "LS", "302")
        if self.password:
            self._send("PASS", self.password)
        self._send("NICK", self.nick)
        self._send("USER", self.user, "0", "*", self.realname)

    def data_to_send(self) -> list[Message]:
        """Messages queued for the server since the last call, in order (and forget them)."""
        out, self._outbox = self._outbox, []
        return out

    def _send(self, command: str, *params: str, tags: dict[str, str] | None = None) -> None:
        """Queue a message, checked now so that a bad parameter fails the command that made it
        (raises ProtocolError: a CR, LF or NUL in a parameter, or a misplaced space)."""
        msg = Message(command, params, tags=tags or {})
        msg.to_line()
        self._outbox.append(msg)

    # ------------------------------------------------------------------ what we know

    @property
    def server_id(self) -> str:
        """The GUI's name for this connection, copied into every event."""
        return self.state.server_id

    @property
    def clock(self) -> Callable[[], float]:
        """Seconds since the epoch; used when a message has no server-time tag."""
        return self.state.clock

    @property
    def nick(self) -> str:
        """Our current nick (the server's word once registered)."""
        return self.state.nick

    @property
    def registered(self) -> bool:
        """True once 001 RPL_WELCOME was received on this connection."""
        return self.state.registered

    @property
    def server_name(self) -> str:
        """The server's name (the source of its 001)."""
        return self.state.server_name

    @property
    def network(self) -> str:
        """The network's name (ISUPPORT NETWORK), or ""."""
        return self.state.network

    @property
    def rooms(self) -> dict[str, Room]:
        """The rooms we are in, by casefolded name."""
        return self.state.rooms

    @property
    def users(self) -> dict[str, User]:
        """The people sharing a room with us, by casefolded nick."""
        return self.state.users

    @property
    def caps(self) -> set[str]:
        """The capabilities enabled on this connection."""
        return self.cap.enabled

    @property
    def caps_offered(self) -> dict[str, str]:
        """The capabilities the server offers (CAP LS), name -> value."""
        return self.cap.offered

    @property
    def last_seen(self) -> dict[str, tuple[str | None, int]]:
        """The last message seen in each conversation: target key -> (msgid, time_ms)."""
        return self.history.last_seen

    @property
    def wanted_nick(self) -> str:
        """The nick the person chose (changed only by a NICK the server confirmed)."""
        return self.registration.wanted_nick

    @property
    def welcomed(self) -> bool:
        """True once registration ended (end of MOTD): Registered was emitted."""
        return self.registration.welcomed

    @property
    def wanted_rooms(self) -> dict[str, tuple[str, str]]:
        """The rooms to be in, joined again after a reconnect: key -> (name, room key)."""
        return self.membership.wanted

    @property
    def history_enabled(self) -> bool:
        """True if the server lets us ask for history (CHATHISTORY)."""
        return "chathistory" in self.caps or "draft/chathistory" in self.caps

    def fold(self, name: str) -> str:
        """`name` casefolded by the server's CASEMAPPING (the key of rooms and users)."""
        return self.state.fold(name)

    def is_room(self, name: str) -> bool:
        """True if `name` is a room (starts with a CHANTYPES character) rather than a nick."""
        return self.state.is_room(name)

    def is_me(self, nick: str) -> bool:
        """True if `nick` is our current nick (casefolded)."""
        return self.state.is_me(nick)

    # ------------------------------------------------------------------ commands

    def join(self, room: str, key: str = "") -> None:
        """Join `room` (with `key`); remembered so a reconnect joins it again."""
        self.membership.join(room, key, now=self.welcomed)

    def part(self, room: str, reason: str = "") -> None:
        """Leave `room`; it is no longer rejoined after a reconnect."""
        self.membership.part(room, reason)

    def say(self, target: str, text: str, *, action: bool = False) -> list[ClientEvent]:
        """Send `text` to `target` as PRIVMSG (or CTCP ACTION), split to fit the line limit.

        Returns:
            Our own messages as events when the server will not echo them (no echo-message);
            with echo-message the server's echo is the event, carrying its msgid and time.
        """
        echoed = "echo-message" in self.caps
        limits = None
        if multiline.CAP in self.caps and "batch" in self.caps:
            limits = multiline.MultilineLimits(self.caps_offered.get(multiline.CAP, ""))
        return self.messages.say(
            target, text, action=action, user=self.user, echoed=echoed, multiline=limits
        )

    def redact(self, target: str, msgid: str) -> None:
        """Delete the message `msgid` of `target` (REDACT; MessageRedacted when it is done)."""
        self._send("REDACT", target, msgid)

    def mark_read(self, target: str, time_ms: int) -> None:
        """We read `target` up to the message of `time_ms` (readmarkers.ReadMarkers)."""
        self.read_markers.mark_read(target, time_ms, enabled=readmarkers.CAP in self.caps)

    def change_nick(self, nick: str) -> None:
        """Ask for a new nick; the server's NICK echo (or a 433) is the answer.

        `wanted_nick` changes only when the server confirms (registration.Registration).
        """
        self._send("NICK", nick)

    def set_topic(self, room: str, topic: str) -> None:
        """Set (or with "" clear) the topic of `room`."""
        self._send("TOPIC", room, topic)

    def set_away(self, message: str) -> None:
        """Mark us away with `message`, or back with ""."""
        self._send("AWAY", *optional(message))

    def request_history(
        self, target: str, before_msgid: str | None = None, limit: int = HISTORY_LIMIT
    ) -> None:
        """Ask for `limit` messages of `target` before `before_msgid` (None: the latest).

        Does nothing when the server does not offer CHATHISTORY.
        """
        if self.history_enabled:
            self.history.request(target, before_msgid, limit)

    def history_request_after_join(self, room: str) -> None:
        """Ask for what we missed in `room`: after the last message we saw there (a rejoin
        after a reconnect), or the latest HISTORY_LIMIT messages on the first join."""
        if self.history_enabled:
            self.history.after_join(room)

    def register_account(self, password: str) -> None:
        """Make our nick an account (REGISTER); LoggedIn(new=True) says it worked, a
        ServerError (FAIL REGISTER) why not."""
        self.login.register(password)

    def send_raw(self, line: str) -> None:
        """Queue one raw line, parsed so that it is well-formed.

        Raises:
            ProtocolError: the line is not a valid IRC message.
        """
        self._outbox.append(parse(line))

    def request_upload_token(self) -> None:
        """Ask for an upload token (FILEHOST, issue 21); UploadTokenGranted is the answer."""
        self._send("FILEHOST")

    def _on_note(self, msg: Message) -> list[ClientEvent]:
        # NOTE FILEHOST TOKEN <token> <seconds> :<description>  (lanchat, issue 21)
        if len(msg.params) >= 3 and msg.params[:2] == ("FILEHOST", "TOKEN"):
            return [UploadTokenGranted(self.server_id, msg.params[2])]
        return []

    def quit(self, reason: str = "") -> None:
        """Say goodbye; the server then closes the connection."""
        self._send("QUIT", *optional(reason))

    # ------------------------------------------------------------------ receiving

    def feed(self, msg: Message) -> list[ClientEvent]:
        """Update the state with one message from the server; return what happened.

        Replies the protocol requires (PONG, CAP END, a fallback NICK, JOINs after
        registration, history requests) are queued for `data_to_send()`.
        """
        if self.history.collect_multiline(msg):
            return []  # given whole at the end of its batch (_on_batch)
        batch = self.history.batch_of(msg)
        if batch is not None:
            # A history message: given with the rest of its batch when the batch ends.
            # Search hits and context are listed apart: not shown, nor remembered as seen.
            batch.add(msg, [] if batch.found else self.messages.on_message(msg, history=True))
            return []
        handler = HANDLERS.get(msg.verb)
        if handler is not None:
            return handler(self, msg)
        if not msg.verb.isdigit():
            return []
        handler = NUMERICS.get(msg.command)
        return handler(self, msg) if handler is not None else numeric_events(self.server_id, msg)

    def _on_batch(self, msg: Message) -> list[ClientEvent]:
        joined = self.history.take_multiline(msg)
        if joined is not None:
            return self.feed(joined)  # one message, live or into its chathistory batch
        return self.history.on_batch(msg)

    def _on_ping(self, msg: Message) -> list[ClientEvent]:
        self._send("PONG", *(msg.params[-1:] or ("",)))
        return []

    def _on_error(self, msg: Message) -> list[ClientEvent]:
        self.last_error = msg.params[-1] if msg.params else "the server closed the connection"
        return []

    def _on_cap(self, msg: Message) -> list[ClientEvent]:
        self.cap.on_cap(msg)
        return []

    def _on_unknown_command(self, msg: Message) -> list[ClientEvent]:
        # 421 <client> <command> :Unknown command
        if len(msg.params) >= 2 and msg.params[1].upper() == "CHATHISTORY":
            return self.history.failed()
        return [server_error(self.server_id, msg)]

    def _on_fail(self, msg: Message) -> list[ClientEvent]:
        # FAIL <command> <code> [<context>...] :<description>  (ircv3 standard-replies)
        if len(msg.params) < 3:
            return []
        if msg.params[0].upper() == "CHATHISTORY":
            return self.history.failed()
        return [standard_reply_error(self.server_id, msg)]

    def _on_login_numeric(self, msg: Message) -> list[ClientEvent]:
        events = self.login.on_numeric(msg)
        if msg.command != "900":
            self.cap.login_finished()
        return events
