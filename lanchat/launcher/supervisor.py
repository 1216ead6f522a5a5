"""Start and stop `lanchat serve` child processes for the rooms hosted on this machine.

Layer: launcher back end; standard library, lanchat.errors, lanchat.config and
lanchat.protocol; never the server or the store (a room is the child's command line, its key
a private config file). No Tk: the launcher window polls `Supervisor.events` with after(),
so nothing here ever blocks the Tk thread except `stop_all()`, which the window calls only
when quitting.

Each hosted room is one `python -m lanchat serve --room NAME --port N --data-dir DIR
[--config DIR/room.toml]` process with its own data directory (so its history survives a
restart of the room). The child prints its join addresses and then `ready: port <N>` once it
listens, its store is open and its room is advertised (the CLI contract of `lanchat serve`);
a reader thread per child turns its output into events:

    RoomReady(hosted)            the readiness line arrived; hosted.port is the bound port
    RoomFailed(hosted, reason)   the child exited before it was ready; reason is its error line
    RoomStopped(hosted, code)    a ready child exited (after stop(), or on its own)

Stopping sends SIGTERM (the server notifies its clients and withdraws its mDNS records) and
escalates to SIGKILL when the child has not exited after `stop_timeout_s`.

Rooms never outlive the launcher (#14): each child's stdin is a pipe nobody writes to, and the
child runs with --stop-when-stdin-closes. However this process ends, even by SIGKILL, the
system closes the pipe and every room shuts down as cleanly as after stop().
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lanchat.config import room_key_problem
from lanchat.errors import ConfigError
from lanchat.protocol import casefold, is_valid_channel

__all__ = [
    "HostedRoom",
    "RoomFailed",
    "RoomReady",
    "RoomStopped",
    "Supervisor",
    "SupervisorEvent",
    "default_data_root",
]

_READY = re.compile(r"^ready: port (\d+)\s*$")
_JOIN_URL = re.compile(r"irc://(\S+?:\d+)/")  # the join URLs `lanchat serve` prints
_WEB_URL = re.compile(r"^\s+(https?://\S+?:\d+/)\s*$")  # its web page's addresses (issue 16)
# Its TLS line (issue #17): "tls: port 6697, certificate fingerprint (SHA-256) <64 hex>".
_TLS = re.compile(r"^tls: port \d+, certificate fingerprint \(SHA-256\) ([0-9a-f]{64})$")
_OUTPUT_LINES = 30  # lines of child output kept for error reports
# The room key goes to the child in a file only its owner can read: on a shared machine
# (a classroom) a command-line argument would show the key to everyone in `ps`.
ROOM_CONFIG = "room.toml"


def default_data_root() -> Path:
    """Where hosted rooms keep their history: <user data dir>/hosted/<room>."""
    import platformdirs

    return Path(platformdirs.user_data_dir("lanchat", appauthor=False)) / "hosted"


class HostedRoom:
    """One room served by a child process. Its fields are written by the supervisor's threads;
    read them on the thread that drains `Supervisor.events` after the matching event."""

    def __init__(self, room: str, key: str, requested_port: int, data_dir: Path) -> None:
        self.room = room  # "#lobby", as typed
        self.key = key  # room key (+k) clients must give, "" for none
        self.requested_port = requested_port  # 0 lets the server pick a free port
        self.data_dir = data_dir  # the child's --data-dir
        self.port = 0  # the bound port, known once ready
        self.state = "starting"  # starting → running → stopping → stopped | failed
        self.output: deque[str] = deque(maxlen=_OUTPUT_LINES)  # last lines the child printed
        # What the start banner said, kept apart: `output` soon forgets it once rooms talk.
        self._addresses: list[str] = []  # join URLs' "address:port", one per LAN address
        self._web_urls: list[str] = []  # the room's web page, one per LAN address
        self.process: subprocess.Popen[str] | None = None
        self.stop_requested = False  # True once stop() was called: the exit is expected
        # The SHA-256 of its TLS certificate, from the start output ("" without TLS); kept
        # here because `output` keeps only the last lines (issue #17).
        self.fingerprint = ""

    def heard(self, line: str) -> None:
        """Keep a line the child printed; the start banner's addresses are kept for good.

        Only lines before "ready" are the banner: later ones log what people say, which may
        look like an address.
        """
        self.output.append(line)
        if self.state == "starting":
            for pattern, found in ((_JOIN_URL, self._addresses), (_WEB_URL, self._web_urls)):
                m = pattern.search(line)
                if m and m.group(1) not in found:
                    found.append(m.group(1))

    def join_addresses(self) -> list[str]:
        """The "address:port" pairs the server printed as join URLs (irc://ADDR:PORT/#room),
        one per LAN address of this machine, in its order."""
        return list(self._addresses)

    def web_urls(self) -> list[str]:
        """The addresses of the room's web page the server printed, one per LAN address."""
        return list(self._web_urls)

    def join_address(self, host: str) -> str:
        """What people type to connect by hand: the server's first join address, else
        "host:port" (port "?" until ready)."""
        addresses = self.join_addresses()
        return addresses[0] if addresses else f"{host}:{self.port or '?'}"

    def error_line(self) -> str:
        """The child's own explanation of a failure: its "lanchat: error:" line if any, else
        its last line of output."""
        for line in reversed(self.output):
            if line.startswith("lanchat: error:"):
                return line.removeprefix("lanchat: error:").strip()
        return self.output[-1] if self.output else "it printed nothing"

    def __repr__(self) -> str:
        return f"HostedRoom({self.room!r}, port={self.port}, state={self.state!r})"


@dataclass(frozen=True, slots=True)
class RoomReady:
    """The room's server is listening on `hosted.port` and advertised."""

    hosted: HostedRoom


@dataclass(frozen=True, slots=True)
class RoomFailed:
    """The room's server exited before it was ready; `reason` says why in plain words."""

    hosted: HostedRoom
    reason: str


@dataclass(frozen=True, slots=True)
class RoomStopped:
    """The room's server exited with `exit_code`; `expected` is False if nobody asked it to."""

    hosted: HostedRoom
    exit_code: int
    expected: bool


SupervisorEvent = RoomReady | RoomFailed | RoomStopped


class Supervisor:
    """Owns the `lanchat serve` children of this launcher.

    Args:
        data_root: parent of the per-room data directories (default `default_data_root()`).
        python: the interpreter that runs `-m lanchat serve`.
        serve_args: extra arguments for every child (e.g. ["--host", "127.0.0.1"]).
        prefix: a command the child runs under (e.g. ["ip", "netns", "exec", "ns1"]).
        env: extra environment variables for the children.
        stop_timeout_s: how long a stopping child may take before it is killed.
    """

    def __init__(
        self,
        *,
        data_root: Path | None = None,
        python: str = sys.executable,
        serve_args: Sequence[str] = (),
        prefix: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        stop_timeout_s: float = 5.0,
    ) -> None:
        self.data_root = data_root or default_data_root()
        self.python = python
        self.serve_args = tuple(serve_args)
        self.prefix = tuple(prefix)
        self.env = dict(env or {})
        self.stop_timeout_s = stop_timeout_s
        self.events: queue.SimpleQueue[SupervisorEvent] = queue.SimpleQueue()
        self._rooms: list[HostedRoom] = []
        self._lock = threading.Lock()  # guards _rooms against the reader threads

    def hosted(self) -> list[HostedRoom]:
        """Rooms started and not yet exited, in start order."""
        with self._lock:
            return [h for h in self._rooms if h.state in ("starting", "running", "stopping")]

    def validate(self, room: str, port: str) -> tuple[str, int]:
        """Check what the user typed in "Start a room".

        Args:
            room: the room name; "#" is added when missing.
            port: "" for any free port, else a number from 1 to 65535.

        Returns:
            (room name with "#", port number or 0).

        Raises:
            ConfigError: the name or port is not usable; the message says what to type.
        """
        room = room.strip()
        if room and not room.startswith("#"):
            room = "#" + room
        if not is_valid_channel(room):
            raise ConfigError(
                "Type a room name like #lobby: letters or digits, no spaces or commas."
            )
        port = port.strip()
        if not port:
            number = 0
        elif not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ConfigError(
                f"The port must be a number from 1 to 65535 (or empty for any), not {port!r}."
            )
        else:
            number = int(port)
        key = casefold(room)
        if any(casefold(h.room) == key for h in self.hosted()):
            raise ConfigError(f"{room} is already hosted here; stop it first to restart it.")
        return room, number

    def start(self, room: str, *, key: str = "", port: int = 0) -> HostedRoom:
        """Start serving `room`; returns at once (RoomReady or RoomFailed follows).

        Args:
            room: a valid room name ("#lobby"); see `validate()`.
            key: the room key people must give to join, "" for none.
            port: the TCP port, 0 for any free one.

        Returns:
            The hosted room (state "starting").

        Raises:
            ConfigError: the key is not usable or the process could not be started (the
                message says why).
        """
        problem = room_key_problem(key)
        if problem:
            raise ConfigError(f"The room key {problem}.")
        data_dir = self.data_root / _dir_name(room)
        hosted = HostedRoom(room, key, port, data_dir)
        cmd = [
            *self.prefix,
            self.python,
            "-m",
            "lanchat",
            "serve",
            "--room",
            room,
            *(("--config", str(data_dir / ROOM_CONFIG)) if key else ()),
            "--port",
            str(port),
            "--web-port",  # each room its own page: a second room must not find 8080 taken
            "0",
            "--tls-port",  # rooms hosted side by side; discovery advertises each one's
            "0",
            "--data-dir",
            str(data_dir),
            "--stop-when-stdin-closes",
            *self.serve_args,
        ]
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            _write_room_config(data_dir / ROOM_CONFIG, key)
            hosted.process = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,  # closes when we end, however we end: the room stops
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
                env=env,
                start_new_session=True,  # Ctrl-C in the launcher's terminal stays ours
            )
        except OSError as e:
            raise ConfigError(f"Could not start the room server ({e.strerror}).") from None
        with self._lock:
            self._rooms.append(hosted)
        threading.Thread(
            target=self._watch, args=(hosted,), name=f"serve {room}", daemon=True
        ).start()
        return hosted

    def stop(self, hosted: HostedRoom) -> None:
        """Ask `hosted` to stop cleanly; returns at once (RoomStopped follows).

        A child that has not exited after `stop_timeout_s` is killed.
        """
        proc = hosted.process
        if proc is None or proc.poll() is not None or hosted.stop_requested:
            return
        hosted.stop_requested = True
        hosted.state = "stopping"
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        threading.Thread(target=self._reap, args=(proc,), daemon=True).start()

    def stop_all(self, timeout_s: float | None = None) -> None:
        """Stop every hosted room and wait until they have exited (used when quitting).

        Args:
            timeout_s: the longest wait per child before killing it (default stop_timeout_s).
        """
        rooms = self.hosted()
        for h in rooms:
            self.stop(h)
        for h in rooms:
            if h.process is not None:
                try:
                    h.process.wait(timeout_s or self.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    h.process.kill()
                    h.process.wait()

    def _reap(self, proc: subprocess.Popen[str]) -> None:
        try:
            proc.wait(self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()

    def _watch(self, hosted: HostedRoom) -> None:
        proc = hosted.process
        assert proc is not None and proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\r\n")
            hosted.heard(line)
            if hosted.state == "starting" and (tls := _TLS.match(line)):
                hosted.fingerprint = tls.group(1)
            m = _READY.match(line)
            if m and hosted.state == "starting":
                hosted.port = int(m.group(1))
                hosted.state = "running"
                self.events.put(RoomReady(hosted))
        code = proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
        if hosted.port == 0:
            hosted.state = "failed"
            self.events.put(RoomFailed(hosted, _failure(hosted, code)))
        else:
            hosted.state = "stopped"
            self.events.put(RoomStopped(hosted, code, hosted.stop_requested))


def _failure(hosted: HostedRoom, code: int) -> str:
    if hosted.stop_requested:
        return f"{hosted.room} was stopped before it was ready."
    return f"{hosted.room} could not start: {hosted.error_line()} (exit status {code})"


def _write_room_config(path: Path, key: str) -> None:
    """Write (or, without a key, remove) the child's private config file holding the room key."""
    if not key:
        path.unlink(missing_ok=True)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        # A JSON string of a key (no control characters, see room_key_problem) is a valid
        # TOML basic string.
        fh.write(f"[server]\nkey = {json.dumps(key, ensure_ascii=False)}\n")


def _dir_name(room: str) -> str:
    # Room names may hold any character but space, comma, BEL and NUL; keep file names tame.
    name = re.sub(r"[^0-9A-Za-z_-]", "_", casefold(room).lstrip("#"))
    return name or "room"
