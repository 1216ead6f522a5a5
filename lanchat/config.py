"""The whole configuration of lanchat as one typed, validated structure (Ergo's config.go).

Layer: may import lanchat.errors, lanchat.passwords (to check [opers] hashes) and the
standard library only.

`load()` reads an optional TOML file, applies command-line overrides on top, validates every
field and returns a frozen `Config`. Every validation failure is one `ConfigError` line that
names the setting and says what is allowed.

TOML layout (every key optional; docs/lanchat.example.toml has every setting, commented)::

    [server]
    host = "0.0.0.0"          # or "::" for IPv6 and IPv4, or "127.0.0.1"
    port = 6667
    name = "alice-laptop.local"  # server name, the source of numerics (default: this machine's)
    password = ""             # server password (PASS), empty = none
    rooms = ["#lobby"]        # rooms created at start and kept open
    key = ""                  # key (+k) people need to join those rooms, empty = none

    [limits]                  # see Limits below
    [flood]                   # see Flood below
    [store]
    data_dir = "..."          # default: the per-user data directory
    fsync = false             # true: survive power loss too (slower commits)
    [discovery]
    enabled = true
    interfaces = []           # addresses to advertise on; empty = every LAN interface
    [web]
    enabled = true            # the browser client and IRC over WebSocket (issue 16)
    port = 8080               # HTTP port on the [server] host; 0 picks a free one
    hostnames = []            # DNS names of this machine people open the page with
    [tls]                     # see Tls below (issue #17)
    [accounts]                # see Accounts below
    [opers]                   # operator name = password hash from `lanchat passwd`
    alice = "scrypt$ln=14,r=8,p=1$...$..."
    [files]                   # file sharing on the web port (issue 21); see Files below
    [cluster]
    url = "redis://HOST:PORT/DB"  # share the rooms with other lanchat nodes (issue 20)
"""

from __future__ import annotations

import dataclasses
import platform
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lanchat.errors import ConfigError
from lanchat.passwords import is_password_hash

DEFAULT_PORT = 6667
DEFAULT_WEB_PORT = 8080
DEFAULT_TLS_PORT = 6697  # RFC 7194: the port for IRC over TLS
DEFAULT_ROOM = "#lobby"
# The longest room key (+k) the server keeps: lanchat.server.modes.MAX_KEY_CHARS, restated
# because config may not import the server (tests/test_config.py holds the two equal).
MAX_KEY_CHARS = 23


