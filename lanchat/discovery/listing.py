"""`lanchat rooms`: list the rooms advertised on the LAN, like `avahi-browse _lanchat._tcp`.

Layer: discovery's command-line front; may import lanchat.discovery and the standard library;
never the server, client, store or gui.

Browses for `timeout_s` seconds with a RoomBrowser (so only rooms whose server answers are
listed, issue #2) and prints an aligned table for people, or one JSON object per line for
scripts. With `watch`, prints `+` / `~` / `-` lines as rooms appear, change and disappear until
Ctrl-C. A room served by a cluster of servers is one line with every node's host and address
(lanchat.discovery.clusters, issue 20). Text that comes off the network is stripped of control
characters before it reaches the terminal (a TXT record must not be able to send escape
sequences).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from lanchat.discovery.browser import RoomBrowser
from lanchat.discovery.clusters import Listings, RoomListing, connect_address, group
from lanchat.discovery.events import RoomEvent
from lanchat.discovery.records import RoomAd

__all__ = ["NO_ROOMS", "format_table", "run_rooms", "to_json"]

NO_ROOMS = "No rooms found on the LAN (is a lanchat server running, and on this network?)"
_HEADER = ("ROOM", "HOST", "ADDRESS", "USERS", "KEY", "TOPIC")
_WATCH_WIDTHS = (16, 16, 21, 5, 3)  # fixed columns for streamed lines (the topic is last)
_RIGHT_ALIGNED = {3}  # the users column


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


def _address(ad: RoomAd) -> str:
    return connect_address(ad.addresses[0], ad.port) if ad.addresses else f"?:{ad.port}"


def _row(entry: RoomListing) -> tuple[str, ...]:
    ad = entry.first
    return (
        _printable(ad.room),
        _printable(", ".join(entry.hosts)),
        ", ".join(_address(node) for node in entry.nodes),
        str(entry.users),
        "key" if ad.key_required else "",
        _printable(ad.topic),
    )


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    parts = [
        cell.rjust(width) if i in _RIGHT_ALIGNED else cell.ljust(width)
        for i, (cell, width) in enumerate(zip(cells, widths, strict=False))
    ]
    parts.extend(cells[len(widths) :])
    return "  ".join(parts).rstrip()


def format_table(rooms: Sequence[RoomAd]) -> str:
    """An aligned table of `rooms` with a header line, sorted by room then host; a clustered
    room is one line listing its hosts and their addresses.

    Args:
        rooms: the advertisements to show.

    Returns:
        The table, lines joined with newlines (no trailing newline).
    """
    rows = [_row(entry) for entry in group(rooms)]
    widths = [max(len(r[i]) for r in [_HEADER, *rows]) for i in range(len(_HEADER) - 1)]
    return "\n".join(_line(r, widths) for r in [_HEADER, *rows])


def to_json(entry: RoomListing, event: str | None = None) -> str:
    """One room as a JSON object on one line (with "event" when watching).

    Args:
        entry: the room (a clustered room with all its nodes).
        event: "added", "updated" or "removed" in watch mode, else None.

    Returns:
        The JSON text: the RoomAd fields of its first node (with the room's user count),
        "addresses" the list of every `address:port` the room answers on (every node's),
        "address" the first of them, and "hosts" the nodes' host labels.
    """
    obj: dict[str, Any] = {"event": event} if event else {}
    obj.update(asdict(entry.first))
    obj["users"] = entry.users
    obj["addresses"] = list(entry.addresses)
    obj["address"] = entry.addresses[0] if entry.addresses else _address(entry.first)
    obj["hosts"] = list(entry.hosts)
    return json.dumps(obj, ensure_ascii=False)


_SIGNS = {"added": "+", "updated": "~", "removed": "-"}


class _Watch:
    """`--watch`: one `+` / `~` / `-` line per change of a room list entry."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.listings = Listings()

    def on_event(self, event: RoomEvent) -> None:
        for name, entry in self.listings.apply(event):
            if self.as_json:
                print(to_json(entry, name), flush=True)
            else:
                print(f"{_SIGNS[name]} {_line(_row(entry), _WATCH_WIDTHS)}", flush=True)


async def _browse(as_json: bool, watch: bool, timeout_s: float, interfaces: Sequence[str]) -> int:
    watcher = _Watch(as_json)

    def on_event(event: RoomEvent) -> None:
        if watch:
            watcher.on_event(event)

    browser = RoomBrowser(on_event, interfaces=interfaces)
    await browser.start()
    try:
        if watch:
            # Runs until Ctrl-C cancels us; cli.main turns that into exit status 130.
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(timeout_s)
        rooms = browser.rooms()
    finally:
        await browser.close()
    if not rooms:
        # Scripts reading --json get an empty stdout; the hint goes to stderr.
        print(NO_ROOMS, file=sys.stderr if as_json else sys.stdout)
    elif as_json:
        for entry in group(rooms):
            print(to_json(entry))
    else:
        print(format_table(rooms))
    return 0


def run_rooms(
    *, as_json: bool, watch: bool, timeout_s: float, interfaces: Sequence[str] = ()
) -> int:
    """Browse the LAN and print its rooms: the `lanchat rooms` command.

    Args:
        as_json: one JSON object per line instead of a table.
        watch: keep printing `+`/`~`/`-` lines (or JSON with "event") until Ctrl-C.
        timeout_s: how long to listen before printing the list.
        interfaces: IP addresses of the interfaces to browse on; empty means all of them.

    Returns:
        The exit status: 0, also when no room was found.

    Raises:
        DiscoveryError: the mDNS sockets cannot be opened.
        KeyboardInterrupt: Ctrl-C (after the browser is closed).
    """
    return asyncio.run(_browse(as_json, watch, timeout_s, interfaces))
