"""One entry per room in a room list: a clustered room's nodes together, other rooms apart.

Layer: pure discovery; imports lanchat.discovery.records and .events only (no zeroconf, no
sockets), so `lanchat rooms`, the desktop client's Rooms page and the tests share one rule.
Spec: lanchat issue 20 ("the client shows a clustered room once, with its addresses") on top
of DNS-SD, RFC 6763 https://www.rfc-editor.org/rfc/rfc6763 (one service instance per room
per host).

The rule: advertisements with the same room name (casefolded) and the same cluster id (TXT
`cluster=`) are one room, served by several nodes, each with its own host, addresses, port
and TLS certificate. An advertisement without a cluster id is a room of its own, keyed by its
DNS-SD instance as before: two `#lobby` rooms on two laptops that happen to share a host name
are two rooms, and both stay listed (issue 15, bug 2). Anyone on the LAN can advertise a
cluster id, so a look-alike joining someone's cluster adds an address to that room's entry:
the client pins each node's certificate by its own fingerprint (issue 17), as for any room.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lanchat.discovery.events import RoomAdded, RoomEvent, RoomRemoved
from lanchat.discovery.records import RoomAd, room_key

__all__ = ["Change", "Listings", "RoomListing", "connect_address", "group", "listing_key"]


def listing_key(ad: RoomAd) -> str:
    """The identity of the room list entry `ad` belongs to.

    Args:
        ad: an advertisement as the browser reported it.

    Returns:
        `cluster <id> <room>` (casefolded room) for a clustered room, else its instance name
        (or, for a hand-made ad without one, `room@host:port`).
    """
    if ad.cluster:
        return f"cluster {ad.cluster} {room_key(ad.room)}"
    return _node_key(ad)


def connect_address(address: str, port: int) -> str:
    """`address:port` as typed to connect (an IPv6 address in brackets)."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass(frozen=True, slots=True)
class RoomListing:
    """One entry of a room list: a room and the nodes (advertisements) that serve it.

    `nodes` is never empty and is sorted by instance name, so the entry reads the same however
    the LAN's answers were ordered; which node a client tries first is the client's choice
    (the one that answered last).
    """

    key: str  # listing_key of every node
    nodes: tuple[RoomAd, ...]

    @property
    def first(self) -> RoomAd:
        """The node whose name, topic and key the entry shows."""
        return self.nodes[0]

    @property
    def room(self) -> str:
        return self.first.room

    @property
    def cluster(self) -> str | None:
        return self.first.cluster

    @property
    def users(self) -> int:
        """People in the room: the nodes of a cluster share them, so the largest count (a node
        that has not yet heard of the latest join says one less)."""
        return max(node.users for node in self.nodes)

    @property
    def hosts(self) -> tuple[str, ...]:
        """The nodes' host labels, in node order, each once."""
        return tuple(dict.fromkeys(node.host for node in self.nodes))

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every `address:port` the room answers on: each node's addresses (the one that
        answered its probe first) with its port, node by node."""
        return tuple(
            connect_address(address, node.port) for node in self.nodes for address in node.addresses
        )


def _sorted_nodes(nodes: Iterable[RoomAd]) -> tuple[RoomAd, ...]:
    return tuple(sorted(nodes, key=lambda ad: (ad.instance, ad.host, ad.port)))


Change = tuple[str, RoomListing]
"""("added" | "updated" | "removed", the entry): how a room list entry changed."""


class Listings:
    """The room list built from RoomAdded / RoomUpdated / RoomRemoved, one entry per room.

    Pure state, fed on one thread (the browser's callback or the Tk thread).
    """

    def __init__(self) -> None:
        self._nodes: dict[str, dict[str, RoomAd]] = {}  # listing key -> node key -> ad
        self._key_of: dict[str, str] = {}  # node key -> listing key it is in now

    def apply(self, event: RoomEvent) -> list[Change]:
        """Follow one browser event.

        Args:
            event: a node (advertisement) was added, updated or removed.

        Returns:
            The entries that changed, in order: a clustered room whose node left is
            "updated" (with the nodes left); the last node leaving makes it "removed" (with
            that node); a node whose room name or cluster id changed leaves one entry and
            joins another. Empty when nothing listed changed.
        """
        ad, node = event.ad, _node_key(event.ad)
        changes: list[Change] = []
        previous = self._key_of.get(node)
        key = None if isinstance(event, RoomRemoved) else listing_key(ad)
        if previous is not None and previous != key:
            before = self._nodes[previous].pop(node)
            del self._key_of[node]
            rest = self.get(previous)
            if rest is None:
                del self._nodes[previous]
                changes.append(("removed", RoomListing(previous, (before,))))
            else:
                changes.append(("updated", rest))
        if key is not None:
            change = "updated" if key in self._nodes else "added"
            self._key_of[node] = key
            self._nodes.setdefault(key, {})[node] = ad
            entry = self.get(key)
            assert entry is not None
            changes.append((change, entry))
        return changes

    def get(self, key: str) -> RoomListing | None:
        """The entry with this key, or None."""
        nodes = self._nodes.get(key)
        if not nodes:
            return None
        return RoomListing(key, _sorted_nodes(nodes.values()))

    def all(self) -> list[RoomListing]:
        """Every entry, sorted by room name, then host."""
        entries = [RoomListing(k, _sorted_nodes(n.values())) for k, n in self._nodes.items()]
        return sorted(entries, key=lambda e: (room_key(e.room), e.first.host.lower(), e.key))


def _node_key(ad: RoomAd) -> str:
    # One advertisement on the LAN: its DNS-SD instance (unique there), as the browser keys it.
    return ad.instance or f"{ad.room}@{ad.host}:{ad.port}"


def group(ads: Iterable[RoomAd]) -> list[RoomListing]:
    """The room list entries of `ads` (e.g. RoomBrowser.rooms()), sorted by room then host.

    Args:
        ads: listed advertisements.

    Returns:
        One entry per clustered room (its nodes together), one per other advertisement.
    """
    listings = Listings()
    for ad in ads:
        listings.apply(RoomAdded(ad))
    return listings.all()