def default_data_dir() -> Path:
    """The per-user data directory (e.g. ~/.local/share/lanchat on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("lanchat", appauthor=False))


def default_server_name() -> str:
    """This machine's name as the server's name: `alice-laptop.local` on `alice-laptop`.

    A bare host name gets `.local`, which makes it the machine's own mDNS name wherever
    avahi or Bonjour runs, and gives it the dot IRC clients and servers expect in a server
    name; a host name with a domain is kept as it is.
    """
    host = platform.node()  # not socket.gethostname(): the pure server core imports config
    if not host or any(c in host for c in " !@:"):
        return "lanchat.local"
    return host if "." in host else f"{host}.local"


@dataclass(frozen=True, slots=True)
class Server:
    host: str = "0.0.0.0"  # listen address; "::" listens on IPv6 and IPv4
    port: int = DEFAULT_PORT  # TCP port; 0 picks a free one (tests)
    name: str = field(default_factory=default_server_name)  # the source of numerics
    password: str = ""  # server password (PASS); empty means none
    rooms: tuple[str, ...] = (DEFAULT_ROOM,)  # rooms created at start-up
    key: str = ""  # +k key of those rooms, set at every start-up; empty leaves them as they were
    network: str = "lanchat"  # NETWORK= in ISUPPORT
    motd: tuple[str, ...] = ("Welcome to lanchat: rooms on your local network.",)


@dataclass(frozen=True, slots=True)
class Limits:
    max_line_bytes: int = 512  # body incl. CRLF (RFC 1459 2.3)
    max_tag_bytes: int = 8191  # message-tags section (ircv3 message-tags)
    sendq_bytes: int = 1 << 20  # unsent bytes per connection before "SendQ exceeded"
    max_connections_per_ip: int = 64  # LAN parties share NATs rarely; classrooms do share
    registration_timeout_s: float = 30.0  # time allowed to finish NICK/USER/CAP
    ping_interval_s: float = 90.0  # idle time before the server sends PING
    ping_timeout_s: float = 60.0  # time to answer that PING
    nicklen: int = 30
    channellen: int = 50
    topiclen: int = 390
    awaylen: int = 200
    kicklen: int = 255
    max_modes: int = 6  # MODES= in ISUPPORT
    max_targets: int = 4  # TARGMAX for PRIVMSG/NOTICE
    max_channels_per_user: int = 50  # CHANLIMIT
    # Rooms kept, empty ones included (they keep their key, modes and topic; issue 13): at
    # the limit a new room replaces the one empty longest, whose history is sealed.
    max_rooms: int = 1000
    max_list_modes: int = 100  # MAXLIST (bans, ban exceptions, invite exceptions: each)
    whowas_entries: int = 200
    chathistory_max: int = 1000  # CHATHISTORY= limit per request
    max_monitor_nicks: int = 100  # MONITOR= nicks one connection may watch (issue 18)
    # Issue 13 ("Lets no one in"): wrong room keys and server passwords per address (Ergo's
    # login-throttling); once spent, that address's attempts are refused unchecked until the
    # window, counted from its first failure, ends.
    max_auth_failures: int = 5  # wrong keys/passwords allowed per address per window
    auth_failure_window_s: float = 60.0
    # Connections at once, all addresses together; lowered at start to fit the open-file
    # limit (RLIMIT_NOFILE, raised to its hard limit first), less what the server itself needs.
    max_connections: int = 8192
    # Connections that have not registered yet (NICK/USER), all addresses together; beyond it
    # a new one closes the oldest unregistered connection of the address holding the most, so
    # idle sockets cannot lock real users out (Solanum, from ratbox, has max_unknown_ip).
    max_unregistered_connections: int = 512


@dataclass(frozen=True, slots=True)
class Flood:
    """Per-connection token bucket (Ergo fakelag): bursts delayed, sustained abuse disconnects."""

    enabled: bool = True
    burst_lines: int = 20  # lines accepted at once before delaying
    lines_per_s: float = 4.0  # refill rate once the burst is spent
    max_delayed_lines: int = (
        100  # queued lines beyond which the client is disconnected (Excess Flood)
    )
    # A CHATHISTORY reply costs one line of the budget per this many lines it returns
    # (charged for the limit asked, the unused part given back): issue 13 item 9.
    history_lines_per_flood_line: int = 50


@dataclass(frozen=True, slots=True)
class Store:
    data_dir: Path = field(default_factory=default_data_dir)
    # WAL with synchronous=NORMAL already survives a crash or kill -9 of the server; fsync on
    # every commit (synchronous=FULL) also survives power loss, at ~4x the cost per commit.
    fsync: bool = False

    @property
    def db_path(self) -> Path:
        return self.data_dir / "history.sqlite3"


@dataclass(frozen=True, slots=True)
class Discovery:
    enabled: bool = True
    interfaces: tuple[str, ...] = ()  # interface addresses; empty = all LAN interfaces
    txt_update_min_interval_s: float = 2.0  # TXT updates are rate-limited to this


@dataclass(frozen=True, slots=True)
class Web:
    """The browser client: the page, /api/rooms and IRC over WebSocket on one HTTP port."""

    enabled: bool = True
    port: int = DEFAULT_WEB_PORT  # HTTP port on [server] host; 0 picks a free one
    # Host names the page may be opened under besides IP addresses, localhost and this
    # machine's own name (any other Host header is refused: DNS rebinding).
    hostnames: tuple[str, ...] = ()


MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Files:
    """File sharing (issue 21): uploads on the web port, links posted in the rooms."""

    enabled: bool = True  # needs [web] enabled; `lanchat serve --no-files` turns it off
    max_file_bytes: int = 100 * MIB  # larger uploads get 413 with Upload-Limit: maxsize=
    quota_per_uploader_bytes: int = 1024 * MIB  # kept files of one uploader, together
    quota_bytes: int = 10 * 1024 * MIB  # kept files of everyone, together
    expire_after_days: float = 7.0  # files are deleted this long after their upload
    token_lifetime_s: float = 600.0  # upload tokens a connection asks for (FILEHOST) last this
    # Uploads per address: a burst, then this many a minute (a FloodLedger, issue 13).
    upload_burst: int = 10
    uploads_per_minute: float = 10.0


@dataclass(frozen=True, slots=True)
class Tls:
    """TLS beside (or instead of) plain TCP, with a self-signed certificate by default (#17)."""

    enabled: bool = True  # listen for TLS on `port`
    port: int = DEFAULT_TLS_PORT  # 0 picks a free one (tests)
    plain: bool = True  # also listen for plain TCP on [server] port
    cert: str = ""  # PEM certificate file; empty: the one lanchat makes in the data directory
    key: str = ""  # PEM private key of `cert`
    handshake_timeout_s: float = 10.0  # a connection that has not finished its handshake is cut
    # Handshakes in progress at once; past it newcomers wait, and one stalled for 1 s is cut.
    max_handshakes: int = 128
    web: bool = False  # serve the browser client over HTTPS with the same certificate


@dataclass(frozen=True, slots=True)
class Accounts:
    """Accounts (issue 17): REGISTER, SASL, and the nicks they own."""

    registration: bool = True  # REGISTER is open to everyone; false: no new accounts
    # Someone on a registered nick without being logged in to it is renamed to a Guest nick
    # after this long (told at once what will happen and how to log in).
    nick_grace_s: float = 30.0


@dataclass(frozen=True, slots=True)
class Cluster:
    """Several lanchat servers sharing their rooms through one Redis (issue 20, docs/cluster.md)."""

    url: str = ""  # redis://HOST:PORT/DB; empty: this server is on its own, no Redis at all
    # A node that has not renewed its heartbeat in Redis this long is gone: its users quit.
    node_timeout_s: float = 10.0
    # A snapshot of the cluster's state is stored in Redis after this many entries of the log,
    # or this long after the last one if the log moved at all; the log before it is trimmed
    # (docs/cluster.md "Snapshots and trimming").
    snapshot_entries: int = 100_000
    snapshot_interval_s: float = 600.0


@dataclass(frozen=True, slots=True)
class Config:
    server: Server = field(default_factory=Server)
    limits: Limits = field(default_factory=Limits)
    flood: Flood = field(default_factory=Flood)
    store: Store = field(default_factory=Store)
    discovery: Discovery = field(default_factory=Discovery)
    web: Web = field(default_factory=Web)
    tls: Tls = field(default_factory=Tls)
    accounts: Accounts = field(default_factory=Accounts)
    # Server operators: (name, password hash) pairs from [opers], sorted by name.
    opers: tuple[tuple[str, str], ...] = ()
    files: Files = field(default_factory=Files)
    cluster: Cluster = field(default_factory=Cluster)


_SECTIONS: dict[str, type[Any]] = {
    "server": Server,
    "limits": Limits,
    "flood": Flood,
    "store": Store,
    "discovery": Discovery,
    "web": Web,
    "tls": Tls,
    "accounts": Accounts,
    "files": Files,
    "cluster": Cluster,
}


def _opers(values: Any) -> tuple[tuple[str, str], ...]:
    """[opers] as (name, hash) pairs: each name a word, each hash from `lanchat passwd`."""
    if not isinstance(values, dict):
        raise ConfigError("[opers] must be a table of operator names and password hashes")
    for name, hashed in values.items():
        if not name or any(c in name for c in " \r\n\0"):
            raise ConfigError(f"[opers] operator name {name!r} must be one word")
        if not isinstance(hashed, str) or not is_password_hash(hashed):
            raise ConfigError(
                f"[opers] {name} must be a password hash; make one with `lanchat passwd`"
            )
    return tuple(sorted(values.items()))


def _coerce(section: str, name: str, kind: Any, value: Any) -> Any:
    where = f"[{section}] {name}"
    kind = str(kind)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, not {value!r}")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, not {value!r}")
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, not {value!r}")
        return value
    if kind == "Path":
        if not isinstance(value, str | Path):
            raise ConfigError(f"{where} must be a path, not {value!r}")
        return Path(value).expanduser()
    if kind.startswith("tuple[str"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings, not {value!r}")
        return tuple(value)
    raise AssertionError(f"unhandled config type {kind} for {where}")


def _build(section: str, cls: type[Any], values: dict[str, Any]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for name, value in values.items():
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"unknown setting [{section}] {name}; known settings: {known}")
        kwargs[name] = _coerce(section, name, fields[name].type, value)
    return cls(**kwargs)


def room_key_problem(key: str) -> str | None:
    """Why `key` cannot be a room key (+k), or None if it can ("" means no key and is fine).

    Args:
        key: the key as the host typed it.

    Returns:
        The end of a sentence that starts with the key's name ("must be at most 23
        characters, ..."), or None.
    """
    # JOIN separates keys with commas and parameters with spaces, and a leading ":" would be
    # read as the start of a trailing parameter (modern.ircdocs "JOIN message").
    if len(key) > MAX_KEY_CHARS or key.startswith(":") or any(c in key for c in " ,\x07\r\n\0"):
        return (
            f"must be at most {MAX_KEY_CHARS} characters, without spaces, commas or a leading ':'"
        )
    return None


def _validate(config: Config) -> None:
    s, lim, fl = config.server, config.limits, config.flood
    if not 0 <= s.port <= 65535:
        raise ConfigError(f"[server] port must be between 0 and 65535, not {s.port}")
    if not 0 <= config.web.port <= 65535:
        raise ConfigError(f"[web] port must be between 0 and 65535, not {config.web.port}")
    if config.web.enabled and config.web.port and config.web.port == s.port:
        raise ConfigError(
            f"[web] port {s.port} is also the IRC port; pick another one with --web-port"
        )
    for room in s.rooms:
        if not room.startswith("#") or len(room) < 2 or any(c in room for c in " ,\x07\r\n\0"):
            raise ConfigError(
                f"[server] room name {room!r} is not valid: it must start with # "
                "and contain no spaces or commas"
            )
    if not s.name or " " in s.name:
        raise ConfigError(f"[server] name {s.name!r} must be a non-empty word")
    if any(c in s.password for c in " \r\n\0"):
        raise ConfigError("[server] password must not contain spaces or line breaks")
    problem = room_key_problem(s.key)
    if problem:
        raise ConfigError(f"[server] key {problem}")
    for name in (
        "max_line_bytes",
        "sendq_bytes",
        "max_connections_per_ip",
        "nicklen",
        "channellen",
        "topiclen",
        "chathistory_max",
        "max_monitor_nicks",
        "max_targets",
        "max_modes",
        "max_rooms",
        "max_auth_failures",
        "max_connections",
        "max_unregistered_connections",
        "registration_timeout_s",
        "ping_interval_s",
        "ping_timeout_s",
        "auth_failure_window_s",
    ):
        _require_positive("limits", lim, name)
    if lim.max_line_bytes < 512:
        raise ConfigError("[limits] max_line_bytes must be at least 512 (RFC 1459)")
    _validate_tls(config)
    if config.accounts.nick_grace_s <= 0:
        raise ConfigError(
            f"[accounts] nick_grace_s must be positive, not {config.accounts.nick_grace_s}"
        )
    if fl.burst_lines < 1 or fl.lines_per_s <= 0 or fl.max_delayed_lines < 1:
        raise ConfigError("[flood] burst_lines, lines_per_s and max_delayed_lines must be positive")
    for name in (
        "max_file_bytes",
        "quota_per_uploader_bytes",
        "quota_bytes",
        "expire_after_days",
        "token_lifetime_s",
        "upload_burst",
        "uploads_per_minute",
    ):
        _require_positive("files", config.files, name)
    _validate_cluster(config.cluster)
    if fl.history_lines_per_flood_line < 1:
        raise ConfigError(
            "[flood] history_lines_per_flood_line must be positive, "
            f"not {fl.history_lines_per_flood_line}"
        )


def _validate_tls(config: Config) -> None:
    tls = config.tls
    if not 0 <= tls.port <= 65535:
        raise ConfigError(f"[tls] port must be between 0 and 65535, not {tls.port}")
    if not tls.enabled and not tls.plain:
        raise ConfigError("--no-plain needs TLS: leave out --no-tls ([tls] enabled = true)")
    if tls.enabled and tls.plain and tls.port and tls.port == config.server.port:
        raise ConfigError(
            f"plain TCP and TLS cannot share port {tls.port}; pick another --tls-port"
        )
    if tls.enabled and config.web.enabled and tls.port and tls.port == config.web.port:
        raise ConfigError(
            f"the web page and TLS cannot share port {tls.port}; pick another --tls-port"
        )
    if tls.web and not (tls.enabled and config.web.enabled):
        raise ConfigError(
            "--web-tls needs both TLS and the web page: leave out --no-tls and --no-web"
        )
    if bool(tls.cert) != bool(tls.key):
        raise ConfigError("--cert and --cert-key go together: give both files or neither")
    if tls.max_handshakes < 1:
        raise ConfigError(f"[tls] max_handshakes must be at least 1, not {tls.max_handshakes}")
    if tls.handshake_timeout_s <= 0:
        raise ConfigError(
            f"[tls] handshake_timeout_s must be positive, not {tls.handshake_timeout_s}"
        )


def _validate_cluster(cluster: Cluster) -> None:
    if cluster.url and not cluster.url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"[cluster] url {cluster.url!r} must be a Redis URL: redis://HOST:PORT/DB "
            "(rediss:// for TLS, unix:///path/to/redis.sock)"
        )
    for name in ("node_timeout_s", "snapshot_entries", "snapshot_interval_s"):
        _require_positive("cluster", cluster, name)


