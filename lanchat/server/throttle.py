"""Failed guesses of a secret, counted per address: room keys and the server password today.

Layer: pure server core; standard library only (the clock is injected). It logs through the
`logging` module and touches nothing else.
Spec: issue 13, item 6 ("Guessing is free": 35 room-key guesses per JOIN line, 127 per second
per connection and 740 server-password guesses per second, none of them logged). The model is
Ergo's `accounts.login-throttling` (irc/connection_limits/throttler.go): a fixed window that
starts at the first failure; once `max_failures` failed within it, every further attempt from
that address is refused *without being checked* until the window ends, so a right guess made
while throttled teaches the guesser nothing.

Policies a reader might question:
- The count is per address, not per connection, since reconnecting is free; everyone behind one
  address shares it (a classroom behind one NAT can lock itself out of a room for
  `window_s` by typing the key wrong `max_failures` times; the defaults allow for typos).
- A success does not reset the count: a key known for one room must not buy more guesses at
  another.
- Each checked failure is logged (at most `max_failures` per address and window, so the log
  cannot be flooded through it), then one line when the address is throttled; refused
  attempts are counted and that count is logged once when the window ends.

SASL and OPER (the accounts issue) use the same object: call `retry_after_s` before checking a
secret and `failed` after a wrong one, with their own `what`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

__all__ = ["FailureThrottle"]

log = logging.getLogger(__name__)

# Entries whose window has ended are swept once this many are kept (then twice what is left),
# so a scan of many source addresses costs bounded memory.
_SWEEP_ENTRIES = 1024


class _Window:
    __slots__ = ("failures", "refused", "start")

    def __init__(self, start: float) -> None:
        self.start = start  # clock time of the first failure of this window
        self.failures = 0  # wrong secrets checked in this window
        self.refused = 0  # attempts refused unchecked since the address was throttled


class FailureThrottle:
    """At most `max_failures` wrong secrets per address per `window_s`, with an injected clock."""

    __slots__ = ("_clock", "_sweep_at", "_windows", "max_failures", "window_s")

    def __init__(self, *, max_failures: int, window_s: float, clock: Callable[[], float]) -> None:
        """Create a throttle with no failures recorded.

        Args:
            max_failures: wrong secrets an address may try per window; the next attempt in
                the window is refused unchecked.
            window_s: length of the window, from the address's first failure.
            clock: seconds (ServerState's clock; a fake one in tests).
        """
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}  # address -> its current window
        self._sweep_at = _SWEEP_ENTRIES

    def _window(self, address: str, now: float) -> _Window | None:
        window = self._windows.get(address)
        if window is None:
            return None
        if not window.start <= now < window.start + self.window_s:  # ended (or clock went back)
            del self._windows[address]
            if window.refused:
                log.warning(
                    "%s may try again: %d more attempts were refused while it was throttled",
                    address,
                    window.refused,
                )
            return None
        return window

    def retry_after_s(self, address: str) -> int:
        """Whether `address` may have a secret checked now; call before checking it.

        A refused attempt is counted (for the log line when the window ends).

        Args:
            address: the client's IP literal.

        Returns:
            0 when the secret may be checked; otherwise the whole seconds until the window
            ends (for the error the client sees).
        """
        now = self._clock()
        window = self._window(address, now)
        if window is None or window.failures < self.max_failures:
            return 0
        window.refused += 1
        return max(1, math.ceil(window.start + self.window_s - now))

    def failed(self, address: str, what: str) -> None:
        """A secret from `address` was checked and wrong: count it and log it.

        Args:
            address: the client's IP literal.
            what: what was wrong, for the log: "key for #games", "server password".
        """
        now = self._clock()
        window = self._window(address, now)
        if window is None:
            window = self._windows[address] = _Window(now)
            if len(self._windows) >= self._sweep_at:
                for key in list(self._windows):
                    self._window(key, now)
                self._sweep_at = max(_SWEEP_ENTRIES, 2 * len(self._windows))
        window.failures += 1
        # A room name may hold ESC and other controls: spelled out, never sent to the console
        # (issue 13 item 5).
        shown = what if what.isprintable() else repr(what)[1:-1]
        log.warning(
            "%s gave a wrong %s (%d of %d failures allowed per %g s)",
            address,
            shown,
            window.failures,
            self.max_failures,
            self.window_s,
        )
        if window.failures == self.max_failures:
            log.warning(
                "%s is throttled: its keys and passwords are refused unchecked for %d s",
                address,
                max(1, math.ceil(window.start + self.window_s - now)),
            )
