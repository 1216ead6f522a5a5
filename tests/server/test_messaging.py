"""PRIVMSG / NOTICE / TAGMSG by transcript: delivery, errors, caps, persistence, fan-out forms."""

from __future__ import annotations

from lanchat.protocol.message import Message
from lanchat.server.effects import Persist, Publish
from lanchat.store.records import HistoryRecord
from tests.server.transcript import Conn, Transcript, commands, expect_numeric, make_config, msg

TIME = "2025-11-25T18:00:00.000Z"


def _room(t: Transcript, *conns: Conn, name: str = "#lobby") -> None:
    for c in conns:
        c.send(f"JOIN {name}")
    for c in t.conns.values():
        c.take()


def test_room_message_reaches_other_members_but_not_the_sender() -> None:
    t = Transcript()
    alice, bob, carol = t.register("alice"), t.register("bob"), t.register("carol")
    _room(t, alice, bob)
    alice.send("PRIVMSG #lobby :hello all")
    line = msg(":alice!alice@127.0.0.1 PRIVMSG #lobby :hello all")
    assert bob.take() == [line]
    assert alice.take() == []
    assert carol.take() == []


def test_room_target_is_matched_casefolded() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    _room(t, alice, bob)
    alice.send("PRIVMSG #LOBBY :hi")
    assert bob.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG #lobby :hi")]


def test_private_message_reaches_the_user() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    alice.send("PRIVMSG BOB :psst")
    assert bob.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG bob :psst")]
    assert alice.take() == []


def test_private_message_to_unknown_nick_replies_401() -> None:
    t = Transcript()
    alice = t.register("alice")
    got = alice.send_take("PRIVMSG nobody :x")
    assert got == [msg(":lanchat.local 401 alice nobody :No such nick/channel")]


def test_message_to_unknown_room_replies_403() -> None:
    t = Transcript()
    alice = t.register("alice")
    expect_numeric(alice.send_take("PRIVMSG #nowhere :x"), "403")


def test_privmsg_without_target_replies_411_and_without_text_412() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("PRIVMSG") == [
        msg(":lanchat.local 411 alice :No recipient given (PRIVMSG)")
    ]
    assert alice.send_take("PRIVMSG bob") == [msg(":lanchat.local 412 alice :No text to send")]
    assert alice.send_take("PRIVMSG bob :") == [msg(":lanchat.local 412 alice :No text to send")]


def test_notice_never_gets_error_replies() -> None:
    t = Transcript()
    alice = t.register("alice")
    for line in (
        "NOTICE",
        "NOTICE bob",
        "NOTICE nobody :x",
        "NOTICE #nowhere :x",
        "NOTICE a,b,c,d,e :x",
    ):
        assert alice.send_take(line) == []


def test_notice_is_delivered_like_privmsg() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    alice.send("NOTICE bob :fyi")
    assert bob.take() == [msg(":alice!alice@127.0.0.1 NOTICE bob :fyi")]


def test_away_target_sends_301_to_privmsg_sender_only() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    bob.send("AWAY :at lunch")
    got = alice.send_take("PRIVMSG bob :hi")
    assert got == [msg(":lanchat.local 301 alice bob :at lunch")]
    assert alice.send_take("NOTICE bob :hi") == []


def test_multiple_targets_each_get_the_message() -> None:
    t = Transcript()
    alice, bob, carol = t.register("alice"), t.register("bob"), t.register("carol")
    got = alice.send_take("PRIVMSG bob,carol,nobody :hi")
    assert got == [msg(":lanchat.local 401 alice nobody :No such nick/channel")]
    assert bob.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG bob :hi")]
    assert carol.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG carol :hi")]


def test_duplicate_targets_are_delivered_once() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    alice.send("PRIVMSG bob,bob :hi")
    assert len(bob.take()) == 1


def test_more_targets_than_targmax_replies_407_and_delivers_nothing() -> None:
    t = Transcript(make_config(max_targets=2))
    alice, bob = t.register("alice"), t.register("bob")
    expect_numeric(alice.send_take("PRIVMSG bob,carol,dave :hi"), "407")
    assert bob.take() == []


def test_outsider_cannot_send_to_a_no_external_messages_room() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    _room(t, alice)
    got = bob.send_take("PRIVMSG #lobby :let me in")
    assert got == [msg(":lanchat.local 404 bob #lobby :Cannot send to channel")]
    assert alice.take() == []


