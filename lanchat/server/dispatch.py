"""The command table and the per-call Context every handler writes its output to.

Layer: pure server core; may import lanchat.protocol, lanchat.config, lanchat.errors,
lanchat.store.records and lanchat.server.{model,effects}. No I/O.
Spec: https://modern.ircdocs.horse/#errunknowncommand-421, #errnotregistered-451,
#errneedmoreparams-461 (the central gating below) and
https://ircv3.net/specs/extensions/labeled-response (the label handling in `Context.finish`).

How to write a handler (Ergo's commands.go, one table for every verb)
--------------------------------------------------------------------
Put it in a module of lanchat/server/handlers/ (one module per area). Every module there is
imported by `load_handlers()` when a ServerState is built, so decorating is all it takes::

    from lanchat.protocol import numerics as n
    from lanchat.protocol.message import Message
    from lanchat.server.dispatch import Context, command

    # TOPIC <channel> [<topic>]
    @command("TOPIC", min_params=1)
    def handle_topic(ctx: Context, msg: Message) -> None:
        room = ctx.state.find_room(msg.params[0])
        if room is None:
            ctx.numeric(n.ERR_NOSUCHCHANNEL, msg.params[0])
            return
        ...

Before the handler runs, dispatch has already answered 421 (unknown verb), 451 (registration
required: pass `before_registration=True` to allow a verb earlier) and 461 (fewer than
`min_params` parameters). `ctx.user` is the sender; `ctx.state` the ServerState.

What a handler may do, all through `ctx` (never build Effects by hand):

- `ctx.numeric(code, *params, text=None)`: a numeric to the sender; the sender's nick is added
  as the first parameter and the spec's default text (lanchat.protocol.numerics) as the last
  unless `text` is given. Texts that contain data go in `params`.
- `ctx.reply(msg)`: any other line for the sender (its copy of a JOIN, an echo-message, ...).
  Everything sent to the sender goes through `reply`/`numeric`, so labeled-response can wrap
  it: one line gets the label, several get a `labeled-response` batch, none get an ACK.
- `ctx.relay(users, msg, msgid=..., client_tags=...)`: the same event to other people.
  Recipients are grouped by their tag form (server-time / message-tags) and each form is
  serialised once: one Send per form (issue #4). The sender is never added implicitly.
- `ctx.fanout(users, form_of, render)`: the general form of `relay` when a line differs by
  more than tags (e.g. extended-join): `form_of(user)` gives a hashable form, `render(form)`
  the Message for it; each distinct form is rendered and serialised once.
- `ctx.tagged(msg, form, msgid=..., client_tags=...)`: `msg` with the tags `form` gets,
  for the sender's own copy of a relayed event (`ctx.tagged(msg, ctx.user.form)`).
- `ctx.publish(record, recipients, msg, echo=..., client_tags=..., skip=...)`: a message
  (PRIVMSG, NOTICE, TAGMSG): store it, relay it to `recipients` (`ctx.room_audience(room)`
  with `skip=ctx.user.conn_id` for a room, whose cached groups cost nothing per member;
  `audience(users)` otherwise), echo it to the sender. It is shown only once it is stored,
  and if storing fails nobody sees it and the sender is told (effects.Publish).
- `ctx.persist(record)`: a Persist effect for a room record. Put it before the Sends it guards
  (issue #2: durable before shown); `relay` and `reply` output always comes after.
- `ctx.room_changed(key)`: the room's public face changed (created, users, topic, +k, +s).
- `ctx.query(query)`: a CHATHISTORY query; the rows come back through the function
  registered with `@on_history_result` (lanchat/server/handlers/history.py), called with a
  Context for the same client whose label is the original label.
- `ctx.disconnect(reason)`: close the sender's connection after its replies are flushed.

NOTICE must never produce error replies (modern.ircdocs "NOTICE message").
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from lanchat.protocol import numerics as n
from lanchat.protocol.message import Message
from lanchat.protocol.tags import TagForm, format_server_time, tags_for_form
from lanchat.server.effects import Disconnect, Effect, Persist, Publish, Query, RoomChanged, Send
from lanchat.server.model import group_by_form
from lanchat.store.records import HistoryQuery, HistoryRecord, RoomRecord

if TYPE_CHECKING:
    from lanchat.server.model import Room, User
    from lanchat.server.state import ServerState

__all__ = [
    "COMMANDS",
    "Audience",
    "Command",
    "Context",
    "Handler",
    "HistoryRenderer",
    "audience",
    "command",
    "dispatch",
    "load_handlers",
    "on_history_result",
]

Handler = Callable[["Context", Message], None]
# Recipients of one relayed line, grouped by tag form: one Send (one serialisation) per group.
Audience = list[tuple[TagForm, tuple[int, ...]]]

HistoryRenderer = Callable[["Context", Query, Sequence[HistoryRecord]], None]
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Command:
    """One row of the table: how a verb is gated and which function handles it."""

    handler: Handler
    min_params: int = 0  # fewer parameters -> 461 ERR_NEEDMOREPARAMS
    before_registration: bool = False  # False -> 451 ERR_NOTREGISTERED until 001 was sent


COMMANDS: dict[str, Command] = {}  # verb (upper case) -> Command
_history_renderers: list[HistoryRenderer] = []


def command(
    verb: str, *, min_params: int = 0, before_registration: bool = False
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of `verb`.

    Args:
        verb: the command, upper case ("PRIVMSG").
        min_params: parameters required before the handler is called (461 otherwise).
        before_registration: allow the verb before registration completes.

    Returns:
        A decorator that registers and returns the handler unchanged.

    Raises:
        ValueError: the verb already has a handler (two modules claim it).
    """

    def register(handler: Handler) -> Handler:
        if verb in COMMANDS and COMMANDS[verb].handler is not handler:
            raise ValueError(f"two handlers for {verb}: {COMMANDS[verb].handler} and {handler}")
        COMMANDS[verb] = Command(handler, min_params, before_registration)
        return handler

    return register


