"""Benchmark file sharing (issue 21): upload and download speed, server memory, room latency.

Usage:
    .venv/bin/python scripts/bench_files.py [--runs 3] [--mib 1024] [--quick] [--against DIR]

Runs `lanchat serve` on 127.0.0.1 (web port, [files] limits raised to fit the file) and, as the
baseline, a bare aiohttp app whose POST handler writes the body to disk chunk by chunk and
whose GET is aiohttp's FileResponse. For each of --runs runs, curl uploads a --mib MiB file
(`-T FILE -X POST`, streamed) to each and downloads it back (to /dev/null); the result is
MB/s as curl reports it. During lanchat's upload the server's RSS is sampled every 50 ms, the
time its event loop spent waiting for a CPU is read from /proc (schedstat), and IRC clients in
one room time a message every 10 ms; the same is done with no upload, during an upload from a
curl at nice 19 (as if the uploader were another machine), and during the upload to the bare
server (another process: what the shared cores alone cost). `--against DIR` measures another
checkout (`git archive main | tar -x -C DIR`) in the same runs, interleaved. Prints medians of
the runs, each run's figures, and the room's p99 against its idle p99 paired by run. Nothing
here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
sys.path.insert(0, str(ROOT))

BARE = r"""
import os, sys
from aiohttp import web
directory = sys.argv[1]
async def upload(request):
    path = os.path.join(directory, "upload")
    with open(path, "wb") as f:
        async for chunk in request.content.iter_chunked(1 << 20):
            f.write(chunk)
    return web.Response(status=201, headers={"Location": "/file"})
async def download(request):
    return web.FileResponse(os.path.join(directory, "upload"))
app = web.Application()
app.router.add_post("/files", upload)
app.router.add_get("/file", download)
ready = lambda *_: print("ready", flush=True)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=ready)
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _curl(*args: str) -> float:
    """curl's own speed figure (bytes/s) for one transfer."""
    proc = await asyncio.create_subprocess_exec(
        "curl", "-s", "-S", "-o", "/dev/null", "-H", "Expect:", *args,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0, args
    return float(out)


async def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextlib.asynccontextmanager
async def _lanchat(
    data: Path, mib: int, root: Path = ROOT
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int, int]]:
    config = data / "lanchat.toml"
    data.mkdir(parents=True, exist_ok=True)
    big = (mib + 1) << 20
    config.write_text(
        f"[files]\nmax_file_bytes = {big}\nquota_per_uploader_bytes = {4 * big}\n"
        f"quota_bytes = {4 * big}\nupload_burst = 100\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lanchat", "serve", "--host", "127.0.0.1", "--port", "0",
        "--web-port", "0", "--tls-port", "0", "--no-mdns", "--data-dir", str(data),
        "--config", str(config),
        stdout=asyncio.subprocess.PIPE, cwd=root,
    )  # fmt: skip
    assert proc.stdout is not None
    web = 0
    while True:
        line = (await proc.stdout.readline()).decode()
        assert line, "lanchat serve ended"
        if line.strip().startswith("http://127.0.0.1:"):
            web = int(line.strip().rsplit(":", 1)[1].strip("/"))
        if line.startswith("ready: port "):
            break
    drain = asyncio.create_task(proc.stdout.read())
    try:
        yield proc, int(line.split()[-1]), web
    finally:
        proc.terminate()
        await proc.wait()
        drain.cancel()


@contextlib.asynccontextmanager
async def _bare(directory: Path) -> AsyncIterator[int]:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", BARE, str(directory), str(port), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    await proc.stdout.readline()
    try:
        yield port
    finally:
        proc.terminate()
        await proc.wait()


