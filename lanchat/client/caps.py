"""The client side of IRCv3 capability negotiation: which capabilities we ask for and when
registration may go on (CAP END).

Layer: SANS-I/O client core. Imports the standard library, lanchat.protocol and lanchat.client
(sasl, state, wire) only.

Spec: https://ircv3.net/specs/extensions/capability-negotiation (CAP LS 302 with multi-line
replies, REQ / ACK / NAK, cap-notify's NEW and DEL). With an account to log in to, `sasl`
is requested too and CAP END waits for the login (lanchat.client.sasl).
"""

from __future__ import annotations

from lanchat.client.sasl import AccountLogin
from lanchat.client.state import NetworkState
from lanchat.client.wire import Send
from lanchat.protocol import Message

__all__ = ["WANTED_CAPS", "CapNegotiation"]

# Capabilities we use when the server offers them (CAP LS 302). chathistory is still a draft:
# servers offer it as "draft/chathistory" or, once ratified, "chathistory".
WANTED_CAPS = (
    "message-tags",
    "server-time",
    "echo-message",
    "batch",
    "multi-prefix",
    "userhost-in-names",
    "extended-join",
    "away-notify",
    "setname",
    "labeled-response",
    "invite-notify",
    "chathistory",
    "draft/chathistory",
    "cap-notify",
    "standard-replies",
    "draft/multiline",
    "draft/message-redaction",
    "draft/read-marker",
    "soju.im/search",
)


class CapNegotiation:
    """What the server offers, what is enabled, and the REQs still unanswered."""

    def __init__(self, state: NetworkState, send: Send, login: AccountLogin) -> None:
        """Start with nothing offered or enabled.

        Args:
            state: the connection's state (CAP END is sent only before registration).
            send: queues one line for the server, e.g. send("CAP", "REQ", "batch").
            login: the account to log in to while negotiating, if it has credentials.
        """
        self.state = state
        self._send = send
        self.login = login
        self.reset()

    def reset(self) -> None:
        """Forget the previous connection's capabilities."""
        self.offered: dict[str, str] = {}  # CAP LS: name -> value
        self.enabled: set[str] = set()
        self._pending = 0  # CAP REQs not answered yet

    def on_cap(self, msg: Message) -> None:
        """Handle one CAP reply from the server, asking for what we want of what it offers."""
        # CAP <nick> <subcommand> [*] :<caps>
        if len(msg.params) < 3:
            return
        sub = msg.params[1].upper()
        more = len(msg.params) > 3 and msg.params[2] == "*"
        caps = msg.params[-1].split()
        if sub in ("LS", "NEW"):
            for item in caps:
                name, _, value = item.partition("=")
                self.offered[name] = value
            if sub == "LS" and more:
                return
            wanted = [c for c in WANTED_CAPS if c in self.offered and c not in self.enabled]
            if sub == "LS" and self.login.wanted(self.offered):
                wanted.append("sasl")
            if wanted:
                self._pending += 1
                self._send("CAP", "REQ", " ".join(wanted))
            elif sub == "LS":
                self._end()
        elif sub == "ACK":
            for item in caps:
                if item.startswith("-"):
                    self.enabled.discard(item[1:])
                else:
                    self.enabled.add(item)
                    if item == "sasl" and not self.state.registered:
                        self.login.start(self.offered)
            if not more:
                self._answered()
        elif sub == "NAK":
            self._answered()
        elif sub == "DEL":
            for name in caps:
                self.enabled.discard(name)
                self.offered.pop(name, None)

    def _answered(self) -> None:
        self._pending = max(0, self._pending - 1)
        if self._pending == 0:
            self._end()

    def login_finished(self) -> None:
        """The SASL exchange ended (903 or a failure): registration may go on."""
        if self._pending == 0:
            self._end()

    def _end(self) -> None:
        if not self.state.registered and not self.login.running:
            self._send("CAP", "END")
