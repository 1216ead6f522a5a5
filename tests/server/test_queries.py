"""Query commands: WHO WHOIS WHOWAS ISON USERHOST AWAY LUSERS MOTD.

Transcript tests, then WHOIS and away-notify once more through a real server on 127.0.0.1.
"""

from __future__ import annotations

from lanchat.server.app import LanchatServer
from tests.server.clients import registered
from tests.server.transcript import START, Transcript, commands, expect_numeric, make_config, msg

# ----------------------------------------------------------------------------- WHO


def test_who_room_lists_members_with_here_and_prefix_flags() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob", ip="::1")
    alice.send("JOIN #lobby")
    bob.send("JOIN #lobby")
    bob.send("AWAY :lunch")
    assert alice.send_take("WHO #lobby") == [
        msg(
            ":lanchat.local 352 alice #lobby alice 127.0.0.1 lanchat.local alice H@ "
            + ":0 alice Example"
        ),
        msg(":lanchat.local 352 alice #lobby bob 0::1 lanchat.local bob G :0 bob Example"),
        msg(":lanchat.local 315 alice #lobby :End of WHO list"),
    ]


def test_who_shows_every_prefix_with_multi_prefix() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("multi-prefix",))
    alice.send("JOIN #lobby")
    alice.send("MODE #lobby +v alice")
    assert expect_numeric(alice.send_take("WHO #lobby"), "352").params[6] == "H@+"


def test_who_nick_replies_one_line_without_room() -> None:
    t = Transcript()
    alice = t.register("alice")
    t.register("bob")
    assert alice.send_take("WHO BOB") == [
        msg(":lanchat.local 352 alice * bob 127.0.0.1 lanchat.local bob H :0 bob Example"),
        msg(":lanchat.local 315 alice BOB :End of WHO list"),
    ]


def test_who_mask_hides_invisible_users_who_share_no_room() -> None:
    t = Transcript()
    alice, bob, carol = t.register("alice"), t.register("bob"), t.register("carol")
    bob.send("MODE bob +i")
    carol.send("MODE carol +i")
    alice.send("JOIN #a")
    carol.send("JOIN #a")

    def who(line: str) -> list[str]:
        return [m.params[5] for m in alice.send_take(line) if m.command == "352"]

    t.connect()  # not registered yet: nobody to list
    assert who("WHO *") == ["alice", "carol"]
    assert who("WHO 0") == ["alice", "carol"]
    assert who("WHO *@127.0.0.1") == ["alice", "carol"]
    assert who("WHO c*") == ["carol"]
    # An exact nick is answered even for +i users (they are found by WHOIS anyway).
    assert who("WHO bob") == ["bob"]


def test_who_secret_room_is_empty_for_outsiders() -> None:
    t = Transcript()
    alice, eve = t.register("alice"), t.register("eve")
    alice.send("JOIN #secret")
    alice.send("MODE #secret +s")
    assert commands(eve.send_take("WHO #secret")) == ["315"]
    assert commands(eve.send_take("WHO #nowhere")) == ["315"]
    assert commands(eve.send_take("WHO")) == ["352", "352", "315"]


# ----------------------------------------------------------------------------- WHOIS


def test_whois_replies_user_rooms_server_away_idle_and_end() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    bob.send("JOIN #lobby,#games")
    bob.send("AWAY :back soon")
    bob.send("PRIVMSG #lobby :hello")
    t.clock.advance(42)
    assert alice.send_take("WHOIS bob") == [
        msg(":lanchat.local 311 alice bob bob 127.0.0.1 * :bob Example"),
        msg(":lanchat.local 319 alice bob :@#lobby @#games"),
        msg(":lanchat.local 312 alice bob lanchat.local :lanchat"),
        msg(":lanchat.local 301 alice bob :back soon"),
        msg(f":lanchat.local 317 alice bob 42 {int(START)} :seconds idle, signon time"),
        msg(":lanchat.local 318 alice bob :End of /WHOIS list"),
    ]


def test_whois_hides_secret_rooms_the_asker_is_not_in() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    bob.send("JOIN #secret,#lobby")
    bob.send("MODE #secret +s")
    assert expect_numeric(alice.send_take("WHOIS bob"), "319").params[-1] == "@#lobby"
    alice.send("JOIN #secret")
    assert expect_numeric(alice.send_take("WHOIS bob"), "319").params[-1] == "@#secret @#lobby"


