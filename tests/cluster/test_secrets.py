"""Passwords stay out of the cluster's Redis log, and logins agree on every node (issue 20).

Two in-process nodes over a real redis-server; the whole stream is read back with XRANGE.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import cast

import redis.asyncio as aioredis

from lanchat.passwords import ScryptParams, hash_password
from lanchat.scram import ScramClient
from lanchat.server.app import LanchatServer
from tests.cluster.conftest import RedisServer
from tests.server.test_accounts_sockets import SCRYPT_TIMEOUT_S, plain
from tests.support import LineClient

Node = Callable[..., AbstractAsyncContextManager[LanchatServer]]
Entries = list[tuple[bytes, dict[bytes, bytes]]]  # XRANGE, as redis-py gives it
SERVER_PASSWORD = "door-word-42"
OPER_PASSWORD = "open sesame"
ACCOUNT_PASSWORD = "alice-secret-1"


async def stream(redis_server: RedisServer) -> Entries:
    """The cluster's whole log, read back with XRANGE."""
    store = aioredis.Redis.from_url(redis_server.url)
    try:
        return cast(Entries, await store.xrange("lanchat:log"))
    finally:
        await store.aclose()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def connected(port: int, nick: str, server_password: str = "") -> LineClient:
    """A registered client with the sasl capability (after PASS, if given)."""
    client = await LineClient.connect(port)
    if server_password:
        client.send(f"PASS {server_password}")
    await client.register(nick, caps=("sasl", "extended-join", "account-notify"))
    return client


async def sasl_start(port: int, nick: str, mechanism: str, server_password: str) -> LineClient:
    """A client that chose a SASL mechanism before registering."""
    client = await LineClient.connect(port)
    if server_password:
        client.send(f"PASS {server_password}")
    client.send("CAP LS 302")
    client.send(f"NICK {nick}")
    client.send(f"USER {nick} 0 * :{nick}")
    client.send("CAP REQ :sasl")
    await client.expect("CAP", lambda m: m.params[1] == "ACK")
    client.send(f"AUTHENTICATE {mechanism}")
    await client.expect("AUTHENTICATE")
    return client


async def logged_in(client: LineClient) -> LineClient:
    """Wait for 903, then end CAP and wait for the welcome."""
    await client.expect_numeric("903", timeout_s=SCRYPT_TIMEOUT_S)
    client.send("CAP END")
    await client.expect_numeric("001")
    return client


async def scram_login(port: int, nick: str, server_password: str = "") -> tuple[LineClient, str]:
    """A SCRAM-SHA-256 login to the account alice; the client and its client-final-message."""
    client = await sasl_start(port, nick, "SCRAM-SHA-256", server_password)
    scram = ScramClient("alice", ACCOUNT_PASSWORD)
    client.send(f"AUTHENTICATE {b64(scram.first())}")
    server_first = await client.expect("AUTHENTICATE")
    final = b64(scram.final(base64.b64decode(server_first.params[0]).decode()))
    client.send(f"AUTHENTICATE {final}")
    signature = await client.expect(lambda m: m.command in ("AUTHENTICATE", "904"))
    assert signature.command == "AUTHENTICATE", signature
    assert scram.verify(base64.b64decode(signature.params[0]).decode())
    client.send("AUTHENTICATE +")
    return await logged_in(client), final


async def whois(client: LineClient, nick: str) -> dict[str, tuple[str, ...]]:
    """The WHOIS numerics about `nick`, by numeric, up to 318."""
    client.send(f"WHOIS {nick}")
    got: dict[str, tuple[str, ...]] = {}
    while "318" not in got:
        m = await client.expect(lambda m: m.command.isdigit() and m.params[1:2] == (nick,))
        got[m.command] = m.params
    return got


async def registered_alice(port: int, server_password: str = "") -> LineClient:
    alice = await connected(port, "alice", server_password)
    alice.send(f"REGISTER * * {ACCOUNT_PASSWORD}")
    done = await alice.expect("REGISTER", timeout_s=SCRYPT_TIMEOUT_S)
    assert done.params[0] == "SUCCESS", done
    return alice


async def test_a_scram_login_on_one_node_is_a_login_on_the_other(cluster_node: Node) -> None:
    async with cluster_node("a") as a, cluster_node("b") as b:
        alice = await registered_alice(a.port)
        bob = await connected(b.port, "bob")
        bob.send("JOIN #lobby")
        await bob.expect("366")
        scrammed, _ = await scram_login(a.port, "al3")
        scrammed.send("JOIN #lobby")
        joined = await bob.expect("JOIN", lambda m: str(m.source).startswith("al3!"))
        assert joined.params[1] == "alice"  # extended-join: the account, as node b holds it
        assert (await whois(bob, "al3"))["330"][2] == "alice"
        for client in (alice, bob, scrammed):
            await client.close()


