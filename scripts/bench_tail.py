"""Where a scenario's tail comes from (issue 19): the scenario's load, with probes.

Runs lanchat in a child process as `lanchat serve` runs it (the same config as scripts/bench,
switch interval, uvloop or the standard loop), with probes, under the load of scripts/bench's
latency scenario (200 clients in one room, 20 senders, 200 messages/s in all, one generator
process pinned apart from the server) or, with --scenario bigroom, its big room (2,000 clients,
20 senders, 100 messages/s, fleet.default_procs() generator processes, nothing pinned):

- loop lag: a task that sleeps 1 ms and records how late each wake-up is (a callback that
  holds the loop, a stalled process or a descheduled one all show here);
- garbage collection: gc.callbacks time every collection, those of generation 2 apart ("gc2");
- the stages of every message: from the first record of a persist batch (read off a socket,
  Hub._persist) to its hand-off to the writer thread ("read"); from the hand-off to its
  commit arriving back on the loop (Hub._commit -> Hub._committed: "commit"), made of the
  writer thread picking it up ("pickup"), the SQLite transaction there (HistoryDB.append:
  the inserts, the commit, and any WAL checkpoint it runs: "sqlite") and the result's way
  back to a loop callback ("back"); from there to the end of the pass that wrote it
  ("shown"); then a pass's bytes from the first queued to the last written (Delivery:
  on_busy -> on_pass_end: "pass"), and the flush alone (Delivery._flush: "flush").

Only the measured window counts (the generator's hook signals the child). The size of the
WAL file at the end says whether the checkpoints kept up (SQLite restarts the WAL only after a
checkpoint caught up with every commit). Prints the clients' p50/p99/max, then each probe's
p50, p99, max and how many samples passed 1, 5 and 10 ms, and the machine's load average.

Usage:
    .venv/bin/python scripts/bench_tail.py [--loop asyncio|uvloop] [--scenario latency|bigroom]
        [--runs 3] [--duration 10] [--baseline REF] [--quick]

With --baseline, every run probes this tree's lanchat and then the lanchat of commit REF
(servers.baseline_tree), so the two see the same moments of a shared machine.

Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import fleet, servers
from benchkit.loadgen import Load

LOAD = Load(n=200, senders=20, rate=200, warmup_s=1.0, drain_s=10.0)  # scripts/bench's latency
QUICK = Load(n=20, senders=4, rate=100, duration_s=0.3, warmup_s=0.1, drain_s=3.0)
BIGROOM = Load(n=2000, senders=20, rate=100, warmup_s=1.0, drain_s=10.0)  # and its big room
PROBES = (
    *("loop_lag", "gc", "gc2", "read", "commit", "pickup", "sqlite", "back", "shown"),
    *("pass", "flush"),
)


class Probes:
    """The child's measurements, in ms, kept only while `on` (the measured window)."""

    def __init__(self) -> None:
        self.on = False
        self.samples: dict[str, list[float]] = {name: [] for name in PROBES}

    def add(self, name: str, seconds: float) -> None:
        if self.on:
            self.samples[name].append(seconds * 1000)

    async def loop_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(0.001)
            self.add("loop_lag", loop.time() - t0 - 0.001)

    def install(self, hub: Any) -> None:
        """Time gc, a batch's stages and the pass's writes.

        The hub's and the delivery's instance attributes are wrapped, and Delivery._flush on
        its class (its instances are slotted): in this child process only.
        """
        started: dict[str, float] = {}

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                started["gc"] = time.perf_counter()
            elif "gc" in started:
                took = time.perf_counter() - started.pop("gc")
                self.add("gc2" if info["generation"] == 2 else "gc", took)

        gc.callbacks.append(on_gc)
        commit, committed = hub._commit, hub._committed
        handed: list[float] = []  # hand-off times of the batches in flight, oldest first
        # (start, end) of each SQLite transaction on the writer thread, oldest first; one may
        # hold several hand-offs (the writer takes every job waiting).
        transactions: deque[tuple[float, float]] = deque()

        persist = hub._persist
        opened: list[float] = []  # when the batch being collected got its first record

        def timed_persist(record: Any) -> None:
            if hub._batch is None:
                opened.append(time.perf_counter())
            persist(record)

        def timed_commit() -> None:
            if hub._batch is None:
                return  # handed over already (Hub._committed does so)
            now = time.perf_counter()
            if opened:
                self.add("read", now - opened.pop())
            handed.append(now)
            commit()

        def timed_committed(barrier: Any, future: Any) -> None:
            now, given = time.perf_counter(), handed.pop(0)
            self.add("commit", now - given)
            while transactions and transactions[0][0] < given:
                transactions.popleft()  # started before this hand-off: not its transaction
            if transactions:
                start, end = transactions[0]
                self.add("pickup", start - given)
                self.add("back", now - end)
            released.append(now)
            committed(barrier, future)

        released: list[float] = []  # batches committed whose messages are not written yet
        hub._persist, hub._commit, hub._committed = timed_persist, timed_commit, timed_committed
        write_db = hub.store._write_db
        append = write_db.append

        def timed_append(records: Any) -> None:  # the writer thread
            t0 = time.perf_counter()
            try:
                append(records)
            finally:
                t1 = time.perf_counter()
                transactions.append((t0, t1))
                self.add("sqlite", t1 - t0)

        write_db.append = timed_append
        delivery = hub.delivery
        busy, pass_end = delivery._on_busy, delivery._on_pass_end

        def timed_busy() -> None:
            started["pass"] = time.perf_counter()
            busy()

        def timed_pass_end() -> None:
            now = time.perf_counter()
            if "pass" in started:
                self.add("pass", now - started.pop("pass"))
            for t in released:
                self.add("shown", now - t)
            released.clear()
            pass_end()

        delivery._on_busy, delivery._on_pass_end = timed_busy, timed_pass_end
        flush = type(delivery)._flush

        def timed_flush(instance: Any) -> None:
            t0 = time.perf_counter()
            flush(instance)
            self.add("flush", time.perf_counter() - t0)

        type(delivery)._flush = timed_flush  # a slotted class: its method, in this child only