def test_whois_unknown_nick_replies_401_then_318() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("WHOIS nobody") == [
        msg(":lanchat.local 401 alice nobody :No such nick/channel"),
        msg(":lanchat.local 318 alice nobody :End of /WHOIS list"),
    ]
    assert commands(alice.send_take("WHOIS lanchat.local alice")) == [
        "311",
        "312",
        "317",
        "318",
    ]
    assert commands(alice.send_take("WHOIS")) == ["461"]


# ----------------------------------------------------------------------------- WHOWAS


def test_whowas_lists_past_users_newest_first() -> None:
    t = Transcript()
    alice = t.register("alice")
    first = t.register("bob", user="first", ip="10.0.0.1")
    t.disconnect(first)
    second = t.register("bob", user="second", ip="10.0.0.2")
    second.send("QUIT :bye")
    assert alice.send_take("WHOWAS bob") == [
        msg(":lanchat.local 314 alice bob second 10.0.0.2 * :bob Example"),
        msg(":lanchat.local 314 alice bob first 10.0.0.1 * :bob Example"),
        msg(":lanchat.local 369 alice bob :End of WHOWAS"),
    ]
    assert commands(alice.send_take("WHOWAS bob 1")) == ["314", "369"]


def test_whowas_unknown_nick_replies_406_then_369() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("WHOWAS ghost") == [
        msg(":lanchat.local 406 alice ghost :There was no such nickname"),
        msg(":lanchat.local 369 alice ghost :End of WHOWAS"),
    ]


# ----------------------------------------------------------------------------- ISON, USERHOST


def test_ison_replies_the_online_nicks_as_spelled_now() -> None:
    t = Transcript()
    alice = t.register("alice")
    t.register("Bob")
    assert alice.send_take("ISON bob nobody alice") == [msg(":lanchat.local 303 alice :Bob alice")]
    assert alice.send_take("ISON :bob nobody") == [msg(":lanchat.local 303 alice Bob")]
    assert alice.send_take("ISON nobody") == [msg(":lanchat.local 303 alice :")]


def test_userhost_marks_away_users_with_minus() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob", user="b")
    bob.send("AWAY :gone")
    assert alice.send_take("USERHOST bob alice nobody") == [
        msg(":lanchat.local 302 alice :bob=-b@127.0.0.1 alice=+alice@127.0.0.1")
    ]


# ----------------------------------------------------------------------------- AWAY


def test_away_replies_306_and_305() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("AWAY :at lunch") == [
        msg(":lanchat.local 306 alice :You have been marked as being away")
    ]
    assert t.state.users[alice.conn_id].away == "at lunch"
    assert alice.send_take("AWAY") == [
        msg(":lanchat.local 305 alice :You are no longer marked as being away")
    ]
    assert t.state.users[alice.conn_id].away == ""


def test_away_message_is_cut_to_awaylen() -> None:
    t = Transcript(make_config(awaylen=5))
    alice = t.register("alice")
    alice.send("AWAY :abcdefgh")
    assert t.state.users[alice.conn_id].away == "abcde"


def test_away_notify_goes_only_to_room_mates_with_the_cap() -> None:
    t = Transcript()
    alice = t.register("alice")
    watcher = t.register("watcher", caps=("away-notify",))
    plain = t.register("plain")
    stranger = t.register("stranger", caps=("away-notify",))
    for conn in (alice, watcher, plain):
        conn.send("JOIN #lobby")
    watcher.take()
    plain.take()
    alice.send("AWAY :brb")
    assert watcher.take_lines() == [":alice!alice@127.0.0.1 AWAY brb"]
    alice.send("AWAY")
    assert watcher.take_lines() == [":alice!alice@127.0.0.1 AWAY"]
    assert plain.take() == []
    assert stranger.take() == []


# ----------------------------------------------------------------------------- LUSERS, MOTD


def test_lusers_command_repeats_the_welcome_counts() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert commands(alice.send_take("LUSERS")) == ["251", "254", "255", "265", "266"]


def test_motd_command_repeats_the_welcome_motd() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert commands(alice.send_take("MOTD")) == ["375", "372", "376"]


# ----------------------------------------------------------------------------- real sockets


