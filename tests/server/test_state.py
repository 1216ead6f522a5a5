"""ServerState's edge-facing events: connect, reject_line, disconnected, tick, shutdown, rooms."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanchat.config import Config
from lanchat.errors import InvalidUtf8, LineTooLong, MalformedLine
from lanchat.protocol.casemap import casefold
from lanchat.protocol.lines import TOO_LONG
from lanchat.protocol.message import Message
from lanchat.server.effects import Disconnect, Persist, Query, RoomChanged, Send
from lanchat.server.model import RoomInfo
from lanchat.server.state import ServerState
from lanchat.store.records import HistoryQuery, RoomRecord
from tests.server.transcript import Transcript, base_config, expect_numeric, make_config, msg


def test_connect_sends_nothing_until_the_client_speaks() -> None:
    t = Transcript()
    c = t.connect()
    assert c.take() == []
    assert t.state.users[c.conn_id].ip == "127.0.0.1"


def test_lines_from_unknown_connections_are_ignored() -> None:
    state = ServerState(Config())
    assert state.receive(99, Message("NICK", ("x",))) == []
    assert state.reject_line(99, TOO_LONG) == []
    assert state.disconnected(99, "gone") == []


@pytest.mark.parametrize("problem", [TOO_LONG, LineTooLong("512 bytes")])
def test_line_too_long_replies_417_and_keeps_the_connection(problem: object) -> None:
    t = Transcript()
    c = t.register("alice")
    effects = t.reject(c, problem)  # type: ignore[arg-type]
    assert c.take() == [msg(":lanchat.local 417 alice :Input line was too long")]
    assert not any(isinstance(e, Disconnect) for e in effects)
    assert c.send_take("PING x") == [msg(":lanchat.local PONG lanchat.local x")]


def test_invalid_utf8_replies_fail_invalid_utf8() -> None:
    t = Transcript()
    c = t.register("alice")
    t.reject(c, InvalidUtf8("byte 3"))
    (fail,) = c.take()
    assert (fail.command, fail.params[:2]) == ("FAIL", ("*", "INVALID_UTF8"))


def test_malformed_line_is_explained_in_a_notice() -> None:
    t = Transcript()
    c = t.connect()
    t.reject(c, MalformedLine("line has no command"))
    assert c.take() == [msg(":lanchat.local NOTICE * :Your line was ignored: line has no command")]


def test_disconnect_tells_room_members_and_frees_the_nick() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    alice.send("JOIN #x")
    bob.send("JOIN #x")
    bob.take()
    t.disconnect(alice, "Connection reset by peer")
    assert bob.take() == [msg(":alice!alice@127.0.0.1 QUIT :Connection reset by peer")]
    assert t.state.find_user("alice") is None
    assert t.state.whowas[0].nick == "alice"
    t.register("alice")


def test_last_member_leaving_keeps_the_room_but_stops_advertising_it() -> None:
    t = Transcript()
    alice = t.register("alice")
    alice.send("JOIN #temp")
    effects = t.disconnect(alice)
    assert "#temp" in t.state.room_keys()
    assert not [e for e in effects if isinstance(e, Persist)]
    assert RoomChanged("#temp") in effects
    assert t.state.room_info("#temp") is None


def test_configured_rooms_stay_open_when_empty() -> None:
    t = Transcript()
    alice = t.register("alice")
    alice.send("JOIN #lobby")
    t.disconnect(alice)
    assert t.state.room_info("#lobby") == RoomInfo("#lobby", "", 0, False, False)


def test_stored_rooms_are_restored_and_deleted_ones_ignored() -> None:
    rooms = [
        RoomRecord("#kept", "#Kept", 1, topic="hi", modes="nst", password="k"),
        RoomRecord("#gone", "#gone", 1, deleted=True),
    ]
    t = Transcript(rooms=rooms)
    assert sorted(t.state.room_keys()) == ["#kept", "#lobby"]
    assert t.state.rooms["#kept"].info() == RoomInfo("#Kept", "hi", 0, True, True)


def keyed_config(key: str, *rooms: str) -> Config:
    """The default Config with [server] key = `key` on [server] rooms = `rooms`."""
    base = base_config()
    return dataclasses.replace(base, server=dataclasses.replace(base.server, key=key, rooms=rooms))


def test_configured_key_locks_the_configured_rooms() -> None:
    t = Transcript(keyed_config("sesame", "#lobby", "#games"))
    alice = t.register("alice")
    expect_numeric(alice.send_take("JOIN #lobby"), "475")
    expect_numeric(alice.send_take("JOIN #lobby,#games sesame,sesame"), "366")
    assert t.state.room_info("#lobby") == RoomInfo("#lobby", "", 1, True, False)
    assert t.state.room_info("#games") == RoomInfo("#games", "", 1, True, False)


def test_configured_key_wins_over_a_key_restored_from_the_store() -> None:
    stored = [
        RoomRecord(
            "#lobby", "#lobby", 1, topic="hi", topic_setter="bo", topic_time_s=1, password="old"
        )
    ]
    t = Transcript(keyed_config("new", "#lobby"), rooms=stored)
    alice = t.register("alice")
    expect_numeric(alice.send_take("JOIN #lobby old"), "475")
    expect_numeric(alice.send_take("JOIN #lobby new"), "366")
    assert t.state.room_info("#lobby") == RoomInfo("#lobby", "hi", 1, True, False)


def test_configured_key_leaves_rooms_created_later_open() -> None:
    t = Transcript(keyed_config("sesame", "#lobby"))
    alice = t.register("alice")
    expect_numeric(alice.send_take("JOIN #pop-up"), "366")
    assert t.state.room_info("#pop-up") == RoomInfo("#pop-up", "", 1, False, False)


@pytest.mark.parametrize("stored_key", ["", "old"])
def test_empty_configured_key_leaves_restored_rooms_as_they_were(stored_key: str) -> None:
    stored = [RoomRecord("#lobby", "#lobby", 1, password=stored_key)]
    t = Transcript(keyed_config("", "#lobby"), rooms=stored)
    assert t.state.rooms["#lobby"].password == stored_key


def test_idle_registered_client_is_pinged_then_dropped_without_pong() -> None:
    t = Transcript(make_config(ping_interval_s=90, ping_timeout_s=60))
    alice, bob = t.register("alice"), t.register("bob")
    alice.send("JOIN #lobby")
    bob.send("JOIN #lobby")
    bob.take()
    assert t.tick(89) == []
    effects = t.tick(1)
    assert effects == [Send((alice.conn_id, bob.conn_id), b"PING lanchat.local\r\n")]
    bob.send("PONG lanchat.local")
    t.tick(59)
    assert alice.closed is None
    t.tick(1)
    assert alice.take()[-1] == msg("ERROR :Closing Link: 127.0.0.1 (Ping timeout: 60 seconds)")
    assert alice.closed == "Ping timeout: 60 seconds"
    assert bob.take() == [
        msg("PING lanchat.local"),
        msg(":alice!alice@127.0.0.1 QUIT :Ping timeout: 60 seconds"),
    ]
    assert bob.closed is None


def test_any_line_counts_as_activity_for_the_ping_timer() -> None:
    t = Transcript(make_config(ping_interval_s=90))
    alice = t.register("alice")
    t.tick(80)
    alice.send("PING keepalive")
    assert t.tick(80) == []


def test_unregistered_connection_is_dropped_after_the_registration_timeout() -> None:
    t = Transcript(make_config(registration_timeout_s=30))
    c = t.connect()
    c.send("NICK slow")
    t.tick(29)
    assert c.closed is None
    t.tick(1)
    assert c.closed == "Registration timeout"
    assert c.take() == [msg("ERROR :Closing Link: 127.0.0.1 (Registration timeout)")]
    assert t.state.find_user("slow") is None


def test_shutdown_sends_error_then_disconnects_everyone() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    effects = t.state.shutdown("Server shutting down")
    t.apply(effects)
    assert [type(e) for e in effects] == [Send, Disconnect, Send, Disconnect]
    assert alice.take() == [msg("ERROR :Closing Link: 127.0.0.1 (Server shutting down)")]
    assert bob.closed == "Server shutting down"
    assert t.state.users == {}


def test_history_result_without_the_client_is_dropped() -> None:
    t = Transcript()
    query = Query(conn_id=42, query=HistoryQuery("LATEST", "#lobby"))
    assert t.state.history_result(query, []) == []


def test_history_result_is_rendered_for_the_asking_client() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("batch", "server-time", "message-tags"))
    query = Query(
        conn_id=alice.conn_id, query=HistoryQuery("LATEST", "#lobby"), batch_target="#lobby"
    )
    t.apply(t.state.history_result(query, []))
    got = alice.take()
    assert got[0].command == "BATCH" and got[-1].command == "BATCH"


def test_msgids_default_to_a_unique_factory() -> None:
    state = ServerState(Config())
    assert state.new_msgid() != state.new_msgid()


_NICKS = ["alice", "Alice", "bob", "b[o]b", "B{O}B", "carol"]
_ACTIONS = st.one_of(
    st.tuples(st.just("NICK"), st.sampled_from(_NICKS)),
    st.tuples(st.just("JOIN"), st.sampled_from(["#a", "#A", "#b", "#lobby"])),
    st.tuples(st.just("PART"), st.sampled_from(["#a", "#b", "#lobby"])),
    st.tuples(st.just("PRIVMSG"), st.sampled_from(["#a", "#lobby", *_NICKS])),
    st.tuples(st.just("QUIT"), st.just("")),
    st.tuples(st.just("DROP"), st.just("")),
    st.tuples(st.just("TICK"), st.sampled_from([1.0, 45.0, 100.0])),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), _ACTIONS), max_size=40))
def test_any_command_sequence_keeps_users_nicks_and_rooms_consistent(
    steps: list[tuple[int, tuple[str, object]]],
) -> None:
    t = Transcript()
    conns = [t.register(f"user{i}") for i in range(4)]
    for who, (verb, arg) in steps:
        conn = conns[who]
        if conn.closed is not None:
            continue
        if verb == "DROP":
            t.disconnect(conn)
        elif verb == "TICK":
            t.tick(float(arg))  # type: ignore[arg-type]
        elif verb == "PRIVMSG":
            conn.send(f"PRIVMSG {arg} :hello")
        elif verb == "QUIT":
            conn.send("QUIT")
        else:
            conn.send(f"{verb} {arg}")
        if verb != "TICK":
            conn.send("PONG x")  # stay alive through the ticks
    state = t.state
    for key, user in state.nicks.items():
        assert state.users[user.conn_id] is user
        assert user.key == key == casefold(user.nick)
    assert state.registered_users == sum(u.registered for u in state.users.values())
    for key, room in state.rooms.items():
        assert key == room.key
        if not room.members and not room.permanent:
            assert state.room_info(key) is None  # kept, not advertised
        for conn_id, membership in room.members.items():
            assert state.users[conn_id].rooms[key] is room
            assert membership.user is state.users[conn_id]
    for user in state.users.values():
        for key, room in user.rooms.items():
            assert state.rooms[key] is room
    for conn in conns:
        assert (conn.closed is None) == (conn.conn_id in state.users)
