"""Uploads give way to the rooms (issue 21): writer threads at a lower CPU priority, and a
pause between batches while the event loop is late."""

from __future__ import annotations

import asyncio
import os
import threading
import time

from lanchat.web.pacing import LATE_S, WRITER_NICE, LoopLag, behind_the_rooms


def test_a_writer_thread_runs_at_a_lower_priority_and_only_it() -> None:
    before = os.getpriority(os.PRIO_PROCESS, 0)
    seen: list[int] = []

    def writer() -> None:
        behind_the_rooms()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=writer)
    thread.start()
    thread.join()
    assert seen == [min(19, before + WRITER_NICE)]
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the loop's thread keeps its own


async def test_an_upload_pauses_while_the_loop_is_late_and_the_watch_ends_with_it() -> None:
    lag = LoopLag()
    with lag:
        await asyncio.sleep(0.02)  # the watch is sampling
        time.sleep(0.03)  # the loop is held up, as by a machine short of CPU
        await asyncio.sleep(0.02)  # the watch wakes late and says so
        assert LATE_S < lag.pause() <= 0.05
        with lag:  # a second upload at the same time shares the one watch
            pass
        assert lag.late_s > 0.0
    assert lag.pause() == 0.0 and lag.late_s == 0.0
