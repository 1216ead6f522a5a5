"""Advertiser: start-up errors, rate-limited TXT updates, name conflicts, the host's interface.

The network tests use real mDNS between network namespaces (tests/discovery/netns.py). The
"host's own interface" test advertises from this test process in the root namespace, on the
host end of a veth link created for the test (never on eth0, which is not our network), and
browses from a namespace on the other end.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from lanchat.discovery import Advertiser, RoomAd
from lanchat.errors import DiscoveryError
from tests.discovery.netns import (
    Agent,
    Namespace,
    drop_unicast_mdns,
    room,
    start_advertiser,
    start_browser,
)


async def test_start_with_an_interface_that_is_not_an_ip_address_raises_discovery_error() -> None:
    advertiser = Advertiser(port=6667, interfaces=["eth-lan"])
    with pytest.raises(DiscoveryError, match=r"'eth-lan' in \[discovery\] interfaces is not an IP"):
        await advertiser.start()


async def test_start_on_an_address_this_machine_does_not_have_raises_discovery_error() -> None:
    # 203.0.113.0/24 is TEST-NET-3 (RFC 5737): never assigned, so the socket setup fails.
    advertiser = Advertiser(port=6667, interfaces=["203.0.113.9"])
    with pytest.raises(DiscoveryError, match=r"cannot advertise rooms on 203\.0\.113\.9") as caught:
        await advertiser.start()
    assert "\n" not in str(caught.value)


def test_publish_before_start_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="before start"):
        Advertiser(port=6667).publish(RoomAd(room="#lobby", host="h", port=6667))


@pytest.mark.netns
async def test_rapid_changes_are_coalesced_and_the_latest_state_wins(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    a, b = pair
    browser, (advertiser, _) = await asyncio.gather(
        start_browser(agents, b), start_advertiser(agents, a, interval_s=1.0)
    )
    advertiser.send(op="publish", room="#busy", users=0)
    await browser.expect("added", room("#busy", users=0))
    for users in range(1, 11):  # ten joins within the one-second rate limit
        advertiser.send(op="publish", room="#busy", users=users)
    await browser.expect("updated", room("#busy", users=10))
    updates = [e["ad"]["users"] for e in browser.seen if e["event"] == "updated"]
    assert len(updates) < 10
    assert updates[-1] == 10


@pytest.mark.netns
async def test_two_hosts_with_the_same_name_both_appear_under_distinct_instance_names(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    a, b = pair
    browser, (first, first_port), (second, second_port) = await asyncio.gather(
        start_browser(agents, b), start_advertiser(agents, a), start_advertiser(agents, b)
    )
    first.send(op="publish", room="#lobby")
    assert (await first.expect("published"))["instance"] == "#lobby on alice-laptop"
    second.send(op="publish", room="#lobby")
    # The second one's probe (RFC 6762 8.1) finds the name taken and picks the next one.
    assert (await second.expect("published"))["instance"] == "#lobby on alice-laptop-2"
    one = await browser.expect("added", room("#lobby", port=first_port))
    two = await browser.expect("added", room("#lobby", port=second_port))
    assert one["ad"]["instance"] == "#lobby on alice-laptop"
    assert two["ad"]["instance"] == "#lobby on alice-laptop-2"
    assert one["ad"]["host"] == two["ad"]["host"] == "alice-laptop"


@pytest.mark.netns
async def test_namesake_whose_unicast_defence_is_lost_is_still_renamed_and_both_stay_listed(
    pair: tuple[Namespace, Namespace], agents: list[Agent]
) -> None:
    # Issue 15, bug 2: A's `#lobby` (4 people, a topic) was announced lately, so it defends its
    # name against B's probe by unicast only (RFC 6762 5.4). On B the launcher's room list also
    # listens on port 5353 and the kernel hands a unicast reply to one socket of the port;
    # dropping unicast mDNS on B makes that lost reply certain instead of a coin toss.
    a, b = pair
    drop_unicast_mdns(b)
    first, first_port = await start_advertiser(agents, a)
    first.send(op="publish", room="#lobby", users=4, topic="plans for saturday")
    await first.expect("published")
    second, second_port = await start_advertiser(agents, b)
    second.send(op="publish", room="#lobby")
    assert (await second.expect("published"))["instance"] == "#lobby on alice-laptop-2"
    browser = await start_browser(agents, a)
    await browser.expect("added", room("#lobby", port=first_port))
    await browser.expect("added", room("#lobby", port=second_port))
    browser.send(op="rooms")
    listed = await browser.expect("rooms")
    assert listed["instances"] == ["#lobby on alice-laptop", "#lobby on alice-laptop-2"]


@pytest.mark.netns
async def test_room_advertised_on_the_hosts_own_interface_is_seen_from_a_namespace(
    host_and_ns: tuple[str, Namespace], agents: list[Agent]
) -> None:
    host_address, ns = host_and_ns
    browser = await start_browser(agents, ns)
    with socket.create_server((host_address, 0)) as listener:  # the room's real server port
        port = listener.getsockname()[1]
        advertiser = Advertiser(port=port, host_label="the-host", interfaces=[host_address])
        await advertiser.start()
        try:
            advertiser.publish(RoomAd(room="#lobby", host="", port=0, users=3, topic="hi"))
            added = await browser.expect("added", room("#lobby"))
            assert added["ad"]["addresses"] == [host_address]
            assert (added["ad"]["port"], added["ad"]["users"]) == (port, 3)
            assert added["ad"]["instance"] == "#lobby on the-host"
        finally:
            await advertiser.close()
        await browser.expect("removed", room("#lobby"))
