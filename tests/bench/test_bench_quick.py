"""The benchmark still runs: `scripts/bench --quick` end to end, on every server it knows.

Layer: test of the tool in scripts/benchkit (issue #4, "A --quick mode small enough for CI").
No timing assertions: speed is what the benchmark reports, not what the tests check. What is
checked is that every scenario ran on every server (or says why it could not), that the
output files exist, and that no message was lost or reordered on lanchat (on both loops) or
the relays.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.bench.runner import run_bench

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = ("fanout", "latency", "bigroom", "memory", "storm", "history")
SERVERS = ("relay-c", "relay", "lanchat", "lanchat-asyncio", "ngircd", "inspircd", "hybrid")
OURS = ("relay-c", "relay", "lanchat", "lanchat-asyncio")  # what must run everywhere
MULTI_PROCESS = ("fanout", "bigroom")  # latency runs one generator process, pinned


@pytest.mark.timeout(200)  # the run below may take its 170 s on a loaded machine
def test_quick_benchmark_writes_table_json_and_results_for_every_server(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(REPO / "scripts" / "bench"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "### 1 fan-out saturation" in proc.stdout
    assert "| lanchat / best C |" in proc.stdout
    assert "| lanchat-asyncio / relay-c, paired |" in proc.stdout
    (json_file,) = tmp_path.glob("bench-*.json")
    data = json.loads(json_file.read_text())
    results = data["results"]
    assert set(results) == set(SCENARIOS)
    for scenario in SCENARIOS:
        assert set(results[scenario]) == set(SERVERS)
        for server in OURS:
            (run,) = results[scenario][server]
            if scenario == "history" and server.startswith("relay"):
                assert run == {"error": "no CHATHISTORY"}
                continue
            assert "error" not in run, (scenario, server, run)
            assert run.get("lost", 0) == 0, (scenario, server, run)
            assert run.get("reordered", 0) == 0, (scenario, server, run)
            assert run.get("failed", 0) == 0, (scenario, server, run)
            if scenario in MULTI_PROCESS:  # --quick exercises the split load generator
                assert run["procs"] == 2, (scenario, server, run)
            elif scenario == "latency":
                assert run["procs"] == 1, (scenario, server, run)
        for server in ("ngircd", "inspircd", "hybrid"):
            (run,) = results[scenario][server]
            if "error" in run:  # a server that could not be set up says why
                assert run["error"].startswith(("not set up:", "no CHATHISTORY")), run
    for server in ("lanchat", "lanchat-asyncio"):  # CHATHISTORY LATEST * 1000
        assert results["history"][server][0]["messages"] == 1000
    assert data["meta"]["limits_not_lifted"]["hybrid"]
    assert data["meta"]["procs"] == 2
    assert (tmp_path / "latest.md").read_text().startswith("\n### 1 fan-out saturation")
    assert list(tmp_path.glob("bench-*.png")) or "chart skipped" in proc.stdout


def test_quick_benchmark_of_lanchat_behind_tls_loses_nothing(tmp_path: Path) -> None:
    out, results = run_bench(
        tmp_path, "--quick", "--servers", "lanchat,lanchat-tls", "--scenarios",
        "fanout,handshake", timeout_s=110,
    )  # fmt: skip
    assert "| TLS / plain |" in out
    for server in ("lanchat", "lanchat-tls"):
        (fanout,) = results["fanout"][server]
        assert (fanout["lost"], fanout["reordered"], fanout["disconnected"]) == (0, 0, 0), fanout
        (handshake,) = results["handshake"][server]
        assert handshake["failed"] == 0 and handshake["connections_per_s"] > 0, handshake