def test_outsider_can_send_when_the_room_allows_external_messages() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    _room(t, alice, name="#open")
    alice.send("MODE #open -n")
    alice.take()
    bob.send("PRIVMSG #open :knock knock")
    assert alice.take() == [msg(":bob!bob@127.0.0.1 PRIVMSG #open :knock knock")]


def test_moderated_room_needs_voice_to_speak() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    _room(t, alice, bob, name="#mod")
    alice.send("MODE #mod +m")
    _room(t)
    expect_numeric(bob.send_take("PRIVMSG #mod :hi"), "404")
    alice.send("MODE #mod +v bob")
    _room(t)
    assert bob.send_take("PRIVMSG #mod :hi") == []
    assert alice.take() == [msg(":bob!bob@127.0.0.1 PRIVMSG #mod :hi")]


def test_banned_member_cannot_speak_unless_a_ban_exception_matches() -> None:
    t = Transcript()
    alice = t.register("alice")
    bob = t.register("bob", ip="192.168.1.40")
    _room(t, alice, bob, name="#b")
    alice.send("MODE #b +b *!*@192.168.1.*")
    _room(t)
    expect_numeric(bob.send_take("PRIVMSG #b :hi"), "404")
    assert alice.take() == []
    alice.send("MODE #b +e bob!*@*")  # issue 18: +e (EXCEPTS)
    _room(t)
    assert bob.send_take("PRIVMSG #b :hi") == []
    assert alice.take() == [msg(":bob!bob@192.168.1.40 PRIVMSG #b :hi")]


def test_statusmsg_reaches_only_operators_or_voiced_and_is_not_stored() -> None:
    # Issue 18: "@#room" / "+#room". Not stored: CHATHISTORY would give it to every member.
    t = Transcript()
    alice = t.register("alice")
    bob = t.register("bob", caps=("echo-message",))
    voiced, plain = t.register("voiced"), t.register("plain")
    _room(t, alice, bob, voiced, plain, name="#s")
    alice.send("MODE #s +v voiced")
    _room(t)
    effects = bob.send("PRIVMSG @#s :ops only")
    assert alice.take() == [msg(":bob!bob@127.0.0.1 PRIVMSG @#s :ops only")]
    assert bob.take() == [msg(":bob!bob@127.0.0.1 PRIVMSG @#s :ops only")]  # echo-message
    assert voiced.take() == plain.take() == []
    assert not [e for e in effects if isinstance(e, Persist | Publish)]
    bob.send("NOTICE +#s :voiced and ops")
    assert commands(alice.take()) == commands(voiced.take()) == ["NOTICE"]
    assert plain.take() == []
    assert commands(bob.send_take("PRIVMSG @#nowhere :x")) == ["403"]
    assert bob.send_take("NOTICE @#nowhere :x") == []


def test_statusmsg_obeys_the_room_rules_for_sending() -> None:
    t = Transcript()
    alice, outsider = t.register("alice"), t.register("outsider")
    _room(t, alice, name="#n")
    assert outsider.send_take("PRIVMSG @#n :let me in") == [
        msg(":lanchat.local 404 outsider @#n :Cannot send to channel")
    ]
    assert alice.take() == []


def test_messages_from_a_bot_carry_the_bot_tag_for_message_tags_clients() -> None:
    t = Transcript()
    robo = t.register("robo")
    tagged = t.register("tagged", caps=("message-tags",))
    plain = t.register("plain")
    _room(t, robo, tagged, plain, name="#b")
    robo.send("MODE robo +B")
    effects = robo.send("PRIVMSG #b :beep")
    assert tagged.take() == [
        Message("PRIVMSG", ("#b", "beep"), "robo!robo@127.0.0.1", {"msgid": "m1", "bot": ""})
    ]
    assert plain.take() == [msg(":robo!robo@127.0.0.1 PRIVMSG #b :beep")]
    stored = [e.records[0] for e in effects if isinstance(e, Publish)]
    assert stored[0].tags == {"bot": ""}  # replayed by CHATHISTORY with it too


def test_every_accepted_message_is_persisted_before_it_is_sent() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    _room(t, alice, bob)
    effects = alice.send("PRIVMSG #lobby :durable")
    (publish,) = effects  # every copy of the message is held by the Publish of its record
    assert isinstance(publish, Publish)
    assert publish.records == (
        HistoryRecord(
            msgid="m1",
            time_ms=1_764_093_600_000,
            command="PRIVMSG",
            source="alice!alice@127.0.0.1",
            target="#lobby",
            target_key="#lobby",
            text="durable",
        ),
    )
    assert [send.recipients for send in publish.shown] == [(bob.conn_id,)]


