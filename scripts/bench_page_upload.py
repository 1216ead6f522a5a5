"""Benchmark the web page's uploads (issue 21): a file sent from the page, against curl.

Usage:
    .venv/bin/python scripts/bench_page_upload.py [--runs 3] [--mib 256]

Runs `lanchat serve` on 127.0.0.1 as scripts/bench_files.py does ([files] limits raised to
fit the file) and a headless Chromium (Debian's, through Selenium, as in the tests) on its
page, joined to #bench. Each run, in turn: curl uploads a --mib MiB file with a FILEHOST
token (curl's own MB/s), and the page sends the same file through its attach button's file
input: from handing the file to the input until an IRC client in the room reads the link,
so the page's whole path counts (token over its WebSocket, the XMLHttpRequest upload, the
ACTION). Prints the medians and their ratio. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_files import _Irc, _lanchat  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from tests.web.page_browser import DESKTOP, Page, chromium  # noqa: E402


async def _token(port: int) -> tuple[str, asyncio.StreamWriter]:
    """A FILEHOST token, and the connection it lives with (close it when done)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"NICK up\r\nUSER up 0 * :up\r\nFILEHOST\r\n")
    while True:
        line = (await reader.readline()).decode()
        if " NOTE FILEHOST TOKEN " in line:
            return line.split()[4], writer


async def _curl_up(url: str, token: str, payload: Path) -> float:
    proc = await asyncio.create_subprocess_exec(
        "curl", "-s", "-S", "-f", "-o", "/dev/null", "-w", "%{speed_upload}", "-H", "Expect:",
        "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/octet-stream",
        "-H", 'Content-Disposition: attachment; filename="curl.bin"',
        "-T", str(payload), "-X", "POST", url, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0, f"curl's upload failed ({proc.returncode})"
    return float(out) / 1e6


def _join(page: Page, web: int) -> None:
    page.open(f"http://127.0.0.1:{web}/", DESKTOP)
    page.type_into("textbox", "Nickname", "pager")
    page.click("button", "#bench")
    page.control("button", "Attach a file")


async def one_run(mib: int, payload: Path, work: Path, page: Page) -> dict[str, float]:
    async with _lanchat(work, mib) as (_, port, web):
        reader = await _Irc.join(port, "reader")
        token, holder = await _token(port)
        curl = await _curl_up(f"http://127.0.0.1:{web}/files", token, payload)
        holder.close()
        await asyncio.to_thread(_join, page, web)
        chooser = page.driver.find_element(By.CSS_SELECTOR, "input[type=file][multiple]")
        start = time.perf_counter()
        await asyncio.to_thread(chooser.send_keys, str(payload))
        await reader.until(b"shared payload.bin")
        seconds = time.perf_counter() - start
        return {"curl_up": curl, "page_up": payload.stat().st_size / seconds / 1e6}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="lanchat-bench-page-", dir="/var/tmp") as tmp,
        chromium() as page,
    ):
        work = Path(tmp)
        payload = work / "payload.bin"
        with payload.open("wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        results = []
        for i in range(args.runs):
            run_dir = work / f"run{i}"
            results.append(await one_run(args.mib, payload, run_dir, page))
            for path in sorted(run_dir.rglob("*"), reverse=True):
                if path.is_file():
                    path.unlink()
            print(f"run {i + 1}: " + ", ".join(f"{k} {v:.0f}" for k, v in results[-1].items()),
                  flush=True)  # fmt: skip
    page_up = statistics.median(r["page_up"] for r in results)
    curl_up = statistics.median(r["curl_up"] for r in results)
    print(f"\nmedians of {args.runs} runs, {args.mib} MiB over loopback:")
    print("| upload MB/s | page (Chromium) | curl | ratio |\n| --- | --- | --- | --- |")
    print(f"| lanchat serve | {page_up:.0f} | {curl_up:.0f} | {page_up / curl_up:.2f}x |")


if __name__ == "__main__":
    asyncio.run(main())
