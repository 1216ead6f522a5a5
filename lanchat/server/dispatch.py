"""The command table: one handler per verb, gated centrally, writing to a Context.

Layer: pure server core; may import lanchat.protocol, lanchat.config, lanchat.errors,
lanchat.store.records and lanchat.server.{model,effects,context,handlers}. No I/O.
Spec: https://modern.ircdocs.horse/#errunknowncommand-421, #errnotregistered-451,
#errneedmoreparams-461 (the central gating below). The Context (lanchat.server.context)
collects a handler's output and turns it into effects.

How to write a handler (Ergo's commands.go, one table for every verb)
--------------------------------------------------------------------
Put it in a module of lanchat/server/handlers/ (one module per area) as a plain function, and
add its row to COMMANDS below. The table is written out, not collected at import time, so
grep, mypy and a reader see every verb, its gating and its handler in one place::

    # handlers/rooms.py
    # TOPIC <channel> [<topic>]
    def handle_topic(ctx: Context, msg: Message) -> None:
        room = ctx.state.find_room(msg.params[0])
        if room is None:
            ctx.numeric(n.ERR_NOSUCHCHANNEL, msg.params[0])
            return
        ...

    # here, in COMMANDS
    "TOPIC": Command(rooms.handle_topic, min_params=1),

Before the handler runs, dispatch has already answered 421 (unknown verb), 451 (registration
required: `before_registration=True` allows a verb earlier) and 461 (fewer than `min_params`
parameters). `ctx.user` is the sender; `ctx.state` the ServerState. Handler modules never
import this module (an import-linter contract holds that line): the table points at them.

What a handler may do, all through `ctx` (never build Effects by hand):

- `ctx.numeric(code, *params, text=None)`: a numeric to the sender; the sender's nick is added
  as the first parameter and the spec's default text (lanchat.protocol.numerics) as the last
  unless `text` is given. Texts that contain data go in `params`.
- `ctx.reply(msg)`: any other line for the sender (its copy of a JOIN, an echo-message, ...).
  Everything sent to the sender goes through `reply`/`numeric`, so labeled-response can wrap
  it: one line gets the label, several get a `labeled-response` batch, none get an ACK.
- `ctx.relay(users, msg, msgid=..., client_tags=...)`: the same event to other people.
  Recipients are grouped by their tag form (server-time / message-tags) and each form is
  serialised once: one Send per form (issue #4). The sender is never added implicitly.
- `ctx.fanout(users, form_of, render)`: the general form of `relay` when a line differs by
  more than tags (e.g. extended-join): `form_of(user)` gives a hashable form, `render(form)`
  the Message for it; each distinct form is rendered and serialised once.
- `ctx.tagged(msg, form, msgid=..., client_tags=...)`: `msg` with the tags `form` gets,
  for the sender's own copy of a relayed event (`ctx.tagged(msg, ctx.user.form)`).
- `ctx.publish(record, recipients, msg, echo=..., client_tags=..., skip=...)`: a message
  (PRIVMSG, NOTICE, TAGMSG): store it, relay it to `recipients` (`ctx.room_audience(room)`
  with `skip=ctx.user.conn_id` for a room, whose cached groups cost nothing per member;
  `audience(users)` otherwise), echo it to the sender. It is shown only once it is stored,
  and if storing fails nobody sees it and the sender is told (effects.Publish).
- `ctx.persist(record)`: a Persist effect for a room record. Put it before the Sends it guards
  (issue #2: durable before shown); `relay` and `reply` output always comes after.
- `ctx.room_changed(key)`: the room's public face changed (created, users, topic, +k, +s).
- `ctx.query(query)`: a CHATHISTORY query; the rows come back to the function QUERY_RESULTS
  names for the query's subcommand (CHATHISTORY's is history.render_history; SEARCH and
  MSGID have their own), called with a Context for the same client whose label is the
  original label.
- `ctx.disconnect(reason)`: close the sender's connection after its replies are flushed.

NOTICE must never produce error replies (modern.ircdocs "NOTICE message").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lanchat.protocol import numerics as n
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.effects import Query
from lanchat.server.handlers import (
    accounts,
    channel_modes,
    files,
    history,
    messaging,
    moderation,
    monitor,
    multiline,
    operators,
    queries,
    readmarker,
    redaction,
    registration,
    rename,
    rooms,
    search,
    server_info,
)
from lanchat.store.records import HistoryRecord

__all__ = [
    "COMMANDS",
    "QUERY_RESULTS",
    "Command",
    "Handler",
    "HistoryRenderer",
    "dispatch",
    "history_renderer",
]

Handler = Callable[[Context, Message], None]
HistoryRenderer = Callable[[Context, Query, Sequence[HistoryRecord]], None]


@dataclass(frozen=True, slots=True)
class Command:
    """One row of the table: how a verb is gated and which function handles it."""

    handler: Handler
    min_params: int = 0  # fewer parameters -> 461 ERR_NEEDMOREPARAMS
    before_registration: bool = False  # False -> 451 ERR_NOTREGISTERED until 001 was sent


# Verb (upper case) -> its row, sorted by verb. HELP lists these verbs.
COMMANDS: dict[str, Command] = {
    "AUTHENTICATE": Command(accounts.handle_authenticate, min_params=1, before_registration=True),
    "AWAY": Command(queries.handle_away),
    "BATCH": Command(multiline.handle_batch, min_params=1),
    "CAP": Command(registration.handle_cap, min_params=1, before_registration=True),
    "CHATHISTORY": Command(history.handle_chathistory),
    "CLEARCHAN": Command(operators.handle_clearchan, min_params=1),
    "FILEHOST": Command(files.handle_filehost),
    "HELP": Command(server_info.handle_help),
    # The name some servers (UnrealIRCd, InspIRCd) and clients use for HELP.
    "HELPOP": Command(server_info.handle_help),
    "INFO": Command(server_info.handle_info),
    "INVITE": Command(moderation.handle_invite),
    "ISON": Command(queries.handle_ison, min_params=1),
    "JOIN": Command(rooms.handle_join, min_params=1),
    "KICK": Command(moderation.handle_kick, min_params=2),
    "KILL": Command(operators.handle_kill, min_params=1),
    "LINKS": Command(server_info.handle_links),
    "LIST": Command(rooms.handle_list),
    "LUSERS": Command(queries.handle_lusers),
    "MARKREAD": Command(readmarker.handle_markread),
    "MODE": Command(channel_modes.handle_mode, min_params=1),
    "MONITOR": Command(monitor.handle_monitor, min_params=1),
    "MOTD": Command(queries.handle_motd),
    "NAMES": Command(rooms.handle_names),
    "NICK": Command(registration.handle_nick, before_registration=True),
    "NOTICE": Command(messaging.handle_notice),
    "OPER": Command(operators.handle_oper, min_params=2),
    "PART": Command(rooms.handle_part, min_params=1),
    "PASS": Command(registration.handle_pass, min_params=1, before_registration=True),
    "PING": Command(registration.handle_ping, min_params=1, before_registration=True),
    "PONG": Command(registration.handle_pong, before_registration=True),
    "PRIVMSG": Command(messaging.handle_privmsg),
    "QUIT": Command(registration.handle_quit, before_registration=True),
    "REDACT": Command(redaction.handle_redact, min_params=2),
    "REGISTER": Command(accounts.handle_register, min_params=3, before_registration=True),
    "RENAME": Command(rename.handle_rename, min_params=2),
    "SEARCH": Command(search.handle_search, min_params=1),
    "SETNAME": Command(registration.handle_setname, min_params=1),
    "TAGMSG": Command(messaging.handle_tagmsg, min_params=1),
    "TIME": Command(server_info.handle_time),
    "TOPIC": Command(rooms.handle_topic, min_params=1),
    "USER": Command(registration.handle_user, min_params=4, before_registration=True),
    "USERHOST": Command(queries.handle_userhost, min_params=1),
    "VERIFY": Command(accounts.handle_verify, min_params=2, before_registration=True),
    "WALLOPS": Command(operators.handle_wallops, min_params=1),
    "WHO": Command(queries.handle_who),
    "WHOIS": Command(queries.handle_whois, min_params=1),
    "WHOWAS": Command(queries.handle_whowas, min_params=1),
}

# HistoryQuery subcommand -> the function that turns the store's rows into lines for the
# client who asked; "" is CHATHISTORY's, used for every subcommand not named here.
QUERY_RESULTS: dict[str, HistoryRenderer] = {
    "": history.render_history,
    "MSGID": redaction.finish_redaction,
    "SEARCH": search.render_search,
}


def history_renderer(subcommand: str = "") -> HistoryRenderer:
    """The function that renders the rows of a `subcommand` look-up (CHATHISTORY's by default)."""
    return QUERY_RESULTS.get(subcommand, QUERY_RESULTS[""])


def dispatch(ctx: Context, msg: Message) -> None:
    """Gate `msg` through the table and run its handler (Ergo's Command.Run).

    A line with a `batch` tag is first offered to the client-batch collector (ircv3
    draft/multiline, multiline.take_line): a line it takes runs no handler.

    Args:
        ctx: the call's context; its user is the sender.
        msg: the parsed line.
    """
    verb = msg.verb
    cmd = COMMANDS.get(verb)
    if cmd is None:
        ctx.numeric(n.ERR_UNKNOWNCOMMAND, msg.command)
        return
    if not ctx.user.registered and not cmd.before_registration:
        ctx.numeric(n.ERR_NOTREGISTERED)
        return
    if len(msg.params) < cmd.min_params:
        ctx.numeric(n.ERR_NEEDMOREPARAMS, verb)
        return
    if "batch" in msg.tags and multiline.take_line(ctx, msg):
        return
    cmd.handler(ctx, msg)
