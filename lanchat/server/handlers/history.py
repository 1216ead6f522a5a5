"""CHATHISTORY: validate a history request, ask the store through a Query, render the batch.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
No sqlite here: the handler returns a `Query` effect, the edge runs it off the loop and hands
the rows to ServerState.history_result(), which calls `render_history` below.
Spec: https://ircv3.net/specs/extensions/chathistory (subcommands, FAIL codes, TARGETS),
https://ircv3.net/specs/extensions/batch and batches/chathistory, and
https://ircv3.net/specs/extensions/labeled-response (the label goes on the opening BATCH).

Grammar (ircv3 chathistory "CHATHISTORY Command")::

    CHATHISTORY LATEST  <target> <* | msgref> <limit>
    CHATHISTORY BEFORE  <target> <msgref> <limit>
    CHATHISTORY AFTER   <target> <msgref> <limit>
    CHATHISTORY AROUND  <target> <msgref> <limit>
    CHATHISTORY BETWEEN <target> <msgref> <msgref> <limit>
    CHATHISTORY TARGETS <timestamp=...> <timestamp=...> <limit>
    msgref = "timestamp=" YYYY-MM-DDThh:mm:ss.sssZ / "msgid=" <msgid>

Who may read what: a room's history only while in the room (the spec's "servers MAY wish to
disallow clients from querying the history of channels they are not joined to"). Private
history belongs to an account, never to a nick: whoever took `alice` later, from any address,
read alice's private conversations (issue 13, item 2). Private messages between two logged-in
users are stored under their two accounts (ServerState.conversation_key, the one place that
makes keys) and given back only to a client logged in to one of them (issue 17):
`CHATHISTORY ... bob` reads the asker's conversation with the account of bob (the account bob
is logged in to now, or else the account named bob), and TARGETS lists those conversations
by the other account's name. Every other private message is stored (nothing accepted is
lost) but given back to nobody: a request for one gets an empty batch, as for a
conversation with no messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from lanchat.errors import MalformedLine
from lanchat.protocol.casemap import casefold, is_valid_nick
from lanchat.protocol.message import Message
from lanchat.protocol.tags import format_server_time, parse_server_time
from lanchat.server.context import Context
from lanchat.server.effects import Query
from lanchat.server.handlers.multiline import record_lines
from lanchat.server.handlers.rooms import echo_param
from lanchat.store.records import HistoryQuery, HistoryRecord, account_pair_key

__all__ = ["peer_account", "render_history", "send_batch"]

# Parameters after the subcommand, per subcommand.
_ARITY = {"LATEST": 3, "BEFORE": 3, "AFTER": 3, "AROUND": 3, "BETWEEN": 4, "TARGETS": 3}
# Without draft/event-playback only PRIVMSG and NOTICE may appear in a reply batch (spec,
# "Returned message notes"); lanchat does not offer event-playback, so TAGMSG stays out.
_REPLAYED = frozenset({"PRIVMSG", "NOTICE"})


class _Invalid(Exception):
    """A parameter that cannot be used: becomes FAIL CHATHISTORY INVALID_PARAMS."""

    def __init__(self, *context: str) -> None:
        super().__init__(*context)
        self.context = context  # the offending parameter (if any) and the description


def _fail(ctx: Context, code: str, *context: str) -> None:
    # ircv3 standard-replies: FAIL <command> <code> [<context>...] :<description>
    ctx.reply(Message("FAIL", ("CHATHISTORY", code, *context), source=ctx.server_name))


def _msgref(sub: str, text: str, *, star: bool = False) -> str | int | None:
    """A bound: msgid string, Unix ms, or None for LATEST's "*"."""
    if star and text == "*":
        return None
    kind, _, value = text.partition("=")
    if kind == "timestamp" and value:
        try:
            return parse_server_time(value)
        except MalformedLine:
            raise _Invalid(sub, echo_param(text), "Invalid timestamp") from None
    if kind == "msgid" and value and sub != "TARGETS":
        return value
    raise _Invalid(sub, echo_param(text), "Invalid message reference: use timestamp= or msgid=")


def _limit(ctx: Context, sub: str, text: str) -> int:
    if not text.isdigit():
        raise _Invalid(sub, echo_param(text), "Invalid limit: use a whole number")
    maximum = ctx.state.config.limits.chathistory_max
    # 0 asks for as many as allowed, as in Ergo; more than the maximum is capped to it.
    return min(int(text), maximum) or maximum


# CHATHISTORY <subcommand> <target> <timestamp | msgid | *> [<timestamp | msgid>] <limit>
# CHATHISTORY TARGETS <timestamp> <timestamp> <limit>
def handle_chathistory(ctx: Context, msg: Message) -> None:
    """Check the request and its rights; hand a HistoryQuery to the edge."""
    if not msg.params:
        _fail(ctx, "INVALID_PARAMS", "*", "Insufficient parameters")
        return
    sub = msg.params[0].upper()
    args = msg.params[1:]
    if sub not in _ARITY:
        _fail(ctx, "INVALID_PARAMS", echo_param(msg.params[0]), "Unknown command")
        return
    if len(args) != _ARITY[sub]:
        problem = "Insufficient parameters" if len(args) < _ARITY[sub] else "Too many parameters"
        _fail(ctx, "INVALID_PARAMS", sub, problem)
        return
    try:
        if sub == "TARGETS":
            _targets(ctx, args)
        else:
            _messages(ctx, sub, args)
    except _Invalid as bad:
        _fail(ctx, "INVALID_PARAMS", *bad.context)


