"""The web edge's request policies by plain function calls: Origin, Host names, CSP.

Spec: RFC 6455 10.2 (Origin); RFC 6454 (an origin's default port); issue 16 ("Safety").
"""

from __future__ import annotations

import pytest

from lanchat.web.site import content_security_policy, host_allowed, own_names, same_origin


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("http://192.168.1.5:8080", "192.168.1.5:8080", True),
        ("http://192.168.1.5", "192.168.1.5:80", True),  # default ports on either side
        ("http://192.168.1.5:80", "192.168.1.5", True),
        ("https://chat.lan", "chat.lan:443", True),
        ("http://[fe80::1]:8080", "[FE80::1]:8080", True),
        ("http://192.168.1.5:8081", "192.168.1.5:8080", False),
        ("https://192.168.1.5:8080", "192.168.1.5:8081", False),
        ("http://192.168.1.50:8080", "192.168.1.5:8080", False),
        ("http://192.168.1.5:port", "192.168.1.5:8080", False),
        ("ws://192.168.1.5:8080", "192.168.1.5:8080", False),
        ("null", "192.168.1.5:8080", False),
        ("http://[::1", "[::1]:8080", False),
    ],
)
def test_same_origin_compares_host_and_port_with_the_host_header(
    origin: str, host: str, same: bool
) -> None:
    assert same_origin(origin, host) is same


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("192.168.1.5:8080", True),
        ("[fe80::1]:8080", True),
        ("localhost:8080", True),
        ("app.localhost", True),
        ("alice-laptop.local:8080", True),
        ("Chat.Office.Lan", True),
        ("evil.example:8080", False),
        ("192.168.1.5.evil.example", False),
        ("", False),
        ("[::1", False),
    ],
)
def test_host_allowed_takes_addresses_and_this_machines_names_only(
    host: str, allowed: bool
) -> None:
    names = frozenset({"alice-laptop", "alice-laptop.local", "chat.office.lan"})
    assert host_allowed(host, names) is allowed


def test_own_names_are_the_host_name_short_full_and_local_plus_configured_ones() -> None:
    names = own_names(("Chat.Office.LAN",))
    assert "chat.office.lan" in names
    assert any(name.endswith(".local") for name in names)


def test_csp_leaves_a_host_header_with_odd_characters_out() -> None:
    assert "ws://" not in content_security_policy("x; script-src *")
    assert "connect-src 'self' ws://10.0.0.1:80 wss://10.0.0.1:80;" in (
        content_security_policy("10.0.0.1:80")
    )
