"""MODE: show and change room modes (flags, key, limit, bans, op/voice) and user modes.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Parsing and applying changes is in lanchat.server.modes (pure, no Context); this module checks
who may do what, answers the errors and tells the room.
Spec: https://modern.ircdocs.horse/#mode-message, #channel-modes, #ban-channel-mode,
#exception-channel-mode, #invite-exception-channel-mode and #user-modes.

A change to what a room keeps across a restart (flags, key, limit, bans) is followed by
`ctx.persist(room.to_record())`, one to what discovery advertises (+k, +s) by
`ctx.room_changed(key)` (issue #2); op/voice live only as long as the membership.
"""

from __future__ import annotations

from lanchat.config import room_key_problem
from lanchat.protocol import numerics as n
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.handlers.rooms import (
    can_see_room,
    echo_param,
    room_named,
    seat_in,
    send_to_room,
)
from lanchat.server.model import NO_MODES, PREFIX_MODES, Room
from lanchat.server.modes import (
    LIST_MODES,
    ModeChange,
    apply_room_changes,
    list_of,
    parse_room_modes,
    parse_user_modes,
    render_changes,
    room_mode_params,
)

_PUBLIC_FACE_MODES = frozenset("ks")  # modes discovery advertises (key required, secret)
# A list mode's entry and end numerics (modern.ircdocs "Ban Channel Mode", "Exception Channel
# Mode", "Invite-Exception Channel Mode").
_LIST_REPLIES = {
    "b": (n.RPL_BANLIST, n.RPL_ENDOFBANLIST),
    "e": (n.RPL_EXCEPTLIST, n.RPL_ENDOFEXCEPTLIST),
    "I": (n.RPL_INVEXLIST, n.RPL_ENDOFINVEXLIST),
}


# MODE <target> [<modestring> [<mode arguments>...]]
def handle_mode(ctx: Context, msg: Message) -> None:
    """Show or change a room's modes, or the sender's own user modes."""
    target = msg.params[0]
    if target.startswith("#"):
        _room_mode(ctx, target, msg.params[1:])
    else:
        _user_mode(ctx, target, msg.params[1:])


def _room_mode(ctx: Context, name: str, params: tuple[str, ...]) -> None:
    state = ctx.state
    room = room_named(ctx, name)
    if room is None:
        return
    if not params:
        shown = room_mode_params(room, show_key=room.member(ctx.user) is not None)
        ctx.numeric(n.RPL_CHANNELMODEIS, room.name, *shown)
        ctx.numeric(n.RPL_CREATIONTIME, room.name, str(room.created_s))
        return
    parsed = parse_room_modes(params, state.config.limits.max_modes)
    for letter in parsed.unknown:
        ctx.numeric(n.ERR_UNKNOWNMODE, letter)
    for letter in parsed.list_queries:
        entry, end = _LIST_REPLIES[letter]
        if can_see_room(room, ctx.user):
            for mask in list_of(room, letter):
                ctx.numeric(entry, room.name, mask)
        ctx.numeric(end, room.name)
    if not parsed.changes or seat_in(ctx, room, need_op=True) is None:
        return
    applied: list[ModeChange] = []
    max_bans = state.config.limits.max_list_modes
    for change in parsed.changes:
        if change.mode in PREFIX_MODES:
            applied += _member_mode(ctx, room, change)
            continue
        done, rejected = apply_room_changes(room, [change], max_bans=max_bans)
        applied += done
        for bad in rejected:
            if bad.mode in LIST_MODES:
                ctx.numeric(n.ERR_BANLISTFULL, room.name, bad.mode)
            else:
                why = f"Key {room_key_problem(bad.param or '') or 'must not be empty'}"
                if bad.mode == "l":
                    why = "Limit must be a positive number"
                ctx.numeric(
                    n.ERR_INVALIDMODEPARAM,
                    room.name,
                    bad.mode,
                    echo_param(bad.param or ""),
                    text=why,
                )
    if not applied:
        return
    if any(c.mode not in PREFIX_MODES for c in applied):
        ctx.persist(room.to_record())
    if any(c.mode in _PUBLIC_FACE_MODES for c in applied):
        ctx.room_changed(room.key)
    mode = Message("MODE", (room.name, *render_changes(applied)), source=ctx.user.source)
    send_to_room(ctx, room, mode)


def _member_mode(ctx: Context, room: Room, change: ModeChange) -> list[ModeChange]:
    nick = change.param or ""
    target = ctx.state.find_user(nick)
    if target is None:
        ctx.numeric(n.ERR_NOSUCHNICK, echo_param(nick))
        return []
    membership = room.member(target)
    if membership is None:
        ctx.numeric(n.ERR_USERNOTINCHANNEL, target.nick, room.name)
        return []
    if change.adding == (change.mode in membership.modes):
        return []
    flag = frozenset(change.mode)
    membership.modes = (
        membership.modes | flag if change.adding else membership.modes - flag
    ) or NO_MODES
    return [ModeChange(change.adding, change.mode, target.nick)]


def _user_mode(ctx: Context, nick: str, params: tuple[str, ...]) -> None:
    user = ctx.user
    target = ctx.state.find_user(nick)
    if target is None:
        ctx.numeric(n.ERR_NOSUCHNICK, echo_param(nick))
        return
    if target is not user:
        ctx.numeric(n.ERR_USERSDONTMATCH)
        return
    if not params:
        ctx.numeric(n.RPL_UMODEIS, "+" + "".join(sorted(user.modes)))
        return
    changes, unknown = parse_user_modes(params[0])
    if unknown:
        ctx.numeric(n.ERR_UMODEUNKNOWNFLAG)
    # +o comes from OPER only (modern.ircdocs "Operator" user mode); -o is allowed.
    applied = [
        c
        for c in changes
        if c.adding != (c.mode in user.modes) and not (c.adding and c.mode == "o")
    ]
    for change in applied:
        flag = frozenset(change.mode)
        user.modes = (user.modes | flag if change.adding else user.modes - flag) or NO_MODES
    if applied:
        ctx.reply(Message("MODE", (user.nick, *render_changes(applied)), source=user.source))
