"""Checking what people type to connect, and the small "this room needs a key" dialog.

Layer: GUI; imports tkinter, lanchat.protocol (name rules), lanchat.client.events (plain
values), lanchat.discovery.records (the fingerprint rule) and lanchat.gui.theme. The checks
are plain functions (IDLE's `entry_ok` pattern) so they are tested without a display; each
problem is one sentence that says what to type instead.

`lanchat chat --connect` takes an address as the Connect manually page does, and, from the
launcher's Join, a node of a room as the Rooms page would connect to it (connect_argument):
`ircs://HOST:PORT?fp=SHA256&pin=NAME`, the fingerprint the room advertises (TXT fp=) and the
name its pin is kept under, so the window checks the certificate exactly as after a Join on
its own Rooms page (issue #17).
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from dataclasses import dataclass
from tkinter import ttk
from urllib.parse import parse_qs, urlencode

from lanchat.client.events import Endpoint
from lanchat.discovery.records import fingerprint as check_fingerprint
from lanchat.gui.access import name
from lanchat.gui.trust import TLS_PORT, split_scheme, uses_tls
from lanchat.protocol import is_valid_channel, is_valid_nick

__all__ = [
    "DEFAULT_PORT",
    "ConnectRequest",
    "InputProblem",
    "KeyDialog",
    "check_nick",
    "check_room",
    "connect_argument",
    "parse_address",
    "parse_connect",
    "validate_connect",
]

DEFAULT_PORT = 6667


class InputProblem(ValueError):
    """What was typed cannot be used; str(e) says what to type instead."""


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """A checked "Connect manually" form."""

    host: str
    port: int
    nick: str
    password: str | None  # server password, None when empty
    room: str  # "" when no room was given
    tls: bool = False  # an ircs:// address or port 6697 (lanchat.gui.trust)

    @property
    def address(self) -> str:
        """ "host:port", with brackets around an IPv6 literal."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def check_nick(nick: str) -> str:
    """Return the nickname stripped, or raise InputProblem saying what a nickname may be."""
    nick = nick.strip()
    if not nick:
        raise InputProblem("Type a nickname: it is how others see you.")
    if not is_valid_nick(nick):
        raise InputProblem(
            f"“{nick}” cannot be a nickname: start with a letter and use letters, digits "
            "or - _ [ ] { } \\ ` ^ | (at most 30, no spaces)."
        )
    return nick


def check_room(room: str) -> str:
    """Return the room name with its "#" ("" stays ""), or raise InputProblem."""
    room = room.strip()
    if not room:
        return ""
    if not room.startswith("#"):
        room = "#" + room
    if not is_valid_channel(room):
        raise InputProblem(f"“{room}” cannot be a room name: no spaces, commas or control keys.")
    return room


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """Split "host", "host:port", "[v6]:port" or a bare IPv6 address.

    Raises:
        InputProblem: empty host, or a port that is not a number from 1 to 65535.
    """
    text = text.strip()
    host, port_text = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    host = host.strip()
    if not host or " " in host:
        raise InputProblem(
            "Type the host: a name like alice-laptop or an address like 192.168.1.20."
        )
    return host, check_port(port_text, default_port)


def connect_argument(endpoint: Endpoint) -> str:
    """`endpoint` as `lanchat chat --connect` takes it (parse_connect reads it back): a plain
    one as "host:port", a TLS one as "ircs://host:port?fp=...&pin=..." (IPv6 in brackets)."""
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    if not endpoint.tls:
        return f"{host}:{endpoint.port}"
    checks = {"fp": endpoint.fingerprint, "pin": endpoint.pin_key}
    query = urlencode({k: v for k, v in checks.items() if v})
    return f"ircs://{host}:{endpoint.port}" + (f"?{query}" if query else "")


