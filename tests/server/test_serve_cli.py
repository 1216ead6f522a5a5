"""`lanchat serve` as people run it: a child process, its output, signals and start-up errors.

Spec: issue #2 "What a user does" (join addresses, the room log line, clean shutdown on SIGINT
and SIGTERM) and "Bad input and load" (port in use, bad config, unreadable data dir: one clear
line and a non-zero exit).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from tests.discovery.netns import Namespace, namespace_pair
from tests.server.clients import registered
from tests.support import (
    SERVE_READY_TIMEOUT_S,
    LineClient,
    ServerProcess,
    serve_argv,
    start_lanchat,
)

ServeProcess = Callable[..., AbstractAsyncContextManager[ServerProcess]]


async def run_to_exit(*args: str) -> tuple[int, str, str]:
    """Run `lanchat ARGS...` to completion; return (status, stdout, stderr)."""
    proc = await start_lanchat(*args)
    out, err = await asyncio.wait_for(proc.communicate(), SERVE_READY_TIMEOUT_S)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_serve_prints_join_addresses_then_ready(serve_process: ServeProcess) -> None:
    async with serve_process("--room", "#lobby", "--room", "#games") as server:
        output = server.output
        ready = output.index(f"ready: port {server.port}")
        urls = [line.strip() for line in output[:ready] if "irc://" in line]
        assert urls == [
            f"irc://127.0.0.1:{server.port}/#games",
            f"irc://127.0.0.1:{server.port}/#lobby",
        ]
        client = await LineClient.connect(server.port)
        await client.register("alice")


async def test_room_message_is_logged_once_with_the_sender_ip(serve_process: ServeProcess) -> None:
    async with serve_process() as server:
        alice = await registered(server.port, "alice", "#lobby")
        bob = await registered(server.port, "bob", "#lobby")
        alice.send("PRIVMSG bob :a private word")
        await bob.expect("PRIVMSG")
        alice.send("PRIVMSG #lobby :hello")
        await bob.expect("PRIVMSG")
        await server.wait_for_output("<127.0.0.1> alice #lobby: hello")
        assert server.output.count("<127.0.0.1> alice #lobby: hello") == 1
        assert not any("private word" in line for line in server.output)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
async def test_signal_sends_clients_error_and_exits_0(
    serve_process: ServeProcess, signum: signal.Signals
) -> None:
    async with serve_process() as server:
        alice = await LineClient.connect(server.port)
        await alice.register("alice")
        server.proc.send_signal(signum)
        got = await alice.expect_closed()
        assert got[-1].command == "ERROR"
        assert "Server shutting down" in got[-1].params[-1]
        assert await server.wait() == 0


async def test_port_in_use_is_one_line_and_nonzero_exit(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        status, _, err = await run_to_exit(*serve_argv(tmp_path, "--port", str(port)))
    assert status != 0
    assert err.splitlines() == [
        f"lanchat: error: port {port} on 127.0.0.1 is already in use (another lanchat or IRC "
        "server?); stop it or pick another port with --port"
    ]


async def test_host_that_is_not_this_machine_is_one_line(tmp_path: Path) -> None:
    status, _, err = await run_to_exit(*serve_argv(tmp_path, "--host", "203.0.113.7"))
    assert status != 0
    [line] = err.splitlines()
    assert line.startswith("lanchat: error: cannot listen on 203.0.113.7")


async def test_corrupt_database_is_one_line_and_the_file_is_untouched(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    garbage = bytes(range(256)) * 64
    (data_dir / "history.sqlite3").write_bytes(garbage)
    status, out, err = await run_to_exit(*serve_argv(data_dir))
    assert status != 0
    [line] = err.splitlines()
    assert line.startswith("lanchat: error: ")
    assert "history.sqlite3" in line
    assert "ready:" not in out
    assert (data_dir / "history.sqlite3").read_bytes() == garbage


async def test_data_dir_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    status, _, err = await run_to_exit(*serve_argv(blocker / "data"))
    assert status != 0
    [line] = err.splitlines()
    assert line.startswith("lanchat: error: ")
    assert str(blocker) in line


async def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    status, _, err = await run_to_exit(*serve_argv(tmp_path, "--config", str(missing)))
    assert status == 2
    assert err.splitlines() == [
        f"lanchat: error: config file {missing} does not exist; check the --config path"
    ]


async def test_invalid_config_value_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "lanchat.toml"
    config.write_text("[limits]\nsendq_bytes = -5\n")
    status, _, err = await run_to_exit(*serve_argv(tmp_path, "--config", str(config)))
    assert status == 2
    assert err.splitlines() == ["lanchat: error: [limits] sendq_bytes must be positive, not -5"]


@contextlib.asynccontextmanager
async def serving_in(ns: Namespace, data_dir: Path, *flags: str) -> AsyncIterator[ServerProcess]:
    """`lanchat serve --port 0 --data-dir DATA_DIR FLAGS...` in network namespace `ns`.

    Defaults otherwise (every interface, mDNS on, the web page on 8080), exactly as a person
    runs it. Waits for `ready: port N` (`server.port`); the server is stopped on exit.
    """
    proc = await asyncio.create_subprocess_exec(
        *ns.argv(sys.executable, "-m", "lanchat", "serve", "--port", "0",
                 "--data-dir", str(data_dir), *flags),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    server = ServerProcess(proc)
    try:
        ready = await server.wait_for_output(
            lambda line: line.startswith("ready: port "), SERVE_READY_TIMEOUT_S
        )
        server.port = int(ready.split()[-1])
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def serving_on_a_lan(
    data_dir: Path, *flags: str
) -> AsyncIterator[tuple[Namespace, Namespace, ServerProcess]]:
    """`serving_in` machine A of a two-machine LAN: two network namespaces joined by a veth pair.

    Yields:
        (host A, guest B, the server process); the server is stopped on exit.
    """
    with namespace_pair() as (host, guest):
        async with serving_in(host, data_dir, *flags) as server:
            yield host, guest, server


async def rooms_seen_from(guest: Namespace) -> dict[str, dict[str, Any]]:
    """What `lanchat rooms --json` run on `guest` lists: room name -> its JSON object."""
    rooms = await asyncio.create_subprocess_exec(
        *guest.argv(sys.executable, "-m", "lanchat", "rooms", "--json", "--timeout", "3"),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(rooms.communicate(), SERVE_READY_TIMEOUT_S)
    return {ad["room"]: ad for ad in map(json.loads, out.decode().splitlines())}


@pytest.mark.netns
async def test_serve_advertises_its_rooms_to_lanchat_rooms_on_the_lan(tmp_path: Path) -> None:
    flags = ("--room", "#lobby", "--room", "#games")
    async with serving_on_a_lan(tmp_path / "data", *flags) as (host, guest, server):
        port = server.port
        assert f"  irc://{host.address}:{port}/#lobby" in server.output
        seen = await rooms_seen_from(guest)
        assert sorted(seen) == ["#games", "#lobby"]
        assert seen["#lobby"]["port"] == port
        assert f"{host.address}:{port}" in seen["#lobby"]["addresses"]
        assert not seen["#lobby"]["key_required"]
        server.proc.send_signal(signal.SIGTERM)
        assert await server.wait() == 0


_BROWSE_RAW = """
import time
from zeroconf import ServiceBrowser, Zeroconf
zc, names = Zeroconf(), []
ServiceBrowser(zc, "_lanchat._tcp.local.", handlers=[lambda **kw: names.append(kw["name"])])
time.sleep(3)
zc.close()
for name in names:
    print(name)
