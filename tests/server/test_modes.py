"""MODE parsing, applying and rendering (lanchat.server.modes), by plain function calls."""

from __future__ import annotations

import pytest

from lanchat.protocol.isupport import CHANMODES, PREFIX
from lanchat.server.model import PREFIX_CHARS, PREFIX_MODES, Room
from lanchat.server.modes import (
    KEY_MODE,
    LIMIT_MODE,
    LIST_MODES,
    MAX_KEY_CHARS,
    ROOM_FLAG_MODES,
    ModeChange,
    apply_room_changes,
    parse_room_modes,
    parse_user_modes,
    render_changes,
    room_mode_params,
)


def _room() -> Room:
    return Room.create("#Room", created_s=1_700_000_000)


def test_isupport_advertises_exactly_the_modes_we_implement() -> None:
    assert f"({PREFIX_MODES}){PREFIX_CHARS}" == PREFIX
    assert f"{LIST_MODES},{KEY_MODE},{LIMIT_MODE},{ROOM_FLAG_MODES}" == CHANMODES


def test_flags_and_parameters_are_taken_in_order() -> None:
    parsed = parse_room_modes(("+ntk-l+o", "sekrit", "alice"), 6)
    assert parsed.changes == [
        ModeChange(True, "n"),
        ModeChange(True, "t"),
        ModeChange(True, "k", "sekrit"),
        ModeChange(False, "l"),
        ModeChange(True, "o", "alice"),
    ]
    assert parsed.unknown == []


def test_no_modestring_means_no_changes() -> None:
    assert parse_room_modes((), 6).changes == []


def test_modestring_without_sign_means_adding() -> None:
    assert parse_room_modes(("m",), 6).changes == [ModeChange(True, "m")]


def test_unknown_letters_are_reported_once_each() -> None:
    parsed = parse_room_modes(("+zQz",), 6)
    assert parsed.unknown == ["z", "Q"]
    assert parsed.changes == []


def test_ban_without_mask_is_a_list_query() -> None:
    parsed = parse_room_modes(("+b",), 6)
    assert parsed.list_queries == ["b"]
    assert parsed.changes == []


def test_change_missing_its_parameter_is_dropped() -> None:
    assert parse_room_modes(("+ov",), 6).changes == []
    assert parse_room_modes(("+l",), 6).changes == []


def test_minus_k_takes_an_optional_key() -> None:
    assert parse_room_modes(("-k",), 6).changes == [ModeChange(False, "k")]
    assert parse_room_modes(("-k", "old"), 6).changes == [ModeChange(False, "k", "old")]


def test_parameter_modes_beyond_the_modes_limit_are_dropped() -> None:
    parsed = parse_room_modes(("+vvvn", "a", "b", "c"), 2)
    assert parsed.changes == [
        ModeChange(True, "v", "a"),
        ModeChange(True, "v", "b"),
        ModeChange(True, "n"),
    ]


def test_user_modes_accept_invisible_operator_and_wallops() -> None:
    changes, unknown = parse_user_modes("+iw-ox")
    assert changes == [ModeChange(True, "i"), ModeChange(True, "w"), ModeChange(False, "o")]
    assert unknown == ["x"]


def test_setting_a_set_flag_changes_nothing() -> None:
    room = _room()
    applied, rejected = apply_room_changes(
        room, [ModeChange(True, "n"), ModeChange(True, "s")], max_bans=10
    )
    assert applied == [ModeChange(True, "s")]
    assert rejected == []
    assert room.modes == {"n", "s", "t"}


def test_key_is_set_replaced_and_removed_as_star() -> None:
    room = _room()
    applied, _ = apply_room_changes(room, [ModeChange(True, "k", "one")], max_bans=10)
    assert applied == [ModeChange(True, "k", "one")]
    applied, _ = apply_room_changes(room, [ModeChange(True, "k", "two")], max_bans=10)
    assert room.password == "two"
    applied, _ = apply_room_changes(room, [ModeChange(False, "k", "whatever")], max_bans=10)
    assert applied == [ModeChange(False, "k", "*")]
    assert room.password == ""


@pytest.mark.parametrize("key", ["x" * (MAX_KEY_CHARS + 1), "a,b", " ", "a b", ":a"])
def test_key_join_could_not_give_is_rejected_not_cut(key: str) -> None:
    # Issue 18: +k and JOIN agree; a key cut to 23 characters locked out whoever typed it whole.
    room = _room()
    applied, rejected = apply_room_changes(room, [ModeChange(True, "k", key)], max_bans=10)
    assert (applied, rejected, room.password) == ([], [ModeChange(True, "k", key)], "")
    applied, _ = apply_room_changes(room, [ModeChange(True, "k", "x" * MAX_KEY_CHARS)], max_bans=10)
    assert room.password == "x" * MAX_KEY_CHARS


def test_limit_must_be_a_positive_number() -> None:
    room = _room()
    applied, rejected = apply_room_changes(
        room, [ModeChange(True, "l", "ten"), ModeChange(True, "l", "0")], max_bans=10
    )
    assert applied == []
    assert len(rejected) == 2
    applied, _ = apply_room_changes(room, [ModeChange(True, "l", "5")], max_bans=10)
    assert (applied, room.limit) == ([ModeChange(True, "l", "5")], 5)
    applied, _ = apply_room_changes(room, [ModeChange(False, "l")], max_bans=10)
    assert (applied, room.limit) == ([ModeChange(False, "l")], 0)


def test_bans_are_normalised_deduplicated_casefolded_and_removed() -> None:
    room = _room()
    applied, _ = apply_room_changes(
        room, [ModeChange(True, "b", "Bob"), ModeChange(True, "b", "bob!*@*")], max_bans=10
    )
    assert applied == [ModeChange(True, "b", "Bob!*@*")]
    applied, _ = apply_room_changes(room, [ModeChange(False, "b", "BOB")], max_bans=10)
    assert applied == [ModeChange(False, "b", "Bob!*@*")]
    assert room.bans == []


def test_ban_list_limit_countermeasure() -> None:
    room = _room()
    _, rejected = apply_room_changes(
        room, [ModeChange(True, "b", "a"), ModeChange(True, "b", "b")], max_bans=1
    )
    assert room.bans == ["a!*@*"]
    assert rejected == [ModeChange(True, "b", "b")]


def test_membership_changes_are_left_to_the_caller() -> None:
    applied, rejected = apply_room_changes(_room(), [ModeChange(True, "o", "alice")], max_bans=10)
    assert (applied, rejected) == ([], [])


def test_render_groups_signs_and_appends_parameters() -> None:
    rendered = render_changes(
        [
            ModeChange(True, "o", "alice"),
            ModeChange(True, "m"),
            ModeChange(False, "v", "bob"),
            ModeChange(False, "k", "*"),
        ]
    )
    assert rendered == ("+om-vk", "alice", "bob", "*")


def test_channel_mode_reply_hides_the_key_from_outsiders() -> None:
    room = _room()
    room.modes.add("s")
    room.password, room.limit = "pw", 9
    assert room_mode_params(room, show_key=True) == ("+nstkl", "pw", "9")
    assert room_mode_params(room, show_key=False) == ("+nstkl", "*", "9")
    room.modes.clear()
    room.password, room.limit = "", 0
    assert room_mode_params(room, show_key=True) == ("+",)
