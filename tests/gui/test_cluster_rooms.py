"""A clustered room (issue 20) seen from the desktop client, with real servers.

On a real (namespaced) LAN: two machines each run `lanchat serve` and advertise the same room
with the same cluster id over real mDNS (the advertisement through the discovery API,
tests/discovery/agent.py); a third runs alice's chat window (tests/gui/chat_agent.py). Her
Rooms page shows the room once with both machines; she joins; the machine she is connected to
is killed (SIGKILL, its server and its advertisement), and her window moves to the other one,
rejoins the room and goes on. In this process, with the advertisements handed to the window:
two TLS nodes on one machine, each pinned by its own certificate.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from lanchat.client.pins import PinStore
from lanchat.discovery.events import RoomAdded
from lanchat.discovery.records import RoomAd
from lanchat.gui.access import find
from lanchat.gui.app import ChatApp
from lanchat.launcher.supervisor import HostedRoom, RoomReady, Supervisor
from tests.discovery.netns import AGENT, Agent, Namespace
from tests.gui.lan import bridged_namespaces
from tests.gui.test_trust import joined, tls_port
from tests.gui.tk_support import run_until
from tests.support import SERVE_READY_TIMEOUT_S, ServerProcess, serve_argv

pytestmark = pytest.mark.gui

STEP_TIMEOUT_S = 15.0
CLUSTER = "c1u5t3r"


@pytest.fixture
def lan() -> Iterator[list[Namespace]]:
    with bridged_namespaces(3) as namespaces:
        yield namespaces


@asynccontextmanager
async def node(
    ns: Namespace, data_dir: Path, host: str
) -> AsyncIterator[tuple[ServerProcess, Agent]]:
    """A machine of the cluster: `lanchat serve` in `ns` and its room advertised as `host`."""
    proc = await asyncio.create_subprocess_exec(
        *ns.argv(sys.executable, "-m", "lanchat", *serve_argv(data_dir, "--host", "0.0.0.0")),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    server = ServerProcess(proc)
    advertiser = await Agent.start(ns, str(AGENT), "advertise", "--host", host, script=False)
    try:
        ready = await server.wait_for_output("ready: port ", SERVE_READY_TIMEOUT_S)
        server.port = int(ready.split()[-1])
        await advertiser.expect("ready", timeout_s=STEP_TIMEOUT_S)
        advertiser.send(op="publish", room="#party", cluster=CLUSTER, port=server.port, users=1)
        await advertiser.expect("published", timeout_s=STEP_TIMEOUT_S)
        yield server, advertiser
    finally:
        await advertiser.close()
        await server.stop()


def party_row(hosts: str, addresses: str) -> Any:
    return lambda o: (
        [r[1:5:3] for r in o["rows"] if r[0].endswith("#party")] == [[hosts, addresses]]
    )


@pytest.mark.netns
async def test_clustered_room_is_listed_once_and_a_dead_node_moves_the_window_to_another(
    lan: list[Namespace], tmp_path: Path
) -> None:
    ns_a, ns_b, ns_alice = lan
    alice = await Agent.start(
        ns_alice, "-m", "tests.gui.chat_agent", "--nick", "alice", script=False
    )
    async with AsyncExitStack() as nodes:
        (server_a, advertiser_a), (server_b, _) = await asyncio.gather(
            nodes.enter_async_context(node(ns_a, tmp_path / "a", "hall-a")),
            nodes.enter_async_context(node(ns_b, tmp_path / "b", "hall-b")),
        )
        try:
            await alice.expect("ready", timeout_s=STEP_TIMEOUT_S)
            a, b = f"{ns_a.address}:{server_a.port}", f"{ns_b.address}:{server_b.port}"
            await alice.expect(
                "rooms", party_row("hall-a, hall-b", f"{a}, {b}"), timeout_s=STEP_TIMEOUT_S
            )
            alice.send(cmd="join", room="#party")
            await alice.expect(
                "transcript", lambda o: "You joined #party." in o["text"], timeout_s=STEP_TIMEOUT_S
            )
            await alice.expect(
                "status", lambda o: o["text"] == f"Connected to {a} as alice.",
                timeout_s=STEP_TIMEOUT_S,
            )  # fmt: skip
            server_a.proc.kill()  # machine A dies: its server and its advertisement
            advertiser_a.kill()
            await alice.expect(
                "status", lambda o: o["text"] == f"Connected to {b} as alice.",
                timeout_s=STEP_TIMEOUT_S,
            )  # fmt: skip
            # Rejoined on B: the room's members come from B, and a line typed there goes out.
            await alice.expect(
                "transcript", lambda o: o["text"].count("You joined #party.") == 2,
                timeout_s=STEP_TIMEOUT_S,
            )  # fmt: skip
            alice.send(cmd="say", text="still here")
            await alice.expect(
                "transcript", lambda o: "still here" in o["text"], timeout_s=STEP_TIMEOUT_S
            )
            # The room stays listed, now with B only (its probe found A gone).
            await alice.expect("rooms", party_row("hall-b", b), timeout_s=STEP_TIMEOUT_S)
        finally:
            await alice.close()


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[list[HostedRoom]]:
    """#party on two `lanchat serve` processes with TLS on 127.0.0.1 (one machine)."""
    supervisors = [
        Supervisor(data_root=tmp_path / name, serve_args=["--host", "127.0.0.1", "--no-mdns"])
        for name in ("node-a", "node-b")
    ]
    try:
        nodes = [sup.start("#party") for sup in supervisors]
        for sup in supervisors:
            assert isinstance(sup.events.get(timeout=20), RoomReady)
        yield nodes
    finally:
        for sup in supervisors:
            sup.stop_all()


def test_tls_nodes_on_one_machine_are_one_row_and_each_keeps_its_own_pin(
    app: ChatApp, two_nodes: list[HostedRoom], tmp_path: Path
) -> None:
    # Two nodes of a cluster on one machine: the same host name, two certificates. Pinned
    # under the host name alone, the second would look like the first one's certificate
    # changed, and the move to it would be refused.
    tls = [tls_port(node) for node in two_nodes]
    for i, (node, port) in enumerate(zip(two_nodes, tls, strict=True)):
        instance = f"#party on vm{'-2' * i}"  # the second one's probe renamed it
        ad = RoomAd("#party", "vm", node.port, addresses=("127.0.0.1",), tls=port,
                    fp=node.fingerprint, instance=instance, cluster=CLUSTER)  # fmt: skip
        app.network.events.put(RoomAdded(ad))
    both = f"127.0.0.1:{two_nodes[0].port}, 127.0.0.1:{two_nodes[1].port}"
    run_until(app.root, lambda: [r[4] for r in app.rooms_page.shown_rows()] == [both], "one row")
    (row,) = app.rooms_page.model.rows.values()
    app.rooms_page.select(row.instance)
    find(app.rooms_page, "Join").invoke()
    server_id = f"127.0.0.1:{tls[0]}"
    run_until(app.root, lambda: joined(app, server_id), "not in #party on the first node")
    assert two_nodes[0].process is not None
    two_nodes[0].process.kill()
    moved = f"Connected to 127.0.0.1:{tls[1]} as alice."
    run_until(app.root, lambda: app.bar.status.cget("text") == moved, "not moved to node B")
    run_until(app.root, lambda: joined(app, server_id), "not back in #party")
    pins = PinStore(tmp_path / "pins.json")
    assert pins.get(f"lan:vm:{tls[0]}") == two_nodes[0].fingerprint
    assert pins.get(f"lan:vm:{tls[1]}") == two_nodes[1].fingerprint