def _require_positive(section: str, settings: object, name: str) -> None:
    value = getattr(settings, name)
    if value <= 0:
        raise ConfigError(f"[{section}] {name} must be positive, not {value}")


def load(
    path: Path | str | None = None, overrides: dict[str, dict[str, Any]] | None = None
) -> Config:
    """Read the TOML file at `path` (if any), apply `overrides`, validate, return a Config.

    Args:
        path: a TOML file, or None for the defaults.
        overrides: {section: {setting: value}} applied on top of the file (command-line flags);
            values of None are ignored.

    Returns:
        The validated, frozen configuration.

    Raises:
        ConfigError: the file cannot be read or parsed, or a value is invalid.
    """
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path).expanduser()
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {p} does not exist; check the --config path") from None
        except OSError as e:
            raise ConfigError(f"cannot read config file {p}: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {p} is not valid TOML: {e}") from None
        except UnicodeDecodeError as e:
            raise ConfigError(
                f"config file {p} is not UTF-8 text (byte {e.start + 1} cannot be read); "
                "save it as UTF-8"
            ) from None
    for section, values in (overrides or {}).items():
        merged = dict(data.get(section, {}))
        merged.update({k: v for k, v in values.items() if v is not None})
        data[section] = merged
    opers = _opers(data.pop("opers", {}))
    unknown = set(data) - set(_SECTIONS)
    if unknown:
        raise ConfigError(
            f"unknown config section [{sorted(unknown)[0]}]; known sections: "
            f"{', '.join(_SECTIONS)}, opers"
        )
    parts = {}
    for section, cls in _SECTIONS.items():
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table of settings")
        parts[section] = _build(section, cls, values)
    config = Config(**parts, opers=opers)
    _validate(config)
    return config
