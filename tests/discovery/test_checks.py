"""The verdicts of "why can't I see anyone?" as plain function calls (lanchat.discovery.checks).

The same checks run for real across network namespaces in tests/discovery/test_diagnose.py.
"""

from __future__ import annotations

from lanchat.discovery.checks import (
    CheckResult,
    Heard,
    Interface,
    Probe,
    Route,
    Status,
    Survey,
    check_address,
    check_by_hand,
    check_neighbours,
    check_rooms,
    check_subnet,
    check_vpn,
)
from lanchat.discovery.records import RoomAd

WIFI = Interface("wlan0", "192.168.1.5", 24)
HOME = Survey((WIFI,), ("127.0.0.1", "192.168.1.5"), Route("wlan0", "192.168.1.5", vpn=False))
GAMES = RoomAd("#games", "bob-pc", 6667, addresses=("192.168.1.7",), instance="#games on bob-pc")


def test_no_interface_means_not_connected() -> None:
    result = check_address(Survey((), ("127.0.0.1",), None))
    assert result == CheckResult(
        "address",
        Status.PROBLEM,
        "This computer is not connected to any network.",
        "Connect to the Wi-Fi or plug in the network cable, then check again.",
    )


def test_only_a_self_assigned_address_says_dhcp_did_not_answer() -> None:
    survey = Survey((Interface("eth0", "169.254.7.9", 16),), ("169.254.7.9",), None)
    result = check_address(survey)
    assert result.status is Status.PROBLEM
    assert result.verdict.startswith("This computer only has a self-assigned address (169.254.7.9)")
    assert "restart the router" in result.fix
    assert check_by_hand(survey, ()).status is Status.SKIPPED


def test_a_real_address_is_named_with_its_interface() -> None:
    assert check_address(HOME).verdict == "This computer is 192.168.1.5 on wlan0."


def test_a_vpn_as_the_default_route_is_a_warning_with_what_to_do() -> None:
    vpn = Survey((WIFI,), HOME.own, Route("wg0", "10.8.0.2", vpn=True))
    result = check_vpn(vpn)
    assert result.status is Status.WARNING
    assert "(wg0)" in result.verdict
    assert result.fix.startswith("Turn the VPN off")
    assert check_vpn(HOME) == CheckResult("vpn", Status.OK, "No VPN: traffic leaves through wlan0.")


def test_nobody_heard_means_multicast_is_blocked() -> None:
    result = check_neighbours([], [], 3.0)
    assert result.status is Status.PROBLEM
    assert result.verdict == (
        "No other device answered mDNS within 3 seconds: this network seems to block "
        "multicast between devices."
    )
    assert "isolate clients" in result.fix
    # a room that answered straight to us does not prove multicast works
    direct = check_neighbours([], [GAMES], 3.0)
    assert direct.status is Status.PROBLEM
    assert direct.verdict.endswith("(the 1 room found answered directly, but may come and go).")
    heard = check_neighbours(
        [Heard("192.168.1.7", "bob-pc.local"), Heard("192.168.1.9", "")], [], 3
    )
    assert (
        heard.verdict == "2 other devices answered mDNS: bob-pc.local (192.168.1.7), 192.168.1.9."
    )


def test_a_device_on_another_subnet_is_named() -> None:
    result = check_subnet(HOME, [Heard("10.0.0.3", "")], [GAMES])
    assert result.status is Status.WARNING
    assert result.verdict.startswith("10.0.0.3 is on another subnet than this computer")
    assert check_subnet(HOME, [Heard("192.168.1.7", "")], [GAMES]).status is Status.OK
    assert check_subnet(HOME, [], []).status is Status.SKIPPED


def test_a_room_that_does_not_answer_points_at_the_hosts_firewall() -> None:
    result = check_rooms(HOME, [Probe(GAMES, None, "timed out")])
    assert result.status is Status.PROBLEM
    assert result.verdict == (
        "Found but not reachable: #games on bob-pc (192.168.1.7:6667: timed out). "
        "A firewall on the host of the room probably blocks it."
    )
    assert "sudo ufw allow 6667/tcp" in result.fix
    assert "--add-port=6667/tcp" in result.fix
    assert "Windows" in result.fix


def test_an_unreachable_room_on_another_subnet_says_so_instead() -> None:
    far = RoomAd("#far", "carol", 7000, addresses=("10.9.0.4",), instance="#far on carol")
    result = check_rooms(HOME, [Probe(far, None, "network is unreachable")])
    assert result.verdict.startswith("Found but not reachable, from another subnet")


def test_rooms_that_answer_and_no_rooms() -> None:
    assert check_rooms(HOME, [Probe(GAMES, "192.168.1.7")]).status is Status.OK
    assert check_rooms(HOME, []).status is Status.WARNING


def test_by_hand_gives_a_room_hosted_here_as_a_link() -> None:
    here = RoomAd("#lobby", "me", 6667, addresses=("192.168.1.5",), instance="#lobby on me")
    result = check_by_hand(HOME, [GAMES, here])
    assert result.status is Status.INFO
    assert result.link == "irc://192.168.1.5:6667/#lobby"
    assert check_by_hand(HOME, [GAMES]).link == "192.168.1.5"