async def _serve_probed(conf: Path, port: int, data: Path, stats: Path) -> None:
    from lanchat import config as config_mod
    from lanchat.server.app import running_server

    overrides = {
        "server": {"host": "127.0.0.1", "port": port},
        "store": {"data_dir": str(data)},
        "discovery": {"enabled": False},
        "tls": {"enabled": False},
    }
    config = config_mod.load(conf, overrides)
    probes = Probes()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, lambda: setattr(probes, "on", True))
    wal = config.store.db_path.with_name(config.store.db_path.name + "-wal")
    wal_bytes = [0]

    def window_closed() -> None:
        probes.on = False
        wal_bytes[0] = wal.stat().st_size if wal.exists() else 0

    loop.add_signal_handler(signal.SIGUSR2, window_closed)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with running_server(config) as server:
        probes.install(server.hub)
        lag = asyncio.create_task(probes.loop_lag())
        print(f"ready: port {port}", flush=True)
        await stop.wait()
        lag.cancel()
    stats.write_text(json.dumps({**probes.samples, "wal_bytes": wal_bytes[0]}))


def child(argv: list[str]) -> int:
    """The probed server: CONF PORT DATA STATS LOOP."""
    from lanchat.server.app import SWITCH_INTERVAL_S

    conf, port, data, stats, loop_name = argv
    sys.setswitchinterval(SWITCH_INTERVAL_S)  # as `lanchat serve` does
    factory = asyncio.new_event_loop
    if loop_name == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve_probed(Path(conf), int(port), Path(data), Path(stats)))
    return 0


