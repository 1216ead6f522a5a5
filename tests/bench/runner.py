"""Running `scripts/bench` for the tests of the benchmark tool, and reading what it saved."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def run_bench(out: Path, *args: str, timeout_s: float) -> tuple[str, dict[str, Any]]:
    """Run `scripts/bench ARGS --out OUT`, which must succeed.

    Returns:
        What it printed, and the results of the JSON file it saved (scenario -> server ->
        runs).
    """
    proc = subprocess.run(
        [str(REPO / "scripts" / "bench"), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (json_file,) = out.glob("bench-*.json")
    return proc.stdout, json.loads(json_file.read_text())["results"]
