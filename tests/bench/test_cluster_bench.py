"""The cluster scenarios of the benchmark (issue 20): three nodes and Redis against one node.

Layer: test of the tool in scripts/benchkit. Runs `scripts/bench --quick` with the servers
lanchat (one node) and lanchat-cluster (three `lanchat serve --cluster` nodes and a real
redis-server, benchkit.cluster), two interleaved rounds so the paired row is printed. No timing
assertions: what is checked is that both ran, with the generator's processes spread over the
nodes, and that no message was lost or reordered between nodes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.runner import run_bench


@pytest.mark.timeout(420)  # eight runs, four of them starting three nodes and a Redis
def test_quick_cluster_scenarios_run_on_three_nodes_and_on_one_and_lose_nothing(
    tmp_path: Path,
) -> None:
    out, results = run_bench(
        tmp_path, "--quick", "--runs", "2", "--servers", "lanchat,lanchat-cluster",
        "--scenarios", "cluster,cluster-fanout", timeout_s=400,
    )  # fmt: skip
    assert "### 9 cluster: 200 messages/s, latency from another node" in out
    assert "| 3 nodes / 1 node, paired |" in out
    for scenario in ("cluster", "cluster-fanout"):
        for server in ("lanchat", "lanchat-cluster"):
            for run in results[scenario][server]:
                assert "error" not in run, (scenario, server, run)
                assert run["procs"] == 3, (scenario, server, run)
                checks = (run["lost"], run["reordered"], run["disconnected"])
                assert checks == (0, 0, 0), (scenario, server, run)
                assert run["deliveries_per_s"] > 0, (scenario, server, run)
        for run in results["cluster"]["lanchat-cluster"]:
            assert 0 < run["p50_ms"] <= run["p99_ms"], run


def test_a_cluster_scenario_on_another_server_says_why_it_cannot_run(tmp_path: Path) -> None:
    _, results = run_bench(
        tmp_path, "--quick", "--servers", "relay,lanchat-cluster", "--scenarios",
        "cluster,history", timeout_s=200,
    )  # fmt: skip
    assert results["cluster"]["relay"] == [
        {"error": "the cluster scenarios compare lanchat-cluster with one lanchat"}
    ]
    assert results["history"]["lanchat-cluster"] == [
        {"error": "lanchat-cluster runs the cluster scenarios only"}
    ]
