"""The command line of the benchmark (`scripts/bench`): run scenarios interleaved, report.

Layer: top of benchkit; imports lanchat.store only to prefill the history database of
scenario 6. Spec: issue #4 ("The benchmark").

Runs are interleaved: run 1 of every scenario on every server, then run 2 (in a rotated server
order), and so on, so that the noise of a shared machine falls on every server alike. Each
scenario run gets a freshly started server. Fan-out and the big room run their clients in
--procs worker processes (benchkit.fleet); latency in one, with the server and the generator
pinned to separate CPUs; the others in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchkit import cluster, fleet, loadgen, report, servers
from benchkit.loadgen import Load
from benchkit.profile import Profiler, summarise

ALL_SERVERS = [
    *("relay-c", "relay", "lanchat", "lanchat-asyncio"),
    *("ngircd", "inspircd", "hybrid", "lanchat-ws", "lanchat-tls", "lanchat-cluster"),
]
ALL_SCENARIOS = [
    *("fanout", "latency", "bigroom", "memory", "storm", "history", "web", "handshake"),
    *("cluster", "cluster-fanout"),
]
# lanchat-ws (lanchat, clients over WebSocket) and its scenario "web" (issue 16), and
# lanchat-tls (lanchat, clients over TLS) and its scenario "handshake" (issue 17), compare
# transports of one server, not servers: asked for by name, e.g.
#   scripts/bench --servers lanchat,lanchat-ws --scenarios web --runs 5
#   scripts/bench --servers lanchat,lanchat-tls --scenarios fanout,handshake --runs 5
# lanchat-cluster (three lanchat nodes and one redis-server, issue 20) and its scenarios,
# "cluster" (latency from one node to another at 200 messages/s) and "cluster-fanout"
# (deliveries/s), against one node: the clients are spread over CLUSTER_PROCS generator
# processes, each on its own node (all on the one node of "lanchat"), e.g.
#   scripts/bench --servers lanchat,lanchat-cluster --scenarios cluster,cluster-fanout --runs 3
DEFAULT_SERVERS = ALL_SERVERS[:-3]
DEFAULT_SCENARIOS = ALL_SCENARIOS[:-4]
CLUSTER_SCENARIOS = ("cluster", "cluster-fanout")
CLUSTER_PROCS = cluster.NODES  # one generator process per node
WEBSOCKET_SCENARIOS = ("fanout", "latency", "bigroom", "web")  # what lanchat-ws can run
HISTORY_ROOM = "#bench"
PROFILED = ("fanout", "latency", "bigroom", "web")  # scenarios with a measured window to sample


@dataclass(frozen=True)
class Sizes:
    """Scenario sizes: the issue's full sizes, or tiny ones for --quick (CI)."""

    fanout: Load
    latency: Load
    bigroom: Load
    memory: Load
    storm: Load
    web: Load
    handshake: Load
    history_messages: int
    history_limit: int = 1000
    history_queries: int = 5


