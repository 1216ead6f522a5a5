"""Several lanchat servers sharing their rooms through one Redis (issue 20, docs/cluster.md).

Layer: `bus` and `events` and `replica` are pure (no asyncio, no redis); `node` is the asyncio
edge, the only module that imports redis, imported only by `lanchat serve --cluster`.

The hub hands the events of its connections to a `Bus` when the server is a cluster node, and
to its core directly otherwise: without --cluster nothing here is imported.
"""

from __future__ import annotations

from lanchat.cluster.bus import Bus

__all__ = ["Bus"]
