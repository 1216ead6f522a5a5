"""Accounts by transcript: REGISTER, VERIFY, SASL PLAIN, nick ownership, account caps, history.

The transcript runs each Password effect as the edge would, with real (cheap) scrypt; with
`hold_passwords` set they wait, so what happens while a check runs can be seen. The same
paths over real sockets, with the store and the default scrypt cost: test_accounts_sockets.py.
"""

from __future__ import annotations

import base64
import dataclasses

import pytest

from lanchat.protocol.message import Message
from lanchat.scram import ScramClient
from lanchat.server.effects import Password, Persist, Publish, Query
from lanchat.store.records import HistoryRecord
from tests.server.transcript import (
    Conn,
    Transcript,
    account,
    base_config,
    commands,
    expect_numeric,
    msg,
)

ACCOUNT_CAPS = ("sasl", "account-notify", "account-tag", "extended-join", "message-tags")
TARGETS = (
    "CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00.000Z timestamp=2030-01-01T00:00:00.000Z 10"
)


def plain(name: str, password: str, authzid: str = "") -> str:
    """The base64 SASL PLAIN response (RFC 4616)."""
    return base64.b64encode(f"{authzid}\0{name}\0{password}".encode()).decode()


def fails(got: list[Message]) -> list[tuple[str, ...]]:
    return [m.params for m in got if m.command == "FAIL"]


@pytest.fixture
def t() -> Transcript:
    return Transcript(accounts=[account("alice", "wonderland")])


def sasl_connect(t: Transcript, nick: str, name: str, password: str) -> Conn:
    """Connect and log in with SASL PLAIN before registering (as irssi and weechat do)."""
    conn = t.connect()
    conn.send("CAP LS 302")
    conn.send(f"NICK {nick}")
    conn.send(f"USER {nick} 0 * :{nick}")
    conn.send("CAP REQ :" + " ".join(ACCOUNT_CAPS))
    conn.send("AUTHENTICATE PLAIN")
    conn.send(f"AUTHENTICATE {plain(name, password)}")
    conn.send("CAP END")
    return conn


# ------------------------------------------------------------------------------ REGISTER


def test_register_creates_the_account_and_logs_in(t: Transcript) -> None:
    carol = t.register("carol", caps=ACCOUNT_CAPS)
    got = carol.send_take("REGISTER * * secret-words")
    assert got[0].params[:2] == ("SUCCESS", "carol")
    assert expect_numeric(got, "900").params[1:3] == ("carol!carol@127.0.0.1", "carol")
    assert t.state.accounts["carol"].password_hash.startswith("scrypt$ln=4,r=8,p=1$")
    assert "secret-words" not in repr(t.effects)  # a Password effect never shows it


def test_register_tells_room_mates_with_account_notify(t: Transcript) -> None:
    carol = t.register("carol")
    dave = t.register("dave", caps=("account-notify",))
    erin = t.register("erin")
    for conn in (carol, dave, erin):
        conn.send("JOIN #lobby")
    for conn in (carol, dave, erin):
        conn.take()
    carol.send("REGISTER carol * secret-words")
    assert dave.take_lines() == [":carol!carol@127.0.0.1 ACCOUNT carol"]
    assert erin.take() == []


def test_register_tells_extended_monitors_with_account_notify(t: Transcript) -> None:
    watcher = t.register("dave", caps=("extended-monitor", "account-notify"))
    watcher.send("MONITOR + carol")
    carol = t.register("carol")
    watcher.take()
    carol.send("REGISTER * * secret-words")
    assert watcher.take_lines() == [":carol!carol@127.0.0.1 ACCOUNT carol"]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("REGISTER bob * secret-words", "ACCOUNT_NAME_MUST_BE_NICK"),
        ("REGISTER * * short", "WEAK_PASSWORD"),
        ("REGISTER * * *", "WEAK_PASSWORD"),
    ],
)
def test_register_refuses_with_fail(t: Transcript, line: str, code: str) -> None:
    carol = t.register("carol", caps=("standard-replies",))
    assert fails(carol.send_take(line))[0][:2] == ("REGISTER", code)
    assert "carol" not in t.state.accounts


