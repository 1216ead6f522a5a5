"""The running server (lanchat.server.app): start-up order, rooms kept across restarts, the join
addresses people are shown, and rooms advertised over real mDNS as they change.

Spec: issue #2 "What a user does", "History and durability" and "Discovery".
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lanchat.errors import ConfigError, StoreError
from lanchat.server.app import advertised_interfaces, join_urls, running_server
from tests.discovery.netns import Agent, Namespace, host_link
from tests.server.clients import registered
from tests.support import DEFAULT_TIMEOUT_S, LineClient, run_serve_process, server_config


async def test_running_server_listens_on_a_free_port_with_the_configured_rooms(
    tmp_path: Path,
) -> None:
    config = server_config(tmp_path / "data", server={"rooms": ["#lobby", "#Games"]})
    async with running_server(config) as server:
        assert server.port != 0
        assert sorted(server.state.room_keys()) == ["#games", "#lobby"]
        client = await LineClient.connect(server.port)
        await client.register("alice")


async def test_listen_backlog_takes_a_lan_party_connecting_at_once(tmp_path: Path) -> None:
    # asyncio's create_server listens again with its own backlog (100 by default); a room of
    # hundreds connecting at once would then see dropped and reset connections.
    async with running_server(server_config(tmp_path / "data")) as server:
        ss = ["ss", "--listening", "--tcp", "--numeric", "--no-header"]
        listing = subprocess.run(
            [*ss, f"sport = :{server.port}"], capture_output=True, text=True, check=True
        )
        (line,) = listing.stdout.splitlines()
        backlog = int(line.split()[2])  # Send-Q of a listening socket: its backlog
        somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
        assert backlog == min(4096, somaxconn)


async def test_rooms_and_their_topics_are_restored_after_a_restart(tmp_path: Path) -> None:
    config = server_config(tmp_path / "data")
    async with running_server(config) as server:
        alice = await registered(server.port, "alice", "#lobby", "#side")
        alice.send("TOPIC #side :kept across restarts")
        await alice.expect("TOPIC")
    async with running_server(config) as server:
        room = server.state.find_room("#side")
        assert room is not None
        assert (room.name, room.topic, room.members) == ("#side", "kept across restarts", {})


async def test_messages_are_kept_across_a_clean_shutdown(tmp_path: Path) -> None:
    config = server_config(tmp_path / "data")
    caps = ("batch", "draft/chathistory", "server-time", "message-tags")
    async with running_server(config) as server:
        alice = await registered(server.port, "alice", "#lobby")
        alice.send("".join(f"PRIVMSG #lobby :last words {i}\r\n" for i in range(10)))
        alice.send("PING :handled")
        await alice.expect("PONG")  # the server has read all ten; now stop at once
    assert (await alice.expect_closed())[-1].command == "ERROR"
    async with running_server(config) as server:
        bob = await registered(server.port, "bob", "#lobby", caps=caps)
        bob.send("CHATHISTORY LATEST #lobby * 50")
        await bob.expect("BATCH")
        texts = [(await bob.expect("PRIVMSG")).params[1] for _ in range(10)]
        assert texts == [f"last words {i}" for i in range(10)]


async def test_corrupt_database_stops_start_up_with_store_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "history.sqlite3").write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StoreError, match=r"history\.sqlite3"):
        async with running_server(server_config(data_dir)):
            raise AssertionError("the server started on a corrupt database")


async def test_port_in_use_is_a_config_error_naming_the_port(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        config = server_config(tmp_path / "data", server={"port": port})
        with pytest.raises(ConfigError, match=f"port {port} on 127.0.0.1 is already in use"):
            async with running_server(config):
                raise AssertionError("two servers on one port")


def test_join_urls_for_a_specific_address_show_that_address() -> None:
    assert join_urls("127.0.0.1", 6667, ["#lobby", "#games"]) == [
        "irc://127.0.0.1:6667/#lobby",
        "irc://127.0.0.1:6667/#games",
    ]
    assert join_urls("::1", 7000, ["#lobby"]) == ["irc://[::1]:7000/#lobby"]


def _join_urls_in(ns: Namespace, host: str) -> list[str]:
    code = f"from lanchat.server.app import join_urls; print(*join_urls({host!r}, 6667, ['#x']))"
    done = subprocess.run(
        ns.argv(sys.executable, "-c", code), capture_output=True, text=True, check=True
    )
    return done.stdout.split()


@pytest.mark.netns
def test_join_urls_for_every_interface_list_lan_addresses_not_loopback() -> None:
    with host_link() as (_, ns):
        assert _join_urls_in(ns, "0.0.0.0") == [f"irc://{ns.address}:6667/#x"]
        subprocess.run(
            ["ip", "-n", ns.name, "addr", "add", "fd42::7/64", "dev", "lc0", "nodad"], check=True
        )
        assert _join_urls_in(ns, "::") == [
            f"irc://{ns.address}:6667/#x",
            "irc://[fd42::7]:6667/#x",
        ]


@pytest.mark.netns
def test_join_urls_fall_back_to_loopback_on_a_machine_without_a_network() -> None:
    lonely = Namespace(f"lc-edge-{os.getpid()}", "")
    subprocess.run(["ip", "netns", "add", lonely.name], check=True)
    try:
        subprocess.run(["ip", "-n", lonely.name, "link", "set", "lo", "up"], check=True)
        assert _join_urls_in(lonely, "0.0.0.0") == ["irc://127.0.0.1:6667/#x"]
    finally:
        subprocess.run(["ip", "netns", "delete", lonely.name], check=True)


@pytest.mark.parametrize(
    ("bound", "interfaces", "advertised"),
    [
        ("0.0.0.0", (), ()),
        ("::", ("10.0.0.5",), ("10.0.0.5",)),
        ("10.0.0.5", (), ("10.0.0.5",)),
        ("10.0.0.5", ("10.0.0.5", "10.1.0.5"), ("10.0.0.5",)),
    ],
)
def test_rooms_are_advertised_only_on_the_address_the_server_listens_on(
    bound: str, interfaces: tuple[str, ...], advertised: tuple[str, ...]
) -> None:
    assert advertised_interfaces(bound, interfaces) == advertised


@pytest.mark.parametrize(
    ("bound", "interfaces", "why"),
    [
        ("127.0.0.1", (), "127.0.0.1, which nobody else can reach; use --host 0.0.0.0"),
        ("::1", (), "::1, which nobody else can reach"),
        ("10.0.0.5", ("10.1.0.5",), "10.0.0.5, which is not in [discovery] interfaces"),
    ],
)
def test_no_lan_address_left_to_advertise_is_said_in_one_line(
    bound: str, interfaces: tuple[str, ...], why: str
) -> None:
    said = advertised_interfaces(bound, interfaces)
    assert isinstance(said, str)
    assert said.startswith("rooms are not advertised on the LAN: the server listens only on ")
    assert why in said
    assert "\n" not in said


@pytest.mark.netns
async def test_rooms_are_advertised_updated_and_withdrawn_over_mdns(tmp_path: Path) -> None:
    with host_link() as (host_address, ns):
        config = server_config(
            tmp_path / "data",
            server={"host": host_address},
            discovery={
                "enabled": True,
                "interfaces": [host_address],
                "txt_update_min_interval_s": 0.2,
            },
        )
        browser = await Agent.start(ns, "browse")
        try:
            await browser.expect("ready")
            async with running_server(config) as server:
                lobby = await browser.expect("added", lambda e: e["ad"]["room"] == "#lobby")
                assert (lobby["ad"]["port"], lobby["ad"]["users"]) == (server.port, 0)
                alice = await registered(server.port, "alice", "#lobby", host=host_address)
                await browser.expect(
                    "updated", lambda e: e["ad"]["room"] == "#lobby" and e["ad"]["users"] == 1
                )
                alice.send("MODE #lobby +s")  # secret rooms are not advertised
                await browser.expect("removed", lambda e: e["ad"]["room"] == "#lobby")
                alice.send("JOIN #pop-up")
                await browser.expect("added", lambda e: e["ad"]["room"] == "#pop-up")
                alice.send("RENAME #pop-up #party")  # issue 18: the LAN sees the new name
                await browser.expect("removed", lambda e: e["ad"]["room"] == "#pop-up")
                await browser.expect("added", lambda e: e["ad"]["room"] == "#party")
                alice.send("PART #party")  # the last one out closes the room
                await browser.expect("removed", lambda e: e["ad"]["room"] == "#party")
                alice.send("MODE #lobby -s")
                await browser.expect("added", lambda e: e["ad"]["room"] == "#lobby")
            # Shutdown withdraws the rooms: they disappear without waiting for a TTL.
            await browser.expect("removed", lambda e: e["ad"]["room"] == "#lobby")
        finally:
            await browser.close()


@pytest.mark.parametrize("fsync", [True, False])
async def test_store_fsync_setting_decides_whether_each_commit_is_fsynced(
    tmp_path: Path, fsync: bool
) -> None:
    # [store] fsync = true must reach SQLite (synchronous=FULL: the WAL is synced at every
    # commit); by default a commit survives kill -9 without an fsync. Seen from outside with
    # strace on the running `lanchat serve`.
    config = tmp_path / "lanchat.toml"
    config.write_text(f"[store]\nfsync = {str(fsync).lower()}\n")
    trace = tmp_path / "syncs.txt"
    async with run_serve_process(tmp_path / "data", "--config", str(config)) as server:
        strace = await asyncio.create_subprocess_exec(
            *("strace", "--follow-forks", "--decode-fds=path", "--output", str(trace)),
            *("--trace=fsync,fdatasync", "--attach", str(server.proc.pid)),
            stderr=asyncio.subprocess.PIPE,
        )
        assert strace.stderr is not None
        try:
            # "strace: Process N attached with M threads": from now on every sync is seen.
            attached = await asyncio.wait_for(strace.stderr.readline(), DEFAULT_TIMEOUT_S)
            assert b"attached" in attached
            alice = await registered(server.port, "alice", "#lobby")
            for i in range(3):
                alice.send(f"PRIVMSG #lobby :commit {i}")
                alice.send(f"PING :{i}")  # answered once the message is committed
                await alice.expect("PONG")
        finally:
            strace.terminate()  # detaches; the server runs on
            await strace.wait()
    wal_syncs = [line for line in trace.read_text().splitlines() if "-wal>" in line]
    assert (len(wal_syncs) >= 3) if fsync else (wal_syncs == [])
