"""BATCH draft/multiline: a pasted block is one message, stored once, relayed as a batch.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: https://ircv3.net/specs/extensions/multiline (client batches, `draft/multiline-concat`,
the fallback for clients without the capability, the FAIL BATCH codes) and
https://ircv3.net/specs/extensions/batch.

Grammar (multiline "Batch types")::

    BATCH +<ref> draft/multiline <target>        client tags of the message go here
    @batch=<ref>[;draft/multiline-concat] PRIVMSG <target> :<line>
    BATCH -<ref>

The message is the lines joined by "\\n", except that a line tagged `draft/multiline-concat`
is joined to the previous one with nothing between. It is published as ONE HistoryRecord
(text with "\\n"): one msgid, one history entry, one search hit. Clients with the capability
get it as a batch with the line composition the sender chose; the others get the lines as
plain PRIVMSGs, blank ones left out, the msgid on the first ("Fallback"). History and search
replay it the same way (`record_lines`), cut at "\\n" and, past `_REPLAY_LINE_BYTES`, into
concat pieces.

BATCH is for clients that enabled draft/multiline; for the others it stays the unknown
command it was (421), and no other batch type is taken from clients.
"""

from __future__ import annotations

from lanchat.protocol import numerics as n
from lanchat.protocol.caps import MULTILINE_MAX_BYTES, MULTILINE_MAX_LINES
from lanchat.protocol.casemap import CHANTYPES, casefold
from lanchat.protocol.message import Message
from lanchat.protocol.tags import TagForm, client_only_tags, format_server_time, tags_for_form
from lanchat.server.context import Context
from lanchat.server.handlers.messaging import can_send_to_room
from lanchat.server.model import MultilineBatch, User
from lanchat.store.records import HistoryRecord

__all__ = ["CAP", "CONCAT", "record_lines", "take_line"]

CAP = "draft/multiline"  # the capability and the batch type
CONCAT = "draft/multiline-concat"  # the tag of a line joined to the previous one as is
# Replayed lines longer than this are cut into concat pieces, so every line fits in 512 bytes
# with a long source and target (the spec's worst case leaves 353 bytes; this is lower).
_REPLAY_LINE_BYTES = 300
_ONE_LINE_BYTES = 510  # "<command> <target> :<text>" of a client line, without CRLF


def _fail(ctx: Context, code: str, *context: str) -> None:
    ctx.reply(Message("FAIL", ("BATCH", code, *context), source=ctx.server_name))


# BATCH +<ref> draft/multiline <target>  /  BATCH -<ref>
def handle_batch(ctx: Context, msg: Message) -> None:
    """Open or close a client's draft/multiline batch."""
    user = ctx.user
    if not user.has(CAP):
        ctx.numeric(n.ERR_UNKNOWNCOMMAND, msg.command)
        return
    ref = msg.params[0]
    if ref[:1] == "+" and len(ref) > 1:
        if len(msg.params) != 3 or msg.params[1] != CAP:
            _fail(ctx, "MULTILINE_INVALID", "Only draft/multiline batches with a target")
            return
        if user.multiline is not None:
            _fail(ctx, "MULTILINE_INVALID", "A multiline batch is already open; close it first")
        user.multiline = MultilineBatch(
            ref[1:], msg.params[2], client_only_tags(msg.tags), label=ctx.label
        )
        ctx.label = None  # answered when the batch closes: the echo carries it, or an ACK
        return
    batch = user.multiline
    if ref[:1] != "-" or batch is None or ref[1:] != batch.ref:
        _fail(ctx, "MULTILINE_INVALID", "No such open multiline batch")
        return
    user.multiline = None
    if batch.label is not None and ctx.label is None:
        ctx.label = batch.label  # what the batch's end answers answers its start
    if batch.failed:
        return  # its error was sent when it happened
    if not any(text for text, _ in batch.lines):
        _fail(ctx, "MULTILINE_INVALID", "A multiline message needs some text")
        return
    _deliver(ctx, batch)


