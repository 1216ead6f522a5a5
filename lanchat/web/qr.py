"""The web address as people see it at start: one line per LAN address and its QR code.

Layer: top of the web edge (printing); imports segno only.
Issue 16, "Getting people there": a phone on the LAN opens the room by scanning the code.
"""

from __future__ import annotations

import io
import sys
from typing import TextIO

import segno

__all__ = ["print_web_addresses", "qr_png_data", "qr_text"]


def qr_text(url: str) -> str:
    """`url` as a QR code drawn with Unicode half blocks (two modules per character row)."""
    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue()


def qr_png_data(url: str, scale: int = 4) -> bytes:
    """`url` as a QR code in PNG, `scale` pixels per module (for Tk's PhotoImage)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()


def print_web_addresses(urls: list[str], out: TextIO | None = None) -> None:
    """Print where the browser client is: each address, then the first one's QR code.

    Args:
        urls: "http://ADDR:PORT/" per LAN address, preferred first.
        out: where to print (default stdout).
    """
    out = out or sys.stdout
    print("open in a web browser (or scan the code with a phone):", file=out)
    for url in urls:
        print(f"  {url}", file=out)
    if urls:
        out.write(qr_text(urls[0]))
