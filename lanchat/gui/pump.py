"""The after() pump of a window fed by background work, and its one safe way to close.

Layer: GUI (Tk main thread only); imports tkinter only. Used by the chat window
(lanchat.gui.app) and the launcher (lanchat.launcher.app).

IDLE's rule (STYLE.md): background threads post results to queues and the Tk thread drains
them with after(), never waiting on them. Closing happens in one order: cancel the pending
after() first, then stop the background work, then let pending idle handlers run and destroy
the window, so no callback ever runs on a destroyed widget.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable

__all__ = ["Pump"]


class Pump:
    """Tk thread only. Calls `tick` again and again with after() until `close()`.

    Args:
        root: the window whose event loop runs the ticks.
        tick: drains the queues; returns the delay in milliseconds before its next call.
    """

    def __init__(self, root: tk.Tk, tick: Callable[[], int]) -> None:
        self.root = root
        self.tick = tick  # the work of one turn (public so a test can count the turns)
        self.closed = False  # True once close() began: no tick runs after that
        self._after_id: str | None = None  # the scheduled tick, cancelled on close

    def start(self) -> None:
        """Tk thread only. Run the first tick as soon as the event loop is idle."""
        self._after_id = self.root.after(0, self._turn)

    def _turn(self) -> None:
        self._after_id = None
        if self.closed:
            return
        delay_ms = self.tick()
        if not self.closed:  # the tick itself may have closed the window
            self._after_id = self.root.after(delay_ms, self._turn)

    def close(self, stop: Callable[[], None]) -> None:
        """Tk thread only. Cancel the pending tick, run `stop`, destroy the window.

        Calling it again does nothing, so a window may close from several places (its close
        button, a /quit, the end of mainloop).

        Args:
            stop: stops the background work the ticks drain (may wait for it briefly).
        """
        if self.closed:
            return
        self.closed = True
        if self._after_id is not None:
            self.root.after_cancel(self._after_id)
            self._after_id = None
        stop()
        self.root.update_idletasks()  # pending idle handlers (theme changes) run first
        self.root.destroy()
