"""MODE (lanchat.server.handlers.channel_modes) by transcript: room and user modes, bans."""

from __future__ import annotations

from lanchat.server.model import NO_MODES, OPERATOR
from lanchat.store.records import RoomRecord
from tests.server.transcript import (
    START,
    Transcript,
    changed_rooms,
    commands,
    expect_numeric,
    make_config,
    msg,
    persisted_rooms,
    room_with,
)

# ----------------------------------------------------------------------------- MODE


def test_mode_query_replies_324_and_329_hiding_the_key_from_outsiders() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a", "+kl pw 5")
    assert alice.send_take("MODE #a") == [
        msg(":lanchat.local 324 alice #a +ntkl pw 5"),
        msg(f":lanchat.local 329 alice #a {int(START)}"),
    ]
    assert expect_numeric(bob.send_take("MODE #a"), "324").params[2:] == ("+ntkl", "*", "5")


def test_mode_change_needs_operator_482_and_membership_442() -> None:
    t = Transcript()
    alice, bob, carol = t.register("alice"), t.register("bob"), t.register("carol")
    room_with(t, alice, "#a")
    bob.send("JOIN #a")
    assert commands(bob.send_take("MODE #a +m")) == ["482"]
    assert commands(carol.send_take("MODE #a +m")) == ["442"]
    assert commands(carol.send_take("MODE #nowhere +m")) == ["403"]
    assert t.state.rooms["#a"].modes == {"n", "t"}


def test_mode_change_is_broadcast_once_per_form() -> None:
    t = Transcript()
    alice = t.register("alice")
    plain1, plain2 = t.register("plain1"), t.register("plain2")
    timed = t.register("timed", caps=("server-time",))
    room_with(t, alice, "#a")
    for conn in (plain1, plain2, timed):
        conn.send("JOIN #a")
    effects = alice.send("MODE #a +mv plain1")
    to_others = [s for s in t.sends(effects) if alice.conn_id not in s.recipients]
    assert sorted(s.recipients for s in to_others) == [
        (plain1.conn_id, plain2.conn_id),
        (timed.conn_id,),
    ]
    assert plain2.take()[-1] == msg(":alice!alice@127.0.0.1 MODE #a +mv plain1")


def test_mode_op_and_voice_need_the_target_in_the_room() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a")
    assert alice.send_take("MODE #a +o bob") == [
        msg(":lanchat.local 441 alice bob #a :They aren't on that channel")
    ]
    assert commands(alice.send_take("MODE #a +v nobody")) == ["401"]
    bob.send("JOIN #a")
    assert alice.send_take("MODE #a +o BOB") == [msg(":alice!alice@127.0.0.1 MODE #a +o bob")]
    assert t.state.rooms["#a"].members[bob.conn_id].modes == {"o"}
    # Setting what is already set changes nothing and says nothing.
    assert alice.send_take("MODE #a +o bob") == []
    assert commands(bob.send_take("MODE #a -o alice")) == ["MODE"]


def test_mode_unknown_letter_replies_472() -> None:
    t = Transcript()
    alice = t.register("alice")
    room_with(t, alice, "#a")
    assert alice.send_take("MODE #a +zm") == [
        msg(":lanchat.local 472 alice z :is unknown mode char to me"),
        msg(":alice!alice@127.0.0.1 MODE #a +m"),
    ]


def test_ban_list_query_replies_367_and_368() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a", "+bb eve *@10.0.0.*")
    assert bob.send_take("MODE #a +b") == [
        msg(":lanchat.local 367 bob #a eve!*@*"),
        msg(":lanchat.local 367 bob #a *!*@10.0.0.*"),
        msg(":lanchat.local 368 bob #a :End of channel ban list"),
    ]
    assert alice.send_take("MODE #a -b EVE") == [msg(":alice!alice@127.0.0.1 MODE #a -b eve!*@*")]


