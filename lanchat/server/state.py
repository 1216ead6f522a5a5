"""ServerState: the whole sans-I/O IRC server — users, rooms, whowas — driven by events.

Layer: pure server core; may import lanchat.protocol, lanchat.config, lanchat.errors,
lanchat.store.records and lanchat.server.{model,effects,dispatch,handlers}. No sockets, no
asyncio, no sqlite3: every method takes an event and returns the effects (effects.py) the
asyncio edge applies, in order. Time comes from the injected `clock`.
Spec: https://modern.ircdocs.horse/ (client protocol) and https://ircv3.net/ (extensions).

Connection life cycle as the edge sees it::

    connect(conn_id, ip)          a TCP connection was accepted
    receive(conn_id, msg)         one parsed line      (repeat)
    reject_line(conn_id, error)   one unparsable/over-long line; the connection is kept
    tick()                        about once a second: PINGs, ping and registration timeouts
    disconnected(conn_id, reason) the socket is gone (idempotent: after the core itself asked
                                  for a Disconnect the user is already removed, and this
                                  returns [])
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence

from lanchat.config import Config
from lanchat.errors import InvalidUtf8, LineTooLong, ProtocolError
from lanchat.protocol import numerics as n
from lanchat.protocol.casemap import casefold
from lanchat.protocol.lines import TooLong
from lanchat.protocol.message import Message
from lanchat.protocol.tags import msgid_factory as default_msgid_factory
from lanchat.server.context import Context
from lanchat.server.dispatch import COMMANDS, Command, dispatch, history_renderer
from lanchat.server.effects import Effect, Password, Publish, Query, RoomChanged, Send
from lanchat.server.handlers.accounts import (
    account_stored,
    register_done,
    sasl_done,
    scram_done,
)
from lanchat.server.handlers.operators import oper_done
from lanchat.server.handlers.registration import rename_to_guest
from lanchat.server.model import Room, RoomInfo, User, WhowasEntry
from lanchat.server.monitor import MonitorTable, notify_offline
from lanchat.server.throttle import FailureThrottle
from lanchat.server.uploads import UploadTokens
from lanchat.store.records import AccountRecord, HistoryRecord, RoomRecord, account_pair_key

__all__ = ["ServerState"]

_LABEL_CAPS = frozenset({"labeled-response", "batch"})
# Who takes the outcome of a Password effect, by its purpose (issue 17).
_PASSWORD_DONE = {
    "register": register_done,
    "sasl": sasl_done,
    "oper": oper_done,
    "scram": scram_done,
}
# The command whose store look-up each non-CHATHISTORY HistoryQuery subcommand is.
_LOOKUP_VERBS = {"SEARCH": "SEARCH", "MSGID": "REDACT"}


class ServerState:
    """All users and rooms of one server. Not thread-safe: one event loop drives it."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        rooms: Iterable[RoomRecord] = (),
        accounts: Iterable[AccountRecord] = (),
        msgid_factory: Callable[[], str] | None = None,
    ) -> None:
        """Build the server state.

        Args:
            config: the validated configuration.
            clock: returns Unix seconds; tests inject a fake one.
            rooms: rooms the store kept (deleted ones are ignored). The configured rooms
                (config.server.rooms) get config.server.key as their key, if it is set.
            accounts: the registered accounts the store kept (issue 17).
            msgid_factory: returns a new unique msgid at each call (default: time-sortable).
        """
        self.config = config  # the whole validated configuration
        self.clock = clock  # Unix seconds; the only source of time
        self.commands: Mapping[str, Command] = COMMANDS  # the verbs dispatch runs (HELP lists them)
        self.new_msgid = msgid_factory or default_msgid_factory(clock)  # msgid per message
        self.created_at = clock()  # RPL_CREATED
        self.users: dict[int, User] = {}  # conn_id -> user, registered or not
        self.nicks: dict[str, User] = {}  # casefolded nick -> user holding it
        self.rooms: dict[str, Room] = {}  # casefolded room name -> room
        self.whowas: deque[WhowasEntry] = deque(maxlen=config.limits.whowas_entries)
        self.monitors = MonitorTable()  # MONITOR lists (issue 18)
        self.registered_users = 0  # users past 001 (LUSERS)
        self.max_users = 0  # most registered users at once since start (LUSERS 265/266)
        self._invisible: tuple[float, int] | None = None  # (clock, count) of +i users, cached
        self.batch_serial = 0  # the last batch reference id given (new_batch_ref)
        # Wrong room keys and passwords per address (issue 13 item 6), SASL and OPER too.
        self.auth_throttle = FailureThrottle(
            max_failures=config.limits.max_auth_failures,
            window_s=config.limits.auth_failure_window_s,
            clock=clock,
        )
        # Registered accounts by casefolded name, hashes included (a SASL check needs one);
        # a LAN server has hundreds at most, and nick protection must know them at once.
        self.accounts: dict[str, AccountRecord] = {a.key: a for a in accounts}
        self.registering: set[str] = set()  # account keys whose REGISTER is being stored
        # Read markers of logged-in users, by account key, for the server's lifetime
        # (handlers/readmarker.py); a logged-out connection keeps its own (User.read_markers).
        self.read_markers: dict[str, dict[str, int]] = {}
        self.guest_serial = 0  # the last Guest<n> nick given (registration.rename_to_guest)
        # Upload tokens over IRC (FILEHOST, issue 21).
        self.upload_tokens = UploadTokens(lifetime_s=config.files.token_lifetime_s, clock=clock)
        permanent = {casefold(name) for name in config.server.rooms}
        for record in rooms:
            if not record.deleted:
                self.rooms[record.key] = Room.from_record(record, permanent=record.key in permanent)
        self.open_rooms(config.server.rooms, config.server.key)

    def open_rooms(self, names: Iterable[str], key: str) -> list[Effect]:
        """Open the configured rooms `names` (kept open when empty); start-up, or a cluster
        node's hello (lanchat.cluster.replica).

        Args:
            names: valid room names; rooms that exist already are kept as they are...
            key: ...but for their key, set to `key` unless it is "": the host's configured
                key wins over one restored from the store (issue 3).

        Returns:
            A RoomChanged for each room opened or re-keyed (discovery).
        """
        effects: list[Effect] = []
        for name in names:
            room_key = casefold(name)
            room = self.rooms.get(room_key)
            if room is None:
                room = self.rooms[room_key] = Room.create(name, int(self.clock()), permanent=True)
            room.permanent = True
            if key:
                room.password = key
            effects.append(RoomChanged(room_key))
        return effects

    # ----------------------------------------------------------------- events from the edge

    def connect(self, conn_id: int, ip: str) -> list[Effect]:
        """A new TCP connection: registration (and its timeout) starts now.

        Args:
            conn_id: the edge's id for the connection, unique while it is open.
            ip: the peer's IP literal ("192.168.1.7", "::1"); it becomes the hostmask host.

        Returns:
            No effects today (the server speaks only when spoken to); kept for symmetry.
        """
        now = self.clock()
        self.users[conn_id] = User(conn_id=conn_id, ip=ip, connected_at=now, last_seen=now)
        return []

    def receive(self, conn_id: int, msg: Message) -> list[Effect]:
        """One parsed line from `conn_id`: dispatch it through the COMMANDS table.

        Args:
            conn_id: the sending connection (unknown ids are ignored).
            msg: the parsed line.

        Returns:
            The effects, in order: Persists before the Sends they guard, the sender's
            replies, then any Disconnect.
        """
        user = self.users.get(conn_id)
        if user is None:
            return []
        # ircv3 labeled-response: honoured only with batch negotiated too ("Dependencies").
        label = msg.tags.get("label") if user.caps >= _LABEL_CAPS else None
        ctx = Context(self, user, label=label or None)
        user.last_seen = ctx.now
        user.ping_sent_at = None  # any line proves the client is alive (Ergo's idle timer)
        dispatch(ctx, msg)
        return ctx.finish()

    def reject_line(self, conn_id: int, problem: ProtocolError | TooLong) -> list[Effect]:
        """A line that could not be used: tell the client why, keep the connection (Ergo).

        Args:
            conn_id: the connection.
            problem: TooLong / LineTooLong (-> 417 ERR_INPUTTOOLONG), InvalidUtf8 (-> FAIL *
                INVALID_UTF8, https://ircv3.net/specs/extensions/utf8-only) or any other
                ProtocolError (-> a NOTICE naming the problem).

        Returns:
            The reply effects.
        """
        user = self.users.get(conn_id)
        if user is None:
            return []
        ctx = Context(self, user)
        if isinstance(problem, TooLong | LineTooLong):
            ctx.numeric(n.ERR_INPUTTOOLONG)
        elif isinstance(problem, InvalidUtf8):
            ctx.reply(
                Message(
                    "FAIL",
                    ("*", "INVALID_UTF8", "Your line was not valid UTF-8 and was ignored"),
                    source=self.config.server.name,
                )
            )
        else:
            ctx.notice(f"Your line was ignored: {problem}")
        return ctx.finish()

    def disconnected(self, conn_id: int, reason: str) -> list[Effect]:
        """The peer went away or was dropped: QUIT to its rooms, whowas entry, nick freed.

        Args:
            conn_id: the closed connection; unknown (already removed) ids return [].
            reason: the QUIT reason others see, e.g. "Connection reset by peer".

        Returns:
            The QUIT fan-out and any room closing effects.
        """
        user = self.users.get(conn_id)
        if user is None:
            return []
        ctx = Context(self, user)
        self.quit_user(ctx, reason)
        return ctx.finish()

    def tick(self) -> list[Effect]:
        """Time passed: PING idle clients, drop silent and never-registering ones.

        Registered clients idle for ping_interval_s get one PING (a single Send for all of
        them); those that stay silent ping_timeout_s longer are dropped with
        "Ping timeout: N seconds". Connections not registered within
        registration_timeout_s are dropped with "Registration timeout".

        Returns:
            The PING Send, then ERROR + QUIT + Disconnect effects of each dropped client.
        """
        limits = self.config.limits
        now = self.clock()
        effects: list[Effect] = []
        ping = Message("PING", (self.config.server.name,)).to_bytes()
        to_ping: list[int] = []
        for user in list(self.users.values()):
            if not user.registered:
                if now - user.connected_at >= limits.registration_timeout_s:
                    effects += self._drop(user, "Registration timeout")
            elif user.ping_sent_at is not None:
                waited = now - user.ping_sent_at
                if waited >= limits.ping_timeout_s:
                    effects += self._drop(user, f"Ping timeout: {int(waited)} seconds")
            elif now - user.last_seen >= limits.ping_interval_s:
                user.ping_sent_at = now
                to_ping.append(user.conn_id)
            if user.rename_at and now >= user.rename_at and user.conn_id in self.users:
                # Its grace period on an account's nick is over (issue 17).
                ctx = Context(self, user)
                rename_to_guest(ctx)
                effects += ctx.finish()
        if to_ping:
            effects.insert(0, Send(tuple(to_ping), ping))
        return effects

    def history_result(self, query: Query, records: Sequence[HistoryRecord]) -> list[Effect]:
        """Rows for an earlier Query effect: render them (handlers/history.py) for the client.

        Args:
            query: the Query effect the core emitted (it carries the label and batch target).
            records: the rows the store returned, in chronological order.

        Returns:
            The history lines for the client, or [] if it has gone meanwhile.
        """
        user = self.users.get(query.conn_id)
        if user is None:
            return []
        ctx = Context(self, user, label=query.label)
        history_renderer(query.query.subcommand)(ctx, query, records)
        return ctx.finish()

    def password_done(
        self, effect: Password, ok: bool, detail: str = "", scram: str = ""
    ) -> list[Effect]:
        """The edge checked or hashed the password of an earlier Password effect.

        Args:
            effect: the Password effect the core emitted.
            ok: the password matched (a check), or the new account was stored (purpose
                "register").
            detail: "register": the stored hash, or why the account could not be stored.
            scram: "register": the stored SCRAM-SHA-256 keys (lanchat.scram), "" for none.

        Returns:
            The answer for the client (with its label), or [] if it has gone meanwhile.
        """
        if effect.purpose == "register":  # stored, whether its client is still here or not
            account_stored(self, effect, ok, detail, scram)
        user = self.users.get(effect.conn_id)
        if user is None:
            return []
        user.password_pending = False
        ctx = Context(self, user, label=effect.label)
        _PASSWORD_DONE[effect.purpose](ctx, effect, ok, detail)
        return ctx.finish()

    def history_failed(self, query: Query, reason: str) -> list[Effect]:
        """The store could not answer an earlier Query: FAIL CHATHISTORY MESSAGE_ERROR.

        Args:
            query: the Query effect the core emitted.
            reason: why, in a few words ("database disk image is malformed").

        Returns:
            The error for the client (with its label), or [] if it has gone meanwhile.
        """
        user = self.users.get(query.conn_id)
        if user is None:
            return []
        ctx = Context(self, user, label=query.label)
        sub = query.query.subcommand
        text = f"Messages could not be retrieved ({reason}); try again later"
        if sub in _LOOKUP_VERBS:
            # soju.im/search "Errors": FAIL SEARCH INTERNAL_ERROR; REDACT takes the same code.
            params: tuple[str, ...] = (_LOOKUP_VERBS[sub], "INTERNAL_ERROR", text)
        else:
            # ircv3 chathistory "Errors": FAIL CHATHISTORY MESSAGE_ERROR <command> [<target>]
            context = (sub,) if sub == "TARGETS" else (sub, query.batch_target)
            params = ("CHATHISTORY", "MESSAGE_ERROR", *context, text)
        ctx.reply(Message("FAIL", params, ctx.server_name))
        return ctx.finish()

    def undelivered(self, publish: Publish, reason: str) -> list[Effect]:
        """The messages of `publish` could not be stored, so nobody was shown them: say so.

        The sender gets, for each message, `FAIL <verb> MESSAGE_ERROR <target> :...` with the
        standard-replies capability (https://ircv3.net/specs/extensions/standard-replies) or a
        server NOTICE without it, in place of its echoes; its other replies follow.
        Even a NOTICE gets this answer: the rule against replies to NOTICE is about automatic
        replies between clients, and a sender must learn that what it sent is lost.

        Args:
            publish: the Publish effect whose commit failed.
            reason: why, in a few words ("database or disk is full").

        Returns:
            Only Sends, for the sender (with its label); [] if it has gone meanwhile.
        """
        user = self.users.get(publish.conn_id)
        if user is None:
            return []
        ctx = Context(self, user, label=publish.label)
        fail = user.has("standard-replies")
        for record in publish.records:
            text = (
                f"Your message was not delivered: the server could not save it ({reason}). "
                "Try again; if it keeps failing, tell whoever runs this room (disk full?)"
            )
            if fail:
                params = (record.command, "MESSAGE_ERROR", record.target, text)
                ctx.reply(Message("FAIL", params, source=ctx.server_name))
            else:
                ctx.notice(f"{record.target}: {text}")
        for line in publish.replies:
            ctx.reply(line)
        return ctx.finish()

    def unavailable(self, conn_id: int, command: str, text: str) -> list[Effect]:
        """A line of `conn_id` was not taken, for a while (a cluster node without its Redis).

        Args:
            conn_id: the sender.
            command: the line's verb, or "*" when it is not known.
            text: what happened and what to do, in plain words.

        Returns:
            `FAIL <command> TEMPORARILY_UNAVAILABLE :<text>` with standard-replies
            (https://ircv3.net/specs/extensions/standard-replies), else a server NOTICE; []
            for a connection the core does not know (yet).
        """
        user = self.users.get(conn_id)
        if user is None:
            return []
        ctx = Context(self, user)
        if user.has("standard-replies"):
            params = (command, "TEMPORARILY_UNAVAILABLE", text)
            ctx.reply(Message("FAIL", params, source=ctx.server_name))
        else:
            ctx.notice(text)
        return ctx.finish()

    def shutdown(self, reason: str) -> list[Effect]:
        """The server stops: ERROR :Closing Link to every connection, then Disconnect each.

        Args:
            reason: shown in the ERROR line, e.g. "Server shutting down".

        Returns:
            For each connection a Send of its ERROR line followed by its Disconnect.
        """
        effects: list[Effect] = []
        for user in list(self.users.values()):
            ctx = Context(self, user)
            ctx.reply(Message("ERROR", (f"Closing Link: {user.host} ({reason})",)))
            ctx.disconnect(reason)
            effects += ctx.finish()
        self.users.clear()
        self.nicks.clear()
        self.registered_users = 0
        for room in self.rooms.values():
            room.empty()
        return effects

    def room_info(self, key: str) -> RoomInfo | None:
        """The public face of a room, for discovery.

        Args:
            key: the casefolded room name.

        Returns:
            Name, topic, user count, key_required (+k) and secret (+s), or None if the room
            does not exist (any more) or is an empty room people made: nobody is there to meet
            (it is kept, see remove_member, but not advertised). Configured rooms are always
            advertised.
        """
        room = self.rooms.get(key)
        if room is None or not (room.members or room.permanent):
            return None
        return room.info()

    def room_keys(self) -> list[str]:
        """The casefolded names of every room kept, empty ones included."""
        return list(self.rooms)

    # ------------------------------------------------------------- helpers for the handlers

    def find_user(self, nick: str) -> User | None:
        """The registered-or-not user holding `nick` (compared casefolded), or None."""
        return self.nicks.get(casefold(nick))

    def find_room(self, name: str) -> Room | None:
        """The room called `name` (compared casefolded), or None."""
        room = self.rooms.get(name)  # a name already folded is its own key: no fold per message
        return room if room is not None else self.rooms.get(casefold(name))

    def invisible_users(self) -> int:
        """How many registered users are +i, counted at most once a second.

        Every welcome burst shows this (RPL_LUSERCLIENT); counting on each registration
        would make a connection storm quadratic (issue #4), so the count may lag by a second.

        Returns:
            The number of invisible registered users.
        """
        now = self.clock()
        if self._invisible is None or now - self._invisible[0] >= 1.0:
            count = sum(1 for u in self.users.values() if u.registered and "i" in u.modes)
            self._invisible = (now, count)
        return self._invisible[1]

    def new_batch_ref(self) -> str:
        """A batch reference unique for this server run (ircv3 batch)."""
        self.batch_serial += 1
        return f"b{self.batch_serial}"

    def neighbours(self, user: User) -> list[User]:
        """Every other user sharing at least one room with `user`, each once."""
        seen: dict[int, User] = {}
        for room in user.rooms.values():
            for conn_id, membership in room.members.items():
                if conn_id != user.conn_id:
                    seen[conn_id] = membership.user
        return list(seen.values())

    def conversation_key(self, a: User, b: User) -> str:
        """The history target_key of a private conversation between `a` and `b`.

        The one place that names private conversations in the store. Between two logged-in
        users it is made of their accounts, "~alice ~bob" (casefolded, sorted; no nick starts
        with "~"), and CHATHISTORY gives it back to those two accounts only. Otherwise it is
        both casefolded nicks, sorted, which nobody reads back: a nick is not a person
        (lanchat.store.records.HistoryRecord, issue 13 item 2).
        """
        if a.account and b.account:
            return account_pair_key(casefold(a.account), casefold(b.account))
        return " ".join(sorted((a.key, b.key)))

    def forget_room(self, ctx: Context, room: Room) -> None:
        """Forget the empty `room`: its record is deleted and its history sealed.

        Args:
            ctx: the event's context (for the effects).
            room: a room with no members.
        """
        del self.rooms[room.key]
        ctx.persist(room.to_record(deleted=True))
        ctx.room_changed(room.key)

    def add_room(self, ctx: Context, name: str) -> Room | None:
        """Create room `name` (not yet existing), persist it and tell discovery.

        At config.limits.max_rooms rooms, the room that has been empty longest (never a
        configured one) is forgotten to make space: its record is deleted and its history
        sealed (see remove_member).

        Args:
            ctx: the event's context (for the effects).
            name: the valid room name as the creator wrote it.

        Returns:
            The new, empty room (default modes +nt), or None when the server holds
            max_rooms rooms and every one of them has people in it or is configured.
        """
        if len(self.rooms) >= self.config.limits.max_rooms:
            empty = (r for r in self.rooms.values() if not r.members and not r.permanent)
            oldest = min(empty, key=lambda r: r.emptied_at, default=None)
            if oldest is None:
                return None
            self.forget_room(ctx, oldest)
        room = Room.create(name, int(ctx.now))
        self.rooms[room.key] = room
        # Whatever history is stored under this name is not this room's (a forgotten room's, or
        # a room closed by a lanchat before issue 13, which deleted empty rooms): seal it.
        ctx.persist(room.to_record(deleted=True))
        ctx.persist(room.to_record())
        ctx.room_changed(room.key)
        return room

    def remove_member(self, ctx: Context, room: Room, user: User) -> None:
        """Take `user` out of `room`; an empty room is kept, with everything that guards it.

        A room's history belongs to the room that wrote it (lanchat issue 13). It used to
        close with its last member, and whoever joined the name next re-created it with no
        key, no modes and no bans, became its operator and read its whole history with
        CHATHISTORY, +s and +k rooms included. So a room outlives its members, as a
        registered channel does in Ergo and a +P one in InspIRCd: its key, modes, limit,
        bans and topic stay, in memory and in the store (a restart brings them back),
        and whoever enters must get past them like anyone else; the first one in runs it
        again. An empty room is not advertised on the LAN (room_info). The room table is
        bounded by config.limits.max_rooms: when a new room needs the space, the room empty
        longest is forgotten, and the store seals its history (kept, but under a key no query
        can name: lanchat.store.db). A room made under a name starts with no readable past
        (add_room seals whatever the store holds under it) rather than inheriting one.

        The caller sends the PART/KICK/QUIT line; this only updates state and emits
        RoomChanged.

        Args:
            ctx: the event's context (for the effects).
            room: the room to leave.
            user: the member leaving.
        """
        room.leave(user.conn_id)
        user.rooms.pop(room.key, None)
        if not room.members:
            room.emptied_at = ctx.now
        ctx.room_changed(room.key)

    def quit_user(self, ctx: Context, reason: str) -> None:
        """Remove ctx.user from the server: QUIT to neighbours, whowas, rooms, nick.

        The caller adds the ERROR line and the Disconnect (or the socket is already gone).

        Args:
            ctx: the context of the leaving user.
            reason: the QUIT reason its neighbours see.
        """
        user = ctx.user
        if user.registered:
            self.registered_users -= 1
            quit_msg = Message("QUIT", (reason,), source=user.source)
            ctx.relay(self.neighbours(user), quit_msg)
            self.whowas.appendleft(
                WhowasEntry(user.nick, user.key, user.username, user.host, user.realname, ctx.now)
            )
            notify_offline(ctx, user.nick, user.key)
        self.monitors.forget(user)
        for room in list(user.rooms.values()):
            self.remove_member(ctx, room, user)
        if user.key and self.nicks.get(user.key) is user:
            del self.nicks[user.key]
        self.users.pop(user.conn_id, None)

    def close_link(self, ctx: Context, reason: str) -> None:
        """Send ERROR :Closing Link, remove the user (QUIT `reason` to others), disconnect.

        Args:
            ctx: the context of the user to drop.
            reason: the QUIT reason, also shown in the ERROR line and the Disconnect.
        """
        ctx.reply(Message("ERROR", (f"Closing Link: {ctx.user.host} ({reason})",)))
        self.quit_user(ctx, reason)
        ctx.disconnect(reason)

    def _drop(self, user: User, reason: str) -> list[Effect]:
        ctx = Context(self, user)
        self.close_link(ctx, reason)
        return ctx.finish()
