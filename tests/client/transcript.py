"""Helpers for transcript tests of the sans-I/O client session: server lines in, events and
client lines out (ircstates' test shape). No sockets.
"""

from __future__ import annotations

from typing import TypeVar

from lanchat.client.events import ClientEvent
from lanchat.client.session import ClientSession
from lanchat.protocol import parse

T = TypeVar("T")
NOW_S = 1_700_000_000.0
ALICE = "alice!alice@192.168.1.10"
BOB = "bob!bob@192.168.1.20"
CAROL = "carol!carol@192.168.1.30"


def feed(session: ClientSession, *lines: str) -> list[ClientEvent]:
    """Feed server lines; return all the events they produced."""
    events: list[ClientEvent] = []
    for line in lines:
        events.extend(session.feed(parse(line)))
    return events


def sent(session: ClientSession) -> list[str]:
    """The lines the session queued since the last call."""
    return [m.to_line() for m in session.data_to_send()]


def of_type(events: list[ClientEvent], kind: type[T]) -> list[T]:
    """The events of one type, in order."""
    return [e for e in events if isinstance(e, kind)]


def registered(
    nick: str = "alice",
    caps: str = "message-tags server-time echo-message batch multi-prefix userhost-in-names "
    "away-notify draft/chathistory",
) -> ClientSession:
    """A session that went through CAP negotiation and registration."""
    s = ClientSession(nick, server_id="lan", clock=lambda: NOW_S)
    s.start()
    sent(s)
    feed(s, f":srv CAP * LS :{caps}")
    sent(s)
    feed(
        s,
        f":srv CAP * ACK :{caps}",
        f":srv 001 {nick} :Welcome",
        f":srv 005 {nick} NETWORK=LanNet PREFIX=(ov)@+ CHANMODES=b,k,l,imnst :are supported",
        f":srv 376 {nick} :End of MOTD",
    )
    sent(s)
    return s


def joined(room: str = "#lobby", names: str = "@alice!alice@192.168.1.10") -> ClientSession:
    """A registered session that joined `room`, whose NAMES reply listed `names`."""
    s = registered()
    feed(
        s,
        f":{ALICE} JOIN {room}",
        f":srv 353 alice = {room} :{names}",
        f":srv 366 alice {room} :End of NAMES",
    )
    sent(s)
    return s


def register_again(session: ClientSession, caps: str = "batch draft/chathistory") -> None:
    """The connection dropped: start a new one and register with `caps` (lines stay queued)."""
    session.start()
    feed(session, f":srv CAP * LS :{caps}", f":srv CAP * ACK :{caps}")
    feed(session, f":srv 001 {session.wanted_nick} :hi", f":srv 376 {session.wanted_nick} :End")


def history_batch(ref: str, room: str, msgs: list[tuple[str, str]]) -> list[str]:
    """The lines of a chathistory batch from bob in `room`: (msgid, text) pairs, a second apart."""
    lines = [f":srv BATCH +{ref} chathistory {room}"]
    for i, (msgid, text) in enumerate(msgs):
        lines.append(
            f"@batch={ref};msgid={msgid};time=2023-11-14T22:13:{i:02d}.000Z "
            f":{BOB} PRIVMSG {room} :{text}"
        )
    lines.append(f":srv BATCH -{ref}")
    return lines
