"""Who may connect (lanchat.server.admission, issue 13 item 7): by fake clock, then for real.

The last test runs `lanchat serve` with a low open-file limit (RLIMIT_NOFILE, set in the child
before it starts) and floods it with idle connections from four loopback addresses standing in
for four machines, as in the issue (1,088 idle connections from 17 addresses against 1,024).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lanchat.server.admission import (
    FULL,
    TOO_MANY_FROM_ADDRESS,
    Admission,
    Handshakes,
    Verdict,
)
from lanchat.server.hub import RESERVED_FILES
from tests.server.transcript import FakeClock
from tests.support import SERVE_READY_TIMEOUT_S, LineClient, ServerProcess, serve_argv

ADMISSION_LOG = "lanchat.server.admission"


class Registry:
    """The connections admitted so far and which have registered (ServerState's part)."""

    def __init__(self) -> None:
        self.registered: set[int] = set()  # conn ids past 001
        self.gone: set[int] = set()  # conn ids closed (evicted)
        self.address_of: dict[int, str] = {}  # conn id -> address, for admitted ones
        self.next_id = 1

    def settled(self, conn_id: int) -> bool:
        return conn_id in self.registered or conn_id in self.gone

    def admit(self, admission: Admission, address: str) -> tuple[int, Verdict]:
        conn_id = self.next_id
        self.next_id += 1
        verdict = admission.admit(conn_id, address, self.settled)
        if verdict.evict:
            self.gone.add(verdict.evict)
            admission.closed(verdict.evict, self.address_of[verdict.evict])
        if not verdict.refused:
            self.address_of[conn_id] = address
        return conn_id, verdict


def make(clock: FakeClock, **limits: int) -> Admission:
    settings = {"max_per_address": 4, "max_connections": 10, "max_unregistered": 5, **limits}
    return Admission(clock=clock, **settings)


@pytest.fixture
def registry() -> Registry:
    return Registry()


def test_connections_per_address_countermeasure_refuses_past_the_limit(
    registry: Registry,
) -> None:
    admission = make(FakeClock())
    for _ in range(4):
        assert registry.admit(admission, "10.0.0.1")[1] == Verdict()
    assert registry.admit(admission, "10.0.0.1")[1] == Verdict(refused=TOO_MANY_FROM_ADDRESS)
    assert registry.admit(admission, "10.0.0.2")[1] == Verdict()


def test_unregistered_cap_closes_the_oldest_of_the_address_holding_the_most(
    registry: Registry,
) -> None:
    admission = make(FakeClock())
    first_a, _ = registry.admit(admission, "10.0.0.1")
    registry.admit(admission, "10.0.0.2")
    for _ in range(3):
        registry.admit(admission, "10.0.0.1")
    # Five wait to register; a sixth, from a third machine, makes room at 10.0.0.1's expense.
    _, verdict = registry.admit(admission, "192.168.1.7")
    assert verdict == Verdict(evict=first_a)
    assert admission.total == 5


def test_registered_connections_leave_room_for_unregistered_ones(registry: Registry) -> None:
    admission = make(FakeClock())
    for _ in range(5):
        conn_id, _ = registry.admit(admission, f"10.0.0.{registry.next_id}")
        registry.registered.add(conn_id)
    for _ in range(5):
        assert registry.admit(admission, f"10.0.1.{registry.next_id}")[1] == Verdict()
    assert admission.total == 10


def test_a_server_full_of_registered_connections_refuses_newcomers(registry: Registry) -> None:
    admission = make(FakeClock(), max_connections=3)
    for _ in range(3):
        conn_id, _ = registry.admit(admission, f"10.0.0.{registry.next_id}")
        registry.registered.add(conn_id)
    assert registry.admit(admission, "10.0.1.1")[1] == Verdict(refused=FULL)
    admission.closed(1, "10.0.0.1")
    assert registry.admit(admission, "10.0.1.1")[1] == Verdict()


def test_full_server_with_unregistered_connections_makes_room(registry: Registry) -> None:
    admission = make(FakeClock(), max_connections=3)
    registry.admit(admission, "10.0.0.1")
    idle, _ = registry.admit(admission, "10.0.0.2")
    registry.admit(admission, "10.0.0.2")
    assert registry.admit(admission, "10.0.0.3")[1] == Verdict(evict=idle)


def test_refusals_are_logged_at_most_every_10_s_with_how_many(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=ADMISSION_LOG)
    clock = FakeClock()
    admission = make(clock, max_per_address=1)
    registry.admit(admission, "10.0.0.1")
    for _ in range(100):
        registry.admit(admission, "10.0.0.1")
    clock.advance(10.0)
    registry.admit(admission, "10.0.0.1")
    assert [r.getMessage() for r in caplog.records] == [
        "refused a connection from 10.0.0.1: it holds 1 already (max_connections_per_ip); "
        "1 refused since the last line like this",
        "refused a connection from 10.0.0.1: it holds 1 already (max_connections_per_ip); "
        "100 refused since the last line like this",
    ]


def test_handshake_cap_closes_the_oldest_stalled_one_of_the_address_holding_the_most(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=ADMISSION_LOG)
    clock = FakeClock()
    handshakes = Handshakes(max_in_flight=4, clock=clock, evictable_after_s=1.0)
    first = handshakes.begin("10.0.0.9")
    flood = [handshakes.begin("10.0.0.2") for _ in range(3)]
    assert handshakes.full
    clock.advance(0.25)
    assert handshakes.make_room() == (0, 0.75)  # all young: wait, do not cut a real burst
    clock.advance(0.75)
    assert handshakes.make_room() == (flood[0], 0.0)  # not 10.0.0.9's older one
    handshakes.end(flood[0])
    handshakes.end(first)  # done: its place is free again
    newcomer = handshakes.begin("10.0.0.3")
    handshakes.begin("10.0.0.2")
    for _ in range(50):
        clock.advance(1.0)
        victim, _ = handshakes.make_room()
        assert handshakes.in_flight[victim] == "10.0.0.2"  # the flood pays for itself
        handshakes.end(victim)
        handshakes.begin("10.0.0.2")
    assert newcomer in handshakes.in_flight and len(handshakes.in_flight) == 4
    assert [r.getMessage() for r in caplog.records][:1] == [
        "closed a TLS handshake in progress from 10.0.0.2 to make room: 4 handshakes were in "
        "progress ([tls] max_handshakes); 1 closed since the last line like this"
    ]


# ------------------------------------------------------------------ lanchat serve, few files

OPEN_FILES = 200  # soft and hard limit of the server process in the test below
ATTACKERS = [f"127.0.0.{i}" for i in range(2, 6)]  # 4 addresses x 64 connections > 200 files


@contextlib.asynccontextmanager
async def serve_with_open_files(
    data_dir: Path, soft: int, hard: int
) -> AsyncIterator[ServerProcess]:
    """`lanchat serve` whose RLIMIT_NOFILE is (soft, hard) from the start."""

    def lower_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    proc = await asyncio.create_subprocess_exec(
        *_python_lanchat(),
        *serve_argv(data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=lower_limit,
    )
    server = ServerProcess(proc)
    try:
        ready = await server.wait_for_output("ready: port ", SERVE_READY_TIMEOUT_S)
        server.port = int(ready.split()[-1])
        yield server
    finally:
        await server.stop()


def _python_lanchat() -> tuple[str, ...]:
    return (sys.executable, "-u", "-m", "lanchat")


async def test_idle_connection_flood_countermeasure_keeps_room_for_a_real_user(
    tmp_path: Path,
) -> None:
    async with serve_with_open_files(tmp_path / "data", OPEN_FILES // 2, OPEN_FILES) as server:
        await server.wait_for_output(
            f"raised the open-file limit from {OPEN_FILES // 2} to {OPEN_FILES}"
        )
        idle: list[asyncio.StreamWriter] = []
        for source in ATTACKERS:
            for _ in range(64):
                _, writer = await asyncio.open_connection(
                    "127.0.0.1", server.port, local_addr=(source, 0)
                )
                idle.append(writer)
        # Before issue 13 the server ran out of files here and took no connection for 30 s.
        person = await LineClient.connect(server.port)
        await person.register("alice")
        person.send("JOIN #lobby")
        await person.expect("JOIN")
        await server.wait_for_output("closed an unregistered connection of 127.0.0.")
        # The evictions are summed up, not logged one by one (the attacker sets their rate).
        evictions = [line for line in server.output if "register" in line]
        assert 0 < len(evictions) < 10, evictions
        budget = OPEN_FILES - RESERVED_FILES
        await server.wait_for_output(f"at most {budget} connections")
        await person.close()
        for writer in idle:
            writer.close()
