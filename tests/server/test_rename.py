"""RENAME, draft/channel-rename (lanchat.server.handlers.rename).

Transcript tests, then a rename over a real server on 127.0.0.1 whose history follows it.
"""

from __future__ import annotations

from lanchat.server.app import LanchatServer
from tests.server.clients import registered
from tests.server.transcript import (
    Transcript,
    changed_rooms,
    commands,
    expect_numeric,
    msg,
    persisted_rooms,
    room_with,
)

CAP = "draft/channel-rename"


def test_rename_is_seen_as_rename_with_the_cap_and_as_part_join_without() -> None:
    t = Transcript()
    alice = t.register("alice", caps=(CAP,))
    bob = t.register("bob")
    room_with(t, alice, "#boaring", "+t", "+k pw")
    alice.send("TOPIC #boaring :dull")
    bob.send("JOIN #boaring pw")
    alice.take()
    bob.take()
    effects = alice.send("RENAME #boaring #boring :Typo fix")
    assert alice.take() == [msg(":alice!alice@127.0.0.1 RENAME #boaring #boring :Typo fix")]
    assert bob.take() == [
        msg(":bob!bob@127.0.0.1 PART #boaring :Typo fix"),
        msg(":bob!bob@127.0.0.1 JOIN #boring"),
        msg(":lanchat.local 332 bob #boring :dull"),
        msg(f":lanchat.local 333 bob #boring alice!alice@127.0.0.1 {int(t.clock.now)}"),
        msg(":lanchat.local 353 bob = #boring :@alice bob"),
        msg(":lanchat.local 366 bob #boring :End of /NAMES list"),
    ]
    # Discovery withdraws the old name and advertises the new one.
    assert changed_rooms(effects) == ["#boaring", "#boring"]
    assert t.state.room_info("#boaring") is None
    info = t.state.room_info("#boring")
    assert info is not None and (info.name, info.key_required) == ("#boring", True)
    # The store seals the new name, then moves the room (and its history) there.
    sealed, moved = persisted_rooms(effects)
    assert (sealed.key, sealed.deleted) == ("#boring", True)
    assert (moved.key, moved.name, moved.renamed_from, moved.password) == (
        "#boring",
        "#boring",
        "#boaring",
        "pw",
    )
    # The room is the same room: members, modes and key went along.
    assert alice.send_take("PRIVMSG #boring :hi") == []
    assert bob.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG #boring :hi")]
    assert expect_numeric(bob.send_take("PART #boaring"), "403")


def test_rename_without_a_reason_sends_an_empty_one() -> None:
    t = Transcript()
    alice = t.register("alice", caps=(CAP,))
    room_with(t, alice, "#coding")
    assert alice.send_take("RENAME #coding #programming") == [
        msg(":alice!alice@127.0.0.1 RENAME #coding #programming :")
    ]


def test_the_fallback_join_names_the_account_with_extended_join() -> None:
    t = Transcript()
    alice = t.register("alice", caps=(CAP,))
    bob = t.register("bob", caps=("extended-join",))
    bob.send("REGISTER * * secret-words")  # bob is logged in as bob
    room_with(t, alice, "#coding")
    bob.send("JOIN #coding")
    bob.take()
    alice.send("RENAME #coding #programming")
    assert msg(":bob!bob@127.0.0.1 JOIN #programming bob :bob Example") in bob.take()


def test_a_change_of_case_needs_no_fallback() -> None:
    t = Transcript()
    alice = t.register("alice")
    bob = t.register("bob", caps=(CAP,))
    room_with(t, alice, "#hall")
    bob.send("JOIN #hall")
    alice.take()
    bob.take()
    effects = alice.send("RENAME #hall #Hall")
    assert alice.take() == []
    assert bob.take() == [msg(":alice!alice@127.0.0.1 RENAME #hall #Hall :")]
    assert changed_rooms(effects) == ["#hall"]
    assert [r.name for r in persisted_rooms(effects)] == ["#Hall"]


def test_rename_refusals() -> None:
    t = Transcript()
    alice = t.register("alice")
    bob = t.register("bob")
    room_with(t, alice, "#evil")
    room_with(t, bob, "#good")
    bob.send("JOIN #evil")
    bob.take()
    assert bob.send_take("RENAME #evil #nice") == [
        msg(":lanchat.local 482 bob #evil :You're not channel operator")
    ]
    assert alice.send_take("RENAME #evil #good :Don't be evil") == [
        msg(
            ":lanchat.local FAIL RENAME CHANNEL_NAME_IN_USE #evil #good "
            ":A room of that name already exists; choose another name"
        )
    ]
    assert commands(alice.send_take("RENAME #evil bad,name")) == ["FAIL"]
    assert commands(alice.send_take("RENAME #nowhere #x")) == ["403"]
    assert commands(alice.send_take("RENAME #evil")) == ["461"]
    assert t.state.find_room("#evil") is not None


def test_a_configured_room_keeps_its_name() -> None:
    t = Transcript()  # #lobby is the configured room by default
    alice = t.register("alice")
    room_with(t, alice, "#lobby")
    got = alice.send_take("RENAME #lobby #hall")
    assert got[0].params[:4] == ("RENAME", "CANNOT_RENAME", "#lobby", "#hall")


def test_an_invite_follows_the_renamed_room() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a", "+i")
    alice.send("INVITE bob #a")
    alice.send("RENAME #a #b")
    bob.take()
    assert commands(bob.send_take("JOIN #b")) == ["JOIN", "353", "366"]


async def test_rename_over_sockets_takes_the_history_along(irc_server: LanchatServer) -> None:
    history = ("draft/chathistory", "batch", "server-time", "message-tags")
    alice = await registered(irc_server.port, "alice", "#old", caps=(CAP, *history))
    alice.send("PRIVMSG #old :before the rename")
    alice.send("RENAME #old #new :better")
    await alice.expect("RENAME")
    alice.send("CHATHISTORY LATEST #new * 10")
    line = await alice.expect("PRIVMSG")
    assert line.params == ("#new", "before the rename")
    await alice.close()
