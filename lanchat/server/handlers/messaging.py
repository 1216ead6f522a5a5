"""PRIVMSG, NOTICE and TAGMSG to rooms and to users.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: https://modern.ircdocs.horse/#privmsg-message, #notice-message;
https://ircv3.net/specs/extensions/message-tags (TAGMSG, client-only tags),
https://ircv3.net/specs/extensions/echo-message, .../server-time, .../message-ids,
.../bot-mode (the `bot` tag); modern.ircdocs "STATUSMSG Parameter" (@#room, +#room).

Each accepted message is published as one unit (Context.publish): stored before it is shown,
and never shown if it could not be stored (issue #2).
Fan-out serialises the line once per tag form and hands the same bytes to every recipient of
that form (issue #4); the sender gets its copy only with echo-message.
NOTICE never gets an error reply ("servers MUST NOT send any error reply in response").
"""

from __future__ import annotations

from lanchat.protocol import numerics as n
from lanchat.protocol.casemap import CHANTYPES, casefold
from lanchat.protocol.hostmask import mask_matches
from lanchat.protocol.isupport import BOT_MODE, STATUSMSG
from lanchat.protocol.message import Message
from lanchat.protocol.tags import TAGGED_FORMS, client_only_tags
from lanchat.server.context import Audience, Context, audience
from lanchat.server.model import Room, User
from lanchat.store.records import HistoryRecord

__all__ = ["can_send_to_room"]


# PRIVMSG <target>{,<target>} <text to be sent>
def handle_privmsg(ctx: Context, msg: Message) -> None:
    """Send text to rooms and users."""
    _deliver(ctx, msg, "PRIVMSG")


# NOTICE <target>{,<target>} <text to be sent>
def handle_notice(ctx: Context, msg: Message) -> None:
    """Like PRIVMSG, but no automatic replies and no errors, ever."""
    _deliver(ctx, msg, "NOTICE")


# TAGMSG <target>{,<target>}
def handle_tagmsg(ctx: Context, msg: Message) -> None:
    """A message with only tags (typing notifications, reactions)."""
    _deliver(ctx, msg, "TAGMSG")


def can_send_to_room(room: Room, user: User) -> bool:
    """True if `user` may speak in `room`: +n, +m and bans (modern.ircdocs channel modes).

    Args:
        room: the target room.
        user: the sender.

    Returns:
        Whether the message is accepted (otherwise ERR_CANNOTSENDTOCHAN).
    """
    member = room.member(user)
    if member is None and "n" in room.modes:
        return False
    privileged = member is not None and member.can_speak_moderated
    if "m" in room.modes and not privileged:
        return False
    if privileged or not room.bans:
        return True
    source = user.source  # formatted once, not per ban mask
    banned = any(mask_matches(mask, source) for mask in room.bans)
    return not banned or any(mask_matches(mask, source) for mask in room.excepts)  # +e


def _deliver(ctx: Context, msg: Message, verb: str) -> None:
    quiet = verb == "NOTICE"
    with_text = verb != "TAGMSG"
    if not msg.params or not msg.params[0]:
        if not quiet:
            ctx.numeric(n.ERR_NORECIPIENT, text=f"No recipient given ({verb})")
        return
    text = ""
    if with_text:
        if len(msg.params) < 2 or not msg.params[1]:
            if not quiet:
                ctx.numeric(n.ERR_NOTEXTTOSEND)
            return
        text = msg.params[1]
    raw = msg.params[0]
    targets = [raw] if "," not in raw else [t for t in dict.fromkeys(raw.split(",")) if t]
    if len(targets) > ctx.state.config.limits.max_targets:
        if not quiet:
            ctx.numeric(n.ERR_TOOMANYTARGETS, raw)
        return
    client_tags = client_only_tags(msg.tags)
    if BOT_MODE in ctx.user.modes:
        client_tags["bot"] = ""  # ircv3 bot-mode: the tag is for message-tags clients only
    if with_text:
        ctx.user.last_message = ctx.now  # WHOIS idle time counts from the last message
    for target in targets:
        if target[0] in CHANTYPES:
            _to_room(ctx, verb, target, text, client_tags)
        elif target[0] in STATUSMSG and target[1:2] in CHANTYPES:
            _to_status(ctx, verb, target, text, client_tags)
        else:
            _to_user(ctx, verb, target, text, client_tags)


