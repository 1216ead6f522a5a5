"""KICK and INVITE (lanchat.server.handlers.moderation) by transcript, and over sockets."""

from __future__ import annotations

from lanchat.server.app import LanchatServer
from tests.server.clients import registered
from tests.server.transcript import (
    Transcript,
    changed_rooms,
    commands,
    make_config,
    msg,
    room_with,
)

# ----------------------------------------------------------------------------- KICK


def test_kick_removes_member_and_the_room_sees_it() -> None:
    t = Transcript()
    alice, bob, carol = t.register("alice"), t.register("bob"), t.register("carol")
    room_with(t, alice, "#a")
    bob.send("JOIN #a")
    carol.send("JOIN #a")
    for conn in (alice, bob, carol):
        conn.take()
    effects = alice.send("KICK #a bob :spamming")
    line = ":alice!alice@127.0.0.1 KICK #a bob spamming"
    assert alice.take_lines() == [line]
    assert bob.take_lines() == [line]
    assert carol.take_lines() == [line]
    assert t.state.users[bob.conn_id].rooms == {}
    assert changed_rooms(effects) == ["#a"]
    # One Send for the two other members, who share a form.
    assert [s.recipients for s in t.sends(effects) if alice.conn_id not in s.recipients] == [
        (bob.conn_id, carol.conn_id)
    ]


def test_kick_comment_defaults_to_kicker_and_is_cut_to_kicklen() -> None:
    t = Transcript(make_config(kicklen=4))
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a")
    bob.send("JOIN #a")
    assert alice.send_take("KICK #a bob")[0].params[-1] == "alic"
    bob.send("JOIN #a")
    assert alice.send_take("KICK #a bob :goodbye")[0].params[-1] == "good"


def test_kick_errors_reply_403_442_482_441_401() -> None:
    t = Transcript()
    alice, bob, carol = t.register("alice"), t.register("bob"), t.register("carol")
    room_with(t, alice, "#a")
    bob.send("JOIN #a")
    assert commands(bob.send_take("KICK #nowhere alice")) == ["403"]
    assert commands(carol.send_take("KICK #a bob")) == ["442"]
    assert bob.send_take("KICK #a alice") == [
        msg(":lanchat.local 482 bob #a :You're not channel operator")
    ]
    assert alice.send_take("KICK #a carol") == [
        msg(":lanchat.local 441 alice carol #a :They aren't on that channel")
    ]
    assert commands(alice.send_take("KICK #a nobody")) == ["401"]


# ----------------------------------------------------------------------------- INVITE


def test_invite_replies_341_and_tells_target_and_ops_with_invite_notify() -> None:
    t = Transcript()
    alice = t.register("alice")
    op2 = t.register("op2", caps=("invite-notify",))
    member = t.register("member", caps=("invite-notify",))
    bob = t.register("bob")
    room_with(t, alice, "#a")
    op2.send("JOIN #a")
    member.send("JOIN #a")
    alice.send("MODE #a +o op2")
    for conn in (op2, member):
        conn.take()
    assert alice.send_take("INVITE bob #a") == [msg(":lanchat.local 341 alice bob #a")]
    invite = ":alice!alice@127.0.0.1 INVITE bob #a"
    assert bob.take_lines() == [invite]
    assert op2.take_lines() == [invite]
    assert member.take() == []


def test_invite_errors_reply_401_403_442_482_443() -> None:
    t = Transcript()
    alice, bob, carol = t.register("alice"), t.register("bob"), t.register("carol")
    room_with(t, alice, "#a", "+i")
    bob.send("INVITE carol #a")
    assert commands(alice.send_take("INVITE nobody #a")) == ["401"]
    assert commands(alice.send_take("INVITE bob #nowhere")) == ["403"]
    assert commands(carol.send_take("INVITE bob #a")) == ["442"]
    alice.send("INVITE bob #a")
    bob.send("JOIN #a")
    assert commands(bob.send_take("INVITE carol #a")) == ["482"]
    assert alice.send_take("INVITE bob #a") == [
        msg(":lanchat.local 443 alice bob #a :is already on channel")
    ]


def test_members_may_invite_into_a_room_without_plus_i() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    t.register("carol")
    alice.send("JOIN #lobby")
    bob.send("JOIN #lobby")
    assert commands(bob.send_take("INVITE carol #lobby")) == ["341"]


