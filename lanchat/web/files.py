"""File sharing on the web port: draft/FILEHOST uploads and the downloads of their links.

Layer: asyncio edge beside lanchat.web.site; may import aiohttp, lanchat.server (hub, state,
flood), lanchat.store.files and lanchat.web.sharing. Loop thread only; the disk and SQLite work
runs in worker threads (`FileStore` in one thread of its own, file writes in two writer threads
at a lower CPU priority), so a big upload never holds up the rooms; and an upload pauses
between batches while the loop is late (lanchat.web.pacing).
Spec: draft/FILEHOST, ircv3-specifications PR #562 (the ISUPPORT value is the upload URL; POST
with Content-Type, Content-Disposition and Content-Length; OPTIONS answered; 201 Created with
Location; the file then answers GET and HEAD); soju's fileupload (413 with
`Upload-Limit: maxsize=`); RFC 9110 14 (Range, via aiohttp's FileResponse).

Routes::

    OPTIONS /files                 204: what the upload URL takes
    POST    /files                 an upload (Authorization: Bearer <FILEHOST token>) -> 201
    GET     /files/<id>/<name>     the file (HEAD and Range too); <id> is 144 random bits

Policies a reader might question:
- Only someone with an account here or connected to this server may upload: HTTP Basic with
  the account's name and password (checked as SASL PLAIN), or a Bearer token that came over
  their IRC connection (lanchat.server.uploads) and dies with it. Wrong passwords and tokens
  count in the per-address FailureThrottle of issue 13; uploads per address go through a
  FloodLedger of their own ([files] upload_burst, uploads_per_minute), checked first, so
  password checks are paced too. Quotas count per account, else per address. Downloads need
  only the link.
- Content-Length is required (411 without): the size limit and the quotas are checked before a
  byte is read, and room for the upload is reserved while it arrives, so two uploads at once
  cannot pass a quota together.
- The body is streamed to a partial file in batches of _WRITE_BYTES, one batch written (in a
  thread) while the next arrives: memory stays flat whatever the size. The file is kept only
  once complete; a cut-off upload, a full disk or a kill -9 leaves nothing that is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from aiohttp.web_urldispatcher import _default_expect_handler

from lanchat.config import Flood
from lanchat.passwords import verify_password
from lanchat.protocol.casemap import casefold
from lanchat.server.effects import FilesRedacted
from lanchat.server.flood import FloodLedger
from lanchat.server.handlers.accounts import UNKNOWN_NAME_HASH
from lanchat.server.hub import peer_ip
from lanchat.server.uploads import file_ids_in
from lanchat.store.files import FileStore, SharedFile, discard, files_dir
from lanchat.web.pacing import LoopLag, behind_the_rooms
from lanchat.web.sharing import (
    content_type_of,
    credentials,
    download_headers,
    human_size,
    link_name,
    upload_name,
)

if TYPE_CHECKING:
    from lanchat.server.hub import Hub

__all__ = ["UPLOAD_PATH", "FileHost"]

log = logging.getLogger(__name__)

T = TypeVar("T")

UPLOAD_PATH = "/files"
_WRITE_BYTES = 1 << 20  # bytes gathered before a write: few thread hops, flat memory
_SWEEP_MAX_S = 60.0  # expired files are deleted at least this often (GET checks on its own)
_DAY_S = 86400.0
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_GET_A_TOKEN = (
    "send FILEHOST on your IRC connection to this server and upload with the token it "
    "gives: Authorization: Bearer <token>"
)


def _write_all(fd: int, chunks: list[bytes]) -> None:
    """Write every chunk to `fd` (short writes resumed). Worker thread."""
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]


class FileHost:
    """Uploads, downloads and expiry of one server's shared files. Loop thread only."""

    def __init__(self, hub: Hub, *, clock: Callable[[], float] = time.time) -> None:
        """Set up (nothing touches the disk before start()).

        Args:
            hub: the server's hub: its state holds the upload tokens and the failure
                throttle; its connections get the upload URL (hub.filehost_url).
            clock: Unix seconds, for the expiry of files (a fake one in tests).
        """
        self.hub = hub
        self.settings = hub.config.files
        self._clock = clock
        self._expire_s = self.settings.expire_after_days * _DAY_S
        self._fsync = hub.config.store.fsync  # [store] fsync: uploads survive power loss too
        self._directory = files_dir(hub.config.store.data_dir)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="lanchat-files")  # FileStore's
        # Basic credentials' scrypt checks, one at a time (never on the loop: issue 17).
        self._passwords = ThreadPoolExecutor(1, thread_name_prefix="lanchat-upload-passwords")
        # Uploads' disk writes, at a lower CPU priority than the loop (lanchat.web.pacing).
        self._writes = ThreadPoolExecutor(
            2, thread_name_prefix="lanchat-upload-writes", initializer=behind_the_rooms
        )
        self._lag = LoopLag()  # uploads pause while the loop is late
        self._store: FileStore | None = None  # open from start() to close()
        per_minute = self.settings.uploads_per_minute
        self._uploads = FloodLedger(
            Flood(burst_lines=self.settings.upload_burst, lines_per_s=per_minute / 60.0),
            clock=hub.clock,
        )
        self._reserved: dict[str, int] = {}  # uploader -> bytes of its uploads under way
        self._reserved_total = 0
        self._sweeper: asyncio.Task[None] | None = None
        self._deleting: set[asyncio.Task[None]] = set()  # redactions' deletions, kept alive
        self.port = 0  # the web port, for the upload URL
        # --web-tls: the page and the uploads are HTTPS (draft/FILEHOST: a client on TLS
        # must refuse a plain-http upload URL).
        self._scheme = "https" if hub.config.tls.web else "http"

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Add the upload and download routes (before any catch-all static route)."""
        router.add_route("OPTIONS", UPLOAD_PATH, self._options)
        router.add_post(UPLOAD_PATH, self._upload, expect_handler=self._expect)
        router.add_get(UPLOAD_PATH + "/{id}/{name}", self._download)

    async def start(self, port: int) -> None:
        """Open the store (clearing what a crash left), hand out the upload URL, sweep.

        Raises:
            StoreError: the files directory or its database cannot be opened.
        """
        self._store = await self._run(FileStore, self._directory)
        self.port = port
        self.hub.filehost_url = self.url_for
        self.hub.on_files_redacted = self._redacted
        self._sweeper = asyncio.create_task(self._sweep())

    async def close(self) -> None:
        """Stop handing out the URL and sweeping; close the store."""
        self.hub.filehost_url = None
        self.hub.on_files_redacted = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._store is not None:
            store, self._store = self._store, None
            await self._run(store.close)
        self._thread.shutdown(wait=False)
        self._passwords.shutdown(wait=False, cancel_futures=True)
        self._writes.shutdown(wait=False)

    def url_for(self, sockname: object) -> str:
        """The upload URL for a connection whose local address is `sockname`.

        Each client is told the address it reached this server at: on a machine with a
        wired and a wireless address, each side gets the one it can reach.
        """
        ip = peer_ip(sockname)
        host = f"[{ip}]" if ":" in ip else ip
        return f"{self._scheme}://{host}:{self.port}{UPLOAD_PATH}"

    def _redacted(self, effect: FilesRedacted) -> None:
        """A message was redacted: delete the files it links that its sender uploaded."""
        ids = file_ids_in(effect.text)
        if ids and self._store is not None:
            task = asyncio.get_running_loop().create_task(self._delete(ids, effect.uploaders))
            self._deleting.add(task)
            task.add_done_callback(self._deleting.discard)

    async def _delete(self, ids: list[str], uploaders: tuple[str, ...]) -> None:
        store = self._open_store()
        for file_id in ids:
            if await self._run(store.delete, file_id, uploaders):
                log.info("deleted shared file %s with its redacted message", file_id)

    # ------------------------------------------------------------------ handlers

    async def _options(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers={"Allow": "OPTIONS, POST", "Accept-Post": "*/*"})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        store = self._open_store()
        shared = await self._run(store.get, request.match_info["id"], self._clock())
        if shared is None:
            raise web.HTTPNotFound(
                text="This file is no longer here: it expired or was deleted. "
                "Ask whoever shared it to send it again.\n"
            )
        headers = download_headers(shared.name, shared.content_type)
        return web.FileResponse(store.path(shared), headers=headers)

    async def _upload(self, request: web.Request) -> web.Response:
        ip = peer_ip(request.transport.get_extra_info("peername") if request.transport else None)
        self._take_upload_turn(ip)  # before any password check: scrypt is not free
        uploader = await self._uploader(request, ip)
        length = request.content_length
        if length is None:
            raise web.HTTPLengthRequired(text="Send the file's size in Content-Length.\n")
        if length > self.settings.max_file_bytes:
            return self._too_large(length)
        await self._reserve(uploader, length)
        try:
            shared = await self._receive(request, uploader, length)
        finally:
            self._release(uploader, length)
        log.info("%s shared %s (%d bytes) as %s", uploader, shared.name, shared.size, shared.id)
        location = f"{request.scheme}://{request.host}{UPLOAD_PATH}/{shared.id}/"
        location += link_name(shared.name)
        return web.Response(status=201, headers={"Location": location}, text=location + "\n")

    async def _expect(self, request: web.Request) -> web.StreamResponse | None:
        """Expect: 100-continue (curl sends it for bodies over 1 MB): a file over the limit
        is refused before its body is sent, not after (RFC 9110 10.1.1)."""
        length = request.content_length
        if length is not None and length > self.settings.max_file_bytes:
            return self._too_large(length)
        await _default_expect_handler(request)
        return None

    def _too_large(self, length: int) -> web.Response:
        """413 for a file of `length` bytes, with the limit in Upload-Limit (soju's)."""
        limit = self.settings.max_file_bytes
        return web.Response(
            status=413,
            headers={"Upload-Limit": f"maxsize={limit}"},
            text=f"This file is {human_size(length)}; this server takes files up to "
            f"{human_size(limit)}. Send a smaller one, or share a link to it instead.\n",
        )

    # ------------------------------------------------------------------ steps of an upload

    async def _uploader(self, request: web.Request, ip: str) -> str:
        """Who is uploading ("account:<key>" or, for a FILEHOST token, "address:<ip>"),
        or an HTTP error."""
        given = credentials(request.headers.get("Authorization"))
        challenge = {"WWW-Authenticate": 'Bearer realm="lanchat", Basic realm="lanchat"'}
        if given is None:
            raise web.HTTPUnauthorized(
                headers=challenge, text=f"Uploads need your account or a token: {_GET_A_TOKEN}.\n"
            )
        state = self.hub.state
        wait = state.auth_throttle.retry_after_s(ip)
        if wait:
            raise web.HTTPTooManyRequests(
                headers={"Retry-After": str(wait)},
                text=f"Too many wrong passwords or tokens from your address; wait {wait} s and "
                "try again.\n",
            )
        if not given.token:
            # Basic: an account and its password, checked as SASL PLAIN is (draft/FILEHOST);
            # an unknown name is checked against a fixed hash, so timing tells nothing.
            key = casefold(given.account)
            record = state.accounts.get(key)
            stored = record.password_hash if record is not None else UNKNOWN_NAME_HASH
            loop = asyncio.get_running_loop()
            ok = await loop.run_in_executor(
                self._passwords, verify_password, given.password, stored
            )
            if record is None or not ok:
                state.auth_throttle.failed(ip, "account password (upload)")
                raise web.HTTPUnauthorized(
                    headers=challenge,
                    text=f"Wrong account name or password; check them, or {_GET_A_TOKEN}.\n",
                )
            return f"account:{key}"
        holder = state.upload_tokens.holder(given.token)
        user = None if holder is None else state.users.get(holder)
        if user is None or not user.registered:
            state.auth_throttle.failed(ip, "upload token")
            raise web.HTTPUnauthorized(
                headers=challenge,
                text="This upload token is not valid: it expired, or its IRC connection "
                f"closed; {_GET_A_TOKEN}.\n",
            )
        return f"account:{casefold(user.account)}" if user.account else f"address:{user.ip}"

    def _take_upload_turn(self, ip: str) -> None:
        bucket = self._uploads.open(ip)
        try:
            if bucket.tokens < 1.0:
                wait = max(1, int((1.0 - bucket.tokens) / bucket.lines_per_s) + 1)
                raise web.HTTPTooManyRequests(
                    headers={"Retry-After": str(wait)},
                    text=f"Too many uploads from your address; wait {wait} s and try again.\n",
                )
            bucket.charge(1.0)
        finally:
            self._uploads.close(ip, bucket)

    async def _reserve(self, uploader: str, length: int) -> None:
        store = self._open_store()
        settings = self.settings
        mine, everyone = await self._run(_usage, store, uploader)
        mine += self._reserved.get(uploader, 0)
        everyone += self._reserved_total
        if mine + length > settings.quota_per_uploader_bytes:
            raise web.HTTPRequestEntityTooLarge(
                max_size=settings.quota_per_uploader_bytes - mine,
                actual_size=length,
                text=f"Your shared files already use {human_size(mine)} of the "
                f"{human_size(settings.quota_per_uploader_bytes)} you may keep here; wait for them "
                "to expire, or ask the host to clear them.\n",
            )
        if everyone + length > settings.quota_bytes:
            raise web.HTTPInsufficientStorage(
                text=f"This server's room for shared files is full ({human_size(everyone)} of "
                f"{human_size(settings.quota_bytes)}); ask the host to clear some.\n"
            )
        self._reserved[uploader] = self._reserved.get(uploader, 0) + length
        self._reserved_total += length

    def _release(self, uploader: str, length: int) -> None:
        left = self._reserved[uploader] - length
        if left:
            self._reserved[uploader] = left
        else:
            del self._reserved[uploader]
        self._reserved_total -= length

    async def _receive(self, request: web.Request, uploader: str, length: int) -> SharedFile:
        """Stream the body to a partial file, then keep it. Nothing is kept on any failure."""
        store = self._open_store()
        loop = asyncio.get_running_loop()
        path = store.new_partial()
        fd = await loop.run_in_executor(
            self._writes, os.open, path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
        )
        kept: SharedFile | None = None
        try:
            with self._lag:
                received = await self._stream(request, fd)
            if received != length:
                raise web.HTTPBadRequest(
                    text=f"The upload ended after {received} of {length} bytes; send it again.\n"
                )
            if self._fsync:
                await loop.run_in_executor(self._writes, os.fsync, fd)
            now = self._clock()
            kept = await self._run(
                partial(
                    store.keep,
                    path,
                    name=upload_name(request.headers.get("Content-Disposition")),
                    content_type=content_type_of(request.headers.get("Content-Type")),
                    uploader=uploader,
                    now=now,
                    expires=now + self._expire_s,
                )
            )
            return kept
        except ConnectionError:  # the uploader went away (Cancel): nothing to answer
            log.info("an upload from %s stopped: its connection closed", uploader)
            raise web.HTTPBadRequest(text="The upload was cut off; send it again.\n") from None
        except OSError as e:
            if e.errno in _DISK_FULL:
                log.warning("an upload from %s failed: the disk is full", uploader)
                raise web.HTTPInsufficientStorage(
                    text="The server's disk is full, so your file was not kept; tell the "
                    "host, or send a smaller file.\n"
                ) from None
            raise
        finally:
            os.close(fd)
            if kept is None:
                discard(path)

    async def _stream(self, request: web.Request, fd: int) -> int:
        """Copy the body into `fd`, one batch written while the next arrives, pausing while
        the loop is late (lanchat.web.pacing). Returns bytes."""
        loop = asyncio.get_running_loop()
        writing: asyncio.Future[None] | None = None
        batch: list[bytes] = []
        gathered = received = 0
        try:
            async for chunk in request.content.iter_chunked(_WRITE_BYTES):
                batch.append(chunk)
                gathered += len(chunk)
                received += len(chunk)
                if gathered >= _WRITE_BYTES:
                    if writing is not None:
                        await writing
                    writing = loop.run_in_executor(self._writes, _write_all, fd, batch)
                    batch, gathered = [], 0
                    if pause := self._lag.pause():
                        await asyncio.sleep(pause)
            if writing is not None:
                await writing
                writing = None
            await loop.run_in_executor(self._writes, _write_all, fd, batch)
        finally:
            if writing is not None:  # the peer went away mid-batch: let the write finish
                with contextlib.suppress(OSError):
                    await writing
        return received

    # ------------------------------------------------------------------ helpers

    def _open_store(self) -> FileStore:
        if self._store is None:
            raise web.HTTPServiceUnavailable(text="File sharing is starting or stopping.\n")
        return self._store

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        """Run `func(*args)` in the FileStore's own thread."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, func, *args)

    async def _sweep(self) -> None:
        period = min(_SWEEP_MAX_S, self._expire_s)
        while True:
            if self._store is not None:
                try:
                    gone = await self._run(self._store.expire, self._clock())
                except OSError as e:
                    log.warning("could not delete expired files: %s", e)
                else:
                    if gone:
                        log.info("deleted %d expired shared files", gone)
            await asyncio.sleep(period)


def _usage(store: FileStore, uploader: str) -> tuple[int, int]:
    """Bytes kept for `uploader` and for everyone. FileStore thread."""
    return store.used_bytes(uploader), store.used_bytes()
