"""Passwords stay out of the cluster's log: the line a node appends instead of one that holds one.

Layer: pure, like the replica (no redis, no asyncio); tested by plain calls. docs/cluster.md
("Passwords and the log") has the design.

Redis keeps the log on its disk (its AOF), and anyone who reads Redis reads the log, so a line
that holds a password is appended with the password replaced: the origin keeps the line as
sent, under a number carried in the entry (Event.secret), and its replica applies that line
when the entry comes back (Replica.keep); every other node applies the redacted line. A
password is checked or hashed only by the origin's Password effect, whose outcome is an entry
of its own, so the other nodes never need it. Each replacement keeps what the other nodes'
cores decide from the line:

- PASS <password>: the origin compares it with the server password and appends "1" (it
  matched) or "0"; the other nodes put back their own server password for "1" (restore).
- OPER <name> <password>, VERIFY <account> <code>: the secret becomes "*".
- REGISTER <account> <email> <password>: "*" if the core refuses it as too weak anyway, else
  six stars (the origin hashes the real one).
- AUTHENTICATE <response>: a SASL PLAIN response keeps its names and loses its password; a
  SCRAM client-first-message (a name and a nonce) is kept; any other response (a SCRAM proof)
  becomes a placeholder of the same kind (base64 or not), which every core treats alike. A
  chunk of 400 bytes (a response split in chunks: a password of about 290 characters) is
  appended, and applied on the origin too, as "AUTHENTICATE *": the exchange is aborted (906)
  on every node, as it could not be redacted chunk by chunk.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from lanchat.errors import ProtocolError
from lanchat.protocol.message import Message, parse
from lanchat.server.handlers.accounts import MECHANISMS, MIN_PASSWORD_CHARS, SASL_CHUNK_BYTES

__all__ = ["redact", "restore"]

_MECHANISMS = frozenset(MECHANISMS.split(","))
_ANY_PROOF = base64.b64encode(b"c=,r=,p=").decode("ascii")  # a SCRAM message with no secret
_NOT_BASE64 = "!"
_PASS_OK, _PASS_WRONG = "1", "0"


def redact(line: bytes, server_password: str) -> tuple[bytes, bytes] | None:
    """What to append for `line`, and what its origin applies, if it holds a secret.

    Args:
        line: a line a client of this node sent, without CRLF.
        server_password: this node's server password (PASS), "" for none.

    Returns:
        None when the line holds no secret (it is appended as sent); else (the line for the
        log, the line this node applies when the entry comes back).
    """
    try:
        msg = parse(line)
    except ProtocolError:
        return None  # every node rejects it alike, and no handler reads its parameters
    verb, params = msg.verb, list(msg.params)
    if verb == "PASS" and params:
        given, right = params[0].encode(), server_password.encode()
        matched = bool(right) and hmac.compare_digest(given, right)
        params[0] = _PASS_OK if matched else _PASS_WRONG
    elif verb in ("OPER", "VERIFY") and len(params) >= 2:
        params[1] = "*"
    elif verb == "REGISTER" and len(params) >= 3:
        weak = len(params[2]) < MIN_PASSWORD_CHARS or params[2] == "*"
        params[2] = "*" if weak else "*" * MIN_PASSWORD_CHARS
    elif verb == "AUTHENTICATE" and params:
        if params[0] in ("*", "+") or params[0].upper() in _MECHANISMS:
            return None
        if len(params[0]) >= SASL_CHUNK_BYTES:
            aborted = _with(msg, ["*"])
            return aborted, aborted
        params[0] = _sasl_response(params[0])
        if params[0] == msg.params[0]:
            return None
    else:
        return None
    return _with(msg, params), line


def restore(line: bytes, server_password: str) -> bytes:
    """The line another node's replica applies for a redacted `line` (its origin keeps the
    original): a PASS the origin found right gets this node's server password back."""
    msg = parse(line)
    if msg.verb != "PASS" or not msg.params:
        return line
    right = msg.params[0] == _PASS_OK
    return _with(msg, [server_password if right else server_password + "-"])


def _sasl_response(response: str) -> str:
    """A SASL response chunk without its secret (see the module's docstring)."""
    try:
        text = base64.b64decode(response, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return _NOT_BASE64
    if text.count("\0") == 2:  # PLAIN: authzid NUL authcid NUL password
        authzid, authcid, password = text.split("\0")
        plain = f"{authzid}\0{authcid}\0{'*' if password else ''}"
        return base64.b64encode(plain.encode()).decode("ascii")
    if text.startswith(("n,", "y,")):  # SCRAM client-first-message: a name and a nonce
        return response
    return _ANY_PROOF


def _with(msg: Message, params: list[str]) -> bytes:
    """`msg` with other parameters, as a line without CRLF."""
    return Message(msg.command, tuple(params), source=msg.source, tags=msg.tags).to_line().encode()
