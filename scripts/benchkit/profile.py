"""Profile the lanchat server under benchmark load with py-spy, and summarise the hotspots.

Layer: standard library; runs the py-spy binary (the optional `bench` extra) against the
server's pid during a scenario's measured window only (setup traffic is not sampled).

The summary lists functions by own time (the leaf frame of a sample: where the CPU actually
was) and by inclusive time (any frame of the sample), as a share of the sampled busy time;
py-spy skips idle samples by default.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


class Profiler:
    """py-spy attached to one process between start() and stop()."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid = pid
        self.out = out  # collapsed stacks ("frame;frame;... count"), py-spy --format raw
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start sampling (100 Hz, all threads, Python frames only)."""
        exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        cmd = [exe, "record", "--pid", str(self.pid), "--format", "raw", "--rate", "100"]
        with self.out.with_suffix(".log").open("wb") as log:
            self.proc = subprocess.Popen(
                [*cmd, "--output", str(self.out), "--nonblocking", "--threads"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        """Stop sampling; py-spy writes the collapsed stacks on SIGINT."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m["file"]
    for marker in ("/lanchat/", "/site-packages/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{m['func']} ({file}:{m['line']})" if m["line"] else f"{m['func']} ({file})"


# Areas of lanchat's time, tested in order on each sample's stack (raw frames) and leaf frame.
_AREAS: tuple[tuple[str, str, str], ...] = (
    ("SQLite writer thread (lanchat.store)", "stack", "lanchat/store/"),
    ("logging (the room log line per message)", "stack", "(logging/"),
    ("transport.write: send syscalls", "leaf", "write_pending"),
    ("uvloop's C code: epoll, recv, callbacks", "leaf", "Runner.run"),
    ("fan-out: runs queued on their members (Outgoing.queue)", "stack", "Outgoing.queue"),
    ("messages released after the commit (Hub._pump)", "stack", "Hub._pump"),
    ("parse, dispatch, handlers (and fan-out of unstored lines)", "stack", "data_received"),
    ("flush bookkeeping", "stack", "_flush"),
)


def _area(stack: str, leaf: str) -> str:
    for name, where, needle in _AREAS:
        if needle in (stack if where == "stack" else leaf):
            return name
    return "other"


def summarise(collapsed: Path, top: int = 15) -> str:
    """The top functions by own and by inclusive share of busy samples.

    Args:
        collapsed: py-spy raw output ("frame;frame;... count" per line, outermost first).
        top: how many functions to list in each ranking.

    Returns:
        A plain-text report, or a line saying why there is none.
    """
    if not collapsed.exists():
        log = collapsed.with_suffix(".log")
        why = log.read_text(errors="replace").strip()[-300:] if log.exists() else "no log"
        return f"no profile: {collapsed} was not written (py-spy said: {why})"
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        # The first frame is the thread ("thread (0x..)"): not a function.
        frames = [_short(f) for f in stack.split(";") if not f.startswith(("thread ", "process "))]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        areas[_area(stack, frames[-1])] += n
        for f in set(frames):
            incl[f] += n
    if not total:
        return "no profile: no busy samples"
    lines = [f"{total} busy samples at 100 Hz", "", "by area:"]
    lines += [f"  {100 * n / total:5.1f}%  {a}" for a, n in areas.most_common()]
    lines += ["", "own time (where the CPU was):"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines += ["", "inclusive time (in this function or below):"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in incl.most_common(top)]
    return "\n".join(lines)
