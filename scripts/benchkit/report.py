"""Turn raw benchmark runs into the table, the lanchat/best-other ratios, JSON and a PNG chart.

Layer: standard library (+ matplotlib, the optional `bench` extra, for the chart only).

Every cell is "median (min-max)" over the runs of one server in one scenario. The ratio row
divides lanchat's median by the best median among the C/C++ servers (ngircd, inspircd,
hybrid); the relay is the load generator's yardstick and is never "best other".

The paired row compares the same two servers round by round. Runs are interleaved, so run i of
every server falls in the same stretch of minutes; on a shared machine the medians of all
servers drift together by 15-20 % between sets, and a ratio of per-round ratios cancels most
of that drift. It gives the median of lanchat_i / best_i and in how many rounds lanchat met the
target.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

C_SERVERS = ("ngircd", "inspircd", "hybrid")
LANCHATS = ("lanchat", "lanchat-asyncio")  # lanchat on uvloop and on the standard loop
LIMIT = "relay-c"  # the physical limit: a relay of one room in C (benchkit/relay.c)
LIMIT_METRICS = ("cpu_us_per_delivery", "p99_ms")  # what is also given as a ratio to it
# Absolute targets: scenario -> (metric, bound). Issue 19: the latency scenario's p99 under
# 5 ms, on uvloop and on the standard loop.
BOUNDS = {"latency": ("p99_ms", 5.0)}

# scenario -> [(metric, label, higher_is_better)]
HEADLINE: dict[str, list[tuple[str, str, bool]]] = {
    "fanout": [
        ("deliveries_per_s", "deliveries/s", True),
        ("cpu_us_per_delivery", "CPU µs/delivery", False),
    ],
    "latency": [
        ("p50_ms", "p50 ms", False),
        ("p99_ms", "p99 ms", False),
        ("max_ms", "max ms", False),
    ],
    "bigroom": [("deliveries_per_s", "deliveries/s", True), ("p99_ms", "p99 ms", False)],
    "memory": [("kib_per_conn", "KiB/conn", False)],
    "storm": [("registrations_per_s", "registrations/s", True), ("failed", "failed", False)],
    "history": [("ms", "ms", False)],
    "web": [
        ("deliveries_per_s", "deliveries/s", True),
        ("cpu_us_per_delivery", "CPU µs/delivery", False),
        ("p99_ms", "p99 ms", False),
    ],
    "handshake": [
        ("connections_per_s", "connections/s", True),
        ("cpu_us_per_connection", "CPU µs/connection", False),
    ],
    "cluster": [
        ("p50_ms", "node-to-node p50 ms", False),
        ("p99_ms", "node-to-node p99 ms", False),
        ("max_ms", "max ms", False),
    ],
    "cluster-fanout": [
        ("deliveries_per_s", "deliveries/s", True),
        ("cpu_us_per_delivery", "CPU µs/delivery (nodes + Redis)", False),
        ("redis_cpu_share_pct", "Redis's part of that CPU %", False),
    ],
}
TITLES = {
    "fanout": "1 fan-out saturation",
    "latency": "2 latency at moderate load",
    "bigroom": "3 big room",
    "memory": "4 memory, idle clients",
    "storm": "5 connection storm",
    "history": "6 CHATHISTORY LATEST",
    "web": "7 one room of 500: TCP (lanchat) or WebSocket (lanchat-ws) clients",
    "handshake": "8 connections opened and answered (TLS handshakes with lanchat-tls)",
    "cluster": "9 cluster: 200 messages/s, latency from another node (lanchat: one node)",
    "cluster-fanout": "10 cluster: fan-out saturation over three nodes (lanchat: one node)",
}
_CHECKS = ("lost", "reordered", "disconnected")
# lanchat over another transport: (server, table row, CPU per delivery target over plain TCP)
_TRANSPORTS = (("lanchat-ws", "WebSocket / TCP", 1.5), ("lanchat-tls", "TLS / plain", 1.3))
_CLUSTER = ("lanchat-cluster", "3 nodes / 1 node")  # (server, table row): ratios, no target

Runs = list[dict[str, Any]]
Results = dict[str, dict[str, Runs]]  # scenario -> server -> runs (each a metrics dict or error)


def _values(runs: Runs, metric: str) -> list[float]:
    return [float(r[metric]) for r in runs if metric in r and not math.isnan(float(r[metric]))]


def median(runs: Runs, metric: str) -> float | None:
    """The median of `metric` over the successful runs, or None."""
    vals = _values(runs, metric)
    return statistics.median(vals) if vals else None


def _fmt(x: float) -> str:
    if x == int(x) and abs(x) < 1000:
        return str(int(x))
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.0f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def cell(runs: Runs, metric: str, why: bool = True) -> str:
    """'median (min-max)' of a metric, or the first error of the runs."""
    vals = _values(runs, metric)
    if not vals:
        errors = [r["error"] for r in runs if "error" in r]
        return f"— ({errors[0]})" if errors and why else "—"
    m = statistics.median(vals)
    if len(vals) == 1:
        return _fmt(m)
    return f"{_fmt(m)} ({_fmt(min(vals))}-{_fmt(max(vals))})"


def _best_other(results: dict[str, Runs], metric: str, higher_better: bool) -> str | None:
    """The C/C++ server with the best median of `metric`, or None if none has one."""
    others = [
        (m, name) for name in C_SERVERS if (m := median(results.get(name, []), metric)) is not None
    ]
    return (max if higher_better else min)(others)[1] if others else None


def _meets(r: float, metric: str, higher_better: bool) -> bool:
    # Issue #4's targets are 1.0x the best, except memory: at most 1.5x the best.
    allowed = 1.5 if metric == "kib_per_conn" else 1.0
    return r >= 1.0 if higher_better else r <= allowed


def ratio(results: dict[str, Runs], metric: str, higher_better: bool, me: str = "lanchat") -> str:
    """`me`'s median / the best C/C++ server's median, with the verdict spelled out."""
    mine = median(results.get(me, []), metric)
    who = _best_other(results, metric, higher_better)
    if mine is None or who is None:
        return "—"
    best = median(results[who], metric)
    if best == 0:
        return "both 0" if mine == 0 else f"{_fmt(mine)} vs 0 ({who})"
    r = mine / best
    return f"{r:.2f}x {who} ({'meets' if _meets(r, metric, higher_better) else 'short'})"


def paired(
    results: dict[str, Runs],
    metric: str,
    higher_better: bool,
    me: str = "lanchat",
    against: str | None = None,
) -> str:
    """Round by round against the same best server as `ratio`: median ratio, rounds met.

    Run i of every server is round i (interleaved). Only rounds where both runs have the
    metric count; '—' when the two servers have different numbers of runs (runs merged from
    files that did not hold both), since then run i is not the same round for both.
    With `against` (the physical limit, LIMIT) the ratio has no target: no rounds met.
    """
    mine = results.get(me, [])
    who = against or _best_other(results, metric, higher_better)
    if who is None or who not in results or len(mine) != len(results[who]):
        return "—"
    ratios = []
    for a, b in zip(mine, results[who], strict=True):
        x, y = a.get(metric), b.get(metric)
        if x is not None and y:  # a failed run has no metric; a 0 has no ratio
            r = float(x) / float(y)
            if not math.isnan(r):  # a percentile of no latencies
                ratios.append(r)
    if len(ratios) < 2:
        return "—"
    if against is not None:
        return f"{statistics.median(ratios):.2f}x {who} in {len(ratios)} rounds"
    met = sum(_meets(r, metric, higher_better) for r in ratios)
    return f"{statistics.median(ratios):.2f}x {who}, met in {met} of {len(ratios)} rounds"


def transport_ratio(
    results: dict[str, Runs], metric: str, transport: str = "lanchat-ws", target: float = 1.5
) -> str:
    """`transport`'s median / lanchat's: lanchat-ws (issue 16: CPU per delivery at most 1.5x
    over TCP) or lanchat-tls (issue 17: at most 1.3x)."""
    other, tcp = median(results.get(transport, []), metric), median(results["lanchat"], metric)
    if other is None or not tcp:
        return "—"
    r = other / tcp
    if metric == "cpu_us_per_delivery":
        return f"{r:.2f}x ({'meets' if r <= target else 'short'} {target}x)"
    return f"{r:.2f}x"


def table(results: Results, servers: list[str]) -> str:
    """The results as Markdown tables, one per scenario, plus check columns."""
    out: list[str] = []
    for scenario, per_server in results.items():
        metrics = HEADLINE[scenario]
        head = [
            "server",
            *(label for _m, label, _h in metrics),
            "lost/reordered/disc.",
            "srv CPU %",
            "gen CPU %",
            "busiest gen proc %",
        ]
        out.append(f"\n### {TITLES[scenario]}\n")
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for name in servers:
            runs = per_server.get(name)
            if runs is None:
                continue
            checks = "/".join(
                str(int(sum(_values(runs, k)))) if _values(runs, k) else "—" for k in _CHECKS
            )
            row = [
                name,
                cell(runs, metrics[0][0]),
                *(cell(runs, m, why=False) for m, _l, _h in metrics[1:]),
                checks,
                cell(runs, "server_cpu_pct", why=False),
                cell(runs, "gen_cpu_pct", why=False),
                cell(runs, "gen_cpu_max_pct", why=False),
            ]
            out.append("| " + " | ".join(row) + " |")
        for transport, label, target in _TRANSPORTS:
            if "lanchat" in per_server and transport in per_server:
                cells = [transport_ratio(per_server, m, transport, target) for m, _l, _h in metrics]
                out.append(f"| {label} | " + " | ".join(cells) + " | | | | |")
        if "lanchat" in per_server and _CLUSTER[0] in per_server:
            cells = [paired(per_server, m, h, _CLUSTER[0], "lanchat") for m, _l, h in metrics]
            out.append(f"| {_CLUSTER[1]}, paired | " + " | ".join(cells) + " | | | | |")
        for me in (m for m in LANCHATS if m in per_server):
            if any(name in per_server for name in C_SERVERS):
                cells = [ratio(per_server, m, h, me) for m, _l, h in metrics]
                out.append(f"| {me} / best C | " + " | ".join(cells) + " | | | | |")
                cells = [paired(per_server, m, h, me) for m, _l, h in metrics]
                label = "paired by round" if me == "lanchat" else f"{me}, paired by round"
                out.append(f"| {label} | " + " | ".join(cells) + " | | | | |")
            if LIMIT in per_server:
                cells = [
                    paired(per_server, m, h, me, LIMIT) if m in LIMIT_METRICS else ""
                    for m, _l, h in metrics
                ]
                out.append(f"| {me} / {LIMIT}, paired | " + " | ".join(cells) + " | | | | |")
            for base in (n for n in per_server if n.startswith(f"{me}@")):  # --baseline
                cells = [paired(per_server, m, h, me, base) for m, _l, h in metrics]
                out.append(f"| {me} / {base}, paired | " + " | ".join(cells) + " | | | | |")
        if scenario in BOUNDS:
            metric, bound = BOUNDS[scenario]
            for name in (n for n in servers if n.startswith("lanchat")):
                if vals := _values(per_server.get(name, []), metric):
                    met = sum(v < bound for v in vals)
                    out.append(
                        f"| {name}: {metric} < {bound:g} | met in {met} of {len(vals)} rounds"
                        + " |" * (len(head) - 1)
                    )
        if LIMIT in per_server:  # how far the best C server is from the limit, per metric
            cells = []
            for m, _l, h in metrics:
                who = _best_other(per_server, m, h) if m in LIMIT_METRICS else None
                cells.append(paired(per_server, m, h, who, LIMIT) if who else "")
            if any(cells):
                out.append(f"| best C / {LIMIT}, paired | " + " | ".join(cells) + " | | | | |")
    return "\n".join(out) + "\n"


def save_json(path: Path, meta: dict[str, Any], results: Results) -> None:
    """Write every run of every server and scenario, with the run's metadata."""
    path.write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str))


