"""Shared files when things go wrong: kill -9 in the middle of an upload, a full disk (issue 21).

"Disk full: a clear error for the uploader, nothing half-written served"; a crash leaves a
partial file that is never served and is deleted at the next start. The full disk is a small
tmpfs, mounted as root (like the netns tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from lanchat.store.files import files_dir
from tests.support import run_serve_process
from tests.web.filehost import curl, file_server, upload_args, uploader
from tests.web.test_serve_web import web_ports


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` for the block (root only)."""
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


async def test_kill_9_during_an_upload_leaves_nothing_served(tmp_path: Path) -> None:
    data = tmp_path / "data"
    payload = tmp_path / "big.bin"
    payload.write_bytes(os.urandom(8 << 20))
    partial = files_dir(data) / "partial"
    async with run_serve_process(data, web=True) as server:
        up = await uploader(server.port)
        slow = asyncio.create_task(
            curl("--limit-rate", "1M", *upload_args(up, payload, "big.bin", "x/y"))
        )
        for _ in range(100):
            if any(p.stat().st_size for p in partial.iterdir()):
                break
            await asyncio.sleep(0.05)
        server.proc.send_signal(signal.SIGKILL)
        await server.proc.wait()
        with contextlib.suppress(AssertionError):  # curl saw the connection die
            await slow
        [left] = list(partial.iterdir())
        assert 0 < left.stat().st_size < payload.stat().st_size
        assert os.listdir(files_dir(data) / "kept") == []
    async with run_serve_process(data, web=True) as again:
        [port] = web_ports(again.output)
        assert os.listdir(partial) == []  # cleared at start
        assert (await curl(f"http://127.0.0.1:{port}/files/{left.name}/big.bin")).status == 404


async def test_a_full_disk_is_a_clear_error_and_keeps_nothing(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 << 20))
    small = tmp_path / "small.txt"
    small.write_bytes(b"fits")
    with small_disk(tmp_path / "disk", "2m") as disk:
        async with file_server(disk / "data") as server:
            up = await uploader(server.port)
            full = await curl(*upload_args(up, big, "big.bin", "application/octet-stream"))
            assert full.status == 507
            assert full.body == (
                b"The server's disk is full, so your file was not kept; tell the host, "
                b"or send a smaller file.\n"
            )
            assert os.listdir(files_dir(disk / "data") / "partial") == []
            assert os.listdir(files_dir(disk / "data") / "kept") == []
            fits = await curl(*upload_args(up, small, "small.txt", "text/plain"))
            assert fits.status == 201
            assert (await curl(fits.headers["location"])).body == b"fits"
            await up.client.close()
