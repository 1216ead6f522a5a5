"""RPL_ISUPPORT (005) tokens: what this server supports, built from the configured limits.

Layer: sans-I/O protocol core; standard library only (the limits come in through a structural
type, so this module does not import lanchat.config).
Spec: https://modern.ircdocs.horse/#rplisupport-005 and
https://modern.ircdocs.horse/#feature-advertisement (tokens, "a maximum of 13 parameters" per
line is what servers send in practice), https://ircv3.net/specs/extensions/utf8-only (UTF8ONLY)
and https://ircv3.net/specs/extensions/chathistory (CHATHISTORY, MSGREFTYPES); issue 18:
https://ircv3.net/specs/extensions/whox (WHOX), .../monitor (MONITOR), .../bot-mode (BOT).
"""

from __future__ import annotations

from typing import Final, Protocol

from lanchat.protocol.casemap import CASEMAPPING, CHANTYPES

__all__ = [
    "BOT_MODE",
    "CHANMODES",
    "PREFIX",
    "STATUSMSG",
    "TOKENS_PER_LINE",
    "IsupportLimits",
    "isupport_lines",
    "isupport_tokens",
]

TOKENS_PER_LINE: Final = 13
PREFIX: Final = "(ov)@+"
# Type A (list) b e I; type B (always a parameter) k; type C (parameter when set) l;
# type D (flags) i m n s t.
CHANMODES: Final = "beI,k,l,imnst"
BOT_MODE: Final = "B"  # https://ircv3.net/specs/extensions/bot-mode: the user mode and WHO flag
STATUSMSG: Final = "@+"  # PRIVMSG @#room / +#room reach its operators / voiced members


class IsupportLimits(Protocol):
    """The lanchat.config.Limits fields ISUPPORT reports."""

    @property
    def nicklen(self) -> int: ...
    @property
    def channellen(self) -> int: ...
    @property
    def topiclen(self) -> int: ...
    @property
    def awaylen(self) -> int: ...
    @property
    def kicklen(self) -> int: ...
    @property
    def max_modes(self) -> int: ...
    @property
    def max_targets(self) -> int: ...
    @property
    def max_channels_per_user(self) -> int: ...
    @property
    def max_list_modes(self) -> int: ...
    @property
    def chathistory_max(self) -> int: ...
    @property
    def max_monitor_nicks(self) -> int: ...


def isupport_tokens(limits: IsupportLimits, *, network: str) -> list[str]:
    """Every ISUPPORT token, in alphabetical order.

    Args:
        limits: the configured limits (lanchat.config.Limits).
        network: the network name (NETWORK=).

    Returns:
        Tokens such as "CASEMAPPING=rfc1459" and "UTF8ONLY".
    """
    targets = limits.max_targets
    tokens = [
        f"AWAYLEN={limits.awaylen}",
        f"BOT={BOT_MODE}",
        f"CASEMAPPING={CASEMAPPING}",
        f"CHANLIMIT={CHANTYPES}:{limits.max_channels_per_user}",
        f"CHANMODES={CHANMODES}",
        f"CHANNELLEN={limits.channellen}",
        f"CHANTYPES={CHANTYPES}",
        f"CHATHISTORY={limits.chathistory_max}",
        # LIST takes creation times (C), masks (M), "!mask" (N), topic times (T) and user
        # counts (U) (modern.ircdocs "ELIST Parameter").
        "ELIST=CMNTU",
        "EXCEPTS=e",
        "INVEX=I",
        f"KICKLEN={limits.kicklen}",
        f"MAXLIST=beI:{limits.max_list_modes}",
        f"MODES={limits.max_modes}",
        f"MONITOR={limits.max_monitor_nicks}",
        "MSGREFTYPES=timestamp,msgid",
        f"NETWORK={network}",
        f"NICKLEN={limits.nicklen}",
        f"PREFIX={PREFIX}",
        f"STATUSMSG={STATUSMSG}",
        f"TARGMAX=KICK:{targets},NOTICE:{targets},PRIVMSG:{targets},TAGMSG:{targets}",
        f"TOPICLEN={limits.topiclen}",
        "UTF8ONLY",
        "WHOX",
    ]
    return tokens


def isupport_lines(
    limits: IsupportLimits, *, network: str, extra: tuple[str, ...] = ()
) -> list[list[str]]:
    """The tokens grouped into 005 lines of at most TOKENS_PER_LINE each.

    Args:
        limits: the configured limits.
        network: the network name.
        extra: tokens of this connection only, after the others (draft/FILEHOST=<url>).

    Returns:
        One token list per RPL_ISUPPORT line.
    """
    tokens = isupport_tokens(limits, network=network) + list(extra)
    return [tokens[i : i + TOKENS_PER_LINE] for i in range(0, len(tokens), TOKENS_PER_LINE)]
