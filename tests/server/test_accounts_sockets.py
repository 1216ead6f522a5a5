"""Accounts and operators over real sockets, with the real store and the real scrypt cost.

Transcript tests of the same rules: test_accounts.py and test_operators.py.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from lanchat.passwords import ScryptParams, hash_password, verify_password
from lanchat.server.app import running_server
from tests.server.clients import registered
from tests.server.test_history import _batch
from tests.support import LineClient, serve_argv, server_config, start_lanchat

SCRYPT_TIMEOUT_S = 20.0  # a few hashes at 16 MiB each on a loaded 2-core machine


def plain(name: str, password: str) -> str:
    return base64.b64encode(f"\0{name}\0{password}".encode()).decode()


async def sasl_client(port: int, nick: str, name: str, password: str) -> tuple[LineClient, str]:
    """Connect, try SASL PLAIN as `name`, register as `nick`; return the client and 903/904."""
    client = await LineClient.connect(port)
    client.send("CAP LS 302")
    client.send(f"NICK {nick}")
    client.send(f"USER {nick} 0 * :{nick}")
    client.send("CAP REQ :sasl")
    await client.expect("CAP", lambda m: m.params[1] == "ACK")
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE")
    client.send(f"AUTHENTICATE {plain(name, password)}")
    outcome = await client.expect(lambda m: m.command in ("903", "904"), timeout_s=SCRYPT_TIMEOUT_S)
    client.send("CAP END")
    await client.expect_numeric("001")
    return client, outcome.command


async def test_registered_account_survives_a_restart_and_logs_in(tmp_path: Path) -> None:
    config = server_config(tmp_path / "data")
    async with running_server(config) as server:
        alice = await registered(server.port, "alice")
        alice.send("REGISTER * * wonderland")
        done = await alice.expect("REGISTER", timeout_s=SCRYPT_TIMEOUT_S)
        assert done.params[:2] == ("SUCCESS", "alice")
        await alice.expect_numeric("900")
        await alice.close()
    async with running_server(config) as server:
        client, outcome = await sasl_client(server.port, "alice", "alice", "wonderland")
        assert outcome == "903"
        client.send("WHOIS alice")
        assert (await client.expect_numeric("330")).params[2] == "alice"
        wrong, outcome = await sasl_client(server.port, "other", "alice", "not-it")
        assert outcome == "904"
        for c in (client, wrong):
            await c.close()


async def test_squatter_is_renamed_after_the_configured_grace(tmp_path: Path) -> None:
    config = server_config(tmp_path / "data", accounts={"nick_grace_s": 1.0})
    async with running_server(config) as server:
        owner = await registered(server.port, "alice")
        owner.send("REGISTER * * wonderland")
        await owner.expect("REGISTER", timeout_s=SCRYPT_TIMEOUT_S)
        await owner.close()
        watcher = await registered(server.port, "bob", "#lobby")
        squatter = await registered(server.port, "alice", "#lobby")
        warning = await squatter.expect("NOTICE", lambda m: "belongs to" in m.params[-1])
        assert "within 1 seconds" in warning.params[-1]
        renamed = await watcher.expect("NICK", timeout_s=5.0)
        assert renamed.source.startswith("alice!") and renamed.params[0].startswith("Guest")
        await squatter.expect("NICK")
        for c in (watcher, squatter):
            await c.close()


async def test_register_on_a_nick_in_use_is_refused(tmp_path: Path) -> None:
    async with running_server(server_config(tmp_path / "data")) as server:
        holder = await registered(server.port, "alice")
        other = await registered(server.port, "bob", caps=("standard-replies",))
        other.send("REGISTER alice * wonderland")
        fail = await other.expect("FAIL")
        assert fail.params[:2] == ("REGISTER", "ACCOUNT_NAME_MUST_BE_NICK")
        other.send("NICK alice")
        await other.expect_numeric("433")
        assert server.state.accounts == {}
        for c in (holder, other):
            await c.close()


async def test_sasl_and_oper_guessing_is_throttled_per_address(tmp_path: Path) -> None:
    opers = {"host": hash_password("open sesame", ScryptParams(log2_n=4))}
    config = server_config(tmp_path / "data", limits={"max_auth_failures": 3}, opers=opers)
    async with running_server(config) as server:
        guesser = await registered(server.port, "mallory")
        for _ in range(2):
            guesser.send("OPER host wrong")
            await guesser.expect_numeric("464", timeout_s=SCRYPT_TIMEOUT_S)
        client, outcome = await sasl_client(server.port, "m2", "nobody", "guess")
        assert outcome == "904"  # the third failure from this address
        refused, outcome = await sasl_client(server.port, "m3", "nobody", "guess")
        last = [m for m in refused.seen if m.command == "904"][-1]
        assert "too many wrong passwords" in last.params[-1]
        guesser.send("OPER host :open sesame")  # the right password, refused unchecked
        reply = await guesser.expect_numeric("464")
        assert "wait" in reply.params[-1]
        assert "o" not in server.state.find_user("mallory").modes  # type: ignore[union-attr]
        for c in (guesser, client, refused):
            await c.close()


async def test_private_history_goes_back_to_the_accounts_only(tmp_path: Path) -> None:
    caps = ("batch", "server-time", "message-tags", "draft/chathistory", "sasl")
    async with running_server(server_config(tmp_path / "data")) as server:
        for nick in ("alice", "bob"):
            c = await registered(server.port, nick)
            c.send(f"REGISTER * * {nick}-password")
            await c.expect("REGISTER", timeout_s=SCRYPT_TIMEOUT_S)
            await c.close()
        alice, _ = await sasl_client(server.port, "alice", "alice", "alice-password")
        bob, _ = await sasl_client(server.port, "bob", "bob", "bob-password")
        alice.send("PRIVMSG bob :psst")
        await bob.expect("PRIVMSG")
        await alice.close()
        await bob.close()
        # Someone else on the nick reads nothing; the account, from a new connection, does.
        squatter = await registered(server.port, "bob", caps=caps)
        squatter.send("CHATHISTORY LATEST alice * 10")
        await squatter.expect("BATCH", lambda m: m.params[0].startswith("-"))
        assert not [m for m in squatter.seen if m.command == "PRIVMSG"]
        await squatter.close()
        back, _ = await sasl_client(server.port, "bobby", "bob", "bob-password")
        back.send("CAP REQ :batch server-time message-tags draft/chathistory")
        back.send("CHATHISTORY LATEST alice * 10")
        line = await back.expect("PRIVMSG")
        assert line.params == ("bob", "psst") and line.source.startswith("alice!")
        await back.close()


async def test_private_search_and_redact_reach_the_accounts_conversation(tmp_path: Path) -> None:
    caps = ("batch", "message-tags", "echo-message", "soju.im/search", "draft/message-redaction")
    async with running_server(server_config(tmp_path / "data")) as server:
        alice = await registered(server.port, "alice", caps=caps)
        bob = await registered(server.port, "bob", caps=caps)
        for client in (alice, bob):
            client.send("REGISTER * * secret-words")
            await client.expect_numeric("900", timeout_s=SCRYPT_TIMEOUT_S)
        alice.send("PRIVMSG bob :my password is hunter2")
        sent = (await alice.expect("PRIVMSG")).tags["msgid"]
        await bob.expect("PRIVMSG")
        _, hits = await _batch(bob, "SEARCH in=alice;text=hunter2")
        assert [m.tags["msgid"] for m in hits] == [sent]
        alice.send(f"REDACT bob {sent}")
        for client in (alice, bob):
            assert (await client.expect("REDACT")).params == ("bob", sent)
        _, hits = await _batch(bob, "SEARCH in=alice;text=hunter2")
        assert hits == []
        for client in (alice, bob):
            await client.close()


async def test_kill_over_sockets_closes_the_victim(tmp_path: Path) -> None:
    opers = {"host": hash_password("open sesame", ScryptParams(log2_n=4))}
    async with running_server(server_config(tmp_path / "data", opers=opers)) as server:
        op = await registered(server.port, "op")
        victim = await registered(server.port, "victim")
        op.send("OPER host :open sesame")
        await op.expect_numeric("381")
        op.send("KILL victim :bye")
        got = await victim.expect_closed()
        assert got[-1].to_line() == "ERROR :Closing Link: 127.0.0.1 (Killed (op (bye)))"
        await op.close()


async def test_kill_9_during_a_registration_storm_leaves_whole_accounts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = await start_lanchat(*serve_argv(data))
    assert proc.stdout is not None
    port = 0
    while not port:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        if line.startswith("ready: port "):
            port = int(line.split()[-1])
    clients = [await registered(port, f"user{i}") for i in range(30)]
    for i, c in enumerate(clients):
        c.send(f"REGISTER * * password-{i}")

    async def confirmed(i: int, client: LineClient) -> int:
        await client.expect("REGISTER", timeout_s=60.0)
        return i

    # Kill it in the middle: once a few accounts are confirmed, while the rest wait for scrypt.
    waiting = [asyncio.ensure_future(confirmed(i, c)) for i, c in enumerate(clients)]
    succeeded: set[str] = set()
    for next_done in asyncio.as_completed(waiting):
        succeeded.add(f"user{await next_done}")
        if len(succeeded) == 5:
            break
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    for task in waiting:
        task.cancel()
    with sqlite3.connect(data / "history.sqlite3") as db:
        rows = db.execute("SELECT key, name, password_hash FROM accounts").fetchall()
    stored = {key for key, _, _ in rows}
    assert succeeded <= stored  # every confirmed account was durable before it was shown
    assert len(stored) < len(clients)  # the kill came before the storm was over
    for key, name, hashed in rows:
        assert verify_password(f"password-{key[4:]}", hashed), name
    for c in clients:
        await c.close()


async def test_the_raw_line_log_hides_passwords(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lanchat.server.connection")
    async with running_server(server_config(tmp_path / "data"), debug=True) as server:
        client = await registered(server.port, "alice", caps=("sasl",))
        client.send("@label=x OPER host :secret-one")
        await client.expect_numeric("491")
        client.send("REGISTER * * secret-two")
        await client.expect("REGISTER", timeout_s=SCRYPT_TIMEOUT_S)
        client.send("AUTHENTICATE PLAIN")
        await client.expect_numeric("907")
        client.send("PRIVMSG alice :not a secret")
        await client.expect("PRIVMSG")
        await client.close()
    logged = caplog.text
    assert "secret-one" not in logged and "secret-two" not in logged
    assert "@label=x OPER <hidden>" in logged and "REGISTER <hidden>" in logged
    assert "not a secret" in logged
