"""Uploads give way to the rooms when the server is short of CPU (issue 21).

Layer: asyncio edge beside lanchat.web.files; imports asyncio, os, threading only. Loop thread,
but for `behind_the_rooms`, which runs in the upload writer threads.

Measured on a shared 2-core machine (docs/benchmarks.md), a big upload over loopback does not
block the event loop (its disk writes run in threads), but it takes the CPU: curl, the kernel
copying into the page cache and the writer threads kept the loop thread waiting for a core
for half of the upload, and the room's messages waited with it. Two things give the rooms the
first turn:

- The threads that write uploads to disk run at a lower CPU priority (nice +10 on Linux, where
  the nice value is per thread), so the loop and the history store's thread run first.
- `LoopLag` watches, while uploads are under way, how late the loop wakes from a short sleep;
  `pause()` returns that lateness, and an upload that awaits it between two batches reads
  nothing meanwhile: TCP flow control then stops the uploader too. On an idle machine the loop
  is never late and uploads run at full speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time

__all__ = ["LATE_S", "WRITER_NICE", "LoopLag", "behind_the_rooms"]

WRITER_NICE = 10  # added to the upload writer threads' nice value (Linux)
LATE_S = 0.002  # a loop this late (seconds) is short of CPU: uploads pause
_TICK_S = 0.005  # how often the loop's lateness is sampled while uploads run
_MAX_PAUSE_S = 0.05  # the longest pause between two batches of an upload
_DECAY = 0.8  # each tick keeps this share of the lateness seen before


def behind_the_rooms() -> None:
    """Lower the calling thread's CPU priority (Linux only; elsewhere nothing). Worker thread
    initializer of the upload writers."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)


class LoopLag:
    """How late the event loop is, sampled only while some upload runs. Loop thread only."""

    def __init__(self) -> None:
        self.late_s = 0.0  # the lateness now (recent samples, decaying)
        self._users = 0  # uploads under way
        self._task: asyncio.Task[None] | None = None

    def __enter__(self) -> LoopLag:
        """An upload starts: sample while it runs."""
        self._users += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *_exc: object) -> None:
        self._users -= 1
        if not self._users and self._task is not None:
            self._task.cancel()
            self._task = None
            self.late_s = 0.0

    def pause(self) -> float:
        """Seconds an upload should wait before reading on (0.0 when the loop is on time)."""
        return min(self.late_s, _MAX_PAUSE_S) if self.late_s > LATE_S else 0.0

    async def _sample(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(_TICK_S)
            late = time.perf_counter() - start - _TICK_S
            self.late_s = max(late, self.late_s * _DECAY)
