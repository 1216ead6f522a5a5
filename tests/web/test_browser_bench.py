"""scripts/bench_web.py runs: the page weight table (under 100 KB gzipped, issue 16) and one
cold load in Chromium. The timings themselves are the benchmark's to report (docs/benchmarks.md),
never asserted here; the weight is a size, not a timing."""

from __future__ import annotations

import subprocess
import sys

from tests.discovery.netns import REPO


def test_bench_web_prints_the_weight_and_first_render_tables() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_web.py"), "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(met: < 100 KB)" in done.stdout
    for row in ("| app.js |", "| index.html |", "| first contentful paint |", "| rooms listed |"):
        assert row in done.stdout
