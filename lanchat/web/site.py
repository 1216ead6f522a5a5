"""The web edge of `lanchat serve`: the page, /api/rooms and IRC over WebSocket in one app.

Layer: asyncio edge; may import aiohttp, lanchat.server (state, hub), lanchat.discovery and
lanchat.web.*. Runs on the server's own loop, beside the IRC listener (issue 16: "one process").
Specs: https://ircv3.net/specs/extensions/websocket (subprotocols, one line per message);
RFC 6455 section 4.2.2 (subprotocol), 10.2 (Origin); CSP level 3
https://www.w3.org/TR/CSP3/ (`'self'`, `frame-ancestors`).

Routes::

    GET /            the page (static/index.html), or IRC over WebSocket when it asks to upgrade
    GET /irc         IRC over WebSocket only
    GET /api/rooms   this server's public rooms and the rooms other lanchat servers advertise
    /files...        shared files: uploads and downloads (lanchat.web.files, issue 21)
    GET /<file>      the other files of static/ (no directory listing, no symlinks out)

Policies a reader might question:
- A WebSocket whose Origin is not the page's own (same host:port as the Host header) is
  refused with 403: any web page a person on the LAN opens could otherwise chat in their name
  (cross-site WebSocket hijacking). A request without Origin is not from a browser page (an
  IRC bot, a web IRC client's server side) and is allowed, like a TCP connection is.
- Every response, errors and the upgrade included, carries a Content-Security-Policy without
  'unsafe-inline': a nick or a message that slips through the page's escaping cannot run.
- A request whose Host header is not an IP address, localhost or a name of this machine gets
  421: that is DNS rebinding, a site on the Internet whose name was made to point at this
  server, from where its scripts could read the rooms through a visitor's browser (the Origin
  check cannot see it, as page and WebSocket then share the attacker's origin).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler

from lanchat.discovery.browser import RoomBrowser
from lanchat.discovery.events import RoomEvent
from lanchat.discovery.records import RoomAd
from lanchat.server.hub import Hub
from lanchat.web.files import FileHost
from lanchat.web.frames import SUBPROTOCOLS, FrameCache
from lanchat.web.rooms import rooms_document
from lanchat.web.transport import WebConnection

__all__ = [
    "STATIC_DIR",
    "WebSite",
    "content_security_policy",
    "host_allowed",
    "own_names",
    "same_origin",
]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
# aiohttp closes a connection whose frame passes this (1009, "message too big") without
# reading it all; below it, a frame over the IRC line limit gets 417 and the connection stays.
# Four times the longest line (tags + body) keeps a client bug's reply readable and bounds the
# memory one frame can take.
_MAX_FRAME_FACTOR = 4
_BACKLOG = 4096  # a class opening the page at once must not see refused connections
_SHUTDOWN_TIMEOUT_S = 1.0  # WebSockets are closed through the hub before this is needed
_SAFE_HOST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")


def content_security_policy(host: str) -> str:
    """The Content-Security-Policy of every response.

    Args:
        host: the request's Host header (host[:port]); the page's WebSocket goes back to it.

    Returns:
        The header value: everything from this origin only, no inline script or style, images
        also as data: URLs (the QR code), never inside a frame.
    """
    # 'self' covers ws: of the same host in CSP 3; the explicit ws:// source is for browsers
    # that predate it. A Host with anything but host-name characters is left out of the header.
    connect = "'self'"
    if host and set(host) <= _SAFE_HOST:
        connect += f" ws://{host} wss://{host}"
    return (
        f"default-src 'self'; connect-src {connect}; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def same_origin(origin: str, host: str) -> bool:
    """Whether a WebSocket's Origin header names the page's own origin (RFC 6455 10.2).

    Args:
        origin: the Origin header, e.g. "http://192.168.1.5:8080".
        host: the Host header the request came with, e.g. "192.168.1.5:8080".

    Returns:
        True when the Origin is http(s) and its host and port equal the Host header's
        (the scheme's default port when either leaves it out).
    """
    try:
        page, mine = urlsplit(origin), urlsplit(f"//{host}")
        if page.scheme not in ("http", "https") or not page.hostname:
            return False
        default = 443 if page.scheme == "https" else 80
        return page.hostname == mine.hostname and (page.port or default) == (mine.port or default)
    except ValueError:  # a port that is not a number, an unbalanced IPv6 bracket
        return False


def own_names(extra: tuple[str, ...] = ()) -> frozenset[str]:
    """The host names the page may be opened under besides IP literals and localhost.

    Args:
        extra: more names of this machine ([web] hostnames), e.g. "chat.office.lan".

    Returns:
        This machine's host name, short and with ".local" (mDNS), and `extra`; lower case.
    """
    full = socket.gethostname().lower()
    short = full.split(".")[0]
    return frozenset({full, short, f"{short}.local", *(name.lower() for name in extra)})


def host_allowed(host: str, names: frozenset[str]) -> bool:
    """Whether a Host header names this server rather than someone else's domain.

    Args:
        host: the Host header (host[:port]; IPv6 in brackets).
        names: own_names().

    Returns:
        True for an IP literal, localhost (or a name under .localhost) and `names`.
    """
    try:
        hostname = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    if not hostname:
        return False
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return hostname in names or hostname == "localhost" or hostname.endswith(".localhost")
    return True


def _ignore(event: RoomEvent) -> None:
    """The LAN browser's events: /api/rooms reads its list when asked, so none is needed."""


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    # A shared file brings its own (sandbox; lanchat.web.sharing).
    headers.setdefault("Content-Security-Policy", content_security_policy(request.host))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"


class WebSite:
    """The aiohttp app and its listener for one running server. Loop thread only."""

    def __init__(self, hub: Hub, *, is_own: Callable[[RoomAd], bool]) -> None:
        """Build the app.

        Args:
            hub: the server's hub: WebSocket users join its connections like TCP users, and
                /api/rooms reads its state and configuration.
            is_own: whether a room seen on the LAN is this server's own (left out of "lan").
        """
        self.hub = hub
        self.is_own = is_own
        # Rooms of other servers, when mDNS is on; browsed from start() to close().
        self._lan: RoomBrowser | None = None
        self.port = 0  # the bound port, known after start()
        self._cache = FrameCache()  # every web connection's outgoing frames
        self._max_frame = hub.max_line_bytes * _MAX_FRAME_FACTOR
        self._names = own_names(hub.config.web.hostnames)
        app = web.Application(middlewares=[self._only_own_names])
        app.on_response_prepare.append(_security_headers)
        app.router.add_get("/", self._root)
        app.router.add_get("/irc", self._websocket)
        app.router.add_get("/api/rooms", self._rooms)
        # Shared files (issue 21); their routes go before the catch-all static one.
        self.files = FileHost(hub) if hub.config.files.enabled else None
        if self.files is not None:
            self.files.add_routes(app.router)
        app.router.add_static("/", STATIC_DIR)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT_S
        )
        self._site: web.SockSite | None = None

    async def start(self, sock: socket.socket, tls: ssl.SSLContext | None = None) -> None:
        """Serve on the listening socket `sock` (already bound, so errors are the caller's),
        over HTTPS with `tls` (the server's certificate, `lanchat serve --web-tls`)."""
        await self._runner.setup()
        self._site = web.SockSite(self._runner, sock, backlog=_BACKLOG, ssl_context=tls)
        await self._site.start()
        self.port = int(sock.getsockname()[1])
        if self.files is not None:
            await self.files.start(self.port)
        discovery = self.hub.config.discovery
        if discovery.enabled:
            self._lan = RoomBrowser(_ignore, interfaces=discovery.interfaces)
            await self._lan.start()

    async def stop_accepting(self) -> None:
        """Close the listener; open WebSockets go on until the hub closes them."""
        if self._site is not None:
            site, self._site = self._site, None
            await site.stop()

    async def close(self) -> None:
        """Stop accepting and end every HTTP connection still open."""
        await self.stop_accepting()
        if self.files is not None:
            await self.files.close()
        if self._lan is not None:
            lan, self._lan = self._lan, None
            await lan.close()
        await self._runner.cleanup()

    # ------------------------------------------------------------------ handlers

    @web.middleware
    async def _only_own_names(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host")
        if host is not None and not host_allowed(host, self._names):
            log.info("refused a request from %s for host %r", request.remote, host)
            raise web.HTTPMisdirectedRequest(
                text=f"This lanchat server is not {host}; open it by its IP address, or add the "
                "name to [web] hostnames.\n"
            )
        return await handler(request)

    async def _root(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        return web.FileResponse(STATIC_DIR / "index.html")

    async def _rooms(self, request: web.Request) -> web.Response:
        config, state = self.hub.config, self.hub.state
        lan = [] if self._lan is None else [a for a in self._lan.rooms() if not self.is_own(a)]
        body = json.dumps(rooms_document(config.server.name, state, lan), ensure_ascii=False)
        return web.Response(
            text=body, content_type="application/json", headers={"Cache-Control": "no-store"}
        )

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and not same_origin(origin, request.host):
            log.info("refused a WebSocket from %s: Origin %s", request.remote, origin)
            raise web.HTTPForbidden(
                text=f"WebSocket from another site ({origin}) refused; open this server's page.\n"
            )
        ws = web.WebSocketResponse(
            protocols=SUBPROTOCOLS,
            compress=False,  # frames are written raw (lanchat.web.frames), never deflated
            max_msg_size=self._max_frame,
            decode_text=False,  # invalid UTF-8 is the parser's to answer, as on TCP
            autoping=True,
        )
        await ws.prepare(request)
        transport = request.transport
        if transport is None:  # the peer left during the handshake
            return ws
        conn = WebConnection(
            self.hub, transport, request.protocol, subprotocol=ws.ws_protocol, cache=self._cache
        )
        conn.admit()
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT or msg.type is WSMsgType.BINARY:
                    conn.frame_received(msg.data)
        finally:
            error = ws.exception()
            conn.connection_lost(error if isinstance(error, Exception) else None)
        return ws
