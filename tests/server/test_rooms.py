"""Room commands: JOIN PART TOPIC NAMES LIST (MODE, KICK and INVITE have their own files).

Transcript tests (no sockets): lines go into a ServerState, the lines each client got and the
effects (Persist, RoomChanged, the grouping of Sends) are checked. The socket test at the end
restarts a real server on the same data directory to check that rooms come back.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lanchat.protocol.message import Message
from lanchat.server.app import running_server
from lanchat.server.effects import Persist, Send
from lanchat.store import HistoryDB, HistoryQuery
from lanchat.store.records import HistoryRecord, RoomRecord
from tests.server.clients import registered
from tests.server.transcript import (
    START,
    Conn,
    Transcript,
    changed_rooms,
    commands,
    expect_numeric,
    make_config,
    msg,
    persisted_rooms,
    room_with,
)
from tests.support import server_config

# ----------------------------------------------------------------------------- JOIN


def test_join_creates_room_with_creator_as_operator() -> None:
    t = Transcript()
    alice = t.register("alice")
    effects = alice.send("JOIN #new")
    assert alice.take_lines() == [
        ":alice!alice@127.0.0.1 JOIN #new",
        ":lanchat.local 353 alice = #new @alice",
        ":lanchat.local 366 alice #new :End of /NAMES list",
    ]
    room = t.state.rooms["#new"]
    assert room.modes == {"n", "t"}
    record = RoomRecord("#new", "#new", int(START), modes="nt")
    # Whatever history the store holds under the name is sealed first: it is not this room's.
    assert persisted_rooms(effects) == [dataclasses.replace(record, deleted=True), record]
    assert changed_rooms(effects) == ["#new"]
    # The room is durable before anyone is told about it.
    assert isinstance(effects[0], Persist)


def test_join_several_rooms_with_their_keys() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a", "+k ka")
    room_with(t, alice, "#b", "+k kb")
    bob.send("JOIN #a,#b ka,kb")
    assert [m.params[0] for m in bob.take() if m.command == "JOIN"] == ["#a", "#b"]


def test_join_with_wrong_key_replies_475() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a", "+k secret")
    assert bob.send_take("JOIN #a nope") == [
        msg(":lanchat.local 475 bob #a :Cannot join channel (+k)")
    ]
    assert commands(bob.send_take("JOIN #a")) == ["475"]


def test_keys_with_spaces_are_refused_alike_by_mode_and_join() -> None:
    # Issue 18: +k refuses what JOIN could never give, and JOIN answers such a key 475 at
    # once, without counting it as a guess against the address.
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a")
    for bad in (":a b", ": ", "x" * 24):
        got = alice.send_take(f"MODE #a +k {bad}")
        assert commands(got) == ["696"], bad
        assert got[0].params[-1].startswith("Key must be at most 23 characters")
    assert t.state.rooms["#a"].password == ""
    alice.send("MODE #a +k right")
    for bad in ("JOIN #a :a b", "JOIN #a : ", "JOIN #a :   "):
        assert bob.send_take(bad) == [
            msg(
                ":lanchat.local 475 bob #a "
                ":Cannot join channel (+k) - a key has no spaces and at most 23 characters"
            )
        ]
    assert t.state.auth_throttle.retry_after_s("127.0.0.1") == 0
    assert commands(bob.send_take("JOIN #a right"))[0] == "JOIN"


def test_a_stored_key_with_a_space_still_opens_its_room() -> None:
    # Set before +k refused spaces (issue 18): whoever knows it is not locked out.
    t = Transcript(rooms=[RoomRecord("#old", "#old", 1, password="a b")])
    bob = t.register("bob")
    assert commands(bob.send_take("JOIN #old :a b"))[0] == "JOIN"


def test_ban_exception_and_invite_exception_let_their_matches_in() -> None:
    t = Transcript()
    alice, bob, carol = t.register("alice"), t.register("bob"), t.register("carol", ip="10.0.0.3")
    room_with(t, alice, "#a", "+b *!*@*", "+e bob!*@*")
    assert commands(bob.send_take("JOIN #a"))[0] == "JOIN"
    assert commands(carol.send_take("JOIN #a")) == ["474"]
    room_with(t, alice, "#i", "+i", "+I *!*@10.*")
    assert commands(carol.send_take("JOIN #i"))[0] == "JOIN"
    assert commands(bob.send_take("JOIN #i")) == ["473"]


def test_join_full_room_replies_471() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a", "+l 1")
    assert bob.send_take("JOIN #a") == [msg(":lanchat.local 471 bob #a :Cannot join channel (+l)")]


def test_join_invite_only_replies_473_until_invited() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a", "+i")
    assert bob.send_take("JOIN #a") == [msg(":lanchat.local 473 bob #a :Cannot join channel (+i)")]
    alice.send("INVITE bob #a")
    assert commands(bob.send_take("JOIN #a"))[0] == "JOIN"
    # The invite is used up by the join.
    bob.send("PART #a")
    assert commands(bob.send_take("JOIN #a")) == ["473"]


def test_join_banned_by_host_mask_replies_474() -> None:
    t = Transcript()
    alice = t.register("alice")
    mallory = t.register("mallory", ip="10.0.0.7")
    bob = t.register("bob", ip="10.0.1.7")
    room_with(t, alice, "#a", "+b *!*@10.0.0.*")
    assert mallory.send_take("JOIN #a") == [
        msg(":lanchat.local 474 mallory #a :Cannot join channel (+b)")
    ]
    assert commands(bob.send_take("JOIN #a"))[0] == "JOIN"


def test_ban_matches_nick_casefolded_and_invite_lifts_it() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("Bob[1]")
    room_with(t, alice, "#a", "+b bob{1}")
    assert commands(bob.send_take("JOIN #a")) == ["474"]
    alice.send("INVITE Bob[1] #a")
    assert commands(bob.send_take("JOIN #a"))[0] == "JOIN"


def test_join_bad_room_names_reply_403_and_476() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("JOIN lobby") == [msg(":lanchat.local 403 alice lobby :No such channel")]
    assert commands(alice.send_take("JOIN #a\x07b")) == ["476"]
    # A name with a space can only come in a trailing parameter; it is not echoed back.
    assert alice.send_take("JOIN :#a b") == [msg(":lanchat.local 476 alice * :Bad Channel Mask")]
    assert commands(alice.send_take("JOIN #" + "x" * 60)) == ["476"]


def test_join_beyond_chanlimit_replies_405() -> None:
    t = Transcript(make_config(max_channels_per_user=1))
    alice = t.register("alice")
    alice.send("JOIN #a")
    assert alice.send_take("JOIN #b") == [
        msg(":lanchat.local 405 alice #b :You have joined too many channels")
    ]


def test_join_0_parts_every_room() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    alice.send("JOIN #a,#lobby")
    bob.send("JOIN #lobby")
    bob.take()
    alice.take()
    assert sorted(m.to_line() for m in alice.send_take("JOIN 0")) == [
        ":alice!alice@127.0.0.1 PART #a",
        ":alice!alice@127.0.0.1 PART #lobby",
    ]
    assert bob.take_lines() == [":alice!alice@127.0.0.1 PART #lobby"]
    assert t.state.users[alice.conn_id].rooms == {}


def test_join_again_is_silently_ignored() -> None:
    t = Transcript()
    alice = t.register("alice")
    alice.send("JOIN #a")
    assert alice.send_take("JOIN #a") == []


def test_join_shows_topic_then_names() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a")
    alice.send("TOPIC #a :plans for saturday")
    got = bob.send_take("JOIN #a")
    assert commands(got) == ["JOIN", "332", "333", "353", "366"]
    assert got[1] == msg(":lanchat.local 332 bob #a :plans for saturday")
    assert got[2] == msg(f":lanchat.local 333 bob #a alice!alice@127.0.0.1 {int(START)}")
    assert got[3] == msg(":lanchat.local 353 bob = #a :@alice bob")


def test_join_is_one_send_per_distinct_form() -> None:
    t = Transcript()
    ext1 = t.register("ext1", caps=("extended-join",))
    ext2 = t.register("ext2", caps=("extended-join",))
    plain1, plain2 = t.register("plain1"), t.register("plain2")
    timed = t.register("timed", caps=("server-time",))
    for conn in (ext1, ext2, plain1, plain2, timed):
        conn.send("JOIN #lobby")
    dave = t.register("dave")
    effects = dave.send("JOIN #lobby")
    to_others = [s for s in t.sends(effects) if dave.conn_id not in s.recipients]
    assert sorted(s.recipients for s in to_others) == sorted(
        [(ext1.conn_id, ext2.conn_id), (plain1.conn_id, plain2.conn_id), (timed.conn_id,)]
    )
    assert ext1.take()[-1] == msg(":dave!dave@127.0.0.1 JOIN #lobby * :dave Example")
    assert plain1.take()[-1] == msg(":dave!dave@127.0.0.1 JOIN #lobby")
    assert timed.take()[-1].tags == {"time": "2025-11-25T18:00:00.000Z"}


def test_join_existing_room_announces_the_new_user_count() -> None:
    t = Transcript()
    alice = t.register("alice")
    effects = alice.send("JOIN #lobby")
    assert changed_rooms(effects) == ["#lobby"]
    assert persisted_rooms(effects) == []
    info = t.state.room_info("#lobby")
    assert info is not None
    assert info.user_count == 1


# ----------------------------------------------------------------------------- NAMES


def test_names_multi_prefix_and_userhost_in_names() -> None:
    t = Transcript()
    alice = t.register("alice")
    bob = t.register("bob", caps=("multi-prefix", "userhost-in-names"))
    carol = t.register("carol")
    room_with(t, alice, "#a", "+v alice")
    bob.send("JOIN #a")
    carol.send("JOIN #a")
    assert expect_numeric(bob.send_take("NAMES #a"), "353").params[-1] == (
        "@+alice!alice@127.0.0.1 bob!bob@127.0.0.1 carol!carol@127.0.0.1"
    )
    assert expect_numeric(carol.send_take("NAMES #a"), "353").params[-1] == "@alice bob carol"


def test_names_hides_secret_rooms_and_invisible_users_from_outsiders() -> None:
    t = Transcript()
    alice, bob, eve = t.register("alice"), t.register("bob"), t.register("eve")
    room_with(t, alice, "#secret", "+s")
    assert eve.send_take("NAMES #secret") == [
        msg(":lanchat.local 366 eve #secret :End of /NAMES list")
    ]
    bob.send("MODE bob +i")
    alice.send("JOIN #lobby")
    bob.send("JOIN #lobby")
    assert expect_numeric(eve.send_take("NAMES #lobby"), "353").params[-1] == "@alice"
    assert expect_numeric(alice.send_take("NAMES #lobby"), "353").params[-1] == "@alice bob"
    assert expect_numeric(alice.send_take("NAMES #secret"), "353").params[1] == "@"


def test_names_of_a_big_room_is_split_into_lines_under_512_bytes() -> None:
    t = Transcript()
    conns = [t.register(f"user{i:03d}_" + "x" * 20) for i in range(60)]
    for conn in conns:
        conn.send("JOIN #lobby")
    got = conns[0].send_take("NAMES #lobby")
    names = [m for m in got if m.command == "353"]
    assert len(names) > 1
    assert all(len(m.to_bytes()) <= 512 for m in names)
    assert sum(len(m.params[-1].split()) for m in names) == 60


def test_names_without_parameter_replies_end_of_names() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("NAMES") == [msg(":lanchat.local 366 alice * :End of /NAMES list")]
    assert alice.send_take("NAMES #nowhere") == [
        msg(":lanchat.local 366 alice #nowhere :End of /NAMES list")
    ]


# ----------------------------------------------------------------------------- PART


def test_part_with_reason_is_seen_by_the_room_and_the_empty_room_stays() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a")
    bob.send("JOIN #a")
    alice.take()
    bob.send("PART #a :off to lunch")
    assert alice.take_lines() == [":bob!bob@127.0.0.1 PART #a :off to lunch"]
    effects = alice.send("PART #a")
    assert alice.take_lines() == [":alice!alice@127.0.0.1 PART #a"]
    assert t.state.rooms["#a"].members == {}
    assert persisted_rooms(effects) == []
    assert changed_rooms(effects) == ["#a"]  # discovery withdraws it: nobody is there


def test_part_is_one_send_per_distinct_form() -> None:
    t = Transcript()
    leaver, plain1, plain2 = t.register("leaver"), t.register("plain1"), t.register("plain2")
    timed = t.register("timed", caps=("server-time", "message-tags"))
    for conn in (leaver, plain1, plain2, timed):
        conn.send("JOIN #lobby")
    effects = leaver.send("PART #lobby :bye")
    to_others = [s for s in t.sends(effects) if leaver.conn_id not in s.recipients]
    assert sorted(s.recipients for s in to_others) == [
        (plain1.conn_id, plain2.conn_id),
        (timed.conn_id,),
    ]


def test_configured_room_stays_open_when_empty() -> None:
    t = Transcript()
    alice = t.register("alice")
    alice.send("JOIN #lobby")
    effects = alice.send("PART #lobby")
    assert "#lobby" in t.state.rooms
    assert persisted_rooms(effects) == []


def test_part_errors_reply_403_and_442() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("PART #nowhere") == [
        msg(":lanchat.local 403 alice #nowhere :No such channel")
    ]
    assert alice.send_take("PART #lobby") == [
        msg(":lanchat.local 442 alice #lobby :You're not on that channel")
    ]
    assert commands(alice.send_take("PART")) == ["461"]


# ----------------------------------------------------------------------------- TOPIC


def test_topic_query_replies_331_then_332_and_333() -> None:
    t = Transcript()
    alice = t.register("alice")
    alice.send("JOIN #lobby")
    assert alice.send_take("TOPIC #lobby") == [
        msg(":lanchat.local 331 alice #lobby :No topic is set")
    ]
    t.clock.advance(5)
    alice.send("TOPIC #lobby :welcome")
    assert alice.send_take("TOPIC #lobby") == [
        msg(":lanchat.local 332 alice #lobby :welcome"),
        msg(f":lanchat.local 333 alice #lobby alice!alice@127.0.0.1 {int(START) + 5}"),
    ]


def test_topic_change_is_seen_persisted_and_advertised() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    alice.send("JOIN #lobby")
    bob.send("JOIN #lobby")
    alice.take()
    bob.take()
    effects = alice.send("TOPIC #lobby :new topic")
    assert bob.take_lines() == [":alice!alice@127.0.0.1 TOPIC #lobby :new topic"]
    assert alice.take_lines() == [":alice!alice@127.0.0.1 TOPIC #lobby :new topic"]
    assert [r.topic for r in persisted_rooms(effects)] == ["new topic"]
    assert changed_rooms(effects) == ["#lobby"]
    effects = alice.send("TOPIC #lobby :")
    assert persisted_rooms(effects)[0].topic == ""
    assert commands(alice.send_take("TOPIC #lobby")) == ["331"]


def test_topic_with_plus_t_needs_operator_482() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a")
    bob.send("JOIN #a")
    assert bob.send_take("TOPIC #a :mine") == [
        msg(":lanchat.local 482 bob #a :You're not channel operator")
    ]
    alice.send("MODE #a -t")
    assert commands(bob.send_take("TOPIC #a :mine")) == ["TOPIC"]


def test_topic_is_cut_to_topiclen() -> None:
    t = Transcript(make_config(topiclen=10))
    alice = t.register("alice")
    alice.send("JOIN #lobby")
    alice.send("TOPIC #lobby :0123456789abcdef")
    assert t.state.rooms["#lobby"].topic == "0123456789"


def test_topic_outside_the_room_replies_442_and_403() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#secret", "+s")
    assert commands(bob.send_take("TOPIC #lobby :x")) == ["442"]
    assert commands(bob.send_take("TOPIC #secret")) == ["442"]
    assert commands(bob.send_take("TOPIC #lobby")) == ["331"]
    assert commands(bob.send_take("TOPIC #nowhere")) == ["403"]


# ----------------------------------------------------------------------------- LIST


def test_list_shows_visible_rooms_with_user_counts_and_topics() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#secret", "+s")
    alice.send("JOIN #lobby")
    alice.send("TOPIC #lobby :hello")
    assert bob.send_take("LIST") == [
        msg(":lanchat.local 321 bob Channel :Users  Name"),
        msg(":lanchat.local 322 bob #lobby 1 :hello"),
        msg(":lanchat.local 323 bob :End of /LIST"),
    ]
    assert [m.params[1] for m in alice.send_take("LIST") if m.command == "322"] == [
        "#lobby",
        "#secret",
    ]


def test_list_filters_by_user_count_and_mask() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    alice.send("JOIN #lobby,#games,#music")
    bob.send("JOIN #games")
    assert _listed(alice, "LIST >1") == ["#games"]
    assert _listed(alice, "LIST <2") == ["#lobby", "#music"]
    assert _listed(alice, "LIST #m*") == ["#music"]
    assert _listed(alice, "LIST #lobby,#games") == ["#lobby", "#games"]


def test_list_filters_by_creation_time_topic_time_and_not_matching() -> None:
    # modern.ircdocs ELIST C, T and N (issue 18); minutes, counted from now.
    t = Transcript()
    alice = t.register("alice")
    alice.send("JOIN #old")
    t.clock.advance(600)
    alice.send("JOIN #new")
    alice.send("TOPIC #old :fresh topic")
    # #lobby, the configured room, was made at start-up, with #old.
    assert _listed(alice, "LIST C>5") == ["#lobby", "#old"]
    assert _listed(alice, "LIST C<5") == ["#new"]
    assert _listed(alice, "LIST T<5") == ["#old"]
    assert _listed(alice, "LIST T>5") == []  # no other room has a topic: set at no time
    assert _listed(alice, "LIST !#l*") == ["#old", "#new"]
    assert _listed(alice, "LIST #*,!#o*") == ["#lobby", "#new"]
    assert _listed(alice, "LIST C>5,>0") == ["#old"]
    assert _listed(alice, "LIST C>x") == []  # not a condition: a mask that names no room


def _listed(conn: Conn, line: str) -> list[str]:
    """The rooms a LIST command shows `conn`, in order."""
    return [m.params[1] for m in conn.send_take(line) if m.command == "322"]


# ----------------------------------------------------------------------------- restart


def test_rooms_are_restored_from_records_with_topic_modes_key_and_bans() -> None:
    kept = RoomRecord(
        "#games",
        "#Games",
        1_700_000_000,
        topic="tonight",
        topic_setter="alice!alice@10.0.0.2",
        topic_time_s=1_700_000_100,
        modes="nt",
        password="pw",
        bans=("eve!*@*",),
    )
    t = Transcript(rooms=[kept, RoomRecord("#gone", "#gone", 1, deleted=True)])
    assert "#gone" not in t.state.rooms
    bob, eve = t.register("bob"), t.register("eve")
    assert commands(bob.send_take("JOIN #games")) == ["475"]
    got = bob.send_take("JOIN #games pw")
    assert got[0] == msg(":bob!bob@127.0.0.1 JOIN #Games")
    assert got[1] == msg(":lanchat.local 332 bob #Games :tonight")
    # Nobody held +o across the restart: the first one back in runs the room.
    assert got[3] == msg(":lanchat.local 353 bob = #Games @bob")
    assert commands(eve.send_take("JOIN #games pw")) == ["474"]


def test_an_emptied_room_keeps_its_key_modes_topic_and_history_from_newcomers() -> None:
    t = Transcript()
    owner, mallory = t.register("owner"), t.register("mallory")
    room_with(t, owner, "#tmp", "+sk sesame")
    owner.send("TOPIC #tmp :plans")
    owner.send("PRIVMSG #tmp :the secret")
    owner.send("PART #tmp")
    # Before issue 13 the name was free again: mallory re-created it, became its operator
    # and read everything with CHATHISTORY.
    assert commands(mallory.send_take("JOIN #tmp")) == ["475"]
    assert commands(mallory.send_take("CHATHISTORY LATEST #tmp * 10")) == ["FAIL"]
    assert commands(mallory.send_take("TOPIC #tmp")) == ["442"]  # +s: not even the topic
    assert commands(mallory.send_take("LIST")) == ["321", "322", "323"]  # #lobby only
    got = owner.send_take("JOIN #tmp sesame")
    assert got[1] == msg(":lanchat.local 332 owner #tmp :plans")
    assert got[3] == msg(":lanchat.local 353 owner @ #tmp @owner")
    assert t.state.rooms["#tmp"].mode_string() == "+nstk"


def test_a_full_room_table_forgets_the_room_empty_longest_and_seals_its_history() -> None:
    t = Transcript(make_config(max_rooms=3))  # #lobby and two more
    alice = t.register("alice")
    for name in ("#old", "#newer"):
        room_with(t, alice, name, "+k pw")
        alice.send(f"PART {name}")
        t.clock.advance(60)
    effects = alice.send("JOIN #third")
    assert "#old" not in t.state.rooms
    assert [(r.key, r.deleted) for r in persisted_rooms(effects)] == [
        ("#old", True),  # forgotten: its history is sealed by the store
        ("#third", True),  # a new name: whatever history it has is not this room's
        ("#third", False),
    ]
    # Made again, #old has no key and no past; the store seals what it had (test_db.py).
    assert commands(alice.send_take("JOIN #old"))[0] == "JOIN"
    assert "#newer" not in t.state.rooms


def test_no_room_is_made_while_every_kept_room_has_people_in_it() -> None:
    t = Transcript(make_config(max_rooms=2))
    alice = t.register("alice")
    alice.send("JOIN #lobby,#a")
    alice.take()
    assert alice.send_take("JOIN #b") == [
        msg(
            ":lanchat.local 437 alice #b :No new room now: every room kept here has people in it; "
            "join one or try later"
        )
    ]
    assert "#b" not in t.state.rooms


async def test_a_closed_room_keeps_its_history_from_whoever_comes_next_across_a_restart(
    tmp_path: Path,
) -> None:
    caps = ("batch", "draft/chathistory", "message-tags", "server-time")
    config = server_config(tmp_path / "data")
    async with running_server(config) as server:
        owner = await registered(server.port, "owner", "#tmp", caps=caps)
        owner.send("MODE #tmp +sk sesame\r\nPRIVMSG #tmp :the secret\r\nPART #tmp")
        await owner.expect("PART")
    async with running_server(config) as server:
        mallory = await registered(server.port, "mallory", caps=caps)
        mallory.send("JOIN #tmp")
        await mallory.expect_numeric("475")
        mallory.send("CHATHISTORY LATEST #tmp * 10")
        fail = await mallory.expect("FAIL")
        assert fail.params[:2] == ("CHATHISTORY", "INVALID_TARGET")
        owner = await registered(server.port, "owner", caps=caps)
        owner.send("JOIN #tmp sesame")
        await owner.expect("366")
        owner.send("CHATHISTORY LATEST #tmp * 10")
        said = await owner.expect("PRIVMSG")
        assert said.params == ("#tmp", "the secret")
        for client in (mallory, owner):
            await client.close()


async def test_a_room_made_under_an_old_name_reads_none_of_the_old_history(
    tmp_path: Path,
) -> None:
    # A lanchat before issue 13 deleted empty rooms and left their history under the name.
    data = tmp_path / "data"
    db = HistoryDB(data / "history.sqlite3")
    old = HistoryRecord("m1", 1_700_000_000_000, "PRIVMSG", "o!o@10.0.0.2", "#tmp", "#tmp", "x")
    db.append([old])
    db.close()
    caps = ("batch", "draft/chathistory")
    async with running_server(server_config(data)) as server:
        mallory = await registered(server.port, "mallory", "#tmp", caps=caps)
        mallory.send("CHATHISTORY LATEST #tmp * 10")
        await mallory.expect("BATCH", lambda m: m.params[0].startswith("-"))
        assert [m for m in mallory.seen if m.command == "PRIVMSG"] == []
        await mallory.close()
        room = server.state.find_room("#tmp")
        assert room is not None
    db = HistoryDB(data / "history.sqlite3")
    try:  # kept all the same, sealed under a key no request can name
        sealed = db.query(HistoryQuery("LATEST", target_key=f"#tmp {room.created_s}"))
        assert [(r.msgid, r.text) for r in sealed] == [("m1", "x")]
    finally:
        db.close()


def test_configured_rooms_exist_before_anyone_joins() -> None:
    t = Transcript()
    assert t.state.room_keys() == ["#lobby"]
    alice = t.register("alice")
    assert [m.params[1] for m in alice.send_take("LIST") if m.command == "322"] == ["#lobby"]


def test_room_echo_keeps_the_label_for_the_sender() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("labeled-response", "batch"))
    got = alice.send_take("@label=j1 PART #lobby")
    assert commands(got) == ["442"]
    assert got[0].tags == {"label": "j1"}
    got = alice.send_take("@label=j2 MODE alice +i")
    assert got == [Message("MODE", ("alice", "+i"), "alice!alice@127.0.0.1", {"label": "j2"})]


def test_sends_never_go_to_departed_users() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    room_with(t, alice, "#a")
    bob.send("JOIN #a")
    bob.send("PART #a")
    effects = alice.send("TOPIC #a :after bob left")
    assert all(bob.conn_id not in s.recipients for s in effects if isinstance(s, Send))


# ----------------------------------------------------------------------------- real sockets


async def test_user_rooms_survive_a_restart_empty_ones_too(tmp_path: Path) -> None:
    config = server_config(tmp_path / "data")
    async with running_server(config) as server:
        alice = await registered(server.port, "alice")
        alice.send("JOIN #games,#brief")
        alice.send("TOPIC #games :tonight at 8")
        alice.send("MODE #games +kb sesame eve")
        await alice.expect("MODE")
        alice.send("PART #brief")
        await alice.expect("PART")
        # The server stops with alice still in #games; #brief, empty, is kept as well.

    async with running_server(config) as server:
        bob = await registered(server.port, "bob")
        bob.send("LIST")
        listed = []
        while (reply := await bob.expect(lambda m: m.command in ("322", "323"))).command == "322":
            listed.append(reply.params[1:])
        assert sorted(listed) == [
            ("#brief", "0", ""),
            ("#games", "0", "tonight at 8"),
            ("#lobby", "0", ""),
        ]
        bob.send("JOIN #games sesame")
        assert (await bob.expect_numeric("332")).params[-1] == "tonight at 8"
        bob.send("MODE #games +b")
        assert (await bob.expect_numeric("367")).params[2] == "eve!*@*"
        eve = await registered(server.port, "eve")
        eve.send("JOIN #games sesame")
        await eve.expect_numeric("474")
        for client in (bob, eve):
            await client.close()


# ----------------------------------------------------------------------------- robustness

_VERBS = [
    "JOIN",
    "PART",
    "TOPIC",
    "NAMES",
    "LIST",
    "KICK",
    "INVITE",
    "MODE",
    "WHO",
    "WHOIS",
    "WHOWAS",
    "ISON",
    "USERHOST",
    "AWAY",
    "CHATHISTORY",
    "LUSERS",
    "MOTD",
]
_MIDDLE = st.text(alphabet="#,*?!@+-=:0123456789abiklmnostvzAB\x07é", min_size=1, max_size=10)


@settings(max_examples=300, deadline=None)
@given(
    verb=st.sampled_from(_VERBS),
    middle=st.lists(_MIDDLE.filter(lambda p: not p.startswith(":")), max_size=4),
    trailing=st.one_of(st.none(), st.text(alphabet="# ,:*ab", max_size=12)),
)
def test_arbitrary_parameters_get_well_formed_replies(
    verb: str, middle: list[str], trailing: str | None
) -> None:
    """Whatever the parameters, the room and query commands answer with valid lines only.

    (Transcript.apply parses every byte the server sends, so a reply that does not
    serialise or parse fails here.)
    """
    t = Transcript()
    alice = t.register("alice", caps=("batch", "labeled-response", "multi-prefix"))
    bob = t.register("bob")
    alice.send("JOIN #a")
    bob.send("JOIN #a")
    params = (*middle, trailing) if trailing is not None else tuple(middle)
    for conn in (alice, bob):
        t.apply(t.state.receive(conn.conn_id, Message(verb, params)))
