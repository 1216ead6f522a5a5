"""Hostmasks (`nick!user@host`) and wildcard mask matching for bans.

Layer: sans-I/O protocol core; standard library only.
Spec: https://modern.ircdocs.horse/#wildcard-expressions ("*" matches any run of characters,
"?" exactly one, "\\" escapes) and https://modern.ircdocs.horse/#ban-channel-mode.

lanchat's host is the client's IP literal. An IPv6 literal starting with ':' would break the
`:source` grammar, so it gets a leading "0" as other servers do ("::1" -> "0::1").
Names are compared casefolded (CASEMAPPING=rfc1459).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lanchat.protocol.casemap import casefold

__all__ = ["Hostmask", "host_for_ip", "mask_matches", "normalize_mask"]


def host_for_ip(ip: str) -> str:
    """The host part of a hostmask for a peer IP literal.

    Args:
        ip: "192.168.1.7", "::1", "fe80::1%eth0" and the like.

    Returns:
        The IP with any zone index kept, and "0" in front when it starts with ':'.
    """
    return "0" + ip if ip.startswith(":") else ip


@dataclass(frozen=True, slots=True)
class Hostmask:
    """A user's full name on the network: nick!user@host."""

    nick: str
    user: str
    host: str

    def __str__(self) -> str:
        return f"{self.nick}!{self.user}@{self.host}"

    @classmethod
    def parse(cls, text: str) -> Hostmask:
        """Split "nick!user@host"; missing parts become "".

        Args:
            text: a source prefix or a full hostmask.

        Returns:
            The three parts.
        """
        rest, _, host = text.partition("@")
        nick, _, user = rest.partition("!")
        return cls(nick, user, host)


def normalize_mask(mask: str) -> str:
    """Complete a ban mask as servers do: "alice" -> "alice!*@*", "*@10.*" -> "*!*@10.*".

    Args:
        mask: what the user typed after +b.

    Returns:
        A full nick!user@host mask.
    """
    if "!" not in mask and "@" not in mask:
        if "." in mask or ":" in mask:
            return f"*!*@{mask}"
        return f"{mask}!*@*"
    if "!" not in mask:
        return f"*!{mask}"
    if "@" not in mask:
        return f"{mask}@*"
    return mask


@lru_cache(maxsize=1024)
def _compile(mask: str) -> re.Pattern[str]:
    """The casefolded regular expression of a wildcard mask."""
    out = []
    i = 0
    while i < len(mask):
        ch = mask[i]
        if ch == "\\" and i + 1 < len(mask):
            i += 1
            out.append(re.escape(casefold(mask[i])))
        elif ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(casefold(ch)))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def mask_matches(mask: str, name: str | Hostmask) -> bool:
    """True if the wildcard `mask` matches `name`, comparing casefolded.

    Args:
        mask: a wildcard expression, e.g. "*!*@192.168.1.*".
        name: a hostmask (or any string) to test.

    Returns:
        Whether the whole of `name` matches.
    """
    # Escapes are read before folding: rfc1459 folds "\\" itself (to "|").
    return _compile(mask).fullmatch(casefold(str(name))) is not None
