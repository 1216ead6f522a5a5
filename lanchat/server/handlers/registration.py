"""Connection registration and connection upkeep: CAP NICK USER PASS PING PONG QUIT SETNAME.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: https://modern.ircdocs.horse/#connection-registration, #nick-message, #user-message,
#pass-message, #ping-message, #quit-message, #lusers-message, #motd-message;
https://ircv3.net/specs/extensions/capability-negotiation and
https://ircv3.net/specs/extensions/setname.

Registration completes (001-005, LUSERS, MOTD) once the client has a nick and a user name and
no CAP negotiation is open (spec: the server "MUST suspend registration until an END
subcommand is received").
"""

from __future__ import annotations

import datetime as dt
import hmac

from lanchat import __version__
from lanchat.protocol import numerics as n
from lanchat.protocol.caps import cap_list_replies, cap_ls_replies, parse_cap_req
from lanchat.protocol.casemap import casefold, is_valid_nick
from lanchat.protocol.isupport import isupport_lines
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.model import User, WhowasEntry
from lanchat.server.modes import USER_MODES
from lanchat.server.monitor import notify_offline, notify_online, with_extended_monitor

__all__ = [
    "GUEST_PREFIX",
    "change_nick",
    "guard_nick",
    "owns_nick",
    "rename_to_guest",
    "send_lusers",
    "send_motd",
    "try_register",
]

VERSION = f"lanchat-{__version__}"
ROOM_MODES = "Ibeiklmnostv"
ROOM_MODES_WITH_PARAM = "Ibeklov"
MAX_USERNAME = 16  # longer USER names are cut (USERLEN is not advertised; 16 is common)
MAX_REALNAME = 200  # SETNAME / USER realname limit
GUEST_PREFIX = "Guest"  # nicks given to whoever loses an account's nick: Guest1, Guest2...
_USERNAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


# CAP <subcommand> [:<capabilities>]
def handle_cap(ctx: Context, msg: Message) -> None:
    """Capability negotiation (ircv3 capability-negotiation)."""
    user, server = ctx.user, ctx.server_name
    sub = msg.params[0].upper()
    if sub == "LS":
        version = int(msg.params[1]) if len(msg.params) > 1 and msg.params[1].isdigit() else 0
        user.cap_version = max(user.cap_version, version)
        if version >= 302:
            user.set_caps(user.caps | {"cap-notify"})  # implied by 302 (spec "cap-notify")
        if not user.registered:
            user.cap_negotiating = True
        for line in cap_ls_replies(server, user.nick, version):
            ctx.reply(line)
    elif sub == "LIST":
        for line in cap_list_replies(server, user.nick, user.caps, user.cap_version):
            ctx.reply(line)
    elif sub == "REQ":
        if not user.registered:
            user.cap_negotiating = True
        text = msg.params[1] if len(msg.params) > 1 else ""
        change = parse_cap_req(text, cap_version=user.cap_version)
        if change is None:
            ctx.reply(Message("CAP", (user.nick, "NAK", text), source=server))
            return
        user.set_caps((user.caps - change.disable) | change.enable)
        ctx.reply(Message("CAP", (user.nick, "ACK", text.strip()), source=server))
    elif sub == "END":
        if not user.registered:
            user.cap_negotiating = False
            try_register(ctx)
    else:
        ctx.numeric(n.ERR_INVALIDCAPCMD, msg.params[0])


# NICK <nickname>
def handle_nick(ctx: Context, msg: Message) -> None:
    """Set or change the nick; tell everyone sharing a room, once each."""
    user, state = ctx.user, ctx.state
    if not msg.params or not msg.params[0]:
        ctx.numeric(n.ERR_NONICKNAMEGIVEN)
        return
    nick = msg.params[0]
    if not is_valid_nick(nick, state.config.limits.nicklen):
        ctx.numeric(n.ERR_ERRONEUSNICKNAME, nick)
        return
    key = casefold(nick)
    holder = state.nicks.get(key)
    if holder is not None and holder is not user:
        if not owns_nick(user, key) or owns_nick(holder, key):
            ctx.numeric(n.ERR_NICKNAMEINUSE, nick)
            return
        # The account that owns the nick asks for it: whoever sits on it without logging in
        # is renamed at once rather than after its grace period (issue 17).
        rename_to_guest(Context(state, holder), ctx)
    if nick == user.nick:
        return
    change_nick(ctx, nick, key)
    if user.registered:
        guard_nick(ctx)
    else:
        try_register(ctx)


def owns_nick(user: User, key: str) -> bool:
    """Whether `user` is logged in to the account named `key` (a casefolded nick)."""
    return bool(user.account) and casefold(user.account) == key


