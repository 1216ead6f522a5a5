"""RENAME: a room's operator gives it a new name; members, modes, topic and history follow.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: https://ircv3.net/specs/extensions/channel-rename (work in progress, so the capability
is `draft/channel-rename`).

Who may: an operator of the room, as for KICK and MODE. A room named in the server's
configuration keeps its name (it would come back under the old one at the next start).
What follows the room: everything it holds, and its stored history (the store moves it under
the new key: lanchat.store.db, RoomRecord.renamed_from); discovery withdraws the old name and
advertises the new one (two RoomChanged effects). Members with the capability see
`RENAME old new :reason`; the others see themselves PART the old room and JOIN the new one,
with its topic and names, as the spec's fallback says (none of it for a change of case only).
"""

from __future__ import annotations

import dataclasses

from lanchat.protocol.casemap import casefold, is_valid_channel
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.handlers.rooms import room_named, seat_in, send_names, send_topic
from lanchat.server.model import Room

__all__: list[str] = []

CAP = "draft/channel-rename"


def _fail(ctx: Context, code: str, old: str, new: str, text: str) -> None:
    # ircv3 standard-replies: "FAIL RENAME <code> <old-channel> <new-channel> :<text>"
    ctx.reply(Message("FAIL", ("RENAME", code, old, new, text), source=ctx.server_name))


# RENAME <channel> <new name> [<reason>]
def handle_rename(ctx: Context, msg: Message) -> None:
    """Give a room a new name (operators); everything in it, and its history, goes along."""
    state = ctx.state
    old_name, new_name = msg.params[0], msg.params[1]
    reason = msg.params[2] if len(msg.params) > 2 else ""
    room = room_named(ctx, old_name)
    if room is None or seat_in(ctx, room, need_op=True) is None:
        return
    new_key = casefold(new_name)
    channellen = state.config.limits.channellen
    if not new_name.startswith("#") or not is_valid_channel(new_name, channellen):
        text = "That is not a room name: it starts with # and has no spaces or commas"
        _fail(ctx, "CANNOT_RENAME", room.name, new_name, text)
        return
    if new_key != room.key and new_key in state.rooms:
        text = "A room of that name already exists; choose another name"
        _fail(ctx, "CHANNEL_NAME_IN_USE", room.name, new_name, text)
        return
    if room.permanent:
        text = "This room is named in the server's configuration; rename it there"
        _fail(ctx, "CANNOT_RENAME", room.name, new_name, text)
        return
    old_name, old_key = room.name, room.key
    if new_name == old_name:
        return
    _move(ctx, room, new_name, new_key)
    if new_key != old_key:
        # Seal whatever the store holds under the new name (as add_room does for a new room),
        # then move the room's row and its history there.
        ctx.persist(room.to_record(deleted=True))
        ctx.persist(dataclasses.replace(room.to_record(), renamed_from=old_key))
        ctx.room_changed(old_key)
    else:
        ctx.persist(room.to_record())
    ctx.room_changed(new_key)
    rename = Message("RENAME", (old_name, new_name, reason), source=ctx.user.source)
    others = [m.user for m in room.members.values() if m.user is not ctx.user]
    ctx.relay([u for u in others if u.has(CAP)], rename)
    case_only = new_key == old_key
    if ctx.user.has(CAP):
        ctx.reply(ctx.tagged(rename, ctx.user.form))
    elif not case_only:
        _fallback(ctx, room, old_name, reason)
    if not case_only:
        for user in others:
            if not user.has(CAP):
                told = Context(state, user)
                _fallback(told, room, old_name, reason)
                ctx.effects += told.finish()


def _move(ctx: Context, room: Room, new_name: str, new_key: str) -> None:
    """Re-key the room everywhere the server finds rooms by key."""
    state, old_key = ctx.state, room.key
    del state.rooms[old_key]
    room.name, room.key = new_name, new_key
    state.rooms[new_key] = room
    for member in room.members.values():
        member.user.rooms.pop(old_key, None)
        member.user.rooms[new_key] = room
    for user in state.users.values():
        if old_key in user.invited_to:
            user.invited_to = (user.invited_to - {old_key}) | {new_key}


def _fallback(ctx: Context, room: Room, old_name: str, reason: str) -> None:
    """The spec's fallback for a client without the capability: PART, JOIN, topic, names."""
    user = ctx.user
    part = Message("PART", (old_name, reason) if reason else (old_name,), source=user.source)
    ctx.reply(ctx.tagged(part, user.form))
    if user.has("extended-join"):
        # extended-join names the account, "*" when logged out (as handlers/rooms.py's JOIN).
        join = Message("JOIN", (room.name, user.account or "*", user.realname), source=user.source)
    else:
        join = Message("JOIN", (room.name,), source=user.source)
    ctx.reply(ctx.tagged(join, user.form))
    if room.topic:
        send_topic(ctx, room)
    send_names(ctx, room)
