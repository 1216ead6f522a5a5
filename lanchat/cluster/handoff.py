"""History handed over, through Redis, from a live node to one that starts after the log was
trimmed past what its own history holds.

Layer: asyncio edge; imports redis (only lanchat.cluster.node imports this module). The log
before the newest snapshot is gone (lanchat.cluster.compaction), so a node that starts from the
snapshot with a history that stops before it (a new data directory, or one stopped while the
log moved on) cannot write those messages itself: every other node has them, and one of them
copies them over. docs/cluster.md ("History before the snapshot") has the design::

    newcomer:  RPUSH lanchat:handoff {"id", "node", "after", "upto"}     (entry ids)
    live node: LPOP lanchat:handoff (with its heartbeat); if its own history reaches `upto`,
               RPUSH lanchat:handoff:<id> one page (JSON, PAGE_ROWS messages) after another,
               then an empty page; else RPUSH the request back for another node
    newcomer:  BLPOP lanchat:handoff:<id>, stores each page (its own transaction), DEL

Policies a reader might question:
- A page is committed as it comes, not the whole copy in one transaction: memory stays one
  page whatever the history's size, and a copy cut short is harmless, since a message is
  stored once by its msgid (ON CONFLICT DO NOTHING, lanchat.store.db): the node's position is
  not moved by the copy, so it asks again at its next start.
- No live node, or none whose history reaches the snapshot, within `wait_s`: the node says in
  its log what its history lacks, and goes on (CHATHISTORY there starts at the snapshot).
- The pages expire (_PAGES_TTL_S): a newcomer that died does not leave its copy in Redis.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from lanchat.cluster.compaction import behind, when
from lanchat.cluster.replica import last_msgid
from lanchat.errors import StoreError
from lanchat.store.records import HistoryRecord
from lanchat.store.writer import StoreWriter

__all__ = ["REQUESTS_KEY", "Handoff"]

log = logging.getLogger(__name__)

REQUESTS_KEY = "lanchat:handoff"  # list of requests; the pages of one: lanchat:handoff:<id>
PAGE_ROWS = 1000  # messages per page
_PAGES_TTL_S = 300  # the pages of a copy nobody reads go after this long
_PROGRESS_EVERY = 50_000  # messages between two progress lines of a long copy
_BLPOP_S = 1  # one wait for a page (below the client's socket timeout)


class Handoff:
    """One node's part in history handoffs, on its Redis connection. Loop thread only."""

    def __init__(self, redis: aioredis.Redis, store: StoreWriter, wait_s: float) -> None:
        """Args:
        redis: the node's Redis client.
        store: the node's history.
        wait_s: how long a newcomer waits for the first page, and for each next one.
        """
        self.redis = redis
        self.store = store
        self.wait_s = wait_s
        self.sending = False  # this node is copying its history to another one

    async def receive(
        self,
        node: int,
        after: str | None,
        upto: str,
        *,
        peers: bool,
        alive: Callable[[], Awaitable[None]],
    ) -> int | None:
        """Ask a live node for the messages of the entries after `after` up to `upto`, and
        store them.

        Args:
            node: this node's number (a node does not serve itself).
            after: the last entry this node's history holds; None: it holds none.
            upto: the entry of the snapshot this node starts from.
            peers: whether another node has registered its position (is running).
            alive: called between pages: keeps this node's heartbeat going meanwhile.

        Returns:
            How many messages were stored; None when no node handed them over (logged).
        """
        if not peers:
            _lacks(after, upto, "no other node is running to hand its history over")
            return None
        log.info("cluster: asking another node for the history up to %s", when(upto))
        request = {"id": secrets.token_hex(8), "node": node, "after": after or "", "upto": upto}
        raw = json.dumps(request)
        key = f"{REQUESTS_KEY}:{request['id']}"
        began = time.perf_counter()
        await self.redis.rpush(REQUESTS_KEY, raw)
        stored, waited, giver = 0, 0.0, ""
        try:
            while True:
                await alive()
                got = await self.redis.blpop([key], timeout=_BLPOP_S)
                if got is None:
                    waited += _BLPOP_S
                    if waited < self.wait_s:
                        continue
                    await self.redis.lrem(REQUESTS_KEY, 1, raw)
                    _lacks(after, upto, "no live node handed its history over")
                    return None
                waited = 0.0
                giver, records = _read_page(cast(list[bytes], got)[1])
                if not records:
                    break
                await self.store.persist(records)
                before = stored
                stored += len(records)
                if stored // _PROGRESS_EVERY > before // _PROGRESS_EVERY:
                    log.info("cluster: history from node %s: %d messages so far", giver, stored)
        except StoreError as e:
            _lacks(after, upto, f"this node's history could not take it: {e}")
            return None
        finally:
            await self.redis.delete(key)
        log.info(
            "cluster: node %s handed over its history up to %s: %d messages in %.1f s",
            giver,
            when(upto),
            stored,
            time.perf_counter() - began,
        )
        return stored

    async def take(self, node: int, position: str | None) -> dict[str, Any] | None:
        """A request this node can serve (its history, stored up to `position`, reaches the
        request's snapshot), or None; a request it cannot serve goes back for another node."""
        raw = cast(bytes | None, await self.redis.lpop(REQUESTS_KEY))
        if raw is None:
            return None
        request = cast(dict[str, Any], json.loads(raw))
        if request["node"] == node or position is None or behind(request["upto"], position):
            await self.redis.rpush(REQUESTS_KEY, raw)
            return None
        return request

    async def send(self, node: int, request: dict[str, Any]) -> None:
        """Copy this node's messages of the request's entries, page by page (module docs)."""
        self.sending = True
        key = f"{REQUESTS_KEY}:{request['id']}"
        after = last_msgid(request["after"]) if request["after"] else ""
        upto = last_msgid(request["upto"])
        sent = 0
        try:
            await self.store.persist(())  # what this node applied is committed first
            while True:
                records = await self.store.messages_between(after, upto, PAGE_ROWS)
                await self._push(key, _page(node, records))
                if not records:
                    break
                sent += len(records)
                after = records[-1].msgid
            log.info(
                "cluster: handed %d messages of history over to node %s", sent, request["node"]
            )
        except (RedisError, OSError, StoreError) as e:
            log.warning("cluster: history for node %s not handed over: %s", request["node"], e)
        finally:
            self.sending = False

    async def _push(self, key: str, page: bytes) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.rpush(key, page)
            pipe.expire(key, _PAGES_TTL_S)
            await pipe.execute()


def _page(node: int, records: list[HistoryRecord]) -> bytes:
    rows = [
        [r.msgid, r.time_ms, r.command, r.source, r.target, r.target_key, r.text, r.tags]
        for r in records
    ]
    return json.dumps({"node": node, "messages": rows}, ensure_ascii=False).encode()


def _read_page(data: bytes) -> tuple[str, list[HistoryRecord]]:
    """(the giving node, the messages) of a page."""
    page = json.loads(data)
    return str(page["node"]), [HistoryRecord(*row) for row in page["messages"]]


def _lacks(after: str | None, upto: str, why: str) -> None:
    since = "" if after is None else f" after {when(after)}"
    log.warning(
        "cluster: this node's history lacks the cluster's messages%s up to %s (%s): "
        "CHATHISTORY and search on this node start there; the other nodes have them",
        since,
        when(upto),
        why,
    )