def _summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    over = [sum(v > bound for v in values) for bound in (1, 5, 10)]
    return (
        f"n={len(values)} p50={statistics.median(values):.2f} p99={p99:.2f} "
        f"max={ordered[-1]:.2f} ms; over 1/5/10 ms: {over[0]}/{over[1]}/{over[2]}"
    )


def one_run(
    loop_name: str, load: Load, procs: int = 1, code: Path = servers.REPO
) -> dict[str, Any]:
    """Start the probed server, run `load` against it, return both sides.

    With one generator process (the latency scenario) the server and the generator are pinned
    to CPUs of their own, as scripts/bench does; with more (the big room), nothing is pinned.
    The server runs the `lanchat` package found in `code` (servers.baseline_tree for a commit).
    """
    with tempfile.TemporaryDirectory(prefix="bench-tail-") as tmpname:
        tmp = Path(tmpname)
        port = servers.free_port()
        conf = servers.lanchat_config(tmp, port)
        data = tmp / "data"
        data.mkdir()
        stats = tmp / "stats.json"
        env = dict(os.environ, PYTHONPATH=f"{servers.REPO}/scripts:{code}")
        argv = [str(conf), str(port), str(data), str(stats), loop_name]
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", *argv], stdout=subprocess.PIPE, env=env
        )
        try:
            assert proc.stdout is not None
            if proc.stdout.readline() != f"ready: port {port}\n".encode():
                raise SystemExit("the probed server did not start")
            split = fleet.split_cpus() if procs == 1 else None
            if split is not None:
                servers.pin(proc.pid, split[0])

            def hook(opening: bool) -> None:
                proc.send_signal(signal.SIGUSR1 if opening else signal.SIGUSR2)

            result = fleet.run(
                port,
                load,
                lambda: servers.cpu_seconds(proc.pid),
                hook,
                procs,
                split[1] if split else None,
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        result["loadavg_1m"] = os.getloadavg()[0]
        result["probes"] = json.loads(stats.read_text())
        result["wal_mib"] = result["probes"].pop("wal_bytes") / 2**20
        return result


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        return child(sys.argv[2:])
    p = argparse.ArgumentParser(prog="scripts/bench_tail.py", description=__doc__.split("\n")[0])
    p.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    p.add_argument(
        "--scenario",
        choices=("latency", "bigroom"),
        default="latency",
        help="the load of scripts/bench's scenario (bigroom: 2,000 clients, fleet.default_procs())",
    )
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--quick", action="store_true", help="20 clients, 0.3 s, 1 run: it works")
    p.add_argument(
        "--baseline",
        metavar="REF",
        help="also probe the lanchat of git commit REF (e.g. main), alternating run by run",
    )
    args = p.parse_args()
    full = BIGROOM if args.scenario == "bigroom" else LOAD
    load = QUICK if args.quick else replace(full, duration_s=args.duration)
    procs = fleet.default_procs() if args.scenario == "bigroom" else 1
    codes = [("", servers.REPO)]
    if args.baseline:
        codes.append((f"@{args.baseline}", servers.baseline_tree(args.baseline)))
    for run in range(1 if args.quick else args.runs):
        for name, code in codes:
            _report(run, f"{args.loop}{name}", one_run(args.loop, load, procs, code))
    return 0


def _report(run: int, what: str, r: dict[str, Any]) -> None:
    print(
        f"run {run + 1} ({what}, load average {r['loadavg_1m']:.1f}): clients "
        f"p50={r['p50_ms']:.2f} p99={r['p99_ms']:.2f} max={r['max_ms']:.2f} ms, "
        f"lost/reordered {r['lost']}/{r['reordered']}, "
        f"server CPU {r['cpu_us_per_delivery']:.2f} µs/delivery, WAL {r['wal_mib']:.1f} MiB"
    )
    for name in PROBES:
        print(f"  {name:8} {_summary(r['probes'][name])}")


if __name__ == "__main__":
    sys.exit(main())
