"""Upload tokens: what lets someone connected to this server upload a file (issue 21).

Layer: pure server core; standard library only (the clock is injected).
Spec: draft/FILEHOST (ircv3-specifications PR #562): uploads authenticate with the IRC
credentials, as HTTP Basic (SASL PLAIN) or Bearer. People without an account get a Bearer token
over their IRC connection: the FILEHOST command (lanchat.server.handlers.files).

Policies a reader might question:
- One token per connection: asking again replaces it, so a client that asks in a loop holds
  one token, not thousands.
- A token is good while it is young (`lifetime_s`) *and* its connection is still registered
  (the web side checks ServerState.users): closing the connection ends it, and a connection
  id is never reused, so a token cannot pass to whoever connects next.
- 32 random bytes (256 bits, URL-safe base64): guessing is hopeless, and wrong tokens are
  counted by the same per-address FailureThrottle as wrong passwords.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

__all__ = ["TOKEN_BYTES", "UploadTokens", "file_ids_in"]

TOKEN_BYTES = 32
# A shared file's link: http://<host>:<port>/files/<id>/<name>, the id 18 random bytes in
# base64url (lanchat.store.files.ID_BYTES): 24 characters.
_LINK = re.compile(r"https?://[^\s/]+/files/([A-Za-z0-9_-]{24})/")


def file_ids_in(text: str) -> list[str]:
    """The ids of the shared-file links in a message's text, in order, each once."""
    return list(dict.fromkeys(_LINK.findall(text)))


class UploadTokens:
    """Bearer tokens for uploads, one per connection, each good for `lifetime_s`."""

    __slots__ = ("_by_conn", "_by_token", "_clock", "lifetime_s")

    def __init__(self, *, lifetime_s: float, clock: Callable[[], float]) -> None:
        """Create an empty set of tokens.

        Args:
            lifetime_s: how long a token is good for ([files] token_lifetime_s).
            clock: seconds (ServerState's clock; a fake one in tests).
        """
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._by_token: dict[str, tuple[int, float]] = {}  # token -> (conn_id, expires at)
        self._by_conn: dict[int, str] = {}  # conn_id -> its current token

    def issue(self, conn_id: int) -> str:
        """A new token for connection `conn_id`, replacing the one it had.

        Args:
            conn_id: the connection that asked (FILEHOST).

        Returns:
            The token, for `Authorization: Bearer <token>`.
        """
        old = self._by_conn.pop(conn_id, None)
        if old is not None:
            del self._by_token[old]
        now = self._clock()
        # Expired tokens go here: at most one per connection that asked in the last lifetime.
        for token, (holder, expires) in list(self._by_token.items()):
            if expires <= now:
                del self._by_token[token]
                if self._by_conn.get(holder) == token:
                    del self._by_conn[holder]
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self._by_token[token] = (conn_id, now + self.lifetime_s)
        self._by_conn[conn_id] = token
        return token

    def holder(self, token: str) -> int | None:
        """The connection a token was issued to, if the token is known and still young.

        Args:
            token: what came after "Bearer ".

        Returns:
            The connection id, or None (unknown or expired; the caller checks the connection
            is still there).
        """
        entry = self._by_token.get(token)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    def __len__(self) -> int:
        """Tokens held (expired ones are dropped at the next issue)."""
        return len(self._by_token)
