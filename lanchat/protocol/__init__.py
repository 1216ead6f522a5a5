"""The sans-I/O IRC protocol core: messages, line splitting, case mapping, numerics, tags.

Layer: imports the standard library, lanchat.errors and lanchat.values only; no sockets,
asyncio, sqlite3, zeroconf or tkinter (an import-linter contract holds this line).
"""

from lanchat.protocol import numerics
from lanchat.protocol.caps import (
    CAP_LS_VERSION,
    SUPPORTED,
    CapChange,
    cap_list_replies,
    cap_ls_replies,
    parse_cap_req,
)
from lanchat.protocol.casemap import casefold, is_valid_channel, is_valid_nick
from lanchat.protocol.hostmask import Hostmask, host_for_ip, mask_matches, normalize_mask
from lanchat.protocol.isupport import isupport_lines, isupport_tokens
from lanchat.protocol.lines import (
    MAX_BODY_BYTES,
    MAX_TAGS_BYTES,
    TOO_LONG,
    LineLimits,
    LineReader,
    TooLong,
)
from lanchat.protocol.message import Message, escape_tag_value, parse, unescape_tag_value
from lanchat.protocol.tags import (
    MAX_CLIENT_TAG_BYTES,
    TagForm,
    client_only_tags,
    format_server_time,
    msgid_factory,
    parse_server_time,
    tag_form,
    tags_for_form,
)

__all__ = [
    "CAP_LS_VERSION",
    "MAX_BODY_BYTES",
    "MAX_CLIENT_TAG_BYTES",
    "MAX_TAGS_BYTES",
    "SUPPORTED",
    "TOO_LONG",
    "CapChange",
    "Hostmask",
    "LineLimits",
    "LineReader",
    "Message",
    "TagForm",
    "TooLong",
    "cap_list_replies",
    "cap_ls_replies",
    "casefold",
    "client_only_tags",
    "escape_tag_value",
    "format_server_time",
    "host_for_ip",
    "is_valid_channel",
    "is_valid_nick",
    "isupport_lines",
    "isupport_tokens",
    "mask_matches",
    "msgid_factory",
    "normalize_mask",
    "numerics",
    "parse",
    "parse_cap_req",
    "parse_server_time",
    "tag_form",
    "tags_for_form",
    "unescape_tag_value",
]
