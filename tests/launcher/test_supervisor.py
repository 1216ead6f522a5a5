"""Hosting rooms as `lanchat serve` child processes (lanchat.launcher.supervisor).

These start the real server on 127.0.0.1 (no mDNS: discovery is tested end to end in
tests/gui/test_end_to_end.py) and talk IRC to it over a real socket; the rooms that must end
with their launcher are watched over real mDNS from a network namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanchat.errors import ConfigError
from lanchat.launcher.supervisor import (
    RoomFailed,
    RoomReady,
    RoomStopped,
    Supervisor,
    SupervisorEvent,
)
from tests.discovery.netns import REPO, Agent, host_link
from tests.support import LineClient, free_port

START_TIMEOUT_S = 20.0
STAND_IN = Path(__file__).with_name("stand_in.py")


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    sup = Supervisor(data_root=tmp_path / "hosted", serve_args=["--host", "127.0.0.1", "--no-mdns"])
    yield sup
    sup.stop_all()


def next_event(sup: Supervisor, timeout_s: float = START_TIMEOUT_S) -> SupervisorEvent:
    try:
        return sup.events.get(timeout=timeout_s)
    except queue.Empty:
        raise AssertionError(f"no supervisor event within {timeout_s}s") from None


def irc_lines(port: int, *lines: str, until: str) -> list[str]:
    """Send `lines` to the server and read until a line containing `until`."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall("".join(f"{line}\r\n" for line in lines).encode())
        got, buf = [], b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return got
            buf += chunk
            *done, buf = buf.split(b"\r\n")
            got += [d.decode() for d in done]
            if any(until in d for d in got):
                return got


def test_started_room_reports_ready_and_serves_irc(supervisor: Supervisor) -> None:
    hosted = supervisor.start("#party")
    event = next_event(supervisor)
    assert event == RoomReady(hosted)
    assert hosted.port > 0 and hosted.state == "running"
    assert supervisor.hosted() == [hosted]
    assert hosted.join_addresses() == [f"127.0.0.1:{hosted.port}"]
    assert hosted.join_address("pc") == f"127.0.0.1:{hosted.port}"
    got = irc_lines(hosted.port, "NICK amy", "USER amy 0 * :Amy", "JOIN #party", until=" 366 ")
    assert any(" JOIN " in line and "#party" in line for line in got)


