"""Case mapping and name validity for nicks and room (channel) names.

Layer: sans-I/O protocol core; standard library only.
Spec: https://modern.ircdocs.horse/#casemapping-parameter (rfc1459 and ascii),
https://modern.ircdocs.horse/#clients ("Nicknames ... MUST NOT contain ... space, comma, asterisk,
question mark, exclamation mark, at sign; MUST NOT start with $, :, # or &") and
https://modern.ircdocs.horse/#channels.

lanchat advertises CASEMAPPING=rfc1459: A-Z and []\\~ fold to a-z and {}|^. Raw names are never
compared; compare `casefold_rfc1459(name)` (called `key` or `*_folded` in the code).
"""

from __future__ import annotations

import string

__all__ = [
    "CASEMAPPING",
    "CHANTYPES",
    "casefold",
    "casefold_ascii",
    "casefold_rfc1459",
    "is_valid_channel",
    "is_valid_nick",
]

CASEMAPPING = "rfc1459"
CHANTYPES = "#"

_RFC1459 = str.maketrans(string.ascii_uppercase + "[]\\~", string.ascii_lowercase + "{}|^")
_ASCII = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)

# modern.ircdocs "Clients": letters, digits and the specials []\`_^{|}- (RFC 2812 2.3.1).
_NICK_FIRST = frozenset(string.ascii_letters + "[]\\`_^{|}")
_NICK_REST = _NICK_FIRST | frozenset(string.digits + "-")
_CHANNEL_FORBIDDEN = frozenset(" ,\x07\r\n\0")


def casefold_rfc1459(name: str) -> str:
    """Fold a nick or room name with the rfc1459 mapping."""
    return name.translate(_RFC1459)


def casefold_ascii(name: str) -> str:
    """Fold a nick or room name with the ascii mapping."""
    return name.translate(_ASCII)


casefold = casefold_rfc1459


def is_valid_nick(nick: str, nicklen: int = 30) -> bool:
    """True if `nick` is a valid nickname of at most `nicklen` characters (RFC 2812 2.3.1)."""
    if not nick or len(nick) > nicklen or nick[0] not in _NICK_FIRST:
        return False
    return all(c in _NICK_REST for c in nick)


def is_valid_channel(name: str, channellen: int = 50) -> bool:
    """True if `name` is a valid room name: '#', then no space, comma, BEL, CR, LF or NUL."""
    if len(name) < 2 or len(name.encode("utf-8")) > channellen or name[0] not in CHANTYPES:
        return False
    return not any(c in _CHANNEL_FORBIDDEN for c in name)
