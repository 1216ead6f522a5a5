"""RoomBrowser / BrowserThread against real advertisers, across two network namespaces.

Real mDNS (RFC 6762) over a veth pair: the advertiser agent runs in namespace A, the browser
agent (a BrowserThread printing its events) in namespace B. See tests/discovery/netns.py.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest

from lanchat.discovery import BrowserThread, RoomBrowser, RoomEvent
from lanchat.errors import DiscoveryError
from tests.discovery.netns import (
    Agent,
    Namespace,
    browse_and_advertise,
    room,
)

FP = "9c2e51d0" * 8  # a certificate fingerprint (TXT fp=, issue #17)


@pytest.mark.netns
async def test_room_published_in_one_namespace_is_added_in_the_other_with_its_txt(
    pair: tuple[Namespace, Namespace], agents: list[Agent], record_property: Any
) -> None:
    a, _ = pair
    browser, advertiser, port = await browse_and_advertise(agents, pair)
    names = [f"#room{i}" for i in range(5)]
    for name in names:
        advertiser.send(
            op="publish", room=name, users=2, topic=f"about {name}", key=True, tls=6697, fp=FP,
            cluster="c1u5t3r",
        )  # fmt: skip
    latencies_ms = []
    for name in names:
        added = await browser.expect("added", room(name))
        published = await advertiser.expect("published", lambda o, n=name: o["room"] == n)
        latencies_ms.append((added["t"] - published["t"]) * 1000)
        assert added["ad"] == {
            "room": name,
            "host": "alice-laptop",
            "port": port,
            "users": 2,
            "topic": f"about {name}",
            "key_required": True,
            "addresses": [a.address],
            "instance": f"{name} on alice-laptop",
            "version": "1",
            "web_port": 0,
            "tls": 6697,
            "fp": FP,
            "cluster": "c1u5t3r",
        }
    median = statistics.median(latencies_ms)
    record_property("publish_to_added_median_ms", round(median))
    print(f"\npublish() -> RoomAdded across namespaces, 5 rooms: median {median:.0f} ms")


@pytest.mark.netns
async def test_topic_and_user_count_changes_arrive_as_room_updated(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    browser, advertiser, _ = await browse_and_advertise(agents, pair)
    advertiser.send(op="publish", room="#lobby", users=1, topic="welcome")
    await browser.expect("added", room("#lobby", users=1, topic="welcome"))
    advertiser.send(op="publish", room="#lobby", users=4, topic="release party", key=True)
    await browser.expect(
        "updated", room("#lobby", users=4, topic="release party", key_required=True)
    )


@pytest.mark.netns
async def test_hostile_txt_values_never_reach_a_room_list(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    # Issue 13, item 11: room names that would change the JOIN line are not listed at all;
    # a topic or host loses its control characters and bidi overrides.
    browser, advertiser, _ = await browse_and_advertise(agents, pair)
    for bad in ("#x\r\nQUIT :bye", "#two words", ":#colon", "#a,#b", "#esc\x1b[2J"):
        advertiser.send(op="publish", room=bad)
    advertiser.send(op="publish", room="#lobby", topic="pizza\x1b]0;owned\x07 at \u202e8pm")
    await browser.expect("added", room("#lobby", topic="pizza]0;owned at 8pm"))
    browser.send(op="rooms")
    assert (await browser.expect("rooms"))["instances"] == ["#lobby on alice-laptop"]
    advertiser.send(op="publish", room="#lobby", topic="fine")  # an update after them
    await browser.expect("updated", room("#lobby", topic="fine"))
    assert [e["ad"]["room"] for e in browser.seen if "ad" in e] == ["#lobby", "#lobby"]


@pytest.mark.netns
async def test_withdrawn_room_is_removed_by_its_goodbye_while_the_server_still_answers(
    pair: tuple[Namespace, Namespace], agents: list[Agent], record_property: Any
) -> None:
    # The agent's TCP port stays open, so only the goodbye packet can remove the room.
    browser, advertiser, _ = await browse_and_advertise(agents, pair)
    advertiser.send(op="publish", room="#lobby")
    advertiser.send(op="publish", room="#dev")
    await browser.expect("added", room("#lobby"))
    await browser.expect("added", room("#dev"))
    browser.send(op="rooms")
    listed = await browser.expect("rooms")
    assert listed["instances"] == ["#dev on alice-laptop", "#lobby on alice-laptop"]
    withdrawn_at = time.monotonic()
    advertiser.send(op="withdraw", room="#lobby")
    removed = await browser.expect("removed", room("#lobby"))
    record_property("withdraw_to_removed_ms", round((removed["t"] - withdrawn_at) * 1000))
    print(f"\nwithdraw() -> RoomRemoved (goodbye): {(removed['t'] - withdrawn_at) * 1000:.0f} ms")
    browser.send(op="rooms")
    assert (await browser.expect("rooms"))["instances"] == ["#dev on alice-laptop"]


@pytest.mark.netns
async def test_room_of_a_killed_server_is_removed_by_the_tcp_probe(
    pair: tuple[Namespace, Namespace], agents: list[Agent], record_property: Any
) -> None:
    # SIGKILL: no goodbye, and the records' TTL is 75 minutes; only the probe notices.
    browser, advertiser, _ = await browse_and_advertise(agents, pair)
    advertiser.send(op="publish", room="#lobby")
    await browser.expect("added", room("#lobby"))
    await advertiser.expect("published")
    killed_at = time.monotonic()  # CLOCK_MONOTONIC is shared by all namespaces
    advertiser.kill()
    removed = await browser.expect("removed", room("#lobby"))
    record_property("kill_to_removed_ms", round((removed["t"] - killed_at) * 1000))
    print(f"\nSIGKILL -> RoomRemoved (TCP probe): {(removed['t'] - killed_at) * 1000:.0f} ms")


@pytest.mark.netns
async def test_room_whose_server_answers_again_is_added_again(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    # A Wi-Fi glitch must not hide a room for the 75 minutes its records live.
    browser, advertiser, _ = await browse_and_advertise(agents, pair, "--probe-interval", "0.5")
    advertiser.send(op="publish", room="#lobby")
    await browser.expect("added", room("#lobby"))
    advertiser.send(op="pause")
    await browser.expect("removed", room("#lobby"))
    advertiser.send(op="resume")
    await browser.expect("added", room("#lobby"))


@pytest.mark.netns
async def test_closing_the_advertiser_removes_all_its_rooms(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    browser, advertiser, _ = await browse_and_advertise(agents, pair)
    advertiser.send(op="publish", room="#one")
    advertiser.send(op="publish", room="#two")
    await browser.expect("added", room("#one"))
    await browser.expect("added", room("#two"))
    assert await advertiser.close() == 0
    await browser.expect("removed", room("#one"))
    await browser.expect("removed", room("#two"))


@pytest.mark.netns
async def test_an_exception_in_the_callback_does_not_stop_the_browser(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    browser, advertiser, _ = await browse_and_advertise(agents, pair, "--fail-first")
    advertiser.send(op="publish", room="#first")
    advertiser.send(op="publish", room="#second")
    first_event = await browser.expect("added")  # its callback raised
    other = "#second" if first_event["ad"]["room"] == "#first" else "#first"
    await browser.expect("added", room(other))


def test_browser_thread_on_an_address_this_machine_does_not_have_raises_discovery_error() -> None:
    events: list[RoomEvent] = []
    # 203.0.113.0/24 is TEST-NET-3 (RFC 5737): never assigned, so the socket setup fails.
    browser = BrowserThread(events.append, interfaces=["203.0.113.9"])
    with pytest.raises(DiscoveryError, match=r"cannot browse for rooms on 203\.0\.113\.9"):
        browser.start()
    browser.stop()
    assert events == []


def test_browser_thread_stop_without_start_does_nothing() -> None:
    browser = BrowserThread(lambda event: None)
    browser.stop()
    assert browser.rooms() == []


async def test_room_browser_with_an_interface_that_is_not_an_ip_raises_discovery_error() -> None:
    browser = RoomBrowser(lambda event: None, interfaces=["wlan0"])
    with pytest.raises(DiscoveryError, match="'wlan0' does not appear to be an IPv4 or IPv6"):
        await browser.start()
    await browser.close()