def test_guest_nicks_cannot_be_registered_nor_given_when_registered() -> None:
    t = Transcript(accounts=[account("alice", "wonderland"), account("Guest1", "guest-pw")])
    squatter = t.register("alice")
    t.tick(31)
    assert t.state.users[squatter.conn_id].nick == "Guest2"  # Guest1 is someone's account
    got = squatter.send_take("REGISTER * * secret-words")
    assert fails(got)[0][:2] == ("REGISTER", "BAD_ACCOUNT_NAME")


def test_register_an_existing_account_fails_account_exists(t: Transcript) -> None:
    squatter = t.register("alice")
    assert fails(squatter.send_take("REGISTER * * secret-words"))[0][:3] == (
        "REGISTER",
        "ACCOUNT_EXISTS",
        "alice",
    )


def test_register_before_connecting_needs_the_connection(t: Transcript) -> None:
    conn = t.connect()
    conn.send("NICK carol")
    got = conn.send_take("REGISTER * * secret-words")
    assert fails(got)[0][:2] == ("REGISTER", "COMPLETE_CONNECTION_REQUIRED")


def test_register_twice_is_already_authenticated(t: Transcript) -> None:
    carol = t.register("carol")
    carol.send("REGISTER * * secret-words")
    got = carol.send_take("REGISTER * * secret-words")
    assert fails(got)[0][:2] == ("REGISTER", "ALREADY_AUTHENTICATED")


def test_two_registrations_of_one_name_race_one_wins(t: Transcript) -> None:
    t.hold_passwords = True
    carol = t.register("carol")
    carol.send("REGISTER * * secret-words")
    carol.send("NICK carol2")
    squatter = t.register("carol")
    got = squatter.send_take("REGISTER * * other-words")
    assert fails(got)[0][:2] == ("REGISTER", "ACCOUNT_EXISTS")
    t.run_passwords()
    assert t.state.accounts["carol"].name == "carol"
    # The one now sitting on the nick is told its grace period started.
    assert any("belongs to a registered account" in m.params[-1] for m in squatter.take())


def test_an_account_stored_after_its_client_left_exists_all_the_same(t: Transcript) -> None:
    t.hold_passwords = True
    carol = t.register("carol")
    carol.send("REGISTER * * secret-words")
    t.disconnect(carol)
    t.run_passwords()
    assert "carol" in t.state.accounts and not t.state.registering


def test_register_that_cannot_be_stored_fails_and_can_be_retried(t: Transcript) -> None:
    carol = t.register("carol", caps=("standard-replies",))
    t.store_error = "database or disk is full"
    got = carol.send_take("REGISTER * * secret-words")
    assert fails(got)[0][:3] == ("REGISTER", "TEMPORARILY_UNAVAILABLE", "carol")
    assert "database or disk is full" in got[0].params[-1]
    t.store_error = None
    assert carol.send_take("REGISTER * * secret-words")[0].params[:2] == ("SUCCESS", "carol")


def test_registration_closed_by_config() -> None:
    config = base_config()
    config = dataclasses.replace(
        config, accounts=dataclasses.replace(config.accounts, registration=False)
    )
    t = Transcript(config)
    carol = t.register("carol")
    assert fails(carol.send_take("REGISTER * * secret-words"))[0][1] == "TEMPORARILY_UNAVAILABLE"


def test_verify_has_nothing_to_verify(t: Transcript) -> None:
    carol = t.register("carol")
    assert fails(carol.send_take("VERIFY carol 1234"))[0][:3] == ("VERIFY", "INVALID_CODE", "carol")


# ------------------------------------------------------------------------------ SASL


