"""The command table: one handler per verb, gated centrally, writing to a Context.

Layer: pure server core; may import lanchat.protocol, lanchat.config, lanchat.errors,
lanchat.store.records and lanchat.server.{model,effects,context}. No I/O.
Spec: https://modern.ircdocs.horse/#errunknowncommand-421, #errnotregistered-451,
#errneedmoreparams-461 (the central gating below). The Context (lanchat.server.context)
collects a handler's output and turns it into effects.

How to write a handler (Ergo's commands.go, one table for every verb)
--------------------------------------------------------------------
Put it in a module of lanchat/server/handlers/ (one module per area). Every module there is
imported by `load_handlers()` when a ServerState is built, so decorating is all it takes::

    from lanchat.protocol import numerics as n
    from lanchat.protocol.message import Message
    from lanchat.server.context import Context
    from lanchat.server.dispatch import command

    # TOPIC <channel> [<topic>]
    @command("TOPIC", min_params=1)
    def handle_topic(ctx: Context, msg: Message) -> None:
        room = ctx.state.find_room(msg.params[0])
        if room is None:
            ctx.numeric(n.ERR_NOSUCHCHANNEL, msg.params[0])
            return
        ...

Before the handler runs, dispatch has already answered 421 (unknown verb), 451 (registration
required: pass `before_registration=True` to allow a verb earlier) and 461 (fewer than
`min_params` parameters). `ctx.user` is the sender; `ctx.state` the ServerState.

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
- `ctx.query(query)`: a CHATHISTORY query; the rows come back through the function
  registered with `@on_history_result` (lanchat/server/handlers/history.py), called with a
  Context for the same client whose label is the original label. Other store look-ups
  (SEARCH, MSGID) come back to the function registered with `@on_query_result(subcommand)`.
- `ctx.disconnect(reason)`: close the sender's connection after its replies are flushed.

NOTICE must never produce error replies (modern.ircdocs "NOTICE message").
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lanchat.protocol import numerics as n
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.effects import Query
from lanchat.store.records import HistoryRecord

__all__ = [
    "COMMANDS",
    "Command",
    "Handler",
    "HistoryRenderer",
    "command",
    "dispatch",
    "load_handlers",
    "on_batch_line",
    "on_history_result",
    "on_query_result",
]

Handler = Callable[[Context, Message], None]
HistoryRenderer = Callable[[Context, Query, Sequence[HistoryRecord]], None]


@dataclass(frozen=True, slots=True)
class Command:
    """One row of the table: how a verb is gated and which function handles it."""

    handler: Handler
    min_params: int = 0  # fewer parameters -> 461 ERR_NEEDMOREPARAMS
    before_registration: bool = False  # False -> 451 ERR_NOTREGISTERED until 001 was sent


COMMANDS: dict[str, Command] = {}  # verb (upper case) -> Command
_batch_takers: list[Callable[[Context, Message], bool]] = []  # see on_batch_line
_history_renderers: dict[str, HistoryRenderer] = {}  # subcommand ("" for CHATHISTORY) -> it


def command(
    verb: str, *, min_params: int = 0, before_registration: bool = False
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of `verb`.

    Args:
        verb: the command, upper case ("PRIVMSG").
        min_params: parameters required before the handler is called (461 otherwise).
        before_registration: allow the verb before registration completes.

    Returns:
        A decorator that registers and returns the handler unchanged.

    Raises:
        ValueError: the verb already has a handler (two modules claim it).
    """

    def register(handler: Handler) -> Handler:
        if verb in COMMANDS and COMMANDS[verb].handler is not handler:
            raise ValueError(f"two handlers for {verb}: {COMMANDS[verb].handler} and {handler}")
        COMMANDS[verb] = Command(handler, min_params, before_registration)
        return handler

    return register


def on_batch_line(taker: Callable[[Context, Message], bool]) -> Callable[[Context, Message], bool]:
    """Register the function offered each line with a `batch` tag before its handler runs.

    Client-initiated batches (ircv3 draft/multiline) are collected, not run line by line:
    `taker(ctx, msg)` returns True when it took the line (then no handler runs).

    Returns:
        The function unchanged.
    """
    _batch_takers[:] = [taker]
    return taker


def on_history_result(renderer: HistoryRenderer) -> HistoryRenderer:
    """Register the function that turns CHATHISTORY rows into lines (handlers/history.py).

    Args:
        renderer: called as renderer(ctx, query_effect, records) by ServerState.history_result.

    Returns:
        The renderer unchanged.
    """
    _history_renderers[""] = renderer
    return renderer


def on_query_result(subcommand: str) -> Callable[[HistoryRenderer], HistoryRenderer]:
    """Register the function that answers store look-ups of one HistoryQuery subcommand.

    Args:
        subcommand: e.g. "SEARCH"; its results go to the decorated function rather than
            the CHATHISTORY renderer.

    Returns:
        A decorator that registers and returns the function unchanged.
    """

    def register(renderer: HistoryRenderer) -> HistoryRenderer:
        _history_renderers[subcommand] = renderer
        return renderer

    return register


def history_renderer(subcommand: str = "") -> HistoryRenderer | None:
    """The renderer of `subcommand`'s rows (CHATHISTORY's by default), or None if not loaded."""
    return _history_renderers.get(subcommand) or _history_renderers.get("")


def load_handlers() -> None:
    """Import every module of lanchat.server.handlers so their @command rows are registered."""
    import lanchat.server.handlers as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


def dispatch(ctx: Context, msg: Message) -> None:
    """Gate `msg` through the table and run its handler (Ergo's Command.Run).

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
    if "batch" in msg.tags and _batch_takers and _batch_takers[0](ctx, msg):
        return
    cmd.handler(ctx, msg)
