"""The entries of a cluster's log: what a node appends to the Redis stream, and reads back.

Layer: pure data; the standard library only (no redis here: the encoding is tested by plain
calls). docs/cluster.md has the design.

An entry is a Redis stream entry: its id ("<ms>-<seq>", given by Redis) orders it and dates it,
its fields say what happened::

    k  kind: c connect, l line, L over-long line, d disconnected, t tick, h hello,
       g node gone, p password outcome
    n  the node that appended it
    c  the connection it is about (conn ids are unique in the cluster: node << 32 | local id)
    v  the line, the IP, the QUIT reason, the hello's rooms and settings (hello_data), the gone
       node, the password detail
    f  the hello's room key, or the password outcome ("1" ok)
    s  a line whose secret was replaced (lanchat.cluster.redact): the origin's number for the
       line as sent, which only the origin kept
    q  the node's own sequence number of the entry (1, 2, ...; none for the hello): an entry
       appended twice (its XADD answer was lost, and the append was repeated) is applied once,
       the first time (docs/cluster.md, "An XADD whose answer was lost")
    r  a LINE that holds the lines of one SASL response sent in chunks (AUTHENTICATE, 400
       bytes each), one a line: "1"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lanchat.values import value

__all__ = [
    "CONNECT",
    "DISCONNECTED",
    "GONE",
    "HELLO",
    "LINE",
    "NODE_SHIFT",
    "PASSWORD",
    "TICK",
    "TOO_LONG",
    "Event",
    "entry_time",
    "hello_data",
    "newer",
    "node_of",
    "password_outcome",
    "read_hello",
    "read_password_outcome",
]

CONNECT = "c"  # a TCP or WebSocket connection was accepted: v = its IP
LINE = "l"  # one line the connection sent: v = the line, without CRLF
TOO_LONG = "L"  # one line over the limits (answered 417)
DISCONNECTED = "d"  # the connection is gone: v = the QUIT reason
TICK = "t"  # nothing else happened for a second: time goes on (PINGs, timeouts)
HELLO = "h"  # a node started: v = its rooms and settings (hello_data); f = the rooms' key
GONE = "g"  # node v is gone: its users quit with reason f
PASSWORD = "p"  # the origin checked or hashed a password: f "1" ok, v password_outcome()
_KINDS = frozenset({CONNECT, LINE, TOO_LONG, DISCONNECTED, TICK, HELLO, GONE, PASSWORD})
NODE_SHIFT = 32  # conn_id = node << NODE_SHIFT | the node's own connection number


@value
class Event:
    """One entry of the log, without its id."""

    kind: str  # one of the kinds above
    node: int  # the node that appended it
    conn_id: int = 0  # the connection it is about, 0 for none
    data: bytes = b""  # see the kinds above
    flag: str = ""
    secret: int = 0  # LINE: redacted, and the origin keeps the line as sent under this number
    seq: int = 0  # the node's number for its entries, increasing in the log; 0: none
    chunks: bool = False  # LINE: `data` is the lines of one SASL response, one a line

    def fields(self) -> dict[str, bytes]:
        """The stream entry's fields (XADD)."""
        out = {"k": self.kind.encode(), "n": str(self.node).encode()}
        if self.conn_id:
            out["c"] = str(self.conn_id).encode()
        if self.data:
            out["v"] = self.data
        if self.flag:
            out["f"] = self.flag.encode()
        if self.secret:
            out["s"] = str(self.secret).encode()
        if self.seq:
            out["q"] = str(self.seq).encode()
        if self.chunks:
            out["r"] = b"1"
        return out

    @classmethod
    def from_fields(cls, fields: Mapping[bytes, bytes]) -> Event:
        """The event of a stream entry's fields as XREAD returns them.

        Raises:
            ValueError: not an entry lanchat wrote (unknown kind, missing node).
        """
        kind = fields.get(b"k", b"").decode()
        if kind not in _KINDS:
            raise ValueError(f"unknown cluster log entry kind {kind!r}")
        return cls(
            kind=kind,
            node=int(fields[b"n"]),
            conn_id=int(fields.get(b"c", b"0")),
            data=fields.get(b"v", b""),
            flag=fields.get(b"f", b"").decode(),
            secret=int(fields.get(b"s", b"0")),
            seq=int(fields.get(b"q", b"0")),
            chunks=fields.get(b"r") == b"1",
        )


def node_of(conn_id: int) -> int:
    """The node a cluster-wide connection id belongs to."""
    return conn_id >> NODE_SHIFT


def entry_time(entry_id: str) -> tuple[int, int]:
    """A stream id "<ms>-<seq>" as (Unix milliseconds, sequence number within that ms)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def newer(entry_id: str, than: str | None) -> bool:
    """Whether stream id `entry_id` comes after `than` (None: before everything)."""
    return than is None or entry_time(entry_id) > entry_time(than)


def password_outcome(detail: str, scram: str) -> bytes:
    """A PASSWORD entry's value: the detail (a new account's scrypt hash, or why it failed)
    and the new account's SCRAM-SHA-256 keys, on two lines (neither holds a line break)."""
    return f"{detail}\n{scram}".encode()


def read_password_outcome(data: bytes) -> tuple[str, str]:
    """(detail, scram keys) of a PASSWORD entry's value (password_outcome)."""
    detail, _, scram = data.decode().partition("\n")
    return detail, scram


def hello_data(rooms: Sequence[str], settings: Mapping[str, str]) -> bytes:
    """A HELLO entry's value: the node's configured rooms, one per line, then an empty line and
    the digest of each setting the nodes must share (lanchat.cluster.settings), as part=digest.
    A room name is never empty, so the empty line cannot be a room."""
    digests = (f"{part}={digest}" for part, digest in settings.items())
    return ("\n".join(rooms) + "\n\n" + "\n".join(digests)).encode()


def read_hello(data: bytes) -> tuple[list[str], dict[str, str]]:
    """(rooms, settings digests) of a HELLO entry's value (hello_data); a hello of a lanchat
    that carried no settings gives {}."""
    rooms, _, settings = data.decode().partition("\n\n")
    pairs = (line.partition("=") for line in settings.split("\n") if line)
    return [name for name in rooms.split("\n") if name], {part: digest for part, _, digest in pairs}
