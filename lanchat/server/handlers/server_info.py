"""Questions about the server itself: TIME INFO HELP (HELPOP) LINKS.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: https://modern.ircdocs.horse/#time-message, #info-message, #help-message, #links-message
(RPL_TIME 391, RPL_INFO 371 / RPL_ENDOFINFO 374, RPL_HELPSTART 704 / RPL_HELPTXT 705 /
RPL_ENDOFHELP 706 / ERR_HELPNOTFOUND 524, RPL_LINKS 364 / RPL_ENDOFLINKS 365).

A lanchat server is never linked to another, so a <target> naming any other server is
answered 402 ERR_NOSUCHSERVER, and LINKS lists this server alone.
"""

from __future__ import annotations

import datetime as dt

from lanchat import __version__
from lanchat.protocol import numerics as n
from lanchat.protocol.hostmask import mask_matches
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.handlers.rooms import echo_param

__all__ = ["USAGE"]

# The usage line of each command HELP knows, as modern.ircdocs writes it; the line after it
# is the first line of the handler's docstring, so HELP stays in step with the code.
USAGE: dict[str, str] = {
    "AWAY": "AWAY [<text>]",
    "BATCH": "BATCH +<ref> draft/multiline <target> | BATCH -<ref>",
    "CAP": "CAP <subcommand> [:<capabilities>]",
    "CHATHISTORY": "CHATHISTORY <subcommand> <target> <reference> [<reference>] <limit>",
    "FILEHOST": "FILEHOST",
    "HELP": "HELP [<subject>]",
    "HELPOP": "HELPOP [<subject>]",
    "INFO": "INFO",
    "INVITE": "INVITE [<nickname> <channel>]",
    "ISON": "ISON <nickname>{ <nickname>}",
    "JOIN": "JOIN <channel>{,<channel>} [<key>{,<key>}]",
    "KICK": "KICK <channel> <user>{,<user>} [<comment>]",
    "LINKS": "LINKS [[<remote server>] <server mask>]",
    "LIST": "LIST [<channel>{,<channel>}] [<elistcond>{,<elistcond>}]",
    "LUSERS": "LUSERS",
    "MARKREAD": "MARKREAD <target> [timestamp=<time>]",
    "MODE": "MODE <target> [<modestring> [<mode arguments>...]]",
    "MONITOR": "MONITOR {+|-} <nick>{,<nick>} | MONITOR {C|L|S}",
    "MOTD": "MOTD [<target>]",
    "NAMES": "NAMES <channel>{,<channel>}",
    "NICK": "NICK <nickname>",
    "NOTICE": "NOTICE <target>{,<target>} <text to be sent>",
    "PART": "PART <channel>{,<channel>} [<reason>]",
    "PASS": "PASS <password>",
    "PING": "PING <token>",
    "PONG": "PONG [<server>] <token>",
    "PRIVMSG": "PRIVMSG <target>{,<target>} <text to be sent>",
    "QUIT": "QUIT [<reason>]",
    "REDACT": "REDACT <target> <msgid> [<reason>]",
    "RENAME": "RENAME <channel> <new name> [<reason>]",
    "SEARCH": "SEARCH <attribute>=<value>{;<attribute>=<value>} (in from after before text limit)",
    "SETNAME": "SETNAME :<realname>",
    "TAGMSG": "TAGMSG <target>{,<target>}",
    "TIME": "TIME [<server>]",
    "TOPIC": "TOPIC <channel> [<topic>]",
    "USER": "USER <username> 0 * <realname>",
    "USERHOST": "USERHOST <nickname>{ <nickname>}",
    "WHO": "WHO <mask> [%<fields>[,<token>]]",
    "WHOIS": "WHOIS [<target>] <nick>",
    "WHOWAS": "WHOWAS <nick> [<count>]",
}


def _other_server(ctx: Context, target: str) -> bool:
    """True, after 402 ERR_NOSUCHSERVER, if `target` names a server that is not this one."""
    if mask_matches(target, ctx.server_name):
        return False
    ctx.numeric(n.ERR_NOSUCHSERVER, echo_param(target))
    return True


# TIME [<server>]
def handle_time(ctx: Context, msg: Message) -> None:
    """The server's local time, in words and as a Unix time."""
    if msg.params and _other_server(ctx, msg.params[0]):
        return
    now = dt.datetime.fromtimestamp(ctx.now, tz=dt.UTC)
    # "391 <client> <server> [<timestamp> [<TS offset>]] :<human-readable time>"
    words = f"{now:%A %B %d %Y -- %H:%M:%S} UTC"
    ctx.numeric(n.RPL_TIME, ctx.server_name, str(int(ctx.now)), "0", text=words)


# INFO
def handle_info(ctx: Context, msg: Message) -> None:
    """What this server is: its version and where it comes from."""
    if msg.params and _other_server(ctx, msg.params[0]):
        return
    for line in (
        f"lanchat {__version__}: chat rooms on your local network,",
        "found without typing an address (IRC with IRCv3, rooms advertised over mDNS).",
        "Type /HELP for the commands this server knows.",
    ):
        ctx.numeric(n.RPL_INFO, text=line)
    ctx.numeric(n.RPL_ENDOFINFO)


# HELP [<subject>]
def handle_help(ctx: Context, msg: Message) -> None:
    """The commands this server knows, or how to use one of them."""
    subject = msg.params[0].upper() if msg.params and msg.params[0] else ""
    if not subject:
        ctx.numeric(n.RPL_HELPSTART, "*", text="Commands this server knows (HELP <command>):")
        verbs = sorted(ctx.state.commands)
        for i in range(0, len(verbs), 8):
            ctx.numeric(n.RPL_HELPTXT, "*", text=" ".join(verbs[i : i + 8]))
        ctx.numeric(n.RPL_ENDOFHELP, "*", text="End of /HELP")
        return
    cmd = ctx.state.commands.get(subject)
    if cmd is None:
        ctx.numeric(n.ERR_HELPNOTFOUND, echo_param(msg.params[0][:32]))
        return
    doc = (cmd.handler.__doc__ or "").strip().splitlines()
    ctx.numeric(n.RPL_HELPSTART, subject, text=USAGE.get(subject, subject))
    if doc:
        ctx.numeric(n.RPL_HELPTXT, subject, text=doc[0])
    ctx.numeric(n.RPL_ENDOFHELP, subject, text="End of /HELP")


# LINKS [[<remote server>] <server mask>]
def handle_links(ctx: Context, msg: Message) -> None:
    """The servers of this network: this one alone."""
    mask = msg.params[-1] if msg.params else "*"
    if mask_matches(mask, ctx.server_name):
        network = ctx.state.config.server.network
        ctx.numeric(n.RPL_LINKS, ctx.server_name, ctx.server_name, text=f"0 {network}")
    ctx.numeric(n.RPL_ENDOFLINKS, echo_param(mask))