def on_history_result(renderer: HistoryRenderer) -> HistoryRenderer:
    """Register the function that turns CHATHISTORY rows into lines (handlers/history.py).

    Args:
        renderer: called as renderer(ctx, query_effect, records) by ServerState.history_result.

    Returns:
        The renderer unchanged.
    """
    _history_renderers[:] = [renderer]
    return renderer


def history_renderer() -> HistoryRenderer | None:
    """The registered CHATHISTORY renderer, or None while none is loaded."""
    return _history_renderers[0] if _history_renderers else None


def load_handlers() -> None:
    """Import every module of lanchat.server.handlers so their @command rows are registered."""
    import lanchat.server.handlers as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


def dispatch(ctx: Context, msg: Message) -> None:
    """Gate `msg` through the table and run its handler (Ergo's Command.Run).

    Args:
        ctx: the call's context; its user is the sender.
        msg: the parsed line.
    """
    verb = msg.verb
    cmd = COMMANDS.get(verb)
    if cmd is None:
        ctx.numeric(n.ERR_UNKNOWNCOMMAND, msg.command)
        return
    if not ctx.user.registered and not cmd.before_registration:
        ctx.numeric(n.ERR_NOTREGISTERED)
        return
    if len(msg.params) < cmd.min_params:
        ctx.numeric(n.ERR_NEEDMOREPARAMS, verb)
        return
    cmd.handler(ctx, msg)


