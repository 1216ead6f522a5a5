"""The client side of accounts: SASL at connection time and REGISTER (lanchat issue 17).

Layer: SANS-I/O client core. Imports the standard library, lanchat.protocol, lanchat.scram and
lanchat.client (events, state, wire) only.

Spec: https://ircv3.net/specs/extensions/sasl-3.1 (AUTHENTICATE, responses in 400-byte chunks,
a final "+" after a chunk of exactly 400 bytes, 900/903/904-908), RFC 4616 (PLAIN), RFC 5802
and RFC 7677 (SCRAM-SHA-256, lanchat.scram) and
https://ircv3.net/specs/extensions/account-registration (REGISTER ... SUCCESS).

SCRAM-SHA-256 is used when the server offers it, PLAIN otherwise: with SCRAM the password
never crosses the network, even to a server that is not the one it should be, and the
server proves it holds the account's keys. An account registered before its server had SCRAM
keys is answered 908 (PLAIN) and 904: the login then goes on with PLAIN, in the same
exchange. A server whose signature is wrong is refused (AUTHENTICATE *) and reported.

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
from lanchat.scram import MECHANISM, ScramClient, ScramError

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
    """SASL (SCRAM-SHA-256 or PLAIN) with remembered credentials, and REGISTER for our nick."""

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
        self._scram: ScramClient | None = None  # the SCRAM exchange running, if any
        self._challenge = ""  # base64 chunks of the server's challenge so far
        self._fallback = False  # a 908 offering PLAIN came during SCRAM: 904 means "use PLAIN"
        self._refused = False  # we ended SCRAM (AUTHENTICATE *): its 906 is no news
        self.mechanism = ""  # the mechanism of the last exchange begun

    @staticmethod
    def _mechanisms(offered: dict[str, str]) -> list[str]:
        # sasl-3.2: the value lists the mechanisms; sasl-3.1 servers give none (PLAIN assumed).
        return offered.get("sasl", "").upper().split(",") if offered.get("sasl") else ["PLAIN"]

    def wanted(self, offered: dict[str, str]) -> bool:
        """Whether to request `sasl`: credentials and a server offering PLAIN or SCRAM."""
        if self.credentials is None or "sasl" not in offered:
            return False
        return bool({"PLAIN", MECHANISM} & set(self._mechanisms(offered)))

    def reset(self) -> None:
        """A new connection: logged in to nothing yet."""
        self.running = False
        self.account = ""
        self._scram = None

    def start(self, offered: dict[str, str]) -> None:
        """The server acknowledged `sasl`: begin with SCRAM-SHA-256 if offered, else PLAIN."""
        self.running = True
        self._fallback = self._refused = False
        if self.credentials is not None and MECHANISM in self._mechanisms(offered):
            self._scram = ScramClient(*self.credentials)
            self._challenge = ""
            self.mechanism = MECHANISM
        else:
            self.mechanism = "PLAIN"
        self._send("AUTHENTICATE", self.mechanism)

    def on_authenticate(self, msg: Message) -> list[ClientEvent]:
        """A challenge: "+" asks for the first response; SCRAM's others are base64."""
        if not self.running or self.credentials is None or not msg.params:
            return []
        if self._scram is not None:
            return self._on_scram_challenge(self._scram, msg.params[0])
        if msg.params[0] != "+":
            return []
        account, password = self.credentials
        self._respond(f"\0{account}\0{password}")
        return []

    def _respond(self, text: str) -> None:
        """Send a response in chunks of at most 400 bytes ("+" after a full last one)."""
        response = base64.b64encode(text.encode()).decode("ascii")
        chunks = [response[i : i + CHUNK_BYTES] for i in range(0, len(response), CHUNK_BYTES)]
        if not chunks or len(chunks[-1]) == CHUNK_BYTES:
            chunks.append("+")  # "+" ends a response that filled its last chunk (or is empty)
        for chunk in chunks:
            self._send("AUTHENTICATE", chunk)

    def _on_scram_challenge(self, scram: ScramClient, chunk: str) -> list[ClientEvent]:
        if chunk == "+" and not self._challenge and not scram.started:
            self._respond(scram.first())
            return []
        if chunk != "+":
            self._challenge += chunk
        if len(chunk) == CHUNK_BYTES:
            return []  # more of the challenge follows
        challenge, self._challenge = self._challenge, ""
        try:
            text = base64.b64decode(challenge, validate=True).decode("utf-8")
            if not scram.answered:
                self._respond(scram.final(text))
                return []
            if scram.verify(text):
                self._respond("")
                return []
            raise ScramError("the server's signature is wrong: it does not hold the account")
        except (ValueError, ScramError) as e:
            self._refused = True
            self._send("AUTHENTICATE", "*")
            text = f"SCRAM-SHA-256 login refused: {e}"
            hint = "This server could not prove it knows the account; do not trust it"
            return [ServerError(self.state.server_id, "904", text, hint)]

    def on_numeric(self, msg: Message) -> list[ClientEvent]:
        """900 (logged in), 903 (done), 904-907 (failed), 908 (mechanisms).

        Returns the events to emit.
        """
        code = msg.command
        if code == "908":  # RPL_SASLMECHS: <client> <mechanisms> :are available
            offered = msg.params[1].upper().split(",") if len(msg.params) > 2 else []
            self._fallback = self._scram is not None and "PLAIN" in offered
            return []
        if code == "904" and self._fallback:  # this account has no SCRAM keys: use PLAIN
            self._scram = None
            self._fallback = False
            self.mechanism = "PLAIN"
            self._send("AUTHENTICATE", "PLAIN")
            return []
        self._scram = None
        if code == "906" and self._refused:
            self.running = False
            return []
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