async def test_whois_and_away_notify_over_sockets(irc_server: LanchatServer) -> None:
    alice = await registered(irc_server.port, "alice", "#lobby", caps=("away-notify",))
    bob = await registered(irc_server.port, "bob", "#lobby")
    bob.send("AWAY :making tea")
    await bob.expect_numeric("306")
    away = await alice.expect("AWAY")
    assert away.source == "bob!bob@127.0.0.1"
    assert away.params == ("making tea",)
    alice.send("WHOIS bob")
    replies = [await alice.expect_numeric("311")]
    while replies[-1].command != "318":
        replies.append(
            await alice.expect(lambda m: m.command in ("319", "312", "301", "317", "318"))
        )
    assert [m.command for m in replies] == ["311", "319", "312", "301", "317", "318"]
    assert replies[0].params[1:4] == ("bob", "bob", "127.0.0.1")
    for client in (alice, bob):
        await client.close()


# ----------------------------------------------------------------------------- WHOX, bots (18)


def test_whox_gives_the_fields_asked_in_the_spec_order_with_the_token() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob", ip="10.0.0.9")
    alice.send("JOIN #a")
    bob.send("JOIN #a")
    t.clock.advance(42)
    bob.send("AWAY :tea")
    # Asked in any order, answered in t c u i h s n f d l a o r order; the realname last.
    assert alice.send_take("WHO #a %rnafuolhsdict,17") == [
        msg(
            ":lanchat.local 354 alice 17 #a alice 127.0.0.1 127.0.0.1 lanchat.local alice H@ "
            "0 42 0 n/a :alice Example"
        ),
        msg(
            ":lanchat.local 354 alice 17 #a bob 10.0.0.9 10.0.0.9 lanchat.local bob G 0 42 0 "
            "n/a :bob Example"
        ),
        msg(":lanchat.local 315 alice #a :End of WHO list"),
    ]


def test_whox_without_a_usable_token_and_with_few_fields() -> None:
    t = Transcript()
    alice = t.register("alice")
    t.register("bob")
    assert alice.send_take("WHO bob %tn,12345") == [
        msg(":lanchat.local 354 alice 0 bob"),
        msg(":lanchat.local 315 alice bob :End of WHO list"),
    ]
    assert alice.send_take("WHO bob %") == [
        msg(":lanchat.local 354 alice"),
        msg(":lanchat.local 315 alice bob :End of WHO list"),
    ]
    # No "%": plain WHO, whatever the second parameter says.
    assert commands(alice.send_take("WHO bob o")) == ["352", "315"]


def test_bot_mode_shows_in_whois_who_and_whox_flags() -> None:
    t = Transcript()
    alice, robo = t.register("alice"), t.register("robo")
    assert robo.send_take("MODE robo +B") == [msg(":robo!robo@127.0.0.1 MODE robo +B")]
    got = alice.send_take("WHOIS robo")
    assert expect_numeric(got, "335") == msg(":lanchat.local 335 alice robo :is a bot")
    assert expect_numeric(alice.send_take("WHO robo"), "352").params[6] == "HB"
    assert alice.send_take("WHO robo %f")[0] == msg(":lanchat.local 354 alice HB")
    robo.send("MODE robo -B")
    assert "335" not in commands(alice.send_take("WHOIS robo"))


def test_someone_away_who_joins_is_announced_away_to_away_notify_members() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("away-notify",))
    plain = t.register("plain")
    bob = t.register("bob")
    alice.send("JOIN #a")
    plain.send("JOIN #a")
    bob.send("AWAY :lunch")
    alice.take()
    plain.take()
    bob.send("JOIN #a")
    assert alice.take() == [
        msg(":bob!bob@127.0.0.1 JOIN #a"),
        msg(":bob!bob@127.0.0.1 AWAY :lunch"),
    ]
    assert plain.take() == [msg(":bob!bob@127.0.0.1 JOIN #a")]


async def test_whox_and_bot_over_sockets(irc_server: LanchatServer) -> None:
    alice = await registered(irc_server.port, "alice", "#lobby")
    robo = await registered(irc_server.port, "robo", "#lobby")
    robo.send("MODE robo +B")
    await robo.expect("MODE")
    alice.send("WHO #lobby %tnf,7")
    lines = [await alice.expect_numeric("354"), await alice.expect_numeric("354")]
    assert sorted(m.params[1:] for m in lines) == [("7", "alice", "H@"), ("7", "robo", "HB")]
    await alice.expect_numeric("315")
    for client in (alice, robo):
        await client.close()
