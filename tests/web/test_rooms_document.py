"""The `lan` part of /api/rooms (lanchat.web.rooms): a clustered room is one entry (issue 20).

Pure: advertisements as the LAN browser reports them, grouped by lanchat.discovery.clusters as
every other room list groups them. The same document from a real server, with real mDNS and
a real cluster, is in tests/cluster/test_lan_listing.py.
"""

from __future__ import annotations

from lanchat.config import Config
from lanchat.discovery.records import RoomAd
from lanchat.server.state import ServerState
from lanchat.web.rooms import rooms_document


def lan_of(*ads: RoomAd) -> list[dict[str, object]]:
    lan: list[dict[str, object]] = rooms_document("here", ServerState(Config()), list(ads))["lan"]
    return lan


def test_the_nodes_of_a_clustered_room_are_one_entry_linking_to_a_node_with_a_web_page() -> None:
    nodes = [
        RoomAd("#party", "hall-a", 6667, addresses=("10.0.0.5",), instance="#party on hall-a",
               cluster="c1"),
        RoomAd("#Party", "hall-b", 6668, addresses=("fd00::7",), web_port=8081,
               instance="#party on hall-b", cluster="c1"),
    ]  # fmt: skip
    assert lan_of(*nodes) == [
        {
            "name": "#Party",
            "host": "hall-a, hall-b",
            "address": "fd00::7",
            "port": 6668,
            "web": "http://[fd00::7]:8081/",  # hall-a has no web page: hall-b's joins the room
            "addresses": ["10.0.0.5:6667", "[fd00::7]:6668"],
        }
    ]


def test_namesakes_that_are_not_one_cluster_stay_apart() -> None:
    ads = [
        RoomAd("#party", "pc", 7000, addresses=("10.0.0.9",), web_port=8080,
               instance="#party on pc", cluster="c2"),
        RoomAd("#party", "pc", 7001, addresses=("10.0.0.9",), instance="#party on pc-2"),
        RoomAd("#games", "pc", 7002, addresses=("10.0.0.9",), instance="#games on pc"),
    ]  # fmt: skip
    lan = lan_of(*ads)
    assert [(e["name"], e["port"], e["web"]) for e in lan] == [
        ("#games", 7002, None),
        ("#party", 7001, None),
        ("#party", 7000, "http://10.0.0.9:8080/"),
    ]
    assert [e["addresses"] for e in lan] == [[f"10.0.0.9:{port}"] for port in (7002, 7001, 7000)]
