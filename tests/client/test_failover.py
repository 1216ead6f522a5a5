"""A connection to a room with several addresses (a clustered room's nodes, issue 20).

Real `lanchat serve` processes on 127.0.0.1 stand for the nodes; one is killed with SIGKILL
and the client moves to the other, rejoins and asks for the gap from the last message it saw.
The last test runs two real nodes of a cluster (`lanchat serve --cluster` and a real
redis-server): the gap is filled with what was said meanwhile, once. The same through real
mDNS across namespaces is in tests/gui/test_cluster_rooms.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from lanchat.client.events import (
    ConnectFailed,
    Connecting,
    Disconnected,
    Endpoint,
    Joined,
    MessageReceived,
    NickChanged,
    Registered,
)
from lanchat.client.pins import PinStore
from tests.client.test_connection import Peer, peer
from tests.cluster.conftest import RedisServer
from tests.support import free_port, run_serve_process


async def test_an_address_that_does_not_answer_is_skipped_for_the_next_one(
    tmp_path: Path,
) -> None:
    dead = free_port()  # nobody listens here: refused at once
    async with run_serve_process(tmp_path / "b") as node_b:
        alternates = (Endpoint("127.0.0.1", node_b.port),)
        async with peer(dead, "alice", alternates=alternates) as alice:
            await alice.ready()
            tried = [e.port for e in alice.seen if isinstance(e, Connecting)]
            assert tried == [dead, node_b.port]
            assert (alice.conn.host, alice.conn.port) == ("127.0.0.1", node_b.port)


async def test_when_no_address_answers_the_failure_says_none_of_them_did() -> None:
    dead = [free_port(), free_port()]
    alice = Peer(dead[0], "alice", alternates=(Endpoint("127.0.0.1", dead[1]),))
    alice.conn.start()
    failed = await alice.expect(ConnectFailed)
    assert failed.reason == (
        f"None of the room's 2 servers answered (Connection to 127.0.0.1:{dead[1]} refused)"
    )
    assert [e.port for e in alice.seen if isinstance(e, Connecting)] == dead


async def test_kill_9_of_the_node_moves_the_client_to_another_which_it_asks_for_the_gap(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lanchat.client.connection")
    async with (
        run_serve_process(tmp_path / "a") as node_a,
        run_serve_process(tmp_path / "b") as node_b,
    ):
        alternates = (Endpoint("127.0.0.1", node_b.port),)
        async with peer(node_a.port, "alice", alternates=alternates) as alice:
            await alice.ready()
            alice.say("#lobby", "before the crash")
            seen = await alice.expect(MessageReceived, lambda e: e.text == "before the crash")
            assert seen.msgid
            node_a.proc.kill()
            gone = await alice.expect(Disconnected)
            assert gone.will_retry and gone.retry_in_s < 1.0  # another node: no backoff
            moved = await alice.expect(Connecting, lambda e: e.port == node_b.port)
            assert moved.attempt == 2
            await alice.expect(Registered)
            await alice.expect(Joined, lambda e: e.own and e.room == "#lobby")
            # The rejoin asks the new node for what came after the last message seen; every
            # node of a cluster knows that msgid (a lone server like this one answers empty).
            sent = [r.getMessage() for r in caplog.records if " > CHATHISTORY" in r.getMessage()]
            assert f"alice > CHATHISTORY AFTER #lobby msgid={seen.msgid} 100" in sent
            # B answered last: the next (re)connection tries it first.
            assert alice.conn.preferred.port == node_b.port


async def test_each_node_of_a_tls_room_is_checked_against_and_pinned_with_its_own_fingerprint(
    tmp_path: Path,
) -> None:
    pins = PinStore(tmp_path / "pins.json")
    tls_a, tls_b = free_port(), free_port()
    async with (
        run_serve_process(tmp_path / "a", "--tls-port", str(tls_a)) as node_a,
        run_serve_process(tmp_path / "b", "--tls-port", str(tls_b)) as node_b,
    ):
        assert node_a.fingerprint != node_b.fingerprint
        other = Endpoint("127.0.0.1", tls_b, True, node_b.fingerprint, "lan:hall-b")
        alice = Peer(tls_a, "alice", tls=True, fingerprint=node_a.fingerprint,
                     pin_key="lan:hall-a", pins=pins, alternates=(other,))  # fmt: skip
        alice.conn.start()
        try:
            await alice.ready()
            node_a.proc.kill()
            await alice.expect(Connecting, lambda e: e.port == tls_b)
            await alice.expect(Joined, lambda e: e.own and e.room == "#lobby")
        finally:
            await alice.conn.quit("test over")
    assert json.loads((tmp_path / "pins.json").read_text()) == {
        "lan:hall-a": node_a.fingerprint,
        "lan:hall-b": node_b.fingerprint,
    }


async def test_on_a_cluster_the_client_moves_to_a_live_node_gets_the_gap_once_and_its_nick(
    tmp_path: Path,
) -> None:
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis")
    config = tmp_path / "cluster.toml"
    config.write_text("[cluster]\nnode_timeout_s = 2.0\n")  # the dead node's users quit
    node_args = ("--cluster", redis.url, "--config", str(config))
    await redis.start()
    try:
        async with (
            run_serve_process(tmp_path / "a", *node_args) as node_a,
            run_serve_process(tmp_path / "b", *node_args) as node_b,
            peer(node_b.port, "bob") as bob,
            # the move waits about half a second (its jitter's top): bob talks in that gap
            peer(
                node_a.port,
                "alice",
                alternates=(Endpoint("127.0.0.1", node_b.port),),
                rng=lambda: 0.99,
            ) as alice,  # fmt: skip
        ):
            await bob.ready()
            await alice.ready()
            alice.say("#lobby", "before the crash")
            await bob.expect(MessageReceived, lambda e: e.text == "before the crash")
            await alice.expect(MessageReceived, lambda e: e.text == "before the crash")
            node_a.proc.kill()
            await alice.expect(Disconnected)
            bob.say("#lobby", "while you were away")
            await alice.expect(Connecting, lambda e: e.port == node_b.port)
            # Node B still has alice of node A until the cluster times that node out.
            await alice.expect(Registered, lambda e: e.nick == "alice_")
            missed = await alice.expect(MessageReceived, lambda e: e.text == "while you were away")
            assert missed.history and missed.nick == "bob"
            renamed = await alice.expect(NickChanged, lambda e: e.own, timeout_s=15.0)
            assert (renamed.old, renamed.new) == ("alice_", "alice")
            alice.say("#lobby", "back as alice")
            heard = await bob.expect(MessageReceived, lambda e: e.text == "back as alice")
            assert heard.nick == "alice"
            texts = alice.texts()
            assert texts.count("before the crash") == texts.count("while you were away") == 1
    finally:
        await redis.stop()
