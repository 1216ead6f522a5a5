"""IRCv3 capabilities lanchat supports and the CAP LS / LIST / REQ reply rules.

Layer: sans-I/O protocol core; standard library and lanchat.protocol.message only.
Spec: https://ircv3.net/specs/extensions/capability-negotiation (LS versions, multiline
replies, all-or-nothing REQ, cap-notify implied by 302).

Only capabilities the server implements are advertised. Accounts (lanchat issue 17):
`sasl=PLAIN,SCRAM-SHA-256` (https://ircv3.net/specs/extensions/sasl-3.1, RFC 7677),
`draft/account-registration` with no value (no e-mail, no registration before connecting),
`account-notify` and `account-tag` (lanchat.protocol.tags.TagForm's ACCOUNT forms).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from lanchat.protocol.message import Message

__all__ = [
    "CAP_LS_VERSION",
    "MULTILINE_MAX_BYTES",
    "MULTILINE_MAX_LINES",
    "SUPPORTED",
    "CapChange",
    "cap_list_replies",
    "cap_ls_replies",
    "parse_cap_req",
]

CAP_LS_VERSION: Final = 302  # the highest CAP LS version lanchat implements

# ircv3 draft/multiline limits (the cap's value). A batch's lines pass the flood bucket like any
# others ([flood] burst_lines 20, then 4 a second, Excess Flood past 100 waiting): 50 lines and
# the two BATCH lines are delayed ~8 s at worst, never a disconnect.
MULTILINE_MAX_BYTES: Final = 4096
MULTILINE_MAX_LINES: Final = 50

# name -> value advertised to CAP LS 302 clients ("" for none). Chathistory is still a
# work-in-progress spec: implementations "MUST NOT use the unprefixed" cap name.
SUPPORTED: Final[dict[str, str]] = {
    "account-notify": "",
    "account-tag": "",
    "away-notify": "",
    "batch": "",
    "cap-notify": "",
    "draft/account-registration": "",
    # https://ircv3.net/specs/extensions/channel-rename (work in progress: prefixed name).
    "draft/channel-rename": "",
    "draft/chathistory": "",
    # https://ircv3.net/specs/extensions/message-redaction (REDACT, handlers/redaction.py)
    "draft/message-redaction": "",
    # https://ircv3.net/specs/extensions/multiline (handlers/multiline.py)
    "draft/multiline": f"max-bytes={MULTILINE_MAX_BYTES},max-lines={MULTILINE_MAX_LINES}",
    # https://ircv3.net/specs/extensions/read-marker (MARKREAD, handlers/readmarker.py)
    "draft/read-marker": "",
    "echo-message": "",
    "extended-join": "",
    "extended-monitor": "",  # https://ircv3.net/specs/extensions/extended-monitor
    "invite-notify": "",
    "labeled-response": "",
    "message-tags": "",
    "multi-prefix": "",
    "sasl": "PLAIN,SCRAM-SHA-256",
    "server-time": "",
    "setname": "",
    # soju's search extension (SEARCH, handlers/search.py; doc/ext/search.md in soju)
    "soju.im/search": "",
    # https://ircv3.net/specs/extensions/standard-replies: errors as FAIL instead of NOTICE.
    "standard-replies": "",
    "userhost-in-names": "",
}

# Room for one CAP reply's capability list: 512 bytes minus CRLF, the server source,
# "CAP <nick> LS * :" and a margin for long nicks.
_MAX_LIST_BYTES = 380


@dataclass(frozen=True, slots=True)
class CapChange:
    """An accepted CAP REQ: what to enable and what to disable."""

    enable: frozenset[str]
    disable: frozenset[str]


def parse_cap_req(text: str, *, cap_version: int) -> CapChange | None:
    """Validate a CAP REQ list as a whole (spec: "accepted as a whole, or rejected entirely").

    Args:
        text: the REQ's last parameter, e.g. "multi-prefix -away-notify".
        cap_version: the client's CAP LS version (302 forbids disabling cap-notify).

    Returns:
        The change to apply, or None to NAK the whole request (unknown capability, empty
        list, or `-cap-notify` from a 302 client).
    """
    enable: set[str] = set()
    disable: set[str] = set()
    names = text.split()
    if not names:
        return None
    for name in names:
        off = name.startswith("-")
        cap = name[1:] if off else name
        if cap not in SUPPORTED:
            return None
        if off:
            if cap == "cap-notify" and cap_version >= CAP_LS_VERSION:
                return None  # "servers MUST NOT disable the cap-notify capability" for 302
            disable.add(cap)
        else:
            enable.add(cap)
    return CapChange(frozenset(enable), frozenset(disable - enable))


def _split(tokens: Iterable[str]) -> list[str]:
    chunks: list[str] = []
    current = ""
    for token in tokens:
        if current and len(current) + 1 + len(token) > _MAX_LIST_BYTES:
            chunks.append(current)
            current = token
        else:
            current = f"{current} {token}" if current else token
    chunks.append(current)
    return chunks


def _replies(server: str, nick: str, sub: str, tokens: list[str], multiline: bool) -> list[Message]:
    chunks = _split(tokens) if multiline else [" ".join(tokens)]
    out = []
    for i, chunk in enumerate(chunks):
        more = ("*",) if i < len(chunks) - 1 else ()
        out.append(Message("CAP", (nick, sub, *more, chunk), source=server))
    return out


def cap_ls_replies(server: str, nick: str, version: int) -> list[Message]:
    """The CAP LS reply lines for a client that asked with `version` (0 for plain LS).

    Args:
        server: the server name (the source).
        nick: the client's nick, or "*" before NICK.
        version: the version in this LS request; 302 or more adds values and allows
            multiline replies.

    Returns:
        One or more `CAP <nick> LS [*] :<caps>` messages.
    """
    modern = version >= CAP_LS_VERSION
    tokens = [f"{name}={value}" if value and modern else name for name, value in SUPPORTED.items()]
    return _replies(server, nick, "LS", tokens, modern)


def cap_list_replies(server: str, nick: str, enabled: Iterable[str], version: int) -> list[Message]:
    """The CAP LIST reply lines: the capabilities enabled on this connection.

    Args:
        server: the server name.
        nick: the client's nick, or "*".
        enabled: the enabled capabilities.
        version: the client's CAP version (302 allows multiline replies).

    Returns:
        One or more `CAP <nick> LIST [*] :<caps>` messages (an empty list is one empty
        parameter, as the spec requires).
    """
    return _replies(server, nick, "LIST", sorted(enabled), version >= CAP_LS_VERSION)
