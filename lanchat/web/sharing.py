"""What a shared file looks like over HTTP: its name, its type and the headers of a download.

Layer: pure (standard library only): tested by plain calls. lanchat.web.files uses it.
Specs: draft/FILEHOST (ircv3-specifications PR #562: Content-Type and Content-Disposition of
the upload); RFC 6266 (Content-Disposition: attachment, filename and filename*), RFC 8187
(filename*=UTF-8''...), RFC 7617 (Basic), RFC 6750 (Bearer), CSP 3 (sandbox).

Policies a reader might question:
- Downloads are never active content: every one gets `Content-Security-Policy: sandbox;
  default-src 'none'` (no script runs, no origin to steal from) and `X-Content-Type-Options:
  nosniff`, and only INLINE_TYPES are shown in the browser; everything else, HTML and SVG
  included, is a download (`attachment`). SVG is never inline: it can carry script.
- The name the uploader gives is cut to its last path part, control characters dropped, and
  kept at most MAX_NAME_CHARS; it is text in a header and a link, never a path on disk.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.message import Message
from typing import Final
from urllib.parse import quote

__all__ = [
    "DOWNLOAD_CSP",
    "INLINE_TYPES",
    "MAX_NAME_CHARS",
    "Credentials",
    "content_type_of",
    "credentials",
    "download_headers",
    "human_size",
    "link_name",
    "upload_name",
]

MAX_NAME_CHARS: Final = 200
DOWNLOAD_CSP: Final = "sandbox; default-src 'none'"
# Shown in the browser (inline); everything else is downloaded. No SVG, no HTML, no XML, no
# text/* (a text file in a legacy encoding is sniffed by some browsers despite nosniff).
INLINE_TYPES: Final = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/apng",
        "image/avif",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "audio/webm",
        "audio/aac",
        "audio/mp4",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "application/pdf",
    }
)
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")
_FALLBACK_TYPE = "application/octet-stream"


def upload_name(disposition: str | None) -> str:
    """The file name an upload's Content-Disposition gives, made harmless.

    Args:
        disposition: the header, e.g. 'attachment; filename="slides.pdf"' (filename* wins).

    Returns:
        The last path part without control characters, at most MAX_NAME_CHARS long; "file"
        when there is none.
    """
    name = ""
    if disposition:
        header = Message()
        header["Content-Disposition"] = disposition
        name = str(header.get_filename("") or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    if name in ("", ".", ".."):
        return "file"
    return name[:MAX_NAME_CHARS]


def content_type_of(header: str | None) -> str:
    """The media type of an upload's Content-Type, lower case, without parameters.

    Returns:
        e.g. "image/png"; application/octet-stream when missing or not a type/subtype.
    """
    kind = (header or "").split(";", 1)[0].strip().lower()
    return kind if _MEDIA_TYPE.fullmatch(kind) else _FALLBACK_TYPE


def link_name(name: str) -> str:
    """The file name as the last part of its link (percent-encoded UTF-8)."""
    return quote(name, safe="")


def download_headers(name: str, content_type: str) -> dict[str, str]:
    """The headers of a download of file `name` of type `content_type`.

    Returns:
        Content-Type, Content-Disposition (inline for INLINE_TYPES, else attachment; the name
        as an ASCII fallback and as filename*), the sandbox CSP and nosniff.
    """
    disposition = "inline" if content_type in INLINE_TYPES else "attachment"
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\%' else "_" for c in name)
    return {
        "Content-Type": content_type,
        "Content-Disposition": (
            f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{link_name(name)}"
        ),
        "Content-Security-Policy": DOWNLOAD_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=86400",
    }


class Credentials:
    """What an Authorization header carries: a Bearer token, or an account and password."""

    __slots__ = ("account", "password", "token")

    def __init__(self, *, token: str = "", account: str = "", password: str = "") -> None:
        self.token = token  # Bearer (FILEHOST); "" for Basic
        self.account = account  # Basic: the account name (SASL PLAIN authcid)
        self.password = password  # Basic: its password


def credentials(header: str | None) -> Credentials | None:
    """Parse an Authorization header (RFC 6750 Bearer, RFC 7617 Basic).

    Returns:
        The credentials, or None when the header is missing, of another scheme or malformed.
    """
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return Credentials(token=value)
    if scheme.lower() == "basic" and value:
        try:
            account, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if sep and account:
            return Credentials(account=account, password=password)
    return None


def human_size(n: int) -> str:
    """A size as people read it, in decimal units like file managers: "2.3 MB", "512 bytes"."""
    if n < 1000:
        return f"{n} bytes"
    value = n / 1000
    for unit in ("kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            break
        value /= 1000
    return f"{value:.1f} {unit}"
