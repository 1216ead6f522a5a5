"""The multi-process load generator (benchkit.fleet, benchkit.worker) against the trivial relay.

Layer: test of the tool in scripts/benchkit (issue #4, "A load generator that is not the
bottleneck ... several processes"). Real processes, real sockets on 127.0.0.1: the relay of
benchkit.relay is started as a subprocess on a free port. No timing assertions: what is checked
is that the clients and senders really are split over the worker processes, that nothing is
lost or reordered across them, and that a worker that fails or dies becomes an exception that
says so, with no worker process left behind.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from benchkit import fleet, servers
from benchkit.loadgen import Load, SetupFailed

WINDOW = Load(n=12, senders=5, duration_s=0.3, warmup_s=0.1, window=10, drain_s=5.0)
# 4,000 messages/s x 11 recipients x 1.5 s: each of 2 workers ships ~260 KB of latencies, more
# than a socket buffer holds, so the "done" message cannot go out in one write.
PACED = Load(n=12, senders=5, duration_s=1.5, warmup_s=0.1, rate=4000, drain_s=5.0)


def _workers_alive() -> list[int]:
    """Pids of this process's live children started by multiprocessing's spawn (workers).

    Read from /proc, not from multiprocessing's own bookkeeping, which is what is under test.
    The spawn context's resource tracker is a child too, but a long-lived one by design.
    """
    me = str(os.getpid())
    kids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue  # the process exited while we looked
        if fields[1] == me and fields[0] != "Z" and b"spawn_main" in cmdline:
            kids.append(int(proc.name))
    return kids


# benchkit.relay, except that it drops every 7th PRIVMSG and sends every other 5th one after
# the message that follows it: what a broken server does, to see the generator catch it.
FAULTY_RELAY = """
import sys
from benchkit import relay

line, held, count = relay._Conn._line, [], 0

def faulty(conn, raw):
    global count
    if not raw.startswith(b"PRIVMSG "):
        return line(conn, raw)
    count += 1
    if count % 7 == 0:
        return
    if count % 5 == 0 and not held:
        held.append((conn, raw))
        return
    line(conn, raw)
    while held:
        line(*held.pop())

