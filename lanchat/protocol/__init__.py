"""The sans-I/O IRC protocol core: messages, line splitting, case mapping, numerics, tags.

Layer: imports the standard library and lanchat.errors only; no sockets, asyncio, sqlite3,
zeroconf or tkinter (an import-linter contract holds this line).
"""

from lanchat.protocol.casemap import casefold, is_valid_channel, is_valid_nick
from lanchat.protocol.lines import TOO_LONG, LineReader, TooLong
from lanchat.protocol.message import Message, escape_tag_value, parse, unescape_tag_value

__all__ = [
    "TOO_LONG",
    "LineReader",
    "Message",
    "TooLong",
    "casefold",
    "escape_tag_value",
    "is_valid_channel",
    "is_valid_nick",
    "parse",
    "unescape_tag_value",
]
