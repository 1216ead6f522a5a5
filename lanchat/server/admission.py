"""Who may connect now: connections per address, in all, not yet registered; TLS handshakes.

Layer: pure server core; standard library only (the clock is injected). It logs through the
`logging` module and touches nothing else; the Hub (lanchat.server.hub) asks it about every
accepted socket, whatever the transport.
Spec: issue 13, item 7 ("File descriptors": with a 1,024 open-file limit, 1,088 idle
connections from 17 addresses locked everyone out for 30 s, silently). Ergo promises its
operators per-address limits (`server.ip-limits`); Solanum a cap on all clients
(`default_max_clients`) and, from ratbox, on unregistered ("unknown") connections per address
(`max_unknown_ip`); both log when a limit turns someone away.

The rules, in order, for a new connection::

    its address holds max_per_address connections     -> refused ("Too many connections
                                                          from your address")
    max_unregistered not yet registered, or
    max_connections in all                            -> the oldest unregistered connection
                                                          of the address holding the most
                                                          unregistered ones is closed, and
                                                          the newcomer admitted
    max_connections in all, every one registered      -> refused ("Server is full")

Policies a reader might question:
- Making room closes someone else's connection rather than refusing the newcomer: refusing
  would let whoever opened sockets first keep everyone out, while a person's client registers
  in milliseconds and holds one socket, so the address with the most waiting sockets is the
  one that loses one.
- Log lines about refusals are at most one per `_LOG_EVERY_S` per kind, with the number
  since the last one: the events come at the attacker's rate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "FULL",
    "TOO_MANY_FROM_ADDRESS",
    "TOO_MANY_UNREGISTERED",
    "Admission",
    "Handshakes",
    "Verdict",
]

log = logging.getLogger(__name__)

TOO_MANY_FROM_ADDRESS = "Too many connections from your address"
FULL = "Server is full; try again later"
TOO_MANY_UNREGISTERED = "Too many connections waiting to register; yours was the oldest"
_LOG_EVERY_S = 10.0  # at most one log line per kind of refusal per this many seconds


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a new connection: refuse it, or admit it (closing `evict` first)."""

    refused: str = ""  # why the newcomer is turned away; "" when it is admitted
    evict: int = 0  # a connection to close to make room for it; 0 for none


_ADMITTED = Verdict()


class _Tally:
    """One kind of refusal, logged at most once per _LOG_EVERY_S with the count since."""

    __slots__ = ("count", "logged_at", "text")

    def __init__(self, text: str) -> None:
        self.text = text  # "%s" is the address, "%d" the count (logging arguments)
        self.count = 0  # events not yet logged
        self.logged_at: float | None = None  # when the last line was written

    def note(self, now: float, address: str, extra: int) -> None:
        self.count += 1
        if self.logged_at is not None and 0 <= now - self.logged_at < _LOG_EVERY_S:
            return
        log.warning(self.text, address, extra, self.count)
        self.count = 0
        self.logged_at = now


class Admission:
    """The connection counts of one server. Not thread-safe: one event loop drives it."""

    def __init__(
        self,
        *,
        max_per_address: int,
        max_connections: int,
        max_unregistered: int,
        clock: Callable[[], float],
    ) -> None:
        """Create empty counts.

        Args:
            max_per_address: connections one address may hold at once.
            max_connections: connections in all (fitted to the open-file limit by the caller).
            max_unregistered: connections in all that have not registered yet.
            clock: seconds, for the log's rate limit (a fake one in tests).
        """
        self.max_per_address = max_per_address
        self.max_connections = max_connections
        self.max_unregistered = max_unregistered
        self._clock = clock
        self.total = 0  # connections admitted and not yet closed
        self._per_address: dict[str, int] = {}  # address -> open connections
        # Connections admitted and maybe not registered, oldest first; registered (or gone)
        # ones are swept out only when the cap is reached, so admitting costs O(1).
        self._waiting: dict[int, str] = {}
        self._refusals = {
            TOO_MANY_FROM_ADDRESS: _Tally(
                "refused a connection from %s: it holds %d already (max_connections_per_ip); "
                "%d refused since the last line like this"
            ),
            FULL: _Tally(
                "refused a connection from %s: the server holds %d connections "
                "(max_connections, or the open-file limit); %d refused since the last line "
                "like this"
            ),
            TOO_MANY_UNREGISTERED: _Tally(
                "closed an unregistered connection of %s to make room: %d connections are "
                "waiting to register (max_unregistered_connections); %d closed since the last "
                "line like this"
            ),
        }

    def admit(self, conn_id: int, address: str, settled: Callable[[int], bool]) -> Verdict:
        """Decide about a new connection; when admitted, count it.

        Args:
            conn_id: the new connection's id.
            address: its peer's IP literal.
            settled: tells whether a connection admitted earlier has registered or gone
                (ServerState knows); only called when a cap is reached.

        Returns:
            The verdict; when it is admitted with `evict` set, the caller closes that
            connection (and calls `closed` for it as for any other).
        """
        now = self._clock()
        held = self._per_address.get(address, 0)
        if held >= self.max_per_address:
            self._refusals[TOO_MANY_FROM_ADDRESS].note(now, address, held)
            return Verdict(refused=TOO_MANY_FROM_ADDRESS)
        verdict = _ADMITTED
        if len(self._waiting) >= self.max_unregistered or self.total >= self.max_connections:
            for waiting in [c for c in self._waiting if settled(c)]:
                del self._waiting[waiting]
            if len(self._waiting) >= self.max_unregistered or self.total >= self.max_connections:
                victim = self._victim()
                if victim is None:
                    self._refusals[FULL].note(now, address, self.total)
                    return Verdict(refused=FULL)
                victim_address = self._waiting.pop(victim)
                self._refusals[TOO_MANY_UNREGISTERED].note(
                    now, victim_address, len(self._waiting) + 1
                )
                verdict = Verdict(evict=victim)
        self._per_address[address] = held + 1
        self.total += 1
        self._waiting[conn_id] = address
        return verdict

    def _victim(self) -> int | None:
        """The oldest waiting connection of the address with the most waiting connections."""
        return oldest_of_busiest(self._waiting)

    def closed(self, conn_id: int, address: str) -> None:
        """An admitted connection is gone (for whatever reason, evicted ones included).

        Args:
            conn_id: its id.
            address: its peer's IP literal.
        """
        self._waiting.pop(conn_id, None)
        self.total -= 1
        left = self._per_address[address] - 1
        if left:
            self._per_address[address] = left
        else:
            del self._per_address[address]


