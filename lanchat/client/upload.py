"""Sharing a file with a room: upload it to the server's FILEHOST and say its link (issue 21).

Layer: asyncio edge of the client (beside lanchat.client.connection); may import asyncio,
aiohttp and lanchat.web.sharing (pure); never tkinter, the server or the store. The desktop
client runs it on the bridge's loop, off the Tk thread; tests call it directly.
Spec: draft/FILEHOST (ircv3-specifications PR #562): POST to the ISUPPORT URL with
Content-Type, Content-Disposition and Content-Length; `201 Created` and `Location` is the link.
Authorization is a Bearer token from the FILEHOST command (lanchat.server.handlers.files).

The file is read in UPLOAD_CHUNK_BYTES pieces in a worker thread and sent as they are read, so
memory is flat whatever the size; `progress(sent, total)` is called after each piece, and
cancelling the task that awaits `upload_file` stops the upload (the server keeps nothing).
The link goes to the room as an ordinary message (share_text), so every IRC client sees it.

With `lanchat serve --web-tls` the upload URL is https, served with the certificate of the
IRC TLS port, which has no certificate authority behind it: the upload is made only to a
server presenting the certificate whose fingerprint the IRC connection trusts (pinned or
advertised; lanchat.client.pins), checked before a byte of the request is sent, and refused
with the words the IRC connection uses.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiohttp

from lanchat.client.pins import not_trusted
from lanchat.web.sharing import human_size, link_name

__all__ = ["UPLOAD_CHUNK_BYTES", "Shared", "UploadError", "share_text", "upload_file"]

UPLOAD_CHUNK_BYTES = 1 << 20
_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)


class UploadError(Exception):
    """The upload did not succeed; str() is the one line to show (the server's own words)."""


@dataclass(frozen=True, slots=True)
class Shared:
    """A file the server now keeps."""

    url: str  # its link (the Location of the 201)
    name: str  # the file's name, as the server kept it (the last part of the link)
    size: int  # bytes


def share_text(name: str, size: int, url: str) -> str:
    """The ACTION text that shares a link: `* alice shared slides.pdf (2.3 MB): http://…`."""
    return f"shared {name} ({human_size(size)}): {url}"


async def _pieces(
    path: Path, size: int, progress: Callable[[int, int], None] | None
) -> AsyncIterator[bytes]:
    sent = 0
    with path.open("rb") as f:
        while True:
            piece = await asyncio.to_thread(f.read, UPLOAD_CHUNK_BYTES)
            if not piece:
                return
            sent += len(piece)
            yield piece
            if progress is not None:
                progress(sent, size)


async def upload_file(
    url: str,
    path: Path,
    *,
    token: str,
    fingerprint: str = "",
    progress: Callable[[int, int], None] | None = None,
    content_type: str | None = None,
) -> Shared:
    """Upload `path` to the FILEHOST `url`. Loop thread only (any asyncio loop).

    Args:
        url: the upload URL (ISUPPORT draft/FILEHOST).
        path: the file.
        token: a Bearer token (FILEHOST command).
        fingerprint: for an https `url`, the SHA-256 (lowercase hex) of the only certificate
            to accept: the one the IRC connection to the same server trusts.
        progress: called with (bytes sent, total) as the upload goes.
        content_type: the file's type (default: guessed from its name).

    Returns:
        The link, name and size of the kept file.

    Raises:
        UploadError: the file cannot be read, the server cannot be reached, or it refused
            the upload (too large, quota, disk full, token expired: its message), or an
            https server's certificate is not the trusted one (nothing was sent).
    """
    check: aiohttp.Fingerprint | None = None  # None: plain http, nothing to check
    if urlsplit(url).scheme == "https":
        if not fingerprint:
            raise UploadError(
                f"{path.name} was not sent: this server takes files over HTTPS and nothing "
                "vouches for its certificate; connect to it over TLS and send the file again"
            )
        check = aiohttp.Fingerprint(bytes.fromhex(fingerprint))
    try:
        size = path.stat().st_size
    except OSError as e:
        raise UploadError(f"cannot read {path.name}: {e.strerror}") from None
    kind = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": kind,
        "Content-Disposition": f"attachment; filename*=UTF-8''{link_name(path.name)}",
        "Content-Length": str(size),
    }
    try:
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as session,
            session.post(
                url, data=_pieces(path, size, progress), headers=headers, ssl=check or True
            ) as response,
        ):
            if response.status != 201 or "Location" not in response.headers:
                text = (await response.text()).strip() or response.reason or "refused"
                raise UploadError(text.splitlines()[0])
            link = response.headers["Location"]
            # The name the server kept (control characters dropped), so a line break in a
            # file's name never reaches the IRC line that shares it.
            return Shared(link, unquote(urlsplit(link).path.rsplit("/", 1)[-1]) or path.name, size)
    except aiohttp.ServerFingerprintMismatch as e:
        what, todo = not_trusted(str(e.host), int(e.port))
        todo = todo[0].lower() + todo[1:]
        raise UploadError(f"{what}, so {path.name} was not sent: {todo}") from None
    except aiohttp.ClientError as e:
        raise UploadError(f"cannot upload {path.name}: {e}") from None
    except OSError as e:
        raise UploadError(f"cannot read {path.name}: {e.strerror or e}") from None
