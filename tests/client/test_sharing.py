"""Sharing a file from a client connection: token, upload, link, progress, Cancel (issue 21).

Real ClientConnections against an in-process server with its web port; the link is checked
the way an irssi user would get it: an ACTION in the room, whose URL downloads the file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from lanchat.client.events import (
    CancelShare,
    MessageReceived,
    ShareFile,
    ShareFinished,
    ShareProgress,
)
from tests.client.test_connection import Peer, peer
from tests.web.filehost import file_server


@contextlib.asynccontextmanager
async def _alice_and_bob(tmp_path: Path) -> AsyncIterator[tuple[Peer, Peer]]:
    """A server with files on, and alice and bob registered in #lobby."""
    async with (
        file_server(tmp_path / "data") as server,
        peer(server.port, "alice") as alice,
        peer(server.port, "bob") as bob,
    ):
        await alice.ready()
        await bob.ready()
        yield alice, bob


async def _fetch(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.read()


async def test_a_shared_file_is_posted_as_a_link_everyone_can_download(tmp_path: Path) -> None:
    payload = tmp_path / "slides.pdf"
    payload.write_bytes(os.urandom(3_000_000))
    async with _alice_and_bob(tmp_path) as (alice, bob):
        alice.conn.handle(ShareFile("alice", "#lobby", str(payload), 1))
        done = await alice.expect(ShareFinished)
        assert done.error == "" and done.name == "slides.pdf"
        progress = [e for e in alice.seen if isinstance(e, ShareProgress)]
        assert progress[-1].sent == progress[-1].total == 3_000_000
        seen = await bob.expect(MessageReceived, lambda e: e.kind == "action")
        assert seen.nick == "alice"
        assert seen.text == f"shared slides.pdf (3.0 MB): {done.url}"
        assert await _fetch(done.url) == payload.read_bytes()


async def test_cancel_stops_the_share_and_posts_nothing(tmp_path: Path) -> None:
    payload = tmp_path / "big.bin"
    payload.write_bytes(os.urandom(64 << 20))
    async with file_server(tmp_path / "data") as server, peer(server.port, "alice") as alice:
        await alice.ready()
        alice.conn.handle(ShareFile("alice", "#lobby", str(payload), 7))
        await alice.expect(ShareProgress)
        alice.conn.handle(CancelShare("alice", 7))
        done = await alice.expect(ShareFinished)
        assert (done.share_id, done.error, done.url) == (7, "cancelled", "")
        assert not any(isinstance(e, MessageReceived) and e.kind == "action" for e in alice.seen)


async def test_a_server_without_files_says_so(tmp_path: Path) -> None:
    payload = tmp_path / "a.txt"
    payload.write_bytes(b"x")
    async with (
        file_server(tmp_path / "data", enabled=False) as server,
        peer(server.port, "alice") as alice,
    ):
        await alice.ready()
        alice.conn.handle(ShareFile("alice", "#lobby", str(payload), 1))
        done = await alice.expect(ShareFinished)
        assert done.error == "This server does not take files"


async def test_a_line_break_in_a_file_name_never_reaches_the_irc_line(tmp_path: Path) -> None:
    payload = tmp_path / "two\nlines.txt"
    payload.write_bytes(b"x")
    async with _alice_and_bob(tmp_path) as (alice, bob):
        alice.conn.handle(ShareFile("alice", "#lobby", str(payload), 1))
        done = await alice.expect(ShareFinished)
        assert done.error == ""
        seen = await bob.expect(MessageReceived, lambda e: e.kind == "action")
        assert seen.text == f"shared twolines.txt (1 bytes): {done.url}"  # as the server keeps it
