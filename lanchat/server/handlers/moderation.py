"""Room moderation: KICK and INVITE.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: https://modern.ircdocs.horse/#kick-message, https://modern.ircdocs.horse/#invite-message
and https://ircv3.net/specs/extensions/invite-notify.

Both need the room's operators' say-so (KICK always, INVITE while +i, and to get past a ban);
what they change is not stored (an invite lasts as long as the invited connection, as in Ergo).
"""

from __future__ import annotations

from lanchat.protocol import numerics as n
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.handlers.rooms import echo_param, room_named, seat_in, send_to_room


# KICK <channel> <user>{,<user>} [<comment>]
def handle_kick(ctx: Context, msg: Message) -> None:
    """Operators remove members; each KICK is seen by the whole room."""
    room = room_named(ctx, msg.params[0])
    if room is None or seat_in(ctx, room, need_op=True) is None:
        return
    comment = msg.params[2] if len(msg.params) > 2 else ctx.user.nick
    comment = comment[: ctx.state.config.limits.kicklen]
    nicks = list(dict.fromkeys(filter(None, msg.params[1].split(","))))
    if len(nicks) > ctx.state.config.limits.max_targets:
        # TARGMAX KICK: all or nothing, as PRIVMSG, so no one is half-kicked by a typo.
        ctx.numeric(n.ERR_TOOMANYTARGETS, echo_param(msg.params[1]))
        return
    for nick in nicks:
        target = ctx.state.find_user(nick)
        if target is None:
            ctx.numeric(n.ERR_NOSUCHNICK, echo_param(nick))
            continue
        if target.conn_id not in room.members:
            ctx.numeric(n.ERR_USERNOTINCHANNEL, target.nick, room.name)
            continue
        kick = Message("KICK", (room.name, target.nick, comment), source=ctx.user.source)
        send_to_room(ctx, room, kick)
        ctx.state.remove_member(ctx, room, target)


# INVITE <nickname> <channel>
# INVITE
def handle_invite(ctx: Context, msg: Message) -> None:
    """Invite someone into a room (an operator's invite lets them past +i and bans once)."""
    if not msg.params:
        # modern.ircdocs "INVITE message": with no parameters, the rooms the sender is
        # invited to (RPL_INVITELIST 336 each, then RPL_ENDOFINVITELIST 337).
        for key in sorted(ctx.user.invited_to):
            room = ctx.state.rooms.get(key)
            if room is not None:
                ctx.numeric(n.RPL_INVITELIST, room.name)
        ctx.numeric(n.RPL_ENDOFINVITELIST)
        return
    if len(msg.params) < 2:
        ctx.numeric(n.ERR_NEEDMOREPARAMS, "INVITE")
        return
    nick, name = msg.params[0], msg.params[1]
    target = ctx.state.find_user(nick)
    if target is None or not target.registered:
        ctx.numeric(n.ERR_NOSUCHNICK, echo_param(nick))
        return
    room = room_named(ctx, name)
    if room is None:
        return
    seat = seat_in(ctx, room, need_op="i" in room.modes)
    if seat is None:
        return
    if target.conn_id in room.members:
        ctx.numeric(n.ERR_USERONCHANNEL, target.nick, room.name)
        return
    # Only an operator's invite lets its target past +i and bans (issue 13: any member could
    # lift a ban by inviting the banned person). Anyone else's is a plain "come and see", as
    # in Ergo, which records an invite only for a +i channel, where only operators may invite.
    if seat.is_op:
        target.invited_to |= {room.key}
    ctx.numeric(n.RPL_INVITING, target.nick, room.name)
    invite = Message("INVITE", (target.nick, room.name), source=ctx.user.source)
    ctx.relay([target], invite)
    # ircv3 invite-notify: operators with the cap learn about it; the inviter has its 341.
    watchers = [
        m.user
        for m in room.members.values()
        if m.is_op and m.user is not ctx.user and m.user.has("invite-notify")
    ]
    ctx.relay(watchers, invite)
