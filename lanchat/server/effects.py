"""What the pure server core asks the asyncio edge to do.

Layer: pure server core; may import protocol, config, errors, values, lanchat.store.records and
lanchat.server.model.

Handlers return a list of effects; the edge (lanchat.server.hub) applies them in
order. This is the server's equivalent of h11's bytes-to-send: the core never writes a socket.

Ordering and durability contract (issue #2, "A message is durable before it is shown"):
the edge applies effects in order, but every `Send` that comes after a `Persist` (in the same
list or in any later one) is held back until that `Persist` has been committed to SQLite.
The edge batches all Persists of one event-loop pass into one transaction (group commit).

Messages (PRIVMSG, NOTICE, TAGMSG) go further: "nothing accepted is ever lost" means a message
that could not be stored must not be shown either, or some people would see a line that is
missing from everyone's history. So the core hands the edge each command's messages as one
`Publish`: the records and every Send that shows them (relays and the sender's own replies).
If the commit fails, the edge writes none of those Sends and asks the core for the sender's
error instead (ServerState.undelivered). Everything else held behind that commit (joins,
modes, room records) still goes out: a room change that was not stored is still true now.
"""

from __future__ import annotations

from dataclasses import field

from lanchat.protocol.message import Message
from lanchat.server.model import Group
from lanchat.store.records import HistoryQuery, HistoryRecord, Stored
from lanchat.values import value

__all__ = [
    "Disconnect",
    "Effect",
    "FilesRedacted",
    "Password",
    "Persist",
    "Publish",
    "Query",
    "RoomChanged",
    "Send",
    "Stored",
]


@value
class Send:
    """Write `data` (one or more complete lines) to each connection in `conn_ids` but `skip`.

    The bytes are serialised once; the edge writes the same object to every recipient. A relay
    names its fan-out `group` (a room's: Room.groups, the same Group for every message until
    someone joins or leaves) and skips its sender, who gets `instead` (its own copy and
    replies, or nothing) in the same place. So the edge sees that consecutive messages go to
    one group and joins them before it touches any member (lanchat.server.delivery, issue #4).
    """

    conn_ids: tuple[int, ...]  # `group.conn_ids` when there is a group
    data: bytes
    skip: int = 0  # a connection in `conn_ids` that gets `instead` rather than `data`; 0: none
    instead: bytes = b""
    # The fan-out group `conn_ids` are; None: a one-off list (replies, a private line). Not
    # part of the value: two Sends of the same bytes to the same connections are equal.
    group: Group | None = field(default=None, compare=False, repr=False)

    @property
    def recipients(self) -> tuple[int, ...]:
        """The connections that get `data`: `conn_ids` without `skip`."""
        if not self.skip:
            return self.conn_ids
        return tuple(conn_id for conn_id in self.conn_ids if conn_id != self.skip)


@value
class Disconnect:
    """Close `conn_id` after flushing what was queued for it; `reason` is for the log."""

    conn_id: int
    reason: str


@value
class Persist:
    """Store a message, a room change or a redaction durably before any later Send goes out.

    A cluster node (lanchat.cluster) also stores accounts and its StreamPosition so.
    """

    record: Stored


@value
class Publish:
    """A command's messages: store `records`, then write `shown`; if storing fails, write none.

    Built by Context.finish() (never by hand); the edge commits the records with the loop
    pass's other Persists. The Sends hold the bytes already serialised once per tag form, so a
    commit that succeeds costs no more than Persist + Sends did (issue #4).
    """

    conn_id: int  # the sender
    records: tuple[HistoryRecord, ...]  # the messages, in the order they were sent
    shown: tuple[Send, ...]  # the relays to others, then the sender's replies (with its echoes)
    label: str | None = None  # labeled-response label of the command, for the error reply
    replies: tuple[Message, ...] = ()  # the sender's lines other than echoes (e.g. 401, 301)


@value
class Query:
    """Run a history query off the loop; hand the rows to ServerState.history_result()."""

    conn_id: int
    query: HistoryQuery
    label: str | None = None  # labeled-response label to echo, if any
    batch_target: str = ""  # the target as the client wrote it, for the batch header


@value
class Password:
    """Check or hash a password off the loop (scrypt); hand the outcome to the core.

    With `stored` set, the edge checks `password` against that hash and calls
    ServerState.password_checked(effect, matched); purpose "scram": `password` is a SCRAM
    client-final-message and `stored` its exchange (lanchat.scram.server_final). Without
    `stored` (`purpose` "register"), the edge hashes `password`, stores the account
    (`AccountRecord(key, name, hash, created_s)`) and calls
    ServerState.account_stored(effect, record or None, error). Issue 17: scrypt costs tens of
    milliseconds by design, so it never runs on the loop thread.
    """

    conn_id: int
    purpose: str  # "register", "sasl", "scram" or "oper": which handler takes the outcome
    name: str  # the account or operator name as given
    password: str = field(repr=False)
    stored: str = field(default="", repr=False)  # the hash to check against; "": hash anew
    key: str = ""  # the casefolded account name ("register", "sasl")
    created_s: int = 0  # "register": the new account's creation time
    label: str | None = None  # labeled-response label of the command


@value
class RoomChanged:
    """A room's public face changed (created, users, topic, key, +s, closed): re-advertise it."""

    key: str  # casefolded room name


@value
class FilesRedacted:
    """A redacted message may link shared files: the edge deletes those its sender uploaded
    (issue 21: "a redacted message's file is deleted with it")."""

    text: str  # the message's text; its links name the files (lanchat.server.uploads)
    uploaders: tuple[str, ...]  # whose files may go ("address:<ip>", "account:<key>")


Effect = Send | Disconnect | Persist | Publish | Query | Password | RoomChanged | FilesRedacted
