"""What the room browser reports: a room was added, updated or removed.

Layer: pure discovery; imports lanchat.discovery.records only, never zeroconf, so a GUI
can match on these types without loading the network side (issue 19).
Spec: RFC 6763 (DNS-SD) https://www.rfc-editor.org/rfc/rfc6763: one event per change of a
`_lanchat._tcp.local.` service instance, as lanchat.discovery.browser sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lanchat.discovery.records import RoomAd

__all__ = ["RoomAdded", "RoomEvent", "RoomRemoved", "RoomUpdated"]


@dataclass(frozen=True, slots=True)
class RoomAdded:
    """A room appeared on the LAN (resolved and its server answers)."""

    ad: RoomAd


@dataclass(frozen=True, slots=True)
class RoomUpdated:
    """A listed room's TXT record (topic, users, key, ...) or addresses changed."""

    ad: RoomAd


@dataclass(frozen=True, slots=True)
class RoomRemoved:
    """A listed room left: withdrawn (goodbye), expired, or its server stopped answering."""

    ad: RoomAd


RoomEvent = RoomAdded | RoomUpdated | RoomRemoved