class _Irc:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def join(cls, port: int, nick: str, source: str = "127.0.0.1") -> _Irc:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        writer.write(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN #bench\r\n".encode())
        irc = cls(reader, writer)
        await irc.until(b" 366 ")
        return irc

    async def until(self, marker: bytes) -> bytes:
        while True:
            line = await self.reader.readline()
            assert line, "server closed"
            if line.startswith(b"PING"):
                self.writer.write(b"PONG" + line[4:])
            if marker in line:
                return line


SENDERS = 32  # from 127.0.0.2 ... : each address has its own flood budget (4 lines/s)
GAP_S = 0.01  # between two timed room messages: each sender speaks every 0.32 s


async def _latencies(talk: list[_Irc], stop: asyncio.Event) -> list[float]:
    """Seconds each of a stream of room messages took from a sender to the reader (the last
    of `talk`), one every GAP_S, each sender in turn (under the flood limit)."""
    *senders, reader = talk
    out: list[float] = []
    turn = 0
    while not stop.is_set():
        sent = time.perf_counter()
        senders[turn % len(senders)].writer.write(f"PRIVMSG #bench :{sent}\r\n".encode())
        turn += 1
        await reader.until(b"PRIVMSG #bench")
        out.append(time.perf_counter() - sent)
        await asyncio.sleep(GAP_S)
    return out


def _p99(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * 0.99))]


def _cpu_wait_s(pid: int) -> float:
    """Seconds the process's main thread (the server's event loop) has spent runnable but
    waiting for a CPU (/proc schedstat, Linux)."""
    return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9


async def _upload(url: str, payload: Path, *headers: str, nice: int = 0) -> str:
    """curl's output (-D - and the speed) for one streamed upload, at CPU priority `nice`."""
    proc = await asyncio.create_subprocess_exec(
        "nice", "-n", str(nice), "curl", "-s", "-S", "-D", "-", "-o", "/dev/null",
        "-w", "%{speed_upload}", "-H", "Expect:", *headers, "-T", str(payload), "-X", "POST",
        url, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0, url
    return out.decode()


async def _timed(talk: list[_Irc], work: Coroutine[Any, Any, T]) -> tuple[float, T]:
    """The room's p99 latency (ms) while `work` runs, and what it returned."""
    stop = asyncio.Event()
    timing = asyncio.create_task(_latencies(talk, stop))
    try:
        done = await work
    finally:
        stop.set()
    return 1000 * _p99(await timing), done


async def one_server(root: Path, mib: int, payload: Path, work: Path) -> dict[str, float]:
    """Upload and download with `lanchat serve` from the checkout `root`: speeds, RSS, and the
    room's p99 idle, during the upload, during an upload from a client at the lowest CPU
    priority (as if it were another machine) and during an upload to a bare server."""
    result: dict[str, float] = {}
    async with _lanchat(work / "lanchat", mib, root) as (proc, port, web):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"NICK up\r\nUSER up 0 * :up\r\nFILEHOST\r\n")
        token = ""
        while not token:
            line = (await reader.readline()).decode()
            if " NOTE FILEHOST TOKEN " in line:
                token = line.split()[4]
        talk = [await _Irc.join(port, f"s{i}", f"127.0.0.{i + 2}") for i in range(SENDERS)]
        talk.append(await _Irc.join(port, "reader"))
        result["p99_idle_ms"], _ = await _timed(talk, asyncio.sleep(5))
        rss: list[int] = [await _rss_kib(proc.pid)]
        result["rss_before_mib"] = rss[0] / 1024
        sampling = asyncio.Event()

        async def sample() -> None:
            while not sampling.is_set():
                rss.append(await _rss_kib(proc.pid))
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        up_url = f"http://127.0.0.1:{web}/files"
        headers = ("-H", f"Authorization: Bearer {token}",
                   "-H", "Content-Type: application/octet-stream",
                   "-H", 'Content-Disposition: attachment; filename="big.bin"')  # fmt: skip
        waited, started = _cpu_wait_s(proc.pid), time.perf_counter()
        result["p99_upload_ms"], text = await _timed(talk, _upload(up_url, payload, *headers))
        result["loop_cpu_wait_pct"] = (
            100 * (_cpu_wait_s(proc.pid) - waited) / (time.perf_counter() - started)
        )
        sampling.set()
        await sampler
        location = next(
            line.split(" ", 1)[1].strip() for line in text.splitlines()
            if line.lower().startswith("location:")
        )  # fmt: skip
        result["lanchat_up"] = float(text.splitlines()[-1]) / 1e6
        result["rss_max_mib"] = max(rss) / 1024
        result["lanchat_down"] = await _curl("-w", "%{speed_download}", location) / 1e6
        result["p99_nice_upload_ms"], _ = await _timed(
            talk, _upload(up_url, payload, *headers, nice=19)
        )
        bare_dir = work / "bare"
        bare_dir.mkdir(exist_ok=True)
        async with _bare(bare_dir) as bare:
            # The same room talk while the upload goes to another process: what the machine's
            # two cores alone do to the room's latency.
            result["p99_bare_upload_ms"], text = await _timed(
                talk, _upload(f"http://127.0.0.1:{bare}/files", payload)
            )
            result["bare_up"] = float(text.splitlines()[-1]) / 1e6
            result["bare_down"] = (
                await _curl("-w", "%{speed_download}", f"http://127.0.0.1:{bare}/file") / 1e6
            )
        writer.close()
    return result


