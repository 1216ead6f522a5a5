"""The after() pump both windows run (lanchat.gui.pump), on a real Tk root under Xvfb."""

from __future__ import annotations

import tkinter as tk

import pytest

from lanchat.gui.pump import Pump
from tests.gui.tk_support import run_until, tk_root

pytestmark = pytest.mark.gui


def test_tick_runs_again_until_the_window_closes() -> None:
    with tk_root() as root:
        turns: list[int] = []

        def tick() -> int:
            turns.append(len(turns))
            return 1

        pump = Pump(root, tick)
        pump.start()
        run_until(root, lambda: len(turns) >= 3, "three turns")
        pump.close(lambda: None)
        assert pump.closed


def test_close_cancels_the_pending_tick_then_stops_then_destroys() -> None:
    with tk_root() as root:
        order: list[str] = []

        def tick() -> int:
            order.append("tick")
            return 60_000  # the next turn would be pending when the window closes

        pump = Pump(root, tick)
        pump.start()
        run_until(root, lambda: order == ["tick"], "the first turn")

        def stop() -> None:
            # The window still exists while the background work stops.
            order.append(f"stop, window alive: {bool(root.winfo_exists())}")

        pump.close(stop)
        pump.close(stop)  # a second close (e.g. /quit, then the end of mainloop) is a no-op
        assert order == ["tick", "stop, window alive: True"]
        with pytest.raises(tk.TclError):
            root.winfo_exists()
        assert root.tk.call("after", "info") == ""


def test_tick_that_closes_the_window_is_the_last() -> None:
    with tk_root() as root:
        turns: list[str] = []
        pump = Pump(root, lambda: 1)

        def tick() -> int:
            turns.append("turn")
            pump.close(lambda: None)
            return 1

        pump.tick = tick
        pump.start()
        root.update()
        assert turns == ["turn"]
        assert pump.closed
