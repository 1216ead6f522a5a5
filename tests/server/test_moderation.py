"""KICK and INVITE (lanchat.server.handlers.moderation) by transcript."""

from __future__ import annotations

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
