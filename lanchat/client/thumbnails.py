"""Small previews of images shared on the server's file host, for the desktop client (issue 21).

Layer: asyncio edge of the client (beside lanchat.client.sharing); may import asyncio, aiohttp
and Pillow; never tkinter. Loop thread, with the decoding in a worker thread.

A window asks for the preview of a link it shows (FetchThumbnail); only links on this
connection's own file host are fetched (a link to anywhere else in a message is never opened
by itself: that would tell its owner who reads the room). The image is fetched only if the
server says it is an image of at most MAX_IMAGE_BYTES, decoded and shrunk to fit THUMBNAIL_BOX
by Pillow in a worker thread (two fetches at a time per connection), and handed over as PNG
bytes (ThumbnailReady), which Tk 8.6 reads without help. Pillow reads JPEG and WebP too, which
Tk cannot, and shrinks with a proper filter where Tk's `subsample` only drops pixels.
Anything that goes wrong leaves the link as it was.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable

import aiohttp

from lanchat.client.events import ClientEvent, FetchThumbnail, ThumbnailReady
from lanchat.client.session import ClientSession

__all__ = ["MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "THUMBNAIL_BOX", "Thumbnails", "shrink"]

log = logging.getLogger(__name__)

THUMBNAIL_BOX = (240, 180)  # the largest preview, in pixels: it fits under a line of text
MAX_IMAGE_BYTES = 32 << 20  # bigger images are not previewed (the link still opens them)
MAX_IMAGE_PIXELS = 50_000_000  # nor images that would take more memory than this to decode
_FETCHES = 2  # previews fetched at once per connection (a room's history may link dozens)
_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)


class NotAnImage(Exception):
    """The data is not an image Pillow reads, or is too big to preview."""


def shrink(data: bytes, box: tuple[int, int] = THUMBNAIL_BOX) -> tuple[bytes, int, int]:
    """An image's preview: PNG bytes that fit in `box`, keeping its proportions. Worker thread.

    Raises:
        NotAnImage: `data` is not an image, or has more than MAX_IMAGE_PIXELS.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise NotAnImage(f"{width}x{height} pixels")
            image.draft("RGB", box)  # JPEG: decode at a fraction of the size, much faster
            upright = ImageOps.exif_transpose(image)  # phone photos say which way is up
            upright.thumbnail(box)
            if upright.mode not in ("RGB", "RGBA"):
                upright = upright.convert("RGBA")
            out = io.BytesIO()
            upright.save(out, "PNG")
            return out.getvalue(), upright.width, upright.height
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise NotAnImage(str(e)) from None


class Thumbnails:
    """The previews one connection fetches. Loop thread only."""

    def __init__(self, session: ClientSession, emit: Callable[[ClientEvent], None]) -> None:
        self.session = session
        self.emit = emit
        self._tasks: set[asyncio.Task[None]] = set()
        self._turns = asyncio.Semaphore(_FETCHES)

    def handle(self, cmd: FetchThumbnail) -> None:
        """Fetch the preview of `cmd.url` if it is on this server's file host."""
        host = self.session.state.filehost
        if not host or not cmd.url.startswith(host.rstrip("/") + "/"):
            return
        task = asyncio.get_running_loop().create_task(self._fetch(cmd.url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel_all(self) -> None:
        """The connection is going away: stop every fetch."""
        for task in self._tasks:
            task.cancel()

    async def _fetch(self, url: str) -> None:
        async with self._turns:
            await self._fetch_one(url)

    async def _fetch_one(self, url: str) -> None:
        try:
            async with aiohttp.ClientSession(timeout=_TIMEOUT) as http, http.get(url) as got:
                size = got.content_length or 0
                if got.status != 200 or not got.content_type.startswith("image/"):
                    return
                if size > MAX_IMAGE_BYTES:
                    return
                data = bytearray()
                async for piece in got.content.iter_chunked(1 << 16):
                    data += piece
                    if len(data) > MAX_IMAGE_BYTES:  # it said less, or nothing
                        return
            png, width, height = await asyncio.to_thread(shrink, bytes(data))
        except (aiohttp.ClientError, TimeoutError, NotAnImage) as e:
            log.info("no preview of %s: %s", url, e)
            return
        self.emit(ThumbnailReady(self.session.server_id, url, png, width, height))
