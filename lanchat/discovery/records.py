"""A room advertisement as DNS-SD data: `RoomAd` <-> (instance name, TXT record).

Layer: pure; imports the standard library and lanchat.protocol only (no zeroconf, no sockets),
so every naming and TXT rule is tested with plain function calls.

Spec: DNS-SD, RFC 6763 https://www.rfc-editor.org/rfc/rfc6763 -- section 4.1.1 (instance
names are any UTF-8 text up to 63 bytes), section 6 (TXT: "key=value" strings of at most 255
bytes, keys of at most 9 characters, unknown keys ignored, version key "v" in section 6.7).

Instance names are `<room> on <host>`, e.g. `#lobby on alice-laptop`: readable in any
DNS-SD browser (avahi-browse, dns-sd -B) and unique per host. When two hosts share a name,
the advertiser's probe renames the second `#lobby on alice-laptop-2` (RFC 6762 section 9),
so names leave `RENAME_RESERVE_BYTES` free for that suffix.

TXT keys of protocol version "1":

    v      "1"   protocol/TXT version; a browser lists unknown versions too (RFC 6763 6.7)
    room   the room name, e.g. "#lobby" (the instance name may be truncated, this is exact)
    topic  the topic, truncated at a character boundary to fit 255 bytes
    users  number of users in the room, decimal
    key    "1" if joining needs a key (+k), else "0"
    host   readable host label, e.g. the machine's hostname
    web    HTTP port of the server's browser client (issue 16), decimal; absent when it has none
    tls    the TLS port, decimal (only when the server listens for TLS, issue #17)
    fp     SHA-256 of the server's DER certificate, 64 lowercase hex characters (with tls);
           clients compare it with the certificate they get (67 bytes: far under 255)
    cluster  the random id of the cluster of servers sharing the room (issue 20), at most 64
           letters, digits, "-" or "_"; absent on a server of its own. The same room name
           with the same cluster id on several hosts is one room with several addresses
           (lanchat.discovery.clusters); without it, same-named rooms stay apart

Parsing never raises: a missing or garbled value falls back to a default, because one broken
advertiser on the LAN must not hide the other rooms. Anyone on the LAN can advertise anything
(issue 13, item 11), so every value is checked before it reaches a JOIN line, a window or a
terminal: a room name that is not a valid room (CR, LF, space, comma, no leading `#`, any
control character) drops the whole advertisement; control characters and bidirectional
overrides are removed from the topic, host and version; users is a plain decimal number.
"""

from __future__ import annotations

import hashlib
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from lanchat.protocol.casemap import casefold, is_valid_channel

__all__ = [
    "CLUSTER_ID_MAX_CHARS",
    "INSTANCE_MAX_BYTES",
    "PROTOCOL_VERSION",
    "RENAME_RESERVE_BYTES",
    "SERVICE_TYPE",
    "TXT_VALUE_MAX_BYTES",
    "RoomAd",
    "cluster_id",
    "fingerprint",
    "fingerprint_of",
    "from_txt",
    "instance_name",
    "printable",
    "room_key",
    "to_txt",
    "truncate_utf8",
]

SERVICE_TYPE = "_lanchat._tcp.local."
PROTOCOL_VERSION = "1"
INSTANCE_MAX_BYTES = 63  # RFC 6763 4.1.1 / RFC 1035 label limit
RENAME_RESERVE_BYTES = 4  # room for the "-NN" suffix a conflicting probe appends
TXT_VALUE_MAX_BYTES = 255  # RFC 6763 6.1: one "key=value" string is at most 255 bytes
_ELLIPSIS = "\u2026"
# A "." inside a label would be written as a label separator by python-zeroconf and read by
# other DNS-SD browsers as a sub-domain, so dots become the look-alike ONE DOT LEADER.
_DOT_LOOKALIKE = "\u2024"
_HOST_MIN_BYTES = 16  # when cutting a long name, the host keeps at least this much
# Characters that reorder the text around them: "#lobby\u202eyb..." would show another name.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_MAX_USERS_DIGITS = 7  # a LAN room with more people than this is a lie
_VERSION_MAX_CHARS = 16
CLUSTER_ID_MAX_CHARS = 64  # a random id is 16 to 32 characters; more is not an id
_CLUSTER_ID_CHARS = frozenset(string.ascii_letters + string.digits + "-_")