def test_invite_from_a_member_who_is_not_an_operator_does_not_lift_a_ban() -> None:
    t = Transcript()
    alice, bob, mallory = t.register("alice"), t.register("bob"), t.register("mallory")
    room_with(t, alice, "#a", "+b mallory!*@*")
    bob.send("JOIN #a")
    # The invite itself still goes out (a member may ask someone over), but lets no one in.
    assert commands(bob.send_take("INVITE mallory #a")) == ["341"]
    assert mallory.take_lines() == [":bob!bob@127.0.0.1 INVITE mallory #a"]
    assert commands(mallory.send_take("JOIN #a")) == ["474"]
    assert commands(mallory.send_take("CHATHISTORY LATEST #a * 10")) == ["FAIL"]
    # An operator's invite does.
    alice.send("INVITE mallory #a")
    assert commands(mallory.send_take("JOIN #a"))[0] == "JOIN"


def test_an_invite_belongs_to_the_person_invited_not_to_the_nick() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a", "+i", "+b *!*@10.0.0.66")
    alice.send("INVITE bob #a")
    t.disconnect(bob)
    # Whoever takes the nick next, from any address, is not the person alice let in.
    mallory = t.register("bob", ip="10.0.0.66")
    assert commands(mallory.send_take("JOIN #a")) == ["473"]
    # The person invited keeps the invite across a nick change.
    carol = t.register("carol")
    alice.send("INVITE carol #a")
    carol.send("NICK caroline")
    assert commands(carol.send_take("JOIN #a"))[0] == "JOIN"


# ----------------------------------------------------------------------------- issue 18


def test_kick_of_several_nicks_kicks_each_and_everyone_sees_each() -> None:
    t = Transcript()
    alice, bob, carol, dave = (t.register(n) for n in ("alice", "bob", "carol", "dave"))
    room_with(t, alice, "#a")
    for c in (bob, carol, dave):
        c.send("JOIN #a")
    for c in (alice, bob, carol, dave):
        c.take()
    assert alice.send_take("KICK #a bob,carol,nobody :out") == [
        msg(":alice!alice@127.0.0.1 KICK #a bob :out"),
        msg(":alice!alice@127.0.0.1 KICK #a carol :out"),
        msg(":lanchat.local 401 alice nobody :No such nick/channel"),
    ]
    assert dave.take() == [
        msg(":alice!alice@127.0.0.1 KICK #a bob :out"),
        msg(":alice!alice@127.0.0.1 KICK #a carol :out"),
    ]
    assert set(t.state.rooms["#a"].members) == {alice.conn_id, dave.conn_id}


def test_kick_of_more_nicks_than_targmax_kicks_nobody() -> None:
    t = Transcript(make_config(max_targets=2))
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a")
    bob.send("JOIN #a")
    alice.take()
    assert alice.send_take("KICK #a bob,x,y") == [
        msg(":lanchat.local 407 alice bob,x,y :Too many targets")
    ]
    assert bob.conn_id in t.state.rooms["#a"].members


def test_invite_without_parameters_lists_the_rooms_one_is_invited_to() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#b", "+i")
    room_with(t, alice, "#a", "+i")
    assert bob.send_take("INVITE") == [msg(":lanchat.local 337 bob :End of /INVITE list")]
    alice.send("INVITE bob #b")
    alice.send("INVITE bob #a")
    assert bob.send_take("INVITE") == [
        msg(":lanchat.local 336 bob #a"),
        msg(":lanchat.local 336 bob #b"),
        msg(":lanchat.local 337 bob :End of /INVITE list"),
    ]
    bob.send("JOIN #a")
    assert bob.send_take("INVITE")[0] == msg(":lanchat.local 336 bob #b")
    assert commands(bob.send_take("INVITE alice")) == ["461"]


async def test_multi_kick_and_invite_list_over_sockets(irc_server: LanchatServer) -> None:
    alice = await registered(irc_server.port, "alice", "#k")
    bob = await registered(irc_server.port, "bob", "#k")
    carol = await registered(irc_server.port, "carol", "#k")
    alice.send("MODE #k +i")
    alice.send("KICK #k bob,carol :bye")
    kicked = [await carol.expect("KICK"), await carol.expect("KICK")]
    assert [m.params[1] for m in kicked] == ["bob", "carol"]
    alice.send("INVITE bob #k")
    await bob.expect("INVITE")
    bob.send("INVITE")
    assert (await bob.expect_numeric("336")).params[1] == "#k"
    await bob.expect_numeric("337")
    for client in (alice, bob, carol):
        await client.close()
