"""What the client library tells the GUI (events) and what the GUI asks of it (commands).

Layer: plain values; imports the standard library only, so the Tk side can use them without
pulling in asyncio or sockets.

Events are past-tense frozen dataclasses (`MessageReceived`), each carrying the `server_id` the
GUI chose in `Connect`, so one window can talk to several rooms on several hosts. Commands are
imperative (`Join`, `Say`). `NetworkThread.events` (lanchat.client.bridge) also carries the
room-discovery events `RoomAdded`, `RoomUpdated` and `RoomRemoved` of lanchat.discovery.browser,
re-exported by the bridge.

Times are milliseconds since the Unix epoch (`time_ms`), taken from the IRCv3 `server-time` tag
when the server sends it (https://ircv3.net/specs/extensions/server-time), else the local clock.
Room and nick names are given as the server spells them; compare them with
`lanchat.protocol.casefold`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "SHARE_CANCELLED",
    "Action",
    "AwayChanged",
    "BrowseRooms",
    "CancelShare",
    "CertificateMismatch",
    "CertificateUnknown",
    "ChangeNick",
    "ClientEvent",
    "Connect",
    "ConnectFailed",
    "Connecting",
    "ContextLoaded",
    "Disconnected",
    "Endpoint",
    "FetchThumbnail",
    "GuiCommand",
    "HistoryLoaded",
    "Join",
    "Joined",
    "Kicked",
    "LoggedIn",
    "MarkRead",
    "Member",
    "MembersChanged",
    "MessageKind",
    "MessageReceived",
    "MessageRedacted",
    "NickChanged",
    "Part",
    "Parted",
    "Quit",
    "ReadMarker",
    "Reconnect",
    "Redact",
    "RegisterAccount",
    "Registered",
    "RequestHistory",
    "Say",
    "Search",
    "SearchHit",
    "SearchResults",
    "SendRaw",
    "ServerError",
    "ServerNotice",
    "SetAway",
    "SetTopic",
    "ShareFile",
    "ShareFinished",
    "ShareProgress",
    "ShowContext",
    "ThumbnailReady",
    "TopicChanged",
    "TrustCertificate",
    "UploadTokenGranted",
    "UserQuit",
]

MessageKind = Literal["privmsg", "notice", "action"]


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Connecting:
    """A TCP connection to `host`:`port` is being opened; `attempt` counts from 1 and grows
    while reconnecting after a drop."""

    server_id: str
    host: str
    port: int
    attempt: int


@dataclass(frozen=True, slots=True)
class Registered:
    """The server accepted us: we are `nick` (maybe not the nick asked for, see 433 fallback)
    on `network` (ISUPPORT NETWORK, "" if not sent), served by `server_name`. Sent after the
    end of the MOTD, so ISUPPORT is known."""

    server_id: str
    nick: str
    network: str
    server_name: str


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection was lost or closed. If `will_retry`, a new attempt starts in
    `retry_in_s` seconds (rooms are rejoined and the gap is filled from history)."""

    server_id: str
    reason: str
    will_retry: bool
    retry_in_s: float