@dataclass(frozen=True, slots=True)
class RoomAd:
    """One advertised room, as the advertiser publishes it and a browser sees it."""

    room: str  # "#lobby"
    host: str  # readable host label, e.g. the machine's hostname
    port: int
    users: int = 0
    topic: str = ""
    key_required: bool = False
    addresses: tuple[str, ...] = ()  # IP literals (filled by the browser from the resolved record)
    instance: str = ""  # DNS-SD instance name (filled by the browser; unique key on the LAN)
    version: str = PROTOCOL_VERSION  # protocol/TXT version
    web_port: int = 0  # HTTP port of the browser client on the same host; 0 = none
    tls: int = 0  # TLS port (TXT tls=), 0 when the server offers no TLS
    fp: str = ""  # certificate fingerprint (TXT fp=), see fingerprint_of
    cluster: str | None = None  # id of the cluster serving the room (TXT cluster=), issue 20


def fingerprint_of(der: bytes) -> str:
    """The fingerprint of a certificate as advertised (TXT fp=), pinned and shown.

    Args:
        der: the certificate in DER form (ssl's getpeercert(binary_form=True)).

    Returns:
        Its SHA-256, 64 lowercase hex characters.
    """
    return hashlib.sha256(der).hexdigest()


def fingerprint(text: str) -> str:
    """`text` as a certificate fingerprint (SHA-256, 64 lowercase hex characters), or "" if it
    is not one: TXT fp= and `lanchat chat --connect ...?fp=` are read by this one rule."""
    text = text.strip().lower()
    return text if len(text) == 64 and all(c in string.hexdigits for c in text) else ""


def cluster_id(text: str | None) -> str | None:
    """`text` if it is a usable cluster id (TXT cluster=), else None.

    An id is 1 to CLUSTER_ID_MAX_CHARS ASCII letters, digits, "-" or "_": it is compared, shown
    in `lanchat rooms --json` and used as a key, so anything else (spaces, control characters,
    a megabyte) means "no cluster" and the room is listed on its own. Never raises.

    Args:
        text: the TXT value as received (None when the key is absent).

    Returns:
        The id, or None.
    """
    if text is None:
        return None
    text = text.strip()
    ok = 0 < len(text) <= CLUSTER_ID_MAX_CHARS and all(c in _CLUSTER_ID_CHARS for c in text)
    return text if ok else None


def room_key(room: str) -> str:
    """The casefolded form of a room name, used to key rooms (CASEMAPPING=rfc1459)."""
    return casefold(room)


def truncate_utf8(text: str, max_bytes: int, marker: str = "") -> str:
    """Cut `text` so its UTF-8 form is at most `max_bytes`, never inside a character.

    Args:
        text: the text to shorten.
        max_bytes: the byte budget (>= 0).
        marker: appended when the text was cut (e.g. an ellipsis); counted in the budget and
            dropped if even the marker does not fit.

    Returns:
        `text` itself if it fits, else the longest prefix (plus `marker`) that fits.
    """
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    marker_bytes = len(marker.encode("utf-8"))
    if marker_bytes > max_bytes:
        marker, marker_bytes = "", 0
    # errors="ignore" drops the partial character the byte cut may leave at the end.
    head = data[: max_bytes - marker_bytes].decode("utf-8", errors="ignore")
    return head + marker


def _clean(text: str) -> str:
    # RFC 6763 4.1.1: no ASCII control characters in instance names.
    return "".join(c for c in text if c >= " " and c != "\x7f").replace(".", _DOT_LOOKALIKE)


def instance_name(room: str, host: str) -> str:
    """The DNS-SD instance name of `room` on `host`: `#lobby on alice-laptop`.

    Fits INSTANCE_MAX_BYTES - RENAME_RESERVE_BYTES bytes of UTF-8. When it does not fit, the
    longer part is cut at a character boundary (marked with an ellipsis) so that both the room
    and the host stay recognisable.

    Args:
        room: the room name as people see it.
        host: the host label.

    Returns:
        A valid, readable instance name (no dots, no control characters).
    """
    room, host = _clean(room), _clean(host) or "?"
    budget = INSTANCE_MAX_BYTES - RENAME_RESERVE_BYTES
    joiner = " on "
    room_bytes = len(room.encode("utf-8"))
    host_bytes = len(host.encode("utf-8"))
    available = budget - len(joiner)
    if room_bytes + host_bytes > available:
        host_budget = min(host_bytes, max(_HOST_MIN_BYTES, available - room_bytes))
        room = truncate_utf8(room, available - host_budget, _ELLIPSIS)
        host = truncate_utf8(host, available - len(room.encode("utf-8")), _ELLIPSIS)
    return f"{room}{joiner}{host}"


