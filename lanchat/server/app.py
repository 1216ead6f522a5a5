"""The running lanchat server: start-up, the listening sockets, mDNS, the tick, signals, shutdown.

Layer: asyncio edge (top of the server); may import asyncio, socket, the pure server core,
lanchat.server.{connection,hub,heap}, lanchat.store.writer and lanchat.discovery.advertiser.
Spec: issue #2 ("What a user does", "History and durability", "Discovery").

Start-up, in this order, so that every failure is one clear line before anyone can connect::

    StoreWriter(db)       StoreError: corrupt / not a database / unwritable -> one line, exit 2
                          ([store] fsync = true: every commit is fsynced, surviving power loss)
    load_rooms()          rooms (topic, modes, key) as they were when the server last stopped
                          (with --cluster: none; RedisBus.start() replays the cluster's log
                          and appends this node's hello, ClusterError -> one line, exit 2)
    certificate           [tls]: load it, or make one in the data dir at the first start (#17);
                          a bad --cert/--cert-key -> one line, exit 2
    bind                  "port 6667 on 0.0.0.0 is already in use ..." -> one line, exit 2
                          (the plain port, then the TLS port: one more way into the same hub)
    Advertiser            every non-secret room published (unless --no-mdns)
    tick                  ServerState.tick() once a second (PINGs, timeouts)
    print                 version and server name, irc://ADDR:PORT/#room per LAN address,
                          the TLS port and certificate fingerprint, why rooms are not on the
                          LAN if they are not, "ready: port N"

Shutdown (SIGINT, SIGTERM, SIGHUP; with --stop-when-stdin-closes also the end of standard
input, which is how a launcher's rooms stop when the launcher ends), in this order: stop
accepting; ServerState.shutdown (every client gets ERROR) and wait until those bytes are
written; withdraw the rooms from mDNS (goodbye packets); close the store (everything pending
committed); exit 0. A cluster node that cannot go on (LanchatServer.failed: back after it was
taken for gone, the running nodes refused its settings) shuts down the same way, then exits 2
with the one line it would have said at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import signal
import socket
import ssl
import sys
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

import ifaddr

from lanchat import __version__
from lanchat.config import Config
from lanchat.discovery.advertiser import Advertiser
from lanchat.discovery.records import RoomAd
from lanchat.errors import ConfigError, LanchatError
from lanchat.server.certificate import Identity, load_identity
from lanchat.server.connection import KERNEL_SNDBUF, IrcConnection
from lanchat.server.hub import Hub
from lanchat.server.state import ServerState
from lanchat.server.tls import TlsListener
from lanchat.store.writer import StoreWriter

if TYPE_CHECKING:
    from lanchat.cluster.node import RedisBus
    from lanchat.cluster.replica import Replica
    from lanchat.web.site import WebSite

__all__ = ["LanchatServer", "advertised_interfaces", "join_urls", "running_server", "serve"]

log = logging.getLogger(__name__)

TICK_S = 1.0  # ServerState.tick() period: timeouts are whole seconds
SHUTDOWN_REASON = "Server shutting down"
_BACKLOG = 4096  # a LAN party connecting at once must not see refused connections
_DRAIN_TIMEOUT_S = 5.0  # shutdown: longest wait for goodbyes to be written and peers to close
_ADVERTISE_TIMEOUT_S = 5.0  # start-up: longest wait for mDNS announcements before "ready"
SWITCH_INTERVAL_S = 0.001  # sys.setswitchinterval of `lanchat serve` (see serve())


def _tcp(sock: socket.socket) -> socket.socket:
    """`sock` with its protocol named IPPROTO_TCP, so that asyncio turns Nagle off (issue 19).

    socket.create_server leaves the protocol 0 and accepted sockets copy it; the standard loop
    sets TCP_NODELAY only on sockets whose protocol is IPPROTO_TCP (base_events._set_nodelay,
    selector and proactor alike), uvloop on every TCP socket. With Nagle on, a write waited
    for the ACK of the one before it, which the client delays by up to 40 ms: 1-2 % of a busy
    room's messages came 30-46 ms late on the standard loop (docs/benchmarks.md).
    """
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())


def _listen(host: str, port: int, flag: str = "--port", kind: str = "IRC") -> socket.socket:
    """A listening TCP socket on `host`:`port`; "::" is dual-stack (IPv6 and IPv4).

    `flag` is the option the errors tell people to change the port with, `kind` the kind of
    server that may hold it ("IRC", "web").

    Raises:
        ConfigError: the port is in use, not allowed, or `host` is not an address of this
            machine.
    """
    where = f"port {port} on {host}"
    try:
        if host == "::":
            return _tcp(
                socket.create_server(
                    ("::", port),
                    family=socket.AF_INET6,
                    backlog=_BACKLOG,
                    dualstack_ipv6=socket.has_dualstack_ipv6(),
                )
            )
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return _tcp(socket.create_server(address, family=family, backlog=_BACKLOG))
    except socket.gaierror as e:
        raise ConfigError(
            f"cannot listen on {host!r}: {e.strerror}; give an IP address of this machine with "
            "--host (0.0.0.0 for every IPv4 interface, :: for IPv6 too)"
        ) from None
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"{where} is already in use (another lanchat or {kind} server?); stop it or pick "
                f"another port with {flag}"
            ) from None
        if e.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(
                f"cannot listen on {host}: it is not an address of this machine; pick one with "
                "--host (0.0.0.0 for every IPv4 interface)"
            ) from None
        if e.errno == errno.EACCES:
            raise ConfigError(
                f"not allowed to listen on {where} (ports below 1024 need administrator "
                f"rights); pick another port with {flag}"
            ) from None
        raise ConfigError(f"cannot listen on {where}: {e.strerror or e}") from None


def raise_open_file_limit() -> int | None:
    """Raise this process's soft open-file limit (RLIMIT_NOFILE) to its hard limit.

    Each connection is an open file, and desktops often start programs with a soft limit of
    1,024 while allowing far more (issue 13 item 7). Safe to call more than once.

    Returns:
        The soft limit now in force, or None where there is none to read (Windows).
    """
    try:
        import resource
    except ImportError:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # An unlimited hard limit (macOS) cannot be the soft one: ask for plenty instead.
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError) as e:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, want, e)
        else:
            log.info("raised the open-file limit from %d to %d", soft, want)
            soft = want
    return None if soft == resource.RLIM_INFINITY else soft


def _lan_addresses(want_v6: bool) -> list[str]:
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for entry in adapter.ips:
            if isinstance(entry.ip, str):
                found.append(entry.ip)
            elif want_v6:
                found.append(entry.ip[0])
    usable = []
    for text in found:
        ip = ipaddress.ip_address(text)
        # Link-local IPv6 needs a zone index nobody can type; loopback is not "the LAN".
        if not ip.is_loopback and not ip.is_link_local and text not in usable:
            usable.append(text)
    return usable


def join_urls(host: str, port: int, rooms: list[str], scheme: str = "irc") -> list[str]:
    """The irc:// URLs people can use to join, one per LAN address of this machine and room.

    Args:
        host: the listen address ("0.0.0.0" and "::" mean every interface).
        port: the bound port.
        rooms: room names, e.g. ["#lobby"].
        scheme: "irc", "ircs" for a TLS port, or "http" for the browser client's addresses
            (rooms [""]).

    Returns:
        Lines like "irc://192.168.1.5:6667/#lobby" (IPv6 addresses in brackets). Loopback
        appears only when the server listens on it, or when this machine has no LAN address.
    """
    if host in ("0.0.0.0", "::"):
        addresses = _lan_addresses(want_v6=host == "::") or ["127.0.0.1"]
    else:
        addresses = [host]
    urls = []
    for address in addresses:
        shown = f"[{address}]" if ":" in address else address
        urls += [f"{scheme}://{shown}:{port}/{room}" for room in rooms]
    return urls


def advertised_interfaces(bound: str, interfaces: Sequence[str]) -> tuple[str, ...] | str:
    """The interfaces to advertise rooms on, given the address the server listens on (#14).

    Advertising an address the server does not listen on sends everyone to a closed port.

    Args:
        bound: the listening socket's address ("0.0.0.0" or "::" for every interface).
        interfaces: [discovery] interfaces; empty means every LAN interface.

    Returns:
        The interface addresses for the Advertiser (empty: every LAN interface), or, when no
        LAN address is left, the sentence that tells the host why the rooms are not advertised.
    """
    if ipaddress.ip_address(bound).is_unspecified:
        return tuple(interfaces)
    if ipaddress.ip_address(bound).is_loopback:
        return (
            f"rooms are not advertised on the LAN: the server listens only on {bound}, which "
            "nobody else can reach; use --host 0.0.0.0 to let the LAN join"
        )
    if interfaces and bound not in interfaces:
        return (
            f"rooms are not advertised on the LAN: the server listens only on {bound}, which "
            "is not in [discovery] interfaces; add it there or use another --host"
        )
    return (bound,)


class LanchatServer:
    """One running server: store, state, listening sockets, advertiser, tick. Loop thread only.

    Use `running_server()` (tests) or `serve()` (the command line) rather than this directly.
    """

    def __init__(self, config: Config, *, debug: bool = False) -> None:
        self.config = config
        self.debug = debug  # log raw lines (lanchat serve -vv)
        self.port = 0  # the bound port, known after start() (the TLS port with --no-plain)
        self.tls_port = 0  # the bound TLS port, 0 without TLS
        self.identity: Identity | None = None  # the TLS certificate, None without TLS
        self.state: ServerState = None  # type: ignore[assignment]  # set by start()
        self.hub: Hub = None  # type: ignore[assignment]  # set by start()
        self._store: StoreWriter | None = None
        self._listeners: list[asyncio.Server] = []  # the plain port's
        self.tls_listener: TlsListener | None = None  # the TLS port: accept loop, handshakes
        self._bound_host = ""  # the address the IRC ports listen on, as bound (0.0.0.0, ::)
        self._advertiser: Advertiser | None = None
        self._tick: asyncio.TimerHandle | None = None
        self.not_advertised = ""  # why the rooms are not on the LAN although mDNS is on
        self.web: WebSite | None = None  # the browser client's HTTP server ([web] enabled)
        self.web_port = 0  # its bound port, known after start()
        self.cluster: RedisBus | None = None  # the cluster bus with --cluster (issue 20)
        # Why the server cannot go on (a cluster node back under a new number, refused for
        # its settings); `failed` is set then, and serve() stops it and exits 2 with the line.
        self.failure: LanchatError | None = None
        self.failed = asyncio.Event()

    async def start(self) -> None:
        """Open the store, restore rooms, listen, advertise, start the tick.

        Raises:
            StoreError: the database cannot be opened (corrupt, unwritable, newer schema).
            ConfigError: the port cannot be bound.
            DiscoveryError: mDNS advertising cannot start.
        """
        config = self.config
        open_files = raise_open_file_limit()
        self._store = StoreWriter(config.store.db_path, fsync_each_commit=config.store.fsync)
        try:
            replica = None
            if config.cluster.url:
                # The cluster's state is its log: the replica starts empty and applies it.
                from lanchat.cluster.replica import Replica

                replica = Replica(config)
                self.state = replica.state
            else:
                self.state = ServerState(
                    config, rooms=self._store.load_rooms(), accounts=self._store.load_accounts()
                )
            self.hub = Hub(
                config,
                self.state,
                self._store,
                on_room_changed=self._room_changed,
                debug=self.debug,
                open_files=open_files,
            )
            if replica is not None:
                await self._join_cluster(replica)
            if self.hub.admission.max_connections < config.limits.max_connections:
                log.info(
                    "only %d files may be open at once (ulimit -n): at most %d connections; "
                    "raise the hard limit to allow more",
                    open_files,
                    self.hub.admission.max_connections,
                )
            if config.tls.enabled:
                self.identity = load_identity(config)
            if config.tls.plain:
                self.port = await self._open_listener(config.server.port)
            if self.identity is not None:
                self.tls_port = self._open_tls_listener(self.identity.context)
            self.port = self.port or self.tls_port
            if config.web.enabled:
                await self._start_web()
            if config.discovery.enabled:
                bound = self._bound_host
                where = advertised_interfaces(bound, config.discovery.interfaces)
                if isinstance(where, str):
                    self.not_advertised = where
                else:
                    await self._advertise(where)
        except BaseException:
            await self._close_resources()
            raise
        self._tick = asyncio.get_running_loop().call_later(TICK_S, self._on_tick)

    async def _join_cluster(self, replica: Replica) -> None:
        """Become a node of the cluster of --cluster: the whole log applied, this node's hello."""
        try:
            from lanchat.cluster.node import RedisBus
        except ImportError:
            raise ConfigError(
                "--cluster needs the redis package: pip install 'lanchat[cluster]'"
            ) from None
        self.cluster = RedisBus(self.config, replica, self.hub, on_failure=self._fail)
        await self.cluster.start()

    def _fail(self, error: LanchatError) -> None:
        """The server cannot go on: `serve` stops it cleanly, then reports `error`."""
        log.info("stopping: %s", error)
        self.failure = error
        self.failed.set()

    async def _start_web(self) -> None:
        # Imported here: `lanchat serve --no-web` does not pay for importing aiohttp.
        from lanchat.web.site import WebSite

        sock = _listen(self.config.server.host, self.config.web.port, "--web-port", "web")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SNDBUF)
        self.web = WebSite(self.hub, is_own=self._is_own)
        # --web-tls: HTTPS with the certificate of the TLS port (issue #17).
        identity = self.identity if self.config.tls.web else None
        await self.web.start(sock, identity.context if identity is not None else None)
        self.web_port = self.web.port

    def _is_own(self, ad: RoomAd) -> bool:
        """Whether a room seen on the LAN is one this server advertises, or (with --cluster)
        another node's copy of it: a room of this server's cluster is this server's room too."""
        if self.cluster is not None and ad.cluster and ad.cluster == self.cluster.cluster_id:
            return True
        advertiser = self._advertiser
        return advertiser is not None and advertiser.instance(ad.room) == ad.instance

    async def _open_listener(self, port: int) -> int:
        """Listen for plain TCP on `port` into the hub; return the bound port."""
        sock = _listen(self.config.server.host, port)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SNDBUF)  # inherited
        # create_server listens again with its own backlog (default 100): pass ours.
        self._listeners.append(
            await asyncio.get_running_loop().create_server(
                partial(IrcConnection, self.hub), sock=sock, backlog=_BACKLOG
            )
        )
        self._bound_host, port = sock.getsockname()[:2]
        return int(port)

    def _open_tls_listener(self, context: ssl.SSLContext) -> int:
        """Listen for TLS on [tls] port into the same hub; return the bound port.

        After its handshake a TLS connection is an IrcConnection like any other, in the same
        hub: per-IP limit, flood control, SendQ, the IP in the hostmask. Before it, TlsListener
        holds it under [tls] max_handshakes and handshake_timeout_s (#17).
        """
        tls = self.config.tls
        sock = _listen(self.config.server.host, tls.port, "--tls-port")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SNDBUF)  # inherited
        # Inherited too: the loops turn Nagle off on each connection they make a transport
        # for, and TLS connections get ours (lanchat.server.tlstransport).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tls_listener = TlsListener(
            self.hub,
            sock,
            context,
            max_handshakes=tls.max_handshakes,
            handshake_timeout_s=tls.handshake_timeout_s,
        )
        self.tls_listener.start()
        self._bound_host, port = sock.getsockname()[:2]
        return int(port)

    async def _advertise(self, interfaces: tuple[str, ...]) -> None:
        advertiser = Advertiser(
            port=self.port,
            interfaces=interfaces,
            min_update_interval_s=self.config.discovery.txt_update_min_interval_s,
        )
        await advertiser.start()
        # Only a started advertiser takes RoomChanged; rooms changed before are published here.
        self._advertiser = advertiser
        for key in self.state.room_keys():
            self._room_changed(key)
        try:
            await asyncio.wait_for(advertiser.flush(), _ADVERTISE_TIMEOUT_S)
        except TimeoutError:
            log.warning("mDNS announcements are slow; rooms will appear on the LAN shortly")

    def _room_changed(self, key: str) -> None:
        advertiser = self._advertiser
        if advertiser is None:
            return
        info = self.state.room_info(key)
        if info is None or info.secret:
            advertiser.withdraw(key)
            return
        advertiser.publish(
            RoomAd(
                room=info.name,
                host=advertiser.host_label,
                port=self.port,
                users=info.user_count,
                topic=info.topic,
                key_required=info.key_required,
                web_port=self.web_port,
                tls=self.tls_port,
                fp=self.identity.fingerprint if self.identity is not None else "",
                cluster=self.cluster.cluster_id if self.cluster is not None else None,
            )
        )

    def _on_tick(self) -> None:
        self._tick = asyncio.get_running_loop().call_later(TICK_S, self._on_tick)
        if self.cluster is not None:
            self.cluster.tick()  # the tick is the log's: lanchat.cluster.replica
        else:
            self.hub.apply(self.state.tick())

    def public_rooms(self) -> list[str]:
        """Names of the rooms open now that are not secret (+s), sorted."""
        infos = (self.state.room_info(key) for key in self.state.room_keys())
        return sorted(info.name for info in infos if info is not None and not info.secret)

    async def stop(self, reason: str = SHUTDOWN_REASON) -> None:
        """Shut down in order: clients get ERROR, mDNS goodbyes, store flushed and closed.

        Loop thread only. Safe to call more than once.
        """
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        for listener in self._listeners:
            listener.close()
        if self.tls_listener is not None:
            await self.tls_listener.close()
        if self.web is not None:
            await self.web.stop_accepting()
        if self.cluster is not None:
            await self.cluster.close(reason)  # this node's users quit everywhere now
        if self.hub is not None:
            self.hub.apply(self.state.shutdown(reason))
            try:
                await asyncio.wait_for(self._drain(), _DRAIN_TIMEOUT_S)
            except TimeoutError:
                log.warning("some clients did not take their goodbye in time; dropping them")
            self.hub.abort_all()
        await self._close_resources()

    async def _drain(self) -> None:
        await self.hub.wait_idle()  # the goodbyes are written (after any commit before them)
        await self.hub.wait_closed()  # peers took them and the sockets are closed

    async def _close_resources(self) -> None:
        if self.cluster is not None:
            cluster, self.cluster = self.cluster, None
            await cluster.close()
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()
        if self.tls_listener is not None:
            tls, self.tls_listener = self.tls_listener, None
            await tls.close()
        if self.web is not None:
            web, self.web = self.web, None
            await web.close()
        if self._advertiser is not None:
            advertiser, self._advertiser = self._advertiser, None
            await advertiser.close()
        if self._store is not None:
            store, self._store = self._store, None
            await store.close()