class Context:
    """The output of one event (a line, a tick, a disconnect) for one sender, built in order.

    Lines for the sender are collected and flushed by `finish()` as one Send after every
    other effect, so that labeled-response can wrap them and every Persist precedes them.
    """

    __slots__ = (
        "_closing",
        "_echoes",
        "_lines",
        "_published",
        "_shown",
        "_time_tag",
        "effects",
        "label",
        "now",
        "state",
        "user",
    )

    def __init__(self, state: ServerState, user: User, *, label: str | None = None) -> None:
        self.state = state  # the server
        self.user = user  # the sender: replies go to it
        self.label = label  # labeled-response label of the command, if any
        self.effects: list[Effect] = []  # effects in order, replies excluded
        self.now = state.clock()  # one timestamp for everything this event produces
        self._time_tag = ""  # server-time of relayed lines, formatted on first use
        self._lines: list[Message] = []  # lines for the sender, flushed by finish()
        self._closing: str | None = None  # disconnect reason, applied after the replies
        self._published: list[HistoryRecord] = []  # messages of this event (ctx.publish)
        self._shown: list[Send] = []  # the relays of those messages, held with them
        self._echoes: set[int] = set()  # where in `_lines` the sender's copies of them are

    @property
    def time_tag(self) -> str:
        """The server-time tag value of everything this event relays (ircv3 server-time)."""
        if not self._time_tag:
            self._time_tag = format_server_time(self.now)
        return self._time_tag

    @property
    def server_name(self) -> str:
        """The server's name: the source of numerics and server messages."""
        return self.state.config.server.name

    def numeric(self, code: str, *params: str, text: str | None = None) -> None:
        """Reply a numeric: `:server <code> <nick> <params...> :<text>`.

        Args:
            code: a constant from lanchat.protocol.numerics.
            params: the data parameters after the nick.
            text: the trailing text; the spec's default text for `code` when None.
        """
        trailing = text if text is not None else n.default_text(code)
        all_params = (
            (self.user.nick, *params)
            if trailing is None
            else (
                self.user.nick,
                *params,
                trailing,
            )
        )
        self._lines.append(Message(code, all_params, source=self.server_name))

    def notice(self, text: str) -> None:
        """A server NOTICE to the sender."""
        self._lines.append(Message("NOTICE", (self.user.nick, text), source=self.server_name))

    def reply(self, msg: Message) -> None:
        """Any line for the sender; it carries the label (see the module docstring)."""
        self._lines.append(msg)

    def send(self, conn_ids: Sequence[int], data: bytes) -> None:
        """Raw Send of already-serialised lines to other connections."""
        if conn_ids:
            self.effects.append(Send(tuple(conn_ids), data))

    def tagged(
        self,
        msg: Message,
        form: TagForm,
        *,
        msgid: str = "",
        client_tags: Mapping[str, str] | None = None,
    ) -> Message:
        """`msg` with the tags a recipient of tag form `form` gets."""
        if form is TagForm.NONE:
            return msg  # no tags at all, so no server-time to format either
        tags = tags_for_form(form, time_tag=self.time_tag, msgid=msgid, client_tags=client_tags)
        if not tags:
            return msg
        return Message(msg.command, msg.params, source=msg.source, tags=tags)

    def relay(
        self,
        users: Iterable[User],
        msg: Message,
        *,
        msgid: str = "",
        client_tags: Mapping[str, str] | None = None,
    ) -> None:
        """Send `msg` to `users` with server-time / msgid / client tags per their caps.

        One Send per tag form; the bytes of each form are built once (issue #4).
        """
        self._relay_into(self.effects, audience(users), msg, msgid, client_tags)

    def room_audience(self, room: Room) -> Audience:
        """The room's members by tag form, for `publish` with `skip` set to the sender.

        These are the room's cached groups (Room.by_form) as they are: the same tuples for
        every message until the membership changes, so a message costs no Python step per
        member and the edge can join consecutive messages per group (issue #4). The sender's
        own group comes last, where `finish` can give the sender its replies in place of the
        relay; a group that is the sender alone is left out.

        Args:
            room: the room the message goes to.
        """
        me, mine = self.user.conn_id, self.user.form
        groups = room.by_form()
        out = [(form, ids) for form, ids in groups.items() if form is not mine]
        own = groups.get(mine)
        if own is not None and own != (me,):
            out.append((mine, own))
        return out

    def _relay_into(
        self,
        out: list[Effect] | list[Send],
        groups: Audience,
        msg: Message,
        msgid: str,
        client_tags: Mapping[str, str] | None,
        skip: int = 0,
    ) -> None:
        for form, conn_ids in groups:
            line = self.tagged(msg, form, msgid=msgid, client_tags=client_tags)
            out.append(Send(conn_ids, line.to_bytes(), skip))

    def fanout(
        self, users: Iterable[User], form_of: Callable[[User], K], render: Callable[[K], Message]
    ) -> None:
        """Send each user the rendering of its form; each distinct form is serialised once.

        Args:
            users: the recipients (each at most once).
            form_of: the form a user needs, any hashable value.
            render: the Message for one form.
        """
        groups: dict[K, list[int]] = {}
        for user in users:
            groups.setdefault(form_of(user), []).append(user.conn_id)
        for form, conn_ids in groups.items():
            self.effects.append(Send(tuple(conn_ids), render(form).to_bytes()))

    def publish(
        self,
        record: HistoryRecord,
        recipients: Audience,
        msg: Message,
        *,
        echo: bool,
        client_tags: Mapping[str, str] | None = None,
        skip: int = 0,
    ) -> None:
        """Store a message, relay it to `recipients` and (if `echo`) to the sender, in order.

        Nothing of it is written before the record is committed, and nothing at all if the
        commit fails: the sender then gets an error instead (ServerState.undelivered).

        Args:
            record: the message as stored; its msgid goes on every copy.
            recipients: the recipients by tag form, from `room_audience` or `audience`
                (the sender is never added implicitly).
            msg: the line everyone sees, without tags.
            echo: give the sender its copy too (echo-message).
            client_tags: client-only tags to relay to message-tags clients.
            skip: a connection in `recipients` that does not get the relay: the sender, when
                `recipients` is a `room_audience` (0: none).
        """
        self._published.append(record)
        self._relay_into(self._shown, recipients, msg, record.msgid, client_tags, skip)
        if echo:
            line = self.tagged(msg, self.user.form, msgid=record.msgid, client_tags=client_tags)
            self._echoes.add(len(self._lines))
            self._lines.append(line)

    def persist(self, record: HistoryRecord | RoomRecord) -> None:
        """Store `record` durably before any later Send (effects.py contract)."""
        self.effects.append(Persist(record))

    def room_changed(self, key: str) -> None:
        """Tell the edge to re-advertise room `key` (RoomChanged)."""
        self.effects.append(RoomChanged(key))

    def query(self, query: HistoryQuery, *, batch_target: str = "") -> None:
        """Ask the edge to run a history query; rows return via the history renderer."""
        self.effects.append(
            Query(self.user.conn_id, query, label=self.label, batch_target=batch_target)
        )
        # The labeled response is the history batch sent later, not an ACK now.
        self.label = None

    def disconnect(self, reason: str) -> None:
        """Close the sender's connection once its replies are written."""
        self._closing = reason

    def finish(self) -> list[Effect]:
        """All effects of this event: the collected effects, the replies, then any close.

        With messages published (ctx.publish) the replies go inside their Publish, after the
        relays, since they carry the echoes: one unit, shown only once stored.
        """
        data = self._render_replies()
        conn_id = self.user.conn_id
        if self._published:
            # The replies travel with the messages: they carry the echoes (labeled-response
            # puts the label on the echo), and on failure the error takes their place. When
            # the last relay skips the sender, they take the sender's place in it, so the edge
            # keeps the room's messages in one run (lanchat.server.fanout).
            shown = self._shown
            if data:
                last = shown[-1] if shown else None
                if last is not None and last.skip == conn_id and conn_id in last.conn_ids:
                    shown[-1] = Send(last.conn_ids, last.data, conn_id, data)
                else:
                    shown.append(Send((conn_id,), data))
            echoes = self._echoes
            self.effects.append(
                Publish(
                    conn_id,
                    tuple(self._published),
                    tuple(shown),
                    self.label,
                    tuple(line for i, line in enumerate(self._lines) if i not in echoes),
                )
            )
        elif data:
            self.effects.append(Send((conn_id,), data))
        if self._closing is not None:
            self.effects.append(Disconnect(self.user.conn_id, self._closing))
        return self.effects

    def _render_replies(self) -> bytes:
        lines = self._lines
        label = self.label
        if label is None:
            return b"".join([m.to_bytes() for m in lines])
        # ircv3 labeled-response: no reply -> ACK; one line -> label tag on it;
        # several -> a labeled-response batch carrying the label, each line tagged batch=ref.
        if not lines:
            return Message("ACK", source=self.server_name, tags={"label": label}).to_bytes()
        if len(lines) == 1:
            only = lines[0]
            return _with_tags(only, {"label": label, **only.tags}).to_bytes()
        ref = self.state.new_batch_ref()
        out = [
            Message(
                "BATCH",
                (f"+{ref}", "labeled-response"),
                source=self.server_name,
                tags={"label": label},
            ).to_bytes()
        ]
        for m in lines:
            # A line already in a batch (e.g. a nested chathistory batch's lines) keeps it.
            out.append(
                m.to_bytes()
                if "batch" in m.tags
                else _with_tags(m, {"batch": ref, **m.tags}).to_bytes()
            )
        out.append(Message("BATCH", (f"-{ref}",), source=self.server_name).to_bytes())
        return b"".join(out)


def audience(users: Iterable[User]) -> Audience:
    """`users` grouped by tag form: the recipients argument of `Context.publish`."""
    return list(group_by_form(users).items())


def _with_tags(msg: Message, tags: dict[str, str]) -> Message:
    return Message(msg.command, msg.params, source=msg.source, tags=tags)