def test_sasl_plain_logs_in_before_registration(t: Transcript) -> None:
    conn = t.connect()
    conn.send("CAP LS 302")
    advertised = " ".join(line.params[-1] for line in conn.take())  # LS may take several lines
    assert "sasl=PLAIN,SCRAM-SHA-256" in advertised.split()
    conn.send("NICK alice")
    conn.send("USER alice 0 * :Alice")
    conn.send("CAP REQ :sasl")
    assert conn.send_take("AUTHENTICATE PLAIN") == [msg(":lanchat.local AUTHENTICATE +")]
    got = conn.send_take(f"AUTHENTICATE {plain('alice', 'wonderland')}")
    assert commands(got) == ["900", "903"]
    assert expect_numeric(got, "900").params[-1] == "You are now logged in as alice"
    conn.send("CAP END")
    got = conn.take()
    expect_numeric(got, "001")
    assert not any("belongs to" in m.params[-1] for m in got)


def test_registration_waits_for_the_password_check(t: Transcript) -> None:
    t.hold_passwords = True
    conn = sasl_connect(t, "alice", "alice", "wonderland")
    assert "001" not in commands(conn.take())  # CAP END came while the password was checked
    t.run_passwords()
    assert commands(conn.take())[:3] == ["900", "903", "001"]


def test_sasl_wrong_password_or_unknown_account_is_904(t: Transcript) -> None:
    for name, password in (("alice", "wrong-one"), ("nobody", "wonderland")):
        conn = sasl_connect(t, "x" + name, name, password)
        got = conn.take()
        expect_numeric(got, "904")
        assert "900" not in commands(got)
        expect_numeric(got, "001")  # registration goes on, logged out


def test_sasl_for_an_unknown_account_takes_the_same_check(t: Transcript) -> None:
    t.hold_passwords = True
    sasl_connect(t, "x", "nobody", "wonderland")
    assert [e.purpose for e in t.held] == ["sasl"]
    assert t.held[0].stored.startswith("scrypt$ln=14,")  # a real hash at the real cost


def test_sasl_authzid_must_be_the_account(t: Transcript) -> None:
    conn = t.register("x", caps=("sasl",))
    conn.send("AUTHENTICATE PLAIN")
    got = conn.send_take(f"AUTHENTICATE {plain('alice', 'wonderland', authzid='bob')}")
    assert commands(got) == ["904"]


def test_sasl_response_in_400_byte_chunks(t: Transcript) -> None:
    long_password = "w" * 500
    t2 = Transcript(accounts=[account("alice", long_password)])
    conn = t2.register("x", caps=("sasl",))
    conn.send("AUTHENTICATE PLAIN")
    response = plain("alice", long_password)
    chunks = [response[i : i + 400] for i in range(0, len(response), 400)]
    assert len(chunks[0]) == 400
    conn.take()
    for chunk in chunks:
        conn.send(f"AUTHENTICATE {chunk}")
    if len(chunks[-1]) == 400:
        conn.send("AUTHENTICATE +")
    assert commands(conn.take()) == ["900", "903"]


def test_sasl_exactly_400_bytes_then_plus(t: Transcript) -> None:
    # authzid "" + "alice" + password such that base64 is exactly 400 characters
    password = "p" * (300 - len("\0alice\0"))
    t2 = Transcript(accounts=[account("alice", password)])
    conn = t2.register("x", caps=("sasl",))
    conn.send("AUTHENTICATE PLAIN")
    response = plain("alice", password)
    assert len(response) == 400
    assert conn.send_take(f"AUTHENTICATE {response}") == []  # more may follow
    assert commands(conn.send_take("AUTHENTICATE +")) == ["900", "903"]


def test_sasl_chunk_over_400_bytes_is_905(t: Transcript) -> None:
    conn = t.register("x", caps=("sasl",))
    conn.send("AUTHENTICATE PLAIN")
    assert commands(conn.send_take("AUTHENTICATE " + "A" * 401)) == ["905"]