"""


async def services_seen_from(guest: Namespace) -> list[str]:
    """The `_lanchat._tcp` instances announced on `guest`'s LAN within 3 s, reachable or not
    (`lanchat rooms` hides a room whose port does not answer)."""
    browse = await asyncio.create_subprocess_exec(
        *guest.argv(sys.executable, "-c", _BROWSE_RAW), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(browse.communicate(), SERVE_READY_TIMEOUT_S)
    return out.decode().splitlines()


@pytest.mark.netns
async def test_serve_on_loopback_is_not_advertised_and_says_so(tmp_path: Path) -> None:
    # Before #14 the room was advertised at the LAN address, where nothing listened.
    flags = ("--host", "127.0.0.1", "--room", "#lobby")
    async with serving_on_a_lan(tmp_path / "data", *flags) as (_, guest, server):
        assert await services_seen_from(guest) == []
        said = [line for line in server.output if "not advertised on the LAN" in line]
        assert said == [
            "rooms are not advertised on the LAN: the server listens only on 127.0.0.1, which "
            "nobody else can reach; use --host 0.0.0.0 to let the LAN join"
        ]


@pytest.mark.netns
async def test_serve_key_rooms_are_advertised_as_needing_a_key(tmp_path: Path) -> None:
    flags = ("--room", "#secret", "--key", "sesame")
    async with serving_on_a_lan(tmp_path / "data", *flags) as (_, guest, _server):
        seen = await rooms_seen_from(guest)
        assert seen["#secret"]["key_required"]


async def test_serve_key_rooms_reply_475_without_the_key(serve_process: ServeProcess) -> None:
    async with serve_process("--room", "#secret", "--key", "sesame") as server:
        alice = await LineClient.connect(server.port)
        await alice.register("alice")
        alice.send("JOIN #secret")
        await alice.expect_numeric("475")
        alice.send("JOIN #secret wrong")
        await alice.expect_numeric("475")
        alice.send("JOIN #secret sesame")
        await alice.expect_numeric("366")


async def test_serve_key_with_a_space_is_one_line_and_exit_2(tmp_path: Path) -> None:
    status, _, err = await run_to_exit(*serve_argv(tmp_path, "--key", "open sesame"))
    assert status == 2
    assert err.splitlines() == [
        "lanchat: error: [server] key must be at most 23 characters, without spaces, commas "
        "or a leading ':'"
    ]
