"""A small tooltip: a borderless window near the pointer, shown after a short pause.

Layer: GUI (Tk main thread only); imports tkinter only. One `Tooltip` per widget; what it says
is asked of a function at the moment it opens (the member under the pointer, the whole topic),
so nothing has to be kept up to date. The pause is a Tk after() on the widget, cancelled when
the pointer leaves, so a tooltip never outlives its widget.
"""

from __future__ import annotations

import contextlib
import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

__all__ = ["Tooltip"]

_DELAY_MS = 500  # how long the pointer rests before the tooltip opens


class Tooltip:
    """Tk thread only. Shows `text_at(x, y)` (widget coordinates; "" for none) near the pointer.

    Args:
        widget: the widget the tooltip explains.
        text_at: what to say for the pointer at (x, y) in `widget`.
        delay_ms: how long the pointer rests before the tooltip opens.
    """

    def __init__(
        self, widget: tk.Widget, text_at: Callable[[int, int], str], delay_ms: int = _DELAY_MS
    ) -> None:
        self.widget = widget
        self._text_at = text_at
        self._delay_ms = delay_ms
        self._after = ""  # the pending open, "" when none
        self._window: tk.Toplevel | None = None
        self._shown = ""  # the text of the open tooltip
        widget.bind("<Enter>", self._schedule, add="+")
        widget.bind("<Motion>", self._schedule, add="+")
        widget.bind("<Leave>", lambda _e: self.hide(), add="+")
        widget.bind("<ButtonPress>", lambda _e: self.hide(), add="+")
        widget.bind("<Destroy>", lambda _e: self.hide(), add="+")

    @property
    def text(self) -> str:
        """What the open tooltip says ("" when closed)."""
        return self._shown if self._window is not None else ""

    def _schedule(self, event: tk.Event[tk.Misc]) -> None:
        x, y = event.x, event.y
        if self._window is not None and self._text_at(x, y) == self._shown:
            return
        self.hide()
        self._after = self.widget.after(self._delay_ms, lambda: self.show_at(x, y))

    def show_at(self, x: int, y: int) -> None:
        """Open the tooltip for the point (x, y) of the widget now (no pause)."""
        self._after = ""
        text = self._text_at(x, y)
        if not text:
            return
        window = tk.Toplevel(self.widget)
        window.wm_overrideredirect(True)
        ttk.Label(window, text=text, style="Tooltip.TLabel", wraplength=420).pack()
        root_x, root_y = self.widget.winfo_rootx() + x, self.widget.winfo_rooty() + y
        window.wm_geometry(f"+{root_x + 12}+{root_y + 18}")
        self._window, self._shown = window, text

    def hide(self) -> None:
        """Close the tooltip (and forget a pending one)."""
        if self._after:
            with contextlib.suppress(tk.TclError):  # the widget is being destroyed
                self.widget.after_cancel(self._after)
            self._after = ""
        if self._window is not None:
            self._window.destroy()
            self._window = None
