"""SCRAM-SHA-256 (RFC 5802, RFC 7677): the stored keys, the server's checks, the client's proof.

Layer: standard library only (hashlib, hmac, secrets, base64, stringprep, unicodedata); no I/O.
The server core (lanchat.server.handlers.accounts) answers the client-first-message with it;
the edge checks the client-final-message with server_final (two HMACs and a hash,
microseconds), as it checks passwords, so that on a cluster only the client's node checks it;
the edge makes the stored keys on the password thread (PBKDF2 costs tens of milliseconds by
design); the client library (lanchat.client.sasl) makes its proof with it.
Spec: https://www.rfc-editor.org/rfc/rfc5802 (sections 3, 5 and 7: the messages and the
algorithm), https://www.rfc-editor.org/rfc/rfc7677 (SHA-256, the test vector in section 3),
https://www.rfc-editor.org/rfc/rfc4013 (SASLprep of the password)::

    SaltedPassword  := PBKDF2-HMAC-SHA-256(SASLprep(password), salt, i)
    ClientKey       := HMAC(SaltedPassword, "Client Key")
    StoredKey       := H(ClientKey)
    ServerKey       := HMAC(SaltedPassword, "Server Key")
    AuthMessage     := client-first-message-bare + "," + server-first-message + "," +
                       client-final-message-without-proof
    ClientProof     := ClientKey XOR HMAC(StoredKey, AuthMessage)
    ServerSignature := HMAC(ServerKey, AuthMessage)

The server keeps salt, i, StoredKey and ServerKey, one printable word like the scrypt hash::

    scram-sha-256$i=<iterations>$<salt, base64>$<StoredKey, base64>$<ServerKey, base64>

Policies a reader might question:
- No channel binding (no SCRAM-SHA-256-PLUS): a `p=` client is refused. On the TLS port the
  certificate is pinned instead (docs/security.md, section 14).
- A password SASLprep refuses (control characters, unassigned code points) gets no SCRAM keys:
  its account logs in with PLAIN only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import stringprep
import unicodedata
from dataclasses import dataclass

__all__ = [
    "ITERATIONS",
    "MECHANISM",
    "Credentials",
    "ScramClient",
    "ScramError",
    "ServerExchange",
    "client_first",
    "parse_credentials",
    "saslprep",
    "scram_credentials",
    "server_final",
]

MECHANISM = "SCRAM-SHA-256"
# PBKDF2 rounds of new keys. RFC 7677 asks for at least 4096; 100,000 cost about 25 ms of CPU
# (the scrypt hash: 45 ms, and 16 MiB), once per registration and once per client login.
ITERATIONS = 100_000
_SCHEME = "scram-sha-256"
_SALT_BYTES = 16
_KEY_BYTES = 32  # SHA-256
_MAX_ITERATIONS = 10_000_000  # a server asking a client for more is refused, not computed
_GS2_HEADERS = ("n,,", "y,,")  # no channel binding, no authzid (or the same name; see below)


class ScramError(ValueError):
    """A SCRAM message that does not follow RFC 5802, or a proof or signature that is wrong."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the server keeps of a password: enough to check a proof, not to make one."""

    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes


def saslprep(text: str) -> str | None:
    """RFC 4013 SASLprep of a stored string; None when it holds what SASLprep prohibits."""
    mapped = "".join(
        " " if stringprep.in_table_c12(c) else c for c in text if not stringprep.in_table_b1(c)
    )
    prepared = unicodedata.normalize("NFKC", mapped)
    prohibited = (
        stringprep.in_table_a1,  # unassigned: prohibited in stored strings
        stringprep.in_table_c21_c22,
        stringprep.in_table_c3,
        stringprep.in_table_c4,
        stringprep.in_table_c5,
        stringprep.in_table_c6,
        stringprep.in_table_c7,
        stringprep.in_table_c8,
        stringprep.in_table_c9,
    )
    if any(test(c) for c in prepared for test in prohibited):
        return None
    if any(stringprep.in_table_d1(c) for c in prepared):  # RFC 3454 section 6 (bidi)
        if any(stringprep.in_table_d2(c) for c in prepared):
            return None
        if not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1])):
            return None
    return prepared


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha256")


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes, bytes] | None:
    """(ClientKey, StoredKey, ServerKey) of `password`, or None when SASLprep refuses it."""
    prepared = saslprep(password)
    if prepared is None:
        return None
    salted = hashlib.pbkdf2_hmac("sha256", prepared.encode("utf-8"), salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    return client_key, hashlib.sha256(client_key).digest(), _hmac(salted, b"Server Key")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ScramError(f"not base64: {text[:20]!r}") from None


def scram_credentials(password: str, iterations: int = ITERATIONS, salt: bytes = b"") -> str:
    """The stored form of `password`'s SCRAM keys, with a new salt. Never on the loop thread.

    Args:
        password: the password as typed.
        iterations: PBKDF2 rounds (stored with the keys).
        salt: a given salt (the RFC's, in tests); a new random one by default.

    Returns:
        "scram-sha-256$i=...$salt$StoredKey$ServerKey", or "" when SASLprep refuses the
        password (its account then logs in with PLAIN only).
    """
    salt = salt or secrets.token_bytes(_SALT_BYTES)
    keys = _keys(password, salt, iterations)
    if keys is None:
        return ""
    _, stored_key, server_key = keys
    return _encoded(Credentials(iterations, salt, stored_key, server_key))


def _encoded(keys: Credentials) -> str:
    """The stored form of `keys` (what parse_credentials reads)."""
    parts = (_b64(keys.salt), _b64(keys.stored_key), _b64(keys.server_key))
    return "$".join((_SCHEME, f"i={keys.iterations}", *parts))


def parse_credentials(encoded: str) -> Credentials | None:
    """The keys in `encoded` (from scram_credentials); None for "" or anything unreadable."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] != _SCHEME or not parts[1].startswith("i="):
        return None
    try:
        iterations = int(parts[1][2:])
        salt, stored_key, server_key = (_unb64(p) for p in parts[2:])
    except (ValueError, ScramError):
        return None
    if not 1 <= iterations <= _MAX_ITERATIONS or not salt:
        return None
    if len(stored_key) != _KEY_BYTES or len(server_key) != _KEY_BYTES:
        return None
    return Credentials(iterations, salt, stored_key, server_key)


def _attributes(message: str, names: str) -> list[str]:
    """The values of `message`'s first attributes, which must be named `names` in order."""
    fields = message.split(",")
    if len(fields) < len(names):
        raise ScramError(f"expected attributes {','.join(names)}")
    values = []
    for name, field in zip(names, fields, strict=False):
        if field[:2] != name + "=":
            raise ScramError(f"expected attribute {name!r}, not {field[:2]!r}")
        values.append(field[2:])
    return values


def _unescape_name(name: str) -> str:
    """RFC 5802 saslname: "=2C" is a comma, "=3D" an equals sign; any other "=" is an error."""
    if name.replace("=2C", "").replace("=3D", "").count("="):
        raise ScramError("bad escape in the user name")
    return name.replace("=2C", ",").replace("=3D", "=")


def _escape_name(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def client_first(message: str) -> tuple[str, str, str]:
    """Read a client-first-message.

    Args:
        message: "n,,n=<user>,r=<nonce>" (or "y,," first, or "n,a=<user>,").

    Returns:
        (the GS2 header, the user name, client-first-message-bare).

    Raises:
        ScramError: malformed, channel binding asked for (p=), a mandatory extension (m=),
            or an authorization identity other than the user.
    """
    header, sep, bare = message.partition(",")
    authzid, sep2, bare = bare.partition(",")
    if not (sep and sep2) or header not in ("n", "y"):
        raise ScramError("channel binding is not offered; the GS2 header must be n or y")
    if bare.startswith("m="):
        raise ScramError("no mandatory extensions are supported")
    user, nonce = _attributes(bare, "nr")
    user = _unescape_name(user)
    if not user or not _printable(nonce):
        raise ScramError("empty user name, or a nonce with a comma or a control")
    if authzid and (authzid[:2] != "a=" or _unescape_name(authzid[2:]) != user):
        raise ScramError("the authorization identity must be the user (or empty)")
    return f"{header},{authzid},", user, bare


def _printable(nonce: str) -> bool:
    return bool(nonce) and all("\x21" <= c <= "\x7e" and c != "," for c in nonce)


class ServerExchange:
    """The server's half of one exchange, after its client-first-message was read."""

    __slots__ = ("_auth_prefix", "_bare", "_credentials", "_gs2", "_nonce", "server_first")

    def __init__(
        self,
        gs2_header: str,
        client_first_bare: str,
        credentials: Credentials,
        server_nonce: str = "",
    ) -> None:
        """Answer a client-first-message for an account with `credentials`.

        Args:
            gs2_header: from client_first.
            client_first_bare: from client_first.
            credentials: the account's stored keys.
            server_nonce: the server's part of the nonce (a random one by default; the RFC's
                in tests).
        """
        client_nonce = _attributes(client_first_bare, "nr")[1]
        self._nonce = client_nonce + (server_nonce or secrets.token_urlsafe(18))
        self._gs2 = gs2_header
        self._bare = client_first_bare
        self._credentials = credentials
        self.server_first = f"r={self._nonce},s={_b64(credentials.salt)},i={credentials.iterations}"
        self._auth_prefix = f"{client_first_bare},{self.server_first},"

    @property
    def state(self) -> str:
        """The exchange as one string: server_final checks a client-final-message with it
        wherever the password checks run (on a cluster, only the client's own node)."""
        nonce = self._nonce[len(_attributes(self._bare, "nr")[1]) :]
        return json.dumps([self._gs2, self._bare, _encoded(self._credentials), nonce])

    def final(self, message: str) -> str:
        """Check a client-final-message; return the server-final-message ("v=...").

        Raises:
            ScramError: malformed, another nonce or channel binding, or a wrong proof.
        """
        binding, nonce = _attributes(message, "cr")
        without_proof, sep, proof_attr = message.rpartition(",")
        if not sep or not proof_attr.startswith("p="):
            raise ScramError("the proof must be the last attribute")
        if _unb64(binding) != self._gs2.encode() or nonce != self._nonce:
            raise ScramError("the channel binding or the nonce differs from the first message")
        auth_message = (self._auth_prefix + without_proof).encode("utf-8")
        keys = self._credentials
        proof = _unb64(proof_attr[2:])
        signature = _hmac(keys.stored_key, auth_message)
        if len(proof) != _KEY_BYTES:
            raise ScramError("wrong proof")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), keys.stored_key):
            raise ScramError("wrong proof")
        return "v=" + _b64(_hmac(keys.server_key, auth_message))


