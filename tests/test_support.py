"""The test helpers themselves: a helper that cannot fail hides the bugs it is meant to find."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tests.support import LineClient


@asynccontextmanager
async def _peer(close_after_greeting: bool) -> AsyncIterator[int]:
    """A TCP peer on 127.0.0.1 that greets and then closes, or greets and stays open."""
    writers: list[asyncio.StreamWriter] = []

    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        writer.write(b":peer NOTICE * :hello\r\n")
        await writer.drain()
        if close_after_greeting:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for w in writers:
            w.close()
        server.close()
        await server.wait_closed()


async def test_expect_closed_returns_what_came_before_the_close() -> None:
    async with _peer(close_after_greeting=True) as port:
        client = await LineClient.connect(port)
        got = await client.expect_closed(timeout_s=2.0)
        assert [m.verb for m in got] == ["NOTICE"]
        await client.close()


async def test_expect_closed_fails_on_a_connection_that_stays_open() -> None:
    async with _peer(close_after_greeting=False) as port:
        client = await LineClient.connect(port)
        with pytest.raises(AssertionError, match="still open"):
            await client.expect_closed(timeout_s=0.3)
        await client.close()