def test_exception_and_invite_exception_lists_are_listed_persisted_and_bounded() -> None:
    # Issue 18: +e (EXCEPTS, 348/349) and +I (INVEX, 346/347), each with MAXLIST entries.
    t = Transcript(make_config(max_list_modes=1))
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a")
    effects = alice.send("MODE #a +eI friend 10.*")
    assert alice.take() == [msg(":alice!alice@127.0.0.1 MODE #a +eI friend!*@* *!*@10.*")]
    record = persisted_rooms(effects)[0]
    assert (record.excepts, record.invex) == (("friend!*@*",), ("*!*@10.*",))
    assert bob.send_take("MODE #a eI") == [
        msg(":lanchat.local 348 bob #a friend!*@*"),
        msg(":lanchat.local 349 bob #a :End of channel exception list"),
        msg(":lanchat.local 346 bob #a *!*@10.*"),
        msg(":lanchat.local 347 bob #a :End of Channel Invite Exception List"),
    ]
    assert alice.send_take("MODE #a +e other") == [
        msg(":lanchat.local 478 alice #a e :Channel list is full")
    ]
    alice.send("MODE #a -I *!*@10.*")
    assert t.state.rooms["#a"].invex == []


def test_exception_lists_come_back_from_the_store() -> None:
    record = RoomRecord("#a", "#a", 1, excepts=("x!*@*",), invex=("y!*@*",))
    t = Transcript(rooms=[record])
    assert t.state.rooms["#a"].to_record() == record


def test_every_room_mode_change_is_persisted() -> None:
    t = Transcript()
    alice = t.register("alice")
    room_with(t, alice, "#a")
    effects = alice.send("MODE #a +imstkl-n pw 7")
    assert persisted_rooms(effects) == [
        RoomRecord("#a", "#a", int(START), modes="imst", password="pw", limit=7)
    ]
    effects = alice.send("MODE #a +b bad!*@*")
    assert persisted_rooms(effects)[0].bans == ("bad!*@*",)


def test_key_and_secret_changes_are_advertised_other_modes_not() -> None:
    t = Transcript()
    alice = t.register("alice")
    room_with(t, alice, "#a")
    assert changed_rooms(alice.send("MODE #a +k pw")) == ["#a"]
    assert changed_rooms(alice.send("MODE #a +s")) == ["#a"]
    assert changed_rooms(alice.send("MODE #a +m")) == []
    assert persisted_rooms(alice.send("MODE #a +m")) == []  # nothing changed, nothing stored


def test_invalid_limit_and_key_reply_696() -> None:
    t = Transcript()
    alice = t.register("alice")
    room_with(t, alice, "#a")
    assert alice.send_take("MODE #a +l many") == [
        msg(":lanchat.local 696 alice #a l many :Limit must be a positive number")
    ]
    got = expect_numeric(alice.send_take("MODE #a +k a,b"), "696")
    assert got.params[2:] == (
        "k",
        "a,b",
        "Key must be at most 23 characters, without spaces, commas or a leading ':'",
    )


def test_full_ban_list_replies_478() -> None:
    t = Transcript(make_config(max_list_modes=1))
    alice = t.register("alice")
    room_with(t, alice, "#a", "+b one")
    assert alice.send_take("MODE #a +b two") == [
        msg(":lanchat.local 478 alice #a b :Channel list is full")
    ]


def test_user_mode_invisible_and_221() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    assert alice.send_take("MODE alice") == [msg(":lanchat.local 221 alice +")]
    assert alice.send_take("MODE alice +i") == [msg(":alice!alice@127.0.0.1 MODE alice +i")]
    assert alice.send_take("MODE alice") == [msg(":lanchat.local 221 alice +i")]
    assert alice.send_take("MODE alice +i") == []
    assert alice.send_take("MODE alice +x") == [msg(":lanchat.local 501 alice :Unknown MODE flag")]
    assert alice.send_take("MODE bob +i") == [
        msg(":lanchat.local 502 alice :Cant change mode for other users")
    ]
    assert commands(alice.send_take("MODE nobody")) == ["401"]
    assert bob.take() == []


def test_idle_members_share_one_empty_mode_set_memory_countermeasure() -> None:
    # issue #4: a 216-byte set per member and per user adds up in a room of thousands.
    t = Transcript()
    alice, bob, carol = t.register("alice"), t.register("bob"), t.register("carol")
    room_with(t, alice, "#a")
    bob.send("JOIN #a")
    carol.send("JOIN #a")
    alice.send("MODE #a +o bob")
    alice.send("MODE #a -o bob")
    room = t.state.rooms["#a"]
    members = {m.user.nick: m.modes for m in room.members.values()}
    assert members == {"alice": OPERATOR, "bob": frozenset(), "carol": frozenset()}
    assert members["alice"] is OPERATOR
    assert members["bob"] is NO_MODES and members["carol"] is NO_MODES
    assert all(user.modes is NO_MODES for user in t.state.users.values())
