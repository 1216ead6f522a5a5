"""The load generator across processes: scenarios 1-3 with the clients split over P workers.

Layer: standard library; benchkit.loadgen and benchkit.worker (each worker a 'spawn'ed
process). Spec: issue #4 ("A load generator that is not the bottleneck (asyncio with uvloop,
or several processes; show that it keeps up by measuring it against a trivial relay)").

Why: with every client on one uvloop loop, the big room (2,000 clients, 200,000 deliveries/s)
kept the generator at 91-97 % of a core while the trivial relay was at 60-75 %, and the
relay's p99 then measured the generator's queue, not the server.

How a run goes:

- Split. Worker w gets a contiguous slice of the N clients and a share of the S senders (the
  first clients of its slice); shares differ by at most one. The set-up concurrency is divided
  among the workers, so together they stay under the server's listen backlog.
- Set-up. All workers connect, register and join in parallel. Once every worker has joined,
  every worker syncs (a PING per client, answered after all earlier output), so no client
  still has JOIN backlog to read when the measured window opens.
- One window for all. The coordinator picks three CLOCK_MONOTONIC instants a little in the
  future (start sending, the window opens after the warm-up, the window closes) and sends
  them to every worker. Each worker samples its deliveries and CPU time at open and close and
  stops sending at close; the coordinator samples the server's CPU and runs the profiler hook
  at the same instants. CLOCK_MONOTONIC is system-wide, so a latency measured by a receiver
  in another process than the sender's is valid.
- Paced mode (latency, big room): each worker paces its own senders at rate x its senders / S,
  and records the latency of every delivery of a message sent inside the window.
- Window mode (fan-out): one window of outstanding messages across processes would need a
  message between the processes for every few deliveries. Instead each worker keeps its own
  window over its own senders' messages as delivered to its own clients (a receiver reads
  the sender from the body), of window x its senders / S messages. Every message still goes
  to all N-1 clients, so the server carries the same load; the per-worker window only bounds
  how far ahead each worker's senders run.
- Results. deliveries/s is the sum of the workers' rates; a message is delivered to every
  client but its sender, so worker w must receive sent_total x n_w - sent_w deliveries, and
  "lost" is the sum of what is missing after the drain. Each worker ships its latencies
  sorted, as array('q') bytes; merging them with sorted() is linear (Timsort merges runs).
  The generator's CPU % is the sum over the workers (in % of one core); gen_cpu_max_pct is
  the busiest worker's.
- Failure. Every wait has a timeout. A worker that fails set-up (SetupFailed), fails
  otherwise (WorkerFailed), dies or does not answer in time becomes an exception whose text
  says which worker and why; the harness prints it as the run's {"error": ...}. The workers
  are stopped in every case: closing the pipe makes a worker exit, and one that does not is
  killed.

Scenarios 4-6 (memory, storm, history) stay in one process (benchkit.loadgen): they measure
set-up and single requests, where one loop is far from busy.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from benchkit import worker
from benchkit.loadgen import Load, SetupFailed, percentile

CpuFn = Callable[[], float]
Hook = Callable[[bool], None]  # called with True when the measured window opens, False at its end

SETUP_TIMEOUT_S = 300.0  # connect + register + join of one worker's clients, and again for sync
_SPAWN_MARGIN_S = 30.0  # starting a worker process (Python + uvloop imports) on a busy machine
_GO_LEAD_S = 0.2  # from "go" to the first message: every worker has the message by then
_REPORT_MARGIN_S = 60.0  # sorting and shipping a few million latencies after the drain


class WorkerFailed(Exception):
    """A load generator worker died, failed or stopped answering; the message says which."""


def default_procs() -> int:
    """Worker processes by default: one per CPU, at least 2 (so the split path always runs)."""
    return max(2, os.cpu_count() or 1)


def split_cpus() -> tuple[set[int], set[int]] | None:
    """The CPUs this process may use, split in two: the server's half and the generator's.

    The latency scenario pins the server to the first half and its one generator process to
    the second, as Redis's benchmark guide advises, so that a p99 measures the server rather
    than the scheduler putting both on one CPU. None with fewer than 2 CPUs.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    half = len(cpus) // 2
    return set(cpus[:half]), set(cpus[half:])


