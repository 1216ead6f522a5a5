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
  becomes a placeholder of the same kind (base64 or not), which every core treats alike.
- A SASL response sent in chunks (sasl-3.1: 400 bytes of base64 each, the last one shorter or
  "+"; a PLAIN password of about 290 characters and more) cannot be redacted chunk by chunk:
  a password may straddle two chunks. The origin holds the chunks (SaslChunks) until the
  response is whole, redacts the whole response, and appends one entry with its lines: the
  redacted response cut in chunks again for the log, the chunks as sent kept for its own
  replica. Every core then sees what a single server sees: chunks, then the last one.

Policies a reader might question:

- A line that is not AUTHENTICATE, from a client whose chunks are held, is appended at once,
  ahead of them: a chunk of an exchange changes nothing but the chunks so far (no reply), and
  a line's own outcome does not depend on them (CAP END aborts the exchange, 906, whether the
  chunks came before it or not). Chunks sent with no exchange open are refused one by one
  (908, 904) by the origin's core, which applies them as sent, only later.
- A response longer than the core takes (a chunk over 400 bytes, or more than 1,600 bytes in
  all) is appended, and applied by the origin too, as one AUTHENTICATE over 400 bytes of
  placeholder, which every core refuses alike (905), as it refuses the original.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from lanchat.errors import ProtocolError
from lanchat.protocol.message import Message, parse
from lanchat.server.handlers.accounts import (
    MAX_SASL_BYTES,
    MECHANISMS,
    MIN_PASSWORD_CHARS,
    SASL_CHUNK_BYTES,
)
from lanchat.values import value

__all__ = ["Logged", "SaslChunks", "redact", "restore"]

_MECHANISMS = frozenset(MECHANISMS.split(","))
_ANY_PROOF = base64.b64encode(b"c=,r=,p=").decode("ascii")  # a SCRAM message with no secret
_NOT_BASE64 = "!"
_PASS_OK, _PASS_WRONG = "1", "0"
_TOO_LONG = "A" * (SASL_CHUNK_BYTES + 1)  # a SASL response every core refuses (905)


@value
class Logged:
    """What a node appends for lines of one of its clients (one LINE entry)."""

    logged: bytes  # the entry's line, or lines (chunks)
    kept: bytes | None = None  # what the origin applies instead (None: `logged`)
    chunks: bool = False  # several AUTHENTICATE lines, one a line (Event.chunks)


class SaslChunks:
    """The SASL responses this node's clients are sending in chunks, held until each is whole,
    then redacted as a whole (see the module's docstring). Pure; one per node."""

    def __init__(self, server_password: str) -> None:
        """Args:
        server_password: this node's server password (PASS), "" for none.
        """
        self.server_password = server_password
        # conn_id -> the chunks so far: each line as sent, parsed, and its chunk ("" for "+")
        self._held: dict[int, list[tuple[bytes, Message, str]]] = {}

    def line(self, conn_id: int, line: bytes) -> list[Logged]:
        """What to append for `line` of connection `conn_id`, in order; [] while it is a
        chunk of a SASL response that is not whole yet.

        Args:
            conn_id: the connection (this node's).
            line: the line, without CRLF.
        """
        try:
            msg = parse(line)
        except ProtocolError:
            msg = None
        held = self._held.get(conn_id)
        if msg is None or msg.verb != "AUTHENTICATE" or not msg.params:
            return [self._single(line)]
        param = msg.params[0]
        if held is None:
            if len(param) != SASL_CHUNK_BYTES:
                return [self._single(line)]
            held = self._held[conn_id] = []
        if param == "*":  # the client aborts: its chunks never reach the log
            del self._held[conn_id]
            return [Logged(line)]
        size = sum(len(chunk) for _, _, chunk in held) + len(param)  # as the core counts
        if len(param) > SASL_CHUNK_BYTES or size > MAX_SASL_BYTES:
            del self._held[conn_id]
            too_long = _with(msg, [_TOO_LONG])
            return [Logged(too_long, too_long)]
        held.append((line, msg, "" if param == "+" else param))
        if len(param) == SASL_CHUNK_BYTES:
            return []
        del self._held[conn_id]
        return [self._whole(held)]

    def forget(self, conn_id: int) -> None:
        """The connection is gone: its chunks will not be completed."""
        self._held.pop(conn_id, None)

    def _single(self, line: bytes) -> Logged:
        redacted = redact(line, self.server_password)
        return Logged(line) if redacted is None else Logged(*redacted)

    def _whole(self, held: list[tuple[bytes, Message, str]]) -> Logged:
        """The entry of a whole response sent in chunks: its lines, redacted as a whole."""
        sent = b"\n".join(line for line, _, _ in held)
        response = "".join(chunk for _, _, chunk in held)
        redacted = _sasl_response(response)
        if redacted == response:
            return Logged(sent, chunks=True)
        last = held[-1][1]
        cut = [
            redacted[i : i + SASL_CHUNK_BYTES] for i in range(0, len(redacted), SASL_CHUNK_BYTES)
        ]
        if len(cut[-1]) == SASL_CHUNK_BYTES:
            cut.append("+")
        logged = b"\n".join(_with(last, [chunk]) for chunk in cut)
        return Logged(logged, sent, chunks=True)


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
        if len(params[0]) >= SASL_CHUNK_BYTES:  # chunks reach here only one by one
            too_long = _with(msg, [_TOO_LONG])
            return too_long, too_long
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
