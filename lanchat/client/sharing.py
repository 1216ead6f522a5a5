"""Sharing files from one client connection: token, upload, link, progress and Cancel (issue 21).

Layer: asyncio edge of the client, owned by lanchat.client.connection; may import asyncio,
lanchat.client.{events,session,upload}; never tkinter. Loop thread only.

A ShareFile waits for an upload token: the first one asks the server (FILEHOST) and every share
waiting when UploadTokenGranted arrives uploads with it, each in its own task. Progress goes
out as ShareProgress at most once per PROGRESS_STEP of the file (a 1 GiB upload is a hundred
events, not a thousand), the link as a CTCP ACTION to the target (`* alice shared slides.pdf
(2.3 MB): http://…`, which every IRC client shows), and the end as ShareFinished.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from lanchat.client.events import (
    SHARE_CANCELLED,
    CancelShare,
    ClientEvent,
    ShareFile,
    ShareFinished,
    ShareProgress,
    UploadTokenGranted,
)
from lanchat.client.session import ClientSession
from lanchat.client.upload import UploadError, share_text, upload_file

__all__ = ["PROGRESS_STEP", "Sharing"]

PROGRESS_STEP = 0.01  # of the file's size between two ShareProgress events


class Sharing:
    """The file shares of one connection. Loop thread only."""

    def __init__(
        self,
        session: ClientSession,
        emit: Callable[[ClientEvent], None],
        say: Callable[[str, str], None],
        flush: Callable[[], None],
        fingerprint: Callable[[], str],
    ) -> None:
        """Args:
        session: the connection's session (the upload URL, FILEHOST).
        emit: where events go (the connection's emit).
        say: posts an ACTION `text` to `target` through the connection: say(target, text).
        flush: writes what the session queued.
        fingerprint: the server certificate's fingerprint the connection trusts (the one its
            TLS connection accepted, else the advertised one; "" for none): an https upload
            URL must present that certificate.
        """
        self.session = session
        self.emit = emit
        self.say = say
        self.flush = flush
        self.fingerprint = fingerprint
        self._waiting: list[ShareFile] = []  # shares waiting for a token
        self._tasks: dict[int, asyncio.Task[None]] = {}  # share_id -> its upload

    def handle(self, cmd: ShareFile | CancelShare) -> None:
        """Start a share (asking for a token if none is on its way) or cancel one."""
        if isinstance(cmd, CancelShare):
            self._cancel(cmd.share_id)
            return
        if not self.session.state.filehost:
            self._finished(cmd, error="This server does not take files")
            return
        self._waiting.append(cmd)
        if len(self._waiting) == 1:
            self.session.request_upload_token()
            self.flush()

    def take(self, events: list[ClientEvent]) -> list[ClientEvent]:
        """Pick UploadTokenGranted out of a connection's events; the rest are returned."""
        kept: list[ClientEvent] = []
        for event in events:
            if isinstance(event, UploadTokenGranted):
                self._start(event.token)
            else:
                kept.append(event)
        return kept

    def cancel_all(self) -> None:
        """The connection is going away: stop every share."""
        for share_id in list(self._tasks):
            self._cancel(share_id)
        for cmd in self._waiting:
            self._finished(cmd, error=SHARE_CANCELLED)
        self._waiting.clear()

    def _cancel(self, share_id: int) -> None:
        task = self._tasks.get(share_id)
        if task is not None:
            task.cancel()
            return
        for cmd in self._waiting:
            if cmd.share_id == share_id:
                self._waiting.remove(cmd)
                self._finished(cmd, error=SHARE_CANCELLED)
                return

    def _start(self, token: str) -> None:
        waiting, self._waiting = self._waiting, []
        for cmd in waiting:
            task = asyncio.get_running_loop().create_task(self._upload(cmd, token))
            self._tasks[cmd.share_id] = task

    async def _upload(self, cmd: ShareFile, token: str) -> None:
        path = Path(cmd.path)
        shown = -1.0

        def progress(sent: int, total: int) -> None:
            nonlocal shown
            if total and (sent == total or sent / total - shown >= PROGRESS_STEP):
                shown = sent / total
                self.emit(
                    ShareProgress(cmd.server_id, cmd.target, cmd.share_id, path.name, sent, total)
                )

        try:
            shared = await upload_file(
                self.session.state.filehost,
                path,
                token=token,
                fingerprint=self.fingerprint(),
                progress=progress,
            )
        except UploadError as e:
            self._finished(cmd, error=str(e))
        except asyncio.CancelledError:
            self._finished(cmd, error=SHARE_CANCELLED)
        else:
            self.say(cmd.target, share_text(shared.name, shared.size, shared.url))
            self._finished(cmd, url=shared.url)
        finally:
            self._tasks.pop(cmd.share_id, None)

    def _finished(self, cmd: ShareFile, *, url: str = "", error: str = "") -> None:
        name = Path(cmd.path).name
        self.emit(ShareFinished(cmd.server_id, cmd.target, cmd.share_id, name, url, error))