def test_sasl_abort_already_and_unknown_mechanism(t: Transcript) -> None:
    conn = t.register("x", caps=("sasl",))
    conn.send("AUTHENTICATE PLAIN")
    assert commands(conn.send_take("AUTHENTICATE *")) == ["906"]
    got = conn.send_take("AUTHENTICATE EXTERNAL")
    assert commands(got) == ["908", "904"]
    assert got[0].params[1] == "PLAIN,SCRAM-SHA-256"
    conn.send("AUTHENTICATE PLAIN")
    conn.send(f"AUTHENTICATE {plain('alice', 'wonderland')}")
    assert commands(conn.send_take("AUTHENTICATE PLAIN")) == ["907"]


def test_registering_in_the_middle_of_an_exchange_aborts_it_906(t: Transcript) -> None:
    conn = t.connect()
    conn.send("CAP REQ :sasl")
    conn.send("NICK x")
    conn.send("USER x 0 * :x")
    conn.send("AUTHENTICATE PLAIN")
    got = conn.send_take("CAP END")
    assert commands(got)[:2] == ["906", "001"]
    assert t.state.users[conn.conn_id].sasl is None


def test_sasl_needs_the_capability(t: Transcript) -> None:
    conn = t.register("x")
    assert commands(conn.send_take("AUTHENTICATE PLAIN")) == ["904"]


def test_wrong_sasl_passwords_are_throttled_per_address(t: Transcript) -> None:
    limit = t.state.config.limits.max_auth_failures
    for i in range(limit):
        conn = sasl_connect(t, f"x{i}", "alice", "wrong-one")
        expect_numeric(conn.take(), "904")
    conn = sasl_connect(t, "late", "alice", "wonderland")  # right, but refused unchecked
    got = conn.take()
    assert "wait" in expect_numeric(got, "904").params[-1]
    assert "900" not in commands(got)
    other = t.connect(ip="192.168.1.9")  # another address is not held back
    other.send("CAP REQ :sasl")
    other.send("AUTHENTICATE PLAIN")
    assert commands(other.send_take(f"AUTHENTICATE {plain('alice', 'wonderland')}")) == [
        "900",
        "903",
    ]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(got: list[Message]) -> str:
    """The text of the one AUTHENTICATE challenge in `got`."""
    (challenge,) = [m for m in got if m.command == "AUTHENTICATE"]
    return base64.b64decode(challenge.params[0]).decode()


def scram_until_proof(
    t: Transcript, name: str, password: str
) -> tuple[Conn, ScramClient, list[Message]]:
    """Connect, negotiate sasl, send a SCRAM-SHA-256 exchange up to the client's proof.

    Returns:
        The connection, the client's half of the exchange, and the answer to the proof.
    """
    conn = t.connect()
    conn.send("CAP LS 302")
    conn.send(f"NICK {name}")
    conn.send(f"USER {name} 0 * :{name}")
    conn.send("CAP REQ :" + " ".join(ACCOUNT_CAPS))
    assert conn.send_take("AUTHENTICATE SCRAM-SHA-256")[-1] == msg(":lanchat.local AUTHENTICATE +")
    client = ScramClient(name, password)
    server_first = unb64(conn.send_take(f"AUTHENTICATE {b64(client.first())}"))
    assert server_first.startswith("r=") and ",i=4096" in server_first
    return conn, client, conn.send_take(f"AUTHENTICATE {b64(client.final(server_first))}")


def test_sasl_scram_sha_256_logs_in_before_registration(t: Transcript) -> None:
    conn, client, answer = scram_until_proof(t, "alice", "wonderland")
    assert client.verify(unb64(answer))
    got = conn.send_take("AUTHENTICATE +")
    assert commands(got) == ["900", "903"]
    assert expect_numeric(got, "900").params[2] == "alice"
    assert "001" in commands(conn.send_take("CAP END"))


