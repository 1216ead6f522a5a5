"""SEARCH: find messages in the history of the asker's rooms (soju.im/search).

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
No sqlite here: the handler returns a SEARCH Query effect, the store runs it off the loop
(lanchat.store.search: FTS5 trigram index), and `render_search` sends the batch.
Spec: soju's doc/ext/search.md (https://codeberg.org/emersion/soju/src/branch/master/doc/ext/
search.md): the attributes, the `soju.im/search` batch of the original messages with their
msgid and time tags, FAIL SEARCH INVALID_PARAMS.

Grammar (attributes are message-tag syntax, values escaped as tag values)::

    SEARCH <attr>=<value>[;<attr>=<value>...]
    attr = in | from | after | before | text | limit

`text` is words that must all occur, anywhere in the message (substrings: "chat" finds
"lanchat"; see lanchat.store.search for words under three characters). `after` / `before`
are server-time timestamps, inclusive. `limit` is capped at [limits] chathistory_max, which
is also the default.

Who may search what (the CHATHISTORY rule, handlers/history.py): the rooms the asker is in;
`in=#room` must be one of them. Private history belongs to accounts (issue 13, issue 17):
`in=<nick>` searches the asker's account's conversation with the account of that nick (the
one it is logged in to now, or else the account named so), and answers an empty batch when
the asker is logged out or the nick names no account. A search without `in` covers rooms only.
"""

from __future__ import annotations

from collections.abc import Sequence

from lanchat.errors import MalformedLine
from lanchat.protocol.casemap import CHANTYPES, casefold, is_valid_nick
from lanchat.protocol.message import Message, unescape_tag_value
from lanchat.protocol.tags import parse_server_time
from lanchat.server.context import Context
from lanchat.server.effects import Query
from lanchat.server.handlers.history import peer_account, send_batch
from lanchat.server.handlers.multiline import record_lines
from lanchat.server.handlers.rooms import echo_param
from lanchat.store.records import HistoryQuery, HistoryRecord, account_pair_key

__all__ = ["BATCH_TYPE", "render_search"]

BATCH_TYPE = "soju.im/search"
_ATTRIBUTES = frozenset({"in", "from", "after", "before", "text", "limit"})


class _Invalid(Exception):
    """An attribute that cannot be used: FAIL SEARCH INVALID_PARAMS <it> :<why>."""

    def __init__(self, attribute: str, why: str) -> None:
        super().__init__(attribute, why)
        self.attribute = attribute
        self.why = why


def _attributes(text: str) -> dict[str, str]:
    """The attributes of a SEARCH parameter, values unescaped (message-tags escaping)."""
    found: dict[str, str] = {}
    for item in text.split(";"):
        if not item:
            continue
        name, _, value = item.partition("=")
        if name not in _ATTRIBUTES:
            raise _Invalid(
                item,
                f"Unknown search attribute {name!r}; use in, from, after, before, text or limit",
            )
        if name in found:
            raise _Invalid(item, f"The search attribute {name} is given twice")
        found[name] = unescape_tag_value(value)
    return found


def _time(attributes: dict[str, str], name: str) -> int | None:
    if name not in attributes:
        return None
    try:
        return parse_server_time(attributes[name])
    except MalformedLine:
        raise _Invalid(f"{name}={attributes[name]}", "Invalid timestamp") from None


def _limit(ctx: Context, attributes: dict[str, str]) -> int:
    maximum = ctx.state.config.limits.chathistory_max
    text = attributes.get("limit")
    if text is None:
        return maximum
    if not text.isdigit():
        raise _Invalid(f"limit={text}", "Invalid limit: use a whole number")
    return min(int(text), maximum) or maximum


# SEARCH <attributes>
def handle_search(ctx: Context, msg: Message) -> None:
    """Check the attributes and the asker's rights; hand a SEARCH HistoryQuery to the edge."""
    user = ctx.user
    try:
        attributes = _attributes(msg.params[0])
        start, end = _time(attributes, "after"), _time(attributes, "before")
        limit = _limit(ctx, attributes)
        sender = attributes.get("from", "")
        if sender and not is_valid_nick(sender, ctx.state.config.limits.nicklen):
            raise _Invalid(f"from={sender}", "Invalid nick")
        where = attributes.get("in")
        if where is None:
            keys = tuple(user.rooms)
        elif where[:1] in CHANTYPES:
            room = ctx.state.find_room(where)
            if room is None or user.conn_id not in room.members:
                raise _Invalid(f"in={where}", f"You are not in {where}: join it to search it")
            keys = (room.key,)
        elif is_valid_nick(where, ctx.state.config.limits.nicklen):
            # The asker's account's conversation with that nick's account (module docstring).
            peer = peer_account(ctx, where)
            keys = (
                (account_pair_key(casefold(user.account), peer),) if user.account and peer else ()
            )
        else:
            raise _Invalid(f"in={where}", "Invalid target: use a room or a nick")
    except _Invalid as bad:
        params = ("SEARCH", "INVALID_PARAMS", echo_param(bad.attribute), bad.why)
        ctx.reply(Message("FAIL", params, source=ctx.server_name))
        return
    query = HistoryQuery(
        "SEARCH",
        start=start,
        end=end,
        limit=limit,
        target_keys=keys,
        text=attributes.get("text", ""),
        sender=sender,
    )
    if not keys:
        render_search(ctx, Query(user.conn_id, query), ())  # nothing to ask the store
        return
    ctx.query(query)


def render_search(ctx: Context, query: Query, records: Sequence[HistoryRecord]) -> None:
    """Send the matches to the client that asked: a `soju.im/search` batch, oldest first.

    Each message keeps its original source, msgid and time (and client tags, for
    message-tags clients); a multiline message is a nested draft/multiline batch, or its
    lines (lanchat.server.handlers.multiline.record_lines). Without the batch capability the
    lines come bare, as CHATHISTORY's do.

    Args:
        ctx: a Context for the asking client; ctx.label is the request's label.
        query: the Query effect of handle_search.
        records: the matches, oldest first.
    """
    lines = [line for record in records for line in record_lines(ctx, ctx.user, record)]
    send_batch(ctx, (BATCH_TYPE,), lines)
