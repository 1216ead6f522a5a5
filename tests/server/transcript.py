"""Transcript tests for the pure server core: feed lines to ServerState, read what each client got.

No sockets and no event loop (h11's ConnectionPair, ircstates' tests): `Transcript` owns a
ServerState with a fake clock and deterministic msgids, applies its effects like the edge
would (every Send decoded into the inbox of each recipient; a Publish's Sends as if its commit
succeeded, or, with `store_error` set, the core's `undelivered` reply as if it failed) and keeps
every effect in `effects` for assertions on Persist / RoomChanged / Disconnect and on Send
grouping.

    t = Transcript()
    alice = t.register("alice", caps=("echo-message",))
    bob = t.register("bob")
    alice.send("JOIN #lobby")
    alice.send("PRIVMSG bob :hi")
    assert bob.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG bob :hi")]
    expect_numeric(alice.send_take("PRIVMSG nobody :x"), "401")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from lanchat.config import Config, Server
from lanchat.errors import ProtocolError
from lanchat.passwords import ScryptParams, account_secrets, verify_password
from lanchat.protocol.lines import LineLimits, TooLong
from lanchat.protocol.message import Message, parse
from lanchat.scram import server_final
from lanchat.server.effects import Disconnect, Effect, Password, Persist, Publish, RoomChanged, Send
from lanchat.server.state import ServerState
from lanchat.store.records import AccountRecord, RoomRecord

START = 1_764_093_600.0  # 2025-11-25T18:00:00Z: a fixed, readable start for the fake clock


class FakeClock:
    """An injected clock: `now` only moves when a test calls `advance`."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def msg(line: str) -> Message:
    """Parse one line: expected messages read like the wire."""
    return parse(line)


SERVER_NAME = "lanchat.local"  # the transcripts' server name, the same on every machine
# Real scrypt at a cost a transcript can afford (the server's is lanchat.passwords.DEFAULT_PARAMS).
CHEAP_SCRYPT = ScryptParams(log2_n=4)
CHEAP_SCRAM = 4096  # PBKDF2 rounds of the SCRAM keys in transcripts (RFC 7677's least)
LINE_LIMITS = LineLimits()  # what the edge holds every client line to (the defaults)


def account(name: str, password: str, *, scram: bool = True) -> AccountRecord:
    """A stored account as the store gives it back at start-up (cheap hash and keys).

    With scram=False, one registered before lanchat had SCRAM keys.
    """
    hashed, keys = account_secrets(password, CHEAP_SCRYPT, CHEAP_SCRAM)
    return AccountRecord(name.lower(), name, hashed, 1, keys if scram else "")


def base_config() -> Config:
    """The default Config, except that the server is named SERVER_NAME, not after this machine."""
    return Config(server=Server(name=SERVER_NAME))


def make_config(**limits: Any) -> Config:
    """A default Config with some [limits] replaced, e.g. make_config(ping_timeout_s=5)."""
    base = base_config()
    return dataclasses.replace(base, limits=dataclasses.replace(base.limits, **limits))


class Conn:
    """One fake client connection of a Transcript."""

    def __init__(self, transcript: Transcript, conn_id: int) -> None:
        self.t = transcript
        self.conn_id = conn_id
        self.inbox: list[Message] = []  # received and not yet taken
        self.closed: str | None = None  # Disconnect reason once the core closed us

    def send(self, line: str) -> list[Effect]:
        """Feed one client line; returns the effects it produced."""
        return self.t.feed(self.conn_id, line)

    def take(self) -> list[Message]:
        """Everything received since the last take (and forget it)."""
        got, self.inbox = self.inbox, []
        return got

    def take_lines(self) -> list[str]:
        """Like take(), as wire lines without CRLF."""
        return [m.to_line() for m in self.take()]

    def send_take(self, line: str) -> list[Message]:
        """Send a line and return what this client received in consequence."""
        self.take()
        self.send(line)
        return self.take()


