"""Trusting a room's TLS certificate in the chat window: the warning and the first-use question.

Layer: GUI (Tk main thread only); imports tkinter and lanchat.client.events (plain values).
Spec: issue #17 ("Pinned through discovery"); the rule itself is lanchat.client.pins.

The client library refuses a certificate nothing vouches for, or one that differs from the
pinned or advertised one, before anything is sent; the window then asks the person, who can
compare the fingerprint with the one the host's launcher or `lanchat serve` shows:

- CertificateMismatch -> a warning naming both fingerprints, "Trust the new certificate" or
  Cancel (the default: a stranger posing as the room is the case to guard against);
- CertificateUnknown (a manual connect, the first time) -> the fingerprint, as SSH shows it,
  "Trust this certificate" or Cancel.

Trusting sends TrustCertificate, which pins the fingerprint and connects again.

Manual connects use TLS for `ircs://` addresses and for port 6697, the IRC-over-TLS port
(RFC 7194); `irc://` or any other port is plain TCP.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from lanchat.client import events as ev

__all__ = ["TLS_PORT", "TrustDialog", "TrustPrompts", "grouped", "split_scheme", "uses_tls"]

TLS_PORT = 6697  # RFC 7194
_SCHEMES = {"irc://": False, "ircs://": True}


def split_scheme(text: str) -> tuple[str, bool | None]:
    """Take an irc:// or ircs:// URL apart: "ircs://10.0.0.5:6697/#lobby" -> ("10.0.0.5:6697",
    True). Text without a scheme comes back as it is, with None."""
    text = text.strip()
    for scheme, tls in _SCHEMES.items():
        if text.lower().startswith(scheme):
            return text[len(scheme) :].split("/", 1)[0], tls
    return text, None


def uses_tls(port: int, scheme_tls: bool | None) -> bool:
    """Whether a manual connect to `port` uses TLS: as the scheme says, else for port 6697."""
    return port == TLS_PORT if scheme_tls is None else scheme_tls


def grouped(fingerprint: str) -> str:
    """A fingerprint as people compare it by eye: groups of four ("9c2e 51d0 a3b1 ...")."""
    return " ".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))


class TrustDialog(tk.Toplevel):
    """Tk thread only. Asks whether to trust a certificate; calls `on_trust()` or nothing.

    Args:
        master: the chat window.
        server: the server's label ("10.0.0.5:6697").
        event: the refusal to explain.
        on_trust: called when the person trusts the certificate.
    """

    def __init__(
        self,
        master: tk.Misc,
        server: str,
        event: ev.CertificateMismatch | ev.CertificateUnknown,
        on_trust: Callable[[], None],
    ) -> None:
        super().__init__(master)
        self.resizable(False, False)
        self.transient(master.winfo_toplevel())
        self._on_trust = on_trust
        frame = ttk.Frame(self, padding=16)
        frame.pack(fill="both", expand=True)
        if isinstance(event, ev.CertificateMismatch):
            self.title("Certificate changed")
            said = "remembered for" if event.source == "pinned" else "advertised by"
            text = (
                f"{server} shows a different certificate from the one {said} this room. "
                "Someone on the network may be posing as it, or its host made a new "
                "certificate. Nothing was sent. Trust the new one only if the host's screen "
                "shows the new fingerprint."
            )
            rows = [("Expected", event.expected), ("Shown now", event.got)]
            button = "Trust the new certificate"
        else:
            self.title("New certificate")
            text = (
                f"This is the first secure connection to {server}. Compare its certificate "
                "fingerprint with the one the host's screen shows (the launcher, or "
                "lanchat serve) before you trust it."
            )
            rows = [("Fingerprint", event.got)]
            button = "Trust this certificate"
        ttk.Label(frame, text=text, wraplength=460, justify="left").pack(anchor="w")
        grid = ttk.Frame(frame, padding=(0, 12))
        grid.pack(fill="x")
        self.fingerprints: dict[str, ttk.Label] = {}  # row name -> its label (tests read them)
        for i, (name, fingerprint) in enumerate(rows):
            ttk.Label(grid, text=f"{name}:").grid(row=i, column=0, sticky="nw", padx=(0, 8))
            shown = ttk.Label(grid, text=grouped(fingerprint), font="TkFixedFont")
            shown.grid(row=i, column=1, sticky="w")
            self.fingerprints[name] = shown
        buttons = ttk.Frame(frame)
        buttons.pack(fill="x")
        self.cancel_button = ttk.Button(buttons, text="Cancel", command=self.destroy)
        self.cancel_button.pack(side="right")
        self.trust_button = ttk.Button(buttons, text=button, command=self._trust)
        self.trust_button.pack(side="right", padx=(0, 8))
        self.bind("<Escape>", lambda _e: self.destroy())
        self.cancel_button.focus_set()  # Enter must not trust by accident

    def _trust(self) -> None:
        self.destroy()
        self._on_trust()


class TrustPrompts:
    """Tk thread only. Opens a TrustDialog for each certificate refusal of the network.

    Args:
        master: the chat window.
        submit: sends a command to the network thread.
        label: the server's label for a server_id.
    """

    def __init__(
        self,
        master: tk.Misc,
        submit: Callable[[ev.GuiCommand], None],
        label: Callable[[str], str],
    ) -> None:
        self.master = master
        self.submit = submit
        self.label = label
        self._open: dict[str, TrustDialog] = {}  # server_id -> its latest dialog

    def shown(self, server_id: str) -> TrustDialog | None:
        """The question about `server_id` on screen now, if any."""
        dialog = self._open.get(server_id)
        return dialog if dialog is not None and dialog.winfo_exists() else None

    def show(self, event: ev.CertificateMismatch | ev.CertificateUnknown) -> TrustDialog:
        """Ask about `event` (replacing an older question about the same server)."""
        old = self.shown(event.server_id)
        if old is not None:
            old.destroy()
        dialog = TrustDialog(
            self.master,
            self.label(event.server_id),
            event,
            lambda: self.submit(ev.TrustCertificate(event.server_id, event.got)),
        )
        self._open[event.server_id] = dialog
        return dialog
