"""`lanchat rooms`: the table and JSON formats, and the command end to end over real mDNS.

The end-to-end tests run `python -m lanchat rooms` inside namespace B while an advertiser
agent publishes in namespace A (tests/discovery/netns.py).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import pytest

from lanchat.discovery.clusters import group
from lanchat.discovery.listing import NO_ROOMS, format_table, to_json
from lanchat.discovery.records import RoomAd
from tests.discovery.netns import REPO, Agent, Namespace, room, start_advertiser

LOBBY = RoomAd(
    room="#lobby",
    host="alice-laptop",
    port=6667,
    users=12,
    topic="welcome",
    addresses=("192.168.1.5", "10.0.0.5"),
    instance="#lobby on alice-laptop",
)
DEV = RoomAd(
    room="#dev",
    host="bob",
    port=7000,
    users=1,
    key_required=True,
    addresses=("fe80::1%2",),
    instance="#dev on bob",
)


def test_table_has_a_header_and_aligned_columns_sorted_by_room() -> None:
    lines = format_table([LOBBY, DEV]).splitlines()
    assert lines == [
        "ROOM    HOST          ADDRESS           USERS  KEY  TOPIC",
        "#dev    bob           [fe80::1%2]:7000      1  key",
        "#lobby  alice-laptop  192.168.1.5:6667     12       welcome",
    ]


def test_table_replaces_control_characters_from_the_network() -> None:
    evil = RoomAd(room="#x", host="h\x1b[2J", port=1, topic="a\x1b]0;pwned\x07b")
    table = format_table([evil])
    assert "\x1b" not in table and "\x07" not in table


def test_json_has_every_field_and_the_addresses_to_connect_to() -> None:
    assert json.loads(to_json(group([LOBBY])[0])) == {
        "room": "#lobby",
        "host": "alice-laptop",
        "port": 6667,
        "users": 12,
        "topic": "welcome",
        "key_required": False,
        "addresses": ["192.168.1.5:6667", "10.0.0.5:6667"],
        "instance": "#lobby on alice-laptop",
        "version": "1",
        "web_port": 0,
        "tls": 0,
        "fp": "",
        "cluster": None,
        "address": "192.168.1.5:6667",
        "hosts": ["alice-laptop"],
    }
    assert json.loads(to_json(group([DEV])[0], "removed"))["event"] == "removed"


NODE_A = RoomAd(room="#party", host="hall-a", port=6667, users=40, addresses=("10.1.0.1",),
                instance="#party on hall-a", cluster="c1u5t3r")  # fmt: skip
NODE_B = RoomAd(room="#party", host="hall-b", port=7000, users=41, addresses=("10.1.0.2",),
                instance="#party on hall-b", cluster="c1u5t3r")  # fmt: skip


def test_a_clustered_room_is_one_line_with_every_host_and_address() -> None:
    lines = format_table([NODE_B, LOBBY, NODE_A]).splitlines()
    assert lines == [
        "ROOM    HOST            ADDRESS                       USERS  KEY  TOPIC",
        "#lobby  alice-laptop    192.168.1.5:6667                 12       welcome",
        "#party  hall-a, hall-b  10.1.0.1:6667, 10.1.0.2:7000     41",
    ]
    obj = json.loads(to_json(group([NODE_B, NODE_A])[0]))
    assert obj["addresses"] == ["10.1.0.1:6667", "10.1.0.2:7000"]
    assert (obj["hosts"], obj["cluster"], obj["users"]) == (["hall-a", "hall-b"], "c1u5t3r", 41)


async def run_rooms(ns: Namespace, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *ns.argv(sys.executable, "-m", "lanchat", "rooms", *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def watch_rooms(agents: list[Agent], ns: Namespace) -> Agent:
    """`lanchat rooms --watch --json` running in `ns` (stopped with the other agents)."""
    watch = await Agent.start(ns, "-m", "lanchat", "rooms", "--watch", "--json", script=False)
    agents.append(watch)
    return watch


@pytest.mark.netns
async def test_rooms_lists_the_advertised_room_within_the_default_two_seconds(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    a, b = pair
    advertiser, port = await start_advertiser(agents, a)
    advertiser.send(op="publish", room="#lobby", users=3, topic="hello", key=True)
    await advertiser.expect("published")
    # A person and a script look at the same time: a table and JSON lines.
    (status, table, _), (json_status, lines, err) = await asyncio.gather(
        run_rooms(b), run_rooms(b, "--json")
    )
    assert (status, json_status) == (0, 0), err
    header, row = table.splitlines()
    assert header.split() == ["ROOM", "HOST", "ADDRESS", "USERS", "KEY", "TOPIC"]
    assert row.split() == ["#lobby", "alice-laptop", f"{a.address}:{port}", "3", "key", "hello"]
    assert [json.loads(line) for line in lines.splitlines()] == [
        {
            "room": "#lobby",
            "host": "alice-laptop",
            "port": port,
            "users": 3,
            "topic": "hello",
            "key_required": True,
            "addresses": [f"{a.address}:{port}"],
            "instance": "#lobby on alice-laptop",
            "version": "1",
            "web_port": 0,
            "tls": 0,
            "fp": "",
            "cluster": None,
            "address": f"{a.address}:{port}",
            "hosts": ["alice-laptop"],
        }
    ]


@pytest.mark.netns
async def test_rooms_browses_only_the_interface_given(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    a, b = pair
    advertiser, port = await start_advertiser(agents, a)
    advertiser.send(op="publish", room="#lobby")
    await advertiser.expect("published")
    status, lines, err = await run_rooms(b, "--json", "--interface", b.address)
    assert status == 0, err
    assert [json.loads(line)["address"] for line in lines.splitlines()] == [f"{a.address}:{port}"]
    # Loopback carries no LAN traffic, so browsing only there finds nothing.
    status, out, _ = await run_rooms(b, "--interface", "127.0.0.1", "--timeout", "0.5")
    assert (status, out) == (0, NO_ROOMS + "\n")


@pytest.mark.netns
async def test_rooms_with_nothing_advertised_says_so_and_exits_0(
    pair: tuple[Namespace, Namespace],
) -> None:
    _, b = pair
    status, out, _ = await run_rooms(b, "--timeout", "0.5")
    assert (status, out) == (0, NO_ROOMS + "\n")


@pytest.mark.netns
async def test_rooms_watch_prints_added_and_removed_until_ctrl_c(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    a, b = pair
    watch = await watch_rooms(agents, b)
    advertiser, _ = await start_advertiser(agents, a)
    advertiser.send(op="publish", room="#lobby", users=1)
    await watch.expect("added", room("#lobby", users=1))
    advertiser.send(op="publish", room="#lobby", users=2)
    await watch.expect("updated", room("#lobby", users=2))
    advertiser.send(op="withdraw", room="#lobby")
    await watch.expect("removed", room("#lobby"))
    watch.proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(watch.proc.wait(), 10) == 130


@pytest.mark.netns
async def test_rooms_lists_a_clustered_room_once_with_both_nodes_and_a_namesake_apart(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    # Issue 20: the same room and cluster id advertised from two machines is one room with
    # two addresses; the same room name from a third server without the id stays its own row.
    a, b = pair
    (node_a, port_a), (node_b, port_b), (plain, plain_port) = await asyncio.gather(
        start_advertiser(agents, a, host="hall-a"),
        start_advertiser(agents, b, host="hall-b"),
        start_advertiser(agents, a, host="bob"),
    )
    node_a.send(op="publish", room="#party", users=3, cluster="c1u5t3r")
    node_b.send(op="publish", room="#party", users=3, cluster="c1u5t3r")
    plain.send(op="publish", room="#party", users=1)
    for agent in (node_a, node_b, plain):
        await agent.expect("published")
    (status, table, _), (json_status, lines, err) = await asyncio.gather(
        run_rooms(b), run_rooms(b, "--json")
    )
    assert (status, json_status) == (0, 0), err
    rows = [line.split("  ") for line in table.splitlines()[1:]]
    assert [[cell.strip() for cell in row if cell.strip()] for row in rows] == [
        ["#party", "bob", f"{a.address}:{plain_port}", "1"],
        ["#party", "hall-a, hall-b", f"{a.address}:{port_a}, {b.address}:{port_b}", "3"],
    ]
    listed = [json.loads(line) for line in lines.splitlines()]
    assert [(o["hosts"], o["addresses"], o["cluster"]) for o in listed] == [
        (["bob"], [f"{a.address}:{plain_port}"], None),
        (["hall-a", "hall-b"], [f"{a.address}:{port_a}", f"{b.address}:{port_b}"], "c1u5t3r"),
    ]


@pytest.mark.netns
async def test_rooms_watch_shows_a_clustered_room_losing_a_node_as_an_update(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    a, b = pair
    watch = await watch_rooms(agents, b)
    (node_a, _), (node_b, port_b) = await asyncio.gather(
        start_advertiser(agents, a, host="hall-a"), start_advertiser(agents, b, host="hall-b")
    )
    for node in (node_a, node_b):
        node.send(op="publish", room="#party", cluster="c1u5t3r")
    # One node is added first, the other joins its line; never a second #party line.
    await watch.expect("updated", room("#party", hosts=["hall-a", "hall-b"]))
    node_a.kill()  # kill -9: no goodbye; the browser's probe notices
    only_b = room("#party", hosts=["hall-b"], addresses=[f"{b.address}:{port_b}"])
    await watch.expect("updated", only_b)
    node_b.send(op="withdraw", room="#party")
    await watch.expect("removed", only_b)
    assert [e["event"] for e in watch.seen] == ["added", "updated", "updated", "removed"]
