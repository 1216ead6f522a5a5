"""scripts/bench_web.py runs: the page weight table (under 100 KB gzipped, issue 16) and one
cold load in Chromium; scripts/bench_page_upload.py runs: one small upload from the page. The
timings themselves are the benchmark's to report (docs/benchmarks.md), never asserted here;
the weight is a size, not a timing."""

from __future__ import annotations

import subprocess
import sys

from tests.discovery.netns import REPO


def _bench(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_bench_page_upload_prints_the_page_against_curl() -> None:
    assert "| lanchat serve |" in _bench("bench_page_upload.py", "--runs", "1", "--mib", "4")


def test_bench_web_prints_the_weight_and_first_render_tables() -> None:
    out = _bench("bench_web.py", "--runs", "1")
    assert "(met: < 100 KB)" in out
    for row in ("| app.js |", "| index.html |", "| first contentful paint |", "| rooms listed |"):
        assert row in out
