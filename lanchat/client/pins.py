"""Which certificate each TLS server should have: the pin store and the check (#17).

Layer: client support; standard library and platformdirs only (no asyncio, no sockets): the
check is a plain function, the store a small JSON file.

A LAN has no certificate authority, so a server's certificate is trusted by its fingerprint
(SHA-256 of the DER certificate, lowercase hex, as lanchat.discovery.records.fingerprint_of
computes it and TXT `fp=` carries it). Two things can vouch for a fingerprint:

- the room's advertisement (TXT `fp=`), which anyone on the LAN can forge, and
- the pin: the fingerprint this client accepted before for the same server, remembered in
  ``pins.json`` beside the chat settings (mode 0600), as SSH remembers host keys.

The rule, checked before a single IRC line is sent::

    pinned, and it matches                  -> accepted, whatever the room advertises
    pinned, and the certificate differs     -> refused: CertificateMismatch(source="pinned")
    not pinned, advertised, and it matches  -> accepted, and pinned now
    not pinned, advertised, and it differs  -> refused: CertificateMismatch(source="advertised")
    neither (a manual connect, first time)  -> refused: CertificateUnknown, to be shown
                                               to the person, who may trust it

A pin outranks the advertisement: it is what this person accepted, where a TXT record is
what anyone on the LAN may say. Only an explicit TrustCertificate replaces a pin.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Accepted", "PinStore", "Refused", "Verdict", "check", "default_path", "not_trusted"]


def default_path() -> Path:
    """Where the pins live for this user: beside the chat settings (lanchat.gui.settings)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("lanchat", appauthor=False)) / "pins.json"


@dataclass(frozen=True, slots=True)
class Accepted:
    """The certificate is the expected one; `pin` says whether to remember it now."""

    pin: bool


@dataclass(frozen=True, slots=True)
class Refused:
    """The certificate is not (known to be) the server's. `expected` is "" when unknown."""

    expected: str
    source: Literal["pinned", "advertised", "unknown"]


Verdict = Accepted | Refused


def check(got: str, *, advertised: str, pinned: str | None) -> Verdict:
    """Whether to talk to a server that presented the certificate with fingerprint `got`.

    Args:
        got: the fingerprint of the certificate the server presented.
        advertised: the room's TXT `fp=`, "" when there is none (a manual connect).
        pinned: the fingerprint remembered for this server, None when there is none.

    Returns:
        Accepted (pin=True when the advertised fingerprint should be remembered), or
        Refused with what was expected and who vouched for it.
    """
    if pinned is not None:
        return Accepted(pin=False) if pinned == got else Refused(pinned, "pinned")
    if advertised:
        return Accepted(pin=True) if advertised == got else Refused(advertised, "advertised")
    return Refused("", "unknown")


def not_trusted(host: str, port: int) -> tuple[str, str]:
    """What to tell the person when a server's certificate is refused: what happened and what
    to do, the same whether the IRC connection or a file upload met it."""
    return (
        f"The certificate of {host}:{port} is not trusted",
        "Compare its fingerprint with the one the host sees before trusting it",
    )


class PinStore:
    """The remembered fingerprints, keyed by server ("host:port", or the advertised host).

    Read once; every change is written at once, atomically, readable by the owner only. A
    missing or malformed file means no pins (each server is asked about again), because a
    broken file must never stop anyone from chatting; a file that cannot be written is
    reported by `set`.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._pins: dict[str, str] = {}  # server key -> fingerprint
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                self._pins = {k: v for k, v in data.items() if isinstance(v, str)}

    def get(self, key: str) -> str | None:
        """The fingerprint pinned for server `key`, or None."""
        return self._pins.get(key)

    def set(self, key: str, fingerprint: str) -> None:
        """Pin `fingerprint` for server `key` (replacing any pin) and save.

        Raises:
            OSError: the file cannot be written (the pin still holds for this run).
        """
        self._pins[key] = fingerprint
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp makes the file readable and writable by its owner only (0600).
        fd, tmp = tempfile.mkstemp(prefix=".pins-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self._pins, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
