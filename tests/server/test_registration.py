"""Registration by transcript: CAP, NICK, USER, PASS, welcome burst, PING/PONG, QUIT, SETNAME."""

from __future__ import annotations

import dataclasses

from lanchat.config import Config
from lanchat.protocol.isupport import isupport_tokens
from tests.server.transcript import Transcript, base_config, commands, expect_numeric, msg


def test_nick_and_user_complete_registration_with_welcome_burst() -> None:
    t = Transcript()
    c = t.connect("10.0.0.7")
    c.send("NICK alice")
    assert c.take() == []
    c.send("USER al 0 * :Alice Liddell")
    got = c.take()
    assert commands(got)[:4] == ["001", "002", "003", "004"]
    assert got[0] == msg(
        ":lanchat.local 001 alice :Welcome to the lanchat Network, alice!al@10.0.0.7"
    )
    assert expect_numeric(got, "004").params[1:] == (
        "lanchat.local",
        "lanchat-0.1.0",
        "iowB",
        "Ibeiklmnostv",
        "Ibeklov",
    )
    for code in ("251", "254", "255", "265", "266", "375", "372", "376"):
        expect_numeric(got, code)


def test_isupport_lines_carry_every_token_and_the_trailing_text() -> None:
    t = Transcript()
    c = t.connect()
    c.send("USER a 0 * :A")
    c.send("NICK alice")
    lines = [m for m in c.take() if m.command == "005"]
    assert len(lines) == 2
    assert all(m.params[-1] == "are supported by this server" for m in lines)
    tokens = [p for m in lines for p in m.params[1:-1]]
    assert tokens == isupport_tokens(Config().limits, network="lanchat")


def test_empty_motd_replies_422() -> None:
    config = base_config()
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, motd=()))
    t = Transcript(config)
    c = t.connect()
    c.send("NICK a")
    c.send("USER a 0 * :A")
    got = c.take()
    expect_numeric(got, "422")
    assert "375" not in commands(got)


def test_motd_lines_are_372_between_375_and_376() -> None:
    config = base_config()
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, motd=("a", "b")))
    t = Transcript(config)
    c = t.connect()
    c.send("NICK a")
    c.send("USER a 0 * :A")
    got = [m for m in c.take() if m.command in ("375", "372", "376")]
    assert [m.to_line() for m in got] == [
        ":lanchat.local 375 a :- lanchat.local Message of the day - ",
        ":lanchat.local 372 a :- a",
        ":lanchat.local 372 a :- b",
        ":lanchat.local 376 a :End of /MOTD command.",
    ]


def test_lusers_counts_users_rooms_and_unregistered_connections() -> None:
    t = Transcript()
    t.register("alice")
    t.connect()
    c = t.connect()
    c.send("NICK bob")
    c.send("USER b 0 * :B")
    got = c.take()
    assert expect_numeric(got, "251").params[-1] == "There are 2 users and 0 invisible on 1 servers"
    assert expect_numeric(got, "253").params[1] == "1"
    assert expect_numeric(got, "254").params[1] == "1"
    assert expect_numeric(got, "265").params[1:3] == ("2", "2")


def test_cap_ls_suspends_registration_until_cap_end() -> None:
    t = Transcript()
    c = t.connect()
    c.send("CAP LS 302")
    c.send("NICK alice")
    c.send("USER a 0 * :A")
    got = c.take()
    assert set(commands(got)) == {"CAP"}  # the LS lines, and nothing of registration yet
    assert all(line.params[:2] == ("*", "LS") for line in got)
    c.send("CAP END")
    expect_numeric(c.take(), "001")


def test_cap_req_ack_enables_and_list_shows_caps() -> None:
    t = Transcript()
    c = t.connect()
    c.send("CAP REQ :multi-prefix server-time")
    assert c.take_lines() == [":lanchat.local CAP * ACK :multi-prefix server-time"]
    c.send("CAP LIST")
    assert c.take_lines() == [":lanchat.local CAP * LIST :multi-prefix server-time"]
    c.send("CAP REQ :-server-time")
    c.send("CAP LIST")
    assert c.take()[-1] == msg(":lanchat.local CAP * LIST :multi-prefix")


def test_cap_req_with_unknown_cap_is_naked_and_changes_nothing() -> None:
    t = Transcript()
    c = t.connect()
    c.send("CAP REQ :multi-prefix chghost")
    assert c.take_lines() == [":lanchat.local CAP * NAK :multi-prefix chghost"]
    c.send("CAP LIST")
    assert c.take_lines() == [":lanchat.local CAP * LIST :"]


