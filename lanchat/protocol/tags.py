"""Message tags the server adds or relays: server-time, msgid and client-only (+) tags.

Layer: sans-I/O protocol core; standard library and lanchat.errors only.
Spec: https://ircv3.net/specs/extensions/message-tags (client-only tags, size limits),
https://ircv3.net/specs/extensions/server-time (the `time` tag format) and
https://ircv3.net/specs/extensions/message-ids (`msgid`).

Which tags a recipient gets depends on its capabilities; `TagForm` names the forms a
relayed line can take, so fan-out serialises each form once (issue #4):

    NONE       neither message-tags nor server-time: no tags at all
    TIME       server-time only: `time`
    FULL       message-tags: `time` (if server-time), `msgid` and the client-only tags

Each has an `_ACCOUNT` twin (the ACCOUNT bit, 4) for clients with account-tag
(https://ircv3.net/specs/extensions/account-tag): they also get `account=<name>` on lines
from a logged-in user.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import os
import time
from collections.abc import Callable, Iterable, Mapping

from lanchat.errors import MalformedLine

__all__ = [
    "MAX_CLIENT_TAG_BYTES",
    "TAGGED_FORMS",
    "TagForm",
    "client_only_tags",
    "format_server_time",
    "msgid_factory",
    "parse_server_time",
    "tag_form",
    "tags_for_form",
]

# ircv3 message-tags "Size limit": clients may send at most 4094 bytes of tag data
# (excluding the leading '@' and the trailing space).
MAX_CLIENT_TAG_BYTES = 4094


class TagForm(enum.IntEnum):
    """The tag set a recipient can receive; see the module docstring."""

    NONE = 0
    TIME = 1
    FULL = 2
    FULL_NO_TIME = 3  # message-tags without server-time: msgid and client tags, no time
    NONE_ACCOUNT = 4  # the same four with account-tag (the ACCOUNT bit)
    TIME_ACCOUNT = 5
    FULL_ACCOUNT = 6
    FULL_NO_TIME_ACCOUNT = 7


_ACCOUNT = 4  # the bit account-tag adds to a form
# The forms of clients with message-tags: the only ones TAGMSG goes to.
TAGGED_FORMS = frozenset(
    (TagForm.FULL, TagForm.FULL_NO_TIME, TagForm.FULL_ACCOUNT, TagForm.FULL_NO_TIME_ACCOUNT)
)
_TIMED_FORMS = frozenset((TagForm.TIME, TagForm.FULL, TagForm.TIME_ACCOUNT, TagForm.FULL_ACCOUNT))


def tag_form(caps: Iterable[str] | frozenset[str] | set[str]) -> TagForm:
    """The form of relayed lines a client with `caps` gets.

    Args:
        caps: the client's enabled capabilities.

    Returns:
        The TagForm to group the client under for fan-out.
    """
    caps = caps if isinstance(caps, set | frozenset) else set(caps)
    if "message-tags" in caps:
        form = TagForm.FULL if "server-time" in caps else TagForm.FULL_NO_TIME
    else:
        form = TagForm.TIME if "server-time" in caps else TagForm.NONE
    return TagForm(form | _ACCOUNT) if "account-tag" in caps else form


def tags_for_form(
    form: TagForm,
    *,
    time_tag: str = "",
    msgid: str = "",
    client_tags: Mapping[str, str] | None = None,
    account: str = "",
) -> dict[str, str]:
    """The tags one form of a relayed line carries.

    Args:
        form: the recipient group's TagForm.
        time_tag: the formatted server-time ("" for none).
        msgid: the message id ("" for none).
        client_tags: the sender's client-only tags, already filtered.
        account: the sender's account ("" when not logged in), for account-tag forms.

    Returns:
        The tag dict, in wire order: time, msgid, account, then client tags.
    """
    tags: dict[str, str] = {}
    if time_tag and form in _TIMED_FORMS:
        tags["time"] = time_tag
    tagged = form in TAGGED_FORMS
    if tagged and msgid:
        tags["msgid"] = msgid
    if account and form & _ACCOUNT:
        tags["account"] = account
    if tagged and client_tags:
        tags.update(client_tags)
    return tags


def format_server_time(seconds: float) -> str:
    """Format Unix time as the server-time tag value, e.g. "2026-11-25T18:00:00.123Z".

    Args:
        seconds: Unix time in seconds.

    Returns:
        ISO 8601 UTC with millisecond precision (ircv3 server-time).
    """
    ms = int(seconds * 1000)
    stamp = dt.datetime.fromtimestamp(ms // 1000, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def parse_server_time(value: str) -> int:
    """Parse a server-time / CHATHISTORY timestamp back to Unix milliseconds.

    Args:
        value: "YYYY-MM-DDThh:mm:ss[.sss]Z" (a numeric UTC offset is accepted too).

    Returns:
        Unix time in milliseconds.

    Raises:
        MalformedLine: the value is not such a timestamp.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        raise MalformedLine(f"{value!r} is not a timestamp like 2026-11-25T18:00:00.000Z") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return round(stamp.timestamp() * 1000)


def msgid_factory(clock: Callable[[], float] = time.time) -> Callable[[], str]:
    """Make a generator of unique, time-sortable message ids.

    An id is the clock in milliseconds (11 base-32 digits) followed by a per-process random
    prefix and a counter (6 base-32 digits), so ids from one server sort by creation and never
    repeat, even within one millisecond or across restarts.

    The time part is formatted once per millisecond and digits come two at a time from a
    table: an id is made for every message, and digit by digit it took 4 us (issue #4).

    Args:
        clock: returns Unix seconds.

    Returns:
        A function returning a new msgid at each call.
    """
    boot = os.urandom(4).hex()
    counter = itertools.count()
    last_ms = -1
    prefix = ""

    def new_msgid() -> str:
        nonlocal last_ms, prefix
        ms = int(clock() * 1000)
        if ms != last_ms:
            last_ms, prefix = ms, _base32(ms, 11) + boot
        n = next(counter)  # its last 6 digits: _base32(n, 6), inlined
        return prefix + _PAIRS[n >> 20 & 1023] + _PAIRS[n >> 10 & 1023] + _PAIRS[n & 1023]

    return new_msgid


_DIGITS = "0123456789abcdefghijklmnopqrstuv"
_PAIRS = tuple(a + b for a in _DIGITS for b in _DIGITS)  # the 1024 two-digit numbers, in order


def _base32(value: int, width: int) -> str:
    """The last `width` (at most 12) base-32 digits of `value`, two per table lookup."""
    p = _PAIRS
    digits = (
        p[value >> 50 & 1023]
        + p[value >> 40 & 1023]
        + p[value >> 30 & 1023]
        + p[value >> 20 & 1023]
        + p[value >> 10 & 1023]
        + p[value & 1023]
    )
    return digits[12 - width :]


def client_only_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags of a client message that may be relayed: only client-only ('+') tags.

    ircv3 message-tags: servers relay client-only tags to other clients that enabled
    message-tags and drop any other tag a client sends (servers set those themselves).

    Args:
        tags: the tags as the client sent them.

    Returns:
        A new dict with only the '+' tags, in their original order.
    """
    return {k: v for k, v in tags.items() if k.startswith("+")}
