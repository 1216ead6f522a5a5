"""MONITOR and extended-monitor (lanchat.server.monitor, lanchat.server.handlers.monitor).

Transcript tests, then the same notices once more through a real server on 127.0.0.1.
"""

from __future__ import annotations

from lanchat.server.app import LanchatServer
from tests.server.clients import registered
from tests.server.transcript import Transcript, commands, expect_numeric, make_config, msg


def test_monitor_add_answers_online_and_offline() -> None:
    t = Transcript()
    alice = t.register("alice")
    t.register("bob")
    assert alice.send_take("MONITOR + Bob,carol") == [
        msg(":lanchat.local 730 alice :bob!bob@127.0.0.1"),
        msg(":lanchat.local 731 alice :carol"),
    ]


def test_monitor_tells_watchers_when_a_nick_comes_changes_and_goes() -> None:
    t = Transcript()
    alice = t.register("alice")
    alice.send("MONITOR + bob,robert")
    alice.take()
    bob = t.register("bob")
    assert alice.take() == [msg(":lanchat.local 730 alice :bob!bob@127.0.0.1")]
    bob.send("NICK Bob")  # a change of case only: no news
    assert alice.take() == []
    bob.send("NICK robert")
    assert alice.take() == [
        msg(":lanchat.local 731 alice :Bob"),
        msg(":lanchat.local 730 alice :robert!bob@127.0.0.1"),
    ]
    bob.send("QUIT :bye")
    assert alice.take() == [msg(":lanchat.local 731 alice :robert")]


def test_monitor_remove_clear_list_and_status() -> None:
    t = Transcript()
    alice = t.register("alice")
    t.register("bob")
    alice.send("MONITOR + bob,carol,dave")
    alice.send("MONITOR - DAVE")
    assert alice.send_take("MONITOR L") == [
        msg(":lanchat.local 732 alice :bob,carol"),
        msg(":lanchat.local 733 alice :End of MONITOR list"),
    ]
    assert commands(alice.send_take("MONITOR S")) == ["730", "731"]
    alice.send("MONITOR C")
    assert alice.send_take("MONITOR L") == [msg(":lanchat.local 733 alice :End of MONITOR list")]
    t.register("carol")
    assert alice.take() == []


def test_monitor_list_full_countermeasure_replies_734_with_the_rest() -> None:
    t = Transcript(make_config(max_monitor_nicks=2))
    alice = t.register("alice")
    got = alice.send_take("MONITOR + a,b,c,d")
    assert expect_numeric(got, "734") == msg(":lanchat.local 734 alice 2 c,d :Monitor list is full")
    assert expect_numeric(got, "731").params[-1] == "a,b"
    # Watching again what is watched costs no room.
    assert commands(alice.send_take("MONITOR + A")) == ["731"]


def test_monitor_bad_input_gets_clear_answers() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("MONITOR +") == [
        msg(":lanchat.local 461 alice MONITOR :Not enough parameters")
    ]
    assert alice.send_take("MONITOR X") == [
        msg(":lanchat.local 400 alice MONITOR X :Unknown MONITOR subcommand; use +, -, C, L or S")
    ]
    # A name no one could hold is not watched.
    assert alice.send_take("MONITOR + #room,ok") == [msg(":lanchat.local 731 alice :ok")]


def test_a_watcher_that_leaves_is_forgotten() -> None:
    t = Transcript()
    alice = t.register("alice")
    alice.send("MONITOR + bob")
    t.disconnect(alice)
    assert t.state.monitors.watchers("bob") == []
    t.register("bob")  # nobody to tell, nothing to fail


def test_extended_monitor_sends_away_and_setname_of_watched_nicks() -> None:
    t = Transcript()
    caps = ("extended-monitor", "away-notify", "setname")
    alice = t.register("alice", caps=caps)
    plain = t.register("plain", caps=("away-notify", "setname"))
    bob = t.register("bob")
    bob.send("AWAY :lunch")
    got = alice.send_take("MONITOR + bob")
    # Added while away: the AWAY follows the 730, as away-notify on JOIN tells a room.
    assert got == [
        msg(":lanchat.local 730 alice :bob!bob@127.0.0.1"),
        msg(":bob!bob@127.0.0.1 AWAY :lunch"),
    ]
    plain.send("MONITOR + bob")
    plain.take()
    bob.send("AWAY")
    bob.send("SETNAME :Robert")
    assert alice.take() == [
        msg(":bob!bob@127.0.0.1 AWAY"),
        msg(":bob!bob@127.0.0.1 SETNAME :Robert"),
    ]
    assert plain.take() == []  # without extended-monitor, MONITOR is about presence only


def test_extended_monitor_does_not_double_what_a_shared_room_sends() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("extended-monitor", "away-notify"))
    bob = t.register("bob")
    alice.send("JOIN #a")
    bob.send("JOIN #a")
    alice.send("MONITOR + bob")
    alice.take()
    bob.send("AWAY :gone")
    assert alice.take() == [msg(":bob!bob@127.0.0.1 AWAY :gone")]


async def test_monitor_over_sockets(irc_server: LanchatServer) -> None:
    alice = await registered(irc_server.port, "alice")
    alice.send("MONITOR + bob")
    assert (await alice.expect_numeric("731")).params[-1] == "bob"
    bob = await registered(irc_server.port, "bob")
    assert (await alice.expect_numeric("730")).params[-1] == "bob!bob@127.0.0.1"
    bob.send("QUIT")
    assert (await alice.expect_numeric("731")).params[-1] == "bob"
    await alice.close()
    await bob.close()