def test_cap_ls_302_enables_cap_notify_which_stays_on() -> None:
    t = Transcript()
    c = t.connect()
    c.send("CAP LS 302")
    c.send("CAP REQ :-cap-notify")
    c.send("CAP LIST")
    got = [line for line in c.take() if line.params[1] != "LS"]
    assert got == [
        msg(":lanchat.local CAP * NAK :-cap-notify"),
        msg(":lanchat.local CAP * LIST :cap-notify"),
    ]


def test_cap_after_registration_uses_the_nick() -> None:
    t = Transcript()
    c = t.register("alice")
    assert c.send_take("CAP LIST") == [msg(":lanchat.local CAP alice LIST :")]
    c.send("CAP END")
    assert c.take() == []


def test_unknown_cap_subcommand_replies_410() -> None:
    t = Transcript()
    c = t.connect()
    assert c.send_take("CAP FOO") == [msg(":lanchat.local 410 * FOO :Invalid CAP command")]


def test_nick_in_use_replies_433_compared_casefolded() -> None:
    t = Transcript()
    t.register("Alice[1]")
    c = t.connect()
    got = c.send_take("NICK alice{1}")
    assert got == [msg(":lanchat.local 433 * alice{1} :Nickname is already in use")]


def test_invalid_nick_replies_432() -> None:
    t = Transcript()
    c = t.connect()
    expect_numeric(c.send_take("NICK 9lives"), "432")
    expect_numeric(c.send_take("NICK " + "a" * 31), "432")


def test_nick_without_parameter_replies_431() -> None:
    t = Transcript()
    c = t.connect()
    assert c.send_take("NICK") == [msg(":lanchat.local 431 * :No nickname given")]


def test_nick_change_is_told_once_to_everyone_sharing_a_room() -> None:
    t = Transcript()
    alice, bob, carol, dave = (t.register(n) for n in ("alice", "bob", "carol", "dave"))
    for c in (alice, bob, carol):
        c.send("JOIN #one")
        c.send("JOIN #two")
    for c in (alice, bob, carol, dave):
        c.take()
    alice.send("NICK Alicia")
    change = msg(":alice!alice@127.0.0.1 NICK Alicia")
    assert alice.take() == [change]
    assert bob.take() == [change]
    assert carol.take() == [change]
    assert dave.take() == []
    assert t.state.find_user("alicia") is not None
    assert t.state.find_user("alice") is None


def test_nick_change_to_same_case_variant_is_allowed() -> None:
    t = Transcript()
    c = t.register("alice")
    assert c.send_take("NICK ALICE") == [msg(":alice!alice@127.0.0.1 NICK ALICE")]
    assert c.send_take("NICK ALICE") == []


def test_user_after_registration_replies_462() -> None:
    t = Transcript()
    c = t.register("alice")
    expect_numeric(c.send_take("USER x 0 * :X"), "462")


def test_user_with_too_few_parameters_replies_461() -> None:
    t = Transcript()
    c = t.connect()
    got = c.send_take("USER x 0 *")
    assert got == [msg(":lanchat.local 461 * USER :Not enough parameters")]


def test_user_name_is_cleaned_of_hostmask_characters() -> None:
    t = Transcript()
    c = t.connect()
    c.send("NICK a")
    c.send("USER ~we!rd@x 0 * :A")
    assert expect_numeric(c.take(), "001").params[-1].endswith("a!werdx@127.0.0.1")


def test_commands_before_registration_reply_451() -> None:
    t = Transcript()
    c = t.connect()
    assert c.send_take("JOIN #lobby") == [msg(":lanchat.local 451 * :You have not registered")]


def test_unknown_command_replies_421() -> None:
    t = Transcript()
    c = t.register("alice")
    assert c.send_take("FROB x") == [msg(":lanchat.local 421 alice FROB :Unknown command")]


def _password_config(password: str) -> Config:
    config = base_config()
    return dataclasses.replace(config, server=dataclasses.replace(config.server, password=password))


def test_right_password_registers() -> None:
    t = Transcript(_password_config("s3cret"))
    c = t.register("alice", password="s3cret")
    assert c.closed is None


def test_wrong_password_replies_464_error_and_disconnects() -> None:
    t = Transcript(_password_config("s3cret"))
    c = t.connect()
    c.send("PASS nope")
    c.send("NICK alice")
    c.send("USER a 0 * :A")
    got = c.take()
    assert got == [
        msg(":lanchat.local 464 alice :Password incorrect"),
        msg("ERROR :Closing Link: 127.0.0.1 (Bad password)"),
    ]
    assert c.closed == "Bad password"
    assert t.state.find_user("alice") is None


def test_missing_password_is_refused_too() -> None:
    t = Transcript(_password_config("s3cret"))
    c = t.connect()
    c.send("NICK alice")
    c.send("USER a 0 * :A")
    expect_numeric(c.take(), "464")
    assert c.closed == "Bad password"


