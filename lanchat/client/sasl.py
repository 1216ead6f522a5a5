"""The client side of accounts: SASL PLAIN at connection time and REGISTER (lanchat issue 17).

Layer: SANS-I/O client core. Imports the standard library, lanchat.protocol and lanchat.client
(events, state, wire) only.

Spec: https://ircv3.net/specs/extensions/sasl-3.1 (AUTHENTICATE, responses in 400-byte chunks,
a final "+" after a chunk of exactly 400 bytes, 900/903/904-908), RFC 4616 (PLAIN) and
https://ircv3.net/specs/extensions/account-registration (REGISTER ... SUCCESS).

Registration waits for the login: CAP END is sent only once the server answered the SASL
exchange (903, or a failure numeric), as sasl-3.1 asks. A failed login is reported as a
ServerError and registration goes on without the account.
"""

from __future__ import annotations

import base64

from lanchat.client.events import ClientEvent, LoggedIn, ServerError
from lanchat.client.state import NetworkState
from lanchat.client.wire import Send
from lanchat.protocol import Message

__all__ = ["CHUNK_BYTES", "AccountLogin"]

CHUNK_BYTES = 400  # sasl-3.1: the largest AUTHENTICATE argument

# 904-907 end an exchange that did not log in; 908 lists mechanisms (904 follows it).
_FAILURES = {
    "904": "The server refused the account name or password",
    "905": "The login was too long for the server",
    "906": "The login was cancelled",
    "907": "Already logged in",
}


class AccountLogin:
    """SASL PLAIN with remembered credentials, and REGISTER for the current nick."""

    def __init__(self, state: NetworkState, send: Send, credentials: tuple[str, str] | None):
        """Args:
        state: the connection's state (server id, our nick).
        send: queues one line for the server.
        credentials: (account, password) to log in with at every connection, or None.
        """
        self.state = state
        self._send = send
        self.credentials = credentials
        self.running = False  # an AUTHENTICATE exchange is open: CAP END waits for it
        self.account = ""  # the account this connection is logged in to (900), "" if none
        self._registering = ""  # the account a REGISTER of ours asked for, until answered

    def wanted(self, offered: dict[str, str]) -> bool:
        """Whether to request the `sasl` capability: credentials and a server offering PLAIN."""
        if self.credentials is None or "sasl" not in offered:
            return False
        mechanisms = offered["sasl"]
        return not mechanisms or "PLAIN" in mechanisms.upper().split(",")

    def reset(self) -> None:
        """A new connection: logged in to nothing yet."""
        self.running = False
        self.account = ""

    def start(self) -> None:
        """The server acknowledged `sasl`: begin the PLAIN exchange."""
        self.running = True
        self._send("AUTHENTICATE", "PLAIN")

    def on_authenticate(self, msg: Message) -> list[ClientEvent]:
        """`AUTHENTICATE +`: send the PLAIN response in chunks of at most 400 bytes."""
        if not self.running or self.credentials is None or msg.params[:1] != ("+",):
            return []
        account, password = self.credentials
        response = base64.b64encode(f"\0{account}\0{password}".encode()).decode("ascii")
        chunks = [response[i : i + CHUNK_BYTES] for i in range(0, len(response), CHUNK_BYTES)]
        if not chunks or len(chunks[-1]) == CHUNK_BYTES:
            chunks.append("+")  # "+" ends a response that filled its last chunk (or is empty)
        for chunk in chunks:
            self._send("AUTHENTICATE", chunk)
        return []

    def on_numeric(self, msg: Message) -> list[ClientEvent]:
        """900 (logged in), 903 (done) or 904-907 (failed). Returns the events to emit."""
        code = msg.command
        if code == "900":
            # 900 <client> <nick>!<user>@<host> <account> :You are now logged in as <account>
            account = msg.params[2] if len(msg.params) > 3 else ""
            self.account = account
            new, self._registering = bool(self._registering), ""
            return [LoggedIn(self.state.server_id, account, new)]
        self.running = False
        if code in _FAILURES and code != "907":
            text = msg.params[-1] if msg.params else _FAILURES[code]
            hint = _FAILURES[code] + "; check the account and password in the settings"
            return [ServerError(self.state.server_id, code, text, hint)]
        return []

    def register(self, password: str) -> None:
        """Ask the server to make our current nick an account with `password` (REGISTER)."""
        self._registering = self.state.nick
        self._send("REGISTER", "*", "*", password)
