"""The verdicts of the benchmark report: lanchat against the best C/C++ server.

Layer: test of the tool in scripts/benchkit (issue #4, "prints the table plus ratios
lanchat/best-other"). The report is pure functions over run dicts as the benchmark saves them,
so these tests build such dicts directly.
"""

from __future__ import annotations

from typing import Any

import pytest
from benchkit import report

CPU = "cpu_us_per_delivery"  # lower is better
RATE = "deliveries_per_s"  # higher is better


def _runs(metric: str, *values: float) -> list[dict[str, Any]]:
    return [{metric: v, "lost": 0} for v in values]


@pytest.mark.parametrize(
    ("metric", "higher_better", "ratio", "paired"),
    [
        (CPU, False, "1.09x ngircd (short)", "1.13x ngircd, met in 1 of 3 rounds"),
        (RATE, True, "0.86x inspircd (short)", "0.89x inspircd, met in 1 of 3 rounds"),
    ],
)
def test_both_verdicts_compare_with_the_best_c_server_and_never_the_relay(
    metric: str, higher_better: bool, ratio: str, paired: str
) -> None:
    # The relay is best on both metrics but is the generator's yardstick, not a contender.
    results = {
        "relay": _runs(metric, 0.1, 0.1, 0.1) if not higher_better else _runs(metric, 9, 9, 9),
        "lanchat": _runs(metric, 0.60, 0.62, 0.58),
        "ngircd": _runs(metric, 0.50, 0.55, 0.60),
        "inspircd": _runs(metric, 0.70, 0.70, 0.50),
    }
    assert report.ratio(results, metric, higher_better) == ratio
    assert report.paired(results, metric, higher_better) == paired


def test_paired_ratio_cancels_drift_that_moves_all_servers_together() -> None:
    # The machine got slower over the rounds: every server's CPU per delivery rose. By median
    # lanchat is short (0.60 against 0.58); round by round it was better in 2 of 3.
    results = {
        "lanchat": _runs(CPU, 0.50, 0.70, 0.60),
        "ngircd": _runs(CPU, 0.52, 0.58, 0.62),
    }
    assert report.ratio(results, CPU, higher_better=False) == "1.03x ngircd (short)"
    assert report.paired(results, CPU, higher_better=False) == "0.97x ngircd, met in 2 of 3 rounds"


def test_paired_ratio_skips_a_round_with_a_failed_run() -> None:
    results = {
        "lanchat": [{CPU: 0.5}, {"error": "server died"}, {CPU: 0.6}, {CPU: 0.7}],
        "ngircd": _runs(CPU, 0.4, 0.5, 0.5, 0.5),
    }
    assert report.paired(results, CPU, higher_better=False) == "1.25x ngircd, met in 0 of 3 rounds"


def test_paired_ratio_needs_the_same_rounds_for_both_servers() -> None:
    # Merged from files that did not all hold both servers: run i is not the same round.
    results = {"lanchat": _runs(CPU, 0.5, 0.6, 0.7), "ngircd": _runs(CPU, 0.5, 0.6)}
    assert report.paired(results, CPU, higher_better=False) == "—"


def test_table_prints_both_verdict_rows_under_each_scenario() -> None:
    results: report.Results = {
        "fanout": {
            "lanchat": [{RATE: 1000, CPU: 0.5}, {RATE: 1100, CPU: 0.6}],
            "ngircd": [{RATE: 900, CPU: 0.6}, {RATE: 1000, CPU: 0.6}],
        }
    }
    text = report.table(results, ["lanchat", "ngircd"])
    assert "| lanchat / best C | 1.11x ngircd (meets) | 0.92x ngircd (meets) |" in text
    assert (
        "| paired by round | 1.11x ngircd, met in 2 of 2 rounds"
        " | 0.92x ngircd, met in 2 of 2 rounds |"
    ) in text


def test_web_table_compares_websocket_with_tcp_against_the_1_5x_target() -> None:
    results: report.Results = {
        "web": {
            "lanchat": [{RATE: 1000, CPU: 1.0, "p99_ms": 2.0}],
            "lanchat-ws": [{RATE: 1000, CPU: 1.6, "p99_ms": 3.0}],
        }
    }
    text = report.table(results, ["lanchat", "lanchat-ws"])
    assert "| WebSocket / TCP | 1.00x | 1.60x (short 1.5x) | 1.50x |" in text
    assert "best C" not in text


def test_tls_table_compares_tls_with_plain_tcp_against_the_1_3x_target() -> None:
    results: report.Results = {
        "fanout": {
            "lanchat": [{RATE: 1000, CPU: 1.0}],
            "lanchat-tls": [{RATE: 800, CPU: 1.2}],
        }
    }
    text = report.table(results, ["lanchat", "lanchat-tls"])
    assert "| TLS / plain | 0.80x | 1.20x (meets 1.3x) |" in text


def test_table_gives_cpu_and_p99_as_ratios_to_the_c_relay_round_by_round() -> None:
    p99 = "p99_ms"
    results: report.Results = {
        "latency": {
            "relay-c": [{p99: 2.0, "p50_ms": 1}, {p99: 4.0, "p50_ms": 1}],
            "lanchat": [{p99: 3.0, "p50_ms": 1}, {p99: 4.0, "p50_ms": 1}],
            "lanchat-asyncio": [{p99: 60.0, "p50_ms": 1}, {p99: 120.0, "p50_ms": 1}],
            "ngircd": [{p99: 6.0, "p50_ms": 1}, {p99: 8.0, "p50_ms": 1}],
        }
    }
    text = report.table(results, ["relay-c", "lanchat", "lanchat-asyncio", "ngircd"])
    # The p50 column has no limit ratio; p99 gets the median of the per-round ratios.
    assert "| lanchat / relay-c, paired |  | 1.25x relay-c in 2 rounds |  |" in text
    assert "| lanchat-asyncio / relay-c, paired |  | 30.00x relay-c in 2 rounds |  |" in text
    assert "| lanchat-asyncio, paired by round | 1.00x ngircd, met in 2 of 2 rounds |" in text
    assert "| best C / relay-c, paired |  | 2.50x relay-c in 2 rounds |  |" in text


def test_table_compares_lanchat_with_its_baseline_by_round_and_counts_rounds_under_5_ms() -> None:
    """`scripts/bench --baseline main` (issue 19): before and after a change in the same rounds,
    and the latency target, p99 under 5 ms, counted round by round."""
    p99 = "p99_ms"
    results: report.Results = {
        "latency": {
            "lanchat-asyncio": [{p99: 3.0, "p50_ms": 1}, {p99: 6.0, "p50_ms": 1}],
            "lanchat-asyncio@main": [{p99: 30.0, "p50_ms": 1}, {p99: 40.0, "p50_ms": 1}],
        }
    }
    text = report.table(results, ["lanchat-asyncio", "lanchat-asyncio@main"])
    base = "lanchat-asyncio@main"
    row = f"| lanchat-asyncio / {base}, paired | 1.00x {base} in 2 rounds"
    assert f"{row} | 0.12x {base} in 2 rounds |" in text
    assert "| lanchat-asyncio: p99_ms < 5 | met in 1 of 2 rounds |" in text
    assert "| lanchat-asyncio@main: p99_ms < 5 | met in 0 of 2 rounds |" in text