relay._Conn._line = faulty
relay.main()
"""


@pytest.fixture
def faulty_relay() -> Iterator[int]:
    port = servers.free_port()
    env = dict(os.environ, PYTHONPATH=str(Path(servers.__file__).parents[1]))
    proc = subprocess.Popen(
        [sys.executable, "-c", FAULTY_RELAY, str(port)], stdout=subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == f"ready: port {port}\n".encode()
        yield port
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def relay() -> Iterator[servers.Running]:
    with servers.running("relay") as srv:
        yield srv


def _cpu(srv: servers.Running) -> fleet.CpuFn:
    return lambda: servers.cpu_seconds(srv.pid)


def test_window_mode_splits_clients_over_three_workers_and_loses_nothing(
    relay: servers.Running,
) -> None:
    result = fleet.run(relay.port, WINDOW, _cpu(relay), procs=3)
    assert result["procs"] == 3
    assert result["deliveries_per_s"] > 0
    assert (result["lost"], result["reordered"], result["disconnected"]) == (0, 0, 0)
    assert result["gen_cpu_max_pct"] <= result["gen_cpu_pct"]
    assert _workers_alive() == []


def test_paced_mode_ships_and_merges_every_workers_latencies(relay: servers.Running) -> None:
    result = fleet.run(relay.port, PACED, _cpu(relay), procs=2)
    assert result["procs"] == 2
    assert (result["lost"], result["reordered"], result["disconnected"]) == (0, 0, 0)
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]


def test_more_workers_than_sender_pairs_leaves_some_workers_only_receiving(
    relay: servers.Running,
) -> None:
    load = Load(n=8, senders=1, duration_s=0.2, warmup_s=0.1, window=4, drain_s=5.0)
    result = fleet.run(relay.port, load, _cpu(relay), procs=4)
    assert result["procs"] == 4
    assert (result["lost"], result["reordered"]) == (0, 0)


def test_workers_never_outnumber_half_the_clients(relay: servers.Running) -> None:
    load = Load(n=4, senders=2, duration_s=0.2, warmup_s=0.1, rate=50, drain_s=5.0)
    result = fleet.run(relay.port, load, _cpu(relay), procs=8)
    assert result["procs"] == 2
    assert result["lost"] == 0


def test_split_cpus_gives_the_server_and_the_generator_disjoint_halves() -> None:
    mine = os.sched_getaffinity(0)
    split = fleet.split_cpus()
    if len(mine) < 2:
        assert split is None
        return
    assert split is not None
    server, generator = split
    assert server and generator
    assert server.isdisjoint(generator)
    assert server | generator == mine


def test_workers_run_on_the_cpus_they_are_pinned_to(relay: servers.Running) -> None:
    cpu = min(os.sched_getaffinity(0))
    seen: list[set[int]] = []

    def look(opening: bool) -> None:
        if opening:
            seen.extend(
                os.sched_getaffinity(w.pid)
                for w in multiprocessing.active_children()
                if w.name.startswith("loadgen-")
            )

    result = fleet.run(relay.port, WINDOW, _cpu(relay), look, procs=2, cpus={cpu})
    assert seen == [{cpu}, {cpu}]
    assert (result["lost"], result["reordered"]) == (0, 0)


def test_pin_restricts_every_thread_of_a_server() -> None:
    threaded = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import threading, time\n"
            "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
            "print('up', flush=True)\ntime.sleep(30)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert threaded.stdout is not None and threaded.stdout.readline() == b"up\n"
        cpu = min(os.sched_getaffinity(0))
        servers.pin(threaded.pid, {cpu})
        tasks = list(Path(f"/proc/{threaded.pid}/task").iterdir())
        assert len(tasks) == 2
        assert [os.sched_getaffinity(int(t.name)) for t in tasks] == [{cpu}, {cpu}]
    finally:
        threaded.kill()
        threaded.wait()


def test_worker_killed_in_the_measured_window_raises_worker_failed_and_leaves_no_process(
    relay: servers.Running,
) -> None:
    def kill_a_worker(opening: bool) -> None:
        if opening:
            os.kill(multiprocessing.active_children()[0].pid, signal.SIGKILL)

    with pytest.raises(
        fleet.WorkerFailed,
        match=r"killed by signal 9 before 'stopped' \(load generator worker \d/2\)",
    ):
        fleet.run(relay.port, WINDOW, _cpu(relay), kill_a_worker, procs=2)
    assert _workers_alive() == []


def test_nothing_listening_raises_setup_failed_naming_the_worker() -> None:
    port = servers.free_port()
    with pytest.raises(SetupFailed, match=r"setting up 6 clients failed: .* \(load generator"):
        fleet.run(port, WINDOW, lambda: 0.0, procs=2)
    assert _workers_alive() == []


def test_server_that_never_answers_fails_setup_at_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fleet, "SETUP_TIMEOUT_S", 1.0)
    with socket.create_server(("127.0.0.1", 0), backlog=64) as mute:  # never accept()s
        port = mute.getsockname()[1]
        with pytest.raises(SetupFailed, match="timed out"):
            fleet.run(port, WINDOW, lambda: 0.0, procs=2)
    assert _workers_alive() == []


def test_a_load_without_senders_is_refused_before_any_worker_starts() -> None:
    with pytest.raises(ValueError, match="at least one sender"):
        fleet.run(servers.free_port(), Load(n=4), lambda: 0.0, procs=2)
    assert _workers_alive() == []


def test_messages_a_server_drops_or_swaps_count_at_every_recipient_across_workers(
    faulty_relay: int,
) -> None:
    n = 9
    load = Load(n=n, senders=1, duration_s=0.4, warmup_s=0.1, rate=100, drain_s=2.0)
    result = fleet.run(faulty_relay, load, lambda: 0.0, procs=3)
    assert result["procs"] == 3  # the one sender's messages reach two other processes
    assert result["lost"] > 0
    assert result["lost"] % (n - 1) == 0  # a dropped message is missing at all 8 recipients
    assert result["reordered"] > 0
    assert result["reordered"] % (n - 1) == 0  # a swapped one is late at all 8


def test_websocket_clients_reach_lanchat_ws_and_lose_nothing() -> None:
    # Issue 16's comparison: the same generator speaking IRC over WebSocket to lanchat's web port.
    with servers.running("lanchat-ws") as srv:
        result = fleet.run(srv.port, replace(PACED, rate=400, websocket=True), _cpu(srv), procs=2)
    assert result["deliveries_per_s"] > 0
    assert (result["lost"], result["reordered"], result["disconnected"]) == (0, 0, 0)
    assert 0 < result["p50_ms"] <= result["p99_ms"]


def test_a_server_named_at_a_commit_runs_that_commits_lanchat_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `scripts/bench --baseline main` (issue 19): before and after a change in the same rounds.
    monkeypatch.setattr(servers, "CACHE_DIR", tmp_path)
    head = subprocess.run(
        ["git", "-C", str(servers.REPO), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    with servers.running("lanchat-asyncio@HEAD") as srv:
        environ = Path(f"/proc/{srv.pid}/environ").read_bytes().split(b"\0")
        result = fleet.run(srv.port, replace(PACED, rate=400), _cpu(srv), procs=2)
    tree = tmp_path / "baseline" / head
    assert f"PYTHONPATH={servers.REPO}/scripts:{tree}".encode() in environ
    committed = subprocess.run(
        ["git", "-C", str(servers.REPO), "show", "HEAD:lanchat/server/hub.py"],
        capture_output=True,
        text=True,
    ).stdout
    assert (tree / "lanchat" / "server" / "hub.py").read_text() == committed
    assert (result["lost"], result["reordered"], result["disconnected"]) == (0, 0, 0)


def test_a_server_named_at_an_unknown_commit_is_a_setup_error() -> None:
    with pytest.raises(servers.SetupError, match="no commit 'no-such-ref'"):
        servers.baseline_tree("no-such-ref")
