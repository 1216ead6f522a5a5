"""Which nodes of a cluster are gone: judged from their heartbeat counts, on this node's clock.

Layer: pure (no asyncio, no redis): counts and times in, node numbers out; tested by plain
calls. lanchat.cluster.node reads the counts (HGETALL lanchat:beats) and reports the gone.

A count, not a key with a TTL: a Redis restart loses no beat (appendonly) and expires no key
at once, and clocks of different machines never meet. A node is gone when its count stood
still for `timeout_s` while this node kept looking: a look that comes late (this node was busy
or stopped, or Redis was away) forgets what was heard before, and every node gets a whole
timeout again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["Liveness"]


class Liveness:
    """The heartbeat counts this node heard, and since when each stood still."""

    def __init__(self, timeout_s: float, look_every_s: float) -> None:
        """Args:
        timeout_s: how long a count may stand still ([cluster] node_timeout_s).
        look_every_s: how often `look` is called; a look later than that forgets.
        """
        self.timeout_s = timeout_s
        self.look_every_s = look_every_s
        self._heard: dict[int, tuple[int, float]] = {}  # node -> (count, when it last moved)
        self._looked_at: float | None = None

    def forget(self) -> None:
        """Nobody could beat meanwhile (Redis was away): start over."""
        self._heard.clear()

    def look(self, beats: Mapping[int, int], nodes: Iterable[int], now: float) -> list[int]:
        """The nodes among `nodes` whose count has not moved for timeout_s, at time `now`.

        Args:
            beats: each node's heartbeat count (a node with none counts 0).
            nodes: the nodes to judge (those with users, but this one).
            now: this node's monotonic clock, in seconds.

        Returns:
            The gone nodes, in order; each is reported again a timeout later if still there.
        """
        if self._looked_at is None or now - self._looked_at > self.look_every_s:
            self._heard.clear()  # not looking for a while: what was heard then proves nothing
        self._looked_at = now
        gone = []
        for node in sorted(nodes):
            count = beats.get(node, 0)
            last = self._heard.get(node)
            if last is None or last[0] != count:
                self._heard[node] = (count, now)
            elif now - last[1] >= self.timeout_s:
                gone.append(node)
                self._heard[node] = (count, now)
        return gone
