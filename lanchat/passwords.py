"""Password hashes for accounts and server operators: scrypt, its parameters kept with the hash.

Layer: standard library (hashlib, hmac, secrets, base64) and lanchat.scram; imported by the
asyncio edge (lanchat.server.hub, which runs it off the event loop) and by `lanchat passwd`.
Never call it on the event loop thread: one hash costs tens of milliseconds and 16 MiB by
design.
Spec: RFC 7914 (scrypt). A hash is one printable word, the PHC-like form Ergo and passlib use::

    scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt, base64>$<key, base64>

The parameters travel with each hash, so they can be raised later: new hashes take the new
`DEFAULT_PARAMS`, old ones are still checked with their own. Each hash has its own random
16-byte salt, so two accounts with one password do not share a hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from lanchat.scram import ITERATIONS, scram_credentials

__all__ = [
    "DEFAULT_PARAMS",
    "ScryptParams",
    "account_secrets",
    "hash_password",
    "is_password_hash",
    "verify_password",
]

_SCHEME = "scrypt"
_KEY_BYTES = 32
_SALT_BYTES = 16
_MAX_LOG2_N = 20  # a stored hash asking for more (1 GiB at r=8) is refused, not computed


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """The cost of one hash: N = 2**log2_n, memory = 128 * r * N bytes (16 MiB by default)."""

    log2_n: int = 14  # CPU and memory cost; RFC 7914's interactive-login figure
    r: int = 8  # block size
    p: int = 1  # parallelism

    @property
    def maxmem(self) -> int:
        """The memory bound hashlib.scrypt needs for these parameters, with some room."""
        return 128 * self.r * (1 << self.log2_n) * (self.p + 1) + (1 << 20)


DEFAULT_PARAMS = ScryptParams()


def hash_password(password: str, params: ScryptParams = DEFAULT_PARAMS) -> str:
    """Hash `password` with a new random salt. Never on the event loop thread.

    Args:
        password: the password as the user typed it (UTF-8 encoded before hashing).
        params: the scrypt cost; stored in the result.

    Returns:
        "scrypt$ln=14,r=8,p=1$<salt>$<key>".
    """
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _derive(password, salt, params)
    return "$".join(
        (
            _SCHEME,
            f"ln={params.log2_n},r={params.r},p={params.p}",
            base64.b64encode(salt).decode("ascii"),
            base64.b64encode(key).decode("ascii"),
        )
    )


def account_secrets(
    password: str, params: ScryptParams = DEFAULT_PARAMS, scram_iterations: int = ITERATIONS
) -> tuple[str, str]:
    """What a new account keeps of its password: the scrypt hash and the SCRAM-SHA-256 keys.

    Never on the event loop thread (both cost tens of milliseconds by design).

    Args:
        password: the password as the user typed it.
        params: the scrypt cost.
        scram_iterations: the PBKDF2 rounds of the SCRAM keys.

    Returns:
        (hash_password's hash, lanchat.scram's stored keys, "" when SASLprep refuses it).
    """
    return hash_password(password, params), scram_credentials(password, scram_iterations)


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` matches `encoded` (from hash_password). Never on the loop thread.

    Args:
        password: the password to check.
        encoded: a stored hash; one that cannot be read matches no password.

    Returns:
        True on a match (compared in constant time).
    """
    parsed = _parse(encoded)
    if parsed is None:
        return False
    params, salt, key = parsed
    return hmac.compare_digest(_derive(password, salt, params), key)


def is_password_hash(encoded: str) -> bool:
    """Whether `encoded` is a hash this module can check (config validation)."""
    return _parse(encoded) is not None


def _derive(password: str, salt: bytes, params: ScryptParams) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=1 << params.log2_n,
        r=params.r,
        p=params.p,
        maxmem=params.maxmem,
        dklen=_KEY_BYTES,
    )


def _parse(encoded: str) -> tuple[ScryptParams, bytes, bytes] | None:
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != _SCHEME:
        return None
    try:
        fields = dict(item.split("=", 1) for item in parts[1].split(","))
        params = ScryptParams(int(fields["ln"]), int(fields["r"]), int(fields["p"]))
        salt = base64.b64decode(parts[2], validate=True)
        key = base64.b64decode(parts[3], validate=True)
    except (ValueError, KeyError, binascii.Error):
        return None
    if not (1 <= params.log2_n <= _MAX_LOG2_N and 1 <= params.r <= 32 and 1 <= params.p <= 16):
        return None
    if len(key) != _KEY_BYTES or not salt:
        return None
    return params, salt, key