class Transcript:
    """A ServerState driven by hand, with one inbox per connection."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        rooms: Iterable[RoomRecord] = (),
        accounts: Iterable[AccountRecord] = (),
    ) -> None:
        self.clock = FakeClock()
        self._msgids = iter(range(1, 1 << 30))
        self.state = ServerState(
            config or base_config(),
            clock=self.clock,
            rooms=rooms,
            accounts=accounts,
            msgid_factory=lambda: f"m{next(self._msgids)}",
        )
        # Password effects are run at once, as the edge would (real scrypt, cheap), unless
        # `hold_passwords` is set: then they wait in `held` for run_passwords().
        self.hold_passwords = False
        self.held: list[Password] = []
        self.conns: dict[int, Conn] = {}
        self.effects: list[Effect] = []  # every effect so far, in order
        self.store_error: str | None = None  # set: every Publish's commit fails with this
        self._next_id = 1

    def apply(self, effects: Sequence[Effect]) -> list[Effect]:
        """Deliver Sends into inboxes and mark Disconnects, as the edge would."""
        effects = list(effects)
        self.effects += effects
        for effect in effects:
            if isinstance(effect, Publish):
                if self.store_error is None:
                    self.apply(effect.shown)
                else:
                    self.apply(self.state.undelivered(effect, self.store_error))
            elif isinstance(effect, Send):
                lines = [parse(raw) for raw in effect.data.split(b"\r\n") if raw]
                for conn_id in effect.recipients:
                    self.conns[conn_id].inbox += lines
                if effect.instead and effect.skip in effect.conn_ids:
                    own = [parse(raw) for raw in effect.instead.split(b"\r\n") if raw]
                    self.conns[effect.skip].inbox += own
            elif isinstance(effect, Disconnect):
                self.conns[effect.conn_id].closed = effect.reason
            elif isinstance(effect, Password):
                self.held.append(effect)
        if not self.hold_passwords:
            self.run_passwords()
        return effects

    def run_passwords(self) -> None:
        """Check or hash the held passwords as the edge does; a store_error fails REGISTER."""
        while self.held:
            effect = self.held.pop(0)
            scram = ""
            if effect.purpose == "scram":
                detail = server_final(effect.password, effect.stored)
                ok = bool(detail)
            elif effect.stored:
                ok, detail = verify_password(effect.password, effect.stored), ""
            elif self.store_error is not None:
                ok, detail = False, self.store_error
            else:
                detail, scram = account_secrets(effect.password, CHEAP_SCRYPT, CHEAP_SCRAM)
                ok = True
            self.apply(self.state.password_done(effect, ok, detail, scram))

    def connect(self, ip: str = "127.0.0.1") -> Conn:
        """Open a new connection from `ip`."""
        conn = Conn(self, self._next_id)
        self._next_id += 1
        self.conns[conn.conn_id] = conn
        self.apply(self.state.connect(conn.conn_id, ip))
        return conn

    def feed(self, conn_id: int, line: str) -> list[Effect]:
        """Feed one line from `conn_id` as the edge does: held to the line limits, parsed."""
        checked = LINE_LIMITS.check(line.encode())
        if isinstance(checked, TooLong):
            return self.apply(self.state.reject_line(conn_id, checked))
        return self.apply(self.state.receive(conn_id, parse(line)))

    def reject(self, conn: Conn, problem: ProtocolError | TooLong) -> list[Effect]:
        """Report an unusable line from `conn` (what the edge does on a parse error)."""
        return self.apply(self.state.reject_line(conn.conn_id, problem))

    def tick(self, advance_s: float = 0.0) -> list[Effect]:
        """Move the clock on and run the periodic timers."""
        self.clock.advance(advance_s)
        return self.apply(self.state.tick())

    def disconnect(self, conn: Conn, reason: str = "Connection reset by peer") -> list[Effect]:
        """The peer went away."""
        conn.closed = reason
        return self.apply(self.state.disconnected(conn.conn_id, reason))

    def register(
        self,
        nick: str,
        *,
        caps: Sequence[str] = (),
        user: str | None = None,
        ip: str = "127.0.0.1",
        password: str | None = None,
    ) -> Conn:
        """Connect and register `nick` (with CAP negotiation for `caps`); inbox left empty."""
        conn = self.connect(ip)
        if caps:
            conn.send("CAP LS 302")
            conn.send("CAP REQ :" + " ".join(caps))
        if password is not None:
            conn.send(f"PASS {password}")
        conn.send(f"NICK {nick}")
        conn.send(f"USER {user or nick} 0 * :{nick} Example")
        if caps:
            conn.send("CAP END")
        got = conn.take()
        expect_numeric(got, "001")
        return conn

    def sends(self, effects: Sequence[Effect]) -> list[Send]:
        """The Send effects among `effects`, with those a Publish holds, in order."""
        return sends(effects)


def sends(effects: Sequence[Effect]) -> list[Send]:
    """The Send effects among `effects`, with those a Publish holds, in order."""
    found: list[Send] = []
    for effect in effects:
        if isinstance(effect, Publish):
            found += effect.shown
        elif isinstance(effect, Send):
            found.append(effect)
    return found


def expect_numeric(messages: Sequence[Message], numeric: str) -> Message:
    """The first message with command `numeric`; fails listing what came instead.

    Args:
        messages: what a client received.
        numeric: e.g. "433".

    Returns:
        The matching message.
    """
    for m in messages:
        if m.command == numeric:
            return m
    got = "\n  ".join(m.to_line() for m in messages) or "(nothing)"
    raise AssertionError(f"expected numeric {numeric}; got:\n  {got}")


def commands(messages: Sequence[Message]) -> list[str]:
    """The commands of `messages`, in order: a compact view for assertions."""
    return [m.command for m in messages]


def persisted_rooms(effects: Sequence[Effect]) -> list[RoomRecord]:
    """The room records among `effects`' Persists, in order."""
    return [
        e.record for e in effects if isinstance(e, Persist) and isinstance(e.record, RoomRecord)
    ]


def changed_rooms(effects: Sequence[Effect]) -> list[str]:
    """The room keys of `effects`' RoomChanged, in order."""
    return [e.key for e in effects if isinstance(e, RoomChanged)]


def room_with(t: Transcript, owner: Conn, name: str, *modes: str) -> None:
    """`owner` creates `name` and sets `modes` ("+k pw", "+i", ...); inboxes are emptied."""
    owner.send(f"JOIN {name}")
    for line in modes:
        owner.send(f"MODE {name} {line}")
    for conn in t.conns.values():
        conn.take()