def change_nick(ctx: Context, nick: str, key: str) -> None:
    """Give ctx.user the free nick `nick` (casefolded `key`); tell everyone sharing a room.

    Args:
        ctx: the context of the user whose nick changes.
        nick: the new nick, valid and not held by anyone else.
        key: casefold(nick).
    """
    user, state = ctx.user, ctx.state
    old_source, old_nick, old_key = user.source, user.nick, user.key
    if user.key and state.nicks.get(user.key) is user:
        del state.nicks[user.key]
    if user.registered:
        state.whowas.appendleft(
            WhowasEntry(user.nick, user.key, user.username, user.host, user.realname, ctx.now)
        )
    if key == nick:
        key = nick  # most nicks are already lower case: keep one string, not two (issue #4)
    user.nick, user.key = nick, key
    state.nicks[key] = user
    if user.registered:
        change = Message("NICK", (nick,), source=old_source)
        ctx.relay(state.neighbours(user), change)
        ctx.reply(ctx.tagged(change, user.form))
        if old_key != key:  # MONITOR: a new case of the same nick is no news
            notify_offline(ctx, old_nick, old_key)
            notify_online(ctx, user)


def guard_nick(ctx: Context) -> None:
    """Start or stop the grace period of a registered user on a nick an account owns.

    Someone else on an account's nick (not logged in to it) is told at once that it will be
    renamed after config.accounts.nick_grace_s unless it logs in; ServerState.tick renames it
    (issue 17). Called after registration, each nick change and each login.
    """
    user, state = ctx.user, ctx.state
    if user.key not in state.accounts or owns_nick(user, user.key):
        user.rename_at = 0.0
        return
    grace = state.config.accounts.nick_grace_s
    user.rename_at = ctx.now + grace
    ctx.notice(
        f"The nick {user.nick} belongs to a registered account. Log in to it within "
        f"{grace:g} seconds (SASL PLAIN or SCRAM-SHA-256, account {user.nick}, in your client's "
        "settings) or change your nick; otherwise you will be renamed to a Guest nick."
    )


def rename_to_guest(ctx: Context, cause: Context | None = None) -> None:
    """Rename ctx.user to a free Guest nick (its grace period ended, or the owner came).

    Args:
        ctx: the context of the user to rename.
        cause: the context of the event this happens in, if it is not ctx's own: ctx's
            effects are moved there, in order.
    """
    user, state = ctx.user, ctx.state
    nicklen = state.config.limits.nicklen
    while True:
        state.guest_serial += 1
        nick = f"{GUEST_PREFIX}{state.guest_serial}"[:nicklen]
        if casefold(nick) not in state.nicks and casefold(nick) not in state.accounts:
            break
    user.rename_at = 0.0
    ctx.notice(f"You were renamed to {nick}: your nick belongs to an account you are not in.")
    change_nick(ctx, nick, casefold(nick))
    if cause is not None:
        cause.effects += ctx.finish()


# USER <username> <mode> <unused> :<realname>
def handle_user(ctx: Context, msg: Message) -> None:
    """Give the user name and real name (registration only)."""
    user = ctx.user
    if user.registered or user.username:
        ctx.numeric(n.ERR_ALREADYREGISTERED)
        return
    if not msg.params[3]:
        # modern.ircdocs "USER message": an empty realname is a missing parameter (issue 18).
        ctx.numeric(n.ERR_NEEDMOREPARAMS, "USER")
        return
    # The user name becomes part of every hostmask: keep only characters that cannot break
    # the nick!user@host grammar or a ban mask.
    username = "".join(c for c in msg.params[0] if c in _USERNAME_OK)[:MAX_USERNAME]
    user.username = username or "user"
    user.realname = msg.params[3][:MAX_REALNAME]
    try_register(ctx)


# PASS <password>
def handle_pass(ctx: Context, msg: Message) -> None:
    """The server password; checked when registration completes."""
    user = ctx.user
    if user.registered:
        ctx.numeric(n.ERR_ALREADYREGISTERED)
        return
    password = ctx.state.config.server.password
    user.password_ok = bool(password) and hmac.compare_digest(
        msg.params[0].encode("utf-8"), password.encode("utf-8")
    )


# PING <token>
def handle_ping(ctx: Context, msg: Message) -> None:
    """Answer with PONG <server> <token> (modern.ircdocs "PONG message")."""
    ctx.reply(Message("PONG", (ctx.server_name, msg.params[0]), source=ctx.server_name))


# PONG [<server>] <token>
def handle_pong(ctx: Context, msg: Message) -> None:
    """The answer to our PING; ServerState.receive already reset the ping timer."""


# QUIT [<reason>]
def handle_quit(ctx: Context, msg: Message) -> None:
    """Leave: ERROR to the client, QUIT to everyone sharing a room, then disconnect."""
    text = msg.params[0] if msg.params else ""
    ctx.label = None  # the connection closes: no ACK
    ctx.state.close_link(ctx, f"Quit: {text}" if text else "Client Quit")