def _report(label: str, results: list[dict[str, float]]) -> None:
    runs = len(results)
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(f"\n{label}: medians of {runs} runs (each run's in brackets)")

    def each(key: str) -> str:
        return ", ".join(f"{r[key]:.1f}" for r in results)

    print("| | lanchat | bare aiohttp | ratio |\n| --- | --- | --- | --- |")
    for way in ("up", "down"):
        ours, bare = med[f"lanchat_{way}"], med[f"bare_{way}"]
        print(f"| {way}load MB/s | {ours:.0f} ({each(f'lanchat_{way}')}) | {bare:.0f} "
              f"({each(f'bare_{way}')}) | {ours / bare:.2f}x |")  # fmt: skip
    print(f"| server RSS MiB | before {med['rss_before_mib']:.0f}, max during upload "
          f"{med['rss_max_mib']:.0f} | | |")  # fmt: skip
    idle = med["p99_idle_ms"]
    print("\n| room p99 ms | median | runs | x idle (paired by run) |\n| --- | --- | --- | --- |")
    for key, what in (("p99_idle_ms", "no upload"), ("p99_upload_ms", "upload to lanchat"),
                      ("p99_nice_upload_ms", "upload to lanchat from curl at nice 19"),
                      ("p99_bare_upload_ms", "upload to the bare server")):  # fmt: skip
        paired = statistics.median(r[key] / r["p99_idle_ms"] for r in results)
        print(f"| {what} | {med[key]:.1f} | {each(key)} | {paired:.2f}x |")
    print(f"\nthe server's loop waited for a CPU {med['loop_cpu_wait_pct']:.0f}% of the upload "
          f"({each('loop_cpu_wait_pct')})")  # fmt: skip
    print(f"(idle p99 median {idle:.1f} ms)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--quick", action="store_true", help="1 run of 64 MiB (CI)")
    parser.add_argument(
        "--against", type=Path, action="append", default=[],
        help="another lanchat checkout (e.g. `git archive main`) measured in the same runs",
    )  # fmt: skip
    args = parser.parse_args()
    runs, mib = (1, 64) if args.quick else (args.runs, args.mib)
    roots = [ROOT, *args.against]
    with tempfile.TemporaryDirectory(prefix="lanchat-bench-files-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        payload = work / "payload.bin"
        with payload.open("wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        results: dict[Path, list[dict[str, float]]] = {root: [] for root in roots}
        for i in range(runs):
            for root in roots:  # interleaved: run i of every checkout in the same minutes
                run_dir = work / f"run{i}"
                run_dir.mkdir()
                results[root].append(await one_server(root, mib, payload, run_dir))
                shutil.rmtree(run_dir)  # 1 GiB files add up
                print(f"run {i + 1} {root}: "
                      + ", ".join(f"{k} {v:.1f}" for k, v in results[root][-1].items()),
                      flush=True)  # fmt: skip
    print(f"\n{mib} MiB over loopback")
    for root in roots:
        _report(str(root), results[root])


if __name__ == "__main__":
    asyncio.run(main())