def take_line(ctx: Context, msg: Message) -> bool:
    """A line tagged `batch`: while a multiline batch is open, it is one of its lines.

    Only PRIVMSG may be in a multiline batch ("Batch types"); anything else, and every line
    of a client with no batch open, is handled as usual (its `batch` tag ignored, as before).

    Args:
        ctx: the sender's context.
        msg: the line, with its `batch` tag.

    Returns:
        True when the line was taken (collected, or refused with a FAIL).
    """
    batch = ctx.user.multiline
    if batch is None or msg.verb != "PRIVMSG":
        return False
    if msg.tags["batch"] != batch.ref:
        _fail(ctx, "MULTILINE_INVALID", "No such open multiline batch")
        return True
    if not batch.failed:
        _add_line(ctx, batch, msg)
    return True


def _add_line(ctx: Context, batch: MultilineBatch, msg: Message) -> None:
    target = msg.params[0] if msg.params else ""
    text = msg.params[1] if len(msg.params) > 1 else ""
    concat = CONCAT in msg.tags
    if casefold(target) != casefold(batch.target):
        batch.failed = True
        _fail(ctx, "MULTILINE_INVALID_TARGET", batch.target, target, "Invalid multiline target")
        return
    if concat and not text:
        batch.failed = True
        _fail(ctx, "MULTILINE_INVALID", "A concat line must not be blank")
        return
    # Each joining line feed counts one byte toward max-bytes (spec "Batch types").
    batch.size += len(text.encode()) + (1 if batch.lines and not concat else 0)
    batch.lines.append((text, concat))
    if batch.size > MULTILINE_MAX_BYTES:
        batch.failed = True
        text = "Multiline batch max-bytes exceeded"
        _fail(ctx, "MULTILINE_MAX_BYTES", str(MULTILINE_MAX_BYTES), text)
    elif len(batch.lines) > MULTILINE_MAX_LINES:
        batch.failed = True
        text = "Multiline batch max-lines exceeded"
        _fail(ctx, "MULTILINE_MAX_LINES", str(MULTILINE_MAX_LINES), text)


def _deliver(ctx: Context, batch: MultilineBatch) -> None:
    user, state = ctx.user, ctx.state
    target = batch.target
    if target[:1] in CHANTYPES:
        room = state.find_room(target)
        if room is None:
            ctx.numeric(n.ERR_NOSUCHCHANNEL, target)
            return
        if not can_send_to_room(room, user):
            ctx.numeric(n.ERR_CANNOTSENDTOCHAN, room.name)
            return
        name, key = room.name, room.key
        recipients = [m.user for m in room.members.values() if m.user is not user]
    else:
        peer = state.find_user(target)
        if peer is None or not peer.registered:
            ctx.numeric(n.ERR_NOSUCHNICK, target)
            return
        name, key = peer.nick, state.conversation_key(user, peer)
        recipients = [peer] if peer is not user else []
    text = "".join(
        (line if concat or i == 0 else "\n" + line) for i, (line, concat) in enumerate(batch.lines)
    )
    record = HistoryRecord(
        msgid=state.new_msgid(),
        time_ms=int(ctx.now * 1000),
        command="PRIVMSG",
        source=user.source,
        target=name,
        target_key=key,
        text=text,
        tags=batch.client_tags,
    )
    user.last_message = ctx.now
    echo = user.has("echo-message")
    label = ctx.label
    if echo:
        # "Servers MUST only include the label tag on the opening BATCH command when
        # replying to a client using echo-message" (spec, labeled-response).
        ctx.label = None
    ctx.publish_rendered(
        record,
        recipients,
        _form_of,
        lambda form: _render(ctx, form, record, batch.lines),
        echo=echo,
        echo_tags={"label": label} if echo and label else None,
    )


def _form_of(user: User) -> tuple[bool, TagForm]:
    return user.has(CAP) and user.has("batch"), user.form