@dataclass(frozen=True, slots=True)
class ConnectFailed:
    """The first connection did not get us in (nobody answered, or the server turned us away
    before registration, e.g. a wrong server password); nothing more is tried until the next
    `Connect`. `reason` is what happened, `hint` plain words saying what to do."""

    server_id: str
    reason: str
    hint: str


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A PRIVMSG, NOTICE or CTCP ACTION (`kind`).

    Attributes:
        target: where it belongs: the room ("#lobby"), or for a private message the other
            person's nick (even when we sent it), so the GUI can key tabs on it.
        nick: who sent it ("" when the server sent it).
        ip: the sender's address as the server shows it (the host of nick!user@host).
        text: the message text, without the ACTION wrapper.
        time_ms: when the server received it.
        msgid: the server's message id (IRCv3 msgid tag), or None.
        own: we sent it (with echo-message this is the server's echo, the truth).
        private: a private message rather than a room message.
        highlight: our nick is mentioned (whole word, casefolded) or it is private and not own.
        history: it comes from CHATHISTORY (recent history on join or a filled gap).
    """

    server_id: str
    target: str
    nick: str
    ip: str
    text: str
    time_ms: int
    msgid: str | None
    kind: MessageKind
    own: bool
    private: bool
    highlight: bool
    history: bool


@dataclass(frozen=True, slots=True)
class Joined:
    """`nick` (from `ip`) joined `room`; `own` if it is us."""

    server_id: str
    room: str
    nick: str
    ip: str
    own: bool


@dataclass(frozen=True, slots=True)
class Parted:
    """`nick` left `room` saying `reason` ("" if none); `own` if it is us."""

    server_id: str
    room: str
    nick: str
    reason: str
    own: bool


@dataclass(frozen=True, slots=True)
class Kicked:
    """`nick` was removed from `room` by `by`, saying `reason`; `own` if we were kicked."""

    server_id: str
    room: str
    nick: str
    by: str
    reason: str
    own: bool


@dataclass(frozen=True, slots=True)
class UserQuit:
    """`nick` left the server saying `reason`; `rooms` are the rooms we shared with them."""

    server_id: str
    nick: str
    reason: str
    rooms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NickChanged:
    """`old` is now known as `new`; `own` if it is us."""

    server_id: str
    old: str
    new: str
    own: bool


@dataclass(frozen=True, slots=True)
class TopicChanged:
    """The topic of `room` is `topic` ("" = none), set by `setter` at `time_ms` (0 if unknown).
    Sent on join (RPL_TOPIC, `live` False: what the topic is) and on every TOPIC change (`live`
    True: someone changed it just now)."""

    server_id: str
    room: str
    topic: str
    setter: str
    time_ms: int
    live: bool = False


@dataclass(frozen=True, slots=True)
class Member:
    """One person in a room: `prefixes` are the status characters ("@" op, "+" voice, "@+"),
    `ip` their address ("" until known), `away` whether they are marked away."""

    nick: str
    prefixes: str
    ip: str
    away: bool


@dataclass(frozen=True, slots=True)
class MembersChanged:
    """The full member list of `room`, sorted by status then nick; sent whenever it changes."""

    server_id: str
    room: str
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class AwayChanged:
    """`nick` is now away with `message` (`away` True) or back (`away` False, message "")."""

    server_id: str
    nick: str
    away: bool
    message: str
    own: bool


@dataclass(frozen=True, slots=True)
class ServerNotice:
    """Informational text from the server (MOTD lines, server NOTICEs, unhandled numerics)."""

    server_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ServerError:
    """Something was refused: `code` is the server's numeric ("433"), a standard reply
    ("FAIL SETNAME INVALID_REALNAME"), or one of the library's own: "not-connected" (a message
    typed while the connection is down, or a command for an unknown server_id), "invalid" (a
    line break or NUL in a command), "discovery" (rooms cannot be listed; server_id is "").
    `text` says what happened; `hint` says in plain words what to do ("That nickname is taken;
    pick another"), or is "" when there is nothing to do; `subject` is the room or nick the
    refusal is about ("#lobby" for a 475), or "" when it names none."""

    server_id: str
    code: str
    text: str
    hint: str
    subject: str = ""


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """We are logged in to `account` (SASL at connection, or a RegisterAccount that worked:
    then `new` is True and the GUI keeps the password to log in next time)."""

    server_id: str
    account: str
    new: bool


@dataclass(frozen=True, slots=True)
class CertificateMismatch:
    """The server's TLS certificate is not the one expected, so nothing was sent to it and the
    connection was closed (issue #17). `expected` is the fingerprint remembered for the server
    (`source` "pinned") or advertised by the room (`source` "advertised"), `got` the one it
    presented (both SHA-256, lowercase hex). Someone may be posing as the server, or its host
    made a new certificate; only the person can tell, and TrustCertificate(got) says so."""

    server_id: str
    expected: str
    got: str
    source: Literal["pinned", "advertised"]


@dataclass(frozen=True, slots=True)
class CertificateUnknown:
    """First TLS connection to a server nothing vouches for (a manual connect): its certificate
    has fingerprint `got`. Nothing was sent; TrustCertificate(got) pins it and connects, as
    answering "yes" to SSH's first-connection question does."""

    server_id: str
    got: str


@dataclass(frozen=True, slots=True)
class HistoryLoaded:
    """A history request for `target` finished with `count` messages (sent before this, as
    MessageReceived with history=True, oldest first)."""

    server_id: str
    target: str
    count: int


@dataclass(frozen=True, slots=True)
class MessageRedacted:
    """`nick` deleted the message `msgid` of `target` (ircv3 draft/message-redaction REDACT);
    `target` is named like MessageReceived's (the room, or the other person)."""

    server_id: str
    target: str
    msgid: str
    nick: str


@dataclass(frozen=True, slots=True)
class ReadMarker:
    """Where our account stopped reading `target` (ircv3 draft/read-marker MARKREAD): the time
    of the last message read, 0 when nothing was read yet. Moved by any of its connections."""

    server_id: str
    target: str
    time_ms: int


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One message found by a search, or shown around one (oldest first in their lists)."""

    msgid: str
    time_ms: int
    nick: str
    text: str


@dataclass(frozen=True, slots=True)
class SearchResults:
    """The answer to Search: the messages of `target` that matched, oldest first."""

    server_id: str
    target: str
    hits: tuple[SearchHit, ...]


@dataclass(frozen=True, slots=True)
class ContextLoaded:
    """The answer to ShowContext: the messages of `target` around `msgid`, oldest first."""

    server_id: str
    target: str
    msgid: str
    hits: tuple[SearchHit, ...]


@dataclass(frozen=True, slots=True)
class UploadTokenGranted:
    """The server gave an upload token (NOTE FILEHOST TOKEN, issue 21); the connection's
    file sharing takes it, the window never sees it."""

    server_id: str
    token: str


@dataclass(frozen=True, slots=True)
class ShareProgress:
    """A file being shared with `target` has `sent` of `total` bytes uploaded."""

    server_id: str
    target: str
    share_id: int  # ShareFile.share_id
    name: str
    sent: int
    total: int


SHARE_CANCELLED = "cancelled"  # ShareFinished.error of a share that was cancelled


@dataclass(frozen=True, slots=True)
class ShareFinished:
    """A file share ended: its link was posted to `target` (`url`), or `error` says why not
    (SHARE_CANCELLED for a cancelled one)."""

    server_id: str
    target: str
    share_id: int
    name: str
    url: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class ThumbnailReady:
    """The preview of an image shared on the server (asked for with FetchThumbnail): PNG
    bytes of `width` x `height` pixels (lanchat.client.thumbnails.THUMBNAIL_BOX at most)."""

    server_id: str
    url: str
    png: bytes = field(repr=False)
    width: int
    height: int


ClientEvent = (
    Connecting
    | Registered
    | Disconnected
    | ConnectFailed
    | MessageReceived
    | Joined
    | Parted
    | Kicked
    | UserQuit
    | NickChanged
    | TopicChanged
    | MembersChanged
    | AwayChanged
    | ServerNotice
    | ServerError
    | HistoryLoaded
    | MessageRedacted
    | ReadMarker
    | SearchResults
    | ContextLoaded
    | LoggedIn
    | CertificateMismatch
    | CertificateUnknown
    | UploadTokenGranted
    | ShareProgress
    | ShareFinished
    | ThumbnailReady
)


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Another address of the same room: a node of a clustered room (issue 20), with its own
    port and TLS certificate, tried when the address in use does not answer or drops."""

    host: str
    port: int
    tls: bool = False  # `port` is a TLS port
    fingerprint: str = ""  # with tls: this node's advertised fingerprint (TXT fp=)
    pin_key: str = ""  # with tls: whose pin to check ("" for "host:port")


@dataclass(frozen=True, slots=True)
class Connect:
    """Connect to `host`:`port` as `nick` and join `rooms` once registered.

    `server_id` is the GUI's own name for this connection (any unique string, e.g. "host:port");
    every event about it carries it back. `keys[i]` is the key of `rooms[i]` ("" for none; may
    be shorter than `rooms`). `password` is the server password (PASS), or None. Connecting
    again with a `server_id` in use closes the old connection first.
    """

    server_id: str
    host: str
    port: int
    nick: str
    password: str | None = None
    rooms: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    account: tuple[str, str] | None = None  # (account, password): log in with SASL PLAIN
    tls: bool = False  # `port` is a TLS port (issue #17)
    fingerprint: str = ""  # with tls: the room's advertised certificate fingerprint (TXT fp=)
    pin_key: str = ""  # with tls: whose pin to check ("" for "host:port")
    # The room's other nodes (issue 20): tried in turn when `host` does not answer, and the
    # connection moves to one of them when its node goes away.
    alternates: tuple[Endpoint, ...] = ()


@dataclass(frozen=True, slots=True)
class Join:
    """Join `room`, with `key` if it needs one."""

    server_id: str
    room: str
    key: str = ""


@dataclass(frozen=True, slots=True)
class Part:
    """Leave `room`, saying `reason`."""

    server_id: str
    room: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Say:
    """Send `text` to `target` (a room or a nick) as PRIVMSG. Sent as typed: no slash-command
    parsing here ("/me" is `Action`). Several lines are one draft/multiline message when the
    server takes it and they fit its limits, else several messages."""

    server_id: str
    target: str
    text: str


@dataclass(frozen=True, slots=True)
class Action:
    """Send `text` to `target` as a CTCP ACTION ("/me waves")."""

    server_id: str
    target: str
    text: str


@dataclass(frozen=True, slots=True)
class ChangeNick:
    """Change our nick to `nick` (a refusal comes back as ServerError 432/433)."""

    server_id: str
    nick: str


@dataclass(frozen=True, slots=True)
class SetTopic:
    """Set the topic of `room` ("" clears it)."""

    server_id: str
    room: str
    topic: str


@dataclass(frozen=True, slots=True)
class SetAway:
    """Mark us away with `message`, or back when `message` is ""."""

    server_id: str
    message: str


@dataclass(frozen=True, slots=True)
class RequestHistory:
    """Ask for up to `limit` messages of `target` before the message `before_msgid`
    (None: the latest). Answers come as MessageReceived(history=True), then HistoryLoaded."""

    server_id: str
    target: str
    before_msgid: str | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class RegisterAccount:
    """Make our current nick an account with `password` (logged in to it at once: LoggedIn)."""

    server_id: str
    password: str


@dataclass(frozen=True, slots=True)
class SendRaw:
    """Send one raw IRC line as typed (e.g. "/quote WHOIS bob" without the slash command)."""

    server_id: str
    line: str


@dataclass(frozen=True, slots=True)
class Redact:
    """Delete our message `msgid` in `target` (REDACT); the server's REDACT back is
    MessageRedacted, a refusal a ServerError."""

    server_id: str
    target: str
    msgid: str


@dataclass(frozen=True, slots=True)
class MarkRead:
    """We read `target` up to the message of `time_ms` (MARKREAD, when the server keeps read
    markers; a marker only moves forward)."""

    server_id: str
    target: str
    time_ms: int


@dataclass(frozen=True, slots=True)
class Search:
    """Find the messages of `target` holding all the words of `text` (SEARCH, when the server
    offers soju.im/search): SearchResults."""

    server_id: str
    target: str
    text: str


@dataclass(frozen=True, slots=True)
class ShowContext:
    """Fetch the messages of `target` around `msgid` (CHATHISTORY AROUND): ContextLoaded."""

    server_id: str
    target: str
    msgid: str


@dataclass(frozen=True, slots=True)
class Quit:
    """Quit the server saying `reason` and stop reconnecting; ends with Disconnected
    (will_retry False)."""

    server_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Try to reconnect now instead of waiting out the backoff delay ("Retry now" button);
    does nothing while connected."""

    server_id: str


@dataclass(frozen=True, slots=True)
class TrustCertificate:
    """Trust the certificate with `fingerprint` for this server from now on (replacing the
    pin, after CertificateMismatch or CertificateUnknown) and connect again."""

    server_id: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class BrowseRooms:
    """Start (`on` True) or stop discovering rooms on the LAN (RoomAdded/Updated/Removed)."""

    on: bool


@dataclass(frozen=True, slots=True)
class ShareFile:
    """Upload the file at `path` to the server's FILEHOST and post its link to `target`
    (ShareProgress, then ShareFinished)."""

    server_id: str
    target: str
    path: str
    share_id: int  # chosen by the window, to match progress and Cancel


@dataclass(frozen=True, slots=True)
class CancelShare:
    """Stop the upload of share `share_id` (ShareFinished with error "cancelled")."""

    server_id: str
    share_id: int


@dataclass(frozen=True, slots=True)
class FetchThumbnail:
    """Fetch a preview of the image at `url` (ThumbnailReady), if it is on this server's file
    host and is an image small enough; nothing comes back otherwise."""

    server_id: str
    url: str


GuiCommand = (
    Connect
    | Join
    | Part
    | Say
    | Action
    | ChangeNick
    | SetTopic
    | SetAway
    | RequestHistory
    | RegisterAccount
    | SendRaw
    | Redact
    | MarkRead
    | Search
    | ShowContext
    | Quit
    | Reconnect
    | TrustCertificate
    | BrowseRooms
    | ShareFile
    | CancelShare
    | FetchThumbnail
)
