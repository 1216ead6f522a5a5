"""Server operators, for the person who hosts: OPER KILL WALLOPS CLEARCHAN.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: https://modern.ircdocs.horse/#oper-message, #kill-message, #wallops-message and
#user-modes (+o operator, +w wallops); CLEARCHAN is InspIRCd's m_clearchan
(https://docs.inspircd.org/4/modules/clearchan/), reduced to its KICK method.

Policies (lanchat issue 17):
- Operators are the names in the config's [opers], each with a scrypt hash made by
  `lanchat passwd`; the password is checked off the loop (a Password effect). An unknown name
  and a wrong password get the same 464 after the same work, and count against the address in
  ServerState.auth_throttle like wrong SASL passwords and room keys. 491 only says that no
  operator is configured at all.
- +o is given by OPER only; an operator may drop it with MODE <nick> -o.
- An operator may act as a room operator in any room, member or not (MODE, KICK, TOPIC,
  INVITE: the override InspIRCd and Ergo give opers), and CLEARCHAN removes a room: everyone
  in it is kicked, the room is forgotten and its history sealed (rooms otherwise outlive their
  last member, ServerState.remove_member). Configured rooms are re-made at every start, so
  CLEARCHAN only empties them.
"""

from __future__ import annotations

from lanchat.protocol import numerics as n
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.effects import Password
from lanchat.server.handlers.accounts import UNKNOWN_NAME_HASH
from lanchat.server.handlers.rooms import echo_param, room_named, send_to_room
from lanchat.server.model import User

__all__ = ["is_oper", "oper_done"]

OPERATOR_MODE = frozenset("o")
WALLOPS_MODE = "w"


def is_oper(user: User) -> bool:
    """Whether `user` is a server operator (+o)."""
    return "o" in user.modes


def _require_oper(ctx: Context) -> bool:
    if is_oper(ctx.user):
        return True
    ctx.numeric(n.ERR_NOPRIVILEGES)
    return False


# OPER <name> <password>
def handle_oper(ctx: Context, msg: Message) -> None:
    """Become a server operator with a name and password from the config's [opers]."""
    user, state = ctx.user, ctx.state
    opers = dict(state.config.opers)
    if not opers:
        ctx.numeric(n.ERR_NOOPERHOST)
        return
    if user.password_pending:
        ctx.numeric(n.ERR_PASSWDMISMATCH, text="Your last password is still being checked")
        return
    wait = state.auth_throttle.retry_after_s(user.ip)
    if wait:
        text = f"Too many wrong passwords from your address; wait {wait} s and try again"
        ctx.numeric(n.ERR_PASSWDMISMATCH, text=text)
        return
    name, password = msg.params[0], msg.params[1]
    stored = opers.get(name)
    user.password_pending = True
    key = name if stored is not None else ""
    ctx.password("oper", name, password, stored=stored or UNKNOWN_NAME_HASH, key=key)


def oper_done(ctx: Context, effect: Password, ok: bool, detail: str) -> None:
    """The outcome of an OPER password check: 381 and +o, or 464 (counted as a failure).

    Args:
        ctx: a Context for the client that sent OPER.
        effect: the Password effect of the OPER.
        ok: the password matched (always False for an unknown name).
        detail: unused ("").
    """
    user, state = ctx.user, ctx.state
    if not ok or not effect.key:
        state.auth_throttle.failed(user.ip, f"operator password for {effect.name!r}")
        ctx.numeric(n.ERR_PASSWDMISMATCH)
        return
    ctx.numeric(n.RPL_YOUREOPER)
    if not is_oper(user):
        user.modes |= OPERATOR_MODE
        ctx.reply(Message("MODE", (user.nick, "+o"), source=user.source))


# KILL <nickname> <comment>
def handle_kill(ctx: Context, msg: Message) -> None:
    """An operator disconnects someone; its rooms see QUIT :Killed (<oper> (<comment>))."""
    if not _require_oper(ctx):
        return
    target = ctx.state.find_user(msg.params[0])
    if target is None:
        ctx.numeric(n.ERR_NOSUCHNICK, echo_param(msg.params[0]))
        return
    comment = msg.params[1] if len(msg.params) > 1 and msg.params[1] else "no reason given"
    reason = f"Killed ({ctx.user.nick} ({comment}))"
    if target is ctx.user:
        ctx.state.close_link(ctx, reason)
        return
    victim = Context(ctx.state, target)
    ctx.state.close_link(victim, reason)
    ctx.effects += victim.finish()


# WALLOPS <text>
def handle_wallops(ctx: Context, msg: Message) -> None:
    """An operator's message to everyone with user mode +w (the sender included, if +w)."""
    if not _require_oper(ctx):
        return
    user = ctx.user
    line = Message("WALLOPS", (msg.params[0],), source=user.source)
    readers = [
        u
        for u in ctx.state.users.values()
        if u.registered and WALLOPS_MODE in u.modes and u is not user
    ]
    ctx.relay(readers, line)
    if WALLOPS_MODE in user.modes:
        ctx.reply(ctx.tagged(line, user.form))


# CLEARCHAN <channel> [<reason>]
def handle_clearchan(ctx: Context, msg: Message) -> None:
    """An operator removes a room: everyone is kicked, the room forgotten, its history sealed."""
    if not _require_oper(ctx):
        return
    room = room_named(ctx, msg.params[0])
    if room is None:
        return
    state = ctx.state
    reason = msg.params[1] if len(msg.params) > 1 and msg.params[1] else "Room removed"
    for member in list(room.members.values()):
        kick = Message("KICK", (room.name, member.user.nick, reason), source=ctx.user.source)
        send_to_room(ctx, room, kick)
        state.remove_member(ctx, room, member.user)
    if room.permanent:
        ctx.notice(f"{room.name} is in the server's config: it was emptied, not removed")
        return
    state.forget_room(ctx, room)
    ctx.notice(f"{room.name} was removed; its history is sealed")
