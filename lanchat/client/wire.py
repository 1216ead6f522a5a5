"""Small pure helpers for the client's lines: who sent a line, when, optional parameters, and
the type of the function that queues a line.

Layer: SANS-I/O client core. Imports the standard library, lanchat.errors and lanchat.protocol
only.

Specs followed:
- Message source (`nick!user@host`): https://modern.ircdocs.horse/#source
- server-time (ISO 8601 UTC with milliseconds): https://ircv3.net/specs/extensions/server-time
- Trailing parameters: https://modern.ircdocs.horse/#parameters
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from lanchat.errors import ProtocolError
from lanchat.protocol import Hostmask, Message, parse_server_time

__all__ = ["Send", "format_time", "optional", "sender", "time_ms"]


class Send(Protocol):
    """Queues one line for the server (the session's outbox): send("PRIVMSG", "#a", "hi").

    Raises ProtocolError at once for a parameter that cannot be sent (CR, LF, NUL).
    """

    def __call__(self, command: str, *params: str, tags: dict[str, str] | None = None) -> None: ...


def optional(param: str) -> tuple[str, ...]:
    """A trailing parameter that is left out when empty ("JOIN #a" rather than "JOIN #a :").

    Args:
        param: the parameter, possibly "".

    Returns:
        `(param,)`, or `()` when it is empty.
    """
    return (param,) if param else ()


def sender(msg: Message) -> Hostmask:
    """Who sent `msg`: its source split into nick, user and host ("" parts when missing).

    Args:
        msg: a received message; a server's source gives its name as the nick.

    Returns:
        The source's parts (on lanchat servers the host is the sender's IP).
    """
    return Hostmask.parse(msg.source or "")


def time_ms(msg: Message, clock: Callable[[], float]) -> int:
    """When `msg` was sent: its server-time tag in Unix ms, else now by `clock`.

    Args:
        msg: a received message.
        clock: seconds since the epoch.

    Returns:
        Unix time in milliseconds.
    """
    stamp = msg.tags.get("time")
    if stamp:
        try:
            return parse_server_time(stamp)
        except ProtocolError:
            pass  # a malformed tag is no reason to drop the message: use our clock
    return int(clock() * 1000)


def format_time(ms: int) -> str:
    """Unix ms as the ircv3 timestamp format (YYYY-MM-DDThh:mm:ss.sssZ).

    Exact in integer milliseconds (protocol.tags.format_server_time takes float seconds), so
    a CHATHISTORY bound names the very millisecond we saw.

    Args:
        ms: Unix time in milliseconds.

    Returns:
        The timestamp, e.g. "2023-11-14T22:13:20.250Z".
    """
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
