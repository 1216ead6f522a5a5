"""MARKREAD: where a user stopped reading each conversation (draft/read-marker).

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: https://ircv3.net/specs/extensions/read-marker (set and get, the reply on JOIN before
RPL_ENDOFNAMES, timestamps that only move forward, the FAIL codes).

Grammar::

    MARKREAD <target> [timestamp=YYYY-MM-DDThh:mm:ss.sssZ]     (server: <timestamp> or *)

Whose markers: "read markers sent by a user MUST NOT be disclosed to other users". A nick is
not a user (issue 13: whoever takes a nick later is someone else); an account is (issue 17).
A logged-in user's markers are its account's (ServerState.read_markers): every connection of
the account reads the same ones (desktop and web), a move is told to all of them that have
the capability (the spec's "all the clients of the user"), and a reconnect gets them back.
They are held in server memory for the server's lifetime, not in the store: a marker is a
convenience a client re-sends as it reads, and a store table would add a schema step, a
record type and a start-up load for it. A connection not logged in keeps markers of its own
(User.read_markers) that end with it; it reconnects to none ("*"). Markers set before logging
in stay with the connection: from the login on, the account's are used.
"""

from __future__ import annotations

from lanchat.errors import MalformedLine
from lanchat.protocol.casemap import CHANTYPES, casefold, is_valid_channel, is_valid_nick
from lanchat.protocol.message import Message
from lanchat.protocol.message import middle_param as echo_param
from lanchat.protocol.tags import format_server_time, parse_server_time
from lanchat.server.context import Context

__all__ = ["CAP", "marker_line"]

CAP = "draft/read-marker"


def _markers(ctx: Context, *, create: bool = False) -> dict[str, int]:
    """The read markers of whoever ctx.user is: its account's, or its connection's.

    Args:
        ctx: the context of the user whose markers they are.
        create: make the dict when there is none yet (to set a marker); otherwise an empty
            one is given back and nothing is kept.
    """
    user = ctx.user
    if user.account:
        key = casefold(user.account)
        held = ctx.state.read_markers
        return held.setdefault(key, {}) if create else held.get(key, {})
    if user.read_markers is None:
        if not create:
            return {}
        user.read_markers = {}
    return user.read_markers


def marker_line(ctx: Context, name: str) -> Message:
    """`MARKREAD <name> <timestamp | *>`: the sender's read marker of conversation `name`.

    Args:
        ctx: the context of the user whose marker it is.
        name: a room or nick, as the client is shown it.
    """
    stored = _markers(ctx).get(casefold(name))
    shown = "*" if stored is None else "timestamp=" + format_server_time(stored / 1000)
    return Message("MARKREAD", (name, shown), source=ctx.server_name)


def _fail(ctx: Context, code: str, *context: str) -> None:
    ctx.reply(Message("FAIL", ("MARKREAD", code, *context), source=ctx.server_name))


# MARKREAD <target> [<timestamp>]
def handle_markread(ctx: Context, msg: Message) -> None:
    """Get (no timestamp) or move forward (a timestamp) the sender's read marker of a target."""
    user = ctx.user
    if not msg.params:
        _fail(ctx, "NEED_MORE_PARAMS", "Missing parameters")
        return
    target = msg.params[0]
    limits = ctx.state.config.limits
    if target[:1] in CHANTYPES:
        valid = is_valid_channel(target, limits.channellen)
    else:
        valid = is_valid_nick(target, limits.nicklen)
    if not valid or len(msg.params) > 2:
        _fail(ctx, "INVALID_PARAMS", echo_param(target), "Invalid parameters")
        return
    if len(msg.params) == 2:
        kind, _, value = msg.params[1].partition("=")
        try:
            if kind != "timestamp":
                raise MalformedLine("not a timestamp")
            when = parse_server_time(value)
        except MalformedLine:
            text = "Invalid parameters: use timestamp=YYYY-MM-DDThh:mm:ss.sssZ"
            _fail(ctx, "INVALID_PARAMS", echo_param(msg.params[1]), text)
            return
        markers = _markers(ctx, create=True)
        key = casefold(target)
        # Spec "Implementation Considerations": clamp between the stored value and now; a
        # marker only moves forward, an older one gets the stored value back.
        when = min(when, int(ctx.now * 1000))
        if when > markers.get(key, -1):
            markers[key] = when
            if user.account:  # the account's other connections are told (module docstring)
                mine = casefold(user.account)
                others = [
                    u
                    for u in ctx.state.users.values()
                    if u is not user and u.registered and u.has(CAP) and casefold(u.account) == mine
                ]
                ctx.relay(others, marker_line(ctx, target))
    ctx.reply(marker_line(ctx, target))