def save_chart(path: Path, results: Results, servers: list[str]) -> str:
    """A bar chart per headline metric (median, min-max whiskers). Returns a note for stdout."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart skipped: matplotlib is not installed (pip install 'lanchat[bench]')"
    panels = [
        (scenario, m, label, h)
        for scenario, per in results.items()
        for m, label, h in HEADLINE[scenario]
        if m != "failed" and any(_values(per.get(s, []), m) for s in servers)
    ]
    if not panels:
        return "chart skipped: no successful runs"
    cols = 3
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (scenario, m, label, higher) in zip(axes.flat, panels, strict=False):
        names, meds, lo, hi = [], [], [], []
        for s in servers:
            vals = _values(results[scenario].get(s, []), m)
            if vals:
                med = statistics.median(vals)
                names.append(s)
                meds.append(med)
                lo.append(med - min(vals))
                hi.append(max(vals) - med)
        colors = [
            "tab:orange" if n in LANCHATS else "tab:gray" if n in ("relay", LIMIT) else "tab:blue"
            for n in names
        ]
        ax.bar(names, meds, yerr=[lo, hi], color=colors, capsize=3)
        ax.set_title(
            f"{TITLES[scenario]}\n{label} ({'higher' if higher else 'lower'} is better)", fontsize=9
        )
        ax.tick_params(axis="x", labelsize=8, rotation=20)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"chart: {path}"
