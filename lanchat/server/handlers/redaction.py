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
message's subject to the whole room.

Private messages: their history belongs to accounts (handlers/history.py), so a logged-in user
may redact their own messages of their account's conversation with the account of `<target>`
(a nick: history.peer_account), found under its account-pair key; the REDACT goes to every
connection logged in to either account that has the capability. Logged out, or a nick with
no account: INVALID_TARGET, as the messages are nobody's to take back.
"""

from __future__ import annotations

from collections.abc import Sequence

from lanchat.protocol import numerics as n
from lanchat.protocol.casemap import CHANTYPES, casefold, is_valid_nick
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.effects import Query
from lanchat.server.handlers.history import peer_account
from lanchat.server.handlers.rooms import echo_param
from lanchat.server.model import User
from lanchat.store.records import HistoryQuery, HistoryRecord, Redaction, account_pair_key

__all__ = ["CAP", "finish_redaction"]

CAP = "draft/message-redaction"


def _fail(ctx: Context, code: str, *context: str) -> None:
    ctx.reply(Message("FAIL", ("REDACT", code, *context), source=ctx.server_name))


def _invalid_target(ctx: Context, target: str) -> None:
    target = echo_param(target)
    _fail(ctx, "INVALID_TARGET", target, f"You cannot delete messages from {target}")


# REDACT <target> <msgid> [:<reason>]
def handle_redact(ctx: Context, msg: Message) -> None:
    """Ask the store for the message; `finish_redaction` decides on the row."""
    user = ctx.user
    if not user.has(CAP):
        ctx.numeric(n.ERR_UNKNOWNCOMMAND, msg.command)  # what it was before the capability
        return
    target, msgid = msg.params[0], msg.params[1]
    if target[:1] in CHANTYPES:
        room = ctx.state.find_room(target)
        key, shown = (room.key, room.name) if room and user.conn_id in room.members else ("", "")
    elif user.account and is_valid_nick(target, ctx.state.config.limits.nicklen):
        peer = peer_account(ctx, target)
        key = account_pair_key(casefold(user.account), peer) if peer else ""
        shown = target
    else:
        key = ""
    if not key:
        _invalid_target(ctx, target)
        return
    reason = msg.params[2] if len(msg.params) > 2 else ""
    # The reason rides in the query's text: the Query effect is the whole request.
    query = HistoryQuery("MSGID", target_key=key, start=msgid, limit=1, text=reason)
    ctx.query(query, batch_target=shown)


def finish_redaction(ctx: Context, query: Query, records: Sequence[HistoryRecord]) -> None:
    """The message is found (or not): check the right, delete it, tell who can hear it.

    Args:
        ctx: a Context for the redactor; ctx.label is the REDACT's label.
        query: the MSGID Query effect of handle_redact.
        records: the message, or nothing when no message of the room has that msgid.
    """
    user, state = ctx.user, ctx.state
    msgid, key, name = str(query.query.start), query.query.target_key, query.batch_target
    # Checked again: the redactor may have left the room, or logged out, while the store looked.
    if key.startswith("~"):  # a private conversation of two accounts: "~a ~b"
        pair = key.split(" ")
        hearers = [u for u in state.users.values() if u.registered and _in_pair(u, pair)]
        allowed, is_op = _in_pair(user, pair), False
    else:
        room = state.rooms.get(key)
        member = room.members.get(user.conn_id) if room is not None else None
        hearers = [m.user for m in room.members.values()] if room is not None else []
        allowed, is_op = member is not None, member is not None and member.is_op
    if not allowed:
        _invalid_target(ctx, name)
        return
    if not records:
        text = "This message does not exist or is too old"
        _fail(ctx, "UNKNOWN_MSGID", name, echo_param(msgid), text)
        return
    record = records[0]
    if not (_same_sender(record.source, user.source) or is_op):
        text = "You are not authorised to delete this message"
        _fail(ctx, "REDACT_FORBIDDEN", name, echo_param(msgid), text)
        return
    ctx.persist(Redaction(record.msgid, key))
    # Its shared files go with it, if the message's sender uploaded them (issue 21): by the
    # sender's address, or account when the sender redacts their own message.
    sender_ip = record.source.rpartition("@")[2]
    uploaders: tuple[str, ...] = (f"address:{sender_ip}",)
    if user.account and _same_sender(record.source, user.source):
        uploaders += (f"account:{casefold(user.account)}",)
    ctx.files_redacted(record.text, uploaders)
    reason = query.query.text
    params = (name, record.msgid, reason) if reason else (name, record.msgid)
    line = Message("REDACT", params, source=user.source)
    event_id = state.new_msgid()
    others = [u for u in hearers if u is not user and u.has(CAP)]
    ctx.relay(others, line, msgid=event_id)
    ctx.reply(ctx.tagged(line, user.form, msgid=event_id))


def _in_pair(user: User, pair: list[str]) -> bool:
    """Whether `user` is logged in to one of the accounts of an account-pair key's halves."""
    return bool(user.account) and f"~{casefold(user.account)}" in pair


def _same_sender(stored: str, current: str) -> bool:
    """Whether two sources nick!user@ip are the same (the nick compared casefolded)."""
    nick_a, _, rest_a = stored.partition("!")
    nick_b, _, rest_b = current.partition("!")
    return rest_a == rest_b and casefold(nick_a) == casefold(nick_b)
