"""clusters.py: one room list entry per clustered room, every other advertisement apart.

Pure: browser events in, entries out, by plain calls. The same rule across real namespaces
is in test_listing.py (`lanchat rooms`) and tests/gui (the Rooms page).
"""

from __future__ import annotations

from lanchat.discovery.clusters import Listings, RoomListing, group, listing_key
from lanchat.discovery.events import RoomAdded, RoomRemoved, RoomUpdated
from lanchat.discovery.records import RoomAd

CLUSTER = "3f9a1c2b7d"


def node(host: str, address: str, *, room: str = "#lobby", cluster: str | None = CLUSTER,
         users: int = 4, port: int = 6667) -> RoomAd:  # fmt: skip
    return RoomAd(room=room, host=host, port=port, users=users, addresses=(address,),
                  instance=f"{room} on {host}", cluster=cluster)  # fmt: skip


A, B, C = node("node-a", "10.0.0.1"), node("node-b", "10.0.0.2"), node("node-c", "fd00::3")


def test_same_room_and_cluster_id_on_three_hosts_is_one_entry_with_every_address() -> None:
    (entry,) = group([C, A, B])
    assert entry.room == "#lobby" and entry.cluster == CLUSTER
    assert entry.hosts == ("node-a", "node-b", "node-c")
    assert entry.addresses == ("10.0.0.1:6667", "10.0.0.2:6667", "[fd00::3]:6667")
    assert entry.users == 4


def test_room_names_are_compared_casefolded_but_cluster_ids_exactly() -> None:
    upper = node("node-b", "10.0.0.2", room="#LOBBY")
    assert len(group([A, upper])) == 1
    other_cluster = node("node-b", "10.0.0.2", cluster="another")
    assert len(group([A, other_cluster])) == 2


def test_same_named_rooms_without_a_cluster_id_stay_apart_even_on_same_named_hosts() -> None:
    # Issue 15, bug 2: two laptops both called alice-laptop, each with its own #lobby.
    one = RoomAd(room="#lobby", host="alice-laptop", port=6667, instance="#lobby on alice-laptop")
    two = RoomAd(room="#lobby", host="alice-laptop", port=6667, instance="#lobby on alice-laptop-2")
    entries = group([one, two])
    assert [e.key for e in entries] == ["#lobby on alice-laptop", "#lobby on alice-laptop-2"]
    assert [e.nodes for e in entries] == [(one,), (two,)]


def test_a_clustered_room_and_a_plain_namesake_are_two_entries() -> None:
    plain = node("bob", "10.0.0.9", cluster=None)
    entries = group([A, B, plain])
    assert [(e.first.host, len(e.nodes)) for e in entries] == [("bob", 1), ("node-a", 2)]


def test_the_largest_user_count_of_the_nodes_is_the_rooms() -> None:
    lagging = node("node-b", "10.0.0.2", users=3)
    assert group([A, lagging])[0].users == 4


def test_nodes_coming_and_going_update_one_entry_and_the_last_one_removes_it() -> None:
    listings = Listings()
    assert listings.apply(RoomAdded(A)) == [("added", RoomListing(listing_key(A), (A,)))]
    assert listings.apply(RoomAdded(B)) == [("updated", RoomListing(listing_key(A), (A, B)))]
    busier = node("node-b", "10.0.0.2", users=9)
    assert listings.apply(RoomUpdated(busier))[0][1].users == 9
    assert listings.apply(RoomRemoved(A)) == [("updated", RoomListing(listing_key(A), (busier,)))]
    assert listings.apply(RoomRemoved(busier)) == [
        ("removed", RoomListing(listing_key(A), (busier,)))
    ]
    assert listings.all() == []
    assert listings.apply(RoomRemoved(busier)) == []  # not listed: nothing changes


def test_a_node_that_changes_its_cluster_id_leaves_one_entry_and_joins_another() -> None:
    listings = Listings()
    listings.apply(RoomAdded(A))
    listings.apply(RoomAdded(B))
    moved = node("node-b", "10.0.0.2", cluster="new")
    changes = listings.apply(RoomUpdated(moved))
    assert [(name, entry.nodes) for name, entry in changes] == [
        ("updated", (A,)),
        ("added", (moved,)),
    ]
    alone = node("node-b", "10.0.0.2", cluster=None)
    changes = listings.apply(RoomUpdated(alone))
    assert [(name, entry.nodes) for name, entry in changes] == [
        ("removed", (moved,)),
        ("added", (alone,)),
    ]
    assert [e.key for e in listings.all()] == [listing_key(A), "#lobby on node-b"]