# SETNAME :<realname>
def handle_setname(ctx: Context, msg: Message) -> None:
    """Change the real name; tell setname-capable neighbours and the sender."""
    user = ctx.user
    realname = msg.params[0]
    if not realname or len(realname) > MAX_REALNAME:
        ctx.reply(
            Message(
                "FAIL",
                ("SETNAME", "INVALID_REALNAME", f"Real name must be 1 to {MAX_REALNAME} chars"),
                source=ctx.server_name,
            )
        )
        return
    user.realname = realname
    change = Message("SETNAME", (realname,), source=user.source)
    neighbours = [u for u in ctx.state.neighbours(user) if u.has("setname")]
    ctx.relay(with_extended_monitor(ctx, user, "setname", neighbours), change)
    if user.has("setname"):
        ctx.reply(ctx.tagged(change, user.form))


def try_register(ctx: Context) -> None:
    """Complete registration if NICK, USER (and CAP END) are in: welcome burst, or 464.

    Args:
        ctx: the context of the line that may complete registration.
    """
    user, state = ctx.user, ctx.state
    if user.registered or not user.key or not user.username or user.cap_negotiating:
        return
    if user.password_pending:
        return  # a SASL password is being checked: its answer calls this again
    if state.config.server.password and not _password_accepted(ctx):
        return
    if user.sasl is not None:
        # sasl-3.1: registration completed during an exchange, which "SHOULD" be aborted.
        user.sasl = user.scram = None
        ctx.numeric(n.ERR_SASLABORTED)
    user.registered = True
    user.last_seen = ctx.now
    state.registered_users += 1
    state.max_users = max(state.max_users, state.registered_users)
    server = ctx.server_name
    network = state.config.server.network
    created = dt.datetime.fromtimestamp(state.created_at, tz=dt.UTC)
    ctx.numeric(n.RPL_WELCOME, text=f"Welcome to the {network} Network, {user.source}")
    ctx.numeric(n.RPL_YOURHOST, text=f"Your host is {server}, running version {VERSION}")
    ctx.numeric(n.RPL_CREATED, text=f"This server was created {created:%Y-%m-%d %H:%M:%S} UTC")
    ctx.numeric(n.RPL_MYINFO, server, VERSION, USER_MODES, ROOM_MODES, ROOM_MODES_WITH_PARAM)
    url = user.filehost  # draft/FILEHOST under both names clients look for (issue 21)
    extra = (f"draft/FILEHOST={url}", f"soju.im/FILEHOST={url}") if url else ()
    for tokens in isupport_lines(state.config.limits, network=network, extra=extra):
        ctx.numeric(n.RPL_ISUPPORT, *tokens)
    send_lusers(ctx)
    send_motd(ctx)
    notify_online(ctx, user)
    guard_nick(ctx)


def _password_accepted(ctx: Context) -> bool:
    """The server password decides: 464 and close unless it matched and the address may try.

    Wrong passwords are throttled per address (lanchat.server.throttle, issue 13 item 6): a
    throttled address is refused whatever it sent, so a right guess then tells it nothing.
    """
    user, state = ctx.user, ctx.state
    throttle = state.auth_throttle
    wait = throttle.retry_after_s(user.ip)
    if wait:
        text = f"Too many wrong passwords from your address; wait {wait} s and try again"
        ctx.numeric(n.ERR_PASSWDMISMATCH, text=text)
        state.close_link(ctx, "Too many wrong passwords")
        return False
    if user.password_ok:
        return True
    throttle.failed(user.ip, "server password")
    ctx.numeric(n.ERR_PASSWDMISMATCH)
    state.close_link(ctx, "Bad password")
    return False


def send_lusers(ctx: Context) -> None:
    """RPL_LUSERCLIENT .. RPL_GLOBALUSERS (modern.ircdocs "LUSERS message").

    Args:
        ctx: the requesting client's context.
    """
    state = ctx.state
    count, most = state.registered_users, state.max_users
    invisible = min(state.invisible_users(), count)
    unknown = len(state.users) - count
    ctx.numeric(
        n.RPL_LUSERCLIENT,
        text=f"There are {count - invisible} users and {invisible} invisible on 1 servers",
    )
    if unknown:
        ctx.numeric(n.RPL_LUSERUNKNOWN, str(unknown))
    ctx.numeric(n.RPL_LUSERCHANNELS, str(len(state.rooms)))
    ctx.numeric(n.RPL_LUSERME, text=f"I have {count} clients and 0 servers")
    ctx.numeric(
        n.RPL_LOCALUSERS, str(count), str(most), text=f"Current local users {count}, max {most}"
    )
    ctx.numeric(
        n.RPL_GLOBALUSERS, str(count), str(most), text=f"Current global users {count}, max {most}"
    )


def send_motd(ctx: Context) -> None:
    """RPL_MOTDSTART, RPL_MOTD lines and RPL_ENDOFMOTD, or ERR_NOMOTD when there is none.

    Args:
        ctx: the requesting client's context.
    """
    motd = ctx.state.config.server.motd
    if not motd:
        ctx.numeric(n.ERR_NOMOTD)
        return
    ctx.numeric(n.RPL_MOTDSTART, text=f"- {ctx.server_name} Message of the day - ")
    for line in motd:
        ctx.numeric(n.RPL_MOTD, text=f"- {line}")
    ctx.numeric(n.RPL_ENDOFMOTD)