def oldest_of_busiest(held: dict[int, str]) -> int | None:
    """The first key (oldest, by insertion) of the address that holds the most in `held`.

    Args:
        held: connection id -> its peer's address, oldest first.

    Returns:
        That connection's id; None when `held` is empty.
    """
    counts: dict[str, int] = {}
    for address in held.values():
        counts[address] = counts.get(address, 0) + 1
    if not counts:
        return None
    busiest = max(counts, key=counts.__getitem__)
    return next(c for c, a in held.items() if a == busiest)


class Handshakes:
    """TLS handshakes in progress, at most `max_in_flight` at once (issue 17).

    A TLS connection costs the server its buffers (asyncio and uvloop give each one a 256 KiB
    read buffer) and a task from accept on, before it reaches the Hub and `Admission` counts
    it. A peer that opens sockets and never finishes a handshake (a silent one, or one that
    sends a ClientHello a byte at a time) is cut by `[tls] handshake_timeout_s`; this bounds how
    many it can hold until then. With the table full, the server stops accepting (newcomers
    wait in the kernel's listen backlog, which costs it nothing) until a handshake ends or one
    has taken `evictable_after_s`: then the oldest such handshake of the address holding the
    most is closed to make room. A handshake takes milliseconds on a LAN, so one that took a
    second while the table is full is stalled: a flood from one address costs that address its
    own oldest sockets while others get in, and a room of people reconnecting at once after a
    restart only waits its turn.
    """

    def __init__(
        self, *, max_in_flight: int, clock: Callable[[], float], evictable_after_s: float = 1.0
    ) -> None:
        """Create an empty count.

        Args:
            max_in_flight: handshakes in progress at once ([tls] max_handshakes).
            clock: seconds (a fake one in tests).
            evictable_after_s: the age from which a handshake may be closed to make room.
        """
        self.max_in_flight = max_in_flight
        self.evictable_after_s = evictable_after_s
        self._clock = clock
        self._next = 1
        self.in_flight: dict[int, str] = {}  # handshake id -> peer address, oldest first
        self._started: dict[int, float] = {}  # handshake id -> clock() at its accept
        self._evicted = _Tally(
            "closed a TLS handshake in progress from %s to make room: %d handshakes were in "
            "progress ([tls] max_handshakes); %d closed since the last line like this"
        )

    @property
    def full(self) -> bool:
        """Whether a new connection must wait (or make room) before it is accepted."""
        return len(self.in_flight) >= self.max_in_flight

    def make_room(self) -> tuple[int, float]:
        """With the table full: a handshake to close now, or how long until one may be.

        Returns:
            (the id of the oldest evictable handshake of the address holding the most, 0.0),
            which the caller closes (and `end`s); or (0, seconds until the oldest handshake
            becomes evictable) when none is yet. Each eviction is logged (rate-limited).
        """
        now = self._clock()
        cutoff = now - self.evictable_after_s
        old = {k: a for k, a in self.in_flight.items() if self._started[k] <= cutoff}
        victim = oldest_of_busiest(old)
        if victim is None:
            first = next(iter(self._started.values()), now)
            return 0, max(first - cutoff, 0.001)
        self._evicted.note(now, self.in_flight[victim], len(self.in_flight))
        return victim, 0.0

    def begin(self, address: str) -> int:
        """Count a new connection's handshake; its id.

        Args:
            address: its peer's IP literal.
        """
        key = self._next
        self._next += 1
        self.in_flight[key] = address
        self._started[key] = self._clock()
        return key

    def end(self, key: int) -> None:
        """A handshake is over: finished, failed, timed out or closed.

        Args:
            key: what `begin` returned for it.
        """
        self.in_flight.pop(key, None)
        self._started.pop(key, None)