def test_room_keeps_its_addresses_after_much_output(supervisor: Supervisor) -> None:
    hosted = supervisor.start("#party")
    assert isinstance(next_event(supervisor), RoomReady)
    addresses, [url] = hosted.join_addresses(), hosted.web_urls()
    assert addresses == [f"127.0.0.1:{hosted.port}"] and url.startswith("http://127.0.0.1:")
    # The server logs every room message: far more lines than the launcher keeps. A message
    # that looks like a join URL is not one of the room's addresses.
    said = [f"hello {i}" for i in range(40)] + ["see irc://10.9.9.9:6667/ and http://10.9.9.9:1/"]
    irc_lines(
        hosted.port,
        "NICK amy",
        "USER amy 0 * :Amy",
        "JOIN #party",
        *(f"PRIVMSG #party :{text}" for text in said),
        "PING :done",
        until="PONG",
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not any("10.9.9.9" in line for line in list(hosted.output)):
        assert time.monotonic() < deadline, list(hosted.output)
        time.sleep(0.05)
    assert not any("ready: port" in line for line in hosted.output)  # the banner is gone
    assert (hosted.join_addresses(), hosted.web_urls()) == (addresses, [url])


def test_stopped_room_reports_an_expected_exit(supervisor: Supervisor) -> None:
    hosted = supervisor.start("#party")
    assert isinstance(next_event(supervisor), RoomReady)
    supervisor.stop(hosted)
    event = next_event(supervisor)
    assert isinstance(event, RoomStopped) and event.expected
    assert hosted.state == "stopped"
    assert supervisor.hosted() == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", hosted.port), timeout=2).close()


def test_room_started_on_a_port_in_use_fails_in_plain_words(supervisor: Supervisor) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        hosted = supervisor.start("#party", port=blocker.getsockname()[1])
        event = next_event(supervisor)
    assert isinstance(event, RoomFailed)
    assert event.hosted is hosted and hosted.state == "failed"
    assert event.reason.startswith("#party could not start: ")
    assert "Traceback" not in event.reason


def test_room_with_a_key_refuses_joins_without_it(supervisor: Supervisor) -> None:
    hosted = supervisor.start("#secret", key="hunter2", port=free_port())
    assert isinstance(next_event(supervisor), RoomReady)
    got = irc_lines(hosted.port, "NICK amy", "USER amy 0 * :Amy", "JOIN #secret", until=" 475 ")
    assert any(" 475 " in line for line in got)
    got = irc_lines(
        hosted.port, "NICK bo", "USER bo 0 * :Bo", "JOIN #secret hunter2", until=" 366 "
    )
    assert any(" 366 " in line for line in got)


def test_room_key_is_kept_off_the_command_line(supervisor: Supervisor) -> None:
    hosted = supervisor.start("#secret", key="hunter2")
    assert isinstance(next_event(supervisor), RoomReady)
    assert hosted.process is not None
    argv = Path(f"/proc/{hosted.process.pid}/cmdline").read_bytes().split(b"\0")
    assert b"hunter2" not in argv  # anyone on the machine can read argv with `ps`
    config = hosted.data_dir / "room.toml"
    assert config.stat().st_mode & 0o077 == 0
    assert "hunter2" in config.read_text()


def test_room_restarted_with_another_key_takes_the_new_one(supervisor: Supervisor) -> None:
    hosted = supervisor.start("#secret", key="old")
    assert isinstance(next_event(supervisor), RoomReady)
    supervisor.stop(hosted)
    assert isinstance(next_event(supervisor), RoomStopped)
    hosted = supervisor.start("#secret", key="new")
    assert isinstance(next_event(supervisor), RoomReady)
    got = irc_lines(hosted.port, "NICK amy", "USER amy 0 * :Amy", "JOIN #secret old", until=" 475 ")
    assert any(" 475 " in line for line in got)


@pytest.mark.parametrize("key", ["open sesame", "a,b", "k" * 24])
def test_unusable_key_is_refused_before_any_server_starts(supervisor: Supervisor, key: str) -> None:
    with pytest.raises(ConfigError, match="The room key must be at most 23 characters"):
        supervisor.start("#secret", key=key)
    assert supervisor.hosted() == []


def test_stop_all_waits_for_every_room(supervisor: Supervisor) -> None:
    rooms = [supervisor.start(name) for name in ("#a", "#b")]
    for _ in rooms:
        assert isinstance(next_event(supervisor), RoomReady)
    supervisor.stop_all()
    assert all(h.process is not None and h.process.poll() is not None for h in rooms)
    assert supervisor.hosted() == []


@pytest.mark.parametrize(
    ("room", "port", "result"),
    [("lobby", "", ("#lobby", 0)), ("#dev", " 7000 ", ("#dev", 7000))],
)
def test_validate_accepts_names_and_ports(
    tmp_path: Path, room: str, port: str, result: tuple[str, int]
) -> None:
    assert Supervisor(data_root=tmp_path).validate(room, port) == result


@pytest.mark.parametrize(
    ("room", "port", "message"),
    [
        ("", "", "Type a room name like #lobby"),
        ("two words", "", "Type a room name like #lobby"),
        ("#ok", "http", "The port must be a number from 1 to 65535"),
        ("#ok", "70000", "The port must be a number from 1 to 65535"),
    ],
)
def test_validate_explains_bad_input(tmp_path: Path, room: str, port: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Supervisor(data_root=tmp_path).validate(room, port)


def test_validate_refuses_a_room_already_hosted(supervisor: Supervisor) -> None:
    supervisor.start("#party")
    with pytest.raises(ConfigError, match="#Party is already hosted here"):
        supervisor.validate("#Party", "")


async def exited(pid: int, timeout_s: float = START_TIMEOUT_S) -> None:
    """Wait until process `pid` (not our child) has exited: its pidfd becomes readable."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    gone = loop.create_future()
    loop.add_reader(fd, gone.set_result, None)
    try:
        await asyncio.wait_for(gone, timeout_s)
    finally:
        loop.remove_reader(fd)
        os.close(fd)


@pytest.mark.netns
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
async def test_rooms_stop_cleanly_however_the_launcher_ends(
    tmp_path: Path, signum: signal.Signals
) -> None:
    # Before #14 the room kept running, orphaned and still advertised.
    with host_link() as (host_address, guest):
        # Probes so rare that only the room's goodbye packets can remove it.
        browser = await Agent.start(guest, "browse", "--probe-interval", "600")
        launcher = await asyncio.create_subprocess_exec(
            sys.executable, str(STAND_IN), str(tmp_path), host_address,
            stdout=asyncio.subprocess.PIPE, cwd=REPO,
        )  # fmt: skip
        serve_pid = 0
        try:
            await browser.expect("ready")
            assert launcher.stdout is not None
            room = json.loads(await asyncio.wait_for(launcher.stdout.readline(), START_TIMEOUT_S))
            serve_pid = room["pid"]
            await browser.expect("added", lambda e: e["ad"]["room"] == "#party")
            alice = await LineClient.connect(room["port"], host=host_address)
            await alice.register("alice")
            launcher.send_signal(signum)
            assert await launcher.wait() == -signum
            got = await alice.expect_closed()
            assert got[-1].command == "ERROR" and "Server shutting down" in got[-1].params[-1]
            await browser.expect("removed", lambda e: e["ad"]["room"] == "#party")
            await exited(serve_pid)
        finally:
            with contextlib.suppress(ProcessLookupError):
                launcher.kill()
            await launcher.wait()
            if serve_pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(serve_pid, signal.SIGKILL)
            await browser.close()