def _fit(key: str, value: str) -> str:
    return truncate_utf8(value, TXT_VALUE_MAX_BYTES - len(key) - 1)


def to_txt(ad: RoomAd) -> dict[str, str]:
    """The TXT record of `ad`: every "key=value" string fits in 255 bytes.

    Args:
        ad: the room to advertise (addresses and instance are not part of the TXT record).

    Returns:
        A dict of TXT keys to string values, for python-zeroconf's `properties`.
    """
    txt = {
        "v": _fit("v", ad.version),
        "room": _fit("room", ad.room),
        "topic": _fit("topic", ad.topic),
        "users": str(max(0, ad.users)),
        "key": "1" if ad.key_required else "0",
        "host": _fit("host", ad.host),
    }
    if ad.web_port:
        txt["web"] = str(ad.web_port)
    if ad.tls:
        txt["tls"] = str(ad.tls)
        txt["fp"] = ad.fp
    if ad.cluster:
        txt["cluster"] = ad.cluster
    return txt


def printable(text: str) -> str:
    """`text` without control characters (C0, DEL, C1) or bidirectional overrides."""
    return "".join(c for c in text if unicodedata.category(c) != "Cc" and c not in _BIDI_CONTROLS)


def _valid_room(name: str) -> bool:
    # The name goes into "JOIN <name>" as it is: no CR/LF, space or comma (RFC 2812 1.3).
    return is_valid_channel(name, TXT_VALUE_MAX_BYTES - len("room=")) and printable(name) == name


def _users(value: str) -> int:
    value = value.strip()
    if value.isascii() and value.isdigit() and len(value) <= _MAX_USERS_DIGITS:
        return int(value)
    return 0


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def from_txt(
    instance: str,
    txt: Mapping[bytes, bytes | None] | Mapping[str, str | None],
    *,
    port: int,
    addresses: tuple[str, ...] = (),
) -> RoomAd | None:
    """Rebuild the RoomAd a browser saw from its instance name and TXT record, checked.

    Never raises: missing or garbled values get defaults (room and host come from the instance
    name, users 0, no key, version "1"), and unknown keys or versions are accepted, so that
    rooms from newer or buggy advertisers are still listed. Text is made printable (see the
    module docstring).

    Args:
        instance: the DNS-SD instance name (without the service type).
        txt: the TXT record as python-zeroconf decodes it (bytes keys and values) or as str.
        port: the port of the SRV record.
        addresses: IP literals of the host, preferred first.

    Returns:
        The advertised room, or None when its room name is not one a client may join.
    """
    values: dict[str, str] = {}
    for raw_key, raw_value in txt.items():
        key, value = _text(raw_key), _text(raw_value)
        # RFC 6763 6.4: keys are case-insensitive; the first occurrence wins.
        if key is not None and value is not None and key.lower() not in values:
            values[key.lower()] = value
    named_room, _, named_host = instance.partition(" on ")
    room = values.get("room") or named_room or instance
    if not _valid_room(room):
        return None
    try:
        web_port = int(values.get("web", "0").strip())
    except ValueError:
        web_port = 0
    tls_port = values.get("tls", "0").strip()
    tls = int(tls_port) if tls_port.isascii() and tls_port.isdigit() else 0
    tls = tls if tls <= 65535 else 0
    fp = fingerprint(values.get("fp", "")) if tls else ""
    return RoomAd(
        room=room,
        host=printable(values.get("host", "")) or printable(named_host),
        port=port,
        users=_users(values.get("users", "0")),
        topic=printable(values.get("topic", "")),
        key_required=values.get("key", "0").strip().lower() in ("1", "true", "yes"),
        addresses=addresses,
        instance=instance,
        version=printable(values.get("v", ""))[:_VERSION_MAX_CHARS] or PROTOCOL_VERSION,
        web_port=web_port if 0 < web_port < 65536 else 0,
        # A TLS port without a usable fingerprint is kept: the client then asks the person
        # (first use) instead of trusting whatever certificate it gets.
        tls=tls,
        fp=fp,
        cluster=cluster_id(values.get("cluster")),
    )
