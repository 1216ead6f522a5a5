"""Queries about people and the server: WHO WHOIS WHOWAS ISON USERHOST AWAY LUSERS MOTD.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: https://modern.ircdocs.horse/#user-based-queries (WHO, WHOIS, WHOWAS),
https://ircv3.net/specs/extensions/whox (WHO's "%fields"), .../bot-mode (335, the B flag),
https://modern.ircdocs.horse/#ison-message, #userhost-message, #away-message,
#lusers-message, #motd-message and https://ircv3.net/specs/extensions/away-notify.

Privacy rules, as other servers apply them: +s rooms are left out of WHOIS/WHO for people
outside them, and +i users are hidden from WHO masks of people who share no room with them.
"""

from __future__ import annotations

from lanchat.protocol import numerics as n
from lanchat.protocol.casemap import casefold
from lanchat.protocol.hostmask import mask_matches
from lanchat.protocol.isupport import BOT_MODE
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.handlers.registration import send_lusers, send_motd
from lanchat.server.handlers.rooms import can_see_room, echo_param, pack_words
from lanchat.server.model import Membership, Room, User
from lanchat.server.monitor import with_extended_monitor

__all__: list[str] = []

MAX_USERHOST_NICKS = 5  # modern.ircdocs "USERHOST message": up to five nicknames


def _shares_room(a: User, b: User) -> bool:
    return not a.rooms.keys().isdisjoint(b.rooms.keys())


# WHOX (https://ircv3.net/specs/extensions/whox): "WHO <mask> %<fields>[,<token>]" asks for
# RPL_WHOSPCRPL (354) with only these fields, always in this order, whatever order was asked.
WHOX_FIELDS = "tcuihsnfdlaor"
MAX_WHOX_TOKEN_DIGITS = 3  # "t": the token is 1 to 3 digits


def _whox_request(params: tuple[str, ...]) -> tuple[str, str] | None:
    """The fields (in WHOX_FIELDS order) and token of a WHOX request, or None for plain WHO."""
    if len(params) < 2 or "%" not in params[1]:
        return None
    fields, _, token = params[1].partition("%")[2].partition(",")
    if not (token.isdigit() and len(token) <= MAX_WHOX_TOKEN_DIGITS):
        token = "0"
    return "".join(f for f in WHOX_FIELDS if f in fields), token


def _who_line(
    ctx: Context,
    user: User,
    room: Room | None,
    member: Membership | None,
    whox: tuple[str, str] | None,
) -> None:
    # RPL_WHOREPLY "<client> <channel> <username> <host> <server> <nick> <flags> :<hopcount>
    # <realname>"; flags: H (here) or G (gone, i.e. away), B for a bot (bot-mode), then the
    # member's prefixes.
    flags = "G" if user.away else "H"
    if "o" in user.modes:
        flags += "*"  # a server operator (modern.ircdocs RPL_WHOREPLY flags)
    if BOT_MODE in user.modes:
        flags += BOT_MODE
    if member is not None and member.modes:
        flags += member.prefixes("multi-prefix" in ctx.user.caps)
    if whox is not None:
        fields, token = whox
        values = {
            "t": token,
            "c": room.name if room else "*",
            "u": user.username,
            "i": user.host,  # the IP, "0"-prefixed when it starts with ':' as the host is
            "h": user.host,
            "s": ctx.server_name,
            "n": user.nick,
            "f": flags,
            "d": "0",  # hop count: one server
            "l": str(int(ctx.now - (user.last_message or user.connected_at))),
            "a": user.account or "0",  # account: "0" when logged out
            "o": "n/a",  # op level: not an ircu server (as Solanum and UnrealIRCd answer)
        }
        out = [values[f] for f in fields if f != "r"]
        # The real name may hold spaces: it is the last field, the trailing parameter.
        ctx.numeric(n.RPL_WHOSPCRPL, *out, text=user.realname if "r" in fields else None)
        return
    ctx.numeric(
        n.RPL_WHOREPLY,
        room.name if room else "*",
        user.username,
        user.host,
        ctx.server_name,
        user.nick,
        flags,
        text=f"0 {user.realname}",
    )


# WHO <mask> [%<fields>[,<token>]]
def handle_who(ctx: Context, msg: Message) -> None:
    """RPL_WHOREPLY (or WHOX's 354) for a room's members, a nick, or users matching a mask."""
    mask = msg.params[0] if msg.params and msg.params[0] else "*"
    whox = _whox_request(msg.params)
    asker = ctx.user
    room = ctx.state.find_room(mask) if mask.startswith("#") else None
    if room is not None:
        if can_see_room(room, asker):
            inside = asker.conn_id in room.members
            for member in room.members.values():
                if inside or "i" not in member.user.modes:
                    _who_line(ctx, member.user, room, member, whox)
    elif not mask.startswith("#"):
        exact = ctx.state.find_user(mask)
        if exact is not None and exact.registered:
            _who_line(ctx, exact, None, None, whox)
        else:
            # "0" is the old spelling of "everyone" (RFC 1459 4.5.1).
            pattern = "*" if mask == "0" else mask
            for user in ctx.state.users.values():
                if not user.registered:
                    continue
                if user is not asker and "i" in user.modes and not _shares_room(asker, user):
                    continue
                if any(
                    mask_matches(pattern, field)
                    for field in (user.nick, user.host, user.realname, user.source)
                ):
                    _who_line(ctx, user, None, None, whox)
    ctx.numeric(n.RPL_ENDOFWHO, echo_param(mask))


