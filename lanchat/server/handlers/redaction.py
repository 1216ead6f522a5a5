"""REDACT: take a message out of a room's history, for everyone (draft/message-redaction).

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: https://ircv3.net/specs/extensions/message-redaction (the command, its FAIL codes, what
chathistory does after it, the optional fallback).

Grammar::

    REDACT <target> <msgid> [:<reason>]

Who may: the sender of the message (the same nick!user@ip: a nick alone is not a person,
issue 13) or an operator of the room. How: the handler asks the store for the message (a
MSGID Query, off the loop like CHATHISTORY), `finish_redaction` checks the right on the row
and persists a Redaction, which deletes the row and its words in the search index, so no
CHATHISTORY or SEARCH gives it back ("exclude it entirely"). Then the REDACT is relayed to the
room's members that enabled draft/message-redaction, the redactor included.

Clients without the capability are told nothing (the spec leaves the fallback to servers):
they keep what they saw, and a NOTICE naming who deleted what and why would repeat the
message's subject to the whole room. Private messages cannot be redacted: private history is
given back to nobody (issue 13) until accounts say whose it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from lanchat.protocol import numerics as n
from lanchat.protocol.casemap import CHANTYPES, casefold
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.dispatch import command, on_query_result
from lanchat.server.effects import Query
from lanchat.server.handlers.rooms import echo_param
from lanchat.store.records import HistoryQuery, HistoryRecord, Redaction

__all__ = ["CAP", "finish_redaction"]

CAP = "draft/message-redaction"


def _fail(ctx: Context, code: str, *context: str) -> None:
    ctx.reply(Message("FAIL", ("REDACT", code, *context), source=ctx.server_name))


def _invalid_target(ctx: Context, target: str) -> None:
    target = echo_param(target)
    _fail(ctx, "INVALID_TARGET", target, f"You cannot delete messages from {target}")


# REDACT <target> <msgid> [:<reason>]
@command("REDACT", min_params=2)
def handle_redact(ctx: Context, msg: Message) -> None:
    """Ask the store for the message; `finish_redaction` decides on the row."""
    user = ctx.user
    if not user.has(CAP):
        ctx.numeric(n.ERR_UNKNOWNCOMMAND, msg.command)  # what it was before the capability
        return
    target, msgid = msg.params[0], msg.params[1]
    room = ctx.state.find_room(target) if target[:1] in CHANTYPES else None
    if room is None or user.conn_id not in room.members:
        _invalid_target(ctx, target)
        return
    reason = msg.params[2] if len(msg.params) > 2 else ""
    # The reason rides in the query's text: the Query effect is the whole request.
    query = HistoryQuery("MSGID", target_key=room.key, start=msgid, limit=1, text=reason)
    ctx.query(query, batch_target=room.name)


@on_query_result("MSGID")
def finish_redaction(ctx: Context, query: Query, records: Sequence[HistoryRecord]) -> None:
    """The message is found (or not): check the right, delete it, tell who can hear it.

    Args:
        ctx: a Context for the redactor; ctx.label is the REDACT's label.
        query: the MSGID Query effect of handle_redact.
        records: the message, or nothing when no message of the room has that msgid.
    """
    user, state = ctx.user, ctx.state
    msgid = str(query.query.start)
    room = state.rooms.get(query.query.target_key)
    # Checked again: the redactor may have left while the store looked.
    if room is None or user.conn_id not in room.members:
        _invalid_target(ctx, query.batch_target)
        return
    if not records:
        text = "This message does not exist or is too old"
        _fail(ctx, "UNKNOWN_MSGID", room.name, echo_param(msgid), text)
        return
    record = records[0]
    member = room.members[user.conn_id]
    if not (_same_sender(record.source, user.source) or member.is_op):
        text = "You are not authorised to delete this message"
        _fail(ctx, "REDACT_FORBIDDEN", room.name, echo_param(msgid), text)
        return
    ctx.persist(Redaction(record.msgid, room.key))
    reason = query.query.text
    params = (room.name, record.msgid, reason) if reason else (room.name, record.msgid)
    line = Message("REDACT", params, source=user.source)
    event_id = state.new_msgid()
    others = [m.user for m in room.members.values() if m.user is not user and m.user.has(CAP)]
    ctx.relay(others, line, msgid=event_id)
    ctx.reply(ctx.tagged(line, user.form, msgid=event_id))


def _same_sender(stored: str, current: str) -> bool:
    """Whether two sources nick!user@ip are the same (the nick compared casefolded)."""
    nick_a, _, rest_a = stored.partition("!")
    nick_b, _, rest_b = current.partition("!")
    return rest_a == rest_b and casefold(nick_a) == casefold(nick_b)