def test_private_messages_are_persisted_under_the_sorted_conversation_key() -> None:
    t = Transcript()
    zed, amy = t.register("Zed"), t.register("Amy")
    effects = zed.send("NOTICE amy :x")
    ((record,),) = [e.records for e in effects if isinstance(e, Publish)]
    assert record.target_key == "amy zed"
    assert record.command == "NOTICE"
    amy.take()


def test_rejected_messages_are_not_persisted() -> None:
    t = Transcript()
    alice = t.register("alice")
    effects = alice.send("PRIVMSG nobody,#nowhere :x")
    assert not any(isinstance(e, Persist | Publish) for e in effects)


def test_fan_out_sends_one_shared_bytes_object_per_tag_form() -> None:
    """Issue #4: no per-recipient serialisation; one Send per distinct form."""
    t = Transcript()
    plain = [t.register(f"p{i}") for i in range(3)]
    timed = [t.register(f"t{i}", caps=("server-time",)) for i in range(2)]
    tagged = [t.register(f"g{i}", caps=("server-time", "message-tags")) for i in range(2)]
    sender = t.register("sender")
    _room(t, sender, *plain, *timed, *tagged)
    effects = sender.send("@+typing=done PRIVMSG #lobby :once")
    sends = t.sends(effects)
    assert len(sends) == 3
    by_ids = {frozenset(s.recipients): s.data for s in sends}
    assert by_ids[frozenset(c.conn_id for c in plain)] == (
        b":sender!sender@127.0.0.1 PRIVMSG #lobby once\r\n"
    )
    assert by_ids[frozenset(c.conn_id for c in timed)] == (
        b"@time=" + TIME.encode() + b" :sender!sender@127.0.0.1 PRIVMSG #lobby once\r\n"
    )
    assert by_ids[frozenset(c.conn_id for c in tagged)] == (
        b"@time=" + TIME.encode() + b";msgid=m1;+typing=done"
        b" :sender!sender@127.0.0.1 PRIVMSG #lobby once\r\n"
    )


def test_room_fan_out_follows_joins_parts_quits_and_cap_changes() -> None:
    """The room's cached recipient groups (Room.groups) are rebuilt after every change."""
    t = Transcript()
    alice, bob, carol = t.register("alice"), t.register("bob"), t.register("carol")
    _room(t, alice, bob)
    alice.send("PRIVMSG #lobby :one")  # builds the cache: {NONE: (alice, bob)}
    assert bob.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG #lobby one")]
    _room(t, carol)
    alice.send("PRIVMSG #lobby :two")
    assert [m.params[1] for m in bob.take() + carol.take()] == ["two", "two"]
    bob.send_take("CAP REQ :server-time")  # bob's form changes while seated
    alice.send("PRIVMSG #lobby :three")
    assert bob.take() == [msg(f"@time={TIME} :alice!alice@127.0.0.1 PRIVMSG #lobby three")]
    assert carol.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG #lobby three")]
    bob.send("PART #lobby")
    carol.send("QUIT :bye")
    alice.take()
    t.conns[bob.conn_id].take()
    alice.send("PRIVMSG #lobby :four")
    assert bob.take() == []
    assert alice.take() == []


def test_a_sender_outside_the_room_reaches_every_member() -> None:
    t = Transcript()
    alice, bob, carol = t.register("alice"), t.register("bob"), t.register("carol")
    _room(t, alice, bob)
    alice.send("MODE #lobby -n")
    _room(t)
    carol.send("PRIVMSG #lobby :from outside")
    assert [m.params[1] for m in alice.take() + bob.take()] == ["from outside"] * 2
    assert carol.take() == []


def test_client_only_tags_reach_only_message_tags_clients_and_server_tags_are_dropped() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("message-tags",))
    bob = t.register("bob", caps=("message-tags",))
    carol = t.register("carol")
    _room(t, alice, bob, carol)
    alice.send("@+draft/react=👍;time=1999-01-01T00:00:00Z;msgid=fake PRIVMSG #lobby :yay")
    assert bob.take() == [
        msg("@msgid=m1;+draft/react=👍 :alice!alice@127.0.0.1 PRIVMSG #lobby :yay")
    ]
    assert carol.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG #lobby :yay")]


