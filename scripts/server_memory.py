"""Measure the lanchat server's memory per idle registered connection (issue #4 target).

Starts `lanchat serve` as a child process (uvloop when installed, as in production), reads its
VmRSS from /proc, registers N idle clients that all join one room, reads VmRSS again and prints
(after - before) / N in KiB. Repeats the whole run and prints the median. The clients are raw
sockets driven by asyncio in this process, so nothing of theirs is counted.

    .venv/bin/python scripts/server_memory.py                 # 3 runs of 3000 clients
    .venv/bin/python scripts/server_memory.py --clients 5000 --runs 5

Only 127.0.0.1 is used. Not part of the test suite: it takes a while and measures, it does not
check.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
from pathlib import Path

_CONCURRENCY = 200  # registrations in flight at once (stays under the listen backlog)
_SETTLE_S = 2.0  # after the last registration: let the server's allocator settle


def vm_rss_kib(pid: int) -> int:
    """The resident set size of process `pid` in KiB (VmRSS in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


async def _register(port: int, nick: str, gate: asyncio.Semaphore) -> asyncio.StreamWriter:
    async with gate:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN #lobby\r\n".encode())
        while True:
            line = await reader.readline()
            if not line:
                raise ConnectionError(f"{nick}: the server closed the connection")
            if b" 366 " in line:  # end of NAMES: registered and in the room
                break
        # Idle from now on, but still reading (the JOINs of those after us, PINGs): a client
        # that stops reading is dropped for its SendQ, which is not what is measured here.
        asyncio.get_running_loop().create_task(_idle(reader, writer))
        return writer


async def _idle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # Read and forget in big chunks (the server is told not to PING during a run).
    while await reader.read(1 << 16):
        pass


async def ready_port(stdout: asyncio.StreamReader) -> int:
    """Read `lanchat serve`'s output up to its readiness line; return the port it names."""
    while True:
        line = (await stdout.readline()).decode()
        if not line:
            raise RuntimeError("lanchat serve exited before it was ready")
        if line.startswith("ready: port "):
            return int(line.split()[-1])


async def one_run(clients: int) -> float:
    """Start a server, register `clients` idle clients, return the KiB of RSS each costs."""
    with tempfile.TemporaryDirectory(prefix="lanchat-memory-") as data:
        config = Path(data) / "lanchat.toml"
        # As scripts/bench does: no limit in the way of N clients from one address joining at
        # once (each JOIN goes to everyone already in the room, which can back up for a moment).
        config.write_text(
            f"[limits]\nmax_connections_per_ip = {clients + 10}\nsendq_bytes = 1073741824\n"
            f"max_connections = {clients + 10}\nmax_unregistered_connections = {clients + 10}\n"
            "ping_interval_s = 3600\nregistration_timeout_s = 3600\n[flood]\nenabled = false\n"
        )
        argv = ["-m", "lanchat", "serve", "--host", "127.0.0.1", "--port", "0", "--no-tls"]
        argv += ["--data-dir", data, "--no-mdns", "--config", str(config)]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *argv, stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        try:
            port = await ready_port(proc.stdout)
            # The server logs to stdout: keep reading it, or a full pipe would stall it.
            drain = asyncio.get_running_loop().create_task(proc.stdout.read())
            await asyncio.sleep(_SETTLE_S)
            before = vm_rss_kib(proc.pid)
            gate = asyncio.Semaphore(_CONCURRENCY)
            writers = await asyncio.gather(
                *(_register(port, f"idle{i}", gate) for i in range(clients))
            )
            await asyncio.sleep(_SETTLE_S)
            after = vm_rss_kib(proc.pid)
            for writer in writers:
                writer.close()
            return (after - before) / clients
        finally:
            proc.terminate()
            await proc.wait()
            if port:
                await drain


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=3000, help="idle clients per run")
    parser.add_argument("--runs", type=int, default=3, help="runs; the median is reported")
    args = parser.parse_args()
    # Each client is one descriptor here and one in the server (which inherits the limit).
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(args.clients * 2 + 100, 1024)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        wanted = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    results = []
    for run in range(args.runs):
        kib = asyncio.run(one_run(args.clients))
        results.append(kib)
        print(f"run {run + 1}: {kib:.2f} KiB per idle connection", flush=True)
    print(
        f"median of {args.runs} runs, {args.clients} clients: {statistics.median(results):.2f} KiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
