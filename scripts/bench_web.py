"""Weight and first render of the browser client (issue 16: "page weight under 100 KB").

Page weight: every file of lanchat/web/static, raw and gzipped (level 9), as a guest's phone
downloads them on a first visit (all of them are loaded by the page).

First render: a real `lanchat serve` on 127.0.0.1 (web page on a free port, no mDNS) and a
headless Chromium (Debian's, through Selenium, as in the tests) that loads the page cold
(browser cache off) --runs times. Per load, in milliseconds from the start of navigation:
DOMContentLoaded, the first contentful paint, and "rooms listed": when the first room's
button is in the page (a MutationObserver installed through DevTools before the page's own
scripts run, so the page itself is not changed for the measurement). Prints a table of the
medians with min and max.

Usage:
    .venv/bin/python scripts/bench_web.py [--runs 10]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.web.page_browser: one way to start Chromium

from lanchat.web.site import STATIC_DIR  # noqa: E402
from tests.web.page_browser import start_chromium  # noqa: E402

WEIGHT_LIMIT_BYTES = 100 * 1024  # issue 16: all files, gzipped

# Installed through DevTools before any script of the page runs (not subject to its CSP).
_WATCH_ROOMS = """
new MutationObserver((changes, observer) => {
  if (document.querySelector('#here-rooms button')) {
    window.__roomsListedMs = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""
_READ_TIMES = """
const done = arguments[arguments.length - 1];
const read = () => {
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  if (window.__roomsListedMs === undefined || !paint) { requestAnimationFrame(read); return; }
  const nav = performance.getEntriesByType('navigation')[0];
  done([nav.domContentLoadedEventEnd, paint.startTime, window.__roomsListedMs]);
};
read();
"""


def page_weight() -> list[tuple[str, int, int]]:
    """(file name, raw bytes, gzipped bytes) of every static file, by name."""
    rows = []
    for path in sorted(p for p in STATIC_DIR.rglob("*") if p.is_file()):
        data = path.read_bytes()
        rows.append((str(path.relative_to(STATIC_DIR)), len(data), len(gzip.compress(data, 9))))
    return rows


@contextmanager
def serve() -> Iterator[str]:
    """A `lanchat serve` on 127.0.0.1 with the web page on a free port; yields the page URL."""
    with tempfile.TemporaryDirectory() as data:
        command = [sys.executable, "-m", "lanchat", "serve", "--host", "127.0.0.1", "--port", "0",
                   "--web-port", "0", "--tls-port", "0", "--no-mdns",
                   "--data-dir", data]  # fmt: skip
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            url = ""
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.strip().startswith("http://"):
                    url = line.strip()
                if line.startswith("ready:"):
                    break
            if not url:
                raise SystemExit("lanchat serve printed no web address; see its output above")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def first_render(url: str, runs: int) -> list[tuple[float, float, float]]:
    """(DOMContentLoaded, first contentful paint, rooms listed) in ms, one per cold load."""
    driver = start_chromium()
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _WATCH_ROOMS})
        driver.set_script_timeout(30)
        times = []
        for _ in range(runs):
            driver.get("about:blank")
            driver.get(url)
            dcl, fcp, rooms = driver.execute_async_script(_READ_TIMES)
            times.append((float(dcl), float(fcp), float(rooms)))
        return times
    finally:
        driver.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="cold page loads (default 10)")
    args = parser.parse_args()

    rows = page_weight()
    raw, packed = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print("| file | bytes | gzip -9 |\n|---|---:|---:|")
    for name, size, zipped in rows:
        print(f"| {name} | {size:,} | {zipped:,} |")
    verdict = "met" if packed < WEIGHT_LIMIT_BYTES else "NOT MET"
    print(f"| **all {len(rows)} files** | **{raw:,}** | **{packed:,}** ({verdict}: < 100 KB) |")

    with serve() as url:
        times = first_render(url, args.runs)
    print(f"\n| cold load, {args.runs} runs (ms) | median | min | max |\n|---|---:|---:|---:|")
    for i, what in enumerate(("DOMContentLoaded", "first contentful paint", "rooms listed")):
        column = [t[i] for t in times]
        median, low, high = statistics.median(column), min(column), max(column)
        print(f"| {what} | {median:.0f} | {low:.0f} | {high:.0f} |")
    return 0 if packed < WEIGHT_LIMIT_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())
