"""The client logs in with SASL (SCRAM-SHA-256 or PLAIN) while negotiating, and registers its
nick (issue 17).

Transcripts of the sans-I/O session first, then the same against a real lanchat server.
"""

from __future__ import annotations

import base64

from lanchat.client.events import LoggedIn, NickChanged, RegisterAccount, ServerError
from lanchat.client.session import ClientSession
from lanchat.scram import (
    Credentials,
    ServerExchange,
    client_first,
    parse_credentials,
    scram_credentials,
)
from lanchat.server.app import LanchatServer
from tests.client.test_connection import Peer
from tests.client.transcript import feed, of_type, sent
from tests.server.clients import registered
from tests.server.transcript import account

SCRYPT_TIMEOUT_S = 20.0


def negotiating(account: tuple[str, str] | None, offer: str = "batch sasl=PLAIN") -> ClientSession:
    s = ClientSession("alice", server_id="lan", account=account)
    s.start()
    sent(s)
    feed(s, f":srv CAP * LS :{offer}")
    return s


def test_sasl_is_requested_and_cap_end_waits_for_the_login() -> None:
    s = negotiating(("alice", "wonderland"))
    assert sent(s) == ["CAP REQ :batch sasl"]
    feed(s, ":srv CAP alice ACK :batch sasl")
    assert sent(s) == ["AUTHENTICATE PLAIN"]
    feed(s, "AUTHENTICATE +")
    expected = base64.b64encode(b"\0alice\0wonderland").decode()
    assert sent(s) == [f"AUTHENTICATE {expected}"]
    events = feed(s, ":srv 900 alice alice!alice@h alice :You are now logged in as alice")
    assert of_type(events, LoggedIn) == [LoggedIn("lan", "alice", False)]
    assert sent(s) == []  # still waiting for 903
    feed(s, ":srv 903 alice :SASL authentication successful")
    assert sent(s) == ["CAP END"]


def test_a_long_response_goes_in_400_byte_chunks_then_plus() -> None:
    password = "p" * (300 - len("\0alice\0"))  # base64 of exactly 400 characters
    s = negotiating(("alice", password))
    feed(s, ":srv CAP alice ACK :batch sasl", "AUTHENTICATE +")
    lines = sent(s)[2:]
    assert [len(line) for line in lines] == [len("AUTHENTICATE ") + 400, len("AUTHENTICATE +")]
    s = negotiating(("alice", "q" * 500))
    feed(s, ":srv CAP alice ACK :batch sasl", "AUTHENTICATE +")
    chunks = [line.split()[1] for line in sent(s)[2:]]
    assert [len(c) for c in chunks[:-1]] == [400] * (len(chunks) - 1)
    assert 0 < len(chunks[-1]) < 400
    assert base64.b64decode("".join(chunks)) == b"\0alice\0" + b"q" * 500


def test_failed_login_is_an_error_and_registration_goes_on() -> None:
    s = negotiating(("alice", "wrong"))
    feed(s, ":srv CAP alice ACK :batch sasl", "AUTHENTICATE +")
    sent(s)
    events = feed(s, ":srv 904 alice :SASL authentication failed")
    (error,) = of_type(events, ServerError)
    assert "check the account and password" in error.hint
    assert sent(s) == ["CAP END"]


def test_no_credentials_or_no_plain_means_no_sasl() -> None:
    s = negotiating(None)
    assert sent(s) == ["CAP REQ batch"]
    s = negotiating(("alice", "pw"), offer="batch sasl=EXTERNAL")
    assert sent(s) == ["CAP REQ batch"]


def scram_server(password: str = "wonderland") -> Credentials:
    keys = parse_credentials(scram_credentials(password, 4096))
    assert keys is not None
    return keys


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def scram_started(password: str = "wonderland") -> tuple[ClientSession, ServerExchange]:
    """A session that chose SCRAM-SHA-256 and sent its first message, and the server's half."""
    s = negotiating(("alice", password), offer="batch sasl=PLAIN,SCRAM-SHA-256")
    feed(s, ":srv CAP alice ACK :batch sasl")
    assert sent(s) == ["CAP REQ :batch sasl", "AUTHENTICATE SCRAM-SHA-256"]
    feed(s, "AUTHENTICATE +")
    (first,) = sent(s)
    header, _, bare = client_first(base64.b64decode(first.split()[1]).decode())
    return s, ServerExchange(header, bare, scram_server())


def test_scram_is_preferred_and_checks_the_servers_signature() -> None:
    s, server = scram_started()
    feed(s, f"AUTHENTICATE {b64(server.server_first)}")
    (final,) = sent(s)
    server_final = server.final(base64.b64decode(final.split()[1]).decode())  # proof checked
    feed(s, f"AUTHENTICATE {b64(server_final)}")
    assert sent(s) == ["AUTHENTICATE +"]
    feed(s, ":srv 900 alice alice!alice@h alice :You are now logged in as alice")
    feed(s, ":srv 903 alice :SASL authentication successful")
    assert sent(s) == ["CAP END"]