def test_an_account_registered_here_logs_in_with_scram(t: Transcript) -> None:
    carol = t.register("carol")
    carol.send_take("REGISTER * * secret-words")
    assert t.state.accounts["carol"].scram.startswith("scram-sha-256$i=4096$")
    conn, _, _ = scram_until_proof(t, "carol", "secret-words")
    assert commands(conn.send_take("AUTHENTICATE +")) == ["900", "903"]


def test_a_scram_exchange_aborted_while_its_proof_is_checked_stays_aborted(t: Transcript) -> None:
    t.hold_passwords = True
    conn, _, answer = scram_until_proof(t, "alice", "wonderland")
    assert answer == [] and len(t.held) == 1  # the proof waits for the edge, as passwords do
    assert commands(conn.send_take("AUTHENTICATE *")) == ["906"]
    t.run_passwords()
    assert conn.take() == []  # no signature for an exchange the client gave up
    assert not t.state.find_user("alice").account  # type: ignore[union-attr]


def test_a_second_scram_proof_while_the_first_is_checked_ends_the_exchange(t: Transcript) -> None:
    t.hold_passwords = True
    conn, _, _ = scram_until_proof(t, "alice", "wonderland")
    got = conn.send_take("AUTHENTICATE " + b64("c=biws,r=x,p=eQ=="))
    assert commands(got) == ["904"] and "a check is running" in got[0].params[-1]
    t.run_passwords()
    assert conn.take() == []


def test_a_wrong_scram_proof_is_904_and_counts_with_plains_failures(t: Transcript) -> None:
    limit = t.state.config.limits.max_auth_failures
    for i in range(limit - 1):
        conn = sasl_connect(t, f"x{i}", "alice", "wrong-one")
        expect_numeric(conn.take(), "904")
    _, _, answer = scram_until_proof(t, "alice", "wrong-two")
    assert commands(answer) == ["904"]
    late = sasl_connect(t, "late", "alice", "wonderland")  # right, but refused unchecked
    assert "wait" in expect_numeric(late.take(), "904").params[-1]
    again = t.connect()
    again.send("CAP REQ :sasl")
    again.send("AUTHENTICATE SCRAM-SHA-256")
    first = ScramClient("alice", "wonderland").first()
    got = again.send_take(f"AUTHENTICATE {b64(first)}")
    assert commands(got) == ["904"] and "wait" in got[0].params[-1]


def test_an_account_without_scram_keys_is_told_to_use_plain(t: Transcript) -> None:
    t.state.accounts["bob"] = account("bob", "builder-bob", scram=False)
    conn = t.connect()
    conn.send("CAP REQ :sasl")
    conn.send("AUTHENTICATE SCRAM-SHA-256")
    got = conn.send_take(f"AUTHENTICATE {b64(ScramClient('bob', 'builder-bob').first())}")
    assert commands(got) == ["908", "904"]
    assert got[0].params[1] == "PLAIN"
    assert got[1].params[-1] == (
        "SASL authentication failed: bob has no SCRAM-SHA-256 keys yet; log in with PLAIN"
    )
    conn.send("AUTHENTICATE PLAIN")
    assert commands(conn.send_take(f"AUTHENTICATE {plain('bob', 'builder-bob')}")) == [
        "900",
        "903",
    ]


def test_unknown_accounts_and_malformed_scram_messages_are_904(t: Transcript) -> None:
    conn = t.connect()
    conn.send("CAP REQ :sasl")
    for response in (
        b64(ScramClient("nobody", "pw-pw-pw").first()),
        b64("p=tls-unique,,n=alice,r=abc"),
        "bm90IHNjcmFt",  # "not scram"
        "!!",
    ):
        conn.send("AUTHENTICATE SCRAM-SHA-256")
        assert commands(conn.send_take(f"AUTHENTICATE {response}")) == ["904"]
    assert t.state.auth_throttle.retry_after_s("127.0.0.1") == 0  # one failure: the unknown name