def test_client_tags_over_4094_bytes_reply_417_and_deliver_nothing() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("message-tags",))
    bob = t.register("bob", caps=("message-tags",))
    got = alice.send_take(f"@+big={'x' * 4100} PRIVMSG bob :hi")
    assert got == [msg(":lanchat.local 417 alice :Input line was too long")]
    assert bob.take() == []


def test_tagmsg_goes_only_to_message_tags_clients() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("message-tags",))
    bob = t.register("bob", caps=("message-tags",))
    carol = t.register("carol")
    _room(t, alice, bob, carol)
    effects = alice.send("@+typing=active TAGMSG #lobby")
    assert bob.take() == [msg("@msgid=m1;+typing=active :alice!alice@127.0.0.1 TAGMSG #lobby")]
    assert carol.take() == []
    persisted = [r for e in effects if isinstance(e, Publish) for r in e.records]
    assert [r.command for r in persisted] == ["TAGMSG"]


def test_tagmsg_is_echoed_only_to_a_sender_with_message_tags() -> None:
    t = Transcript()
    tagger = t.register("tagger", caps=("echo-message", "message-tags"))
    plain = t.register("plain", caps=("echo-message",))
    assert plain.send_take("@+typing=active TAGMSG tagger") == []
    assert tagger.take() == [msg("@msgid=m1;+typing=active :plain!plain@127.0.0.1 TAGMSG tagger")]
    assert tagger.send_take("@+typing=paused TAGMSG plain") == [
        msg("@msgid=m2;+typing=paused :tagger!tagger@127.0.0.1 TAGMSG plain")
    ]
    assert plain.take() == []


def test_tagmsg_without_target_replies_461() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("message-tags",))
    expect_numeric(alice.send_take("TAGMSG"), "461")


def test_echo_message_returns_the_message_to_the_sender_with_its_tags() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("echo-message", "server-time", "message-tags"))
    bob = t.register("bob")
    _room(t, alice, bob)
    got = alice.send_take("@+x=1 PRIVMSG #lobby :echoed")
    assert got == [msg(f"@time={TIME};msgid=m1;+x=1 :alice!alice@127.0.0.1 PRIVMSG #lobby :echoed")]
    assert bob.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG #lobby :echoed")]


def test_echo_message_of_a_private_message_to_oneself_arrives_twice() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("echo-message",))
    got = alice.send_take("PRIVMSG alice :note to self")
    assert got == [msg(":alice!alice@127.0.0.1 PRIVMSG alice :note to self")] * 2


def test_labeled_echo_carries_the_label() -> None:
    t = Transcript()
    caps = ("echo-message", "labeled-response", "batch", "message-tags")
    alice = t.register("alice", caps=caps)
    bob = t.register("bob")
    got = alice.send_take("@label=L1 PRIVMSG bob :hi")
    assert got == [msg("@label=L1;msgid=m1 :alice!alice@127.0.0.1 PRIVMSG bob :hi")]
    assert bob.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG bob :hi")]


def test_labeled_command_without_reply_gets_ack() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("labeled-response", "batch"))
    t.register("bob")
    assert alice.send_take("@label=q PRIVMSG bob :hi") == [msg("@label=q :lanchat.local ACK")]


def test_labeled_error_reply_carries_the_label() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("labeled-response", "batch"))
    got = alice.send_take("@label=e PRIVMSG nobody :hi")
    assert got == [msg("@label=e :lanchat.local 401 alice nobody :No such nick/channel")]


def test_labeled_multi_line_reply_is_wrapped_in_a_labeled_response_batch() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("labeled-response", "batch", "echo-message"))
    t.register("bob")
    got = alice.send_take("@label=b PRIVMSG nobody,bob :hi")
    assert got == [
        msg("@label=b :lanchat.local BATCH +b1 labeled-response"),
        msg("@batch=b1 :lanchat.local 401 alice nobody :No such nick/channel"),
        msg("@batch=b1 :alice!alice@127.0.0.1 PRIVMSG bob :hi"),
        msg(":lanchat.local BATCH -b1"),
    ]


def test_label_is_ignored_without_labeled_response_and_batch() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("labeled-response",))
    t.register("bob")
    assert alice.send_take("@label=x PRIVMSG bob :hi") == []


def test_sending_updates_whois_idle_time() -> None:
    t = Transcript()
    alice = t.register("alice")
    t.register("bob")
    t.clock.advance(30)
    alice.send("PRIVMSG bob :hi")
    user = t.state.find_user("alice")
    assert user is not None and user.last_message == t.clock.now


