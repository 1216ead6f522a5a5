"""The chat window's two bars: the status bar at the bottom and the banner above the tabs.

Layer: GUI (Tk main thread only); imports tkinter and lanchat.gui.access. The banner says a
problem the person must act on (a taken nick, a wrong password) and what it is about, so the
success that answers it hides it; stale errors were issue #15's bug 3. The status bar's
buttons keep their size beside a long status text (bug 7).
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from lanchat.gui.access import name

__all__ = ["Banner", "StatusBar"]


class StatusBar(ttk.Frame):
    """Tk thread only. The status text, then "Retry now", "Close tab" and the theme switch.

    Args:
        master: the window.
        on_retry: "Retry now" (every waiting connection) was pressed.
        on_close_tab: "Close tab" was pressed.
        on_theme: the theme switch was pressed.
    """

    def __init__(
        self,
        master: tk.Misc,
        *,
        on_retry: Callable[[], None],
        on_close_tab: Callable[[], None],
        on_theme: Callable[[], None],
    ) -> None:
        super().__init__(master)
        # The buttons keep their size and the status text gets what is left (cut short when
        # long): packed after a long label they were squashed to blank boxes (issue #15).
        self.status = ttk.Label(self, text="Not connected.", style="Status.TLabel", width=1)
        self.status.grid(row=0, column=0, sticky="ew")
        self.columnconfigure(0, weight=1)
        buttons = ttk.Frame(self)
        buttons.grid(row=0, column=1, sticky="e")
        self.theme_button = ttk.Button(buttons, text="", command=on_theme)
        self.theme_button.pack(side="right", padx=4, pady=2)
        # shown only while a conversation tab is in front
        self.close_tab_button = ttk.Button(buttons, text="Close tab", command=on_close_tab)
        # shown only while a connection waits to reconnect
        self.retry_button = name(
            ttk.Button(buttons, text="Retry now", command=on_retry), "Retry every connection now"
        )

    def set_text(self, text: str) -> None:
        self.status.configure(text=text)

    def show_retry(self, shown: bool) -> None:
        if shown and not self.retry_button.winfo_manager():
            self.retry_button.pack(side="right", padx=4, pady=2)
        elif not shown:
            self.retry_button.pack_forget()

    def show_close_tab(self, shown: bool) -> None:
        if shown and not self.close_tab_button.winfo_manager():
            self.close_tab_button.pack(side="right", padx=4, pady=2, before=self.theme_button)
        elif not shown:
            self.close_tab_button.pack_forget()


class Banner(ttk.Frame):
    """Tk thread only. A problem shown above `above` until dismissed or solved (never a modal
    box: the window keeps working while it is shown)."""

    def __init__(self, master: tk.Misc, above: tk.Widget) -> None:
        super().__init__(master, padding=(12, 6))
        self._above = above  # the banner is packed right before it
        self._scope = ""  # what the banner is about; success there hides it (#15)
        self.text = ttk.Label(self, text="", style="Error.TLabel", wraplength=800)
        self.text.pack(side="left", fill="x", expand=True)
        ttk.Button(self, text="Dismiss", command=self.hide).pack(side="right")

    def show(self, text: str, scope: str = "") -> None:
        """Show `text`.

        Args:
            text: the problem and what to do, in plain words.
            scope: what it is about ("join SERVER", "nick SERVER"): `hide(scope)` hides it
                when that succeeds.
        """
        self.text.configure(text=text)
        self._scope = scope
        if not self.winfo_manager():
            self.pack(fill="x", before=self._above)

    def hide(self, scope: str | None = None) -> None:
        """Hide the banner (only when it is about `scope`, if given)."""
        if scope is None or scope == self._scope:
            self.pack_forget()

    def message(self) -> str:
        """The banner's text as shown ("" when hidden)."""
        return str(self.text.cget("text")) if self.winfo_manager() else ""
