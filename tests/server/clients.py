"""Socket-level helpers for the server tests: clients that are registered and in their rooms.

Transcript helpers (no sockets) are in transcript.py; the line client itself is
tests.support.LineClient.
"""

from __future__ import annotations

from tests.support import LineClient


async def registered(
    port: int,
    nick: str,
    *rooms: str,
    caps: tuple[str, ...] = (),
    host: str = "127.0.0.1",
    source: str = "",
    tls: bool = False,
) -> LineClient:
    """A client registered as `nick` (with `caps`) that has joined `rooms`.

    Args:
        port: the server's port.
        nick: the nick to register.
        rooms: rooms to join, in order; each join is complete (366 seen) before the next.
        caps: IRCv3 capabilities to request during registration.
        host: the server's address.
        source: the local address to connect from ("127.0.0.2"); any by default.
        tls: connect over TLS (`port` is then the TLS port).

    Returns:
        The connected client; its own JOINs and NAMES replies are among what it has read.
    """
    client = await LineClient.connect(port, host, source, tls=tls)
    await client.register(nick, caps=caps)
    for room in rooms:
        client.send(f"JOIN {room}")
        await client.expect("366")  # RPL_ENDOFNAMES: the join burst is complete
    return client