def server_final(message: str, state: str) -> str:
    """Check a client-final-message against an exchange's `state` (ServerExchange.state).

    Returns:
        The server-final-message ("v=..."), or "" when the message or its proof is wrong.
    """
    gs2_header, bare, encoded, nonce = json.loads(state)
    credentials = parse_credentials(encoded)
    if credentials is None:
        return ""
    try:
        return ServerExchange(gs2_header, bare, credentials, nonce).final(message)
    except ScramError:
        return ""


class ScramClient:
    """The client's half: first message, the proof, and the check of the server's signature."""

    def __init__(self, user: str, password: str, nonce: str = "") -> None:
        """Args:
        user: the account name.
        password: its password.
        nonce: the client nonce (a random one by default; the RFC's in tests).
        """
        self._password = password
        self._nonce = nonce or secrets.token_urlsafe(18)
        self._bare = f"n={_escape_name(user)},r={self._nonce}"
        self._server_signature = b""
        self.started = False  # first() was sent
        self.answered = False  # final() was made: the next message is the server's signature

    def first(self) -> str:
        """The client-first-message."""
        self.started = True
        return "n,," + self._bare

    def final(self, server_first: str) -> str:
        """The client-final-message answering `server_first`.

        Raises:
            ScramError: malformed, a nonce that does not extend ours, too many iterations, or
                a password SASLprep refuses.
        """
        nonce, salt, rounds = _attributes(server_first, "rsi")
        if not nonce.startswith(self._nonce) or nonce == self._nonce or not rounds.isdigit():
            raise ScramError("the server's nonce or iteration count is malformed")
        iterations = int(rounds)
        if not 1 <= iterations <= _MAX_ITERATIONS:
            raise ScramError(f"the server asks for {iterations} iterations")
        keys = _keys(self._password, _unb64(salt), iterations)
        if keys is None:
            raise ScramError("the password holds characters SCRAM cannot use (SASLprep)")
        client_key, stored_key, server_key = keys
        without_proof = f"c={_b64(b'n,,')},r={nonce}"
        auth_message = f"{self._bare},{server_first},{without_proof}".encode()
        signature = _hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self._server_signature = _hmac(server_key, auth_message)
        self.answered = True
        return f"{without_proof},p={_b64(proof)}"

    def verify(self, server_final: str) -> bool:
        """Whether `server_final` ("v=...") proves the server knows our keys."""
        if not self._server_signature or not server_final.startswith("v="):
            return False
        try:
            signature = _unb64(server_final[2:])
        except ScramError:
            return False
        return hmac.compare_digest(signature, self._server_signature)
