"""Per-connection flood control: a token bucket that delays bursts and disconnects sustained abuse.

Layer: pure server core; standard library only (the clock is injected, so tests use a fake one).
Model: Ergo's "fakelag" (irc/fakelag.go): a client may send `burst_lines` lines at once; after
that, lines are not dropped but *delayed* and released at `lines_per_s`. Only a client that keeps
more than `max_delayed_lines` lines waiting is disconnected ("Excess Flood"), so a person pasting
a paragraph is slowed down, never kicked, while a script that floods is cut off (issue #2, "Bad
input and load": "bursts are delayed, only sustained abuse disconnects").

Two additions of issue 13 ("Lets no one in, loses nothing"):
- The bucket belongs to the address, not only to the connection: `FloodLedger` keeps what a
  closed connection left in its bucket, and the next connection from that address starts from
  there (item 8: 8 addresses sending 17 lines and reconnecting delivered 538 messages/s).
- Work that costs more than a line is `charge`d: a CHATHISTORY reply spends budget in
  proportion to the lines it returns, so the bucket can go into debt and the lines after it
  wait (item 9: history requests at the allowed line rate were a 13.5 MB/s amplifier).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from lanchat.config import Flood

__all__ = ["FloodControl", "FloodLedger"]

T = TypeVar("T")

# FloodLedger sweeps entries that are full again once it holds this many (then twice as many as
# it kept): addresses are few on a LAN, and the sweep keeps a scan of spoofed IPv6 ones bounded.
_LEDGER_SWEEP_ENTRIES = 1024


class FloodControl(Generic[T]):
    """A token bucket in front of a FIFO of delayed items (lines), with an injected clock.

    The bucket holds up to `burst_lines` tokens and refills at `lines_per_s`; each released item
    spends one token. Items that find no token wait in order; order is never changed, so a line
    that arrives while others wait is queued behind them even if a token is free.
    """

    __slots__ = (
        "_clock",
        "_delayed",
        "_last",
        "_tokens",
        "burst_lines",
        "lines_per_s",
        "max_delayed",
    )

    def __init__(
        self,
        *,
        burst_lines: int,
        lines_per_s: float,
        max_delayed_lines: int,
        clock: Callable[[], float],
        tokens: float | None = None,
    ) -> None:
        """Create a bucket, full unless `tokens` says otherwise.

        Args:
            burst_lines: tokens when full: lines accepted at once before delaying starts.
            lines_per_s: refill rate: the sustained rate at which delayed lines are released.
            max_delayed_lines: more waiting lines than this is an Excess Flood.
            clock: monotonic seconds (time.monotonic or loop.time; a fake one in tests).
            tokens: the starting level (FloodLedger: what the address left; may be negative);
                None for a full bucket.
        """
        self.burst_lines = burst_lines  # bucket capacity
        self.lines_per_s = lines_per_s  # refill rate
        self.max_delayed = max_delayed_lines  # queue length that counts as sustained abuse
        self._clock = clock
        # Starts full, so a client's registration burst is free, unless its address owes.
        self._tokens = float(burst_lines) if tokens is None else min(float(burst_lines), tokens)
        self._last = clock()  # when _tokens was last brought up to date
        # Items waiting for a token, oldest first; created on the first delay, since most
        # connections never need one (an empty deque costs 760 bytes per connection).
        self._delayed: deque[T] | None = None

    def _refill(self) -> None:
        now = self._clock()
        if now > self._last:
            self._tokens = min(
                float(self.burst_lines), self._tokens + (now - self._last) * self.lines_per_s
            )
        self._last = now

    def submit(self, items: list[T]) -> list[T]:
        """Accept newly received items; return the ones that may be processed now, in order.

        The rest are kept until `release()`; check `overflowed` afterwards.

        Args:
            items: the items (lines) just received, in order.

        Returns:
            The items to process now: the oldest waiting ones first, as far as tokens allow
            (`items` itself when nothing waits and there are tokens for all of them).
        """
        if not self._delayed:
            self._refill()
            if self._tokens >= len(items):
                self._tokens -= len(items)
                return items
            self._delayed = deque(items)
        else:
            self._delayed.extend(items)
        return self.release()

    def release(self) -> list[T]:
        """Return the waiting items that have a token by now (call when `delay_s()` has passed).

        Returns:
            The items to process now, oldest first; possibly empty.
        """
        self._refill()
        ready: list[T] = []
        delayed = self._delayed
        while delayed and self._tokens >= 1.0:
            self._tokens -= 1.0
            ready.append(delayed.popleft())
        return ready

    def charge(self, lines: float) -> None:
        """Spend `lines` tokens at once, for work that costs more than one line.

        The bucket may go below zero: it is then in debt, and every later line waits until
        the refill has paid the debt back (see `in_debt` and `defer`).

        Args:
            lines: the cost in lines (a fraction is fine).
        """
        self._refill()
        self._tokens -= lines

    def refund(self, lines: float) -> None:
        """Give back tokens charged in advance for work that turned out cheaper.

        Args:
            lines: the tokens to give back; the bucket never grows past `burst_lines`.
        """
        self._refill()
        self._tokens = min(float(self.burst_lines), self._tokens + lines)

    @property
    def in_debt(self) -> bool:
        """True when a `charge` took the bucket below zero: no line may pass until it refills."""
        return self._tokens < 0.0

    @property
    def tokens(self) -> float:
        """The tokens in the bucket now (negative while in debt)."""
        self._refill()
        return self._tokens

    def defer(self, items: list[T]) -> None:
        """Put items that `submit` or `release` returned back at the front of the queue.

        For the caller that learns, half-way through processing them, that an item cost more
        than its token (a `charge`): the rest wait, and get their tokens back until released.

        Args:
            items: the unprocessed items, in order.
        """
        if not items:
            return
        self._tokens += len(items)
        if self._delayed is None:
            self._delayed = deque(items)
        else:
            self._delayed.extendleft(reversed(items))

    @property
    def waiting(self) -> int:
        """How many items are delayed."""
        return len(self._delayed) if self._delayed else 0

    @property
    def overflowed(self) -> bool:
        """True when more than `max_delayed_lines` items wait: disconnect with "Excess Flood"."""
        return self.waiting > self.max_delayed

    def delay_s(self) -> float | None:
        """Seconds until the oldest waiting item gets a token, or None when nothing waits."""
        if not self._delayed:
            return None
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self.lines_per_s)


class FloodLedger:
    """What each address owes its flood bucket, kept across its connections (issue 13, item 8).

    Without it a client that closed its connection and opened a new one got a full bucket, so
    sending `burst_lines - 1` lines per connection and reconnecting was never delayed. Here a
    closing connection leaves its bucket's level behind, and a new connection from the same
    address starts at that level plus what the refill has added since. Entries are forgotten
    once the refill would have filled the bucket anyway, so a client that reconnects after a
    quiet moment starts full, as before.
    """

    __slots__ = ("_clock", "_left", "_sweep_at", "settings")

    def __init__(self, settings: Flood, *, clock: Callable[[], float]) -> None:
        """Create an empty ledger.

        Args:
            settings: the [flood] settings of every FloodControl it opens.
            clock: monotonic seconds (a fake one in tests).
        """
        self.settings = settings
        self._clock = clock
        self._left: dict[str, tuple[float, float]] = {}  # address -> (tokens, when left)
        self._sweep_at = _LEDGER_SWEEP_ENTRIES  # entries that trigger the next sweep

    def _level(self, address: str, now: float) -> float | None:
        """The tokens `address` left, refilled up to `now`; None when it owes nothing."""
        entry = self._left.get(address)
        if entry is None:
            return None
        tokens, when = entry
        tokens += max(0.0, now - when) * self.settings.lines_per_s
        if tokens >= self.settings.burst_lines:
            del self._left[address]
            return None
        return tokens

    def open(self, address: str) -> FloodControl[Any]:
        """The bucket of a new connection from `address`: full, or what the address left.

        Args:
            address: the peer's IP literal.

        Returns:
            A FloodControl with the ledger's settings.
        """
        settings = self.settings
        return FloodControl(
            burst_lines=settings.burst_lines,
            lines_per_s=settings.lines_per_s,
            max_delayed_lines=settings.max_delayed_lines,
            clock=self._clock,
            tokens=self._level(address, self._clock()),
        )

    def close(self, address: str, flood: FloodControl[Any]) -> None:
        """A connection from `address` closed: remember what its bucket holds.

        With several connections from one address the lowest level is kept, so closing a
        fresh connection last does not wipe out what a busy one owed.

        Args:
            address: the peer's IP literal.
            flood: the closed connection's bucket.
        """
        now = self._clock()
        tokens = flood.tokens
        earlier = self._level(address, now)
        if earlier is not None:
            tokens = min(tokens, earlier)
        if tokens >= self.settings.burst_lines:
            return
        self._left[address] = (tokens, now)
        if len(self._left) >= self._sweep_at:
            for key in list(self._left):
                self._level(key, now)  # forgets the entries that are full again
            self._sweep_at = max(_LEDGER_SWEEP_ENTRIES, 2 * len(self._left))

    def __len__(self) -> int:
        """Addresses the ledger remembers (some may be full again and not swept yet)."""
        return len(self._left)
