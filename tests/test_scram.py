"""SCRAM-SHA-256 (lanchat.scram) against RFC 7677's test vector, and what each side refuses."""

from __future__ import annotations

import base64

import pytest

from lanchat.scram import (
    ScramClient,
    ScramError,
    ServerExchange,
    client_first,
    parse_credentials,
    saslprep,
    scram_credentials,
)

# RFC 7677, section 3: user "user", password "pencil".
CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
CLIENT_FIRST = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_FIRST = (
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
CLIENT_FINAL = (
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def rfc_exchange() -> ServerExchange:
    stored = parse_credentials(scram_credentials("pencil", 4096, SALT))
    assert stored is not None
    header, user, bare = client_first(CLIENT_FIRST)
    assert (header, user, bare) == ("n,,", "user", "n=user,r=rOprNGfwEbeRWgbNEkqO")
    return ServerExchange(header, bare, stored, server_nonce=SERVER_NONCE)


def test_the_client_makes_the_rfc_7677_messages() -> None:
    client = ScramClient("user", "pencil", nonce=CLIENT_NONCE)
    assert client.first() == CLIENT_FIRST
    assert client.final(SERVER_FIRST) == CLIENT_FINAL
    assert client.verify(SERVER_FINAL)
    assert not client.verify("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")


def test_the_server_answers_the_rfc_7677_messages() -> None:
    exchange = rfc_exchange()
    assert exchange.server_first == SERVER_FIRST
    assert exchange.final(CLIENT_FINAL) == SERVER_FINAL


def test_the_server_refuses_a_wrong_proof_nonce_or_binding() -> None:
    wrong_password = ScramClient("user", "pencil!", nonce=CLIENT_NONCE).final(SERVER_FIRST)
    for final in (
        wrong_password,
        CLIENT_FINAL.replace("rOprNG", "xOprNG"),  # another nonce
        CLIENT_FINAL.replace("c=biws", "c=eSws"),  # "y,,": not what the first message said
        CLIENT_FINAL.rpartition(",")[0],  # no proof
        CLIENT_FINAL[:-8] + "AAAAAAA=",  # a proof of the wrong length
    ):
        with pytest.raises(ScramError):
            rfc_exchange().final(final)


@pytest.mark.parametrize(
    "message",
    [
        "p=tls-unique,,n=user,r=abc",  # channel binding: not offered
        "n,,m=ext,n=user,r=abc",  # a mandatory extension
        "n,a=other,n=user,r=abc",  # acting as someone else
        "n,,n=,r=abc",
        "n,,n=us=er,r=abc",  # "=" not escaped
        "n,,n=user,r=a\x01b",  # a control in the nonce
        "n,,r=abc,n=user",
        "n,,n=user",
    ],
)
def test_malformed_or_unsupported_client_first_messages_are_refused(message: str) -> None:
    with pytest.raises(ScramError):
        client_first(message)


def test_names_are_escaped_and_an_authzid_equal_to_the_user_is_taken() -> None:
    assert client_first("n,a=a=2Cb,n=a=2Cb,r=xyz") == ("n,a=a=2Cb,", "a,b", "n=a=2Cb,r=xyz")
    assert ScramClient("a=b,c", "pw", nonce="n").first() == "n,,n=a=3Db=2Cc,r=n"


def test_saslprep_maps_spaces_and_nfkc_and_refuses_controls() -> None:
    assert saslprep("I\u00adX") == "IX"  # soft hyphen: mapped to nothing (RFC 4013 examples)
    assert saslprep("\u2168") == "IX"  # NFKC
    assert saslprep("a\u00a0b") == "a b"  # non-ASCII space
    assert saslprep("a\x07") is None
    assert scram_credentials("bell\x07") == ""  # no keys: PLAIN only


def test_stored_keys_round_trip_and_unreadable_ones_are_none() -> None:
    stored = scram_credentials("correct horse", 4096)
    keys = parse_credentials(stored)
    assert keys is not None and keys.iterations == 4096 and len(keys.salt) == 16
    for bad in ("", "scram-sha-256$i=0$AA==$AA==$AA==", stored.replace("i=4096", "i=x"), "x$y"):
        assert parse_credentials(bad) is None


def test_the_client_refuses_a_server_nonce_that_does_not_extend_its_own() -> None:
    client = ScramClient("user", "pencil", nonce=CLIENT_NONCE)
    with pytest.raises(ScramError):
        client.final(SERVER_FIRST.replace("rOprNG", "zOprNG"))
    with pytest.raises(ScramError):
        client.final(f"r={CLIENT_NONCE}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999")