def test_pass_after_registration_replies_462() -> None:
    t = Transcript()
    c = t.register("alice")
    expect_numeric(c.send_take("PASS x"), "462")


def test_ping_gets_pong_with_the_token() -> None:
    t = Transcript()
    c = t.connect()
    assert c.send_take("PING :abc def") == [msg(":lanchat.local PONG lanchat.local :abc def")]


def test_ping_without_token_replies_461() -> None:
    t = Transcript()
    c = t.register("alice")
    expect_numeric(c.send_take("PING"), "461")


def test_quit_sends_error_and_quit_to_room_members_once() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    for c in (alice, bob):
        c.send("JOIN #one")
        c.send("JOIN #two")
    bob.take()
    alice.take()
    alice.send("QUIT :bye now")
    assert alice.take() == [msg("ERROR :Closing Link: 127.0.0.1 (Quit: bye now)")]
    assert alice.closed == "Quit: bye now"
    assert bob.take() == [msg(":alice!alice@127.0.0.1 QUIT :Quit: bye now")]
    assert t.state.find_user("alice") is None
    assert t.state.whowas[0].nick == "alice"


def test_quit_without_reason_and_later_disconnect_is_harmless() -> None:
    t = Transcript()
    c = t.register("alice")
    c.send("QUIT")
    assert c.closed == "Client Quit"
    assert t.disconnect(c) == []


def test_setname_changes_realname_and_tells_setname_clients() -> None:
    t = Transcript()
    alice = t.register("alice", caps=("setname",))
    bob = t.register("bob", caps=("setname",))
    carol = t.register("carol")
    for c in (alice, bob, carol):
        c.send("JOIN #a")
    bob.take()
    carol.take()
    alice.take()
    change = msg(":alice!alice@127.0.0.1 SETNAME :Alice L.")
    assert alice.send_take("SETNAME :Alice L.") == [change]
    assert bob.take() == [change]
    assert carol.take() == []
    assert t.state.find_user("alice").realname == "Alice L."  # type: ignore[union-attr]


def test_setname_too_long_fails_with_invalid_realname() -> None:
    t = Transcript()
    c = t.register("alice", caps=("setname",))
    (fail,) = c.send_take("SETNAME :" + "x" * 300)
    assert fail.command == "FAIL"
    assert fail.params[:2] == ("SETNAME", "INVALID_REALNAME")


def test_ipv6_host_gets_a_leading_zero_in_the_hostmask() -> None:
    t = Transcript()
    c = t.register("alice", ip="::1")
    alice = t.state.find_user("alice")
    assert alice is not None and alice.source == "alice!alice@0::1"
    assert c.closed is None


def test_labeled_pong_gets_ack() -> None:
    t = Transcript()
    c = t.register("alice", caps=("labeled-response", "batch"))
    assert c.send_take("@label=abc PONG :foobar") == [msg("@label=abc :lanchat.local ACK")]


def test_labeled_quit_gets_no_ack() -> None:
    t = Transcript()
    c = t.register("alice", caps=("labeled-response", "batch"))
    assert c.send_take("@label=q QUIT") == [msg("ERROR :Closing Link: 127.0.0.1 (Client Quit)")]


def test_nick_and_quit_carry_server_time_for_clients_that_asked() -> None:
    t = Transcript()
    alice = t.register("alice")
    bob = t.register("bob", caps=("server-time",))
    alice.send("JOIN #lobby")
    bob.send("JOIN #lobby")
    bob.take()
    alice.send("NICK alicia")
    alice.send("QUIT :gone")
    assert bob.take() == [
        msg("@time=2025-11-25T18:00:00.000Z :alice!alice@127.0.0.1 NICK alicia"),
        msg("@time=2025-11-25T18:00:00.000Z :alicia!alice@127.0.0.1 QUIT :Quit: gone"),
    ]


def test_lusers_counts_invisible_users_within_a_second() -> None:
    t = Transcript()
    alice = t.register("alice")
    alice.send("MODE alice +i")
    t.clock.advance(1)
    c = t.connect()
    c.send("NICK bob")
    c.send("USER b 0 * :B")
    luserclient = expect_numeric(c.take(), "251")
    assert luserclient.params[-1] == "There are 1 users and 1 invisible on 1 servers"


def test_user_with_an_empty_realname_is_461_and_can_be_sent_again() -> None:
    # modern.ircdocs "USER message": the realname is required; issue 18.
    t = Transcript()
    c = t.connect()
    c.send("NICK alice")
    assert c.send_take("USER al 0 * :") == [
        msg(":lanchat.local 461 alice USER :Not enough parameters")
    ]
    c.send("USER al 0 * :Alice")
    expect_numeric(c.take(), "001")
