"""Context: the output of one event for one sender, which every handler writes to.

Layer: pure server core; may import lanchat.protocol, lanchat.store.records and
lanchat.server.{model,effects}. No I/O. How handlers use it: lanchat.server.dispatch.
Spec: https://ircv3.net/specs/extensions/labeled-response (the label handling in
`Context.finish`), https://ircv3.net/specs/extensions/message-tags (tag forms).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from lanchat.protocol import numerics as n
from lanchat.protocol.message import Message, middle_param
from lanchat.protocol.tags import TagForm, format_server_time, tags_for_form
from lanchat.server.effects import (
    Disconnect,
    Effect,
    FilesRedacted,
    Password,
    Persist,
    Publish,
    Query,
    RoomChanged,
    Send,
)
from lanchat.server.model import Group, group_by_form
from lanchat.store.records import HistoryQuery, HistoryRecord, Redaction, RoomRecord

if TYPE_CHECKING:
    from lanchat.server.model import Room, User
    from lanchat.server.state import ServerState

__all__ = ["Audience", "Context", "audience"]

# Recipients of one relayed line, grouped by tag form: one Send (one serialisation) per group.
Audience = list[tuple[TagForm, Group]]
K = TypeVar("K", bound=Hashable)


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

        Every reply can be serialised (lanchat issue 13): a middle parameter that cannot be
        one (empty, a space, a leading ':', as a client may write a name it sends in a
        trailing parameter) is sent as "*" (lanchat.protocol.message.middle_param).

        Args:
            code: a constant from lanchat.protocol.numerics.
            params: the data parameters after the nick.
            text: the trailing text; the spec's default text for `code` when None.
        """
        trailing = text if text is not None else n.default_text(code)
        if trailing is None:
            # The code's last parameter is data (RPL_NAMREPLY's names): it is the trailing one.
            middles, last = params[:-1], params[-1:]
        else:
            middles, last = params, (trailing,)
        all_params = (self.user.nick, *map(middle_param, middles), *last)
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
        """`msg` with the tags a recipient of tag form `form` gets.

        Every line relayed here comes from the sender (its NICK line names its old nick), so
        it carries the sender's account (ircv3 account-tag) for the forms that take it; a line
        from the server (its source has no "!") carries none.
        """
        if form is TagForm.NONE:
            return msg  # no tags at all, so no server-time to format either
        account = self.user.account
        if account and "!" not in (msg.source or ""):
            account = ""
        tags = tags_for_form(
            form, time_tag=self.time_tag, msgid=msgid, client_tags=client_tags, account=account
        )
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

        These are the room's fan-out groups (Room.groups) as they are: the same Groups for
        every message until the membership changes, so a message costs no Python step per
        member and the edge can join consecutive messages per group (issue #4). The sender's
        own group comes last, where `finish` can give the sender its replies in place of the
        relay; a group that is the sender alone is left out.

        Args:
            room: the room the message goes to.
        """
        me, mine = self.user.conn_id, self.user.form
        groups = room.groups()
        out = [(form, group) for form, group in groups.items() if form is not mine]
        own = groups.get(mine)
        if own is not None and own.conn_ids != (me,):
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
        mine = self.user.form  # only the group of the sender's own tag form can hold it
        for form, group in groups:
            line = self.tagged(msg, form, msgid=msgid, client_tags=client_tags)
            skipped = skip if form is mine else 0
            out.append(Send(group.conn_ids, line.to_bytes(), skipped, group=group))

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
            skip: the sender, when it is seated in the room of a `room_audience`: its own
                group's relay skips it (0: nobody is skipped).
        """
        self._published.append(record)
        self._relay_into(self._shown, recipients, msg, record.msgid, client_tags, skip)
        if echo:
            line = self.tagged(msg, self.user.form, msgid=record.msgid, client_tags=client_tags)
            self._echoes.add(len(self._lines))
            self._lines.append(line)

    def publish_rendered(
        self,
        record: HistoryRecord,
        users: Iterable[User],
        form_of: Callable[[User], K],
        render: Callable[[K], list[Message]],
        *,
        echo: bool,
        echo_tags: Mapping[str, str] | None = None,
    ) -> None:
        """`publish` for a message whose lines differ by more than tags (draft/multiline).

        Like `fanout`, each distinct form is rendered and serialised once; like `publish`,
        nothing is written before the record is committed, and nothing if that fails.

        Args:
            record: the message as stored.
            users: the recipients (the sender is never added implicitly).
            form_of: the form a user needs, any hashable value.
            render: the complete lines (tags included) for one form.
            echo: give the sender its copy too (echo-message), rendered for its form.
            echo_tags: tags added to the first line of that copy (a label).
        """
        self._published.append(record)
        groups: dict[K, list[int]] = {}
        for user in users:
            groups.setdefault(form_of(user), []).append(user.conn_id)
        for form, conn_ids in groups.items():
            data = b"".join(line.to_bytes() for line in render(form))
            self._shown.append(Send(tuple(conn_ids), data))
        if echo:
            for i, line in enumerate(render(form_of(self.user))):
                if i == 0 and echo_tags:
                    line = _with_tags(line, {**echo_tags, **line.tags})
                self._echoes.add(len(self._lines))
                self._lines.append(line)

    def persist(self, record: HistoryRecord | RoomRecord | Redaction) -> None:
        """Store `record` durably before any later Send (effects.py contract)."""
        self.effects.append(Persist(record))

    def room_changed(self, key: str) -> None:
        """Tell the edge to re-advertise room `key` (RoomChanged)."""
        self.effects.append(RoomChanged(key))

    def files_redacted(self, text: str, uploaders: tuple[str, ...]) -> None:
        """Tell the edge to delete the shared files `text` links, if `uploaders` sent them."""
        self.effects.append(FilesRedacted(text, uploaders))

    def query(self, query: HistoryQuery, *, batch_target: str = "") -> None:
        """Ask the edge to run a history query; rows return via the history renderer."""
        self.effects.append(
            Query(self.user.conn_id, query, label=self.label, batch_target=batch_target)
        )
        # The labeled response is the history batch sent later, not an ACK now.
        self.label = None

    def password(
        self, purpose: str, name: str, password: str, *, stored: str = "", key: str = ""
    ) -> None:
        """Ask the edge to check (`stored` given) or hash a password off the loop (Password).

        The outcome comes back through ServerState.password_done, which hands it to the
        handler of `purpose` ("register", "sasl", "scram" or "oper") with a Context for the
        same client and label.
        """
        self.effects.append(
            Password(
                self.user.conn_id,
                purpose,
                name,
                password,
                stored=stored,
                key=key,
                created_s=int(self.now),
                label=self.label,
            )
        )
        self.label = None  # the answer comes later and carries the label then

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
            # keeps the room's messages in one run (lanchat.server.delivery).
            shown = self._shown
            if data:
                last = shown[-1] if shown else None
                if last is not None and last.skip == conn_id:
                    shown[-1] = Send(last.conn_ids, last.data, conn_id, data, last.group)
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
