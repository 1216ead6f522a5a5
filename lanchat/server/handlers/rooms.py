"""Room commands: JOIN PART TOPIC NAMES LIST, and the helpers every room command uses.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: https://modern.ircdocs.horse/#channel-operations (JOIN, PART, TOPIC, NAMES, LIST),
https://ircv3.net/specs/extensions/extended-join, multi-prefix and userhost-in-names.
MODE lives in handlers/channel_modes.py, KICK and INVITE in handlers/moderation.py.

Every change to what a room keeps across a restart (created, topic, modes, key, limit, bans)
is followed by `ctx.persist(room.to_record())`; every change to what discovery advertises
(user count, topic, key, +s, created, closed) by `ctx.room_changed(key)` (issue #2, "Rooms
survive a restart"). A line that every member sees is built once per tag form and sent with
`ctx.relay` / `ctx.fanout`, so each distinct form is serialised once (issue #4).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Iterator

from lanchat.config import room_key_problem
from lanchat.protocol import numerics as n
from lanchat.protocol.casemap import is_valid_channel
from lanchat.protocol.hostmask import mask_matches
from lanchat.protocol.message import Message
from lanchat.protocol.message import middle_param as echo_param  # re-exported for handlers
from lanchat.protocol.tags import TagForm
from lanchat.server.context import Context
from lanchat.server.handlers import readmarker
from lanchat.server.model import NO_MODES, OPERATOR, Membership, Room, User

__all__ = [
    "can_see_room",
    "echo_param",
    "pack_words",
    "room_named",
    "seat_in",
    "send_names",
    "send_to_room",
    "send_topic",
]

MAX_LINE_BYTES = 510  # a reply line without its CRLF (modern.ircdocs "Message format")


# ----------------------------------------------------------------------------- helpers


def pack_words(head: str, words: Iterable[str], *, sep: str = " ") -> Iterator[str]:
    """Group `words` into `sep`-separated runs that fit on one line after `head`.

    Args:
        head: everything of the line before the words, e.g. ":srv 353 nick = #room :".
        words: nicks, room names, ...
        sep: one character between words (" "; "," for MONITOR's lists).

    Yields:
        Trailing parameters, each short enough that head + it fits in 510 bytes.
    """
    budget = MAX_LINE_BYTES - len(head.encode("utf-8"))
    run: list[str] = []
    used = -1  # bytes of the run so far, counting one separating space per word
    for word in words:
        size = len(word.encode("utf-8")) + 1
        if run and used + size > budget:
            yield sep.join(run)
            run, used = [], -1
        run.append(word)
        used += size
    if run:
        yield sep.join(run)


def can_see_room(room: Room, user: User) -> bool:
    """Whether `user` may learn about `room` (NAMES, LIST, WHO, WHOIS).

    Args:
        room: the room.
        user: the asker.

    Returns:
        False for a +s room the user is not in (modern.ircdocs "Secret Channel Mode").
    """
    return "s" not in room.modes or user.conn_id in room.members


def send_to_room(ctx: Context, room: Room, msg: Message) -> None:
    """Send `msg` to every member of `room`: the sender's copy as a reply, one Send per form.

    Args:
        ctx: the call; ctx.user gets its copy through `reply` (so it carries the label).
        room: the room whose members see the line.
        msg: the line, without tags; server-time is added per recipient's caps.
    """
    ctx.relay((m.user for m in room.members.values() if m.user is not ctx.user), msg)
    if ctx.user.conn_id in room.members:
        ctx.reply(ctx.tagged(msg, ctx.user.form))


def _visible_members(room: Room, asker: User) -> list[Membership]:
    # modern.ircdocs "Invisible User Mode": +i users are left out for people outside the room.
    if asker.conn_id in room.members:
        return list(room.members.values())
    return [m for m in room.members.values() if "i" not in m.user.modes]


def send_names(ctx: Context, room: Room) -> None:
    """RPL_NAMREPLY lines then RPL_ENDOFNAMES for `room`, as the asker may see it.

    multi-prefix shows every prefix ("@+alice"); userhost-in-names shows nick!user@host.

    Args:
        ctx: the call; the replies go to ctx.user.
        room: the room to list.
    """
    asker = ctx.user
    if can_see_room(room, asker):
        multi = asker.has("multi-prefix")
        full = asker.has("userhost-in-names")
        # Most members hold no prefix: skip the prefix lookup for them (a JOIN to a room of
        # 2,000 lists 2,000 names; issue #4).
        names = [
            (m.prefixes(multi) if m.modes else "") + (m.user.source if full else m.user.nick)
            for m in _visible_members(room, asker)
        ]
        symbol = "@" if "s" in room.modes else "="
        head = f":{ctx.server_name} {n.RPL_NAMREPLY} {asker.nick} {symbol} {room.name} :"
        for run in pack_words(head, names):
            ctx.numeric(n.RPL_NAMREPLY, symbol, room.name, text=run)
    ctx.numeric(n.RPL_ENDOFNAMES, room.name)


def send_topic(ctx: Context, room: Room) -> None:
    """RPL_TOPIC and RPL_TOPICWHOTIME for `room`, or RPL_NOTOPIC, to ctx.user."""
    if room.topic:
        ctx.numeric(n.RPL_TOPIC, room.name, text=room.topic)
        ctx.numeric(n.RPL_TOPICWHOTIME, room.name, room.topic_setter, str(room.topic_time_s))
    else:
        ctx.numeric(n.RPL_NOTOPIC, room.name)


def _is_banned(room: Room, user: User) -> bool:
    # modern.ircdocs "Exception Channel Mode": a +e mask lets its matches past every ban.
    source = user.source
    banned = any(mask_matches(mask, source) for mask in room.bans)
    return banned and not any(mask_matches(mask, source) for mask in room.excepts)


def _invex(room: Room, user: User) -> bool:
    # modern.ircdocs "Invite-Exception Channel Mode": +I masks join a +i room uninvited.
    return any(mask_matches(mask, user.source) for mask in room.invex)


def room_named(ctx: Context, name: str) -> Room | None:
    """The room called `name`, or None after answering 403 ERR_NOSUCHCHANNEL.

    Args:
        ctx: the command's context (the error goes to its sender).
        name: the room name as the client wrote it.

    Returns:
        The room, or None if there is none of that name.
    """
    room = ctx.state.find_room(name)
    if room is None:
        ctx.numeric(n.ERR_NOSUCHCHANNEL, echo_param(name))
    return room


def seat_in(ctx: Context, room: Room, *, need_op: bool) -> Membership | None:
    """The sender's membership of `room`, for a command that changes the room.

    Args:
        ctx: the command's context (the error goes to its sender).
        room: the room the command acts on.
        need_op: the command needs an operator here (KICK, MODE; TOPIC with +t, INVITE
            with +i).

    Returns:
        The membership, or None after answering 442 ERR_NOTONCHANNEL (not in the room) or
        482 ERR_CHANOPRIVSNEEDED (not an operator and `need_op`). A server operator (+o)
        acts as a room operator in any room (issue 17): for `need_op` it gets an operator's
        seat whether it sits in the room or not (a stand-in, not added to the room).
    """
    member = room.member(ctx.user)
    if need_op and "o" in ctx.user.modes and (member is None or not member.is_op):
        return Membership(ctx.user, OPERATOR)
    if member is None:
        ctx.numeric(n.ERR_NOTONCHANNEL, room.name)
    elif need_op and not member.is_op:
        ctx.numeric(n.ERR_CHANOPRIVSNEEDED, room.name)
        return None
    return member


# ----------------------------------------------------------------------------- JOIN


# JOIN <channel>{,<channel>} [<key>{,<key>}]
# JOIN 0
def handle_join(ctx: Context, msg: Message) -> None:
    """Join rooms, creating the ones that do not exist yet; the first one in gets +o."""
    names = msg.params[0].split(",")
    keys = msg.params[1].split(",") if len(msg.params) > 1 else []
    for i, name in enumerate(names):
        if name == "0":
            # modern.ircdocs "JOIN message": "JOIN 0" parts every room the client is in.
            for room in list(ctx.user.rooms.values()):
                _part(ctx, room, "")
        elif name:
            _join(ctx, name, keys[i] if i < len(keys) else "")


def _key_matches(ctx: Context, room: Room, key: str) -> bool:
    """Check a JOIN key against the room's (+k); reply 475 when it is wrong or not checked.

    Guesses are throttled per address (lanchat.server.throttle, issue 13 item 6) and compared
    in constant time, so neither the count nor the timing of replies tells a guesser more.
    """
    throttle, ip = ctx.state.auth_throttle, ctx.user.ip
    wait = throttle.retry_after_s(ip)
    if wait:
        text = f"Cannot join channel (+k) - too many wrong keys from your address; wait {wait} s"
        ctx.numeric(n.ERR_BADCHANNELKEY, room.name, text=text)
        return False
    if hmac.compare_digest(key.encode("utf-8"), room.password.encode("utf-8")):
        return True  # a key set before +k refused spaces still opens its room
    if room_key_problem(key):
        # No room key has a space, a comma or more than 23 characters (MODE +k refuses them,
        # as the config does: issue 18), so this one was no guess: it is not counted.
        text = "Cannot join channel (+k) - a key has no spaces and at most 23 characters"
        ctx.numeric(n.ERR_BADCHANNELKEY, room.name, text=text)
        return False
    throttle.failed(ip, f"key for {room.name}")
    ctx.numeric(n.ERR_BADCHANNELKEY, room.name)
    return False


def _join(ctx: Context, name: str, key: str) -> None:
    user, state = ctx.user, ctx.state
    limits = state.config.limits
    if not name.startswith("#"):
        ctx.numeric(n.ERR_NOSUCHCHANNEL, echo_param(name))
        return
    if not is_valid_channel(name, limits.channellen):
        ctx.numeric(n.ERR_BADCHANMASK, echo_param(name))
        return
    room = state.find_room(name)
    if room is not None and user.conn_id in room.members:
        return
    if len(user.rooms) >= limits.max_channels_per_user:
        ctx.numeric(n.ERR_TOOMANYCHANNELS, name)
        return
    if room is None:
        room = state.add_room(ctx, name)
        if room is None:
            text = "No new room now: every room kept here has people in it; join one or try later"
            ctx.numeric(n.ERR_UNAVAILRESOURCE, name, text=text)
            return
    else:
        invited = room.key in user.invited_to
        # modern.ircdocs "JOIN message" lists these checks; an invite also lifts +i and bans
        # (as in Ergo and Hybrid), so an operator can let one person in.
        if room.password and not _key_matches(ctx, room, key):
            return
        if room.limit and len(room.members) >= room.limit:
            ctx.numeric(n.ERR_CHANNELISFULL, room.name)
            return
        if "i" in room.modes and not invited and not _invex(room, user):
            ctx.numeric(n.ERR_INVITEONLYCHAN, room.name)
            return
        if not invited and _is_banned(room, user):
            ctx.numeric(n.ERR_BANNEDFROMCHAN, room.name)
            return
        if invited:
            user.invited_to -= {room.key}
        ctx.room_changed(room.key)
    # Whoever enters an empty room runs it, as when IRC re-creates a channel: this is how
    # rooms, which outlive their members (ServerState.remove_member), get an operator again.
    modes = NO_MODES if room.members else OPERATOR
    room.join(Membership(user, modes, joined_at=ctx.now))
    user.rooms[room.key] = room

    plain = Message("JOIN", (room.name,), source=user.source)
    # ircv3 extended-join: "JOIN <channel> <account> :<realname>", account "*" when logged out.
    account = user.account or "*"
    extended = Message("JOIN", (room.name, account, user.realname), source=user.source)

    def form_of(member: User) -> tuple[bool, TagForm]:
        return "extended-join" in member.caps, member.form

    def render(form: tuple[bool, TagForm]) -> Message:
        return ctx.tagged(extended if form[0] else plain, form[1])

    others = [m.user for m in room.members.values() if m.user is not user]
    ctx.fanout(others, form_of, render)
    if user.away:
        # ircv3 away-notify: someone away when joining is announced as away right after.
        away = Message("AWAY", (user.away,), source=user.source)
        ctx.relay([u for u in others if u.has("away-notify")], away)
    ctx.reply(render(form_of(user)))
    if room.topic:
        send_topic(ctx, room)
    if user.has(readmarker.CAP):  # ircv3 read-marker: after the JOIN, before RPL_ENDOFNAMES
        ctx.reply(readmarker.marker_line(ctx, room.name))
    send_names(ctx, room)


# ----------------------------------------------------------------------------- PART


# PART <channel>{,<channel>} [<reason>]
def handle_part(ctx: Context, msg: Message) -> None:
    """Leave rooms; an empty room is kept with its key and modes (ServerState.remove_member)."""
    reason = msg.params[1] if len(msg.params) > 1 else ""
    for name in filter(None, msg.params[0].split(",")):
        room = room_named(ctx, name)
        if room is not None and seat_in(ctx, room, need_op=False) is not None:
            _part(ctx, room, reason)


def _part(ctx: Context, room: Room, reason: str) -> None:
    params = (room.name, reason) if reason else (room.name,)
    send_to_room(ctx, room, Message("PART", params, source=ctx.user.source))
    ctx.state.remove_member(ctx, room, ctx.user)


# ----------------------------------------------------------------------------- TOPIC


# TOPIC <channel> [<topic>]
def handle_topic(ctx: Context, msg: Message) -> None:
    """Show the topic, or set it (with +t only operators may)."""
    room = room_named(ctx, msg.params[0])
    if room is None:
        return
    if len(msg.params) == 1:
        if room.member(ctx.user) is None and "s" in room.modes:
            ctx.numeric(n.ERR_NOTONCHANNEL, room.name)
        else:
            send_topic(ctx, room)
        return
    if seat_in(ctx, room, need_op="t" in room.modes) is None:
        return
    # modern.ircdocs TOPICLEN: a longer topic is cut, not refused.
    room.topic = msg.params[1][: ctx.state.config.limits.topiclen]
    room.topic_setter = ctx.user.source if room.topic else ""
    room.topic_time_s = int(ctx.now) if room.topic else 0
    ctx.persist(room.to_record())
    ctx.room_changed(room.key)
    send_to_room(ctx, room, Message("TOPIC", (room.name, room.topic), source=ctx.user.source))


# ----------------------------------------------------------------------------- NAMES, LIST


# NAMES [<channel>{,<channel>}]
def handle_names(ctx: Context, msg: Message) -> None:
    """Members of each room, or only RPL_ENDOFNAMES for a room the asker may not see."""
    if not msg.params:
        # modern.ircdocs "NAMES message": without a parameter a server may answer just 366.
        ctx.numeric(n.RPL_ENDOFNAMES, "*")
        return
    for name in filter(None, msg.params[0].split(",")):
        room = ctx.state.find_room(name)
        if room is None or not can_see_room(room, ctx.user):
            ctx.numeric(n.RPL_ENDOFNAMES, echo_param(name))
        else:
            send_names(ctx, room)


# LIST [<channel>{,<channel>}] [<elistcond>{,<elistcond>}]
def handle_list(ctx: Context, msg: Message) -> None:
    """RPL_LIST for every visible room, filtered by names, masks, counts and ages (ELIST)."""
    masks: list[str] = []
    tests: list[Callable[[Room], bool]] = []
    for param in msg.params[:2]:
        for item in filter(None, param.split(",")):
            test = _elist_condition(item, ctx.now)
            if test is not None:
                tests.append(test)
            elif item.startswith("!"):
                tests.append(_not_matching(item[1:]))
            else:
                masks.append(item)
    ctx.numeric(n.RPL_LISTSTART, "Channel", text="Users  Name")
    for room in ctx.state.rooms.values():
        if not can_see_room(room, ctx.user):
            continue
        if masks and not any(mask_matches(mask, room.name) for mask in masks):
            continue
        if all(test(room) for test in tests):
            ctx.numeric(n.RPL_LIST, room.name, str(len(room.members)), text=room.topic)
    ctx.numeric(n.RPL_LISTEND)


def _not_matching(mask: str) -> Callable[[Room], bool]:
    """ELIST "N": "!mask" keeps the rooms whose names do not match `mask`."""
    return lambda room: not mask_matches(mask, room.name)


def _elist_condition(item: str, now: float) -> Callable[[Room], bool] | None:
    """The room test an ELIST condition asks for, or None if `item` is a name or mask.

    modern.ircdocs "ELIST Parameter": ">N" / "<N" users (U); "C>N" / "C<N" created more /
    less than N minutes ago (C); "T>N" / "T<N" topic set more / less than N minutes ago (T).
    """
    kind, rest = (item[0].upper(), item[1:]) if item[:1] in ("C", "c", "T", "t") else ("U", item)
    if len(rest) < 2 or rest[0] not in "<>" or not rest[1:].isdigit():
        return None
    value, more = int(rest[1:]), rest[0] == ">"
    if kind == "U":
        return (lambda r: len(r.members) > value) if more else (lambda r: len(r.members) < value)
    cutoff = now - value * 60

    def age_test(room: Room) -> bool:
        when = room.created_s if kind == "C" else room.topic_time_s
        if kind == "T" and not room.topic:
            return False  # no topic: set at no time, so neither before nor after
        return when < cutoff if more else when > cutoff

    return age_test
