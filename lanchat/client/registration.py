"""Our nick through registration and after: the one wanted, the fallbacks while it is taken,
and the end of registration (Registered, then the rooms and their history).

Layer: SANS-I/O client core. Imports the standard library, lanchat.protocol and lanchat.client
(events, hints, history, membership, sasl, state, wire) only.

Specs: https://modern.ircdocs.horse/#connection-registration (registration ends with the MOTD,
RPL_ENDOFMOTD or ERR_NOMOTD), #nick-message and ERR_NICKNAMEINUSE.

The wanted nick changes only when the server confirms a NICK of ours: a refused one (433,
someone else's) must not be asked for again at the next reconnect (issue #15).
"""

from __future__ import annotations

from collections.abc import Callable

from lanchat.client.events import ClientEvent, NickChanged, Registered, UserQuit
from lanchat.client.hints import server_error
from lanchat.client.history import History
from lanchat.client.membership import Membership
from lanchat.client.sasl import AccountLogin
from lanchat.client.state import NetworkState
from lanchat.client.wire import Send
from lanchat.protocol import Message

__all__ = ["MAX_NICK_FALLBACKS", "Registration"]

MAX_NICK_FALLBACKS = 5  # nick_, nick__ ... before giving up and asking the person


class Registration:
    """The nick we want (kept across connections) and the end of each registration."""

    def __init__(
        self,
        state: NetworkState,
        send: Send,
        nick: str,
        *,
        login: AccountLogin,
        membership: Membership,
        history: History,
        history_enabled: Callable[[], bool],
    ) -> None:
        """Args:
        state: the connection's state (our nick, the server's name and network).
        send: queues one line for the server.
        nick: the nick the person chose; fallbacks derive from it.
        login: the account login (the account we are logged in to).
        membership: the rooms to join once registered.
        history: asks for what was missed once registered.
        history_enabled: whether the server lets us ask for history now.
        """
        self.state = state
        self._send = send
        self.wanted_nick = nick
        self._login = login
        self._membership = membership
        self._history = history
        self._history_enabled = history_enabled
        self.reset()

    def reset(self) -> None:
        """A new connection: not registered yet, no fallback tried."""
        self.welcomed = False  # end of MOTD received: Registered was emitted
        self._nick_attempts = 0

    def on_end_of_motd(self, msg: Message) -> list[ClientEvent]:
        if self.welcomed:
            return []
        self.welcomed = True
        account = self._login.account
        wanted = self.wanted_nick
        state = self.state
        if account and state.fold(account) == state.fold(wanted) and not state.is_me(wanted):
            # Logged in to the account of the nick we wanted, which someone else held: ask for
            # it, and the server renames them at once (lanchat issue 17).
            self._send("NICK", wanted)
        self._membership.rejoin()
        if self._history_enabled():
            self._history.after_registration()
        return [Registered(state.server_id, state.nick, state.network, state.server_name)]

    def on_nick_in_use(self, msg: Message) -> list[ClientEvent]:
        # 433 before registration: try nick_, nick__ ... (the person can change it later).
        if not self.state.registered and self._nick_attempts < MAX_NICK_FALLBACKS:
            self._nick_attempts += 1
            self.state.nick = self.wanted_nick + "_" * self._nick_attempts
            self._send("NICK", self.state.nick)
            return []
        return [server_error(self.state.server_id, msg)]

    def on_nick(self, msg: Message) -> list[ClientEvent]:
        events = self.state.on_nick(msg)
        if events and isinstance(changed := events[0], NickChanged) and changed.own:
            self.wanted_nick = changed.new  # confirmed: the nick to ask for from now on
        return events

    def on_quit(self, msg: Message) -> list[ClientEvent]:
        events = self.state.on_quit(msg)
        gone = events[0].nick if events and isinstance(events[0], UserQuit) else ""
        state = self.state
        freed = bool(gone) and state.fold(gone) == state.fold(self.wanted_nick)
        if freed and state.registered and not state.is_me(self.wanted_nick):
            # Our nick is free again: it was held by our own connection that the server had
            # not yet seen go (a dead cluster node's users quit after a timeout, issue 20), or
            # by someone who left. Take it back from the fallback nick_.
            self._send("NICK", self.wanted_nick)
        return events