def test_anything_but_an_empty_answer_to_the_servers_signature_fails(t: Transcript) -> None:
    conn, _, _ = scram_until_proof(t, "alice", "wonderland")
    assert commands(conn.send_take(f"AUTHENTICATE {b64('v=x')}")) == ["904"]
    assert not t.state.users[conn.conn_id].account


# ------------------------------------------------------------------------ what an account shows


def test_account_tag_extended_join_and_whois(t: Transcript) -> None:
    alice = sasl_connect(t, "alice", "alice", "wonderland")
    bob = t.register("bob", caps=("account-tag", "extended-join"))
    plain_carol = t.register("carol", caps=("extended-join",))
    for conn in (bob, plain_carol):
        conn.send("JOIN #lobby")
    t.conns[bob.conn_id].take()
    plain_carol.take()
    alice.take()
    alice.send("JOIN #lobby")
    assert bob.take_lines()[0] == "@account=alice :alice!alice@127.0.0.1 JOIN #lobby alice alice"
    assert plain_carol.take_lines() == [":alice!alice@127.0.0.1 JOIN #lobby alice alice"]
    alice.send("PRIVMSG #lobby :hello")
    assert bob.take_lines() == ["@account=alice :alice!alice@127.0.0.1 PRIVMSG #lobby hello"]
    assert plain_carol.take_lines() == [":alice!alice@127.0.0.1 PRIVMSG #lobby hello"]
    alice.take()
    bob.send("PRIVMSG #lobby :hi")  # not logged in: no account tag, and "*" when joining
    (line,) = alice.take()
    assert line.command == "PRIVMSG" and "account" not in line.tags and "msgid" in line.tags
    assert expect_numeric(bob.send_take("WHOIS alice"), "330").params[1:] == (
        "alice",
        "alice",
        "is logged in as",
    )
    assert "330" not in commands(alice.send_take("WHOIS bob"))
    # WHOX's account field: the account, or "0" when logged out.
    whox = [m.params[1:] for m in bob.send_take("WHO #lobby %na") if m.command == "354"]
    assert sorted(whox) == [("alice", "alice"), ("bob", "0"), ("carol", "0")]
    alice.send("NICK alice2")  # a NICK line names the old nick and carries the account
    assert bob.take_lines() == ["@account=alice :alice!alice@127.0.0.1 NICK alice2"]
    bob.send("PART #lobby")
    alice.take()
    bob.send("JOIN #lobby")
    assert alice.take_lines()[0] == ":bob!bob@127.0.0.1 JOIN #lobby * :bob Example"


# ------------------------------------------------------------------------------ nick ownership


def test_squatter_is_warned_at_once_and_renamed_after_grace(t: Transcript) -> None:
    bob = t.register("bob")
    bob.send("JOIN #lobby")
    squatter = t.connect()
    squatter.send("NICK alice")
    squatter.send("USER a 0 * :A")
    warning = [m for m in squatter.take() if m.command == "NOTICE"]
    assert "within 30 seconds" in warning[-1].params[-1]
    assert "SASL" in warning[-1].params[-1]
    squatter.send("JOIN #lobby")
    bob.take()
    squatter.take()
    t.tick(29)
    assert squatter.take() == [] and bob.take() == []
    t.tick(1)
    assert bob.take_lines() == [":alice!a@127.0.0.1 NICK Guest1"]
    got = squatter.take_lines()
    assert got[-1] == ":alice!a@127.0.0.1 NICK Guest1"
    assert "renamed to Guest1" in got[0]
    assert "alice" not in t.state.nicks


def test_logging_in_during_the_grace_period_keeps_the_nick(t: Transcript) -> None:
    alice = t.register("alice", caps=("sasl",))
    alice.send("AUTHENTICATE PLAIN")
    alice.send(f"AUTHENTICATE {plain('alice', 'wonderland')}")
    t.tick(31)
    assert t.state.nicks["alice"] is t.state.users[alice.conn_id]