async def test_no_password_reaches_the_log_and_both_nodes_agree(
    cluster_node: Node, redis_server: RedisServer
) -> None:
    opers = {"host": hash_password(OPER_PASSWORD, ScryptParams(log2_n=4))}
    settings = {"server": {"password": SERVER_PASSWORD}, "opers": opers}
    async with cluster_node("a", **settings) as a, cluster_node("b", **settings) as b:
        alice = await registered_alice(a.port, SERVER_PASSWORD)
        alice.send(f"OPER host :{OPER_PASSWORD}")
        await alice.expect_numeric("381", timeout_s=SCRYPT_TIMEOUT_S)
        response = b64(f"\0alice\0{ACCOUNT_PASSWORD}")
        assert response == plain("alice", ACCOUNT_PASSWORD)
        planed = await sasl_start(a.port, "al2", "PLAIN", SERVER_PASSWORD)
        planed.send(f"AUTHENTICATE {response}")
        await logged_in(planed)
        scrammed, final = await scram_login(a.port, "al3", SERVER_PASSWORD)
        bob = await connected(b.port, "bob", SERVER_PASSWORD)
        wrong = await LineClient.connect(b.port)
        wrong.send("PASS not-the-word")
        wrong.send("NICK eve")
        wrong.send("USER eve 0 * :eve")
        await wrong.expect_numeric("464")

        log = b"\n".join(
            value for _, fields in await stream(redis_server) for value in fields.values()
        )
        assert b"REGISTER" in log and b"OPER" in log and b"AUTHENTICATE" in log  # redacted
        secrets = (SERVER_PASSWORD, OPER_PASSWORD, ACCOUNT_PASSWORD, "not-the-word")
        for secret in secrets:
            assert secret.encode() not in log, secret
            assert b64(secret).encode() not in log, secret
        assert response.encode() not in log
        proof = base64.b64decode(final).decode().rpartition("p=")[2]
        assert final.encode() not in log and proof.encode() not in log

        for watcher in (bob, alice):  # both nodes: the operator and the three logins
            assert "313" in await whois(watcher, "alice")
            for nick in ("alice", "al2", "al3"):
                assert (await whois(watcher, nick))["330"][2] == "alice"
        for client in (alice, planed, scrammed, bob, wrong):
            await client.close()


def chunks_of(response: str) -> list[str]:
    """sasl-3.1: 400-byte chunks, then "+" if the last one was exactly 400 bytes."""
    chunks = [response[i : i + 400] for i in range(0, len(response), 400)]
    return [*chunks, "+"] if len(chunks[-1]) == 400 else chunks


async def test_a_long_password_in_sasl_chunks_logs_in_on_every_node_and_stays_out_of_the_log(
    cluster_node: Node, redis_server: RedisServer
) -> None:
    # 293 characters: a response of exactly 400 bytes, then "+"; 450: two chunks.
    passwords = {"long1": "x" * 286 + "-293chr", "long2": "y" * 443 + "-450chr"}
    async with cluster_node("a") as a, cluster_node("b") as b:
        bob = await connected(b.port, "bob")
        sent: list[str] = []
        for account, password in passwords.items():
            owner = await connected(a.port, account)
            owner.send(f"REGISTER * * {password}")
            done = await owner.expect("REGISTER", timeout_s=SCRYPT_TIMEOUT_S)
            assert done.params[0] == "SUCCESS", done
            response = plain(account, password)
            chunks = chunks_of(response)
            assert len(chunks) == 2 and len(chunks[0]) == 400
            client = await sasl_start(a.port, f"{account}x", "PLAIN", "")
            for chunk in chunks:
                client.send(f"AUTHENTICATE {chunk}")
            await logged_in(client)
            assert (await whois(bob, f"{account}x"))["330"][2] == account  # on node b too
            sent += [password, b64(password), response, *chunks[:-1]]
            for done_with in (owner, client):
                await done_with.close()

        log = b"\n".join(
            value for _, fields in await stream(redis_server) for value in fields.values()
        )
        assert b"AUTHENTICATE " + b64("\0long1\0*").encode() in log  # the names, redacted
        for secret in sent:
            assert secret.encode() not in log, secret
        await bob.close()
