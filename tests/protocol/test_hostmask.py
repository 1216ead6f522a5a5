"""Hostmasks and wildcard ban masks: the ircdocs mask vectors plus casefolding."""

from __future__ import annotations

import pytest
from parser_tests import data as vectors

from lanchat.protocol.hostmask import Hostmask, host_for_ip, mask_matches, normalize_mask


@pytest.mark.parametrize("case", vectors.mask_match["tests"], ids=lambda c: c["mask"])
def test_mask_matches_ircdocs_vectors(case: dict[str, object]) -> None:
    mask = str(case["mask"])
    for name in case["matches"]:  # type: ignore[attr-defined]
        assert mask_matches(mask, name), name
    for name in case["fails"]:  # type: ignore[attr-defined]
        assert not mask_matches(mask, name), name


@pytest.mark.parametrize("case", vectors.userhost_split["tests"], ids=lambda c: c["source"])
def test_hostmask_parse_matches_ircdocs_vectors(case: dict[str, object]) -> None:
    atoms = case["atoms"]
    got = Hostmask.parse(str(case["source"]))
    assert (got.nick, got.user, got.host) == (
        atoms.get("nick", ""),  # type: ignore[attr-defined]
        atoms.get("user", ""),  # type: ignore[attr-defined]
        atoms.get("host", ""),  # type: ignore[attr-defined]
    )


def test_hostmask_renders_nick_user_host() -> None:
    assert str(Hostmask("alice", "al", "10.0.0.2")) == "alice!al@10.0.0.2"


def test_masks_match_casefolded() -> None:
    assert mask_matches("ALICE[1]!*@*", "alice{1}!x@10.0.0.1")


def test_subnet_ban_mask_matches_ip_hosts() -> None:
    assert mask_matches("*!*@192.168.1.*", "bob!b@192.168.1.40")
    assert not mask_matches("*!*@192.168.1.*", "bob!b@192.168.10.4")


def test_escaped_wildcard_matches_only_itself() -> None:
    assert mask_matches("a\\*!*@*", "a*!x@y")
    assert not mask_matches("a\\*!*@*", "ab!x@y")


def test_ipv6_hosts_starting_with_a_colon_get_a_zero() -> None:
    assert host_for_ip("::1") == "0::1"
    assert host_for_ip("fe80::1") == "fe80::1"
    assert host_for_ip("10.0.0.1") == "10.0.0.1"


@pytest.mark.parametrize(
    ("typed", "full"),
    [
        ("alice", "alice!*@*"),
        ("192.168.1.*", "*!*@192.168.1.*"),
        ("fe80::*", "*!*@fe80::*"),
        ("u@10.*", "*!u@10.*"),
        ("nick!user", "nick!user@*"),
        ("a!b@c", "a!b@c"),
    ],
)
def test_normalize_mask_completes_partial_masks(typed: str, full: str) -> None:
    assert normalize_mask(typed) == full