def test_changing_away_from_the_nick_ends_the_grace_period(t: Transcript) -> None:
    squatter = t.register("alice")
    squatter.send("NICK carol")
    t.tick(31)
    assert t.state.users[squatter.conn_id].nick == "carol"


def test_the_owner_taking_its_nick_renames_the_squatter_at_once(t: Transcript) -> None:
    squatter = t.register("alice")
    owner = t.register("owner", caps=("sasl",))
    owner.send("AUTHENTICATE PLAIN")
    owner.send(f"AUTHENTICATE {plain('alice', 'wonderland')}")
    owner.take()
    squatter.take()
    got = owner.send_take("NICK alice")
    assert [m.to_line() for m in got] == [":owner!owner@127.0.0.1 NICK alice"]
    assert squatter.take_lines()[-1] == ":alice!alice@127.0.0.1 NICK Guest1"


def test_someone_else_on_the_nick_of_a_logged_in_owner_gets_433(t: Transcript) -> None:
    alice = sasl_connect(t, "alice", "alice", "wonderland")
    alice.take()
    other = t.register("other")
    expect_numeric(other.send_take("NICK alice"), "433")


# ------------------------------------------------------------------------------ private history


def test_private_messages_of_two_accounts_are_keyed_and_served_to_them(t: Transcript) -> None:
    t2 = Transcript(accounts=[account("alice", "wonderland"), account("bob", "builder1")])
    alice = sasl_connect(t2, "alice", "alice", "wonderland")
    bob = sasl_connect(t2, "bob", "bob", "builder1")
    effects = alice.send("PRIVMSG bob :hi")
    published = next(e for e in effects if isinstance(e, Publish))
    assert published.records[0].target_key == "~alice ~bob"
    queries = [e for e in bob.send("CHATHISTORY LATEST alice * 10") if isinstance(e, Query)]
    assert queries[0].query.target_key == "~alice ~bob"
    targets = next(e for e in bob.send(TARGETS) if isinstance(e, Query))
    assert "~alice ~bob" in targets.query.target_keys


def test_targets_name_a_private_conversation_by_the_other_account(t: Transcript) -> None:
    t2 = Transcript(accounts=[account("alice", "wonderland"), account("bob", "builder1")])
    bob = sasl_connect(t2, "bob", "bob", "builder1")
    bob.send("CAP REQ :batch draft/chathistory")
    bob.take()
    query = next(e for e in bob.send(TARGETS) if isinstance(e, Query))
    record = HistoryRecord(
        "m1", 1_764_093_600_000, "PRIVMSG", "alice!a@h", "bob", "~alice ~bob", "hi"
    )
    t2.apply(t2.state.history_result(query, [record]))
    lines = bob.take_lines()
    assert any(" TARGETS alice " in line for line in lines), lines


def test_a_nick_without_the_account_reads_no_private_history(t: Transcript) -> None:
    squatter = t.register("bob", caps=("batch", "draft/chathistory"))
    effects = squatter.send("CHATHISTORY LATEST alice * 10")
    assert not [e for e in effects if isinstance(e, Query)]
    lines = squatter.take_lines()
    assert lines[0].endswith("chathistory alice") and lines[-1].startswith(":lanchat.local BATCH -")


def test_private_messages_with_a_logged_out_side_stay_under_nicks(t: Transcript) -> None:
    alice = sasl_connect(t, "alice", "alice", "wonderland")
    t.register("bob")
    effects = alice.send("PRIVMSG bob :hi")
    published = next(e for e in effects if isinstance(e, Publish))
    assert published.records[0].target_key == "alice bob"
    assert not [e for e in effects if isinstance(e, Persist)]
    assert not [e for e in t.effects if isinstance(e, Password) and e.purpose == "register"]