def parse_connect(text: str) -> Endpoint:
    """One `lanchat chat --connect`: "host[:port]", irc:// or ircs:// URL, the latter with an
    optional ?fp=SHA256 (the certificate to expect, as a room advertises it) and &pin=NAME
    (whose pin to check; "host:port" when left out).

    Raises:
        InputProblem: a bad address, or a check that is not a fingerprint or needs TLS.
    """
    address, _, query = text.strip().partition("?")
    address, scheme_tls = split_scheme(address)
    host, port = parse_address(address, TLS_PORT if scheme_tls else DEFAULT_PORT)
    tls = uses_tls(port, scheme_tls)
    checks = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
    unknown = set(checks) - {"fp", "pin"}
    if unknown:
        raise InputProblem(f"Only fp= and pin= may follow the address, not {min(unknown)}=.")
    given = checks.get("fp", "")
    fingerprint = check_fingerprint(given)
    if checks and not tls:
        raise InputProblem("fp= and pin= check a certificate: use ircs:// for them.")
    if given and not fingerprint:
        raise InputProblem("fp= is the certificate's SHA-256: 64 hexadecimal digits.")
    return Endpoint(host, port, tls, fingerprint, checks.get("pin", ""))


def check_port(text: str, default_port: int = DEFAULT_PORT) -> int:
    """A port number from `text` ("" means `default_port`), or raise InputProblem."""
    text = text.strip()
    if not text:
        return default_port
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise InputProblem(
            f"The port must be a number from 1 to 65535 (usually 6667), not “{text}”."
        )
    return int(text)


def validate_connect(host: str, port: str, nick: str, password: str, room: str) -> ConnectRequest:
    """Check the "Connect manually" form.

    Args:
        host: host name or address; may carry ":port", which wins over `port`, and be an
            irc:// or ircs:// URL.
        port: the port field ("" for 6667, or 6697 with ircs://).
        nick: the nickname.
        password: the server password ("" for none).
        room: the room to join ("" for none; "#" is added when missing).

    Returns:
        The checked request.

    Raises:
        InputProblem: the first field that is wrong, in form order, in plain words.
    """
    address, scheme_tls = split_scheme(host)
    default = check_port(port, TLS_PORT if scheme_tls else DEFAULT_PORT)
    host, port_number = parse_address(address, default)
    return ConnectRequest(
        host=host,
        port=port_number,
        nick=check_nick(nick),
        password=password or None,
        room=check_room(room),
        tls=uses_tls(port_number, scheme_tls),
    )


class KeyDialog(tk.Toplevel):
    """Tk thread only. Asks for the key of a locked room; calls `on_done(key)` or nothing.

    Not modal in the wait_window sense: the caller's event loop keeps running (network events
    keep arriving), the dialog just grabs input for itself while it is open.
    """

    def __init__(
        self,
        master: tk.Misc,
        room: str,
        on_done: Callable[[str], None],
        *,
        problem: str = "",
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(master)
        self.title(f"Key for {room}")
        self.resizable(False, False)
        self.transient(master.winfo_toplevel())
        self._on_done = on_done
        self._on_cancel = on_cancel  # called when closed without a key
        frame = ttk.Frame(self, padding=16)
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text=f"{room} is locked. Type its key (ask whoever runs it):").pack(
            anchor="w"
        )
        # No tk.StringVar: a Tk variable freed later by a garbage collection on the network
        # thread would raise there; the entry holds the text itself.
        self.entry = name(ttk.Entry(frame, show="•", width=32), f"Key of {room}")
        self.entry.pack(fill="x", pady=(8, 4))
        self.problem = ttk.Label(frame, text=problem, style="Error.TLabel")
        self.problem.pack(anchor="w")
        buttons = ttk.Frame(frame)
        buttons.pack(fill="x", pady=(8, 0))
        self.ok = ttk.Button(buttons, text="Join", style="Accent.TButton", command=self.submit)
        self.ok.pack(side="right")
        self.cancel_button = ttk.Button(buttons, text="Cancel", command=self.cancel)
        self.cancel_button.pack(side="right", padx=6)
        self.entry.bind("<Return>", lambda _e: self.submit())
        self.bind("<Escape>", lambda _e: self.cancel())
        self.protocol("WM_DELETE_WINDOW", self.cancel)
        self.entry.focus_set()

    def submit(self) -> None:
        key = self.entry.get()
        if not key or " " in key:
            self.problem.configure(text="Type the key (it has no spaces).")
            return
        self.destroy()
        self._on_done(key)

    def cancel(self) -> None:
        """Close without joining."""
        self.destroy()
        if self._on_cancel is not None:
            self._on_cancel()