def _shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` integers that differ by at most one, larger ones first."""
    q, r = divmod(total, parts)
    return [q + (i < r) for i in range(parts)]


def _no_hook(_opening: bool) -> None:
    pass


@dataclass
class _Worker:
    index: int
    spec: worker.WorkerSpec
    proc: BaseProcess
    conn: Connection


def _specs(
    ports: Sequence[int], load: Load, procs: int, tls: bool, others_only: bool
) -> list[worker.WorkerSpec]:
    # A worker with senders needs another client of its own for its window to count.
    procs = max(1, min(procs, load.n // 2))
    sizes = _shares(load.n, procs)
    senders = _shares(load.senders, procs)
    specs = []
    first = sender_first = 0
    for i, (n, s) in enumerate(zip(sizes, senders, strict=True)):
        specs.append(
            worker.WorkerSpec(
                port=ports[i % len(ports)],
                first=first,
                n=n,
                sender_first=sender_first,
                senders=s,
                senders_total=load.senders,
                paced=load.rate > 0,
                rate=load.rate * s / load.senders,
                window=max(1, round(load.window * s / load.senders)) if s else 0,
                concurrency=max(1, load.setup_concurrency // procs),
                setup_timeout_s=SETUP_TIMEOUT_S,
                websocket=load.websocket,
                tls=tls,
                others_only=others_only,
            )
        )
        first += n
        sender_first += s
    return specs


def _gather(workers: list[_Worker], kind: str, timeout_s: float) -> list[tuple[Any, ...]]:
    """The next message of every worker, which must be `kind`.

    Raises:
        SetupFailed: a worker's clients could not connect, register, join or sync.
        WorkerFailed: a worker reported another error, exited, or did not answer in time.
    """
    got: dict[int, tuple[Any, ...]] = {}
    by_conn = {id(w.conn): w for w in workers}
    deadline = time.monotonic() + timeout_s
    while len(got) < len(workers):
        pending = [w.conn for w in workers if w.index not in got]
        ready = wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            late = ", ".join(str(w.index + 1) for w in workers if w.index not in got)
            raise WorkerFailed(
                f"load generator worker(s) {late} of {len(workers)} sent no {kind!r} "
                f"in {timeout_s:.0f} s"
            )
        for conn in ready:
            assert isinstance(conn, Connection)
            w = by_conn[id(conn)]
            where = f"(load generator worker {w.index + 1}/{len(workers)})"
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                w.proc.join(5)
                raise WorkerFailed(f"{_how_it_ended(w.proc)} before {kind!r} {where}") from None
            if msg[0] == "error":
                _error, err_kind, text = msg
                if err_kind == "SetupFailed":
                    raise SetupFailed(f"{text} {where}")
                raise WorkerFailed(f"{err_kind}: {text} {where}")
            if msg[0] != kind:
                raise WorkerFailed(f"expected {kind!r}, got {msg[0]!r} {where}")
            got[w.index] = msg
    return [got[w.index] for w in workers]


def _how_it_ended(proc: BaseProcess) -> str:
    code = proc.exitcode
    if code is None:
        return "closed its pipe"
    if code < 0:
        return f"was killed by signal {-code}"
    return f"exited with code {code} (its traceback is on stderr)"


def _stop(workers: list[_Worker]) -> None:
    """Close every pipe (a worker exits on EOF); kill any worker still running after 5 s."""
    for w in workers:
        w.conn.close()
    deadline = time.monotonic() + 5.0
    for w in workers:
        w.proc.join(max(0.0, deadline - time.monotonic()))
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join()


def _sleep_until(ns: int) -> None:
    time.sleep(max(0.0, (ns - time.monotonic_ns()) / 1e9))


def run(
    port: int | Sequence[int],
    load: Load,
    cpu: CpuFn,
    hook: Hook = _no_hook,
    procs: int | None = None,
    cpus: set[int] | None = None,
    tls: bool = False,
    others_only: bool = False,
) -> dict[str, float]:
    """Scenarios 1-3 with the generator split over `procs` worker processes.

    Window mode (load.rate == 0) is scenario 1, fan-out saturation; paced mode is scenarios
    2 and 3 (latency, big room).

    Args:
        port: the server's port on 127.0.0.1, or the ports of a cluster's nodes: worker w
            connects to port[w % len(port)] (issue 20).
        load: the scenario's size; `senders` must be at least 1.
        cpu: the server's CPU seconds so far (sampled when the window opens and closes).
        hook: called with True when the measured window opens and False when it closes.
        procs: worker processes (default: default_procs()); at most N/2 are used.
        cpus: pin the workers to these CPUs (default: anywhere).
        tls: the clients connect with TLS (server "lanchat-tls").
        others_only: the latencies are those of messages from other workers' senders only
            (with one worker per cluster node: from one node to another).

    Returns:
        deliveries_per_s, cpu_us_per_delivery, server_cpu_pct, gen_cpu_pct (sum over the
        workers), gen_cpu_max_pct (busiest worker), procs, lost, reordered, disconnected, and
        in paced mode p50_ms, p99_ms, max_ms.

    Raises:
        ValueError: load.senders is 0.
        SetupFailed: clients could not connect, register, join or sync.
        WorkerFailed: a worker failed, died or stopped answering.
    """
    if load.senders < 1:
        raise ValueError(f"a load scenario needs at least one sender, not {load.senders}")
    ports = [port] if isinstance(port, int) else list(port)
    specs = _specs(ports, load, procs or default_procs(), tls, others_only)
    ctx = multiprocessing.get_context("spawn")
    workers: list[_Worker] = []
    try:
        for i, spec in enumerate(specs):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=worker.main, args=(theirs, spec), name=f"loadgen-{i + 1}", daemon=True
            )
            proc.start()
            if cpus:
                os.sched_setaffinity(proc.pid, cpus)  # before it connects: it takes a moment
            theirs.close()  # only the worker holds its end now: EOF when it exits
            workers.append(_Worker(i, spec, proc, mine))
        _gather(workers, "joined", SETUP_TIMEOUT_S + _SPAWN_MARGIN_S)
        for w in workers:
            w.conn.send(("sync",))
        _gather(workers, "ready", SETUP_TIMEOUT_S)
        return _measure(workers, load, cpu, hook)
    finally:
        _stop(workers)


def _measure(workers: list[_Worker], load: Load, cpu: CpuFn, hook: Hook) -> dict[str, float]:
    start_ns = time.monotonic_ns() + int(_GO_LEAD_S * 1e9)
    open_ns = start_ns + int(load.warmup_s * 1e9)
    close_ns = open_ns + int(load.duration_s * 1e9)
    for w in workers:
        w.conn.send(("go", start_ns, open_ns, close_ns))
    _sleep_until(open_ns)
    hook(True)
    c0, t0 = cpu(), time.monotonic()
    _sleep_until(close_ns)
    c1, t1 = cpu(), time.monotonic()
    hook(False)
    stopped = _gather(workers, "stopped", _REPORT_MARGIN_S)
    sent = [sum(msg[1]) for msg in stopped]
    marks = [msg[2] for msg in stopped]
    for w, own in zip(workers, sent, strict=True):
        w.conn.send(("drain", sum(sent) * w.spec.n - own, load.drain_s))
    done = _gather(workers, "done", load.drain_s + _REPORT_MARGIN_S)
    counts = [msg[1] for msg in done]
    deliveries_per_s = sum(m["deliveries"] / m["span_s"] for m in marks)
    gen_pct = [m["cpu_s"] * 100 / m["span_s"] for m in marks]
    server_s = c1 - c0
    deliveries = deliveries_per_s * (t1 - t0)
    result: dict[str, float] = {
        "deliveries_per_s": deliveries_per_s,
        "cpu_us_per_delivery": server_s * 1e6 / deliveries if deliveries else float("nan"),
        "server_cpu_pct": server_s * 100 / (t1 - t0),
        "gen_cpu_pct": sum(gen_pct),
        "gen_cpu_max_pct": max(gen_pct),
        "procs": len(workers),
        "lost": sum(c["missing"] for c in counts),
        "reordered": sum(c["reordered"] for c in counts),
        "disconnected": sum(c["disconnected"] for c in counts),
    }
    if load.rate > 0:
        runs = []
        for msg in done:
            lat = array("q")
            lat.frombytes(msg[2])
            runs.append(lat)
        merged = sorted(chain.from_iterable(runs))
        result |= {
            "p50_ms": percentile(merged, 50),
            "p99_ms": percentile(merged, 99),
            "max_ms": merged[-1] / 1e6 if merged else float("nan"),
        }
    return result
