"""Benchmark file sharing (issue 21): upload and download speed, server memory, room latency.

Usage:
    .venv/bin/python scripts/bench_files.py [--runs 3] [--mib 1024] [--quick]

Runs `lanchat serve` on 127.0.0.1 (web port, [files] limits raised to fit the file) and, as the
baseline, a bare aiohttp app whose POST handler writes the body to disk chunk by chunk and
whose GET is aiohttp's FileResponse. For each of --runs runs, curl uploads a --mib MiB file
(`-T FILE -X POST`, streamed) to each and downloads it back (to /dev/null); the result is
MB/s as curl reports it. During lanchat's upload the server's RSS is sampled every 50 ms and
IRC clients in one room time a message every 40 ms; the same is done with no upload, and
during the upload to the bare server (another process: what the shared cores alone cost).
Prints medians of the runs. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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
    data: Path, mib: int
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
        "--tls-port", "0", "--web-port", "0", "--no-mdns", "--data-dir", str(data),
        "--config", str(config),
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
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


SENDERS = 8  # from 127.0.0.2 ... : each address has its own flood budget (4 lines/s)


async def _latencies(talk: list[_Irc], stop: asyncio.Event) -> list[float]:
    """Seconds each of a stream of room messages took from a sender to the reader (the last
    of `talk`), one every 40 ms, each sender every 0.32 s (under the flood limit)."""
    *senders, reader = talk
    out: list[float] = []
    turn = 0
    while not stop.is_set():
        sent = time.perf_counter()
        senders[turn % len(senders)].writer.write(f"PRIVMSG #bench :{sent}\r\n".encode())
        turn += 1
        await reader.until(b"PRIVMSG #bench")
        out.append(time.perf_counter() - sent)
        await asyncio.sleep(0.04)
    return out


def _p99(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * 0.99))]


async def one_run(mib: int, payload: Path, work: Path) -> dict[str, float]:
    result: dict[str, float] = {}
    async with _lanchat(work / "lanchat", mib) as (proc, port, web):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"NICK up\r\nUSER up 0 * :up\r\nFILEHOST\r\n")
        token = ""
        while not token:
            line = (await reader.readline()).decode()
            if " NOTE FILEHOST TOKEN " in line:
                token = line.split()[4]
        talk = [await _Irc.join(port, f"s{i}", f"127.0.0.{i + 2}") for i in range(SENDERS)]
        talk.append(await _Irc.join(port, "reader"))
        stop = asyncio.Event()
        idle = asyncio.create_task(_latencies(talk, stop))
        await asyncio.sleep(3)
        stop.set()
        result["p99_idle_ms"] = 1000 * _p99(await idle)
        rss: list[int] = [await _rss_kib(proc.pid)]
        result["rss_before_mib"] = rss[0] / 1024
        stop = asyncio.Event()
        busy = asyncio.create_task(_latencies(talk, stop))

        async def sample() -> None:
            while not stop.is_set():
                rss.append(await _rss_kib(proc.pid))
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        up_url = f"http://127.0.0.1:{web}/files"
        curl_up = asyncio.create_task(
            asyncio.create_subprocess_exec(
                "curl", "-s", "-S", "-D", "-", "-o", "/dev/null", "-w", "%{speed_upload}",
                "-H", "Expect:", "-H", f"Authorization: Bearer {token}",
                "-H", "Content-Type: application/octet-stream",
                "-H", 'Content-Disposition: attachment; filename="big.bin"',
                "-T", str(payload), "-X", "POST", up_url, stdout=asyncio.subprocess.PIPE,
            )
        )  # fmt: skip
        proc_up = await curl_up
        out, _ = await proc_up.communicate()
        stop.set()
        await sampler
        result["p99_upload_ms"] = 1000 * _p99(await busy)
        text = out.decode()
        location = next(
            line.split(" ", 1)[1].strip() for line in text.splitlines()
            if line.lower().startswith("location:")
        )  # fmt: skip
        result["lanchat_up"] = float(text.splitlines()[-1]) / 1e6
        result["rss_max_mib"] = max(rss) / 1024
        result["lanchat_down"] = await _curl("-w", "%{speed_download}", location) / 1e6
        bare_dir = work / "bare"
        bare_dir.mkdir(exist_ok=True)
        async with _bare(bare_dir) as bare:
            # The same room talk while the upload goes to another process: what the machine's
            # two cores alone do to the room's latency.
            stop = asyncio.Event()
            other = asyncio.create_task(_latencies(talk, stop))
            result["bare_up"] = await _curl(
                "-w", "%{speed_upload}", "-T", str(payload), "-X", "POST",
                f"http://127.0.0.1:{bare}/files",
            ) / 1e6  # fmt: skip
            stop.set()
            result["p99_bare_upload_ms"] = 1000 * _p99(await other)
            result["bare_down"] = (
                await _curl("-w", "%{speed_download}", f"http://127.0.0.1:{bare}/file") / 1e6
            )
        writer.close()
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--quick", action="store_true", help="1 run of 64 MiB (CI)")
    args = parser.parse_args()
    runs, mib = (1, 64) if args.quick else (args.runs, args.mib)
    with tempfile.TemporaryDirectory(prefix="lanchat-bench-files-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        payload = work / "payload.bin"
        with payload.open("wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        results = []
        for i in range(runs):
            run_dir = work / f"run{i}"
            run_dir.mkdir()
            results.append(await one_run(mib, payload, run_dir))
            for path in sorted(run_dir.rglob("*"), reverse=True):  # 1 GiB files add up
                if path.is_file():
                    path.unlink()
            print(f"run {i + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in results[-1].items()),
                  flush=True)  # fmt: skip
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(f"\nmedians of {runs} runs, {mib} MiB over loopback:")
    print("| | lanchat | bare aiohttp | ratio |\n| --- | --- | --- | --- |")
    for way in ("up", "down"):
        ours, bare = med[f"lanchat_{way}"], med[f"bare_{way}"]
        print(f"| {way}load MB/s | {ours:.0f} | {bare:.0f} | {ours / bare:.2f}x |")
    print(f"| server RSS MiB | before {med['rss_before_mib']:.0f}, max during upload "
          f"{med['rss_max_mib']:.0f} | | |")  # fmt: skip
    idle, busy, other = med["p99_idle_ms"], med["p99_upload_ms"], med["p99_bare_upload_ms"]
    print(f"| room p99 latency ms | idle {idle:.2f}, during upload {busy:.2f} | during an "
          f"upload to the bare server {other:.2f} | {busy / idle:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