def _to_room(ctx: Context, verb: str, target: str, text: str, client_tags: dict[str, str]) -> None:
    user = ctx.user
    room = ctx.state.find_room(target)
    if room is None:
        if verb != "NOTICE":
            ctx.numeric(n.ERR_NOSUCHCHANNEL, target)
        return
    if not can_send_to_room(room, user):
        if verb != "NOTICE":
            ctx.numeric(n.ERR_CANNOTSENDTOCHAN, room.name)
        return
    recipients = ctx.room_audience(room)
    seated = user.conn_id in room.members  # then its own group holds it, to be skipped
    skip = user.conn_id if seated else 0
    _publish(ctx, verb, room.name, room.key, text, client_tags, recipients, skip=skip)


def _to_status(
    ctx: Context, verb: str, target: str, text: str, client_tags: dict[str, str]
) -> None:
    """STATUSMSG: "@#room" reaches the room's operators, "+#room" its voiced members and ops.

    Such a message is not stored: CHATHISTORY gives a room's history to every member, and
    this one was for some of them only (issue 18). It gets a msgid all the same.
    """
    user = ctx.user
    room = ctx.state.find_room(target[1:])
    if room is None or not can_send_to_room(room, user):
        if verb != "NOTICE":
            ctx.numeric(n.ERR_CANNOTSENDTOCHAN if room else n.ERR_NOSUCHCHANNEL, target)
        return
    ranks = frozenset("o" if target[0] == "@" else "ov")
    line = Message(verb, (target, text) if verb != "TAGMSG" else (target,), source=user.source)
    msgid = ctx.state.new_msgid()
    ctx.relay(
        (
            m.user
            for m in room.members.values()
            if m.user is not user
            and not ranks.isdisjoint(m.modes)
            and (verb != "TAGMSG" or m.user.has("message-tags"))
        ),
        line,
        msgid=msgid,
        client_tags=client_tags,
    )
    if user.has("echo-message") and (verb != "TAGMSG" or user.has("message-tags")):
        ctx.reply(ctx.tagged(line, user.form, msgid=msgid, client_tags=client_tags))


def _to_user(ctx: Context, verb: str, target: str, text: str, client_tags: dict[str, str]) -> None:
    user, state = ctx.user, ctx.state
    peer = state.nicks.get(casefold(target))
    if peer is None or not peer.registered:
        if verb != "NOTICE":
            ctx.numeric(n.ERR_NOSUCHNICK, target)
        return
    key = state.conversation_key(user, peer)
    _publish(ctx, verb, peer.nick, key, text, client_tags, audience([peer]))
    if verb == "PRIVMSG" and peer.away:
        ctx.numeric(n.RPL_AWAY, peer.nick, text=peer.away)


def _publish(
    ctx: Context,
    verb: str,
    target: str,
    target_key: str,
    text: str,
    client_tags: dict[str, str],
    recipients: Audience,
    skip: int = 0,
) -> None:
    """Publish the message: stored, then relayed to `recipients` (but `skip`), echoed if asked."""
    user = ctx.user
    source = user.source
    record = HistoryRecord(
        msgid=ctx.state.new_msgid(),
        time_ms=int(ctx.now * 1000),
        command=verb,
        source=source,
        target=target,
        target_key=target_key,
        text=text,
        tags=client_tags,
    )
    line = Message(verb, (target, text) if verb != "TAGMSG" else (target,), source=source)
    tags_only = verb == "TAGMSG"
    if tags_only:
        # TAGMSG goes only to clients that understand tags (ircv3 message-tags).
        recipients = [group for group in recipients if group[0] in TAGGED_FORMS]
    echo = user.has("echo-message") and (not tags_only or user.has("message-tags"))
    ctx.publish(record, recipients, line, echo=echo, client_tags=client_tags, skip=skip)