def test_a_server_with_a_wrong_signature_is_refused() -> None:
    s, server = scram_started()
    feed(s, f"AUTHENTICATE {b64(server.server_first)}")
    sent(s)
    events = feed(s, f"AUTHENTICATE {b64('v=' + b64('x' * 32))}")
    (error,) = of_type(events, ServerError)
    assert "do not trust it" in error.hint
    assert sent(s) == ["AUTHENTICATE *"]
    assert of_type(feed(s, ":srv 906 alice :SASL authentication aborted"), ServerError) == []
    assert sent(s) == ["CAP END"]


def test_an_account_without_scram_keys_goes_on_with_plain() -> None:
    s, _ = scram_started()
    events = feed(
        s,
        ":srv 908 alice PLAIN :are available SASL mechanisms",
        ":srv 904 alice :SASL authentication failed: alice has no SCRAM-SHA-256 keys yet",
    )
    assert of_type(events, ServerError) == []
    assert sent(s) == ["AUTHENTICATE PLAIN"]
    feed(s, "AUTHENTICATE +")
    assert sent(s) == [f"AUTHENTICATE {b64(chr(0) + 'alice' + chr(0) + 'wonderland')}"]


def test_logged_in_to_the_wanted_nick_held_by_someone_else_asks_for_it() -> None:
    s = ClientSession("alice", server_id="lan", account=("alice", "wonderland"))
    s.start()
    sent(s)
    feed(s, ":srv CAP * LS :sasl", ":srv 433 * alice :Nickname is already in use")
    assert sent(s) == ["CAP REQ sasl", "NICK alice_"]
    feed(s, ":srv CAP alice_ ACK sasl", "AUTHENTICATE +")
    feed(s, ":srv 900 alice_ alice_!u@h alice :You are now logged in as alice")
    feed(s, ":srv 903 alice_ :SASL authentication successful")
    sent(s)
    feed(s, ":srv 001 alice_ :hi", ":srv 376 alice_ :End")
    assert sent(s) == ["NICK alice"]
    s.start()  # a new connection is logged in to nothing until it says so
    assert s.login.account == ""


def test_register_account_sends_register_and_reports_a_new_login() -> None:
    s = negotiating(None)
    feed(s, ":srv CAP alice ACK batch", ":srv 001 alice :hi", ":srv 376 alice :End")
    sent(s)
    s.register_account("wonderland")
    assert sent(s) == ["REGISTER * * wonderland"]
    events = feed(
        s,
        ":srv REGISTER SUCCESS alice :Account alice created",
        ":srv 900 alice alice!alice@h alice :You are now logged in as alice",
    )
    assert of_type(events, LoggedIn) == [LoggedIn("lan", "alice", True)]


async def register_alice(server: LanchatServer) -> LoggedIn:
    """Connect our client as alice, register the nick, quit; the LoggedIn it got."""
    first = Peer(server.port, "alice")
    first.conn.start()
    await first.ready()
    first.conn.handle(RegisterAccount("alice", "wonderland"))
    login = await first.expect(LoggedIn, timeout_s=SCRYPT_TIMEOUT_S)
    await first.conn.quit("bye")
    return login


def logging_in_as_alice(server: LanchatServer) -> Peer:
    """Our client, started as alice with the account's password remembered."""
    peer = Peer(server.port, "alice")
    peer.session.login.credentials = ("alice", "wonderland")
    peer.conn.start()
    return peer


async def test_logging_in_takes_the_nick_back_from_a_squatter(
    irc_server: LanchatServer,
) -> None:
    assert await register_alice(irc_server) == LoggedIn("alice", "alice", True)
    squatter = await registered(irc_server.port, "alice")
    again = logging_in_as_alice(irc_server)
    try:
        renamed = await squatter.expect("NICK", timeout_s=SCRYPT_TIMEOUT_S)
        assert renamed.params[0].startswith("Guest")
        await again.expect(NickChanged, lambda e: e.own and e.new == "alice")
        user = irc_server.state.find_user("alice")
        assert user is not None and user.account == "alice"
    finally:
        await again.conn.quit("bye")
        await squatter.close()


async def test_register_then_log_in_again_against_the_real_server(
    irc_server: LanchatServer,
) -> None:
    assert await register_alice(irc_server) == LoggedIn("alice", "alice", True)
    again = logging_in_as_alice(irc_server)
    try:
        login = await again.expect(LoggedIn, timeout_s=SCRYPT_TIMEOUT_S)
        assert login == LoggedIn("alice", "alice", False)
        assert again.session.login.mechanism == "SCRAM-SHA-256"
        await again.ready()
        user = irc_server.state.find_user("alice")
        assert user is not None and user.account == "alice"
    finally:
        await again.conn.quit("bye")


async def test_an_account_from_before_scram_logs_in_with_plain_against_the_real_server(
    irc_server: LanchatServer,
) -> None:
    irc_server.state.accounts["alice"] = account("alice", "wonderland", scram=False)
    again = logging_in_as_alice(irc_server)
    try:
        login = await again.expect(LoggedIn, timeout_s=SCRYPT_TIMEOUT_S)
        assert login == LoggedIn("alice", "alice", False)
        assert again.session.login.mechanism == "PLAIN"
    finally:
        await again.conn.quit("bye")