def test_notice_to_a_room_the_sender_may_not_use_is_dropped_silently() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    _room(t, alice)
    assert bob.send_take("NOTICE #lobby :outside") == []
    assert alice.take() == []


# -- a message that could not be stored (issue #2: "nothing accepted is ever lost") -------------

FAILED = (
    "Your message was not delivered: the server could not save it (database or disk is full). "
    "Try again; if it keeps failing, tell whoever runs this room (disk full?)"
)


def test_unstored_message_is_shown_to_nobody_and_the_sender_gets_fail_message_error() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("echo-message", "standard-replies"))
    bob = t.register("bob")
    _room(t, alice, bob)
    t.store_error = "database or disk is full"
    got = alice.send_take("PRIVMSG #lobby :lost?")
    assert got == [Message("FAIL", ("PRIVMSG", "MESSAGE_ERROR", "#lobby", FAILED), "lanchat.local")]
    assert bob.take() == []


def test_unstored_message_to_a_client_without_standard_replies_gets_a_notice() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    t.store_error = "database or disk is full"
    assert alice.send_take("NOTICE bob :psst") == [
        Message("NOTICE", ("alice", f"bob: {FAILED}"), "lanchat.local")
    ]
    assert bob.take() == []


def test_unstored_message_keeps_the_senders_other_replies_and_its_label() -> None:
    t = Transcript()
    caps = ("batch", "echo-message", "labeled-response", "standard-replies")
    alice, bob = t.register("alice", caps=caps), t.register("bob")
    bob.send_take("AWAY :lunch")
    t.store_error = "database or disk is full"
    got = alice.send_take("@label=x1 PRIVMSG bob,nobody :hi")
    assert commands(got) == ["BATCH", "FAIL", "301", "401", "BATCH"]
    assert got[0].tags == {"label": "x1"}
    assert got[1].params[:3] == ("PRIVMSG", "MESSAGE_ERROR", "bob")
    assert bob.take() == []


def test_stored_labeled_message_echo_carries_the_label() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("batch", "echo-message", "labeled-response"))
    bob = t.register("bob")
    got = alice.send_take("@label=x2 PRIVMSG bob :hi")
    assert got == [msg("@label=x2 :alice!alice@127.0.0.1 PRIVMSG bob :hi")]
    assert bob.take() == [msg(":alice!alice@127.0.0.1 PRIVMSG bob :hi")]


def test_echo_rides_in_the_senders_place_of_its_groups_relay() -> None:
    """Issue #4: with echo-message the sender's copy goes in the room relay's skip slot, so a
    room of echo-message clients still gets one Send per message (one run at the edge)."""
    t = Transcript()
    alice, bob, carol = (t.register(n, caps=("echo-message",)) for n in ("alice", "bob", "carol"))
    _room(t, alice, bob, carol)
    (send,) = t.sends(alice.send("PRIVMSG #lobby :hi all"))
    line = b":alice!alice@127.0.0.1 PRIVMSG #lobby :hi all\r\n"
    assert send.recipients == (bob.conn_id, carol.conn_id)
    assert (send.data, send.skip, send.instead) == (line, alice.conn_id, line)
    assert alice.take_lines() == bob.take_lines() == [line.decode().rstrip()]


def test_sender_alone_in_its_tag_form_gets_its_echo_in_a_send_of_its_own() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("echo-message", "server-time"))
    bob = t.register("bob")
    _room(t, alice, bob)
    relay, echo = t.sends(alice.send("PRIVMSG #lobby :hi"))
    assert (relay.recipients, relay.instead) == ((bob.conn_id,), b"")
    assert echo.recipients == (alice.conn_id,)
    assert [m.params for m in alice.take()] == [("#lobby", "hi")]


def test_an_echo_message_sender_outside_the_room_gets_its_echo() -> None:
    """Only a seated sender is skipped in its group's relay; an outsider's echo goes apart."""
    t = Transcript()
    alice, bob = (t.register(n, caps=("echo-message",)) for n in ("alice", "bob"))
    _room(t, bob)
    bob.send("MODE #lobby -n")
    bob.take()
    relay, echo = t.sends(alice.send("PRIVMSG #lobby :from outside"))
    assert (relay.recipients, relay.skip, relay.instead) == ((bob.conn_id,), 0, b"")
    assert echo.recipients == (alice.conn_id,)
    assert [m.params[1] for m in alice.take() + bob.take()] == ["from outside"] * 2
