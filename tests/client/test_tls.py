"""The client's TLS and certificate pinning (lanchat.client.connection, .pins) against real
lanchat servers on 127.0.0.1 (#17).

The rogue advertiser is a second real server with its own certificate, offering the same room
under the same advertised host: the client must refuse it, with both fingerprints named, before
it sends a single line, and accept it only after an explicit TrustCertificate.
"""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from lanchat.client.events import (
    CertificateMismatch,
    CertificateUnknown,
    ConnectFailed,
    Registered,
)
from lanchat.client.pins import PinStore
from lanchat.server.app import LanchatServer, running_server
from tests.client.test_connection import Peer
from tests.support import DEFAULT_TIMEOUT_S, server_config

PIN_KEY = "lan:alice-laptop"  # whose pin: the advertised host both servers claim to be


@asynccontextmanager
async def tls_server(data_dir: Path) -> AsyncIterator[LanchatServer]:
    """A server with its own certificate (made in `data_dir`)."""
    async with running_server(server_config(data_dir)) as server:
        assert server.identity is not None
        yield server


def fp(server: LanchatServer) -> str:
    assert server.identity is not None
    return server.identity.fingerprint


def tls_peer(server: LanchatServer, pins: PinStore, advertised: str = "") -> Peer:
    return Peer(
        server.tls_port, "alice", tls=True, fingerprint=advertised, pin_key=PIN_KEY, pins=pins
    )


async def visit(server: LanchatServer, pins: PinStore) -> None:
    """Join `server`'s room as its advertisement says, and leave."""
    p = tls_peer(server, pins, advertised=fp(server))
    p.conn.start()
    await p.ready()
    await p.conn.quit()


async def refused(peer: Peer) -> None:
    """Run `peer` to its end: a refusal ends it without a retry, and nobody got in."""
    peer.conn.start()
    await peer.expect(ConnectFailed)
    assert peer.conn._task is not None
    await peer.conn._task
    assert not any(isinstance(e, Registered) for e in peer.seen)


async def test_room_whose_certificate_matches_the_advertisement_is_joined_and_pinned(
    tmp_path: Path,
) -> None:
    pins = PinStore(tmp_path / "pins.json")
    async with tls_server(tmp_path / "a") as real:
        await visit(real, pins)
    assert PinStore(tmp_path / "pins.json").get(PIN_KEY) == fp(real)
    assert stat.S_IMODE((tmp_path / "pins.json").stat().st_mode) == 0o600


async def test_rogue_server_is_refused_naming_both_fingerprints_until_trusted(
    tmp_path: Path,
) -> None:
    pins = PinStore(tmp_path / "pins.json")
    async with tls_server(tmp_path / "real") as real:
        await visit(real, pins)
    async with tls_server(tmp_path / "rogue") as rogue:
        assert fp(rogue) != fp(real)
        # The rogue copies the real room's advertisement, fingerprint included: a newcomer,
        # who has no pin yet, is refused by the advertisement...
        copied = tls_peer(rogue, PinStore(tmp_path / "newcomer.json"), advertised=fp(real))
        await refused(copied)
        mismatch = await copied.expect(CertificateMismatch)
        assert (mismatch.expected, mismatch.got, mismatch.source) == (
            fp(real), fp(rogue), "advertised",
        )  # fmt: skip
        # ...and if it advertises its own certificate, the pin from the first visit catches it.
        honest = tls_peer(rogue, pins, advertised=fp(rogue))
        await refused(honest)
        mismatch = await honest.expect(CertificateMismatch)
        assert (mismatch.expected, mismatch.got, mismatch.source) == (
            fp(real), fp(rogue), "pinned",
        )  # fmt: skip
        assert rogue.state.nicks == {}  # not even a NICK reached the rogue
        # The person says the host really made a new certificate.
        honest.conn.trust(mismatch.got)
        await honest.expect(Registered, timeout_s=DEFAULT_TIMEOUT_S)
        await honest.conn.quit()
    assert PinStore(tmp_path / "pins.json").get(PIN_KEY) == fp(rogue)


async def test_manual_connect_shows_the_unknown_fingerprint_and_pins_it_once_trusted(
    tmp_path: Path,
) -> None:
    pins = PinStore(tmp_path / "pins.json")
    async with tls_server(tmp_path / "a") as server:
        p = Peer(server.tls_port, "alice", tls=True, pins=pins)  # host:port, nothing advertised
        await refused(p)
        unknown = await p.expect(CertificateUnknown)
        assert unknown.got == fp(server)
        assert pins.get(f"127.0.0.1:{server.tls_port}") is None
        p.conn.trust(unknown.got)
        await p.ready()
        await p.conn.quit()
        # The next visit needs no question.
        again = Peer(server.tls_port, "alice", tls=True, pins=PinStore(tmp_path / "pins.json"))
        again.conn.start()
        await again.ready()
        await again.conn.quit()
        assert not any(isinstance(e, CertificateUnknown) for e in again.seen)


async def test_tls_to_a_plain_port_fails_with_a_hint_about_the_port(
    irc_server: LanchatServer, tmp_path: Path
) -> None:
    p = Peer(irc_server.port, "alice", tls=True, pins=PinStore(tmp_path / "pins.json"))
    p.conn.start()
    failed = await p.expect(ConnectFailed)
    assert "does not speak TLS" in failed.hint
