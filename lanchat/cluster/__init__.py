"""Several lanchat servers sharing their rooms through one Redis (issue 20, docs/cluster.md).

Layer: `bus`, `events`, `replica` and `snapshot` are pure (no asyncio, no redis); `node` is the
asyncio edge, with `compaction` (snapshots in Redis, the log trimmed behind them) and `handoff`
(history copied between nodes): the modules that import redis, imported only by
`lanchat serve --cluster`.

The hub hands the events of its connections to a `Bus` when the server is a cluster node, and
to its core directly otherwise: without --cluster nothing here is imported.
"""

from __future__ import annotations

from lanchat.cluster.bus import Bus

__all__ = ["Bus"]
