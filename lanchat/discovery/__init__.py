"""Room discovery on the LAN: DNS-SD over mDNS with python-zeroconf.

Layer: may import zeroconf, lanchat.protocol and lanchat.errors; never the server, client,
store or gui (import-linter contract). records.py is pure; advertiser.py and browser.py are
the asyncio edge; listing.py is `lanchat rooms`.

Spec: RFC 6763 (DNS-SD) https://www.rfc-editor.org/rfc/rfc6763 and RFC 6762 (mDNS)
https://www.rfc-editor.org/rfc/rfc6762. Each public room is one instance of
`_lanchat._tcp.local.` named `<room> on <host>`, with the TXT keys listed in records.py.

    server loop:  Advertiser(port=...).start(); publish(RoomAd(...)); withdraw(room); close()
    GUI:          BrowserThread(callback).start(); callback gets RoomAdded/Updated/Removed

The events (events.py) and records are imported with the package; `Advertiser`,
`BrowserThread` and `RoomBrowser` on first use (PEP 562), so a GUI that matches on the
events, or a server core that builds a RoomAd, does not load zeroconf.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lanchat.discovery.events import RoomAdded, RoomEvent, RoomRemoved, RoomUpdated
from lanchat.discovery.records import SERVICE_TYPE, RoomAd

if TYPE_CHECKING:
    from lanchat.discovery.advertiser import Advertiser
    from lanchat.discovery.browser import BrowserThread, RoomBrowser

__all__ = [
    "SERVICE_TYPE",
    "Advertiser",
    "BrowserThread",
    "RoomAd",
    "RoomAdded",
    "RoomBrowser",
    "RoomEvent",
    "RoomRemoved",
    "RoomUpdated",
]

_LAZY = {"Advertiser": "advertiser", "BrowserThread": "browser", "RoomBrowser": "browser"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"lanchat.discovery.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'lanchat.discovery' has no attribute {name!r}")