@contextlib.asynccontextmanager
async def running_server(config: Config, *, debug: bool = False) -> AsyncIterator[LanchatServer]:
    """Run a server on the current loop for the duration of the block (in-process tests).

    Args:
        config: the configuration; port 0 picks a free port (see `.port`).
        debug: log raw protocol lines.

    Yields:
        The started server: `.port` is the bound port, `.state` the ServerState.

    Raises:
        StoreError, ConfigError, DiscoveryError: as LanchatServer.start().
    """
    server = LanchatServer(config, debug=debug)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _print_banner(server: LanchatServer) -> None:
    config = server.config
    rooms = server.public_rooms()
    print(f"lanchat {__version__} on {config.server.name}: history in {config.store.db_path}")
    if rooms:
        print("join with lanchat or any IRC client:")
        scheme = "irc" if config.tls.plain else "ircs"
        for url in join_urls(config.server.host, server.port, rooms, scheme):
            print(f"  {url}")
    if server.identity is not None:
        # The launcher shows this fingerprint beside the room (lanchat.launcher.supervisor).
        print(
            f"tls: port {server.tls_port}, certificate fingerprint (SHA-256) "
            f"{server.identity.fingerprint}"
        )
    if server.web is not None:
        from lanchat.web.qr import print_web_addresses

        scheme = "https" if config.tls.web else "http"
        print_web_addresses(join_urls(config.server.host, server.web_port, [""], scheme))
    if server.cluster is not None:
        cluster = server.cluster
        print(f"cluster {cluster.cluster_id} at {cluster.url}: this server is node {cluster.node}")
    if server.not_advertised:
        print(server.not_advertised)
    print(f"ready: port {server.port}", flush=True)