def _render(
    ctx: Context, form: tuple[bool, TagForm], record: HistoryRecord, lines: list[tuple[str, bool]]
) -> list[Message]:
    """The lines of `record` for a recipient of `form` (with multiline?, tag form)."""
    multiline, tag_form = form
    time_tag = ctx.time_tag
    if multiline:
        return _as_batch(ctx, tag_form, record, lines, time_tag)
    return _fallback(tag_form, record, lines, time_tag)


def _as_batch(
    ctx: Context,
    form: TagForm,
    record: HistoryRecord,
    lines: list[tuple[str, bool]],
    time_tag: str,
) -> list[Message]:
    """`BATCH +ref draft/multiline <target>` (message tags on it), the lines, `BATCH -ref`."""
    ref = ctx.state.new_batch_ref()
    tags = tags_for_form(form, time_tag=time_tag, msgid=record.msgid, client_tags=record.tags)
    source, target = record.source, record.target
    out = [Message("BATCH", (f"+{ref}", CAP, target), source=source, tags=tags)]
    for text, concat in lines:
        line_tags = {"batch": ref, CONCAT: ""} if concat else {"batch": ref}
        out.append(Message("PRIVMSG", (target, text), source=source, tags=line_tags))
    out.append(Message("BATCH", (f"-{ref}",), source=source))
    return out


def _fallback(
    form: TagForm, record: HistoryRecord, lines: list[tuple[str, bool]], time_tag: str
) -> list[Message]:
    """One PRIVMSG per non-blank line; the msgid and client tags on the first only."""
    out: list[Message] = []
    for text, _ in lines:
        if not text:
            continue  # "Servers MUST NOT send blank lines" to clients without the capability
        first = not out
        tags = tags_for_form(
            form,
            time_tag=time_tag,
            msgid=record.msgid if first else "",
            client_tags=record.tags if first else None,
        )
        out.append(Message(record.command, (record.target, text), source=record.source, tags=tags))
    return out


def _replay_lines(text: str) -> list[tuple[str, bool]]:
    """A stored text as (line, concat) pairs: cut at "\\n", long lines into concat pieces."""
    out: list[tuple[str, bool]] = []
    for line in text.split("\n"):
        data = line.encode()
        if len(data) <= _REPLAY_LINE_BYTES:
            out.append((line, False))
            continue
        start, concat = 0, False
        while start < len(data):
            end = min(start + _REPLAY_LINE_BYTES, len(data))
            while end < len(data) and (data[end] & 0xC0) == 0x80:
                end -= 1  # never cut inside a UTF-8 sequence
            out.append((data[start:end].decode(), concat))
            start, concat = end, True
    return out


def record_lines(ctx: Context, user: User, record: HistoryRecord) -> list[Message]:
    """A stored PRIVMSG/NOTICE as `user` gets it in a history or search batch.

    A one-line message is one line with its time, msgid and client tags (per `user`'s tag
    form); a message with line breaks, or too long for one line, is a nested draft/multiline
    batch for a client with the capability (PRIVMSG only: the spec allows no NOTICE in one),
    else its non-blank lines (multiline "Fallback").

    Args:
        ctx: the context of the reply (batch references).
        user: who the lines are for.
        record: the stored message.

    Returns:
        The lines, without the enclosing batch's tag.
    """
    time_tag = format_server_time(record.time_ms / 1000)
    # What a client could send in one line is replayed as one line, as it was relayed.
    one_line = len(record.command) + len(record.target.encode()) + len(record.text.encode()) + 4
    if "\n" not in record.text and one_line <= _ONE_LINE_BYTES:
        tags = tags_for_form(
            user.form, time_tag=time_tag, msgid=record.msgid, client_tags=record.tags
        )
        params = (record.target, record.text)
        return [Message(record.command, params, source=record.source, tags=tags)]
    lines = _replay_lines(record.text)
    if record.command == "PRIVMSG" and user.has(CAP) and user.has("batch"):
        return _as_batch(ctx, user.form, record, lines, time_tag)
    return _fallback(user.form, record, lines, time_tag)
