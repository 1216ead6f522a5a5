"""One process of the load generator: a slice of the clients of scenarios 1-3, on its own loop.

Layer: standard library (+ uvloop) and benchkit.loadgen; started by benchkit.fleet with
multiprocessing's 'spawn' context and driven over one Pipe. Spec: issue #4 ("A load generator
that is not the bottleneck ... several processes").

The conversation, one tuple per message (coordinator -> worker, worker -> coordinator):

    worker  ("joined",)                    its clients are registered and in the room
    coord   ("sync",)                      every worker has joined: read the JOIN backlog
    worker  ("ready",)                     every client has read all its earlier output
    coord   ("go", start, open, close)     CLOCK_MONOTONIC ns: start sending, the measured
                                           window opens, it closes (and sending stops)
    worker  ("stopped", sent, marks)       messages sent per local sender; marks: deliveries,
                                           CPU seconds and seconds in the measured window
    coord   ("drain", expect, timeout_s)   deliveries this worker's clients must have in all
    worker  ("done", counts, latencies)    received/reordered/disconnected/missing; latencies
                                           of the window as sorted array('q') bytes, in ns
    worker  ("error", kind, text)          instead of any of the above; the worker then exits

The worker ignores SIGINT (Ctrl-C goes to the whole process group; the coordinator stops the
workers) and exits by itself when the pipe closes, so a coordinator that dies or gives up leaves
no orphan behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from array import array
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from benchkit.loadgen import SetupFailed, Swarm


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker runs: its slice of the clients and senders, and its share of the load.

    Attributes:
        port: the server's port on 127.0.0.1.
        first: the index of the worker's first client in the whole run (nick b<index>).
        n: how many clients the worker runs.
        sender_first: the sender id of the worker's first client; its first `senders`
            clients send.
        senders: how many of its clients send.
        senders_total: the senders of the whole run (S).
        paced: True: send `rate` messages/s in total, round-robin over the local senders,
            and record latencies; False: window mode.
        rate: this worker's messages/s (paced mode).
        window: this worker's messages in flight to its own clients (window mode).
        concurrency: clients between connect and 366 at a time during set-up.
        setup_timeout_s: the limit for set-up and for sync.
        websocket: the clients speak IRC over WebSocket to a web port (lanchat-ws).
        tls: the clients connect with TLS.
        others_only: record the latencies of other workers' senders' messages only.
    """

    port: int
    first: int
    n: int
    sender_first: int
    senders: int
    senders_total: int
    paced: bool
    rate: float
    window: int
    concurrency: int
    setup_timeout_s: float
    websocket: bool = False
    tls: bool = False
    others_only: bool = False


class _Control:
    """The coordinator's messages, read from the pipe without blocking the event loop."""

    def __init__(self, conn: Connection, task: asyncio.Task[None]) -> None:
        self.conn = conn
        self.task = task
        self.queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        asyncio.get_running_loop().add_reader(conn.fileno(), self._readable)
        # add_reader makes the fd non-blocking, and Connection.send() does not retry a partial
        # write: the final message (megabytes of latencies) would fail with EAGAIN.
        os.set_blocking(conn.fileno(), True)

    def _readable(self) -> None:
        try:
            msg = self.conn.recv()
        except (EOFError, OSError):
            # The coordinator is gone: stop, close the connections, exit.
            asyncio.get_running_loop().remove_reader(self.conn.fileno())
            self.task.cancel()
            return
        self.queue.put_nowait(msg)

    async def get(self, kind: str) -> tuple[Any, ...]:
        """The next message, which must be of `kind`.

        Raises:
            RuntimeError: the coordinator sent something else (a bug in benchkit.fleet).
        """
        msg = await self.queue.get()
        if msg[0] != kind:
            raise RuntimeError(f"expected {kind!r} from the coordinator, got {msg[0]!r}")
        return msg


async def _sleep_until(ns: int) -> None:
    await asyncio.sleep(max(0.0, (ns - time.monotonic_ns()) / 1e9))


async def _pace(sw: Swarm, rate: float, start_ns: int, close_ns: int) -> None:
    """Send `rate` messages/s round-robin over the local senders from start_ns to close_ns."""
    n = 0
    while (now := time.monotonic_ns()) < close_ns:
        due = int((now - start_ns) * rate / 1e9)
        while n < due:
            sw.send_one(n % sw.senders)
            n += 1
        await asyncio.sleep(0.001)  # the pacing tick of the generator


async def _measure(
    sw: Swarm, spec: WorkerSpec, start_ns: int, open_ns: int, close_ns: int
) -> dict[str, float]:
    """Send from start_ns, sample at open_ns and close_ns, stop sending at close_ns."""
    await _sleep_until(start_ns)
    pacer = None
    if spec.paced:
        sw.lat_from, sw.lat_to = open_ns, close_ns
        if sw.senders:
            pacer = asyncio.create_task(_pace(sw, spec.rate, start_ns, close_ns))
    else:
        sw.window = spec.window
        sw.refill()
    await _sleep_until(open_ns)
    r0, g0, t0 = sw.received, time.process_time(), time.monotonic()
    await _sleep_until(close_ns)
    r1, g1, t1 = sw.received, time.process_time(), time.monotonic()
    sw.stopped = True
    if pacer is not None:
        await pacer
    return {"deliveries": r1 - r0, "cpu_s": g1 - g0, "span_s": t1 - t0}


async def _run(conn: Connection, spec: WorkerSpec) -> None:
    task = asyncio.current_task()
    assert task is not None
    ctl = _Control(conn, task)
    sw = Swarm(
        spec.port,
        spec.n,
        spec.tls,
        first=spec.first,
        sender_first=spec.sender_first,
        senders=spec.senders,
        senders_total=spec.senders_total,
        websocket=spec.websocket,
        lat_others_only=spec.others_only,
    )
    try:
        await sw.setup(concurrency=spec.concurrency, timeout_s=spec.setup_timeout_s)
        conn.send(("joined",))
        await ctl.get("sync")
        await sw.sync(spec.setup_timeout_s)
        sw.start_measuring()
        conn.send(("ready",))
        _go, start_ns, open_ns, close_ns = await ctl.get("go")
        marks = await _measure(sw, spec, start_ns, open_ns, close_ns)
        conn.send(("stopped", sw.sent, marks))
        _drain, expect, timeout_s = await ctl.get("drain")
        missing = await sw.drain(expect, timeout_s)
        counts = {
            "received": sw.received,
            "reordered": sw.reordered,
            "disconnected": sw.disconnected,
            "missing": missing,
        }
        conn.send(("done", counts, array("q", sorted(sw.latencies)).tobytes()))
    finally:
        await sw.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def main(conn: Connection, spec: WorkerSpec) -> None:
    """The worker process: run `spec` on a uvloop (or asyncio) loop, talking over `conn`.

    Args:
        conn: this end of the pipe to the coordinator.
        spec: the slice of the run this worker does.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with asyncio.Runner(loop_factory=_new_loop) as runner:
            runner.run(_run(conn, spec))
    except asyncio.CancelledError:
        sys.exit(1)  # the coordinator closed the pipe; it reports why
    except SetupFailed as e:
        _report(conn, "SetupFailed", str(e))
        sys.exit(1)
    # Any other failure is a bug or an OS limit; the coordinator's row must say which.
    except Exception as e:
        _report(conn, type(e).__name__, str(e))
        raise


def _report(conn: Connection, kind: str, text: str) -> None:
    with contextlib.suppress(OSError):
        conn.send(("error", kind, text))
