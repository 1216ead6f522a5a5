"""What scripts/run, scripts/test and scripts/bench do and say, run as a newcomer runs them."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from lanchat import __version__

REPO = Path(__file__).resolve().parents[1]


def _checked_modules() -> list[str]:
    """The modules `mypy lanchat` (scripts/test) checks, as dotted names."""
    names = []
    for path in (REPO / "lanchat").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_mypy_override_applies_to_a_checked_module() -> None:
    # mypy prints "unused section(s)" on every scripts/test run for an override that matches
    # nothing it checks; "a.*" matches a and everything under it (mypy's config docs).
    overrides = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    modules = _checked_modules()
    for override in overrides:
        for pattern in override["module"]:
            wanted = [pattern, pattern.removesuffix(".*")] if pattern.endswith(".*") else [pattern]
            assert any(fnmatch.fnmatchcase(m, w) for m in modules for w in wanted), pattern


def _run_script(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`scripts/run ARGS` with HOME=`home` and no lanchat command on the PATH."""
    venv_bin = str(REPO / ".venv" / "bin")
    path = ":".join(p for p in os.environ["PATH"].split(":") if p and p != venv_bin)
    env = {**os.environ, "HOME": str(home), "PATH": path}
    env.pop("PIPX_BIN_DIR", None)
    return subprocess.run(
        [str(REPO / "scripts" / "run"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_run_says_where_the_lanchat_command_is(tmp_path: Path) -> None:
    # After scripts/run, `lanchat` in a new shell said "command not found" (#14).
    done = _run_script(tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"lanchat {__version__}\n"
    assert (
        f"==> the lanchat command is {REPO}/.venv/bin/lanchat; scripts/run --install puts it "
        "on your PATH"
    ) in done.stderr.splitlines()


def test_run_install_puts_the_lanchat_command_in_local_bin(tmp_path: Path) -> None:
    done = _run_script(tmp_path, "--install")
    assert done.returncode == 0, done.stderr
    command = tmp_path / ".local" / "bin" / "lanchat"
    assert command.resolve() == (REPO / ".venv" / "bin" / "lanchat").resolve()
    assert f"==> {command.parent} is not on your PATH: add it" in done.stderr
    shown = subprocess.run([command, "--version"], capture_output=True, text=True, check=True)
    assert shown.stdout == f"lanchat {__version__}\n"


def test_scripts_bench_readme_and_benchmark_page_give_one_full_run_time() -> None:
    bench = re.search(r"# full run: .*~(\d+) min", (REPO / "scripts" / "bench").read_text())
    readme = re.search(r"`scripts/bench` \(about (\d+) minutes\)", (REPO / "README.md").read_text())
    page = re.search(r"~(\d+) min here", (REPO / "docs" / "benchmarks.md").read_text())
    assert bench and readme and page
    assert bench.group(1) == readme.group(1) == page.group(1)


def _quick(script: str) -> list[str]:
    """The output lines of `scripts/<script> --quick`, which must exit 0."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.splitlines()


def test_search_benchmark_runs_quick() -> None:
    rows = _quick("bench_search.py")
    assert rows[0] == "search benchmark: 20,000 messages in 10 rooms, medians of 5 runs"
    assert any(row.startswith("size     search index") for row in rows)
    common = next(row for row in rows if "common word (rank 1)" in row)
    assert "100 hits" in common  # the made-up text really holds the words searched


def test_cluster_start_benchmark_runs_quick() -> None:
    """scripts/bench_cluster_start.py (issue 20): every way a node starts is timed, and the
    snapshot leaves one entry of the log."""
    first, *_ = _quick("bench_cluster_start.py")
    assert first.startswith("round 1: memory_before_mb ")
    for key in ("scratch_s", "block_ms", "handoff_s", "snapshot_s", "ratio"):
        assert f" {key} " in first
    assert " xlen_after_trim 1," in first


def test_tail_benchmark_runs_quick_with_every_probe() -> None:
    """scripts/bench_tail.py (issue 19): the latency load on a probed lanchat; no timing is
    asserted, only that every probe reports and the clients lost nothing."""
    head, *probes = _quick("bench_tail.py")
    assert head.startswith("run 1 (asyncio, load average ")
    assert "lost/reordered 0/0" in head
    names = ["loop_lag", "gc", "gc2", "read", "commit", "pickup", "sqlite", "back", "shown"]
    names += ["pass", "flush"]
    assert [line.split()[0] for line in probes] == names
    for name in names[3:]:  # the window saw messages
        (line,) = [p for p in probes if p.split()[0] == name]
        assert "n=" in line, line