def _stop_when_stdin_closes(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set `stop` once standard input reaches its end (#14). Starts a thread; returns at once.

    The launcher gives each of its rooms a pipe as stdin and never writes to it. However the
    launcher ends (quit, SIGTERM, SIGHUP, SIGKILL, a crash), the system closes its end and the
    room shuts down cleanly. A pipe behaves the same on Linux, macOS and Windows, unlike
    PR_SET_PDEATHSIG (Linux only, and it fires when the forking *thread* ends) or polling
    getppid() (no parent ids to watch on Windows); a blocking read in a thread, unlike
    loop.add_reader, works on every event loop and on Windows pipes.
    """

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        # Whoever read our output went with our stdin: later writes would only fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with contextlib.suppress(RuntimeError):  # the loop is closed: we are exiting anyway
            loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch, name="stdin watch", daemon=True).start()


async def _serve(config: Config, debug: bool, stop_when_stdin_closes: bool) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # SIGHUP: the terminal `lanchat serve` runs in was closed.
    for signum in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
        # Windows has no add_signal_handler; Ctrl-C then ends asyncio.Runner as usual.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    if stop_when_stdin_closes:
        _stop_when_stdin_closes(loop, stop)
    async with running_server(config, debug=debug) as server:
        _print_banner(server)
        waits = [asyncio.ensure_future(event.wait()) for event in (stop, server.failed)]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        log.info("shutting down")
    if server.failure is not None:
        raise server.failure  # one line, exit 2 (lanchat.cli), as at start-up
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    # uvloop is the optional `fast` extra (issue #4); plain asyncio works everywhere.
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def serve(config: Config, *, debug: bool = False, stop_when_stdin_closes: bool = False) -> int:
    """Run the server until SIGINT, SIGTERM or SIGHUP (`lanchat serve`). Blocking; uses uvloop
    if present.

    Args:
        config: the validated configuration.
        debug: log every raw protocol line at DEBUG ("<" received, ">" sent).
        stop_when_stdin_closes: also stop cleanly when standard input ends (a launcher's room).

    Returns:
        The exit status: 0 after a clean shutdown.

    Raises:
        StoreError: the history database cannot be opened.
        ConfigError: the listening socket cannot be bound (port in use, bad --host).
        DiscoveryError: mDNS advertising cannot start.
        ClusterError: with --cluster, at start-up or, after a clean shutdown, when the node
            came back from being taken for gone and the cluster refused its settings.
    """
    # Every message waits for the store thread's commit before anyone is shown it, and that
    # thread needs the GIL back after each SQLite call. While the loop writes a fan-out it
    # keeps the GIL for up to the switch interval: 5 ms by default, 1 ms here (issue #4).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        status = runner.run(_serve(config, debug, stop_when_stdin_closes))
    sys.stdout.flush()
    return status
