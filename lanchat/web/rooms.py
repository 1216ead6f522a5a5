"""The body of GET /api/rooms: this server's public rooms and the rooms seen on the LAN.

Layer: pure; may import lanchat.server.state (read only) and lanchat.discovery.records and
.clusters. Contract with the page (lanchat/web/static), issue 16::

    {"server": {"name": "lanchat.local", "version": "0.1.0"},
     "rooms": [{"name": "#lobby", "topic": "...", "users": 4, "key": false}],
     "lan": [{"name": "#games", "host": "bob-pc", "address": "192.168.1.7", "port": 6667,
              "web": "http://192.168.1.7:8080/", "addresses": ["192.168.1.7:6667"]}]}

`rooms` leaves out secret (+s) rooms, as mDNS does; `lan` entries have "web": null when that
server has no browser client. A clustered room (issue 20) is one `lan` entry, grouped by
lanchat.discovery.clusters as `lanchat rooms` and the desktop client group it: `host` names
every node, comma-separated; `address`, `port` and `web` are those of its first node with a
web page (its first node when none has one), whose page joins the room on its own node;
`addresses` are every node's `address:port`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lanchat import __version__
from lanchat.discovery.clusters import RoomListing, group
from lanchat.discovery.records import RoomAd

if TYPE_CHECKING:
    from lanchat.server.state import ServerState

__all__ = ["lan_entry", "rooms_document"]


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def lan_entry(entry: RoomListing) -> dict[str, Any]:
    """One room other servers advertise (one server, or the nodes of a cluster), as the page
    lists it."""
    ad = next((node for node in entry.nodes if node.addresses and node.web_port), entry.first)
    address = ad.addresses[0] if ad.addresses else ""
    web = f"http://{_url_host(address)}:{ad.web_port}/" if address and ad.web_port else None
    return {
        "name": ad.room,
        "host": ", ".join(entry.hosts),
        "address": address,
        "port": ad.port,
        "web": web,
        "addresses": list(entry.addresses),
    }


def rooms_document(server_name: str, state: ServerState, lan: list[RoomAd]) -> dict[str, Any]:
    """The whole /api/rooms document, rooms sorted by name.

    Args:
        server_name: this server's name ([server] name).
        state: the running server's state (read only).
        lan: rooms other servers advertise (this server's own already left out), one
            advertisement per node.
    """
    rooms = []
    for key in sorted(state.room_keys()):
        info = state.room_info(key)
        if info is not None and not info.secret:
            rooms.append(
                {
                    "name": info.name,
                    "topic": info.topic,
                    "users": info.user_count,
                    "key": info.key_required,
                }
            )
    return {
        "server": {"name": server_name, "version": __version__},
        "rooms": rooms,
        "lan": [lan_entry(entry) for entry in group(lan)],
    }