def sizes(quick: bool, duration_s: float) -> Sizes:
    """The issue's sizes (duration_s per measured run), or seconds-long ones for --quick."""
    measured, warmup, drain = (0.3, 0.1, 3.0) if quick else (duration_s, 1.0, 10.0)

    def t(load: Load) -> Load:
        return replace(load, duration_s=measured, warmup_s=warmup, drain_s=drain)

    if quick:
        return Sizes(
            fanout=t(Load(n=20, senders=4, window=16)),
            latency=t(Load(n=20, senders=4, rate=100)),
            bigroom=t(Load(n=60, senders=4, rate=40)),
            memory=Load(n=40),
            storm=Load(n=20, drain_s=10.0),
            web=t(Load(n=20, senders=4, rate=40)),
            handshake=t(Load(n=8)),
            history_messages=5000,
            history_queries=2,
        )
    return Sizes(
        fanout=t(Load(n=200, senders=20, window=400)),
        latency=t(Load(n=200, senders=20, rate=200)),
        bigroom=t(Load(n=2000, senders=20, rate=100)),
        memory=Load(n=5000),
        storm=Load(n=2000, drain_s=60.0),
        web=t(Load(n=500, senders=20, rate=100)),
        handshake=t(Load(n=50)),
        history_messages=1_000_000,
    )


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _run_async(coro: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    with asyncio.Runner(loop_factory=_new_loop) as runner:
        return runner.run(coro)


def prefill_history(path: Path, count: int) -> Path:
    """A history database with `count` messages in HISTORY_ROOM, built once and cached.

    Returns:
        The path of the cached database file (copied into each lanchat run's data dir).
    """
    from lanchat.store.db import HistoryDB
    from lanchat.store.records import HistoryRecord

    db_file = path / f"history-{count}.sqlite3"
    if db_file.exists():
        return db_file
    tmp = path / f"history-{count}.building"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    db = HistoryDB(tmp / "history.sqlite3")
    base_ms = int(time.time() * 1000) - count
    batch = 50_000
    for start in range(0, count, batch):
        db.append(
            [
                HistoryRecord(
                    msgid=f"bench{i:08d}",
                    time_ms=base_ms + i,
                    command="PRIVMSG",
                    source="filler!filler@127.0.0.1",
                    target=HISTORY_ROOM,
                    target_key=HISTORY_ROOM,
                    text=f"prefilled history message number {i}",
                )
                for i in range(start, min(count, start + batch))
            ]
        )
    db.close()
    (tmp / "history.sqlite3").rename(db_file)
    shutil.rmtree(tmp)
    return db_file


def run_one(
    scenario: str,
    server: str,
    sz: Sizes,
    history_db: Callable[[], Path],
    profile_to: Path | None = None,
    procs: int | None = None,
) -> dict[str, Any]:
    """One run of one scenario on a fresh instance of one server.

    Args:
        scenario: a key of ALL_SCENARIOS.
        server: a key of servers.DRIVERS.
        sz: the scenario sizes.
        history_db: returns the prefilled history database (built on first call).
        profile_to: if given, py-spy samples the server during the measured window of the
            load scenarios and writes collapsed stacks to this file.
        procs: load generator processes for fanout and bigroom (default:
            fleet.default_procs()). Latency runs one, pinned apart from the server
            (fleet.split_cpus); the other scenarios run in this process.

    Returns:
        The run's metrics, or {"error": why}.
    """
    driver = server.partition("@")[0]  # "lanchat-ws@main" is lanchat-ws on main's code
    if driver == "lanchat-cluster" and scenario not in CLUSTER_SCENARIOS:
        return {"error": "lanchat-cluster runs the cluster scenarios only"}
    if scenario in CLUSTER_SCENARIOS:
        if driver not in ("lanchat", "lanchat-cluster"):
            return {"error": "the cluster scenarios compare lanchat-cluster with one lanchat"}
        return _run_cluster_scenario(scenario, server, sz)
    if scenario == "history" and not driver.startswith("lanchat"):
        return {"error": "no CHATHISTORY"}
    if driver == "lanchat-ws" and scenario not in WEBSOCKET_SCENARIOS:
        return {"error": "the WebSocket generator runs the load scenarios only"}
    tls = driver == "lanchat-tls"
    prefill = history_db() if scenario == "history" else None
    with servers.running(server, history_db=prefill) as srv:
        pid = srv.pid

        def cpu() -> float:
            return servers.cpu_seconds(pid)

        def rss() -> int:
            return servers.rss_kib(pid)

        profiler = Profiler(pid, profile_to) if profile_to else None
        # Set up as many clients at once as the server's listen backlog takes (ngIRCd: 10).
        fast = min(200, max(1, servers.listen_backlog(srv.port) - 2))
        ws = driver == "lanchat-ws"
        fanout, latency, bigroom, mem, web = (
            replace(load, setup_concurrency=fast, websocket=ws)
            for load in (sz.fanout, sz.latency, sz.bigroom, sz.memory, sz.web)
        )

        # Latency: one generator process (200 messages/s need half a CPU) on CPUs of its own.
        split = fleet.split_cpus() if scenario == "latency" else None
        if split is not None:
            servers.pin(pid, split[0])

        def hook(opening: bool) -> None:
            if profiler is not None:
                profiler.start() if opening else profiler.stop()

        jobs: dict[str, Callable[[], dict[str, Any]]] = {
            "fanout": lambda: fleet.run(srv.port, fanout, cpu, hook, procs, tls=tls),
            "latency": lambda: fleet.run(
                srv.port, latency, cpu, hook, 1, split[1] if split else None, tls
            ),
            "bigroom": lambda: fleet.run(srv.port, bigroom, cpu, hook, procs, tls=tls),
            "web": lambda: fleet.run(srv.port, web, cpu, hook, procs, tls=tls),
            "memory": lambda: _run_async(loadgen.memory(srv.port, mem, rss, tls)),
            "storm": lambda: _run_async(loadgen.storm(srv.port, sz.storm, tls)),
            "handshake": lambda: _run_async(loadgen.handshakes(srv.port, sz.handshake, cpu, tls)),
            "history": lambda: _run_async(
                loadgen.history(srv.port, HISTORY_ROOM, sz.history_queries, sz.history_limit)
            ),
        }
        try:
            result = jobs[scenario]()
        except (loadgen.SetupFailed, fleet.WorkerFailed, OSError, TimeoutError) as e:
            result = {"error": f"{type(e).__name__}: {e} (server log: {srv.log_tail(2)})"}
        if srv.proc.poll() is not None:
            result = {"error": f"server died ({srv.proc.returncode}): {srv.log_tail(2)}"}
        # The machine is shared: the load average says how much CPU the run had to share.
        return {**result, "loadavg_1m": os.getloadavg()[0]}


def _run_cluster_scenario(scenario: str, server: str, sz: Sizes) -> dict[str, Any]:
    """A cluster scenario on three nodes and Redis (lanchat-cluster) or on one node (lanchat).

    The same clients either way: CLUSTER_PROCS generator processes, process w on node w (or
    all on the one node), latencies only of messages sent from another process, i.e. from
    another node.
    """
    load = sz.latency if scenario == "cluster" else sz.fanout
    share: Callable[[], float] | None = None
    with contextlib.ExitStack() as stack:
        try:
            if server == "lanchat-cluster":
                nodes = stack.enter_context(cluster.running())
                ports, cpu, died = nodes.ports, nodes.cpu, nodes.died
                share = _redis_share(nodes)
            else:
                srv = stack.enter_context(servers.running("lanchat"))
                ports = [srv.port] * CLUSTER_PROCS

                def cpu() -> float:
                    return servers.cpu_seconds(srv.pid)

                def died() -> str | None:
                    code = srv.proc.poll()
                    return None if code is None else f"server died ({code}): {srv.log_tail(2)}"

            result = fleet.run(ports, load, cpu, procs=CLUSTER_PROCS, others_only=True)
        except (loadgen.SetupFailed, fleet.WorkerFailed, OSError, TimeoutError) as e:
            result = {"error": f"{type(e).__name__}: {e}"}
        else:
            if why := died():
                result = {"error": why}
            elif share is not None:
                result["redis_cpu_share_pct"] = share()
    return {**result, "loadavg_1m": os.getloadavg()[0]}


def _redis_share(nodes: cluster.Cluster) -> Callable[[], float]:
    """From now: Redis's part of the cluster's CPU time in %, over the whole run (set-up,
    measured window and drain), when the returned function is called."""
    redis0, nodes0 = nodes.redis_cpu(), nodes.node_cpu()

    def share() -> float:
        redis, total = nodes.redis_cpu() - redis0, nodes.cpu() - redis0 - nodes0
        return redis * 100 / total if total else float("nan")

    return share


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    debs = sorted((servers.CACHE_DIR / "debs").glob("*.deb"))
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "server_packages": [p.name.replace("%3a", ":") for p in debs],
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _report_saved(files: list[Path], chosen: list[str], out: Path) -> int:
    """Merge the results of saved JSON files; print the table; save the merged JSON and PNG."""
    merged: report.Results = {}
    metas = []
    for f in files:
        data = json.loads(f.read_text())
        metas.append(data["meta"])
        for scenario, per_server in data["results"].items():
            for name, runs in per_server.items():
                merged.setdefault(scenario, {}).setdefault(name, []).extend(runs)
    order = [s for s in ALL_SCENARIOS if s in merged]
    merged = {s: merged[s] for s in order}
    names = [n for n in chosen if any(n in per for per in merged.values())]
    text = report.table(merged, names)
    out.mkdir(parents=True, exist_ok=True)
    report.save_json(
        out / "merged.json", {"merged_from": [str(f) for f in files], "metas": metas}, merged
    )
    (out / "merged.md").write_text(text)
    print(text)
    print(report.save_chart(out / "merged.png", merged, names))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the scenarios interleaved, print and save the results."""
    p = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Side-by-side benchmark of lanchat against ngIRCd, InspIRCd and "
        "ircd-hybrid (issue #4). Prints a table; saves JSON and a PNG under --out.",
    )
    p.add_argument(
        "--servers",
        default=",".join(DEFAULT_SERVERS),
        help=f"comma-separated, from {','.join(ALL_SERVERS)} (relay-c: the physical limit, a "
        "relay in C; relay: the generator's yardstick, in Python; lanchat-asyncio: lanchat "
        "without uvloop; lanchat-ws, lanchat-tls: lanchat with its clients on WebSocket or TLS; "
        "default all but those two)",
    )
    p.add_argument(
        "--scenarios",
        default=",".join(DEFAULT_SCENARIOS),
        help=f"{','.join(ALL_SCENARIOS)} (default all but web, one room of 500 on TCP and "
        "WebSocket, and handshake, TLS handshakes)",
    )
    p.add_argument("--runs", type=int, help="interleaved runs per cell (default 3; --quick 1)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds (default 10)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, 1 run: checks it works (CI)")
    p.add_argument(
        "--procs",
        type=int,
        help="load generator processes for fanout/bigroom (latency: 1) "
        f"(default: CPUs, at least 2, here {fleet.default_procs()}; --quick 2)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="sample lanchat with py-spy during fanout/latency/bigroom; print the hotspots",
    )
    p.add_argument(
        "--report",
        nargs="+",
        type=Path,
        metavar="JSON",
        help="run nothing: merge saved result files (e.g. of separate invocations) and print them",
    )
    p.add_argument(
        "--baseline",
        metavar="REF",
        help="also run each chosen lanchat server on the code of git commit REF (e.g. main), "
        "as lanchat@REF, in the same rounds: before and after a change, paired by round",
    )
    p.add_argument("--out", type=Path, default=servers.REPO / "bench-results", help="output dir")
    args = p.parse_args(argv)

    chosen = [s.strip() for s in args.servers.split(",") if s.strip()]
    if args.baseline:  # each lanchat server is followed by itself on the baseline's code
        chosen = [
            x
            for s in chosen
            for x in ((s, f"{s}@{args.baseline}") if s.startswith("lanchat") else (s,))
        ]
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if bad := [s for s in chosen if s.partition("@")[0] not in ALL_SERVERS]:
        p.error(f"unknown server {bad[0]!r}; choose from {','.join(ALL_SERVERS)}")
    if bad := [s for s in scenarios if s not in ALL_SCENARIOS]:
        p.error(f"unknown scenario {bad[0]!r}; choose from {','.join(ALL_SCENARIOS)}")
    if args.report:
        return _report_saved(args.report, chosen, args.out)
    runs = args.runs or (1 if args.quick else 3)
    procs = args.procs if args.procs is not None else 2 if args.quick else fleet.default_procs()
    if procs < 1:
        p.error(f"--procs must be at least 1, not {procs}")
    sz = sizes(args.quick, args.duration)
    nofile = servers.raise_nofile()
    # SIGTERM unwinds like Ctrl-C, so every started server is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(128 + signal.SIGTERM))
    args.out.mkdir(parents=True, exist_ok=True)

    cached: dict[str, Path] = {}

    def history_db() -> Path:
        if "db" not in cached:
            print(f"prefilling {sz.history_messages:,} history messages …", flush=True)
            cached["db"] = prefill_history(args.out / "cache", sz.history_messages)
        return cached["db"]

    broken: dict[str, str] = {}
    results: report.Results = {s: {name: [] for name in chosen} for s in scenarios}
    t_start = time.monotonic()
    for run in range(runs):
        order = chosen[run % len(chosen) :] + chosen[: run % len(chosen)]
        for scenario in scenarios:
            for name in order:
                if name in broken:
                    results[scenario][name].append({"error": broken[name]})
                    continue
                t0 = time.monotonic()
                prof = None
                if args.profile and name.startswith("lanchat") and scenario in PROFILED:
                    prof = args.out / f"profile-{name}-{scenario}-run{run + 1}.txt"
                try:
                    r = run_one(scenario, name, sz, history_db, prof, procs)
                except servers.SetupError as e:
                    broken[name] = f"not set up: {e}"
                    r = {"error": broken[name]}
                results[scenario][name].append(r)
                shown = {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
                print(
                    f"[run {run + 1}/{runs}] {scenario:8} {name:9} "
                    f"{time.monotonic() - t0:5.1f}s {shown}",
                    flush=True,
                )
                if prof is not None:
                    summary = summarise(prof)
                    prof.with_suffix(".summary.txt").write_text(summary + "\n")
                    print(f"profile of {name}, {scenario}, run {run + 1}:\n{summary}\n")
    meta = {
        "machine": _machine(),
        "command": " ".join(["scripts/bench", *(argv if argv is not None else sys.argv[1:])]),
        "runs": runs,
        "quick": args.quick,
        "duration_s": args.duration,
        "procs": procs,
        "rlimit_nofile": nofile,
        "wall_s": round(time.monotonic() - t_start, 1),
        "limits_not_lifted": {s: servers.LIMITS_NOT_LIFTED.get(s, []) for s in chosen},
        "sizes": {k: str(v) for k, v in vars(sz).items()},
    }
    text = report.table(results, chosen)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    json_path = args.out / f"bench-{stamp}.json"
    report.save_json(json_path, meta, results)
    (args.out / "latest.md").write_text(text)
    print(text)
    for name in chosen:
        for limit in servers.LIMITS_NOT_LIFTED.get(name, []):
            print(f"  {name}: {limit}")
    print(f"results: {json_path}")
    print(report.save_chart(args.out / f"bench-{stamp}.png", results, chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
