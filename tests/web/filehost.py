"""Helpers for the file-sharing tests: an uploader's IRC connection, curl, a real PNG."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lanchat.server.app import LanchatServer, running_server
from tests.support import DEFAULT_TIMEOUT_S, LineClient, server_config


@dataclass
class Uploader:
    """A registered IRC connection with what FILEHOST gives it."""

    client: LineClient
    url: str  # ISUPPORT draft/FILEHOST
    token: str  # NOTE FILEHOST TOKEN


async def uploader(
    port: int,
    nick: str = "alice",
    host: str = "127.0.0.1",
    source: str = "",
    caps: tuple[str, ...] = (),
) -> Uploader:
    """Connect (from address `source`), register (with `caps`), read draft/FILEHOST from
    ISUPPORT and ask FILEHOST for a token."""
    client = await LineClient.connect(port, host, source)
    await client.register(nick, caps=caps)
    tokens = [p for m in client.seen if m.command == "005" for p in m.params]
    [url] = [t.split("=", 1)[1] for t in tokens if t.startswith("draft/FILEHOST=")]
    assert f"soju.im/FILEHOST={url}" in tokens
    client.send("FILEHOST")
    note = await client.expect("NOTE", lambda m: m.params[:2] == ("FILEHOST", "TOKEN"))
    return Uploader(client, url, note.params[2])


@contextlib.asynccontextmanager
async def file_server(data_dir: Path, **files: Any) -> AsyncIterator[LanchatServer]:
    """An in-process server on 127.0.0.1 with the web port and [files] settings `files`."""
    config = server_config(data_dir, web={"enabled": True}, files=files)
    async with running_server(config) as server:
        yield server


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


async def curl(*args: str, timeout_s: float = 4 * DEFAULT_TIMEOUT_S) -> Reply:
    """Run `curl -s -i ARGS...`; the last response's status, headers and body."""
    proc = await asyncio.create_subprocess_exec(
        "curl", "-s", "-i", "-H", "Expect:", *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    return parse_reply(out)


def parse_reply(out: bytes) -> Reply:
    """The last HTTP response in curl -i output (skipping 100 Continue)."""
    head, _, body = out.partition(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 100"):
        head, _, body = body.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/"), out[:200]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(int(lines[0].split()[1]), headers, body)


def upload_args(up: Uploader, path: Path, name: str, kind: str) -> list[str]:
    """curl arguments of a draft/FILEHOST upload of `path` as `name` of type `kind`."""
    return [
        "--data-binary",
        f"@{path}",
        "-H",
        f"Authorization: Bearer {up.token}",
        "-H",
        f"Content-Type: {kind}",
        "-H",
        f'Content-Disposition: attachment; filename="{name}"',
        up.url,
    ]


def png(width: int, height: int) -> bytes:
    """A valid PNG of one grey colour (the page's thumbnail must decode it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