def _messages(ctx: Context, sub: str, args: Sequence[str]) -> None:
    target = args[0]
    start = _msgref(sub, args[1], star=sub == "LATEST")
    end = _msgref(sub, args[2]) if sub == "BETWEEN" else None
    limit = _limit(ctx, sub, args[-1])
    user = ctx.user
    if target.startswith("#"):
        room = ctx.state.find_room(target)
        if room is not None and user.conn_id in room.members:
            query = HistoryQuery(sub, target_key=room.key, start=start, end=end, limit=limit)
            ctx.query(query, batch_target=room.name)
            return
    elif is_valid_nick(target, ctx.state.config.limits.nicklen):
        other = ctx.state.find_user(target)
        shown = other.nick if other is not None else target
        peer = peer_account(ctx, target)
        if user.account and peer:
            key = account_pair_key(casefold(user.account), peer)
            query = HistoryQuery(sub, target_key=key, start=start, end=end, limit=limit)
            ctx.query(query, batch_target=shown)
            return
        # Nobody's to read (module docstring): an empty batch, and the store is not asked.
        render_history(ctx, Query(user.conn_id, HistoryQuery(sub), batch_target=shown), ())
        return
    _fail(ctx, "INVALID_TARGET", sub, echo_param(target), "Messages could not be retrieved")


def _targets(ctx: Context, args: Sequence[str]) -> None:
    start = _msgref("TARGETS", args[0])
    end = _msgref("TARGETS", args[1])
    limit = _limit(ctx, "TARGETS", args[2])
    # The conversations this client may read: its rooms, and its account's conversations
    # with every other account (one index probe each; a LAN server has few accounts).
    keys = tuple(ctx.user.rooms)
    if ctx.user.account:
        mine = casefold(ctx.user.account)
        keys += tuple(account_pair_key(mine, other) for other in ctx.state.accounts)
    query = HistoryQuery("TARGETS", start=start, end=end, limit=limit, target_keys=keys)
    ctx.query(query)


def render_history(ctx: Context, query: Query, records: Sequence[HistoryRecord]) -> None:
    """Send the rows of a CHATHISTORY query to the client that asked, in one batch.

    With the batch capability the lines are wrapped in `BATCH +ref chathistory <target>` (or
    `draft/chathistory-targets` for TARGETS) and the labeled-response label, if any, is put on
    the opening BATCH; without it the lines are sent bare (Ergo #2066). Each message keeps
    its original source, msgid and time, plus its client-only tags for message-tags clients;
    a multiline message is a nested draft/multiline batch, or its lines (record_lines).

    Args:
        ctx: a Context for the asking client; ctx.label is the request's label.
        query: the Query effect the handler emitted.
        records: the rows, oldest first.
    """
    user, server = ctx.user, ctx.server_name
    lines: list[Message] = []
    if query.query.subcommand == "TARGETS":
        kind: tuple[str, ...] = ("draft/chathistory-targets",)
        for record in records:
            when = format_server_time(record.time_ms / 1000)
            shown = _target_name(ctx, record)
            lines.append(Message("CHATHISTORY", ("TARGETS", shown, when), source=server))
    else:
        kind = ("chathistory", query.batch_target)
        for record in records:
            if record.command in _REPLAYED:
                lines += record_lines(ctx, user, record)
    send_batch(ctx, kind, lines)


def send_batch(ctx: Context, kind: tuple[str, ...], lines: list[Message]) -> None:
    """Send `lines` to the asker in one `BATCH +ref <kind...>`, or bare without batch.

    The label of the request, if any, goes on the opening BATCH (labeled-response), which
    takes the place of an ACK. Lines already in a nested batch keep their own batch tag.

    Args:
        ctx: a Context for the asking client; ctx.label is the request's label.
        kind: the batch type and its parameters, e.g. ("chathistory", "#lobby").
        lines: the lines of the answer, in order.
    """
    user, server = ctx.user, ctx.server_name
    label, ctx.label = ctx.label, None  # the batch carries the label: no ACK, no wrapping
    if user.has("batch"):
        ref = ctx.state.new_batch_ref()
        opening_tags = {"label": label} if label else {}
        opening = Message("BATCH", (f"+{ref}", *kind), source=server, tags=opening_tags)
        lines = [
            opening,
            *(Message(m.command, m.params, m.source, {"batch": ref, **m.tags}) for m in lines),
            Message("BATCH", (f"-{ref}",), source=server),
        ]
    if lines:
        ctx.send((user.conn_id,), b"".join(m.to_bytes() for m in lines))


def peer_account(ctx: Context, target: str) -> str:
    """The casefolded account of the person the nick `target` names: logged in now, or by name.

    "" when it names no account. CHATHISTORY, SEARCH and REDACT find a private conversation
    with it: account_pair_key(the asker's account, this).
    """
    other = ctx.state.find_user(target)
    if other is not None and other.account:
        return casefold(other.account)
    key = casefold(target)
    return key if key in ctx.state.accounts else ""


def _target_name(ctx: Context, record: HistoryRecord) -> str:
    """How the client names a conversation: a room as it was created (its messages may spell
    it otherwise), a private one by the other account's name."""
    key = record.target_key
    if key.startswith("~"):
        mine = f"~{casefold(ctx.user.account)}"
        first, _, second = key.partition(" ")
        other = ctx.state.accounts.get((second if first == mine else first)[1:])
        return other.name if other is not None else record.target
    room = ctx.state.rooms.get(key)
    return room.name if room is not None else record.target
