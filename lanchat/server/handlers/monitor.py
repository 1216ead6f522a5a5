"""MONITOR: tell a client when the nicks it cares about come online or go.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
The table and the notices sent when a nick comes or goes are in lanchat.server.monitor.
Spec: https://ircv3.net/specs/extensions/monitor (730-734) and
https://ircv3.net/specs/extensions/extended-monitor (AWAY on adding an away nick).

What the desktop client can build on it: a friends list that lights up without polling ISON.
"""

from __future__ import annotations

from lanchat.protocol import numerics as n
from lanchat.protocol.casemap import casefold, is_valid_nick
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.handlers.rooms import echo_param, pack_words
from lanchat.server.model import User

__all__: list[str] = []


# MONITOR + <target>{,<target>}
# MONITOR - <target>{,<target>}
# MONITOR C | L | S
def handle_monitor(ctx: Context, msg: Message) -> None:
    """Add nicks to (+), remove them from (-), clear (C), list (L) or check (S) the list."""
    sub = msg.params[0].upper()
    table = ctx.state.monitors
    if sub in ("+", "-"):
        if len(msg.params) < 2 or not msg.params[1]:
            ctx.numeric(n.ERR_NEEDMOREPARAMS, "MONITOR")
            return
        nicks = list(dict.fromkeys(filter(None, msg.params[1].split(","))))
        if sub == "-":
            for nick in nicks:
                table.remove(ctx.user, casefold(nick))
        else:
            _add(ctx, nicks)
    elif sub == "C":
        table.forget(ctx.user)
    elif sub == "L":
        _send_list(ctx, n.RPL_MONLIST, list(table.watching(ctx.user).values()))
        ctx.numeric(n.RPL_ENDOFMONLIST)
    elif sub == "S":
        _status(ctx, list(table.watching(ctx.user).values()))
    else:
        text = "Unknown MONITOR subcommand; use +, -, C, L or S"
        ctx.numeric(n.ERR_UNKNOWNERROR, "MONITOR", echo_param(msg.params[0][:16]), text=text)


def _add(ctx: Context, nicks: list[str]) -> None:
    table, limit = ctx.state.monitors, ctx.state.config.limits.max_monitor_nicks
    nicklen = ctx.state.config.limits.nicklen
    added: list[str] = []
    for i, nick in enumerate(nicks):
        if not is_valid_nick(nick, nicklen):
            continue  # no one can hold it: nothing to watch (Ergo and Solanum skip it too)
        key = casefold(nick)
        watching = table.watching(ctx.user)
        if key not in watching and len(watching) >= limit:
            # "734 <client> <limit> <targets> :Monitor list is full": the ones not added.
            ctx.numeric(n.ERR_MONLISTFULL, str(limit), ",".join(nicks[i:]))
            break
        table.add(ctx.user, key, nick)
        added.append(nick)
    _status(ctx, added)


def _status(ctx: Context, nicks: list[str]) -> None:
    """730 for the nicks online (nick!user@host), 731 for the others."""
    online: list[User] = []
    offline: list[str] = []
    for nick in nicks:
        user = ctx.state.find_user(nick)
        if user is None or not user.registered:
            offline.append(nick)
        else:
            online.append(user)
    _send_list(ctx, n.RPL_MONONLINE, [user.source for user in online])
    _send_list(ctx, n.RPL_MONOFFLINE, offline)
    if ctx.user.has("extended-monitor") and ctx.user.has("away-notify"):
        # extended-monitor: the client learns at once who is away, as away-notify on JOIN
        # tells a room.
        for user in online:
            if user.away:
                away = Message("AWAY", (user.away,), user.source)
                ctx.reply(ctx.tagged(away, ctx.user.form))


def _send_list(ctx: Context, numeric: str, targets: list[str]) -> None:
    head = f":{ctx.server_name} {numeric} {ctx.user.nick} :"
    for run in pack_words(head, targets, sep=","):
        ctx.numeric(numeric, text=run)
