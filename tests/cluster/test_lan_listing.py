"""A cluster node's web page lists the rooms on the LAN (issue 20), over real mDNS.

An in-process node of a real cluster (redis-server) serves its page on one end of a veth link
to a namespace, where three advertisers (tests/discovery/agent.py) stand for other machines:
a sibling node of the same cluster advertising `#hall`, and two nodes of another cluster
advertising `#games`. Needs root and iproute2 (tests/discovery/netns.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

import aiohttp
import pytest

from lanchat.server.app import LanchatServer
from tests.discovery.netns import Agent, Namespace, host_link

STEP_TIMEOUT_S = 15.0


async def api_rooms(address: str, port: int) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://{address}:{port}/api/rooms") as response,
    ):
        document: dict[str, Any] = json.loads(await response.read())
        return document


async def machine(stack: AsyncExitStack, ns: Namespace, host: str) -> tuple[Agent, int]:
    """A machine `host` in `ns` that advertises rooms, and the port it answers on."""
    agent = await Agent.start(ns, "advertise", "--host", host)
    stack.push_async_callback(agent.close)
    ready = await agent.expect("ready", timeout_s=STEP_TIMEOUT_S)
    return agent, int(ready["port"])


async def publish(*ads: tuple[tuple[Agent, int], dict[str, Any]]) -> None:
    """Each machine advertises its room; returns once all are announced."""
    for (agent, port), ad in ads:
        agent.send(op="publish", port=port, users=1, **ad)
    for (agent, _), _ad in ads:
        await agent.expect("published", timeout_s=STEP_TIMEOUT_S)


@pytest.mark.netns
async def test_a_nodes_page_lists_another_clusters_room_once_and_not_its_siblings_copies(
    cluster_node: Callable[..., AbstractAsyncContextManager[LanchatServer]],
) -> None:
    with host_link() as (host_address, ns):
        async with (
            cluster_node(
                "a",
                server={"host": host_address, "rooms": ["#hall"]},
                discovery={"enabled": True, "interfaces": [host_address]},
                web={"enabled": True, "port": 0},
            ) as node,
            AsyncExitStack() as machines,
        ):
            assert node.cluster is not None and node.cluster.cluster_id
            hall_b, games_a, games_b = await asyncio.gather(
                *(machine(machines, ns, host) for host in ("hall-b", "games-a", "games-b"))
            )
            # The sibling first: once the later rooms are listed, its #hall was seen too.
            await publish((hall_b, {"room": "#hall", "cluster": node.cluster.cluster_id}))
            games = {"room": "#games", "cluster": "other"}
            await publish((games_a, games), (games_b, games))
            deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT_S
            while True:
                document = await api_rooms(host_address, node.web_port)
                hosts = [entry["host"] for entry in document["lan"] if entry["name"] == "#games"]
                if hosts == ["games-a, games-b"] or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.2)
    assert [room["name"] for room in document["rooms"]] == ["#hall"]
    [games] = document["lan"]  # #hall of hall-b is this node's own room, served there too
    assert (games["name"], games["host"]) == ("#games", "games-a, games-b")
    assert games["addresses"] == [f"{ns.address}:{port}" for _, port in (games_a, games_b)]
