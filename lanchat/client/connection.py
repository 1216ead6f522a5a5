"""The asyncio driver of one client connection: sockets, reconnects and backoff.

Layer: asyncio edge of the client; may import asyncio, lanchat.protocol and lanchat.client.*;
never tkinter, the server or the store. All protocol decisions are in the sans-I/O
`ClientSession`; this module moves bytes and keeps time.

Spec: https://modern.ircdocs.horse/#connection-registration (what is sent when a connection
opens) and https://ircv3.net/specs/extensions/chathistory (filling the gap after a reconnect,
done by the session when it rejoins).

Reconnect policy: the first connection either registers or ends with `ConnectFailed` (a wrong
address or password is the person's to fix, retrying would only hide it). Once registered, a
lost connection is retried with exponential backoff, 1, 2, 4 ... at most 30 s, each delay
jittered by +-20% so that a room's clients do not all come back in the same instant after a
server restart (issue #3, "reconnects with backoff").

Several addresses (issue 20): a room served by a cluster of lanchat servers gives one address
per node (`alternates`). Each attempt tries them in turn, each with a short connect timeout,
starting with the one that answered last; when a registered connection drops, the next round
starts at once (spread over half a second) with another node, the one that dropped last, and
the session rejoins its rooms and fills the gap from CHATHISTORY as after any reconnect
(every node of a cluster gives the same msgids and the same history). Only when no node
answers does the backoff above apply. Each node has its own certificate, checked against its
own advertised fingerprint and pin.

TLS (issue #17): the certificate is checked by its fingerprint (lanchat.client.pins), right
after the handshake and before a single line is sent; a certificate that is not the expected
one ends the connection for good (CertificateMismatch or CertificateUnknown, then
ConnectFailed) until `trust()` says otherwise. No certificate authority is consulted: there
is none on a LAN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import ssl
from collections.abc import Callable, Sequence

from lanchat.client.events import (
    Action,
    CancelShare,
    CertificateMismatch,
    CertificateUnknown,
    ChangeNick,
    ClientEvent,
    ConnectFailed,
    Connecting,
    Disconnected,
    Endpoint,
    FetchThumbnail,
    GuiCommand,
    Join,
    MarkRead,
    Part,
    Reconnect,
    Redact,
    RegisterAccount,
    Registered,
    RequestHistory,
    Say,
    Search,
    SendRaw,
    ServerError,
    SetAway,
    SetTopic,
    ShareFile,
    ShowContext,
)
from lanchat.client.pins import Accepted, PinStore, check, not_trusted
from lanchat.client.session import ClientSession
from lanchat.client.sharing import Sharing
from lanchat.client.thumbnails import Thumbnails
from lanchat.discovery.records import fingerprint_of
from lanchat.errors import ProtocolError
from lanchat.protocol import LineReader, TooLong, parse

__all__ = ["ClientConnection", "backoff_s", "connect_hint", "describe_connect_error"]

log = logging.getLogger(__name__)

_READ_BYTES = 65536
_CONNECT_TIMEOUT_S = 10.0  # a LAN host answers in milliseconds; 10 s means it is not there
_NODE_TIMEOUT_S = 2.0  # the same, with other nodes to try: do not keep people waiting
_FAILOVER_SPREAD_S = 0.5  # a dead node's clients come to the others over this long, not at once
_QUIT_TIMEOUT_S = 2.0  # how long a polite QUIT waits for the server to close


def backoff_s(attempt: int, initial_s: float, max_s: float, rng: Callable[[], float]) -> float:
    """The delay before reconnect attempt `attempt` (1, 2, ...): initial_s * 2**(attempt-1),
    capped at `max_s`, times a jitter factor between 0.8 and 1.2.

    Args:
        attempt: the number of the attempt about to be made, from 1.
        initial_s: the delay before the first retry.
        max_s: the longest delay.
        rng: a uniform random number in [0, 1) (injected so tests are exact).

    Returns:
        Seconds to wait.
    """
    base = min(max_s, initial_s * 2.0 ** min(attempt - 1, 30))
    return base * (0.8 + 0.4 * rng())


def connect_hint(error: BaseException, host: str, port: int) -> str:
    """Plain words saying what to do when connecting to `host`:`port` failed with `error`.

    Args:
        error: the exception from opening the connection.
        host: the host we tried.
        port: the port we tried.

    Returns:
        A one-line hint.
    """
    if isinstance(error, ConnectionRefusedError):
        return f"Nobody is answering at {host}:{port}: is the room still running?"
    if isinstance(error, socket.gaierror):
        return f"Cannot find the computer “{host}”: check the name, or use its IP address"
    if isinstance(error, TimeoutError):
        return f"{host}:{port} does not answer: check the address and that you are on its network"
    if isinstance(error, ssl.SSLError):
        return f"{host}:{port} does not speak TLS: check the port (lanchat's TLS port is 6697)"
    return f"Cannot reach {host}:{port}: check the address and your network connection"


class ClientConnection:
    """One connection to one server, kept alive until `quit()`. Loop thread only.

    Events go to `emit` (called on the loop thread) in the order they happen.
    """

    def __init__(
        self,
        session: ClientSession,
        host: str,
        port: int,
        emit: Callable[[ClientEvent], None],
        *,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        idle_ping_s: float = 60.0,
        register_timeout_s: float = 30.0,
        rng: Callable[[], float] = random.random,
        tls: bool = False,
        fingerprint: str = "",
        pin_key: str = "",
        pins: PinStore | None = None,
        alternates: Sequence[Endpoint] = (),
    ) -> None:
        """Prepare a connection; nothing happens until `start()`.

        Args:
            session: the sans-I/O session (its `server_id` labels the events).
            host: the server's host name or IP address.
            port: the server's TCP port.
            emit: receives every event, on the loop thread.
            backoff_initial_s: delay before the first reconnect attempt.
            backoff_max_s: the longest delay between attempts.
            idle_ping_s: after this long without a line from the server we PING it; after
                twice this long the connection is considered dead.
            register_timeout_s: how long the server may take to let us in (a port that
                accepts but never speaks IRC is given up on after this).
            rng: uniform random numbers for the backoff jitter.
            tls: `port` is a TLS port: connect with TLS and check the certificate.
            fingerprint: the certificate fingerprint the room advertises (TXT fp=), or "".
            pin_key: whose pin to check and keep ("" for "host:port").
            pins: the remembered fingerprints (None: the user's pins.json).
            alternates: the room's other nodes, tried in turn when one does not answer.
        """
        self.session = session
        # every address of the room, the one given first; `host`, `port`, `tls`, `fingerprint`
        # and `pin_key` below are those of the one in use (or tried) now
        self.endpoints = (Endpoint(host, port, tls, fingerprint, pin_key), *alternates)
        self._next = 0  # index in `endpoints` of the one to try first: the one that answered last
        self.host = host
        self.port = port
        self.emit = emit
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.idle_ping_s = idle_ping_s
        self.register_timeout_s = register_timeout_s
        self.rng = rng
        self.tls = tls
        self.fingerprint = fingerprint
        self.pin_key = pin_key or f"{host}:{port}"
        any_tls = any(e.tls for e in self.endpoints)
        self.pins = pins if pins is not None else (PinStore() if any_tls else None)
        # The fingerprint of the certificate this connection accepted ("" before, or on plain
        # TCP): `lanchat serve --web-tls` uses the same certificate for the upload URL.
        self.trusted = ""
        self._writer: asyncio.StreamWriter | None = None  # None while not connected
        self._task: asyncio.Task[None] | None = None  # run(), until quit
        self._quitting = False  # set by quit(): stop reconnecting
        self._wake = asyncio.Event()  # ends a backoff wait early (quit or Reconnect)
        # Files shared from this connection (issue 21): the link goes out as an ACTION.
        self.sharing = Sharing(
            session,
            emit,
            lambda target, text: self.handle(Action(self.server_id, target, text)),
            self._flush,
            lambda: self.trusted or self.fingerprint,
        )
        self.thumbnails = Thumbnails(session, emit)  # previews of images shared on the server

    @property
    def server_id(self) -> str:
        """The GUI's name for this connection."""
        return self.session.server_id

    @property
    def preferred(self) -> Endpoint:
        """The address tried first at the next attempt: the one that answered last."""
        return self.endpoints[self._next]

    @property
    def connected(self) -> bool:
        """True while a TCP connection is open."""
        return self._writer is not None

    def start(self) -> None:
        """Loop thread only. Start connecting in a task of its own."""
        self._task = asyncio.get_running_loop().create_task(
            self.run(), name=f"lanchat-client-{self.server_id}"
        )

    def _use(self, endpoint: Endpoint) -> None:
        self.host, self.port, self.tls = endpoint.host, endpoint.port, endpoint.tls
        self.fingerprint = endpoint.fingerprint
        self.pin_key = endpoint.pin_key or f"{endpoint.host}:{endpoint.port}"

    async def _open(
        self, attempt: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | BaseException:
        """Open a connection to the first address that answers, starting with the preferred
        one; the one that answers is preferred from now on.

        Returns:
            The streams, or the error of the last address tried.
        """
        count = len(self.endpoints)
        timeout_s = _CONNECT_TIMEOUT_S if count == 1 else _NODE_TIMEOUT_S
        error: BaseException = TimeoutError()
        for i in range(count):
            index = (self._next + i) % count
            self._use(self.endpoints[index])
            self.emit(Connecting(self.server_id, self.host, self.port, attempt))
            try:
                streams = await asyncio.wait_for(
                    asyncio.open_connection(
                        self.host, self.port, limit=_READ_BYTES, ssl=_tls_context(self.tls)
                    ),
                    timeout_s,
                )
            except (OSError, TimeoutError) as e:
                error = e
                if self._quitting:
                    break
                continue
            self._next = index
            return streams
        return error

    async def run(self) -> None:
        """Connect, read until the connection drops, and reconnect with backoff until quit."""
        attempt = 1
        ever_registered = False
        while not self._quitting:
            opened = await self._open(attempt)
            failover = False
            if isinstance(opened, BaseException):
                reason = describe_connect_error(opened, self.host, self.port)
                if len(self.endpoints) > 1:
                    reason = f"None of the room's {len(self.endpoints)} servers answered ({reason})"
                if not ever_registered:
                    hint = connect_hint(opened, self.host, self.port)
                    self.emit(ConnectFailed(self.server_id, reason, hint))
                    return
            else:
                reader, writer = opened
                if self._quitting:  # quit() came while the connection was being opened
                    writer.close()
                    break
                if self.tls and not self._certificate_trusted(writer):
                    writer.close()
                    self.emit(ConnectFailed(self.server_id, *not_trusted(self.host, self.port)))
                    return
                registered, reason, refusal = await self._serve(reader, writer)
                if registered:
                    ever_registered, attempt = True, 1
                if self._quitting:
                    break
                if not ever_registered:
                    self.emit(ConnectFailed(self.server_id, reason, refusal))
                    return
                if registered and len(self.endpoints) > 1:
                    # Its node is probably gone: go to the next one now, try this one last.
                    failover = True
                    self._next = (self._next + 1) % len(self.endpoints)
            if failover:
                delay = _FAILOVER_SPREAD_S * self.rng()
            else:
                delay = backoff_s(attempt, self.backoff_initial_s, self.backoff_max_s, self.rng)
            self.emit(Disconnected(self.server_id, reason, True, delay))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            attempt += 1
        self.emit(Disconnected(self.server_id, "You left the server", False, 0.0))

    def _certificate_trusted(self, writer: asyncio.StreamWriter) -> bool:
        """Check the server's certificate against the advertised and the pinned fingerprint;
        say why not in an event when it is not trusted."""
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        got = fingerprint_of(der)
        assert self.pins is not None
        verdict = check(got, advertised=self.fingerprint, pinned=self.pins.get(self.pin_key))
        if isinstance(verdict, Accepted):
            if verdict.pin:
                self._pin(got)
            self.trusted = got
            return True
        if verdict.source == "unknown":
            self.emit(CertificateUnknown(self.server_id, got))
        else:
            self.emit(CertificateMismatch(self.server_id, verdict.expected, got, verdict.source))
        return False

    def _pin(self, fingerprint: str) -> None:
        assert self.pins is not None
        try:
            self.pins.set(self.pin_key, fingerprint)
        except OSError as e:
            self.emit(
                ServerError(
                    self.server_id,
                    "pins",
                    f"Could not remember the certificate in {self.pins.path} ({e.strerror})",
                    "It is trusted for this run only",
                )
            )

    def trust(self, fingerprint: str) -> None:
        """Loop thread only. Pin `fingerprint` for this server (replacing any pin) and connect
        again: the answer to CertificateMismatch or CertificateUnknown. Does nothing on a plain
        TCP connection."""
        if not self.tls:
            return
        self._pin(fingerprint)
        if self._task is None or self._task.done():
            self._quitting = False
            self.start()
        else:
            self.reconnect_now()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[bool, str, str]:
        """Run one TCP connection to its end.

        Returns:
            Whether we got registered, why the connection ended, and what to do about it if
            the server turned us away before registration (the hint of its last error).
        """
        self._writer = writer
        lines = LineReader()
        registered = False
        refusal = "The server closed the connection; check the address (is it a lanchat room?)"
        idle = False  # we sent a PING and wait for any line
        reason = "The connection was closed by the server"
        loop = asyncio.get_running_loop()
        register_deadline = loop.time() + self.register_timeout_s
        try:
            self.session.start()
            self._flush()
            while True:
                wait_s = self.idle_ping_s
                if not self.session.welcomed:
                    wait_s = max(0.0, register_deadline - loop.time())
                try:
                    data = await asyncio.wait_for(reader.read(_READ_BYTES), wait_s)
                except TimeoutError:
                    if not self.session.welcomed:
                        reason = (
                            f"The server did not let us in within {self.register_timeout_s:g} s"
                        )
                        break
                    if idle:
                        reason = f"The server did not answer for {2 * self.idle_ping_s:.0f} s"
                        break
                    idle = True
                    self._write_line("PING :lanchat")
                    continue
                if not data:
                    reason = self.session.last_error or reason
                    break
                idle = False
                for line in lines.feed(data):
                    for event in self._receive(line):
                        registered = registered or isinstance(event, Registered)
                        if isinstance(event, ServerError) and event.hint and not registered:
                            refusal = event.hint
                        self.emit(event)
                self._flush()
                await writer.drain()
        except OSError as e:
            reason = f"The connection broke ({e.strerror or e.__class__.__name__})"
        finally:
            self._writer = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return registered, reason, refusal

    def _receive(self, line: bytes | TooLong) -> list[ClientEvent]:
        if isinstance(line, TooLong):
            log.warning("%s: dropped an over-long line from the server", self.server_id)
            return []
        try:
            msg = parse(line)
        except ProtocolError as e:
            log.warning("%s: dropped a malformed line from the server: %s", self.server_id, e)
            return []
        log.debug("%s < %s", self.server_id, msg.to_line())
        try:
            return self.sharing.take(self.session.feed(msg))
        except Exception:
            # A bug in the session must not silently end the connection (the window would
            # wait forever): log it with its traceback and carry on with the next line.
            log.exception("%s: could not handle %r", self.server_id, msg.to_line())
            return []

    def _flush(self) -> None:
        """Write what the session queued (dropped while not connected: the session sends what
        matters again on the next connection, rooms included)."""
        for msg in self.session.data_to_send():
            if self._writer is not None:
                log.debug("%s > %s", self.server_id, msg.to_line())
                self._writer.write(msg.to_bytes())

    def _write_line(self, line: str) -> None:
        if self._writer is not None:
            self._writer.write(line.encode("utf-8") + b"\r\n")

    def handle(self, cmd: GuiCommand) -> None:
        """Loop thread only. Carry out a command aimed at this server.

        Messages typed while disconnected are not queued (they would arrive out of context
        minutes later); a ServerError says so instead.
        """
        if isinstance(cmd, Say | Action) and not (self.connected and self.session.welcomed):
            self.emit(
                ServerError(
                    self.server_id,
                    "not-connected",
                    "Your message was not sent: not connected",
                    "Wait until the connection is back, then send it again",
                )
            )
            return
        try:
            events = self._apply(cmd)
        except ProtocolError as e:
            # e.g. a NUL or a line break in a topic: nothing of the command is sent.
            self.session.data_to_send()
            self.emit(
                ServerError(
                    self.server_id, "invalid", str(e), "Remove line breaks and control characters"
                )
            )
            return
        for event in events:
            self.emit(event)
        self._flush()

    def _apply(self, cmd: GuiCommand) -> list[ClientEvent]:
        """Hand `cmd` to the session; its lines wait in the session's outbox.

        Raises:
            ProtocolError: the command cannot be put into a valid IRC line.
        """
        if isinstance(cmd, Say | Action):
            return self.session.say(cmd.target, cmd.text, action=isinstance(cmd, Action))
        if isinstance(cmd, Join):
            self.session.join(cmd.room, cmd.key)
        elif isinstance(cmd, Part):
            self.session.part(cmd.room, cmd.reason)
        elif isinstance(cmd, ChangeNick):
            self.session.change_nick(cmd.nick)
        elif isinstance(cmd, SetTopic):
            self.session.set_topic(cmd.room, cmd.topic)
        elif isinstance(cmd, SetAway):
            self.session.set_away(cmd.message)
        elif isinstance(cmd, RequestHistory):
            self.session.request_history(cmd.target, cmd.before_msgid, cmd.limit)
        elif isinstance(cmd, Reconnect):
            self.reconnect_now()
        elif isinstance(cmd, SendRaw):
            self.session.send_raw(cmd.line)
        elif isinstance(cmd, Redact):
            self.session.redact(cmd.target, cmd.msgid)
        elif isinstance(cmd, Search):
            self.session.history.search(cmd.target, cmd.text)
        elif isinstance(cmd, ShowContext):
            self.session.history.around(cmd.target, cmd.msgid)
        elif isinstance(cmd, MarkRead):
            self.session.mark_read(cmd.target, cmd.time_ms)
        elif isinstance(cmd, RegisterAccount):
            self.session.register_account(cmd.password)
        elif isinstance(cmd, ShareFile | CancelShare):
            self.sharing.handle(cmd)
        elif isinstance(cmd, FetchThumbnail):
            self.thumbnails.handle(cmd)
        return []

    def reconnect_now(self) -> None:
        """Loop thread only. End the current backoff wait and try at once (no-op while
        connected)."""
        if not self.connected:
            self._wake.set()

    async def quit(self, reason: str = "", timeout_s: float = _QUIT_TIMEOUT_S) -> None:
        """Loop thread only. Send QUIT, wait up to `timeout_s` for the server to close, stop
        reconnecting. Ends with Disconnected(will_retry=False)."""
        self._quitting = True
        self._wake.set()
        self.sharing.cancel_all()
        self.thumbnails.cancel_all()
        if self._writer is not None:
            self.session.quit(reason)
            self._flush()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except TimeoutError:
            # The server did not close in time: close our side; the goodbye was said.
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self.emit(Disconnected(self.server_id, "You left the server", False, 0.0))


def _tls_context(tls: bool) -> ssl.SSLContext | None:
    """The client TLS context: the certificate is checked by fingerprint, not by a CA."""
    if not tls:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False  # a LAN address has no name a CA could vouch for
    context.verify_mode = ssl.CERT_NONE  # _certificate_trusted checks the fingerprint
    return context


def describe_connect_error(error: BaseException, host: str, port: int) -> str:
    """What went wrong opening a connection to `host`:`port`, in plain words.

    Never the exception's own text: asyncio's reads "Connect call failed ('10.0.0.9', 6667)"
    (a Python repr) and a lookup failure names a C function (issue #15, bug 10). The errno
    is said by the system's message for it ("No route to host").

    Args:
        error: the exception from opening the connection.
        host: the host we tried.
        port: the port we tried.

    Returns:
        One sentence without a full stop.
    """
    if isinstance(error, TimeoutError):
        return f"Connecting to {host}:{port} timed out"
    if isinstance(error, ConnectionRefusedError):
        return f"Connection to {host}:{port} refused"
    if isinstance(error, socket.gaierror):
        return f"There is no computer called “{host}” on this network"
    if isinstance(error, ssl.SSLError):  # its errno is OpenSSL's, not the system's
        return f"{host}:{port} did not answer with TLS"
    errno = getattr(error, "errno", None)
    if isinstance(errno, int) and errno > 0:
        return f"Cannot connect to {host}:{port}: {os.strerror(errno).lower()}"
    return f"Cannot connect to {host}:{port}"
