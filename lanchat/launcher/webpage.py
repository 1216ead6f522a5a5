"""The launcher's "Open in a browser" box: the link and QR code of a hosted room's web page.

Layer: launcher UI (Tk main thread only); imports tkinter and lanchat.web.qr (segno).
Spec: issue 16, "Getting people there": a phone on the LAN scans the code and is in the room.

The address comes from what the room's `lanchat serve` printed (HostedRoom.web_urls), so the
launcher asks nothing of the server; the box shows the room picked in the hosted list, or the
one that just opened.
"""

from __future__ import annotations

import base64
import tkinter as tk
import webbrowser
from collections.abc import Callable
from tkinter import ttk

from lanchat.gui.access import name
from lanchat.web.qr import qr_png_data

__all__ = ["WebPagePanel"]

_QR_SCALE = 4  # pixels per module: a version 2-3 code is ~130 px, scannable from a screen


class WebPagePanel:
    """Tk thread only. The link (copyable), Copy and Open buttons, and the QR code of a page.

    Args:
        master: the parent widget; `frame` is packed by the caller.
        open_url: opens a link in the browser (webbrowser.open; replaced in tests).
    """

    def __init__(
        self, master: tk.Misc, *, open_url: Callable[[str], object] = webbrowser.open
    ) -> None:
        self._open_url = open_url
        self.url = ""  # the link shown, "" when none
        self.frame = ttk.LabelFrame(master, text="Open in a browser", padding=8)
        self.qr = ttk.Label(self.frame)  # the QR code image
        self.qr.pack(side="left", padx=(0, 10))
        side = ttk.Frame(self.frame)
        side.pack(side="left", fill="x", expand=True)
        self.caption = ttk.Label(side, text="", style="Muted.TLabel", wraplength=320)
        self.caption.pack(anchor="w")
        self.link = tk.StringVar(master)
        self.link_entry = name(
            ttk.Entry(side, textvariable=self.link, state="readonly", width=34), "Web address"
        )
        self.link_entry.pack(anchor="w", fill="x", pady=4)
        buttons = ttk.Frame(side)
        buttons.pack(anchor="w")
        self.copy_button = ttk.Button(buttons, text="Copy link", command=self.copy)
        self.copy_button.pack(side="left")
        self.open_button = ttk.Button(buttons, text="Open page", command=self.open)
        self.open_button.pack(side="left", padx=6)
        self._image: tk.PhotoImage | None = None  # kept: Tk drops an image nobody references
        self.show("", "")

    def show(self, room: str, url: str) -> None:
        """Show the page of `room` at `url`; "" for no page (no room, or served without one)."""
        self.url = url
        self.link.set(url)
        state = "normal" if url else "disabled"
        self.copy_button.configure(state=state)
        self.open_button.configure(state=state)
        if not url:
            self._image = None
            self.qr.configure(image="")
            self.caption.configure(
                text=f"{room} has no web page." if room else "Start a room to get its web page."
            )
            return
        png = qr_png_data(url, scale=_QR_SCALE)
        self._image = tk.PhotoImage(master=self.frame, data=base64.b64encode(png).decode())
        self.qr.configure(image=self._image)
        self.caption.configure(text=f"Anyone on your network can join {room} from a browser:")

    def copy(self) -> None:
        self.frame.clipboard_clear()
        self.frame.clipboard_append(self.url)

    def open(self) -> None:
        if self.url:
            self._open_url(self.url)