# WHOIS [<target>] <nick>{,<nick>}
def handle_whois(ctx: Context, msg: Message) -> None:
    """Who someone is, which rooms they are in, whether they are away, how long idle."""
    nicks = [x for x in msg.params[-1].split(",") if x][: ctx.state.config.limits.max_targets]
    for nick in nicks:
        user = ctx.state.find_user(nick)
        if user is None or not user.registered:
            ctx.numeric(n.ERR_NOSUCHNICK, echo_param(nick))
            ctx.numeric(n.RPL_ENDOFWHOIS, echo_param(nick))
            continue
        _whois(ctx, user)


def _whois(ctx: Context, user: User) -> None:
    asker = ctx.user
    ctx.numeric(n.RPL_WHOISUSER, user.nick, user.username, user.host, "*", text=user.realname)
    multi = asker.has("multi-prefix")
    rooms = [
        room.members[user.conn_id].prefixes(multi) + room.name
        for room in user.rooms.values()
        if can_see_room(room, asker)
    ]
    head = f":{ctx.server_name} {n.RPL_WHOISCHANNELS} {asker.nick} {user.nick} :"
    for run in pack_words(head, rooms):
        ctx.numeric(n.RPL_WHOISCHANNELS, user.nick, text=run)
    ctx.numeric(n.RPL_WHOISSERVER, user.nick, ctx.server_name, text=ctx.state.config.server.network)
    if "o" in user.modes:
        ctx.numeric(n.RPL_WHOISOPERATOR, user.nick)
    if user.account:
        ctx.numeric(n.RPL_WHOISACCOUNT, user.nick, user.account)
    if BOT_MODE in user.modes:
        ctx.numeric(n.RPL_WHOISBOT, user.nick)
    if user.away:
        ctx.numeric(n.RPL_AWAY, user.nick, text=user.away)
    idle_from = user.last_message or user.connected_at
    ctx.numeric(
        n.RPL_WHOISIDLE, user.nick, str(int(ctx.now - idle_from)), str(int(user.connected_at))
    )
    ctx.numeric(n.RPL_ENDOFWHOIS, user.nick)


# WHOWAS <nick> [<count>]
def handle_whowas(ctx: Context, msg: Message) -> None:
    """Who used a nick that is gone now (newest first), from the whowas ring."""
    nick = msg.params[0]
    count = int(msg.params[1]) if len(msg.params) > 1 and msg.params[1].isdigit() else 0
    key = casefold(nick)
    entries = [e for e in ctx.state.whowas if e.key == key]
    if count > 0:
        entries = entries[:count]
    if not entries:
        ctx.numeric(n.ERR_WASNOSUCHNICK, echo_param(nick))
    for entry in entries:
        ctx.numeric(
            n.RPL_WHOWASUSER, entry.nick, entry.username, entry.host, "*", text=entry.realname
        )
    ctx.numeric(n.RPL_ENDOFWHOWAS, echo_param(nick))


# ISON <nickname>{ <nickname>}
def handle_ison(ctx: Context, msg: Message) -> None:
    """Which of the given nicks are online, as they are spelled now."""
    online = []
    for word in " ".join(msg.params).split():
        user = ctx.state.find_user(word)
        if user is not None and user.registered:
            online.append(user.nick)
    ctx.numeric(n.RPL_ISON, text=" ".join(online))


# USERHOST <nickname>{ <nickname>}
def handle_userhost(ctx: Context, msg: Message) -> None:
    """nick=+user@host for up to five nicks ('-' instead of '+' when away)."""
    replies = []
    for word in msg.params[:MAX_USERHOST_NICKS]:
        user = ctx.state.find_user(word)
        if user is not None and user.registered:
            here = "-" if user.away else "+"
            replies.append(f"{user.nick}={here}{user.username}@{user.host}")
    ctx.numeric(n.RPL_USERHOST, text=" ".join(replies))


# AWAY [<text>]
def handle_away(ctx: Context, msg: Message) -> None:
    """Mark the sender away (with a message) or back; away-notify tells room-mates."""
    user = ctx.user
    text = msg.params[0][: ctx.state.config.limits.awaylen] if msg.params else ""
    user.away = text
    if text:
        ctx.numeric(n.RPL_NOWAWAY)
        notice = Message("AWAY", (text,), source=user.source)
    else:
        ctx.numeric(n.RPL_UNAWAY)
        notice = Message("AWAY", (), source=user.source)
    # ircv3 away-notify: only clients that asked for it get AWAY lines (and, with
    # extended-monitor, those that monitor the nick).
    neighbours = [u for u in ctx.state.neighbours(user) if u.has("away-notify")]
    ctx.relay(with_extended_monitor(ctx, user, "away-notify", neighbours), notice)


# LUSERS
def handle_lusers(ctx: Context, msg: Message) -> None:
    """User and room counts, as in the welcome burst."""
    send_lusers(ctx)


# MOTD [<target>]
def handle_motd(ctx: Context, msg: Message) -> None:
    """The message of the day, as in the welcome burst."""
    send_motd(ctx)
