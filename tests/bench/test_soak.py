"""The soak still runs: `scripts/bench soak` for a few seconds, and the growth it reports.

Layer: test of the tool in scripts/benchkit (issue 13, item 12). No memory assertion: whether
RSS levels off is what the hour-long soak reports (docs/benchmarks.md), not what a test checks.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from benchkit.soak import Sample, growth_per_10min

REPO = Path(__file__).resolve().parents[2]


def test_growth_per_10min_is_the_slope_between_the_nearest_samples() -> None:
    samples = [Sample(t, 1000 + t, 0, 0) for t in (0.0, 60.0, 120.0, 180.0)]
    assert growth_per_10min(samples, 0, 170) == 600.0  # 1 KiB a second, from 0 s to 180 s
    assert growth_per_10min(samples, 100, 100) == 0.0


def test_short_soak_prints_the_rss_table_and_saves_every_sample(tmp_path: Path) -> None:
    args = ["--duration", "2", "--sample", "0.5", "--clients", "6", "--senders", "2"]
    bench = str(REPO / "scripts" / "bench")
    out = subprocess.check_output(
        [bench, "soak", *args, "--rate", "20", "--out", str(tmp_path)], text=True, timeout=90
    )
    assert "| minute | server RSS, MiB |" in out
    (saved,) = tmp_path.glob("soak-*.json")
    data = json.loads(saved.read_text())
    assert data["lost"] == 0
    assert len(data["samples"]) >= 4
    assert data["samples"][-1]["sent"] >= 30
