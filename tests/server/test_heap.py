"""HeapTrimmer and malloc_trim: memory freed by a burst goes back to the kernel once quiet.

Real glibc (the CI machine is Debian) and a real server over 127.0.0.1; the trimmer's own
rules run on an injected clock, so no test waits for time to pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lanchat.server.app import LanchatServer
from lanchat.server.heap import HeapTrimmer, malloc_trim
from tests.server.clients import registered


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


class _Counting:
    """A trim function that records when it ran."""

    def __init__(self) -> None:
        self.calls = 0
        self.ran = asyncio.Event()

    def __call__(self) -> bool:
        self.calls += 1
        self.ran.set()
        return True


@dataclass(order=True)
class _Timer:
    when: float
    seq: int
    callback: Callable[..., object] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class _Clock:
    """The trimmer's timers on an injected clock: they run when the test advances time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[_Timer] = []

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> _Timer:
        timer = _Timer(self.now + delay, len(self.timers), callback, args)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while due := sorted(t for t in self.timers if t.when <= end and not t.cancelled):
            self.timers.remove(due[0])
            self.now = due[0].when
            due[0].callback(*due[0].args)
        self.now = end


def test_trim_runs_once_after_a_burst_goes_quiet() -> None:
    clock, trim = _Clock(), _Counting()
    trimmer = HeapTrimmer(clock, quiet_s=0.05, trim=trim)
    for _ in range(100):
        trimmer.busy()
    clock.advance(0.05)  # the first look sees the burst went on after it was scheduled
    assert trim.calls == 0
    clock.advance(0.05)  # a whole quiet period since
    assert trim.calls == 1
    clock.advance(10)  # many quiet periods more: nothing new to trim
    assert (trim.calls, trimmer.trims) == (1, 1)


def test_no_trim_while_the_loop_stays_busy() -> None:
    clock, trim = _Clock(), _Counting()
    trimmer = HeapTrimmer(clock, quiet_s=0.1, trim=trim)
    for _ in range(15):  # busy every 20 ms for 0.3 s: never quiet for 0.1 s
        trimmer.busy()
        clock.advance(0.02)
    assert trim.calls == 0
    clock.advance(0.2)
    assert trim.calls == 1


def test_closed_trimmer_does_not_trim() -> None:
    clock, trim = _Clock(), _Counting()
    trimmer = HeapTrimmer(clock, quiet_s=0.05, trim=trim)
    trimmer.busy()
    trimmer.close()
    clock.advance(10)
    assert trim.calls == 0


def test_malloc_trim_returns_freed_heap_pages_to_the_kernel() -> None:
    # 4 KiB blocks come from glibc's heap, not mmap. Keeping the last one pins the top of the
    # heap, so free() alone cannot shrink it: the pages stay resident until malloc_trim.
    blocks = [bytearray(4000) for _ in range(16_000)]  # about 64 MiB, all touched
    kept = blocks[-1]
    del blocks
    before = _rss_kib()
    assert malloc_trim()
    after = _rss_kib()
    assert before - after > 32 * 1024, (before, after)
    assert len(kept) == 4000


async def test_server_trims_once_quiet_after_traffic(irc_server: LanchatServer) -> None:
    heap = irc_server.hub.heap
    trim = _Counting()
    heap.trim = trim
    heap.quiet_s = 0.05
    alice = await registered(irc_server.port, "alice", "#lobby")
    bob = await registered(irc_server.port, "bob", "#lobby")
    alice.send("PRIVMSG #lobby :hello")
    await bob.expect("PRIVMSG")
    await asyncio.wait_for(trim.ran.wait(), 5)
    assert heap.trims >= 1
