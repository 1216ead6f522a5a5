"""What the server asks the store to keep: plain values shared by lanchat.server and lanchat.store.

Layer: pure data; the standard library and lanchat.values only (no sqlite3 here, so the pure
server core may import it).
"""

from __future__ import annotations

from dataclasses import field

from lanchat.values import value

__all__ = [
    "AccountRecord",
    "HistoryQuery",
    "HistoryRecord",
    "Redaction",
    "RoomRecord",
    "Stored",
    "StreamPosition",
    "account_pair_key",
]


@value
class HistoryRecord:
    """One PRIVMSG / NOTICE / TAGMSG as it was relayed.

    `target_key` is the casefolded room name ("#lobby") for room messages; for private
    messages it is the conversation key "nickA nickB" (both casefolded, sorted). Private
    messages are kept under that key but never given back (lanchat issue 13: a nick is not a
    person, so whoever takes a nick must not read its conversations). When accounts exist
    (issue 17), a conversation between two accounts gets a key of its own form, which no
    nick pair can spell (a nick never starts with '~': "~accountA ~accountB", made by
    `account_pair_key`), and only those are served, to those two accounts; the rows under
    nick keys stay unreadable.
    """

    msgid: str  # ircv3 msgid, unique
    time_ms: int  # server-time, Unix milliseconds
    command: str  # PRIVMSG, NOTICE or TAGMSG
    source: str  # nick!user@ip of the sender
    target: str  # the target as the sender wrote it (room name or nick)
    target_key: str  # casefolded room name, or the private conversation key
    text: str  # the last parameter ("" for TAGMSG)
    tags: dict[str, str] = field(default_factory=dict, hash=False)  # client-only (+) tags


@value
class RoomRecord:
    """The part of a room that survives a restart."""

    key: str  # casefolded name
    name: str  # name as created
    created_s: int  # Unix seconds
    topic: str = ""
    topic_setter: str = ""
    topic_time_s: int = 0
    modes: str = ""  # simple flag modes, e.g. "nt"
    password: str = ""  # +k key, "" when none
    limit: int = 0  # +l, 0 when none
    bans: tuple[str, ...] = ()  # +b masks
    deleted: bool = False  # True: forget this room and seal its history (HistoryDB.append)
    excepts: tuple[str, ...] = ()  # +e masks: let in and heard despite a ban (issue 18)
    invex: tuple[str, ...] = ()  # +I masks: let in despite +i (issue 18)
    # The key this room had before RENAME (draft/channel-rename): the store moves the old
    # row and the room's history to `key`. "" for every other change.
    renamed_from: str = ""

    @property
    def sealed_key(self) -> str:
        """The target_key the history of this room is moved to when it is forgotten.

        No query can name it: a room key holds no space and a private one starts with no '#'.
        The creation time only tells apart, for someone reading the file, what was sealed when.
        """
        return f"{self.key} {self.created_s}"


@value
class StreamPosition:
    """How far a cluster node has applied its cluster's log (issue 20, docs/cluster.md).

    Stored in the same transaction as the records of the entries up to it, so a node that
    restarts writes each entry after it once, and none before it again.
    """

    cluster_id: str  # the cluster's random id (a node's data directory may have known others)
    entry_id: str  # the Redis stream id of the last entry applied, "1733345000123-0"


@value
class AccountRecord:
    """A registered account (issue 17): its name and its password hash, never the password.

    Stored with a plain INSERT: registering a name that is already stored fails the whole
    transaction, so an account is either stored whole, with a hash that can be checked, or
    not at all (lanchat.store.db).
    """

    key: str  # casefolded name (the nick it was registered with)
    name: str  # as registered
    password_hash: str = field(repr=False)  # lanchat.passwords form: "scrypt$ln=..,r=..,p=..$.."
    created_s: int = 0  # Unix seconds
    # SCRAM-SHA-256 keys (lanchat.scram form: "scram-sha-256$i=..$salt$StoredKey$ServerKey");
    # "" for accounts registered before lanchat had them: they log in with PLAIN only.
    scram: str = field(default="", repr=False)


@value
class Redaction:
    """A message taken out of history for everyone (ircv3 draft/message-redaction, REDACT).

    The row is deleted, and with it its words in the search index: a redacted message is
    read back by no CHATHISTORY and found by no SEARCH ("exclude it entirely", the spec's
    first choice for chathistory).
    """

    msgid: str  # the message's msgid
    target_key: str  # its conversation: a msgid of another conversation deletes nothing


@value
class HistoryQuery:
    """One CHATHISTORY request (https://ircv3.net/specs/extensions/chathistory).

    `subcommand` is LATEST, BEFORE, AFTER, AROUND or BETWEEN. Each bound is either a msgid
    ("msgid=...") or a time ("timestamp=..." already converted to Unix milliseconds), or "*"
    for LATEST without a bound. TARGETS uses `start`/`end` as timestamps and
    `target_keys` for the conversations this client may see.

    SEARCH (soju.im/search, lanchat.store.search) looks in `target_keys` for messages with
    every word of `text` (any word when "" ), sent by nick `sender` ("" for anyone), at or
    after `start` and at or before `end` (Unix ms, None for no bound). MSGID finds the one
    message `start` of `target_key` (REDACT checks who sent it).
    """

    subcommand: str
    target_key: str = ""
    start: str | int | None = None  # msgid string, Unix ms, or None ("*")
    end: str | int | None = None  # BETWEEN only
    limit: int = 100
    target_keys: tuple[str, ...] = ()  # TARGETS and SEARCH
    text: str = ""  # SEARCH: the words to find
    sender: str = ""  # SEARCH: the sender's nick, "" for anyone


def account_pair_key(a: str, b: str) -> str:
    """The target_key of the private conversation of two accounts: "~a ~b", sorted.

    Args:
        a: one casefolded account name.
        b: the other (the same for notes to oneself).
    """
    return " ".join(sorted((f"~{a}", f"~{b}")))


# What the store keeps, one record at a time (StoreWriter.persist, the server's Persist).
Stored = HistoryRecord | RoomRecord | AccountRecord | Redaction | StreamPosition
